/**
 * `validateLicence` with group commit. A licensed application checks its key often, and every
 * check must leave a licence event before it is answered. One statement per check would make the
 * database's commit the bottleneck; instead the checks that arrive within a short window
 * (`VALIDATE_BATCH_WINDOW_MS`, at most `VALIDATE_BATCH_MAX` of them) share one statement that
 * looks every key up by its blind index, judges each, and inserts their events: one round trip
 * and one commit for the whole batch. A statement outside a transaction commits before it
 * answers, so no caller hears back before its event is durable; if the statement fails, every
 * check in the batch fails with it, and none is answered as valid.
 *
 * The answer is signed (compact JWS, EdDSA, the keys `/.well-known/jwks.json` publishes), over
 * the result, the licence's unique id, the application asked for, the check time and the
 * caller's nonce, so an application can trust it across an untrusted network and keep it to
 * work offline, as Keygen's signed validation responses allow.
 */
import { sign as cryptoSign, KeyObject } from 'node:crypto';
import type { Pool } from 'pg';
import type { KeyStore } from '../auth/keys.ts';
import { SIGNING_ALG } from '../auth/keys.ts';

export type LicenceRefusal = 'UNKNOWN' | 'INACTIVE' | 'EXPIRED' | 'WRONG_APPLICATION';

/** One check, its strings already validated. */
export interface ValidationRequest {
  readonly application: string;
  /** Every blind index the key may be stored under (current first). */
  readonly indexes: readonly string[];
  readonly source: string;
  readonly nonce: string | null;
}

export interface ValidationResult {
  readonly valid: boolean;
  readonly reason: LicenceRefusal | null;
  readonly expiresAt: Date | null;
  readonly checkedAt: Date;
  readonly signature: string;
}

export interface ValidationSettings {
  readonly batchWindowMs: number;
  readonly batchMax: number;
  /** Batches written at once; the calls arriving meanwhile wait and form the next. */
  readonly batchConcurrency: number;
  /** `iss` of the signed answers. */
  readonly issuer: string;
}

/** The `typ` header of a signed answer, so that it can never pass for an access token (`at+jwt`). */
export const VALIDATION_TYP = 'licence-validation+jwt';

interface Pending {
  readonly request: ValidationRequest;
  resolve(result: ValidationResult): void;
  reject(err: unknown): void;
}

interface Judged {
  n: string;
  unique_id: string;
  expires_at: Date | null;
  reason: LicenceRefusal | null;
}

/**
 * Finds, judges and records a batch in one statement. `hits` picks one licence per check (a key
 * has one licence; during a blind-index rotation it may be found under either index); the
 * licence's own application goes in the event, as for every event; the check time is the batch's.
 */
const BATCH_SQL = `
with requests as (
  select * from unnest($3::text[], $4::text[]) with ordinality as r(application, source, n)
),
hits as (
  select distinct on (i.n) i.n, l.id, l.application, l.unique_id, l.active, l.expires_at
    from unnest($1::int8[], $2::text[]) as i(n, idx)
    join licensing.licences l on l.licence_key_index = i.idx
   order by i.n
),
judged as (
  select h.n, h.id, h.application, h.unique_id, h.expires_at, r.source,
         case when h.application <> r.application then 'WRONG_APPLICATION'
              when not h.active then 'INACTIVE'
              when h.expires_at is not null and h.expires_at <= $5 then 'EXPIRED' end as reason
    from hits h join requests r on r.n = h.n
),
recorded as (
  insert into licensing.licence_events (licence_id, application, source, kind, occurred_at)
  select id, application, source, case when reason is null then 'validated' else 'refused' end, $5 from judged
)
select n::text, unique_id, expires_at, reason from judged`;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

export interface Validator {
  validate(request: ValidationRequest): Promise<ValidationResult>;
  /** Waits for the batches under way. */
  drain(): Promise<void>;
}

export function createValidator(pool: Pool, keys: KeyStore, settings: ValidationSettings, now: () => Date): Validator {
  let queue: Pending[] = [];
  let timer: { cancel(): void } | undefined;
  const running = new Set<Promise<void>>();

  /** The signing key as a node KeyObject, converted once per key id. */
  const keyObjects = new Map<string, KeyObject>();
  async function signer(): Promise<{ kid: string; key: KeyObject }> {
    const { kid, key } = await keys.signingKey();
    let object = keyObjects.get(kid);
    if (!object) {
      object = KeyObject.from(key);
      keyObjects.set(kid, object);
    }
    return { kid, key: object };
  }

  /**
   * A compact JWS (RFC 7515) signed with Ed25519 (RFC 8037). Made here rather than with jose's
   * SignJWT: jose signs through WebCrypto, asynchronously, at ~110 µs a signature on this
   * machine, where node:crypto's one-shot sign takes ~38 µs — the largest cost of a validation.
   * The output is the same compact JWS; clients verify it with jose (the tests do).
   */
  function sign(signing: { kid: string; key: KeyObject }, request: ValidationRequest, judged: Judged | undefined, checkedAt: Date): ValidationResult {
    const reason = judged ? judged.reason : 'UNKNOWN';
    const expiresAt = judged?.expires_at ?? null;
    const header = { alg: SIGNING_ALG, kid: signing.kid, typ: VALIDATION_TYP };
    const payload = {
      iss: settings.issuer,
      iat: Math.floor(checkedAt.getTime() / 1000),
      valid: reason === null,
      reason,
      uniqueId: judged?.unique_id ?? null,
      application: request.application,
      expiresAt: expiresAt === null ? null : Math.floor(expiresAt.getTime() / 1000),
      nonce: request.nonce,
    };
    const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
    const signature = `${input}.${cryptoSign(null, Buffer.from(input, 'ascii'), signing.key).toString('base64url')}`;
    return { valid: reason === null, reason, expiresAt, checkedAt, signature };
  }

  async function run(batch: Pending[]): Promise<void> {
    try {
      const signing = await signer();
      const checkedAt = now();
      const ns: number[] = [];
      const indexes: string[] = [];
      batch.forEach((p, i) => {
        for (const idx of p.request.indexes) {
          ns.push(i + 1);
          indexes.push(idx);
        }
      });
      const { rows } = await pool.query<Judged>(BATCH_SQL, [
        ns,
        indexes,
        batch.map((p) => p.request.application),
        batch.map((p) => p.request.source),
        checkedAt,
      ]);
      const byN = new Map(rows.map((r) => [Number(r.n), r]));
      for (const [i, p] of batch.entries()) {
        try {
          p.resolve(sign(signing, p.request, byN.get(i + 1), checkedAt));
        } catch (err) {
          p.reject(err);
        }
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /**
   * Starts batches while fewer than `batchConcurrency` are being written. The calls that arrive
   * meanwhile wait in the queue and form the next batch as soon as one finishes: under load the
   * batches grow by themselves (group commit), and an idle server answers after the window.
   */
  function flush(): void {
    timer?.cancel();
    timer = undefined;
    while (queue.length > 0 && running.size < settings.batchConcurrency) {
      const batch = queue.slice(0, settings.batchMax);
      queue = queue.slice(batch.length);
      const done: Promise<void> = run(batch).finally(() => {
        running.delete(done);
        if (queue.length > 0) flush();
      });
      running.add(done);
    }
  }

  return {
    validate(request) {
      return new Promise<ValidationResult>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        if (queue.length >= settings.batchMax) {
          flush();
        } else if (!timer && running.size < settings.batchConcurrency) {
          // 0 ms still gathers the checks that arrive in the same turn of the event loop.
          if (settings.batchWindowMs > 0) {
            const t = setTimeout(flush, settings.batchWindowMs);
            timer = { cancel: () => clearTimeout(t) };
          } else {
            const t = setImmediate(flush);
            timer = { cancel: () => clearImmediate(t) };
          }
        }
      });
    },
    async drain() {
      while (queue.length > 0 || running.size > 0) {
        flush();
        await Promise.all(running);
      }
    },
  };
}
