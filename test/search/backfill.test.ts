import { rmSync } from 'node:fs';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { search } from '../../src/backends/store/migrations/0009-search.js';
import { createStore } from '../../src/backends/store/create-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { databases, emptyDatabase } from '../helpers/pg.js';

// Messages stored before the search index existed are found once 0009-search has run.
describe.each(databases)('0009-search backfill on %s', (db) => {
  it('indexes the live messages already stored, with their files, and not the deleted ones', async () => {
    const data = await emptyDatabase(db, 'backfill');
    const store = createStore(data.databaseUrl) as SqlStore;
    try {
      // Today's schema with the history written as before 0009 (no index rows); the index
      // table is then dropped and 0009 run again over it (later migrations need today's store).
      await store.migrate();
      store.append.searchIndex = false;
      const tenant = await store.defaultTenant();
      const a = await store.createUser({ tenantId: tenant.id, email: 'a@backfill.example', name: 'A' });
      const c = await store.createConversation({ tenantId: tenant.id, kind: 'group', title: 'old', createdBy: a.id, participants: [{ userId: a.id, role: 'admin' }] }, 1);
      const at = Date.now();
      const file = { kind: 'file' as const, fileName: 'Budget_2025.xlsx', storedPath: 'files/b.xlsx', size: 1, mimeType: 'application/octet-stream', durationSeconds: null, width: null, height: null, thumbnailPath: null };
      const [old, withFile, deleted] = await store.appendMessages([
        { conversationId: c.id, senderId: a.id, kind: 'text', content: '我们明天在北京开会', replyToId: null, clientId: null, attachments: [], createdAt: at },
        { conversationId: c.id, senderId: a.id, kind: 'file', content: null, replyToId: null, clientId: null, attachments: [file], createdAt: at + 1 },
        { conversationId: c.id, senderId: a.id, kind: 'text', content: '北京 deleted', replyToId: null, clientId: null, attachments: [], createdAt: at + 2 },
      ]);
      if (!('message' in old && 'message' in withFile && 'message' in deleted)) throw new Error('deferred');
      // Deleted before the index existed: at the SQL level, as an older server would have.
      await store.runner.run({ sql: 'UPDATE messages SET content = NULL, deleted_at = ? WHERE id = ?', parameters: [at, deleted.message.id] });
      await sql`DROP TABLE message_search`.execute(store.db);
      await search.up(store.db, store.dialect);
      store.append.searchIndex = true;
      const find = async (text: string) => (await store.searchMessages({ userId: a.id, text, order: 'newest', limit: 10 })).hits.map((h) => h.message.id);
      expect(await find('北京')).toEqual([old.message.id]);
      expect(await find('budget')).toEqual([withFile.message.id]);
      expect((await store.searchMessages({ userId: a.id, text: '北京', conversationId: c.id, order: 'newest', limit: 10 })).hits).toHaveLength(1);
    } finally {
      await store.close();
      await data.dropDb?.();
      rmSync(data.dir, { recursive: true, force: true });
    }
  });
});
