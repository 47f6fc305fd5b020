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

export interface SystemServiceOptions {
  /**
   * How long health() reuses a probe of the databases (ms); 0 probes on every call. Callers
   * that arrive while a probe is in flight share it, so a burst of health queries (a dashboard
   * wall, a load balancer per instance) costs the databases one `select 1` each, not one per call.
   */
  readonly healthCacheMs: number;
  /** When the process started (ms since the epoch), for uptimeSeconds. */
  readonly startedAt?: number;
}

export function createSystemService(databases: Databases, options: SystemServiceOptions): SystemService {
  const startedAt = options.startedAt ?? Date.now();
  let cached: { at: number; settled: boolean; results: Promise<DatabaseHealth[]> } | undefined;
  const probeAll = (): Promise<DatabaseHealth[]> => {
    const now = performance.now();
    // A probe in flight is always shared; a finished one only within healthCacheMs.
    if (cached && (now - cached.at < options.healthCacheMs || !cached.settled)) return cached.results;
    const entry = { at: now, settled: false, results: Promise.all([probe(databases.data), probe(databases.auth)]) };
    void entry.results.finally(() => {
      entry.settled = true;
    });
    cached = entry;
    return entry.results;
  };
  return {
    async health() {
      const results = await probeAll();
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
