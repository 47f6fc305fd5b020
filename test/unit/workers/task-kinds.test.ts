import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../../src/config.ts';
import { TASK_KINDS } from '../../../src/workers/task-kinds.ts';
import { TASKS } from '../../../src/workers/tasks.ts';

const SRC = path.resolve(import.meta.dirname, '../../../src');

/** Every module of ours that loading `file` loads (type-only imports load nothing). */
function loadedBy(file: string, seen = new Set<string>()): Set<string> {
  const text = readFileSync(file, 'utf8');
  for (const [, what, from] of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'/gms)) {
    if (what) continue;
    const target = path.resolve(path.dirname(file), from!);
    if (seen.has(target)) continue;
    seen.add(target);
    loadedBy(target, seen);
  }
  return seen;
}

test('config checks task kinds without loading the task registry or any task module', () => {
  const loaded = [...loadedBy(path.join(SRC, 'config.ts'))].map((f) => path.relative(SRC, f));
  assert.deepEqual(loaded, ['workers/task-kinds.ts']);
  assert.ok(loadedBy(path.join(SRC, 'workers/tasks.ts')).has(path.join(SRC, 'workers/task-kinds.ts')), 'the check sees through re-exports');
});

test('the list of kinds config knows is the registry’s', () => {
  assert.deepEqual([...TASK_KINDS].sort(), Object.keys(TASKS).sort());
});

test('an unknown kind in WORKER_TASK_TIMEOUTS is still reported at start beside every other problem', () => {
  assert.throws(
    () => parseConfig({ WORKER_TASK_TIMEOUTS: 'render=100', PORT: 'x' }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.problems.length === 2 &&
      e.problems.some((p) => p.startsWith('PORT ')) &&
      e.problems.some((p) => p.startsWith('WORKER_TASK_TIMEOUTS ')),
  );
});
