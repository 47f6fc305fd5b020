import type { MutationResolvers } from '../../generated/graphql.ts';
import { toReport } from '../report-mappers.ts';

/**
 * Mutation.requestReport — ANALYST or ADMIN; see schema/reports.graphql. Queues the report and
 * waits up to `waitSeconds` for it (DeferredResult with a timeout result: a report still
 * running is answered as it is). Waiting stops if the client goes away; the report does not.
 */
export const requestReport: MutationResolvers['requestReport'] = async (_parent, { input, waitSeconds }, { services, caller, signal }) => {
  const view = await services.reports.request(
    caller,
    {
      kind: input.kind,
      format: input.format ?? 'PDF',
      from: input.from,
      to: input.to,
      applications: input.applications ?? null,
      sources: input.sources ?? null,
      timeZone: input.timeZone ?? 'UTC',
    },
    waitSeconds ?? 0,
    signal,
  );
  return toReport(view);
};
