import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodeUrlSafeBase64, Fernet, FernetError, type FernetReason, generateKey, MultiFernet } from '../../../src/crypto/fernet.ts';

const fixtures = path.join(import.meta.dirname, '../../fixtures/fernet-spec');
const load = <T>(name: string): T[] => JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as T[];
const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

interface Vector {
  desc?: string;
  token: string;
  now: string;
  iv?: number[];
  src?: string;
  ttl_sec?: number;
  secret: string;
}

/** The reason each of the spec's invalid tokens must be refused with. */
const EXPECTED: Record<string, FernetReason> = {
  'incorrect mac': 'BAD_MAC',
  'too short': 'TOO_SHORT',
  'invalid base64': 'BAD_BASE64',
  'payload size not multiple of block size': 'BAD_CIPHERTEXT_LENGTH',
  'payload padding error': 'BAD_PADDING',
  'far-future TS (unacceptable clock skew)': 'FUTURE_TIMESTAMP',
  'expired TTL': 'EXPIRED',
  'incorrect IV (causes padding error)': 'BAD_PADDING',
  'trailing characters after b64 padding': 'BAD_BASE64',
  'invalid characters in b64': 'BAD_BASE64',
  'invalid non-urlsafe characters in b64': 'BAD_BASE64',
};

function refusal(fn: () => unknown): FernetReason {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FernetError, `expected a FernetError, got ${String(err)}`);
    return err.reason;
  }
  assert.fail('expected a refusal');
}

const python = spawnSync('/usr/bin/python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
const hasPython = python.status === 0;

/** Runs a Python snippet with `cryptography` and returns its stdout (JSON in, JSON out). */
function py(code: string, input: unknown): unknown {
  const out = spawnSync(
    '/usr/bin/python3',
    ['-c', `import json, sys\nfrom cryptography.fernet import Fernet, MultiFernet\ni = json.load(sys.stdin)\n${code}`],
    {
      input: JSON.stringify(input),
      encoding: 'utf8',
    },
  );
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout);
}

describe('Fernet, against the specification vectors', () => {
  test('each generate.json vector is produced byte for byte from its key, time and IV', () => {
    for (const v of load<Vector>('generate.json')) {
      const token = new Fernet(v.secret).encrypt(v.src!, { now: seconds(v.now), iv: Buffer.from(v.iv!) });
      assert.equal(token, v.token);
    }
  });

  test('each verify.json vector decrypts to its source within its TTL', () => {
    for (const v of load<Vector>('verify.json')) {
      assert.equal(new Fernet(v.secret).decrypt(v.token, { ttlSeconds: v.ttl_sec, now: seconds(v.now) }), v.src);
    }
  });

  test('each invalid.json vector is refused with the reason its description names', () => {
    const vectors = load<Vector>('invalid.json');
    assert.equal(vectors.length, Object.keys(EXPECTED).length);
    for (const v of vectors) {
      const reason = refusal(() => new Fernet(v.secret).decrypt(v.token, { ttlSeconds: v.ttl_sec, now: seconds(v.now) }));
      assert.equal(reason, EXPECTED[v.desc!], v.desc);
    }
  });
});

describe('Fernet, malformed input', () => {
  const key = generateKey();
  const f = new Fernet(key);

  test('a token with another version byte is refused as BAD_VERSION', () => {
    const raw = decodeUrlSafeBase64(f.encrypt('x'))!;
    raw[0] = 0x81;
    assert.equal(
      refusal(() => f.decrypt(raw.toString('base64url'))),
      'BAD_VERSION',
    );
  });

  test('an empty token is refused as TOO_SHORT', () => {
    assert.equal(
      refusal(() => f.decrypt('')),
      'TOO_SHORT',
    );
  });

  test('a token is accepted with its base64 padding stripped', () => {
    assert.equal(f.decrypt(f.encrypt('hello').replace(/=+$/, '')), 'hello');
  });

  test('a token of another key is refused as BAD_MAC', () => {
    assert.equal(
      refusal(() => new Fernet(generateKey()).decrypt(f.encrypt('x'))),
      'BAD_MAC',
    );
  });

  test('a token up to 60 s in the future is accepted, and one further ahead is refused', () => {
    const now = 2_000_000_000;
    assert.equal(f.decrypt(f.encrypt('x', { now: now + 60 }), { now }), 'x');
    assert.equal(
      refusal(() => f.decrypt(f.encrypt('x', { now: now + 61 }), { now })),
      'FUTURE_TIMESTAMP',
    );
  });

  test('keys that are not 32 bytes of URL-safe base64 are refused as BAD_KEY', () => {
    for (const bad of ['', 'abc', Buffer.alloc(31).toString('base64url'), `${key.slice(0, -2)}+/`, Buffer.alloc(33).toString('base64url')]) {
      assert.equal(
        refusal(() => new Fernet(bad)),
        'BAD_KEY',
      );
    }
  });

  test('a refusal says nothing of the token or the key', () => {
    const token = f.encrypt('secret value');
    try {
      new Fernet(generateKey()).decrypt(token);
    } catch (err) {
      assert.doesNotMatch(String((err as Error).message), new RegExp(`${token.slice(0, 12)}|${key.slice(0, 12)}`));
    }
  });
});

describe('MultiFernet', () => {
  test('encrypts with the first key and decrypts tokens of any key in the list', () => {
    const [a, b] = [new Fernet(generateKey()), new Fernet(generateKey())];
    const multi = new MultiFernet([a, b]);
    assert.equal(a.decrypt(multi.encrypt('one')), 'one');
    assert.equal(multi.decrypt(b.encrypt('two')), 'two');
    assert.equal(
      refusal(() => multi.decrypt(new Fernet(generateKey()).encrypt('x'))),
      'BAD_MAC',
    );
  });

  test('rotate moves a token to the first key and keeps its timestamp', () => {
    const [a, b] = [new Fernet(generateKey()), new Fernet(generateKey())];
    const old = b.encrypt('value', { now: 1_700_000_000 });
    const rotated = new MultiFernet([a, b]).rotate(old);
    assert.equal(a.decrypt(rotated), 'value');
    assert.equal(a.open(rotated).timestamp, 1_700_000_000);
  });
});

describe('Fernet, with Python cryptography', { skip: hasPython ? false : '/usr/bin/python3 has no cryptography module' }, () => {
  const values = ['hello', '', 'ünïcødé ✓ 鍵', 'x'.repeat(4096)];

  test('tokens made here are decrypted by Python with the same key', () => {
    const key = generateKey();
    const tokens = values.map((v) => new Fernet(key).encrypt(v));
    const out = py('f = Fernet(i["key"].encode())\nprint(json.dumps([f.decrypt(t.encode()).decode() for t in i["tokens"]]))', { key, tokens });
    assert.deepEqual(out, values);
  });

  test('tokens and keys made by Python are read here', () => {
    const out = py(
      'k = Fernet.generate_key()\nf = Fernet(k)\nprint(json.dumps({"key": k.decode(), "tokens": [f.encrypt(v.encode()).decode() for v in i]}))',
      values,
    ) as {
      key: string;
      tokens: string[];
    };
    const f = new Fernet(out.key);
    assert.deepEqual(
      out.tokens.map((t) => f.decrypt(t)),
      values,
    );
  });

  test('a token rotated by Python MultiFernet is read here, and one rotated here is read by Python', () => {
    const [a, b] = [generateKey(), generateKey()];
    const fromPython = py('m = MultiFernet([Fernet(i["a"].encode()), Fernet(i["b"].encode())])\nprint(json.dumps(m.rotate(i["t"].encode()).decode()))', {
      a,
      b,
      t: new Fernet(b).encrypt('moved'),
    }) as string;
    assert.equal(new Fernet(a).decrypt(fromPython), 'moved');
    const rotated = new MultiFernet([new Fernet(a), new Fernet(b)]).rotate(new Fernet(b).encrypt('back'));
    assert.equal(py('print(json.dumps(Fernet(i["a"].encode()).decrypt(i["t"].encode()).decode()))', { a, t: rotated }), 'back');
  });
});
