/**
 * The embedded default: PGlite (PostgreSQL compiled to WASM) persisted under DATA_DIR and
 * served on a unix socket, so that everything above this seam speaks `pg` in both modes —
 * including worker threads, which open their own `pg` clients to the same socket.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { PoolConfig } from 'pg';
import { keepProtocolBatchesTogether } from './pglite-batches.ts';

export interface EmbeddedPostgres {
  /** Connection settings for `pg` (plain data; safe to hand to a worker thread). */
  readonly connection: Readonly<PoolConfig>;
  /** Where the data lives; undefined for an in-memory instance. */
  readonly dataDir: string | undefined;
  close(): Promise<void>;
}

/** Thrown when another process already serves the same data folder. */
export class DataDirInUseError extends Error {
  constructor(dir: string, pid: number) {
    super(`The embedded database in ${dir} is in use by process ${pid}. Stop it, or set DATA_DIR to another folder.`);
    this.name = 'DataDirInUseError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Opens (creating on first use) the embedded database. `dataDir` undefined = in memory.
 * PGlite is single-user: a lock file stops two processes from opening one folder.
 */
export async function startEmbeddedPostgres(dataDir: string | undefined, maxConnections = 100): Promise<EmbeddedPostgres> {
  let lockFile: string | undefined;
  if (dataDir !== undefined) {
    await mkdir(dataDir, { recursive: true });
    lockFile = path.join(dataDir, 'strongroom.pid');
    const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) throw new DataDirInUseError(dataDir, holder);
    await writeFile(lockFile, String(process.pid));
  }
  const db = dataDir === undefined ? new PGlite() : new PGlite(path.join(dataDir, 'pglite'));
  await db.waitReady;
  // Unix socket paths are limited to ~100 bytes, so the socket lives in a short temp folder,
  // named the way libpq expects (<dir>/.s.PGSQL.<port>) so `pg` can use host=<dir>.
  const socketDir = await mkdtemp(path.join(os.tmpdir(), 'sr-'));
  const port = 5432;
  const server = new PGLiteSocketServer({ db, path: path.join(socketDir, `.s.PGSQL.${port}`), maxConnections });
  keepProtocolBatchesTogether(server);
  await server.start();
  let closed = false;
  return {
    connection: Object.freeze({ host: socketDir, port, user: 'postgres', database: 'postgres' }),
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      await server.stop();
      await db.close();
      await rm(socketDir, { recursive: true, force: true });
      if (lockFile) await rm(lockFile, { force: true });
    },
  };
}

/** A `pg` connection URL for an embedded server's unix socket (for tools that take URLs). */
export function embeddedUrl(embedded: EmbeddedPostgres): string {
  const { host, port, user, database } = embedded.connection;
  return `postgres://${user}@localhost:${port}/${database}?host=${encodeURIComponent(String(host))}`;
}
