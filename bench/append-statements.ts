// Statements one appendMessages batch sends to the database, counted at the driver (every
// better-sqlite3 statement and exec, every pg query, BEGIN and COMMIT included): the round
// trips a group commit pays, which matter most on PostgreSQL, where each is a network hop.
//
//   node --import tsx bench/append-statements.ts [--messages 10] [--attachments 5] [--url sqlite:… | postgres://…]
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createStore } from '../src/backends/store/create-store.js';
import type { NewMessage } from '../src/backends/store/store.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : d;
};
const messages = Number(opt('messages', '10'));
const attachmentsPerMessage = Number(opt('attachments', '5'));
const tmp = mkdtempSync(path.join(tmpdir(), 'append-statements-'));
const url = opt('url', `sqlite:${path.join(tmp, 'x.db')}`);

let statements = 0;
const Database = createRequire(import.meta.url)('better-sqlite3');
const exec = Database.prototype.exec;
Database.prototype.exec = function (this: unknown, sql: string) {
  statements++;
  return exec.call(this, sql);
};
const prepare = Database.prototype.prepare;
const patchedStatements = new WeakSet<object>();
Database.prototype.prepare = function (this: unknown, sql: string) {
  const st = prepare.call(this, sql);
  const proto = Object.getPrototypeOf(st);
  if (!patchedStatements.has(proto)) {
    patchedStatements.add(proto);
    for (const m of ['all', 'get', 'run'] as const) {
      const orig = proto[m];
      proto[m] = function (this: unknown, ...a: unknown[]) {
        statements++;
        return orig.apply(this, a);
      };
    }
  }
  return st;
};
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...a: unknown[]) {
  statements++;
  return (query as (...x: unknown[]) => unknown).apply(this, a);
} as typeof query;

const store = createStore(url);
try {
  await store.migrate();
  const tenant = await store.defaultTenant();
  const stamp = Date.now();
  const a = await store.createUser({ tenantId: tenant.id, email: `a${stamp}@x.example`, name: 'A' });
  const b = await store.createUser({ tenantId: tenant.id, email: `b${stamp}@x.example`, name: 'B' });
  const conv = await store.createConversation(
    { tenantId: tenant.id, kind: 'group', title: 'bench', createdBy: a.id, participants: [{ userId: a.id, role: 'admin' }, { userId: b.id, role: 'member' }] },
    stamp,
  );
  const batch = (round: number): NewMessage[] =>
    Array.from({ length: messages }, (_, k) => ({
      conversationId: conv.id,
      senderId: k % 2 === 0 ? a.id : b.id,
      kind: 'file',
      content: null,
      replyToId: null,
      clientId: `r${round}m${k}`,
      createdAt: Date.now(),
      attachments: Array.from({ length: attachmentsPerMessage }, (_, p) => ({
        kind: 'file',
        fileName: `f${p}.txt`,
        storedPath: `bench/${stamp}/${round}/${k}/${p}`,
        size: 10,
        mimeType: 'text/plain',
        durationSeconds: null,
        width: null,
        height: null,
        thumbnailPath: null,
      })),
    }));
  await store.appendMessages(batch(0)); // warm-up: prepared statements, pool connections
  statements = 0;
  await store.appendMessages(batch(1));
  console.log(`${url.split(':')[0]}: ${messages} messages × ${attachmentsPerMessage} attachments: ${statements} statements per append batch`);
} finally {
  await store.close();
  rmSync(tmp, { recursive: true, force: true });
}
