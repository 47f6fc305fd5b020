/**
 * One connection at a time on the embedded database, batch by batch.
 *
 * PGlite is one PostgreSQL session; `@electric-sql/pglite-socket` (0.2.17, the latest)
 * shares it among every socket connection through a queue of protocol *messages*, and
 * keeps the session for one connection only while a transaction is open. Between the
 * messages of an extended-protocol batch (Parse, Bind, Describe, Execute … Sync) there is
 * no transaction, so concurrent connections' batches interleave: one connection's Parse
 * replaces another's unnamed statement (SQLSTATE 26000), results go to the wrong
 * connection, and a connection can wait forever for an answer that another one was sent.
 * A message that throws also stops the queue for good (upstream issue electric-sql/pglite#1046).
 *
 * {@link serializeBatches} replaces the queue's scheduling on a server: a connection keeps
 * the session from the first message of a batch until its Sync (or a simple Query) has
 * been answered, and for as long as its transaction is open; a failed message fails only
 * its own caller; a connection that goes away mid-batch or mid-transaction has its batch
 * ended and its transaction rolled back before the next connection is served.
 *
 * The package is pinned to an exact version; the start refuses a queue that does not look
 * like the one this was written against.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';

interface Queued {
  readonly handlerId: number;
  readonly message: Uint8Array;
  readonly onData: (data: Uint8Array) => void;
  resolve(bytes: number): void;
  reject(err: unknown): void;
}

/** The fields of pglite-socket's QueryQueueManager this module takes over. */
interface QueueInternals {
  queue: Queued[];
  processing: boolean;
  lastHandlerId: number | null;
  processQueue: () => Promise<void>;
  clearTransactionIfNeeded: (handlerId: number) => Promise<void>;
}

/** Frontend messages after which the batch goes on: Parse, Bind, Describe, Execute, Close, Flush. */
const MID_BATCH = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
/** A Sync message: ends a batch (and, after an error, the skipping of the rest of it). */
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

/** Makes `server` (already constructed over `db`) serve one connection's batch or transaction at a time. */
export function serializeBatches(server: PGLiteSocketServer, db: PGlite): void {
  const q = (server as unknown as { queryQueue?: QueueInternals }).queryQueue;
  if (!q || !Array.isArray(q.queue) || typeof q.processQueue !== 'function' || typeof q.clearTransactionIfNeeded !== 'function') {
    throw new TypeError('@electric-sql/pglite-socket has changed: review src/db/pglite-queue.ts before upgrading it');
  }
  /** The connection that holds the session (mid-batch or in a transaction), or null. */
  let owner: number | null = null;

  const run = (message: Uint8Array, onData: (data: Uint8Array) => void) => db.runExclusive(() => db.execProtocolRawStream(message, { onRawData: onData }));

  q.processQueue = async function processQueue(this: QueueInternals): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const held = owner;
        const index = held === null ? 0 : this.queue.findIndex((m) => m.handlerId === held);
        if (index === -1) break; // the holder's next message has not arrived yet; enqueue() starts us again
        const [item] = this.queue.splice(index, 1) as [Queued];
        let bytes = 0;
        try {
          await run(item.message, (data) => {
            bytes += data.length;
            item.onData(data);
          });
        } catch (err) {
          item.reject(err);
          continue;
        }
        this.lastHandlerId = item.handlerId;
        owner = MID_BATCH.has(item.message[0]!) || db.isInTransaction() ? item.handlerId : null;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
    // A holder that went away while this loop ran has been cleared meanwhile: serve the rest.
    if (this.queue.length > 0 && (owner === null || this.queue.some((m) => m.handlerId === owner))) await this.processQueue();
  };

  q.clearTransactionIfNeeded = async function clearTransactionIfNeeded(this: QueueInternals, handlerId: number): Promise<void> {
    if (owner !== handlerId && !(db.isInTransaction() && this.lastHandlerId === handlerId)) return;
    // The connection went away holding the session: end its batch, undo its transaction.
    await run(SYNC, () => {}).catch(() => {});
    if (db.isInTransaction()) await db.exec('ROLLBACK').catch(() => {});
    owner = null;
    this.lastHandlerId = null;
    await this.processQueue();
  };
}
