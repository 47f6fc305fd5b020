/**
 * Password hashing: PBKDF2-HMAC-SHA512 (the Flask service's algorithm), with the parameters
 * in the stored string so that they can be raised later and old hashes upgraded at sign-in.
 *
 * Stored form: `pbkdf2-sha512$<iterations>$<salt, base64>$<hash, base64>`.
 * Hashing runs on libuv's thread pool (`crypto.pbkdf2`), never on the event loop.
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { COMMON_PASSWORDS } from './common-passwords.ts';

const pbkdf2Async = promisify(pbkdf2);

/** OWASP Password Storage Cheat Sheet (2023) minimum for PBKDF2-HMAC-SHA512. */
export const MIN_ITERATIONS = 210_000;
const ALGORITHM = 'pbkdf2-sha512';
const SALT_BYTES = 16;
const KEY_BYTES = 64;

/** NIST SP 800-63B §5.1.1.2: at least 8 characters, allow long passphrases, no composition rules. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export interface PasswordParameters {
  readonly iterations: number;
  /**
   * Runs each PBKDF2 job; a {@link createGate} limits how many run at once. Without one,
   * every concurrent sign-in takes a libuv thread, and WebCrypto (token signing and
   * verification) queues behind them on the same 4-thread pool — a light authenticated
   * query then waits seconds while sign-ins run.
   */
  readonly gate?: Gate;
}

/** Runs `job` when a slot is free. */
export type Gate = <T>(job: () => Promise<T>) => Promise<T>;

/** A gate letting at most `slots` jobs run at once; the rest wait in order (on the event loop, not on a thread). */
export function createGate(slots: number): Gate {
  if (!Number.isInteger(slots) || slots < 1) throw new TypeError('slots must be a positive integer');
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    if (running >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await job();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

const derive = (params: PasswordParameters, password: string, salt: Buffer, iterations: number, length: number) => {
  const job = () => pbkdf2Async(password.normalize('NFKC'), salt, iterations, length, 'sha512');
  return params.gate ? params.gate(job) : job();
};

interface Parsed {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function parse(stored: string): Parsed | undefined {
  const [algorithm, iterations, salt, hash, ...rest] = stored.split('$');
  if (algorithm !== ALGORITHM || rest.length > 0 || !iterations || !salt || !hash || !/^\d+$/.test(iterations)) return undefined;
  return { iterations: Number(iterations), salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

/** Hashes `password` with a fresh 16-byte salt. */
export async function hashPassword(password: string, params: PasswordParameters): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(params, password, salt, params.iterations, KEY_BYTES);
  return `${ALGORITHM}$${params.iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * Checks `password` against a stored hash in constant time. `needsRehash` is true when the
 * stored parameters are weaker than `current` (the caller stores a fresh hash).
 * An unreadable stored value never matches (and still costs one PBKDF2 run).
 */
export async function verifyPassword(password: string, stored: string, current: PasswordParameters): Promise<{ ok: boolean; needsRehash: boolean }> {
  const parsed = parse(stored);
  const p = parsed ?? { iterations: current.iterations, salt: Buffer.alloc(SALT_BYTES), hash: Buffer.alloc(KEY_BYTES) };
  const candidate = await derive(current, password, p.salt, p.iterations, p.hash.length || KEY_BYTES);
  const ok = parsed !== undefined && candidate.length === p.hash.length && timingSafeEqual(candidate, p.hash);
  return { ok, needsRehash: ok && p.iterations < current.iterations };
}

/**
 * A hash of nothing anyone knows, with the current parameters: sign-in checks unknown
 * emails against it so that they cost the same PBKDF2 run as a wrong password.
 */
export function dummyHash(params: PasswordParameters): Promise<string> {
  return hashPassword(randomBytes(32).toString('base64'), params);
}

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (COMMON_PASSWORDS.has(password.toLowerCase())) return 'This password is among the most common ones; choose another.';
  return undefined;
}
