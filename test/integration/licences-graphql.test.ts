/**
 * The licence API over real HTTP: keys stored as Fernet tokens Python reads (and the reverse),
 * found by blind index, shown only after the second step; CONFLICT and NOT_FOUND; an event for
 * every write; pages that hold still under inserts; and no key in a log line or an error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addKey, promoteKey } from '../../src/crypto/keyring-store.ts';
import { decodeUrlSafeBase64 } from '../../src/crypto/fernet.ts';
import { privateDatabases, type PrivateDatabases } from '../helpers/private-databases.ts';
import { unique } from '../helpers/builders.ts';
import { startTestServer, type GqlResponse, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { aUser, bearer, signIn, signInVerified } from '../helpers/users.ts';

const hasPython = spawnSync('/usr/bin/python3', ['-c', 'import cryptography'], { encoding: 'utf8' }).status === 0;

/** Runs Python's cryptography Fernet on `args` (key first) and returns stdout. */
function python(script: string, ...args: string[]): string {
  const run = spawnSync('/usr/bin/python3', ['-c', `import sys\nfrom cryptography.fernet import Fernet\n${script}`, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return run.stdout.trim();
}

const LICENCE_FIELDS = 'id username application uniqueId active expiresAt createdAt updatedAt';
const CREATE = `mutation Create($input: CreateLicenceInput!) { createLicence(input: $input) { ${LICENCE_FIELDS} key } }`;
const CREATE_NO_KEY = `mutation Create($input: CreateLicenceInput!) { createLicence(input: $input) { ${LICENCE_FIELDS} } }`;
const BY_KEY = `query ByKey($key: EncryptedString!) { licenceByKey(key: $key) { id uniqueId key } }`;
const LIST = `query List($filter: LicenceFilter, $first: Int, $after: String) {
  licences(filter: $filter, first: $first, after: $after) { edges { cursor node { id uniqueId } } pageInfo { hasNextPage endCursor } }
}`;

type Licence = { id: string; username: string; application: string; uniqueId: string; active: boolean; expiresAt: string | null; key?: string };
const codeOf = (res: GqlResponse) => (res.body.errors?.[0]?.extensions as { code?: string } | undefined)?.code;

describe('licences over GraphQL', () => {
  let dataDir: string;
  let own: PrivateDatabases;
  let s: TestServer;
  /** A key made by Python's `Fernet.generate_key()`, added to the keyring and promoted: the primary data key. */
  let fernetKey: string;
  let mail: TestMailServer;
  let admin: Record<string, string>;
  let analyst: Record<string, string>;
  let clock = Date.now();

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-licences-'));
    mail = await startMailServer();
    // A keyring of this file's own, so that promoting the Python key changes no other test's.
    own = await privateDatabases();
    s = await startTestServer({ DATA_DIR: dataDir, SMTP_URL: mail.url, ...own.env }, { now: () => new Date(clock) });
    fernetKey = hasPython ? python('print(Fernet.generate_key().decode())') : 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
    const { db } = s.keyring.database;
    await promoteKey(db, (await addKey(db, s.keyring.masterKey, 'data', decodeUrlSafeBase64(fernetKey)!)).id);
    await s.keyring.refresh(true);
    admin = bearer((await signInVerified(s, mail, await aUser(s).withRole('ADMIN').create())).accessToken);
    analyst = bearer((await signIn(s, await aUser(s).withRole('ANALYST').create())).body.data!.signIn.tokens.accessToken);
  });
  after(async () => {
    await s.close();
    await mail.close();
    await own.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const create = async (input: Record<string, unknown>) => {
    const res = await s.gql<{ createLicence: Licence }>(CREATE, { input }, admin);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    return res.body.data!.createLicence;
  };
  const stored = async (id: string) =>
    (
      await s.databases.data.pool.query<{ licence_key: string; licence_key_key_id: string | null; licence_key_index: string | null }>(
        'select licence_key, licence_key_key_id, licence_key_index from licensing.licences where id = $1',
        [id],
      )
    ).rows[0]!;
  const events = async (id: string) =>
    (
      await s.databases.data.pool.query<{ kind: string; source: string }>(
        'select kind, source from licensing.licence_events where licence_id = $1 order by id',
        [id],
      )
    ).rows;

  test('a created licence gets a grouped base32 key, stored as a Fernet token Python decrypts with the same key', {
    skip: !hasPython && 'no Python cryptography',
  }, async () => {
    const licence = await create({ username: unique('alice'), application: 'Atlas Desktop' });
    assert.match(licence.key!, /^[A-Z2-7]{5}(-[A-Z2-7]{5}){4}$/);
    assert.match(licence.uniqueId, /^LIC-[0-9A-F]{16}$/);
    const row = await stored(licence.id);
    assert.ok(row.licence_key.startsWith('gAAAAA'), 'a Fernet token');
    assert.ok(!row.licence_key.includes(licence.key!));
    assert.equal(row.licence_key_key_id, s.keyring.primaryKeyId);
    assert.equal(row.licence_key_index, s.keyring.blindIndex(licence.key!));
    assert.equal(python('print(Fernet(sys.argv[1].encode()).decrypt(sys.argv[2].encode()).decode())', fernetKey, row.licence_key), licence.key);
    assert.deepEqual(await events(licence.id), [{ kind: 'created', source: 'api' }]);
  });

  test('a token made by Python and put in the column reads back, and licenceByKey finds it', { skip: !hasPython && 'no Python cryptography' }, async () => {
    const licence = await create({ username: unique('bob'), application: 'Beacon CLI', key: 'OLD-APP-KEY-0001' });
    const key = `PY-${unique('KEY')}`;
    const token = python('print(Fernet(sys.argv[1].encode()).encrypt(sys.argv[2].encode()).decode())', fernetKey, key);
    await s.databases.data.pool.query('update licensing.licences set licence_key = $2, licence_key_index = $3 where id = $1', [
      licence.id,
      token,
      s.keyring.blindIndex(key),
    ]);
    const found = await s.gql<{ licenceByKey: Licence }>(BY_KEY, { key }, admin);
    assert.equal(found.body.errors, undefined, JSON.stringify(found.body.errors));
    assert.deepEqual(found.body.data!.licenceByKey, { id: licence.id, uniqueId: licence.uniqueId, key });
    assert.equal(codeOf(await s.gql(BY_KEY, { key: 'OLD-APP-KEY-0001' }, admin)), 'NOT_FOUND', 'the old key no longer finds it');
  });

  test('a key still in the clear (never sealed) fails closed with DECRYPTION_FAILED, never returned as it is', async () => {
    const licence = await create({ username: unique('carol'), application: 'Compass Server' });
    await s.databases.data.pool.query(`update licensing.licences set licence_key = 'PLAIN-KEY-1234', licence_key_key_id = null where id = $1`, [licence.id]);
    const res = await s.gql<{ licence: Licence }>(`query($id: ID!) { licence(id: $id) { id key } }`, { id: licence.id }, admin);
    assert.equal(codeOf(res), 'DECRYPTION_FAILED');
    assert.ok(!JSON.stringify(res.body).includes('PLAIN-KEY-1234'));
  });

  test('an analyst reads licences but not their keys before the second step', async () => {
    const licence = await create({ username: unique('dave'), application: 'Delta Mobile' });
    const q = `query($id: ID!) { licence(id: $id) { uniqueId } }`;
    assert.equal((await s.gql<{ licence: Licence }>(q, { id: licence.id }, analyst)).body.data!.licence.uniqueId, licence.uniqueId);
    const withKey = await s.gql(`query($id: ID!) { licence(id: $id) { uniqueId key } }`, { id: licence.id }, analyst);
    assert.equal(codeOf(withKey), 'SECOND_FACTOR_REQUIRED');
    assert.equal(codeOf(await s.gql(CREATE_NO_KEY, { input: { username: 'x', application: 'y' } }, analyst)), 'FORBIDDEN');
    assert.equal(codeOf(await s.gql(q, { id: licence.id })), 'UNAUTHENTICATED');
  });

  test('duplicates are CONFLICT naming the field; unknown licences are NOT_FOUND', async () => {
    const username = unique('erin');
    const first = await create({ username, application: 'Echo Plugin', key: unique('K') });
    const again = await s.gql(CREATE_NO_KEY, { input: { username, application: 'Echo Plugin' } }, admin);
    assert.equal(codeOf(again), 'CONFLICT');
    assert.equal((again.body.errors![0]!.extensions as { field: string }).field, 'application');
    const taken = await s.gql(CREATE_NO_KEY, { input: { username: unique('f'), application: 'Echo Plugin', uniqueId: first.uniqueId } }, admin);
    assert.equal((taken.body.errors![0]!.extensions as { field: string }).field, 'uniqueId');
    const update = `mutation($input: UpdateLicenceInput!) { updateLicence(input: $input) { id } }`;
    assert.equal(codeOf(await s.gql(update, { input: { uniqueId: 'LIC-NOPE', active: false } }, admin)), 'NOT_FOUND');
    assert.equal(codeOf(await s.gql(update, { input: { id: '00000000-0000-4000-8000-000000000000' } }, admin)), 'NOT_FOUND');
    assert.equal(codeOf(await s.gql(`query { licence(id: "nope") { id } }`, {}, admin)), 'NOT_FOUND');
  });

  test('update, deactivate and delete each record their event in the same transaction; delete needs a recent second step', async () => {
    const licence = await create({ username: unique('gina'), application: 'Forge SDK' });
    const updated = await s.gql<{ updateLicence: Licence }>(
      `mutation($input: UpdateLicenceInput!) { updateLicence(input: $input) { expiresAt key } }`,
      { input: { uniqueId: licence.uniqueId, expiresAt: '2030-01-01T00:00:00Z', key: 'NEW-KEY-99' } },
      admin,
    );
    assert.deepEqual(updated.body.data!.updateLicence, { expiresAt: '2030-01-01T00:00:00.000Z', key: 'NEW-KEY-99' });
    const deactivate = `mutation($input: LicenceRef!) { deactivateLicence(input: $input) { active } }`;
    assert.equal((await s.gql<{ deactivateLicence: Licence }>(deactivate, { input: { id: licence.id } }, admin)).body.data!.deactivateLicence.active, false);
    await s.gql(deactivate, { input: { id: licence.id } }, admin); // already inactive: no second event
    assert.deepEqual(
      (await events(licence.id)).map((e) => e.kind),
      ['created', 'updated', 'deactivated'],
    );
    const remove = `mutation($input: LicenceRef!) { deleteLicence(input: $input) }`;
    clock += 301_000;
    try {
      const stale = await s.gql(remove, { input: { id: licence.id } }, admin);
      assert.equal(codeOf(stale), 'SECOND_FACTOR_REQUIRED');
      assert.equal((stale.body.errors![0]!.extensions as { maxAge: number }).maxAge, 300);
    } finally {
      clock -= 301_000;
    }
    assert.equal((await s.gql<{ deleteLicence: string }>(remove, { input: { id: licence.id } }, admin)).body.data!.deleteLicence, licence.id);
    assert.equal(codeOf(await s.gql(remove, { input: { id: licence.id } }, admin)), 'NOT_FOUND');
  });

  test('pages are stable under inserts: licences created meanwhile neither shift nor repeat the rest', async () => {
    const application = unique('Pager');
    for (let i = 0; i < 5; i++) await create({ username: `p${i}`, application });
    type Page = { licences: { edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const page1 = (await s.gql<Page>(LIST, { filter: { application }, first: 2 }, analyst)).body.data!.licences;
    assert.equal(page1.pageInfo.hasNextPage, true);
    for (let i = 5; i < 8; i++) await create({ username: `p${i}`, application });
    const seen = page1.edges.map((e) => e.node.id);
    let after = page1.pageInfo.endCursor;
    for (;;) {
      const page = (await s.gql<Page>(LIST, { filter: { application }, first: 2, after }, analyst)).body.data!.licences;
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    assert.equal(seen.length, 8);
    assert.equal(new Set(seen).size, 8);
    assert.equal(codeOf(await s.gql(LIST, { first: 101 }, analyst)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await s.gql(LIST, { first: 1, after: 'bm90IGEgY3Vyc29y' }, analyst)), 'BAD_USER_INPUT');
  });

  test('a key sent in variables reaches no log line and no error message', async () => {
    const key = `SECRET-${unique('K')}`;
    const tooLong = `${key}-${'x'.repeat(300)}`;
    const refused = await s.gql(CREATE_NO_KEY, { input: { username: unique('h'), application: 'Atlas Desktop', key: tooLong } }, admin);
    assert.equal(codeOf(refused), 'BAD_USER_INPUT');
    const badDate = await s.gql(CREATE_NO_KEY, { input: { username: unique('h'), application: 'Atlas Desktop', key, expiresAt: 'soon' } }, admin);
    assert.equal(codeOf(badDate), 'BAD_USER_INPUT');
    const notString = await s.gql(BY_KEY, { key: { nested: key } }, admin);
    assert.equal(codeOf(notString), 'BAD_USER_INPUT');
    const found = await s.gql(BY_KEY, { key }, admin);
    assert.equal(codeOf(found), 'NOT_FOUND');
    for (const res of [refused, badDate, notString, found]) assert.ok(!JSON.stringify(res.body).includes(key), 'no key in the answer');
    assert.ok(s.logs.length > 0);
    assert.ok(!JSON.stringify(s.logs).includes(key), 'no key in the log');
  });
});
