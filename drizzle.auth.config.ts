/** drizzle-kit config for the auth database (schema auth). */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/auth.ts',
  out: './drizzle/auth',
  migrations: { schema: 'strongroom', table: 'migrations_auth' },
});
