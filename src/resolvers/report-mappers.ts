/** Reports service views → the GraphQL `Report` shape, shared by the report resolvers. */
import type { Report } from '../generated/graphql.ts';
import type { ReportView } from '../services/reports/index.ts';

export function toReport(view: ReportView): Report {
  const { state, parameters } = view;
  const { row } = state;
  const error = state.phase === 'FAILED' || state.phase === 'TIMED_OUT' ? state.error : null;
  return {
    id: row.id,
    kind: view.kind,
    format: view.format,
    parameters: {
      from: parameters.from,
      to: parameters.to,
      applications: parameters.applications === null ? null : [...parameters.applications],
      sources: parameters.sources === null ? null : [...parameters.sources],
      timeZone: parameters.timeZone,
    },
    status: state.phase,
    progress: row.progress,
    error: error ? { code: error.code, message: error.message } : null,
    attempts: row.attempts,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    pageCount: state.phase === 'SUCCEEDED' ? row.pageCount : null,
    byteSize: state.phase === 'SUCCEEDED' ? row.byteSize : null,
    downloadUrl: view.download?.url ?? null,
    downloadUrlExpiresAt: view.download?.expiresAt ?? null,
  };
}
