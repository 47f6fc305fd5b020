/**
 * Fernet (https://github.com/fernet/spec/blob/master/Spec.md) on `node:crypto`.
 *
 * A token is `0x80 ‖ timestamp (64-bit big-endian seconds) ‖ IV (16 bytes) ‖ AES-128-CBC
 * ciphertext (PKCS#7) ‖ HMAC-SHA256 of everything before it`, in URL-safe base64. The 32-byte
 * key is a 16-byte signing key followed by a 16-byte encryption key. Tokens made here are
 * read by Python's `cryptography` Fernet and the reverse, with the same key.
 *
 * Why not the npm `fernet` package: it has been unmaintained for years, compares MACs with
 * `!==` on strings (a timing leak the spec warns about), pulls in crypto-js instead of
 * OpenSSL, and refuses malformed tokens without saying why. Here every refusal is a
 * {@link FernetError} whose `reason` names the malformation, and the MAC is compared with
 * `timingSafeEqual` before anything is decrypted.
 */
import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, createHash, createSecretKey, type Decipher, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';

/** Why a token or key was refused. */
export type FernetReason =
  | 'BAD_BASE64'
  | 'TOO_SHORT'
  | 'BAD_VERSION'
  | 'BAD_MAC'
  | 'BAD_CIPHERTEXT_LENGTH'
  | 'BAD_PADDING'
  | 'EXPIRED'
  | 'FUTURE_TIMESTAMP'
  | 'BAD_KEY';

/** A refused token or key. The message never contains token or key text. */
export class FernetError extends Error {
  readonly reason: FernetReason;
  constructor(reason: FernetReason) {
    super(`Fernet: ${reason.toLowerCase().replaceAll('_', ' ')}`);
    this.name = 'FernetError';
    this.reason = reason;
  }
}

/**
 * SHA-256 of `head ‖ tail`: one-shot `crypto.hash` (Node 20.12+, no object per call) for short
 * input, a Hash object fed both parts for long input (no copy into one buffer).
 */
function sha256(head: Buffer, tail: Buffer): Buffer {
  if (tail.length <= 1024 && typeof nodeCrypto.hash === 'function') return nodeCrypto.hash('sha256', Buffer.concat([head, tail]), 'buffer') as Buffer;
  return createHash('sha256').update(head).update(tail).digest();
}

const VERSION = 0x80;
const HEADER = 1 + 8 + 16;
const MAC_BYTES = 32;
const BLOCK = 16;
/** The spec's allowance for clocks that disagree: a token may be this far in the future. */
export const MAX_CLOCK_SKEW_SECONDS = 60;

/** The URL-safe alphabet, then at most two `=` (a flat character class: linear and quick in V8). */
const URLSAFE_BASE64 = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decodes strict URL-safe base64, padded correctly or not at all (the spec's tokens and keys
 * are padded; some tools strip it); anything else (another alphabet, stray characters, wrong
 * padding) is `null`. Node's decoder would skip such characters silently.
 */
export function decodeUrlSafeBase64(text: string): Buffer | null {
  if (!URLSAFE_BASE64.test(text)) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const end = text.length - padding;
  if (end % 4 === 1 || (padding > 0 && text.length % 4 !== 0)) return null;
  return Buffer.from(text, 'base64url');
}

/** URL-safe base64 with padding, as Python's `base64.urlsafe_b64encode` writes it. */
export function encodeUrlSafeBase64(bytes: Buffer): string {
  const text = bytes.toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

/** A fresh random key in Python's `Fernet.generate_key()` form (URL-safe base64 of 32 bytes). */
export function generateKey(): string {
  return encodeUrlSafeBase64(randomBytes(32));
}

export interface DecryptOptions {
  /** Refuse tokens older than this many seconds (`EXPIRED`). Without it, age is not checked. */
  readonly ttlSeconds?: number;
  /** The current time in seconds since the epoch; defaults to the clock (tests freeze it). */
  readonly now?: number;
}

/** One Fernet key. */
export class Fernet {
  // Speed (bench/fernet): making a node:crypto Hmac or Decipher object costs more than the
  // work itself on a short token. So HMAC is computed from its definition (RFC 2104) with two
  // one-shot hashes over the pre-XORed pads, and CBC decryption is one long-lived AES-ECB
  // decipher (stateless block by block) followed by the XOR with the previous ciphertext
  // block (NIST SP 800-38A §6.2). Both run only on tokens whose MAC already matched.
  readonly #innerPad: Buffer;
  readonly #outerPad: Buffer;
  readonly #encryptionKey: KeyObject;
  readonly #blockDecipher: Decipher;

  /** `key`: 32 raw bytes, or their URL-safe base64 (padded or not). Anything else: `FernetError('BAD_KEY')`. */
  constructor(key: string | Buffer) {
    const raw = typeof key === 'string' ? decodeUrlSafeBase64(key) : key;
    if (raw?.length !== 32) throw new FernetError('BAD_KEY');
    this.#innerPad = Buffer.alloc(64, 0x36);
    this.#outerPad = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < 16; i++) {
      this.#innerPad[i]! ^= raw[i]!;
      this.#outerPad[i]! ^= raw[i]!;
    }
    this.#encryptionKey = createSecretKey(Buffer.from(raw.subarray(16, 32)));
    this.#blockDecipher = createDecipheriv('aes-128-ecb', this.#encryptionKey, null).setAutoPadding(false);
  }

  /** Encrypts `data` (a string is taken as UTF-8). `now` and `iv` exist for the spec's fixed vectors. */
  encrypt(data: string | Buffer, at?: { readonly now?: number; readonly iv?: Buffer }): string {
    const iv = at?.iv ?? randomBytes(16);
    if (iv.length !== 16) throw new TypeError('iv must be 16 bytes');
    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv);
    const plaintext = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const header = Buffer.allocUnsafe(HEADER);
    header[0] = VERSION;
    header.writeBigUInt64BE(BigInt(Math.floor(at?.now ?? Date.now() / 1000)), 1);
    iv.copy(header, 9);
    const mac = this.#mac(Buffer.concat([header, ciphertext]));
    return encodeUrlSafeBase64(Buffer.concat([header, ciphertext, mac]));
  }

  /** Decrypts a token to its bytes, or throws a {@link FernetError} naming why it is refused. */
  decryptBytes(token: string, options: DecryptOptions = {}): Buffer {
    return this.open(token, options).plaintext;
  }

  /** Decrypts a token whose plaintext is UTF-8 text. */
  decrypt(token: string, options?: DecryptOptions): string {
    return this.decryptBytes(token, options).toString('utf8');
  }

  /** Decrypts a token to its plaintext and the timestamp (seconds) it carries. */
  open(token: string, options: DecryptOptions = {}): { plaintext: Buffer; timestamp: number } {
    const raw = decodeUrlSafeBase64(token);
    if (!raw) throw new FernetError('BAD_BASE64');
    if (raw.length < 1) throw new FernetError('TOO_SHORT');
    if (raw[0] !== VERSION) throw new FernetError('BAD_VERSION');
    if (raw.length < HEADER + MAC_BYTES) throw new FernetError('TOO_SHORT');
    const body = raw.subarray(0, raw.length - MAC_BYTES);
    const expected = this.#mac(body);
    if (!timingSafeEqual(expected, raw.subarray(raw.length - MAC_BYTES))) throw new FernetError('BAD_MAC');
    // Only an authentic token is looked at further: nothing an attacker can choose freely
    // (the timestamp, the padding) decides which refusal is given before the MAC is checked.
    const timestamp = Number(raw.readBigUInt64BE(1));
    const now = options.now ?? Math.floor(Date.now() / 1000);
    if (options.ttlSeconds !== undefined && timestamp + options.ttlSeconds < now) throw new FernetError('EXPIRED');
    if (timestamp > now + MAX_CLOCK_SKEW_SECONDS) throw new FernetError('FUTURE_TIMESTAMP');
    const ciphertext = body.subarray(HEADER);
    if (ciphertext.length === 0 || ciphertext.length % BLOCK !== 0) throw new FernetError('BAD_CIPHERTEXT_LENGTH');
    // CBC: P[i] = D(C[i]) XOR C[i-1], with C[-1] the IV, which sits right before the ciphertext.
    const plain = this.#blockDecipher.update(ciphertext);
    const previous = body.subarray(HEADER - 16, body.length - BLOCK);
    for (let i = 0; i < plain.length; i++) plain[i]! ^= previous[i]!;
    // PKCS#7: the last byte n (1–16) says how many bytes of value n end the plaintext.
    const n = plain[plain.length - 1]!;
    if (n < 1 || n > BLOCK) throw new FernetError('BAD_PADDING');
    for (let i = plain.length - n; i < plain.length; i++) if (plain[i] !== n) throw new FernetError('BAD_PADDING');
    return { plaintext: plain.subarray(0, plain.length - n), timestamp };
  }

  /** HMAC-SHA256 under the signing key: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)). */
  #mac(message: Buffer): Buffer {
    return sha256(this.#outerPad, sha256(this.#innerPad, message));
  }
}

/**
 * Several keys, as Python's `MultiFernet`: encrypts with the first, decrypts with each in
 * turn. A token no key authenticates is refused with the first key's reason unless a later
 * key got further (a MAC that matched but a bad padding or age is the more telling reason).
 */
export class MultiFernet {
  readonly #keys: readonly Fernet[];

  constructor(keys: readonly Fernet[]) {
    if (keys.length === 0) throw new TypeError('MultiFernet needs at least one key');
    this.#keys = keys;
  }

  encrypt(data: string | Buffer): string {
    return this.#keys[0]!.encrypt(data);
  }

  decryptBytes(token: string, options?: DecryptOptions): Buffer {
    return this.open(token, options).plaintext;
  }

  /** Decrypts with the first key that authenticates the token; see {@link Fernet.open}. */
  open(token: string, options?: DecryptOptions): { plaintext: Buffer; timestamp: number } {
    let refusal: FernetError | undefined;
    for (const key of this.#keys) {
      try {
        return key.open(token, options);
      } catch (err) {
        if (!(err instanceof FernetError)) throw err;
        if (!refusal || refusal.reason === 'BAD_MAC') refusal = err;
      }
    }
    throw refusal!;
  }

  decrypt(token: string, options?: DecryptOptions): string {
    return this.decryptBytes(token, options).toString('utf8');
  }

  /** Re-encrypts a token under the first key with a fresh IV, keeping its timestamp, as Python's `MultiFernet.rotate`. */
  rotate(token: string): string {
    const { plaintext, timestamp } = this.open(token, { now: Number.MAX_SAFE_INTEGER });
    return this.#keys[0]!.encrypt(plaintext, { now: timestamp });
  }
}
