/**
 * The auth service: users, sign-in with a second step from new IPs and devices, sessions,
 * tokens and signing keys, TOTP and recovery codes, rate limits and the audit log.
 * Resolvers call it; it is the only code that touches the auth database's tables.
 *
 * Every entry point that needs a signed-in caller or a role checks it itself
 * (permissions.ts), whoever calls it: the schema directives check first for GraphQL, and a
 * CLI or worker passes {@link systemCaller}. Every flow that writes several rows writes them
 * in one transaction (stores.ts) and mails only after it has committed (mailer.ts).
 */
import { randomBytes } from 'node:crypto';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Config } from '../../config.ts';
import type { FieldCipher } from '../../crypto/field-cipher.ts';
import { createGate, dummyHash, hashPassword } from '../../crypto/passwords.ts';
import { ForbiddenError, UnauthenticatedError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { MailTransport } from '../../mail/transport.ts';
import type { AuditPage } from './audit.ts';
import { ANONYMOUS, type Caller, systemCaller } from './caller.ts';
import { createKeyStore } from './keys.ts';
import { createMailer } from './mailer.ts';
import { requireRole, requireSecondFactor, requireUser } from './permissions.ts';
import { createRateLimits, type RateLimits } from './rate-limits.ts';
import { createSecondFactor } from './second-factor.ts';
import { channelsFor, type Channel, type ChallengeView, createSecondStep } from './second-step.ts';
import { issueTokens, type Tokens } from './sessions.ts';
import { createSignIn, type SignInRequest } from './sign-in.ts';
import { createUnitOfWork } from './stores.ts';
import { createTokenIssuer, InvalidTokenError, type Role } from './tokens.ts';
import type { TotpEnrollment } from './totp.ts';
import { takenField, validateNewUser, type NewUser, type UserRow } from './users.ts';

export type { Caller } from './caller.ts';

export interface AuthDeps {
  readonly config: Config;
  readonly db: NodePgDatabase;
  readonly logger: Logger;
  readonly mail: MailTransport;
  readonly now: () => Date;
  /** The keyring's field cipher: TOTP secrets and signing keys are sealed with it, codes hashed under it. */
  readonly cipher: FieldCipher;
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
  readonly emailCodesEnabled: boolean;
  readonly createdAt: Date;
}

const toView = (u: UserRow): UserView => ({
  id: u.id,
  email: u.email,
  username: u.username,
  role: u.role,
  disabled: u.disabled,
  totpEnabled: u.totpSecret !== null,
  emailCodesEnabled: u.emailCodesEnabled || u.totpSecret === null,
  createdAt: u.createdAt,
});

/** The rate limits `config` describes. */
export function rateLimitsFrom(config: Config): RateLimits {
  return createRateLimits({
    windowSeconds: config.rateLimitWindowSeconds,
    signInPerEmailIp: config.rateLimitSignInPerEmailIp,
    signInPerIp: config.rateLimitSignInPerIp,
    verifyPerUser: config.rateLimitVerifyPerUser,
    resendPerChallenge: config.rateLimitResendPerChallenge,
    accountFailures: config.rateLimitAccountFailures,
    accountLockSeconds: config.rateLimitAccountLockSeconds,
    accountLockMaxSeconds: config.rateLimitAccountLockMaxSeconds,
    accountWindowSeconds: config.rateLimitAccountWindowSeconds,
    validatePerIp: config.rateLimitValidatePerIp,
    validateWindowSeconds: config.rateLimitValidateWindowSeconds,
    redisUrl: config.redisUrl,
  });
}

export function createAuthService(deps: AuthDeps) {
  const { config, db, logger, now, cipher } = deps;
  const password = { iterations: config.passwordIterations, gate: createGate(config.passwordHashConcurrency) };
  const uow = createUnitOfWork(db, { sessionTtlDays: config.sessionTtlDays, rememberDeviceDays: config.rememberDeviceDays, now, cipher });
  const keys = createKeyStore(db, {
    rotationDays: config.signingKeyRotationDays,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    cacheSeconds: config.signingKeyCacheSeconds,
    now,
    cipher,
  });
  const tokens = createTokenIssuer(keys, { issuer: config.jwtIssuer, audience: config.jwtAudience, accessTokenTtlSeconds: config.accessTokenTtlSeconds, now });
  const limits = deps.limits ?? rateLimitsFrom(config);
  const mailer = createMailer(deps.mail, logger);
  const secondStep = createSecondStep(
    { codeLength: config.signInCodeLength, codeTtlSeconds: config.signInCodeTtlSeconds, maxAttempts: config.signInCodeMaxAttempts },
    { uow, tokens, limits, mailer, now, cipher },
  );
  // Made once at start, so the first unknown email costs what every later one does.
  const signIn = createSignIn({ password, uow, tokens, limits, secondStep, dummyHash: dummyHash(password) });
  const secondFactor = createSecondFactor({ totpIssuer: config.totpIssuer, uow, limits, mailer, now });

  const userOf = async (caller: Caller): Promise<UserRow> => {
    const user = await uow.direct.users.findById(requireUser(caller).userId);
    if (!user) throw new UnauthenticatedError();
    return user;
  };

  /** Creates a user and its audit row together (the password is hashed first, outside the transaction). */
  async function create(caller: Caller, input: NewUser, ip: string | null): Promise<UserRow> {
    const email = validateNewUser(input);
    const passwordHash = await hashPassword(input.password, password);
    try {
      return await uow.transaction(async (s) => {
        const user = await s.users.insert({ email, username: input.username, role: input.role, passwordHash });
        await s.audit.record({
          event: 'USER_CREATED',
          userId: user.id,
          email: user.email,
          ip,
          detail: { role: user.role, by: caller.kind === 'user' ? caller.userId : caller.kind === 'system' ? caller.purpose : 'self' },
        });
        return user;
      });
    } catch (err) {
      throw takenField(err) ?? err;
    }
  }

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
        if (!(await uow.direct.sessions.isActive(claims.sessionId))) return { kind: 'invalid', reason: 'the session has ended' };
        return {
          kind: 'user',
          userId: claims.userId,
          role: claims.role,
          sessionId: claims.sessionId,
          secondFactorAt: claims.secondFactorAt,
          secondFactorChannel: claims.secondFactorChannel,
          checkedAt: now(),
        };
      } catch (err) {
        if (err instanceof InvalidTokenError) return { kind: 'invalid', reason: err.reason };
        throw err;
      }
    },

    // --- public: the credentials are the arguments ---
    signIn: (req: SignInRequest) => signIn.signIn(req),
    verifySignIn: (challengeId: string, code: string, rememberDevice: boolean, ip: string): Promise<Tokens> =>
      secondStep.verify(challengeId, code, rememberDevice, ip),
    resendSignInCode: (challengeId: string): Promise<ChallengeView> => secondStep.resend(challengeId),

    /** Spends a refresh token and returns new tokens, in one transaction; a reused one revokes its session (committed, then UNAUTHENTICATED). */
    async refreshSession(refreshToken: string, ip: string): Promise<Tokens> {
      const signer = await tokens.signer();
      const outcome = await uow.transaction(async (s) => {
        const sessionId = await s.sessions.spendRefreshToken(refreshToken);
        if (sessionId === undefined) {
          const reusedIn = await s.sessions.sessionOfRefreshToken(refreshToken);
          if (reusedIn === undefined) return { kind: 'unknown' as const };
          const session = await s.sessions.withUser(reusedIn);
          await s.sessions.revoke(reusedIn, 'REFRESH_REUSE');
          await s.audit.record({ event: 'REFRESH_REUSE_DETECTED', userId: session?.session.userId, ip, detail: { sessionId: reusedIn } });
          return { kind: 'reused' as const };
        }
        const row = await s.sessions.withUser(sessionId);
        if (!row || row.session.revokedAt !== null || row.disabled || row.session.expiresAt.getTime() <= now().getTime()) return { kind: 'ended' as const };
        const next = await s.sessions.newRefreshToken(sessionId);
        return { kind: 'ok' as const, tokens: await issueTokens(signer, row.session, row.role, next) };
      });
      switch (outcome.kind) {
        case 'ok':
          return outcome.tokens;
        case 'reused':
          throw new UnauthenticatedError('This refresh token was already used; the session has been revoked. Sign in again.');
        case 'ended':
          throw new UnauthenticatedError('This session has ended. Sign in again.');
        case 'unknown':
          throw new UnauthenticatedError('This refresh token is not valid. Sign in again.');
      }
    },

    // --- a signed-in caller ---
    async startStepUp(caller: Caller, ip: string): Promise<ChallengeView> {
      const user = await userOf(caller);
      return secondStep.startStepUp(user, requireUser(caller).sessionId, ip);
    },
    /** Ends the caller's session with its audit row; the session's pending challenges die with it. */
    async signOut(caller: Caller, ip: string): Promise<void> {
      const c = requireUser(caller);
      await uow.transaction(async (s) => {
        if (await s.sessions.revoke(c.sessionId, 'SIGNED_OUT')) {
          await s.audit.record({ event: 'SIGNED_OUT', userId: c.userId, ip, detail: { sessionId: c.sessionId } });
        }
      });
    },
    async me(caller: Caller): Promise<UserView> {
      return toView(await userOf(caller));
    },
    /** The channels a challenge offers the user: the caller's own, or anyone's for an admin (after the second step). */
    async secondFactorChannels(caller: Caller, userId: string): Promise<Channel[]> {
      requireSecondFactor(caller);
      if (caller.kind !== 'user' || caller.userId !== userId) requireRole(caller, 'ADMIN');
      const user = await uow.direct.users.findById(userId);
      return user ? channelsFor(user, await uow.direct.totp.recoveryCodesLeft(userId)) : [];
    },
    /** Unused recovery codes: the caller's own, or anyone's for an admin (after the second step). */
    async recoveryCodesLeft(caller: Caller, userId: string): Promise<number> {
      requireSecondFactor(caller);
      if (caller.kind !== 'user' || caller.userId !== userId) requireRole(caller, 'ADMIN');
      return uow.direct.totp.recoveryCodesLeft(userId);
    },

    // --- the second factor itself: the strongest factor, recently (second-factor.ts) ---
    async enrollTotp(caller: Caller): Promise<TotpEnrollment> {
      return secondFactor.enrollTotp(requireUser(caller));
    },
    async confirmTotp(caller: Caller, code: string, ip: string): Promise<string[]> {
      return secondFactor.confirmTotp(requireUser(caller), code, ip);
    },
    async regenerateRecoveryCodes(caller: Caller, ip: string): Promise<string[]> {
      return secondFactor.regenerateRecoveryCodes(requireUser(caller), ip);
    },
    async setEmailCodes(caller: Caller, enabled: boolean, ip: string): Promise<UserView> {
      return toView(await secondFactor.setEmailCodes(requireUser(caller), enabled, ip));
    },

    // --- admins ---
    /** Creates an account: admins after a second step within the hour (as the schema asks), or a system caller. */
    async createUser(caller: Caller, input: NewUser, ip: string): Promise<UserView> {
      requireRole(caller, 'ADMIN');
      requireSecondFactor(caller, 3600);
      return toView(await create(caller, input, ip));
    },
    async auditLog(caller: Caller, first: number, after: string | null): Promise<AuditPage> {
      requireRole(caller, 'ADMIN');
      requireSecondFactor(caller);
      return uow.direct.audit.page(first, after);
    },

    // --- anyone, when configured ---
    async signUp(input: { email: string; username: string; password: string }, ip: string): Promise<UserView> {
      if (!config.signupEnabled) throw new ForbiddenError('Self sign-up is turned off; ask an admin for an account.');
      return toView(await create(ANONYMOUS, { ...input, role: 'USER' }, ip));
    },
    /**
     * Creates the first admin when there is none: from ADMIN_EMAIL / ADMIN_PASSWORD, or in
     * development with a random password returned for printing once.
     */
    async bootstrapAdmin() {
      if (await uow.direct.users.anyAdmin()) return { outcome: 'exists' as const };
      const generatedAllowed = config.nodeEnv === 'development';
      if (!config.adminEmail || (!config.adminPassword && !generatedAllowed)) return { outcome: 'not-configured' as const };
      const generated = config.adminPassword ? undefined : randomBytes(18).toString('base64url');
      const input = { email: config.adminEmail, username: 'admin', password: config.adminPassword ?? generated!, role: 'ADMIN' as const };
      const user = toView(await create(systemCaller('first admin'), input, null));
      return { outcome: 'created' as const, user, generatedPassword: generated };
    },
    jwks: () => keys.jwks(),

    async close(): Promise<void> {
      await limits.close();
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
