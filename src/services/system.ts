/** Health and readiness: is the process up, do the databases answer, are they migrated. */
import type { Databases, Database } from '../db/client.ts';
import { migrationStatus } from '../db/migrate.ts';
import { VERSION } from '../version.ts';

export interface DatabaseHealth {
  name: 'data' | 'auth';
  reachable: boolean;
  roundTripMs: number | null;
}

export interface Health {
  status: 'OK' | 'DEGRADED';
  version: string;
  uptimeSeconds: number;
  databases: DatabaseHealth[];
}

export interface SystemService {
  health(): Promise<Health>;
  /** Ready to take traffic: every database answers and has no pending migration. */
  ready(): Promise<{ ready: boolean; problems: string[] }>;
}

/** How long a health probe waits for a database before calling it unreachable (ms). */
const PROBE_TIMEOUT_MS = 2000;

async function probe(database: Database): Promise<DatabaseHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      database.pool.query('select 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS);
      }),
    ]);
    return { name: database.name, reachable: true, roundTripMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch {
    return { name: database.name, reachable: false, roundTripMs: null };
  } finally {
    clearTimeout(timer);
  }
}

export function createSystemService(databases: Databases, startedAt = Date.now()): SystemService {
  return {
    async health() {
      const results = await Promise.all([probe(databases.data), probe(databases.auth)]);
      return {
        status: results.every((r) => r.reachable) ? 'OK' : 'DEGRADED',
        version: VERSION,
        uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
        databases: results,
      };
    },
    async ready() {
      const problems: string[] = [];
      for (const database of [databases.data, databases.auth]) {
        const health = await probe(database);
        if (!health.reachable) {
          problems.push(`${database.name} database unreachable`);
          continue;
        }
        const status = await migrationStatus(database).catch(() => undefined);
        if (!status) problems.push(`${database.name} database: cannot read migrations`);
        else if (status.pending.length > 0) problems.push(`${database.name} database: ${status.pending.length} pending migration(s)`);
      }
      return { ready: problems.length === 0, problems };
    },
  };
}
