/**
 * Keeps each connection's extended-protocol batch together on the embedded database.
 *
 * pglite-socket 0.2 multiplexes many `pg` connections onto one PGlite by queueing every
 * protocol message on its own; outside a transaction it serves the next message from any
 * connection. Connections sending parameterised queries at once (Parse, Bind, Describe,
 * Execute, Sync each) can then interleave: one's Parse lands between another's Parse and
 * Bind, and PostgreSQL answers "unnamed prepared statement does not exist" (26000), "portal
 * does not exist" (34000), or binds one query's parameters to the other's statement.
 *
 * This replaces the queue's scheduling with the same loop plus one rule: once a connection
 * has sent an extended-protocol message, only that connection is served until its Sync (or a
 * simple Query or Terminate), as the library already serves only the connection inside a
 * transaction. A connection that goes away mid-batch releases the others.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';

interface QueuedMessage {
  readonly handlerId: number;
  readonly message: Uint8Array;
  readonly onData: (data: Uint8Array) => void;
  resolve(bytes: number): void;
  reject(error: unknown): void;
}

/** The parts of pglite-socket's QueryQueueManager this relies on (checked at start). */
interface QueueInternals {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  readonly db: PGlite;
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

const code = (c: string) => c.charCodeAt(0);
/** Parse, Bind, Describe, Execute, Close, Flush: a batch is open until Sync. */
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map(code));
/** Sync, simple Query, Terminate: the connection's batch is over. */
const ENDS_BATCH = new Set(['S', 'Q', 'X'].map(code));

export function keepProtocolBatchesTogether(server: PGLiteSocketServer): void {
  const queue = (server as unknown as { queryQueue?: QueueInternals }).queryQueue;
  if (!queue || !Array.isArray(queue.queue) || typeof queue.processQueue !== 'function' || typeof queue.clearQueueForHandler !== 'function') {
    throw new TypeError('@electric-sql/pglite-socket changed its query queue: review src/db/pglite-batches.ts before upgrading');
  }
  let batchOf: number | null = null;

  queue.processQueue = async () => {
    if (queue.processing || queue.queue.length === 0) return;
    queue.processing = true;
    try {
      while (queue.queue.length > 0) {
        const owner = batchOf ?? (queue.db.isInTransaction() ? queue.lastHandlerId : null);
        const index = owner === null ? 0 : queue.queue.findIndex((m) => m.handlerId === owner);
        if (index === -1) break; // the owner's next message restarts the loop when it arrives
        const [item] = queue.queue.splice(index, 1) as [QueuedMessage];
        const type = item.message[0] ?? 0;
        let bytes = 0;
        try {
          await queue.db.runExclusive(() =>
            queue.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          if (batchOf === item.handlerId) batchOf = null;
          item.reject(error);
          continue;
        }
        if (EXTENDED.has(type)) batchOf = item.handlerId;
        else if (ENDS_BATCH.has(type) && batchOf === item.handlerId) batchOf = null;
        queue.lastHandlerId = item.handlerId;
        item.resolve(bytes);
      }
    } finally {
      queue.processing = false;
    }
  };

  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId) => {
    clear(handlerId);
    if (batchOf === handlerId) {
      batchOf = null;
      void queue.processQueue();
    }
  };
}
