// A tenant, two users and their conversations straight on a real store, for tests of what
// sits on the store (the writer) without a server in front.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { createSqliteStore } from '../../src/backends/store/sqlite-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import type { NewMessage, Store } from '../../src/backends/store/store.js';
import type { Conversation, User } from '../../src/core/model.js';
import { newPostgresDatabase } from './pg.js';

/** A migrated store of its own: a SQLite file in a temp folder, or a scratch PostgreSQL database; `close` removes it. */
export async function openScratchStore(dialect: 'sqlite' | 'postgres', tag: string): Promise<{ store: SqlStore; close: () => Promise<void> }> {
  let store: SqlStore;
  let close: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), `parley-${tag}-`));
    store = createSqliteStore(`sqlite:${path.join(dir, 'parley.db')}`);
    close = async () => (await store.close(), rmSync(dir, { recursive: true, force: true }));
  } else {
    const db = await newPostgresDatabase();
    store = createPostgresStore(db.url);
    close = async () => (await store.close(), await db.drop());
  }
  await store.migrate();
  return { store, close };
}

export interface StoreScene {
  a: User;
  b: User;
  /** One per kind asked for, in that order; a and b are members of each. */
  conversations: Conversation[];
  /** A text send (content m1, m2, … in the order made) with a fresh client id. */
  msg: (conversationId: number, senderId: number, over?: Partial<NewMessage>) => NewMessage;
}

export async function storeScene(store: Store, kinds: ('direct' | 'group')[]): Promise<StoreScene> {
  const tenant = await store.ensureTenant(randomUUID(), 't');
  const [a, b] = await Promise.all(['a', 'b'].map((n) => store.createUser({ tenantId: tenant.id, email: `${n}-${randomUUID()}@example.test`, name: n })));
  const participants = [{ userId: a.id, role: 'member' as const }, { userId: b.id, role: 'member' as const }];
  const conversations: Conversation[] = [];
  for (const [i, kind] of kinds.entries()) {
    conversations.push(await store.createConversation({ tenantId: tenant.id, kind, title: kind === 'group' ? `g${i}` : null, createdBy: a.id, participants }, 1));
  }
  let n = 0;
  const msg = (conversationId: number, senderId: number, over: Partial<NewMessage> = {}): NewMessage => ({
    conversationId,
    senderId,
    kind: 'text',
    content: `m${++n}`,
    replyToId: null,
    clientId: randomUUID(),
    attachments: [],
    createdAt: 1000 + n,
    ...over,
  });
  return { a, b, conversations, msg };
}
