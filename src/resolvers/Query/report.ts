import type { QueryResolvers } from '../../generated/graphql.ts';
import { toReport } from '../report-mappers.ts';

/** Query.report — ANALYST or ADMIN, their own reports (admins: any); see schema/reports.graphql. */
export const report: QueryResolvers['report'] = async (_parent, { id }, { services, caller }) => toReport(await services.reports.get(caller, id));
