/**
 * The reports service: request a report (queued as a job row any render process may claim),
 * wait for it, read it, list them, cancel it, and sign its download link. Permissions are
 * checked here too, not only by `@auth` in the schema: reports need the ANALYST role (ADMIN
 * too); a caller sees their own reports, an admin everyone's, and another's report is
 * NOT_FOUND, never FORBIDDEN (its existence is not told).
 */
import type { Config } from '../../config.ts';
import type { Database } from '../../db/client.ts';
import { BadUserInputError, ForbiddenError, NotFoundError, ServerBusyError, UnauthenticatedError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { APPENDIX_NAMES } from '../../reports/appendices.ts';
import type { Renderer } from '../../reports/renderer.ts';
import type { ReportFormat, ReportKind, WeeklyReportParameters } from '../../reports/types.ts';
import type { WorkerPool } from '../../workers/pool.ts';
import type { TASKS } from '../../workers/tasks.ts';
import type { Caller } from '../auth/caller.ts';
import type { KeyStore } from '../auth/keys.ts';
import { createDownloadLinks, type DownloadClaims } from './download-links.ts';
import { isFinished, jobState, type JobRow, type JobState } from './job-state.ts';
import { checkRequest, createTimeZoneCheck, storedParameters, type ReportRequest } from './parameters.ts';
import { CONTENT_TYPES, produceReport } from './produce.ts';
import { createReportRunner, type ReportRunner } from './runner.ts';
import type { WeeklyStatisticsSource } from './statistics-source.ts';
import { createJobStore } from './store.ts';

export type { ReportRequest } from './parameters.ts';

/** A report as the API shows it. */
export interface ReportView {
  readonly state: JobState;
  readonly kind: ReportKind;
  readonly format: ReportFormat;
  readonly parameters: WeeklyReportParameters;
  /** Set for a SUCCEEDED report: a signed link for the caller. */
  readonly download: { readonly url: string; readonly expiresAt: Date } | null;
}

export interface ReportPage {
  readonly reports: { readonly view: ReportView; readonly cursor: string }[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

/** What the download route needs to answer: the job and whether the signed caller may have it. */
export type DownloadLookup =
  | { readonly outcome: 'forbidden' }
  | { readonly outcome: 'not-found' }
  | { readonly outcome: 'not-ready'; readonly status: string }
  | { readonly outcome: 'ready'; readonly row: JobRow; readonly contentType: string };

export interface ReportsDeps {
  readonly config: Config;
  readonly database: Database;
  readonly pool: WorkerPool<typeof TASKS>;
  readonly keys: KeyStore;
  readonly statistics: WeeklyStatisticsSource;
  /** The PDF renderer of this process; with it, the service runs the render loop. */
  readonly renderer?: Renderer;
  readonly logger: Logger;
  readonly now: () => Date;
}

const EXTENSIONS: Readonly<Record<ReportFormat, string>> = { PDF: 'pdf', HTML: 'html', CSV: 'csv' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function analyst(caller: Caller) {
  if (caller.kind !== 'user') throw new UnauthenticatedError();
  if (caller.role !== 'ANALYST' && caller.role !== 'ADMIN') throw new ForbiddenError('Reports need the ANALYST role.');
  return caller;
}

/** A list cursor names the report it follows (opaque to clients). */
const encodeCursor = (row: JobRow) => Buffer.from(`report:${row.id}`).toString('base64url');

function decodeCursor(cursor: string): string {
  const m = /^report:(.{36})$/.exec(Buffer.from(cursor.slice(0, 100), 'base64url').toString('utf8'));
  if (!m || !UUID.test(m[1]!)) throw new BadUserInputError('after is not a cursor from this list.', 'after');
  return m[1]!;
}

export function createReportsService(deps: ReportsDeps) {
  const { config, logger, now } = deps;
  for (const name of config.reportAppendices) {
    if (!(APPENDIX_NAMES as readonly string[]).includes(name)) {
      throw new TypeError(`REPORT_APPENDICES names an unknown appendix "${name}"; known: ${APPENDIX_NAMES.join(', ')}`);
    }
  }
  const store = createJobStore(deps.database.db);
  const links = createDownloadLinks(deps.keys, config.jwtIssuer);
  const knownZone = createTimeZoneCheck(deps.database.db);
  const linkTtl = Math.min(config.reportDownloadTtlSeconds, config.accessTokenTtlSeconds);
  const settledListeners = new Set<(id: string) => void>();
  const runner: ReportRunner | undefined = deps.renderer
    ? createReportRunner(
        {
          store,
          logger: logger.child({ component: 'reports' }),
          onSettled: (id) => {
            for (const listener of settledListeners) listener(id);
          },
          produce: (job) =>
            produceReport({ statistics: deps.statistics, pool: deps.pool, renderer: deps.renderer, appendices: config.reportAppendices, now }, job),
        },
        {
          concurrency: config.reportConcurrency,
          leaseSeconds: config.reportLeaseSeconds,
          pollMs: config.reportPollMs,
          attemptTimeoutMs: config.reportRenderTimeoutMs,
          retentionHours: config.reportRetentionHours,
          sweepBatch: config.reportSweepBatch,
        },
      )
    : undefined;

  async function view(caller: Caller & { kind: 'user' }, row: JobRow): Promise<ReportView> {
    const state = jobState(row);
    const format = row.format as ReportFormat;
    let download: ReportView['download'] = null;
    if (state.phase === 'SUCCEEDED') {
      const signed = await links.sign({ reportId: row.id, format, userId: caller.userId, admin: caller.role === 'ADMIN' }, now(), linkTtl);
      download = { url: `${config.publicUrl ?? ''}/reports/${row.id}.${EXTENSIONS[format]}?token=${signed.token}`, expiresAt: signed.expiresAt };
    }
    return { state, kind: row.kind as ReportKind, format, parameters: storedParameters(row.parameters), download };
  }

  /** The caller's job (any job for an admin), or NOT_FOUND. */
  async function visible(caller: Caller & { kind: 'user' }, id: string): Promise<JobRow> {
    const row = UUID.test(id) ? await store.get(id) : undefined;
    if (!row || (row.ownerId !== caller.userId && caller.role !== 'ADMIN')) throw new NotFoundError('There is no such report.');
    return row;
  }

  /** Resolves when `id` settled in this process, after `ms`, or when `signal` aborts, whichever is first. */
  function settledOrAfter(id: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        settledListeners.delete(listener);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const listener = (settled: string) => settled === id && done();
      const timer = setTimeout(done, ms);
      settledListeners.add(listener);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  return {
    /**
     * Queues a report; waits up to `waitSeconds` (capped at REPORT_MAX_WAIT_SECONDS) for it
     * to finish, and answers its state then: a report still running is an answer, not an error.
     * SERVER_BUSY when REPORT_MAX_QUEUE reports already wait.
     */
    async request(caller: Caller, request: ReportRequest, waitSeconds: number, signal?: AbortSignal): Promise<ReportView> {
      const user = analyst(caller);
      if (!Number.isInteger(waitSeconds) || waitSeconds < 0) throw new BadUserInputError('waitSeconds must be 0 or more.', 'waitSeconds');
      const parameters = await checkRequest(request, { maxRangeDays: config.reportMaxRangeDays }, knownZone);
      const result = await store.insert(
        { ownerId: user.userId, kind: request.kind, format: request.format, parameters, maxAttempts: config.reportMaxAttempts },
        config.reportMaxQueue,
      );
      if (!result.inserted) {
        const perSlot = Math.ceil(result.queued / Math.max(1, config.reportConcurrency));
        throw new ServerBusyError(Math.max(1, Math.min(300, perSlot)), 'Too many reports are waiting; retry after extensions.retryAfter seconds.');
      }
      runner?.wake();
      let row = result.row;
      const until = performance.now() + Math.min(waitSeconds, config.reportMaxWaitSeconds) * 1000;
      // Poll with back-off (another process may render it); a render in this process wakes us at once.
      for (let delay = 25; !isFinished(jobState(row)) && !signal?.aborted; delay = Math.min(delay * 2, 500)) {
        const left = until - performance.now();
        if (left <= 0) break;
        await settledOrAfter(row.id, Math.min(delay, left), signal);
        row = (await store.get(row.id)) ?? row;
      }
      return view(user, row);
    },

    async get(caller: Caller, id: string): Promise<ReportView> {
      const user = analyst(caller);
      return view(user, await visible(user, id));
    },

    /** The caller's reports (an admin's: everyone's), newest first. */
    async list(caller: Caller, first: number, after: string | null): Promise<ReportPage> {
      const user = analyst(caller);
      if (!Number.isInteger(first) || first < 1 || first > 100) throw new BadUserInputError('first must be between 1 and 100.', 'first');
      const page = await store.list(user.role === 'ADMIN' ? null : user.userId, first, after === null ? null : decodeCursor(after));
      const last = page.rows.at(-1);
      return {
        reports: await Promise.all(page.rows.map(async (row) => ({ view: await view(user, row), cursor: encodeCursor(row) }))),
        hasNextPage: page.hasNextPage,
        endCursor: last ? encodeCursor(last) : null,
      };
    },

    /** Cancels a QUEUED or RUNNING report; a finished one is answered as it is. */
    async cancel(caller: Caller, id: string): Promise<ReportView> {
      const user = analyst(caller);
      const row = await visible(user, id);
      const cancelled = await store.cancel(row.id, user.role === 'ADMIN' ? null : user.userId);
      if (cancelled) logger.info({ reportId: id }, 'report cancelled');
      return view(user, cancelled ?? (await visible(user, id)));
    },

    /** For GET /reports/:id.:ext — checks the signed token, then the job. */
    async lookupDownload(id: string, extension: string, token: string | undefined): Promise<DownloadLookup> {
      const claims: DownloadClaims | undefined = token ? await links.verify(token, now()) : undefined;
      if (!claims || claims.reportId !== id || EXTENSIONS[claims.format as ReportFormat] !== extension) return { outcome: 'forbidden' };
      const row = UUID.test(id) ? await store.get(id) : undefined;
      if (!row || (row.ownerId !== claims.userId && !claims.admin) || EXTENSIONS[row.format as ReportFormat] !== extension) {
        return { outcome: 'not-found' };
      }
      const state = jobState(row);
      if (state.phase !== 'SUCCEEDED') return { outcome: 'not-ready', status: state.phase };
      return { outcome: 'ready', row, contentType: CONTENT_TYPES[row.format as ReportFormat] };
    },

    /** The stored bytes of a finished report (whole, or an inclusive byte range). */
    output: (id: string, range?: { start: number; end: number }) => store.output(id, range),

    /** Signs a download token directly (tests, operators' tools); `issuedAt` default now. */
    signDownload: (claims: DownloadClaims, issuedAt: Date = now()) => links.sign(claims, issuedAt, linkTtl),

    /** Starts this process's render loop, when it has one. */
    start() {
      runner?.start();
    },

    /** The render loop of this process, if it renders. */
    runner,

    async close() {
      await runner?.close();
    },
  };
}

export type ReportsService = ReturnType<typeof createReportsService>;
