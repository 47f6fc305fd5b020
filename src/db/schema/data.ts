/** Everything that lives in the data database: the drizzle schema for `drizzle.config.ts` and the data client. */
export { licensing, licences, licenceEvents } from './licensing.ts';
export { reporting, reportJobs, reportJobStatus } from './reporting.ts';
export { licenceEventRollups, licenceEventSeries } from './statistics.ts';
