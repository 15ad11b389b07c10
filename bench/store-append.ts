// The store's share of the send path, alone: Parley's SqlStore.appendMessages (from dist/) on a
// fresh SQLite file, in batches shaped like the ones group commit makes under `npm run bench`
// (B messages from B different senders over P direct conversations), no network, no event
// loop contention. Prints wall and CPU time per message and per commit.
//
//   node --import tsx bench/store-append.ts [--batch 77] [--pairs 50] [--batches 300] [--parley-dir DIR]
//   BENCH_SQLITE_PRAGMAS="temp_store=MEMORY" node --import tsx bench/store-append.ts   (what-if, see preload/)
//   BENCH_SQL_TIMING_FILE=/dev/stderr node --import tsx bench/store-append.ts         (time per statement)
//   node --import tsx bench/store-append.ts --search-index off [--text ascii]          (the append without the search index, issue 18)
//   BENCH_FTS5="tokenize = 'ascii', detail = column" node --import tsx bench/store-append.ts  (what-if: message_search made again with these options)
//   BENCH_SQL_AFTER_MIGRATE="DROP INDEX events_tenant_seq" node --import tsx bench/store-append.ts   (what-if: any SQL on the fresh schema)
//   node --import tsx bench/store-append.ts --search-row before                        (index rows cut into words before the timing, as
//                                                                                       Messages.send does before the writer: the SQL's share)
//   node --import tsx bench/store-append.ts --events off                               (the append without the events log, issue 19)
//   node --import tsx bench/store-append.ts --notify off                               (the append without the push outbox, NOTIFY=off)
//   node --import tsx bench/store-append.ts --subscribed 0.2                           (a fifth of the users with a push subscription)
// Every send is a DM (as under `npm run bench`'s pairs), so with --notify on (the server's
// default) each one may owe its recipient a push: the outbox row, and the dispatcher's claim
// and delete of it once due, are timed (the second line) unless the row is never written.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (k: string, d: number | string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : String(d);
};
const B = Number(opt('batch', 77));
const P = Number(opt('pairs', 50));
const N = Number(opt('batches', 300));
const dir = path.resolve(opt('parley-dir', ROOT));
const searchIndex = opt('search-index', 'on') !== 'off';
/** --events off: the append logs no events (WEBHOOKS=off; issue 19's outbox cost). */
const events = opt('events', 'on') !== 'off';
const script = opt('text', 'mixed');
const rowBefore = opt('search-row', 'in-append') === 'before';
/** --notify off: no push outbox rows (NOTIFY=off; issue 19's outbox cost). */
const notify = opt('notify', 'on') !== 'off';
/** The share of users with a push subscription (the bench's clients have none). */
const subscribed = Number(opt('subscribed', 0));

// Optional preloads (what-if PRAGMAs, per-statement timing); they resolve better-sqlite3 from the cwd.
const preload = (name: string) => import(new URL(`./preload/${name}`, import.meta.url).href);
process.chdir(dir);
if (process.env.BENCH_SQLITE_PRAGMAS) await preload('sqlite-pragmas.mjs');
if (process.env.BENCH_SQL_TIMING_FILE) await preload('sql-timing.mjs');
const { createSqliteStore } = (await import(pathToFileURL(path.join(dir, 'dist/backends/store/sqlite-store.js')).href)) as {
  createSqliteStore(url: string): any;
};

const tmp = mkdtempSync(path.join(tmpdir(), 'store-append-'));
try {
  const store = createSqliteStore(`sqlite:${path.join(tmp, 'x.db')}`);
  await store.migrate();
  if (process.env.BENCH_FTS5) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path.join(tmp, 'x.db'));
    db.exec(`DROP TABLE message_search; CREATE VIRTUAL TABLE message_search USING fts5(terms, ${process.env.BENCH_FTS5})`);
    db.close();
  }
  if (process.env.BENCH_SQL_AFTER_MIGRATE) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path.join(tmp, 'x.db'));
    db.exec(process.env.BENCH_SQL_AFTER_MIGRATE);
    db.close();
  }
  if (!searchIndex) store.append.searchIndex = false;
  if (!events) store.outbox.enabled = false;
  const tenant = await store.defaultTenant();
  const users: number[] = [];
  for (let i = 0; i < 2 * P; i++) users.push((await store.createUser({ tenantId: tenant.id, email: `u${i}@x.example`, name: `U ${i}` })).id);
  const convs: { id: number; a: number; b: number }[] = [];
  for (let i = 0; i < P; i++) {
    const [a, b] = [users[2 * i], users[2 * i + 1]];
    const c = await store.createConversation(
      { tenantId: tenant.id, kind: 'direct', title: null, createdBy: a, participants: [{ userId: a, role: 'member' }, { userId: b, role: 'member' }] },
      Date.now(),
    );
    convs.push({ id: c.id, a, b });
  }
  // Every 1/subscribed-th user registers a device (deterministic: the same users each run).
  for (let i = 0; subscribed > 0 && i < users.length; i++) {
    if (Math.floor((i + 1) * subscribed) > Math.floor(i * subscribed)) {
      await store.addPushSubscription({ userId: users[i], kind: 'web', deviceId: `d${i}`, endpoint: `https://push.example/${i}`, p256dh: 'k', auth: 'a' }, Date.now());
    }
  }
  // 64 characters of words: in three scripts (ICU segments them), or ASCII only (--text ascii).
  const content = (n: number) =>
    (script === 'ascii' ? `Cafe at ${String(n).padStart(7, '0')} then the release plan, thanks all` : `Café at ${String(n).padStart(7, '0')} 北京开会 then the release plan 🎉 thanks`).padEnd(64, '.');
  let seq = 0;
  /** Claims every outbox row (as due far ahead) and deletes it, as a dispatcher does; how many. */
  const drainOutbox = async () => {
    let n = 0;
    for (;;) {
      const claimed = await store.claimNotifications(Date.now() + 3_600_000, Date.now() + 7_200_000, 200);
      if (claimed.length === 0) return n;
      n += claimed.length;
      await store.finishNotifications(claimed.map((c: { id: number }) => c.id));
    }
  };
  const batch = () =>
    Array.from({ length: B }, (_, k) => {
      const c = convs[k % P];
      const sender = Math.floor(k / P) % 2 === 0 ? c.a : c.b;
      const createdAt = Date.now();
      // What Messages.send gives a DM with NOTIFY on (Notifications.onAppend).
      const push = notify ? { notify: { dueAt: createdAt + 30_000, direct: true, mentionIds: [] } } : {};
      return { conversationId: c.id, senderId: sender, kind: 'text', content: content(seq), replyToId: null, clientId: `c${seq++}`, attachments: [], createdAt, ...push };
    });
  for (let i = 0; i < 20; i++) await store.appendMessages(batch()); // warm-up
  await drainOutbox(); // the warm-up's rows: the dispatch below counts the timed ones only
  const batches = Array.from({ length: N }, () => {
    const b: any[] = batch();
    if (rowBefore) for (const m of b) m.searchRow = store.searchRowOf(m);
    return b;
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of batches) await store.appendMessages(b);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const msgs = N * B;
  console.log(
    `appendMessages, batch ${B} over ${P} conversations, ${N} commits, ${script} text, search index ${searchIndex ? 'on' : 'off'}${searchIndex && rowBefore ? ' (rows cut before)' : ''}, events ${events ? 'on' : 'off'}${process.env.BENCH_SQLITE_PRAGMAS ? `, pragmas ${process.env.BENCH_SQLITE_PRAGMAS}` : ''}: ` +
      `${((1000 * wall) / msgs).toFixed(1)} us wall and ${((cpu.user + cpu.system) / msgs).toFixed(1)} us CPU per message ` +
      `(user ${(cpu.user / msgs).toFixed(1)}, system ${(cpu.system / msgs).toFixed(1)}); ${(wall / N).toFixed(2)} ms wall per commit` +
      `${notify ? `, push ${subscribed > 0 ? `(${subscribed} of users subscribed)` : '(nobody subscribed)'}` : ', push off'}`,
  );
  // The outbox's other half: the dispatcher claims each row once due and deletes it (sent or cancelled).
  const cpu1 = process.cpuUsage();
  const rows = await drainOutbox();
  const dcpu = process.cpuUsage(cpu1);
  console.log(`  push outbox: ${rows} rows (${(rows / msgs).toFixed(2)} per message); their dispatch (claim + delete) ${((dcpu.user + dcpu.system) / msgs).toFixed(1)} us CPU per message`);
  await store.close();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
