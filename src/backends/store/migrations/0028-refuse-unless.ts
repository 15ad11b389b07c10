import { sql, type Kysely } from 'kysely';
import type { VersionedMigration } from './index.js';

/**
 * Issue 21 (PostgreSQL): the append's writes go in the round trip of its locks, with the
 * COMMIT after them, so a rule they must hold (every sender still a member, every conversation
 * still there) is checked by the statement itself: `parley_refuse_unless(ok, reason)` fails it
 * with SQLSTATE PR001 and `reason` (a StoreError code) when `ok` is false, and PostgreSQL then
 * skips the COMMIT. SQLite runs each statement in turn and checks in the process.
 */
export const refuseUnless: VersionedMigration = {
  name: '0028-refuse-unless',
  async up(db: Kysely<any>, dialect) {
    if (dialect !== 'postgres') return;
    await sql`CREATE FUNCTION parley_refuse_unless(ok boolean, reason text) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN IF ok IS NOT TRUE THEN RAISE EXCEPTION USING ERRCODE = 'PR001', MESSAGE = reason; END IF; RETURN true; END $$`.execute(db);
  },
};
