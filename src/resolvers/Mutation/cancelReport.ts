import type { MutationResolvers } from '../../generated/graphql.ts';
import { toReport } from '../report-mappers.ts';

/** Mutation.cancelReport — ANALYST or ADMIN, their own reports (admins: any); see schema/reports.graphql. */
export const cancelReport: MutationResolvers['cancelReport'] = async (_parent, { id }, { services, caller }) =>
  toReport(await services.reports.cancel(caller, id));
