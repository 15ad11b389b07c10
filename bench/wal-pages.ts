// What one group commit writes to SQLite's WAL, by b-tree: Parley's SqlStore.appendMessages
// (from dist/) on a fresh SQLite file, in batches shaped like bench/store-append.ts (B messages
// from B different senders over P direct conversations). After a warm-up, each commit's new
// WAL frames are read back (their page numbers, frames of the current WAL generation only)
// and named by the dbstat table of the file as it was before. A COMMIT's CPU grows with its
// frames (a checksum and two pwrite(2) per 4 KiB page), and so do the flush and the checkpoint.
//
//   npm run build && node --import tsx bench/wal-pages.ts [--batch 35] [--pairs 50] [--warmup 300] [--commits 20] [--parley-dir DIR]
//   node --import tsx bench/wal-pages.ts --drop-index messages_conversation_seq   (what-if: that index gone; never for a real schema)
import { closeSync, mkdtempSync, openSync, readSync, rmSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { argOf, ROOT, seedPairs } from './lib/argv.js';

const opt = argOf;
const B = Number(opt('batch', 35));
const P = Number(opt('pairs', 50));
const WARMUP = Number(opt('warmup', 300));
const R = Number(opt('commits', 20));
const dir = path.resolve(opt('parley-dir', ROOT));
const drop = opt('drop-index', '');
process.chdir(dir);
const { createSqliteStore } = (await import(pathToFileURL(path.join(dir, 'dist/backends/store/sqlite-store.js')).href)) as { createSqliteStore(url: string): any };
const { default: Database } = await import('better-sqlite3');

const tmp = mkdtempSync(path.join(tmpdir(), 'wal-pages-'));
const file = path.join(tmp, 'x.db');
try {
  let store = createSqliteStore(`sqlite:${file}`);
  await store.migrate();
  if (drop) {
    const what = new Database(file);
    what.exec(`DROP INDEX ${JSON.stringify(drop)}`);
    what.close();
  }
  const convs = await seedPairs(store, P);
  let seq = 0;
  const content = (n: number) => `Café at ${String(n).padStart(7, '0')} 北京开会 then the release plan 🎉 thanks`.padEnd(64, '.');
  const batch = () =>
    Array.from({ length: B }, (_, k) => {
      const c = convs[k % P];
      const m: any = { conversationId: c.id, senderId: Math.floor(k / P) % 2 === 0 ? c.a : c.b, kind: 'text', content: content(seq), replyToId: null, clientId: `c${seq++}`, attachments: [], createdAt: Date.now() };
      m.searchRow = store.searchRowOf(m);
      return m;
    });
  for (let i = 0; i < WARMUP; i++) await store.appendMessages(batch());
  await store.close();

  // Every page of the file as it is now, by b-tree; pages allocated later are "new".
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const names = new Map((db.prepare('SELECT pageno, name FROM dbstat').all() as { pageno: number; name: string }[]).map((r) => [r.pageno, r.name]));
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.close();

  store = createSqliteStore(`sqlite:${file}`);
  const counts = new Map<string, number>();
  let frames = 0;
  let salt = '';
  let offset = 32;
  const fd = () => openSync(`${file}-wal`, 'r');
  for (let i = 0; i < R; i++) {
    await store.appendMessages(batch());
    const f = fd();
    try {
      const head = Buffer.alloc(32);
      readSync(f, head, 0, 32, 0);
      const s = head.subarray(16, 24).toString('hex');
      // The checkpointer let the WAL start over: this commit's frames begin at its start.
      if (s !== salt) [salt, offset] = [s, 32];
      const size = fstatSync(f).size;
      const frame = Buffer.alloc(24 + pageSize);
      for (; offset + frame.length <= size; offset += frame.length) {
        readSync(f, frame, 0, frame.length, offset);
        if (frame.subarray(8, 16).toString('hex') !== salt) break;
        const name = names.get(frame.readUInt32BE(0)) ?? '(pages new since the warm-up)';
        counts.set(name, (counts.get(name) ?? 0) + 1);
        frames++;
      }
    } finally {
      closeSync(f);
    }
  }
  await store.close();
  console.log(`appendMessages, batch ${B} over ${P} conversations, after ${WARMUP} commits${drop ? `, without ${drop}` : ''}: ${(frames / R).toFixed(1)} WAL frames per commit, ${(frames / R / B).toFixed(2)} per message (${pageSize} B pages)`);
  for (const [name, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${(n / R).toFixed(1).padStart(7)}  ${name}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
