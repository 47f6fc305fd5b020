/** Users in the auth database: creation (admin, sign-up, first-start admin) and lookup. */
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { hashPassword, passwordProblem, type PasswordParameters } from '../../crypto/passwords.ts';
import { users } from '../../db/schema/auth.ts';
import { BadUserInputError } from '../../errors.ts';
import { uniqueViolation } from '../../db/postgres-error.ts';
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

export function createUserStore(db: NodePgDatabase, password: PasswordParameters) {
  return {
    async findByEmail(email: string): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(sql`lower(${users.email}) = lower(${email.trim()})`).limit(1);
      return row;
    },

    async findById(id: string): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
      return row;
    },

    /** Validates and creates a user; BAD_USER_INPUT names the field at fault. */
    async create(input: NewUser): Promise<UserRow> {
      const email = input.email.trim();
      if (!EMAIL.test(email)) throw new BadUserInputError('This is not an email address.', 'email');
      if (!USERNAME.test(input.username)) {
        throw new BadUserInputError('A username is 2–64 letters, digits, dots, dashes or underscores.', 'username');
      }
      const problem = passwordProblem(input.password);
      if (problem) throw new BadUserInputError(problem, 'password');
      const passwordHash = await hashPassword(input.password, password);
      try {
        const [row] = await db.insert(users).values({ email, username: input.username, role: input.role, passwordHash }).returning();
        return row!;
      } catch (err) {
        const constraint = uniqueViolation(err);
        const field = constraint === undefined ? undefined : UNIQUE_FIELDS[constraint];
        if (field) throw new BadUserInputError(`This ${field} is already taken.`, field);
        throw err;
      }
    },

    async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
      await db.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, id));
    },

    /**
     * Creates the first admin when there is none: from ADMIN_EMAIL / ADMIN_PASSWORD, or, when
     * `allowGenerated` (development), with a random password returned for printing once.
     */
    async bootstrapAdmin(email: string | undefined, adminPassword: string | undefined, allowGenerated: boolean) {
      const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.role, 'ADMIN')).limit(1);
      if (existing) return { outcome: 'exists' as const };
      if (!email || (!adminPassword && !allowGenerated)) return { outcome: 'not-configured' as const };
      const generated = adminPassword ? undefined : randomBytes(18).toString('base64url');
      const user = await this.create({ email, username: 'admin', password: adminPassword ?? generated!, role: 'ADMIN' });
      return { outcome: 'created' as const, user, generatedPassword: generated };
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
