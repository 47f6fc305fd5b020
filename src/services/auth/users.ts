/** Users in the auth database: what a new account must be, and the store of user rows. */
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { passwordProblem } from '../../crypto/passwords.ts';
import { users } from '../../db/schema/auth.ts';
import { uniqueViolation } from '../../db/postgres-error.ts';
import { BadUserInputError } from '../../errors.ts';
import type { Executor } from './executor.ts';
import type { Role } from './tokens.ts';

export type UserRow = typeof users.$inferSelect;

export interface NewUser {
  readonly email: string;
  readonly username: string;
  readonly password: string;
  readonly role: Role;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const USERNAME = /^[A-Za-z0-9._-]{2,64}$/;

/** The field a unique index guards: only our own two indexes are blamed on a field. */
const UNIQUE_FIELDS: Readonly<Record<string, 'email' | 'username'>> = {
  users_email_lower_key: 'email',
  users_username_lower_key: 'username',
};

/** Checks a new account's fields; BAD_USER_INPUT names the field at fault. Returns the email as stored. */
export function validateNewUser(input: NewUser): string {
  const email = input.email.trim();
  if (!EMAIL.test(email)) throw new BadUserInputError('This is not an email address.', 'email');
  if (!USERNAME.test(input.username)) {
    throw new BadUserInputError('A username is 2–64 letters, digits, dots, dashes or underscores.', 'username');
  }
  const problem = passwordProblem(input.password);
  if (problem) throw new BadUserInputError(problem, 'password');
  return email;
}

/** BAD_USER_INPUT for a taken email or username (from the failed insert's unique violation); undefined for anything else. */
export function takenField(err: unknown): BadUserInputError | undefined {
  const constraint = uniqueViolation(err);
  const field = constraint === undefined ? undefined : UNIQUE_FIELDS[constraint];
  return field ? new BadUserInputError(`This ${field} is already taken.`, field) : undefined;
}

export function createUserStore(ex: Executor, now: () => Date) {
  return {
    async findByEmail(email: string): Promise<UserRow | undefined> {
      const [row] = await ex.select().from(users).where(sql`lower(${users.email}) = lower(${email.trim()})`).limit(1);
      return row;
    },

    async findById(id: string): Promise<UserRow | undefined> {
      const [row] = await ex.select().from(users).where(eq(users.id, id)).limit(1);
      return row;
    },

    /** The user, locked until the transaction ends: changes to one user's second factor take turns. */
    async lockById(id: string): Promise<UserRow | undefined> {
      const [row] = await ex.select().from(users).where(eq(users.id, id)).limit(1).for('no key update');
      return row;
    },

    /** Inserts a validated user (the password already hashed); a taken email or username throws the driver's unique violation. */
    async insert(user: { email: string; username: string; role: Role; passwordHash: string }): Promise<UserRow> {
      const [row] = await ex.insert(users).values(user).returning();
      return row!;
    },

    async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
      await ex.update(users).set({ passwordHash, updatedAt: now() }).where(eq(users.id, id));
    },

    /** Turns mailed codes on or off; off only for a user with an authenticator (enforced here too). */
    async setEmailCodes(id: string, enabled: boolean): Promise<UserRow | undefined> {
      const [row] = await ex
        .update(users)
        .set({ emailCodesEnabled: enabled, updatedAt: now() })
        .where(enabled ? eq(users.id, id) : and(eq(users.id, id), isNotNull(users.totpSecret)))
        .returning();
      return row;
    },

    async anyAdmin(): Promise<boolean> {
      const [row] = await ex.select({ id: users.id }).from(users).where(eq(users.role, 'ADMIN')).limit(1);
      return row !== undefined;
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
