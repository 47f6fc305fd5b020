/**
 * Fernet throughput on one core: tokens encrypted and decrypted per second for 100-byte and
 * 4 KiB values, ours (src/crypto/fernet.ts on node:crypto, in this process) beside Python's
 * `cryptography` Fernet (/usr/bin/python3, one process) measured in the same run, rounds
 * interleaved, the median round of each counted.
 *
 *   BENCH fernet-decrypt-100b ours=<ops/s> baseline=<ops/s>   — the goal: ours ≥ 100k/s
 *   BENCH fernet-encrypt-100b, fernet-decrypt-4kib, fernet-encrypt-4kib
 *
 * Both sides decrypt the same tokens (made by Python, so ours reads the old app's tokens) and
 * encrypt the same values with the same key. Without Python's cryptography the benchmark
 * prints a note and no line (install python3-cryptography: .ci/run does).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Fernet, generateKey } from '../src/crypto/fernet.ts';
import { benchOptions, noteUnusedOptions } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { median } from './lib/stats.ts';

const options = benchOptions();
noteUnusedOptions('fernet', ['connections', 'cpu-prof-dir'], 'it measures a function on one core, no server');

const PYTHON = '/usr/bin/python3';
const PY_BENCH = `
import json, sys, time
from cryptography.fernet import Fernet
a = json.load(sys.stdin)
f = Fernet(a["key"].encode())
if a["op"] == "tokens":
    print(json.dumps([f.encrypt(bytes.fromhex(v)).decode() for v in a["values"]])); sys.exit()
values = [bytes.fromhex(v) for v in a["values"]]
tokens = [t.encode() for t in a["tokens"]]
items = tokens if a["op"] == "decrypt" else values
work = f.decrypt if a["op"] == "decrypt" else f.encrypt
n, i, end = 0, 0, time.perf_counter() + a["seconds"]
start = time.perf_counter()
while time.perf_counter() < end:
    for _ in range(500):
        work(items[i]); i = (i + 1) % len(items)
    n += 500
print(json.dumps(n / (time.perf_counter() - start)))
`;

function python(input: Record<string, unknown>): unknown {
  const out = spawnSync(PYTHON, ['-c', PY_BENCH], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(out.stderr.split('\n').filter(Boolean).pop() ?? `python exited ${out.status}`);
  return JSON.parse(out.stdout);
}

/** Ours: as many operations as fit in `seconds`, in batches of 500; operations per second. */
function ours(work: (i: number) => unknown, seconds: number): number {
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let j = 0; j < 500; j++) work(n + j);
    n += 500;
  }
  return n / ((performance.now() - start) / 1000);
}

const probe = spawnSync(PYTHON, ['-c', 'import cryptography'], { encoding: 'utf8' });
if (probe.status !== 0) {
  process.stdout.write(`# fernet: Python's cryptography baseline skipped (${PYTHON} cannot import cryptography; install python3-cryptography)\n`);
  process.exit(0);
}

const key = generateKey();
const fernet = new Fernet(key);
for (const [label, size] of [
  ['100b', 100],
  ['4kib', 4096],
] as const) {
  const values = Array.from({ length: 64 }, () => randomBytes(size));
  const tokens = python({ op: 'tokens', key, values: values.map((v) => v.toString('hex')) }) as string[];
  // Ours reads Python's tokens: the same work on both sides, and a check that the bench measures real decryption.
  for (const [i, token] of tokens.entries()) if (!fernet.decryptBytes(token).equals(values[i]!)) throw new Error('a Python token did not decrypt to its value');
  const hex = values.map((v) => v.toString('hex'));
  for (const op of ['decrypt', 'encrypt'] as const) {
    const work = op === 'decrypt' ? (i: number) => fernet.decryptBytes(tokens[i % tokens.length]!) : (i: number) => fernet.encrypt(values[i % values.length]!);
    if (options.warmupSeconds > 0) {
      ours(work, Math.min(options.warmupSeconds, 1));
      python({ op, key, values: hex, tokens, seconds: Math.min(options.warmupSeconds, 1) });
    }
    const mine: number[] = [];
    const theirs: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      mine.push(ours(work, options.durationSeconds));
      theirs.push(python({ op, key, values: hex, tokens, seconds: options.durationSeconds }) as number);
    }
    printBenchLine({ metric: `fernet-${op}-${label}`, ours: median(mine), baseline: median(theirs), unit: 'ops/s' });
  }
}
