/**
 * The task kinds the pool can run: each names a file under `tasks/` whose default export
 * takes plain data and returns plain data. Types come from the task file itself, so a
 * caller of `defer()` is checked against what the worker really accepts and returns; the
 * file is only loaded inside worker threads.
 */
import { fileURLToPath } from 'node:url';
import type { TaskKind } from './task-kinds.ts';
import type finishReportPdf from './tasks/finish-report-pdf.ts';
import type reencryptSecrets from './tasks/reencrypt-secrets.ts';
import type renderReport from './tasks/render-report.ts';
import type selfTest from './tasks/self-test.ts';
import type weeklyStatistics from './tasks/weekly-statistics.ts';

export { TASK_KINDS, type TaskKind } from './task-kinds.ts';

/** A task file and, at the type level only, its input and output. */
export interface TaskDefinition<I = unknown, O = unknown> {
  /** Absolute path of the task module (loaded in the worker, through the same `tsx` hook as the main thread). */
  readonly file: string;
  /** Never set: carries the input and output types. */
  readonly types?: (input: I) => O;
}

/** Kind name → task file. */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds tasks of every input and output type
export type TaskRegistry = Readonly<Record<string, TaskDefinition<any, any>>>;

// biome-ignore lint/suspicious/noExplicitAny: only the input is inferred here
export type TaskInput<D> = D extends TaskDefinition<infer I, any> ? I : never;
// biome-ignore lint/suspicious/noExplicitAny: only the output is inferred here
export type TaskOutput<D> = D extends TaskDefinition<any, infer O> ? O : never;

/** Declares a task file; `F` is the type of its default export. */
// biome-ignore lint/suspicious/noExplicitAny: any task function, whatever its input
export function defineTask<F extends (input: any) => unknown>(url: URL): TaskDefinition<Parameters<F>[0], Awaited<ReturnType<F>>> {
  return { file: fileURLToPath(url) };
}

/**
 * Every heavy task Strongroom runs. Add each new kind's name to TASK_KINDS in
 * ./task-kinds.ts too: the `satisfies` below refuses a kind missing from either.
 */
export const TASKS = {
  selfTest: defineTask<typeof selfTest>(new URL('./tasks/self-test.ts', import.meta.url)),
  weeklyStatistics: defineTask<typeof weeklyStatistics>(new URL('./tasks/weekly-statistics.ts', import.meta.url)),
  /** A report's HTML with its SVG charts, or its CSV. */
  renderReport: defineTask<typeof renderReport>(new URL('./tasks/render-report.ts', import.meta.url)),
  /** A printed report's appendices merged, pages numbered, outline written. */
  finishReportPdf: defineTask<typeof finishReportPdf>(new URL('./tasks/finish-report-pdf.ts', import.meta.url)),
  /** One batch of key rotation: stored tokens decrypted and encrypted again under the primary key. */
  reencryptSecrets: defineTask<typeof reencryptSecrets>(new URL('./tasks/reencrypt-secrets.ts', import.meta.url)),
} as const satisfies { readonly [K in TaskKind]: TaskRegistry[string] };
