/**
 * Failures inside the database, for tests of whole writes: `failWrites(pool, 'auth.audit_log',
 * 'INSERT', "NEW.event = 'CHALLENGE_VERIFIED' AND NEW.user_id = '…'")` adds a trigger that
 * raises on each matching write, so the flow fails half-way exactly where the test says,
 * on the real database. Scope the condition to the test's own rows: other test files write
 * to the same tables at the same time. The returned function removes the trigger.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';

export async function failWrites(pool: pg.Pool, table: string, operation: 'INSERT' | 'UPDATE' | 'DELETE', when: string): Promise<() => Promise<void>> {
  const name = `test_fail_${randomBytes(6).toString('hex')}`;
  const [schema] = table.split('.');
  await pool.query(
    `create function ${schema}.${name}() returns trigger language plpgsql as $$
     begin
       if ${when} then raise exception 'injected failure (%)', TG_TABLE_NAME using errcode = 'XX000'; end if;
       return coalesce(NEW, OLD);
     end $$`,
  );
  await pool.query(`create trigger ${name} before ${operation} on ${table} for each row execute function ${schema}.${name}()`);
  return async () => {
    await pool.query(`drop trigger if exists ${name} on ${table}`);
    await pool.query(`drop function if exists ${schema}.${name}()`);
  };
}
