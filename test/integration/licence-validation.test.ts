/**
 * validateLicence over real HTTP: every reason, a signature a client verifies against the JWKS
 * endpoint with jose, an event committed before the answer, concurrent checks sharing one
 * statement, bounded strings and the per-address rate limit.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Secret } from '../../src/crypto/secret.ts';
import { unique } from '../helpers/builders.ts';
import { startTestServer, type GqlResponse, type TestServer } from '../helpers/server.ts';

const VALIDATE = `mutation Validate($application: String!, $key: EncryptedString!, $source: String!, $nonce: String) {
  validateLicence(application: $application, key: $key, source: $source, nonce: $nonce) { valid reason expiresAt checkedAt signature }
}`;

type Validation = { valid: boolean; reason: string | null; expiresAt: string | null; checkedAt: string; signature: string };
const codeOf = (res: GqlResponse) => (res.body.errors?.[0]?.extensions as { code?: string } | undefined)?.code;

describe('validateLicence', () => {
  let dataDir: string;
  let s: TestServer;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-validate-'));
    s = await startTestServer({ DATA_DIR: dataDir, RATE_LIMIT_VALIDATE_PER_IP: '1000', VALIDATE_BATCH_WINDOW_MS: '20' });
  });
  after(async () => {
    await s.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const licence = (fields: { application: string; key: string; active?: boolean; expiresAt?: Date | null }) =>
    s.server.services.licences.create({
      username: unique('v'),
      application: fields.application,
      licenceKey: fields.key,
      active: fields.active,
      expiresAt: fields.expiresAt,
    });
  const validate = async (application: string, key: string, nonce?: string) => {
    const res = await s.gql<{ validateLicence: Validation }>(VALIDATE, { application, key, source: 'desktop', nonce });
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    return res.body.data!.validateLicence;
  };

  test('a valid key answers valid with a signature that verifies against /.well-known/jwks.json', async () => {
    const application = unique('Atlas');
    const key = unique('KEY');
    const expiresAt = new Date(Date.now() + 86_400_000 * 30);
    const created = await licence({ application, key, expiresAt });
    const answer = await validate(application, key, 'nonce-123');
    assert.equal(answer.valid, true);
    assert.equal(answer.reason, null);
    assert.equal(answer.expiresAt, expiresAt.toISOString());
    const jwks = createRemoteJWKSet(new URL(`${s.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(answer.signature, jwks, {
      algorithms: ['EdDSA'],
      typ: 'licence-validation+jwt',
      issuer: s.config.jwtIssuer,
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.deepEqual(
      { valid: payload.valid, reason: payload.reason, uniqueId: payload.uniqueId, application: payload.application, nonce: payload.nonce },
      { valid: true, reason: null, uniqueId: created.uniqueId, application, nonce: 'nonce-123' },
    );
    assert.equal(payload.expiresAt, Math.floor(expiresAt.getTime() / 1000));
    assert.equal(payload.iat, Math.floor(new Date(answer.checkedAt).getTime() / 1000));
    // The event was committed before the answer: another connection sees it.
    const { rows } = await s.databases.data.pool.query('select kind, source, application from licensing.licence_events where licence_id = $1', [created.id]);
    assert.deepEqual(rows, [{ kind: 'validated', source: 'desktop', application }]);
  });

  test('each refusal has its reason, and a signed answer too', async () => {
    const application = unique('Beacon');
    const inactive = unique('KEY');
    const expired = unique('KEY');
    await licence({ application, key: inactive, active: false });
    await licence({ application, key: expired, expiresAt: new Date(Date.now() - 1000) });
    assert.equal((await validate(application, inactive)).reason, 'INACTIVE');
    assert.equal((await validate(application, expired)).reason, 'EXPIRED');
    assert.equal((await validate(unique('Other'), expired)).reason, 'WRONG_APPLICATION');
    const unknown = await validate(application, unique('NOPE'));
    assert.deepEqual([unknown.valid, unknown.reason, unknown.expiresAt], [false, 'UNKNOWN', null]);
    const jwks = createRemoteJWKSet(new URL(`${s.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(unknown.signature, jwks, { typ: 'licence-validation+jwt' });
    assert.deepEqual([payload.valid, payload.reason, payload.uniqueId], [false, 'UNKNOWN', null]);
    const { rows } = await s.databases.data.pool.query<{ kind: string; n: string }>(
      'select kind, count(*)::text as n from licensing.licence_events where application = $1 group by kind',
      [application],
    );
    assert.deepEqual(rows, [{ kind: 'refused', n: '3' }], 'refusals of known keys are recorded under the licence, unknown keys are not');
  });

  test('concurrent checks share one statement (group commit), each with its own answer', async () => {
    const application = unique('Compass');
    const keys = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const key = unique(`KEY${i}`);
        await licence({ application, key, active: i % 2 === 0 });
        return key;
      }),
    );
    // Every statement sent to the data database while the checks run.
    const statements: string[] = [];
    const pool = s.databases.data.pool;
    const query = pool.query;
    pool.query = function (this: unknown, ...args: unknown[]) {
      statements.push(String((args[0] as { text?: string }).text ?? args[0]));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pool.query;
    try {
      const answers = await Promise.all(
        keys.map((key) => s.server.services.licences.validate({ application, key: Secret.of(key), source: 'api', nonce: null, ip: '192.0.2.1' })),
      );
      assert.deepEqual(
        answers.map((a) => a.reason),
        [null, 'INACTIVE', null, 'INACTIVE', null, 'INACTIVE'],
      );
      assert.equal(statements.length, 1, 'one lookup-and-insert statement for the whole batch');
    } finally {
      pool.query = query;
    }
  });

  test('over-long source or nonce is BAD_USER_INPUT', async () => {
    const res = await s.gql(VALIDATE, { application: 'A', key: 'K', source: 'x'.repeat(65) });
    assert.equal(codeOf(res), 'BAD_USER_INPUT');
    assert.equal((res.body.errors![0]!.extensions as { field: string }).field, 'source');
    const nonce = await s.gql(VALIDATE, { application: 'A', key: 'K', source: 'web', nonce: 'n'.repeat(129) });
    assert.equal((nonce.body.errors![0]!.extensions as { field: string }).field, 'nonce');
  });
});

describe('validateLicence rate limit', () => {
  test('a client address past RATE_LIMIT_VALIDATE_PER_IP is RATE_LIMITED with retryAfter', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-validate-limit-'));
    const s = await startTestServer({ DATA_DIR: dataDir, RATE_LIMIT_VALIDATE_PER_IP: '3', RATE_LIMIT_VALIDATE_WINDOW_SECONDS: '60' });
    try {
      for (let i = 0; i < 3; i++) assert.equal(codeOf(await s.gql(VALIDATE, { application: 'A', key: `K${i}`, source: 'web' })), undefined);
      const limited = await s.gql(VALIDATE, { application: 'A', key: 'K', source: 'web' });
      assert.equal(codeOf(limited), 'RATE_LIMITED');
      assert.ok((limited.body.errors![0]!.extensions as { retryAfter: number }).retryAfter > 0);
    } finally {
      await s.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
