/** drizzle-kit config for the data database (schemas licensing, reporting). `npm run db:generate` runs both configs. */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/data.ts',
  out: './drizzle/data',
  migrations: { schema: 'strongroom', table: 'migrations_data' },
});
