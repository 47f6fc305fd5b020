/**
 * A device id lets a sign-in skip the second step, so it is a credential: only its hash is
 * stored (known origins, sessions, challenges, audit log), and mail and the audit log show
 * the device's label. The migration hashes the ids stored before, once. Also: the audit
 * log refuses a cursor it did not make with BAD_USER_INPUT, however large its number.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { openDatabase } from '../../src/db/client.ts';
import { MIGRATIONS, migrateDatabase } from '../../src/db/migrate.ts';
import { deviceIdHash } from '../../src/services/auth/device.ts';
import { privateDatabases } from '../helpers/private-databases.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startMailServer, type TestMailServer } from '../helpers/smtp.ts';
import { aUser, bearer, gqlFrom, SIGN_IN, signIn, signInVerified } from '../helpers/users.ts';

const DEVICE_TABLES = ['known_origins', 'sessions', 'challenges', 'audit_log'];

describe('device ids', () => {
  let s: TestServer;
  let mail: TestMailServer;
  before(async () => {
    mail = await startMailServer();
    s = await startTestServer({ SMTP_URL: mail.url });
  });
  after(async () => {
    await s.close();
    await mail.close();
  });

  test('the device id is nowhere in the database, the mail or the audit log; its hash and label are', async () => {
    const deviceId = `device-secret-${randomBytes(6).toString('hex')}`;
    const admin = await aUser(s).withRole('ADMIN').create();
    const origin = { deviceId, deviceLabel: 'Work laptop' };
    await signIn(s, { email: admin.email, password: 'not the password' }, origin);
    const tokens = await signInVerified(s, mail, admin, origin);
    assert.equal((await signIn(s, admin, origin)).body.data?.signIn.challenge, null, 'remembered by its hash');

    for (const table of DEVICE_TABLES) {
      const { rows } = await s.databases.auth.pool.query<{ row: string }>(`select t::text as row from auth.${table} t where user_id = $1`, [admin.id]);
      assert.ok(rows.length > 0, table);
      assert.ok(!rows.some((r) => r.row.includes(deviceId)), `${table} holds the id`);
      assert.ok(
        rows.some((r) => r.row.includes(deviceIdHash(deviceId))),
        `${table} holds the hash`,
      );
    }
    const mails = mail.received.filter((m) => m.to.includes(admin.email));
    assert.ok(mails.some((m) => m.subject === 'New sign-in from 127.0.0.1, device Work laptop'));
    assert.ok(!mails.some((m) => m.body.includes(deviceId)), 'no mail carries the id');

    type Page = { auditLog: { edges: { node: { event: string; email: string | null; deviceLabel: string | null } }[] } };
    const log = await gqlFrom<Page>(
      s.url,
      '127.0.0.1',
      '{ auditLog(first: 200) { edges { node { event email deviceLabel } } } }',
      {},
      bearer(tokens.accessToken),
    );
    const mine = log.body.data!.auditLog.edges.map((e) => e.node).filter((n) => n.email === admin.email);
    for (const event of ['SIGN_IN_FAILED', 'CHALLENGE_ISSUED', 'CHALLENGE_VERIFIED', 'SIGN_IN_SUCCEEDED']) {
      assert.equal(mine.find((n) => n.event === event)?.deviceLabel, 'Work laptop', event);
    }
    assert.ok(!JSON.stringify(log.body).includes(deviceId));
    const introspected = await s.gql<{ __type: { fields: { name: string }[] } }>('{ __type(name: "AuditEvent") { fields { name } } }');
    assert.ok(!introspected.body.data!.__type.fields.some((f) => f.name === 'deviceId'), 'the audit log has no field for the id');
  });

  test('a device without a label is named as unnamed in mail, not by its id', async () => {
    const user = await aUser(s).create();
    await gqlFrom(s.url, '127.0.0.1', SIGN_IN, { email: user.email, password: user.password, deviceId: 'raw-id-7d1c', deviceLabel: null });
    const notice = await mail.next(user.email, /^New sign-in from 127\.0\.0\.1, device \(unnamed\)$/);
    assert.doesNotMatch(notice.body, /raw-id-7d1c/);
    assert.doesNotMatch((await mail.next(user.email, /sign-in code/)).body, /raw-id-7d1c/);
  });

  test('an auditLog cursor that is not ours, or holds a number too large, is BAD_USER_INPUT', async () => {
    const admin = await aUser(s).withRole('ADMIN').create();
    const tokens = await signInVerified(s, mail, admin);
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    for (const after of [
      b64('audit:99999999999999999999999999'),
      b64('audit:9223372036854775808'),
      b64('audit:0'),
      b64('audit:-1'),
      'garbage',
      'x'.repeat(100_000),
    ]) {
      const r = await gqlFrom(
        s.url,
        '127.0.0.1',
        'query L($a: String) { auditLog(first: 1, after: $a) { pageInfo { hasNextPage } } }',
        { a: after },
        bearer(tokens.accessToken),
      );
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', after.slice(0, 40));
      assert.equal(r.body.errors?.[0]?.extensions?.field, 'after');
    }
  });
});

describe('the migration that hashes device ids stored before', () => {
  test('hashes every stored device id once, labels earlier audit events, and changes nothing when run again', async () => {
    const own = await privateDatabases({ migrate: false });
    const auth = await openDatabase('auth', { connectionString: own.env.AUTH_DATABASE_URL }, 1);
    const folder = await mkdtemp(path.join(os.tmpdir(), 'strongroom-migrations-'));
    try {
      // The database as it was: every migration before the hashing one.
      await cp(MIGRATIONS.auth.folder, folder, { recursive: true });
      const journalFile = path.join(folder, 'meta/_journal.json');
      const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: { tag: string }[] };
      // Every migration from the hashing one on is left out: drizzle applies only those newer than the last applied.
      const hashing = journal.entries.findIndex((e) => e.tag === '0003_hash_device_ids');
      const later = journal.entries.slice(hashing).map((e) => e.tag);
      journal.entries = journal.entries.slice(0, hashing);
      await writeFile(journalFile, JSON.stringify(journal));
      await migrate(drizzle(auth.pool), { migrationsFolder: folder, migrationsSchema: MIGRATIONS.auth.schema, migrationsTable: MIGRATIONS.auth.table });

      const q = (sql: string, params: unknown[] = []) => auth.pool.query(sql, params);
      const userId = (await q(`insert into auth.users (email, username, password_hash) values ('old@example.test', 'old', 'x') returning id`)).rows[0]
        .id as string;
      const sessionId = (
        await q(
          `insert into auth.sessions (user_id, ip, device_id, expires_at) values ($1, '10.0.0.1', 'old-phone-id', now() + interval '1 day') returning id`,
          [userId],
        )
      ).rows[0].id as string;
      await q(
        `insert into auth.known_origins (user_id, kind, value, label, verified_at, verified_until) values
         ($1, 'DEVICE', 'old-phone-id', 'Old phone', now(), now() + interval '1 day'),
         ($1, 'IP', '10.0.0.1', null, now(), now() + interval '1 day')`,
        [userId],
      );
      await q(
        `insert into auth.challenges (user_id, session_id, reason, ip, device_id, device_label, code_hash, delivery, expires_at)
         values ($1, $2, 'NEW_DEVICE', '10.0.0.1', 'old-tablet-id', 'Old tablet', 'h', 'SENT', now())`,
        [userId, sessionId],
      );
      await q(
        `insert into auth.audit_log (event, user_id, device_id) values
         ('CHALLENGE_VERIFIED', $1, 'old-phone-id'), ('CHALLENGE_ISSUED', $1, 'old-tablet-id'),
         ('SIGN_IN_FAILED', null, 'stranger-id'), ('USER_CREATED', $1, null)`,
        [userId],
      );

      assert.deepEqual(await migrateDatabase(auth), later);
      const snapshot = async () => ({
        origins: (await q(`select kind, value, label from auth.known_origins order by kind`)).rows,
        sessions: (await q(`select device_id from auth.sessions`)).rows,
        challenges: (await q(`select device_id, device_label from auth.challenges`)).rows,
        audit: (await q(`select event, device_id, device_label from auth.audit_log order by id`)).rows,
      });
      const migrated = await snapshot();
      const [phone, tablet, stranger] = ['old-phone-id', 'old-tablet-id', 'stranger-id'].map(deviceIdHash);
      assert.deepEqual(migrated, {
        origins: [
          { kind: 'DEVICE', value: phone, label: 'Old phone' },
          { kind: 'IP', value: '10.0.0.1', label: null },
        ],
        sessions: [{ device_id: phone }],
        challenges: [{ device_id: tablet, device_label: 'Old tablet' }],
        audit: [
          { event: 'CHALLENGE_VERIFIED', device_id: phone, device_label: 'Old phone' },
          { event: 'CHALLENGE_ISSUED', device_id: tablet, device_label: 'Old tablet' },
          { event: 'SIGN_IN_FAILED', device_id: stranger, device_label: null },
          { event: 'USER_CREATED', device_id: null, device_label: null },
        ],
      });

      // Run again by hand: every id is already hashed, so nothing changes.
      const sql = await readFile(path.join(MIGRATIONS.auth.folder, '0003_hash_device_ids.sql'), 'utf8');
      for (const statement of sql.split('--> statement-breakpoint')) await q(statement);
      assert.deepEqual(await snapshot(), migrated);
    } finally {
      await auth.pool.end();
      await own.close();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
