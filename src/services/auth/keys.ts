/**
 * Token signing keys, kept in the auth database so that every API process signs and
 * verifies with the same ones. The newest key signs; when it is older than the rotation
 * period a new one takes over, and a retired key keeps verifying (and stays in the JWKS)
 * until every access token it signed has expired.
 *
 * The private JWK is stored sealed by the {@link FieldCipher} (a Fernet token of its JSON and
 * the data key's id) and opened once per key and process, when it first signs; a private key
 * that does not open stops signing with DECRYPTION_FAILED rather than being used as stored.
 */
import { randomUUID } from 'node:crypto';
import { and, desc, gt, isNull, ne, or, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import { signingKeys } from '../../db/schema/auth.ts';

/** The one signing algorithm: Ed25519 (RFC 8037). Verification accepts nothing else. */
export const SIGNING_ALG = 'EdDSA';

export interface SigningKey {
  readonly kid: string;
  readonly key: CryptoKey;
}

export interface KeyStore {
  /** The key that signs now; creates or rotates one when due. */
  signingKey(): Promise<SigningKey>;
  /** The public key for `kid`, or undefined when it is unknown or no longer valid. */
  verificationKey(kid: string): Promise<CryptoKey | undefined>;
  /** Public keys for `GET /.well-known/jwks.json`. */
  jwks(): Promise<{ keys: JWK[] }>;
  /** Makes a new key the signing key at once (the old ones keep verifying). */
  rotate(): Promise<SigningKey>;
}

export interface KeyStoreOptions {
  readonly rotationDays: number;
  readonly accessTokenTtlSeconds: number;
  /** How long the key list read from the database is trusted (another process's rotation shows within this). */
  readonly cacheSeconds: number;
  readonly now: () => Date;
  /** Seals private keys as they are made and opens them to sign. */
  readonly cipher: FieldCipher;
}

interface Row {
  kid: string;
  publicJwk: JWK;
  privateJwk: string;
  privateJwkKeyId: string | null;
  createdAt: Date;
  retiredAt: Date | null;
}

/** An unknown `kid` re-reads the list at most this often, so forged kids cannot flood the database. */
const MISS_RELOAD_MS = 5_000;

export function createKeyStore(db: NodePgDatabase, options: KeyStoreOptions): KeyStore {
  const { now } = options;
  let rows: Row[] = [];
  /** The clock's time of the last read; the injected clock, so tests move it rather than wait. */
  let loadedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<Row[]> | undefined;
  let missReloadAt = Number.NEGATIVE_INFINITY;
  const imported = new Map<string, Promise<CryptoKey>>();

  /** The imported key, made once per cache key; `jwk` is called only then (a private one is decrypted once per process). */
  const importKey = (cacheKey: string, jwk: () => JWK) => {
    let key = imported.get(cacheKey);
    if (!key) {
      key = importJWK(jwk(), SIGNING_ALG) as Promise<CryptoKey>;
      imported.set(cacheKey, key);
    }
    return key;
  };

  /** Keys still valid for verification at `at`: never retired, or retired less than one token lifetime ago. */
  const cutoff = (at: Date) => new Date(at.getTime() - options.accessTokenTtlSeconds * 1000);
  const live = (at: Date) => or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, cutoff(at)));
  const verifies = (row: Row, at: Date) => row.retiredAt === null || row.retiredAt.getTime() > cutoff(at).getTime();

  /** Reads the list; concurrent callers share one query. */
  function load(): Promise<Row[]> {
    loading ??= (async () => {
      try {
        const at = now();
        rows = (await db.select().from(signingKeys).where(live(at)).orderBy(desc(signingKeys.createdAt))) as Row[];
        loadedAt = at.getTime();
        return rows;
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  }

  /** The cached list while it is younger than `cacheSeconds` (by the clock, either way), else a fresh read. */
  function cached(): Promise<Row[]> | Row[] {
    const age = now().getTime() - loadedAt;
    return age >= 0 && age < options.cacheSeconds * 1000 ? rows : load();
  }

  async function create(): Promise<void> {
    await db.transaction(async (tx) => {
      // Several API processes may notice at once that rotation is due; they take turns here.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('strongroom:signing-key'))`);
      const kid = randomUUID();
      const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
      const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
      const at = now();
      const sealed = options.cipher.seal(JSON.stringify(await exportJWK(privateKey)));
      await tx.insert(signingKeys).values({
        kid,
        alg: SIGNING_ALG,
        publicJwk,
        privateJwk: sealed.token,
        privateJwkKeyId: sealed.keyId,
        createdAt: at,
      });
      await tx
        .update(signingKeys)
        .set({ retiredAt: at })
        .where(and(isNull(signingKeys.retiredAt), ne(signingKeys.kid, kid)));
    });
  }

  const current = (list: Row[]) => list.find((r) => r.retiredAt === null);
  const due = (row: Row | undefined) => row === undefined || now().getTime() - row.createdAt.getTime() >= options.rotationDays * 86_400_000;

  async function signingKey(): Promise<SigningKey> {
    let list = await cached();
    if (due(current(list))) {
      list = await load(); // another process may have rotated already
      if (due(current(list))) {
        await create();
        list = await load();
      }
    }
    const row = current(list);
    if (!row) throw new Error('no signing key after creating one');
    return {
      kid: row.kid,
      key: await importKey(`private:${row.kid}`, () => JSON.parse(options.cipher.open({ token: row.privateJwk, keyId: row.privateJwkKeyId })) as JWK),
    };
  }

  return {
    signingKey,
    async verificationKey(kid) {
      let row = rows.find((r) => r.kid === kid);
      if (!row && performance.now() - missReloadAt > MISS_RELOAD_MS) {
        missReloadAt = performance.now();
        row = (await load()).find((r) => r.kid === kid);
      }
      if (!row || !verifies(row, now())) return undefined;
      return importKey(`public:${row.kid}`, () => row.publicJwk);
    },
    async jwks() {
      // Served from the cache: a rotation here re-reads it at once, another process's shows within cacheSeconds.
      const at = now();
      return { keys: (await cached()).filter((r) => verifies(r, at)).map((r) => r.publicJwk) };
    },
    async rotate() {
      await create();
      await load();
      return signingKey();
    },
  };
}
