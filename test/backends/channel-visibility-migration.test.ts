import { rmSync } from 'node:fs';
import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/backends/store/create-store.js';
import { MIGRATIONS, migrationProvider } from '../../src/backends/store/migrations/index.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { databases, emptyDatabase } from '../helpers/pg.js';

// Migration 0012 on a database that has channels already: every one stays private (invite
// only, as it was), and each channel's title is folded for the directory as a new one would
// be, non-ASCII letters included (SQLite's lower() folds ASCII only).

describe.each(databases)('0012-channel-visibility on %s', (dialect) => {
  it('keeps every conversation private and folds the titles of existing channels', async () => {
    const data = await emptyDatabase(dialect, 'visibility');
    const store = createStore(data.databaseUrl) as SqlStore;
    try {
      const before = MIGRATIONS[MIGRATIONS.findIndex((m) => m.name === '0012-channel-visibility') - 1].name;
      const { error } = await new Migrator({ db: store.db, provider: migrationProvider(store.dialect) }).migrateTo(before);
      expect(error).toBeUndefined();
      const tenant = await store.ensureTenant('0192f7a0-0000-7000-8000-000000000012', 'tenant');
      // Rows written as 0011's schema holds them: today's store methods write later migrations' columns.
      const owner = await store.db
        .insertInto('users')
        .values({ uuid: crypto.randomUUID(), tenant_id: tenant.id, email: 'owner@example.test', name: 'Owner', password_hash: null, token_version: 0, created_at: 1, updated_at: 1 } as never)
        .returning('id')
        .executeTakeFirstOrThrow()
        .then((r) => ({ id: Number(r.id) }));
      // Written as the old code wrote them: no visibility, no name key.
      const made: Record<string, number> = {};
      for (const [title, kind] of [['Équipe ΩMEGA', 'channel'], ['ＷＩＤＥ Channel', 'channel'], ['Team', 'group']] as const) {
        const row = await store.db
          .insertInto('conversations')
          .values({ uuid: crypto.randomUUID(), tenant_id: tenant.id, kind, title, created_by: owner.id, direct_key: null, last_seq: 0, change_seq: 0, last_message_at: null, created_at: 1, updated_at: 1, deleted_at: null } as never)
          .returning('id')
          .executeTakeFirstOrThrow();
        made[title] = Number(row.id);
      }
      await store.migrate();
      const rows = await store.db.selectFrom('conversations').select(['id', 'visibility', 'name_key']).orderBy('id').execute();
      expect(rows.map((r) => ({ id: Number(r.id), visibility: r.visibility, name_key: r.name_key }))).toEqual([
        { id: made['Équipe ΩMEGA'], visibility: 'private', name_key: 'équipe ωmega' },
        { id: made['ＷＩＤＥ Channel'], visibility: 'private', name_key: 'wide channel' },
        { id: made.Team, visibility: 'private', name_key: '' },
      ]);
      // Listed once public, and found by any case of its name.
      await store.updateConversation(made['Équipe ΩMEGA'], { visibility: 'public' }, 2);
      expect((await store.publicChannels(tenant.id, owner.id, { q: 'ÉQUIPE ω', limit: 5 })).map((e) => e.conversation.id)).toEqual([made['Équipe ΩMEGA']]);
    } finally {
      await store.close();
      await data.dropDb?.();
      rmSync(data.dir, { recursive: true, force: true });
    }
  });
});
