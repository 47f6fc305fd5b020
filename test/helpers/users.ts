/**
 * Users for tests, made through the real service, and sign-in through the real flow:
 * `await aUser(s).withRole('ADMIN').create()`, then `await signInVerified(s, mail, user)`.
 * `gqlFrom(url, '127.0.0.2', …)` sends from another loopback address, a real new IP.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { systemCaller } from '../../src/services/auth/caller.ts';
import type { UserView } from '../../src/services/auth/index.ts';
import type { Role } from '../../src/services/auth/tokens.ts';
import type { GqlResponse, TestServer } from './server.ts';
import type { TestMailServer } from './smtp.ts';

export interface TestUser extends UserView {
  readonly password: string;
}

export function aUser(s: TestServer) {
  const id = randomUUID().slice(0, 8);
  let role: Role = 'USER';
  let password = `correct horse ${id}`;
  let email = `user-${id}@example.test`;
  const builder = {
    withRole(r: Role) {
      role = r;
      return builder;
    },
    withPassword(p: string) {
      password = p;
      return builder;
    },
    withEmail(e: string) {
      email = e;
      return builder;
    },
    async create(): Promise<TestUser> {
      const user = await s.server.services.auth.createUser(systemCaller('test builder'), { email, username: `user-${id}`, password, role }, '127.0.0.1');
      return { ...user, password };
    },
  };
  return builder;
}

/** POST /graphql from `localAddress` (127.0.0.1 or 127.0.0.2), with an optional bearer token. */
export function gqlFrom<T = Record<string, unknown>>(
  url: string,
  localAddress: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResponse<T>> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/graphql`,
      {
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as GqlResponse<T>['body'] });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const SIGN_IN = `mutation SignIn($email: String!, $password: String!, $deviceId: String!, $deviceLabel: String) {
  signIn(email: $email, password: $password, deviceId: $deviceId, deviceLabel: $deviceLabel) {
    tokens { accessToken accessTokenExpiresAt refreshToken secondFactorVerified }
    challenge { id reason channels expiresAt delivery }
  }
}`;

export const VERIFY = `mutation Verify($challengeId: ID!, $code: String!, $rememberDevice: Boolean) {
  verifySignIn(challengeId: $challengeId, code: $code, rememberDevice: $rememberDevice) {
    accessToken accessTokenExpiresAt refreshToken secondFactorVerified
  }
}`;

export interface Tokens {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string | null;
  secondFactorVerified: boolean;
}

export interface Challenge {
  id: string;
  reason: string;
  channels: string[];
  expiresAt: string;
  delivery: string;
}

export type SignInResult = GqlResponse<{ signIn: { tokens: Tokens; challenge: Challenge | null } }>;

export interface Origin {
  readonly ip?: string;
  readonly deviceId?: string;
  readonly deviceLabel?: string;
}

export function signIn(s: TestServer, user: { email: string; password: string }, origin: Origin = {}): Promise<SignInResult> {
  return gqlFrom(s.url, origin.ip ?? '127.0.0.1', SIGN_IN, {
    email: user.email,
    password: user.password,
    deviceId: origin.deviceId ?? 'test-device',
    deviceLabel: origin.deviceLabel ?? 'Test device',
  });
}

/**
 * Headers for a new USER signed in from a new device: only the first step, so the access
 * token works on `@auth` fields (not `@twoFactor` ones). The code mail goes wherever the
 * server sends mail (give it a temporary DATA_DIR or an SMTP_URL).
 */
export async function signedInHeaders(s: TestServer): Promise<Record<string, string>> {
  const res = await signIn(s, await aUser(s).create());
  const token = res.body.data?.signIn.tokens.accessToken;
  if (!token) throw new Error(`sign-in failed: ${JSON.stringify(res.body.errors)}`);
  return bearer(token);
}

/** Signs in and, when challenged, reads the code from the mail server and verifies it. */
export async function signInVerified(s: TestServer, mail: TestMailServer, user: { email: string; password: string }, origin: Origin = {}): Promise<Tokens> {
  const res = await signIn(s, user, origin);
  const payload = res.body.data?.signIn;
  if (!payload) throw new Error(`sign-in failed: ${JSON.stringify(res.body.errors)}`);
  if (!payload.challenge) return payload.tokens;
  const code = await mail.code(user.email);
  const verified = await gqlFrom<{ verifySignIn: Tokens }>(s.url, origin.ip ?? '127.0.0.1', VERIFY, { challengeId: payload.challenge.id, code });
  if (!verified.body.data) throw new Error(`verification failed: ${JSON.stringify(verified.body.errors)}`);
  return verified.body.data.verifySignIn;
}
