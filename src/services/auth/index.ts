/**
 * The auth service: users, sign-in with a second step from new IPs and devices, sessions,
 * tokens and signing keys, TOTP and recovery codes, rate limits and the audit log.
 * Resolvers call it; it is the only code that touches the auth database's tables.
 */
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Config } from '../../config.ts';
import { createGate, dummyHash } from '../../crypto/passwords.ts';
import { ForbiddenError, UnauthenticatedError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { MailTransport } from '../../mail/transport.ts';
import { createAuditLog } from './audit.ts';
import { ANONYMOUS, type Caller } from './caller.ts';
import { createKeyStore } from './keys.ts';
import { createRateLimits, type RateLimits } from './rate-limits.ts';
import { createSessions } from './sessions.ts';
import { createSignIn, type SignInRequest } from './sign-in.ts';
import { createTokenIssuer, InvalidTokenError, type Role } from './tokens.ts';
import { createTotp } from './totp.ts';
import { createUserStore, type UserRow } from './users.ts';

export type { Caller } from './caller.ts';

export interface AuthDeps {
  readonly config: Config;
  readonly db: NodePgDatabase;
  readonly logger: Logger;
  readonly mail: MailTransport;
  readonly now: () => Date;
  /** Rate limits; built from config when not given. */
  readonly limits?: RateLimits;
}

export interface UserView {
  readonly id: string;
  readonly email: string;
  readonly username: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly totpEnabled: boolean;
  readonly createdAt: Date;
}

const toView = (u: UserRow): UserView => ({
  id: u.id,
  email: u.email,
  username: u.username,
  role: u.role,
  disabled: u.disabled,
  totpEnabled: u.totpSecret !== null,
  createdAt: u.createdAt,
});

export function createAuthService(deps: AuthDeps) {
  const { config, db, logger, now } = deps;
  const password = { iterations: config.passwordIterations, gate: createGate(config.passwordHashConcurrency) };
  const audit = createAuditLog(db, now);
  const keys = createKeyStore(db, {
    rotationDays: config.signingKeyRotationDays,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    cacheSeconds: config.signingKeyCacheSeconds,
    now,
  });
  const tokens = createTokenIssuer(keys, { issuer: config.jwtIssuer, audience: config.jwtAudience, accessTokenTtlSeconds: config.accessTokenTtlSeconds, now });
  const sessions = createSessions(db, tokens, audit, { sessionTtlDays: config.sessionTtlDays, now });
  const users = createUserStore(db, password);
  const totp = createTotp(db, { issuer: config.totpIssuer, now });
  const limits =
    deps.limits ??
    createRateLimits({
      windowSeconds: config.rateLimitWindowSeconds,
      signInPerEmailIp: config.rateLimitSignInPerEmailIp,
      signInPerIp: config.rateLimitSignInPerIp,
      verifyPerUser: config.rateLimitVerifyPerUser,
      resendPerChallenge: config.rateLimitResendPerChallenge,
      redisUrl: config.redisUrl,
    });
  // Made once at start, so the first unknown email costs what every later one does.
  const dummy = dummyHash(password);
  const signIn = createSignIn(
    {
      password,
      codeLength: config.signInCodeLength,
      codeTtlSeconds: config.signInCodeTtlSeconds,
      maxAttempts: config.signInCodeMaxAttempts,
      rememberDeviceDays: config.rememberDeviceDays,
    },
    {
      db,
      users,
      sessions,
      totp,
      audit,
      limits,
      mail: deps.mail,
      logger,
      now,
      dummyHash: dummy,
    },
  );

  const signedIn = (caller: Caller) => {
    if (caller.kind !== 'user') throw new UnauthenticatedError(caller.kind === 'invalid' ? `Sign in again: ${caller.reason}.` : undefined);
    return caller;
  };
  const userOf = async (caller: Caller) => {
    const user = await users.findById(signedIn(caller).userId);
    if (!user) throw new UnauthenticatedError();
    return user;
  };

  return {
    now,
    keys,
    limits,

    /** Resolves the caller from an `Authorization` header; never throws (the directives do). */
    async resolveCaller(authorization: string | undefined): Promise<Caller> {
      if (!authorization) return ANONYMOUS;
      const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
      if (!m) return { kind: 'invalid', reason: 'the Authorization header is not "Bearer <token>"' };
      try {
        const claims = await tokens.verifyAccessToken(m[1]!);
        if (!(await sessions.isActive(claims.sessionId))) return { kind: 'invalid', reason: 'the session has ended' };
        return { kind: 'user', userId: claims.userId, role: claims.role, sessionId: claims.sessionId, secondFactorAt: claims.secondFactorAt, checkedAt: now() };
      } catch (err) {
        if (err instanceof InvalidTokenError) return { kind: 'invalid', reason: err.reason };
        throw err;
      }
    },

    signIn: (req: SignInRequest) => signIn.signIn(req),
    verifySignIn: (challengeId: string, code: string, rememberDevice: boolean, ip: string) => signIn.verify(challengeId, code, rememberDevice, ip),
    resendSignInCode: (challengeId: string) => signIn.resend(challengeId),
    startStepUp(caller: Caller, ip: string) {
      const c = signedIn(caller);
      return signIn.startStepUp(c.userId, c.sessionId, ip);
    },
    refreshSession: (refreshToken: string, ip: string) => sessions.refresh(refreshToken, ip),
    async signOut(caller: Caller, ip: string): Promise<void> {
      const c = signedIn(caller);
      await sessions.revoke(c.sessionId, 'SIGNED_OUT');
      await audit.record({ event: 'SIGNED_OUT', userId: c.userId, ip, detail: { sessionId: c.sessionId } });
    },

    async me(caller: Caller): Promise<UserView> {
      return toView(await userOf(caller));
    },
    async createUser(caller: Caller, input: { email: string; username: string; password: string; role: Role }, ip: string): Promise<UserView> {
      const user = await users.create(input);
      await audit.record({
        event: 'USER_CREATED',
        userId: user.id,
        email: user.email,
        ip,
        detail: { role: user.role, by: caller.kind === 'user' ? caller.userId : 'self' },
      });
      return toView(user);
    },
    async signUp(input: { email: string; username: string; password: string }, ip: string): Promise<UserView> {
      if (!config.signupEnabled) throw new ForbiddenError('Self sign-up is turned off; ask an admin for an account.');
      return this.createUser(ANONYMOUS, { ...input, role: 'USER' }, ip);
    },
    async bootstrapAdmin() {
      return users.bootstrapAdmin(config.adminEmail, config.adminPassword, config.nodeEnv === 'development');
    },

    async enrollTotp(caller: Caller) {
      return totp.enroll(await userOf(caller));
    },
    async confirmTotp(caller: Caller, code: string, ip: string): Promise<string[]> {
      const user = await userOf(caller);
      await limits.consume('verifyPerUser', user.id);
      const codes = await totp.confirm(user, code);
      await audit.record({ event: 'TOTP_ENROLLED', userId: user.id, email: user.email, ip });
      return codes;
    },
    recoveryCodesLeft: (userId: string) => totp.recoveryCodesLeft(userId),

    auditLog: (first: number, after: string | null) => audit.page(first, after),
    jwks: () => keys.jwks(),

    async close(): Promise<void> {
      await limits.close();
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
