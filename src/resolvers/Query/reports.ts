import type { QueryResolvers } from '../../generated/graphql.ts';
import { toReport } from '../report-mappers.ts';

/** Query.reports — the caller's reports, newest first (admins: everyone's); see schema/reports.graphql. */
export const reports: QueryResolvers['reports'] = async (_parent, { first, after }, { services, caller }) => {
  const page = await services.reports.list(caller, first ?? 20, after ?? null);
  return {
    edges: page.reports.map(({ view, cursor }) => ({ cursor, node: toReport(view) })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
  };
};
