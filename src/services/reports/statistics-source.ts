/**
 * Where a weekly statistics report gets its numbers: the statistics service's `weekly()`
 * (src/services/statistics), whose answer (`WeeklyStatistics`, src/reports/types.ts) the
 * templates render. The report asks with the job owner's identity, so the service's own
 * permission check (ANALYST or ADMIN) holds in render workers too.
 */
import type { WeeklyReportParameters, WeeklyStatistics } from '../../reports/types.ts';
import type { Caller } from '../auth/caller.ts';

/** What a report needs of the statistics service. */
export interface WeeklyStatisticsSource {
  /** The three tables for `parameters`; checks that the caller is an ANALYST or ADMIN. */
  weekly(caller: Caller, parameters: WeeklyReportParameters): Promise<WeeklyStatistics>;
}
