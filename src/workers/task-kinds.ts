/**
 * The names of the heavy task kinds, apart from the registry (./tasks.ts) that maps each to
 * its file: config.ts checks WORKER_TASK_TIMEOUTS against this list, with every other
 * variable at start, without loading the registry. The registry must have exactly these
 * kinds (the typecheck holds it to that): add a kind here when you add a task there.
 */
export const TASK_KINDS = ['selfTest', 'weeklyStatistics', 'renderReport', 'finishReportPdf', 'reencryptSecrets'] as const;

/** A heavy task kind. */
export type TaskKind = (typeof TASK_KINDS)[number];
