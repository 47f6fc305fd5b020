/**
 * Named fixture sets (Django's `loaddata`, but code instead of JSON dumps): each domain
 * registers steps in `test/fixtures/index.ts`; a step says which database it writes, which
 * steps must run before it, and what it does for each set it takes part in. Steps write
 * through the services, the same code paths the API uses, so stored forms (encrypted
 * columns, hashed passwords) are produced exactly as in production.
 */
import type { DatabaseName } from './client.ts';
import type { StoreServices } from '../services/index.ts';

export interface FixtureContext {
  readonly services: StoreServices;
}

export interface FixtureStep {
  /** `<schema>.<what>`, e.g. `licensing.licences`; unique. */
  readonly name: string;
  /** The database the step writes to (it may read the other through services). */
  readonly database: DatabaseName;
  /** Steps that must have run first. */
  readonly after?: readonly string[];
  /** What the step does for each set it belongs to; resolves to a one-line summary (`6 licences`). */
  readonly sets: Readonly<Record<string, (context: FixtureContext) => Promise<string>>>;
}

/** The set that loads nothing. */
export const NO_FIXTURES = 'none';

/** Every set name the steps know, plus `none`, sorted. */
export function fixtureSetNames(steps: readonly FixtureStep[]): string[] {
  return [...new Set([NO_FIXTURES, ...steps.flatMap((s) => Object.keys(s.sets))])].sort();
}

/**
 * The steps in dependency order: each time, the earliest-registered step whose dependencies have run.
 * A duplicate name, an unknown dependency or a cycle is a programming error (TypeError).
 */
export function orderSteps(steps: readonly FixtureStep[]): FixtureStep[] {
  const byName = new Map<string, FixtureStep>();
  for (const step of steps) {
    if (byName.has(step.name)) throw new TypeError(`fixture step ${step.name} is registered twice`);
    byName.set(step.name, step);
  }
  for (const step of steps) {
    for (const dep of step.after ?? []) if (!byName.has(dep)) throw new TypeError(`fixture step ${step.name} runs after unknown step ${dep}`);
  }
  const done = new Set<string>();
  const ordered: FixtureStep[] = [];
  while (ordered.length < steps.length) {
    const next = steps.find((s) => !done.has(s.name) && (s.after ?? []).every((d) => done.has(d)));
    if (!next) {
      const stuck = steps.filter((s) => !done.has(s.name)).map((s) => s.name);
      throw new TypeError(`fixture steps depend on each other in a cycle: ${stuck.join(', ')}`);
    }
    done.add(next.name);
    ordered.push(next);
  }
  return ordered;
}

/**
 * Runs every step of `set` in dependency order, reporting each as it finishes.
 * Throws a TypeError for a set no step knows (callers check with {@link fixtureSetNames} first).
 */
export async function loadFixtures(
  steps: readonly FixtureStep[],
  set: string,
  context: FixtureContext,
  report: (step: FixtureStep, summary: string) => void = () => {},
): Promise<void> {
  if (!fixtureSetNames(steps).includes(set)) throw new TypeError(`unknown fixture set ${set}`);
  for (const step of orderSteps(steps)) {
    const load = step.sets[set];
    if (load) report(step, await load(context));
  }
}
