import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

test('shipped code and the benchmarks import nothing from test/, so npm run db:reset and the benchmarks run without it', () => {
  const offenders: string[] = [];
  for (const file of [...sourceFiles('src'), ...sourceFiles('scripts'), ...sourceFiles('bench')]) {
    for (const [, from] of readFileSync(path.join(ROOT, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), from!));
      if (target === 'test' || target.startsWith(`test${path.sep}`)) offenders.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});
