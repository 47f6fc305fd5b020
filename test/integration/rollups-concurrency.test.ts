/**
 * Concurrent writers: the rollup upserts of separate transactions touch the same rows (the
 * same weeks, six hours and hours of the same series) and must neither deadlock nor lose a
 * count. Runs on its own connections with committed data (unique applications), removed after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { prng } from '../../src/db/seed.ts';
import { parseConfig } from '../../src/config.ts';
import { openKeyring, type Keyring } from '../../src/crypto/keyring.ts';
import { testEnv } from '../helpers/server.ts';
import { createLicenceService, type Licence, type LicenceService } from '../../src/services/licences.ts';
import { checkRollups } from '../../src/services/statistics/rollups.ts';
import { unique } from '../helpers/builders.ts';

describe('concurrent writers', () => {
  let data: Database;
  let auth: Database;
  let keyring: Keyring;
  let licences: LicenceService;
  const apps = [unique('Atlas'), unique('Beacon')];
  before(async () => {
    data = await openDatabase('data', { connectionString: process.env.TEST_DATABASE_URL! }, 6);
    auth = await openDatabase('auth', { connectionString: process.env.TEST_AUTH_DATABASE_URL ?? process.env.TEST_DATABASE_URL! }, 1);
    keyring = await openKeyring({ database: auth, config: parseConfig(testEnv({ LOG_LEVEL: 'silent' })), logger: { info() {}, warn() {}, error() {} } });
    licences = createLicenceService({ database: data, cipher: keyring });
  });
  after(async () => {
    await data.pool.query('delete from licensing.licences where application = any($1)', [apps]);
    await data.pool.end();
    keyring.close();
    await auth.pool.end();
  });

  test('batches and single events written at once into the same buckets all count, without a deadlock', async () => {
    const owned: Licence[] = [];
    for (const app of apps) for (let i = 0; i < 3; i++) owned.push(await licences.create({ username: unique('w'), application: app, licenceKey: unique('K') }));
    const monday = Date.UTC(2026, 2, 30) / 1000;
    const writer = async (w: number) => {
      const random = prng(w + 1);
      for (let round = 0; round < 12; round++) {
        if (round % 3 === 2) {
          const licence = owned[Math.floor(random() * owned.length)]!;
          const at = new Date((monday + Math.floor((random() * 2 - 1) * 86_400 * 4)) * 1000);
          await licences.recordEvent({ licenceId: licence.id, source: 'web', kind: 'validated', occurredAt: at });
          continue;
        }
        const n = 40;
        await licences.recordEvents({
          licences: owned,
          sources: ['web', 'api'],
          kinds: ['validated', 'renewed'],
          licence: Int32Array.from({ length: n }, () => Math.floor(random() * owned.length)),
          source: Uint8Array.from({ length: n }, () => Math.floor(random() * 2)),
          kind: Uint8Array.from({ length: n }, () => Math.floor(random() * 2)),
          // Around one Monday, in random order: every writer touches the same weeks, six hours and hours.
          occurredAt: Float64Array.from({ length: n }, () => monday + Math.floor((random() * 2 - 1) * 86_400 * 4)),
        });
      }
    };
    await Promise.all([0, 1, 2, 3, 4].map(writer));
    const { rows } = await data.pool.query<{ n: string }>('select count(*) as n from licensing.licence_events where application = any($1)', [apps]);
    assert.equal(Number(rows[0]!.n), 5 * (8 * 40 + 4));
    assert.deepEqual((await checkRollups(data.pool, { applications: apps })).differences, []);
  });
});
