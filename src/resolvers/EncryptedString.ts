/**
 * The EncryptedString scalar: secret text (licence keys). Input is wrapped in a {@link Secret}
 * whatever it is (a refusal here would be quoted, value and all, in graphql-js's error message);
 * the service refuses what is not a usable string. Output is the decrypted value, and the
 * serializer refuses to emit anything shaped like a Fernet token: a resolver handing out the
 * stored form instead of the opened one is a bug, and it must fail closed, not leak the token.
 */
import { GraphQLScalarType, Kind } from 'graphql';
import { Secret } from '../crypto/secret.ts';

/** A Fernet token as stored: version 0x80 then a timestamp whose high bytes are 0 (`gAAAAA`), URL-safe base64 of ≥ 73 bytes. */
const FERNET_TOKEN = /^gAAAAA[A-Za-z0-9_-]{92,}={0,2}$/;

/** Whether `value` looks like a Fernet token (stored form) rather than a plain secret. */
export function looksLikeFernetToken(value: string): boolean {
  return FERNET_TOKEN.test(value.trim());
}

export const EncryptedString = new GraphQLScalarType<Secret, string>({
  name: 'EncryptedString',
  serialize(value) {
    if (typeof value !== 'string') throw new TypeError('EncryptedString: a resolver returned something other than the decrypted string');
    if (looksLikeFernetToken(value)) throw new TypeError('EncryptedString: refusing to send a Fernet token to a client');
    return value;
  },
  parseValue: (value) => Secret.of(value),
  parseLiteral: (ast) => Secret.of(ast.kind === Kind.STRING ? ast.value : undefined),
});
