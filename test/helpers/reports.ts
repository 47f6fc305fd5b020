/**
 * Helpers for report tests: a server that renders, callers with a role, the GraphQL calls,
 * waiting for a report to settle, and reading a PDF's text with poppler's pdftotext.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Role } from '../../src/services/auth/tokens.ts';
import { startTestServer, type GqlResponse, type TestServer } from './server.ts';
import { aUser, bearer, signIn } from './users.ts';

const run = promisify(execFile);

export const REPORT_FIELDS = `id kind format status progress attempts pageCount byteSize downloadUrl downloadUrlExpiresAt
  createdAt startedAt finishedAt error { code message } parameters { from to applications sources timeZone }`;

export const REQUEST_REPORT = `mutation Request($input: ReportInput!, $wait: Int) {
  requestReport(input: $input, waitSeconds: $wait) { ${REPORT_FIELDS} }
}`;

export const REPORT = `query Report($id: ID!) { report(id: $id) { ${REPORT_FIELDS} } }`;

export interface ReportResult {
  id: string;
  kind: string;
  format: string;
  status: string;
  progress: number;
  attempts: number;
  pageCount: number | null;
  byteSize: number | null;
  downloadUrl: string | null;
  downloadUrlExpiresAt: string | null;
  error: { code: string; message: string } | null;
  parameters: { from: string; to: string; applications: string[] | null; sources: string[] | null; timeZone: string };
}

export interface ReportServer extends TestServer {
  /** Removes the server's temporary DATA_DIR too. */
  close(): Promise<void>;
}

/** A test server that renders reports (REPORT_RENDERING=on) with a private DATA_DIR for its mail. */
export async function startReportServer(overrides: Record<string, string> = {}): Promise<ReportServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-reports-'));
  // On the embedded database, one connection per server: under many concurrent connections
  // pglite-socket's multiplexer has answered with protocol errors (26000 "unnamed prepared
  // statement does not exist", 34000, 22P02), and a rendering server is busier than most.
  const embedded = !process.env.TEST_SERVER_URL;
  // It also looks for work only every second there (a report asked of this server starts at once anyway).
  const s = await startTestServer({
    DATA_DIR: dir,
    REPORT_RENDERING: 'on',
    // Generous limits: a shared CI machine running other suites can be many times slower.
    REPORT_RENDER_TIMEOUT_MS: '300000',
    WORKER_TASK_TIMEOUT_MS: '300000',
    REPORT_MAX_WAIT_SECONDS: '120',
    ...(embedded ? { DB_POOL_MAX: '1', REPORT_POLL_MS: '1000' } : { REPORT_POLL_MS: '100' }),
    ...overrides,
  });
  const close = s.close;
  return Object.assign(s, {
    async close() {
      await close();
      await rm(dir, { recursive: true, force: true });
    },
  });
}

/** A new user with `role`, signed in (first step; enough for `@auth(role:)` fields); returns their headers and id. */
export async function caller(s: TestServer, role: Role): Promise<{ headers: Record<string, string>; userId: string }> {
  const user = await aUser(s).withRole(role).create();
  const res = await signIn(s, user);
  const token = res.body.data?.signIn.tokens.accessToken;
  if (!token) throw new Error(`sign-in failed: ${JSON.stringify(res.body.errors)}`);
  return { headers: bearer(token), userId: user.id };
}

export async function requestReport(
  s: TestServer,
  headers: Record<string, string>,
  input: Record<string, unknown>,
  wait = 0,
): Promise<GqlResponse<{ requestReport: ReportResult }>> {
  return s.gql<{ requestReport: ReportResult }>(REQUEST_REPORT, { input: { kind: 'WEEKLY_STATISTICS', ...input }, wait }, headers);
}

const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

/** Polls `report(id)` until it has finished (or `timeoutMs` passes, which fails the test). */
export async function settled(s: TestServer, headers: Record<string, string>, id: string, timeoutMs = 60_000): Promise<ReportResult> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await s.gql<{ report: ReportResult }>(REPORT, { id }, headers);
    const report = res.body.data?.report;
    if (!report) throw new Error(`report(${id}) failed: ${JSON.stringify(res.body.errors)}`);
    if (FINISHED.has(report.status)) return report;
    if (Date.now() > until) throw new Error(`report ${id} still ${report.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET a report's download URL (relative to the server). */
export function download(s: TestServer, url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL(url, s.url), { headers });
}

/** The text of a PDF, as poppler's pdftotext reads it (layout kept). */
export async function pdfText(pdf: Uint8Array): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-pdf-'));
  try {
    const file = path.join(dir, 'report.pdf');
    await writeFile(file, pdf);
    const { stdout } = await run('pdftotext', ['-layout', file, '-'], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pages of a PDF, as poppler's pdfinfo counts them. */
export async function pdfPages(pdf: Uint8Array): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strongroom-pdf-'));
  try {
    const file = path.join(dir, 'report.pdf');
    await writeFile(file, pdf);
    const { stdout } = await run('pdfinfo', [file]);
    return Number(/^Pages:\s+(\d+)/m.exec(stdout)?.[1]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
