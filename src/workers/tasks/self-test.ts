/**
 * Worker task `selfTest`: iterated SHA-256, a known amount of CPU work that proves the pool
 * serves. Plain data in, plain data out; imports only node built-ins.
 */
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';

export interface SelfTestInput {
  /** How many times to hash; each round hashes the previous digest. */
  readonly iterations: number;
}

export interface SelfTestOutput {
  readonly iterations: number;
  /** Hex SHA-256 after `iterations` rounds, starting from the bytes of "strongroom". */
  readonly digest: string;
  /** Time spent hashing inside the worker, in milliseconds. */
  readonly durationMs: number;
  /** The worker thread that ran it (0 when run on the main thread). */
  readonly threadId: number;
}

/** The computation itself, exported so a caller (a test, the benchmark's blocking baseline) can run it anywhere. */
export function iteratedSha256(iterations: number): string {
  let digest: Buffer = Buffer.from('strongroom', 'utf8');
  for (let i = 0; i < iterations; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex');
}

export default async function selfTest(input: SelfTestInput): Promise<SelfTestOutput> {
  const started = performance.now();
  const digest = iteratedSha256(input.iterations);
  return {
    iterations: input.iterations,
    digest,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    threadId,
  };
}
