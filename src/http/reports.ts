/**
 * `GET /reports/<id>.<pdf|html|csv>?token=…`: a finished report's file, for whoever holds the
 * signed link from `Report.downloadUrl` (the link is the credential, like a presigned URL;
 * no Authorization header is needed, so a browser or curl can open it).
 *
 * Answers: 200 with Content-Type, Content-Length, `Content-Disposition: attachment;
 * filename="weekly-statistics-<from>-<to>.<ext>"` and an ETag; 206 for one satisfiable
 * `Range: bytes=…` (416 when unsatisfiable); 304 when `If-None-Match` names the ETag.
 * Errors are the coded JSON body of every HTTP route: 403 FORBIDDEN (missing, bad or expired
 * signature), 404 NOT_FOUND (no such report, or not the signer's), 409 REPORT_NOT_READY.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ErrorCode } from '../errors.ts';
import { reportFileName, type ReportFormat, type ReportKind } from '../reports/types.ts';
import type { ReportsService } from '../services/reports/index.ts';
import { storedParameters } from '../services/reports/parameters.ts';
import { errorBody } from './errors.ts';

const FILE = /^([0-9a-fA-F-]{36})\.(pdf|html|csv)$/;

/** What a `Range` header asks of a body of `size` bytes. */
export type RangeRequest =
  | { readonly kind: 'whole' }
  | { readonly kind: 'part'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

/**
 * One `bytes=` range (RFC 9110 14.1.2): `a-b`, `a-` or `-n`. Several ranges, other units or
 * nonsense are ignored (the whole body is sent, as the RFC allows); a range past the end is
 * unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (!header) return { kind: 'whole' };
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || (m[2] !== '' && Number(m[2]) < start)) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end };
}

/** Whether an `If-None-Match` list names `etag` (weak comparison, RFC 9110 13.1.2). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function fail(reply: FastifyReply, status: number, code: ErrorCode, message: string) {
  return reply.status(status).header('cache-control', 'no-store').type('application/json').send(errorBody(code, message));
}

export function registerReportDownloads(app: FastifyInstance, reports: ReportsService): void {
  app.get<{ Params: { file: string }; Querystring: { token?: string } }>('/reports/:file', async (request, reply) => {
    const m = FILE.exec(request.params.file);
    if (!m) return fail(reply, 404, 'NOT_FOUND', 'There is no such report.');
    const [, id, extension] = m as unknown as [string, string, string];
    const token = typeof request.query.token === 'string' ? request.query.token : undefined;
    const found = await reports.lookupDownload(id.toLowerCase(), extension, token);
    switch (found.outcome) {
      case 'forbidden':
        return fail(reply, 403, 'FORBIDDEN', 'The download link is not valid or has expired; ask for the report again to get a new one.');
      case 'not-found':
        return fail(reply, 404, 'NOT_FOUND', 'There is no such report.');
      case 'not-ready':
        return fail(reply, 409, 'REPORT_NOT_READY', `The report is ${found.status}, so there is nothing to download.`);
      case 'ready':
        break;
      default: {
        const unreachable: never = found;
        throw new TypeError(`unhandled lookup ${String(unreachable)}`);
      }
    }
    const { row } = found;
    const size = row.byteSize ?? 0;
    const etag = `"${row.outputSha256 ?? row.id}"`;
    const parameters = storedParameters(row.parameters);
    reply
      .header('etag', etag)
      .header('accept-ranges', 'bytes')
      .header('cache-control', 'private, no-cache')
      .header('x-content-type-options', 'nosniff')
      // An HTML report opened in a browser anyway runs nothing and loads nothing.
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox")
      .header('content-disposition', `attachment; filename="${reportFileName(row.kind as ReportKind, parameters, row.format as ReportFormat)}"`);
    if (noneMatch(request.headers['if-none-match'], etag)) return reply.status(304).send();
    // If-Range with another validator: the file changed, send it whole.
    const ifRange = request.headers['if-range'];
    const range = ifRange && ifRange !== etag ? ({ kind: 'whole' } as const) : parseRange(request.headers.range, size);
    if (range.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${size}`);
      return fail(reply, 416, 'RANGE_NOT_SATISFIABLE', `The file has ${size} bytes.`);
    }
    const body = await reports.output(row.id, range.kind === 'part' ? range : undefined);
    if (!body) return fail(reply, 404, 'NOT_FOUND', 'There is no such report.');
    reply.type(found.contentType).header('content-length', body.byteLength);
    if (range.kind === 'part') return reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).send(body);
    return reply.status(200).send(body);
  });
}
