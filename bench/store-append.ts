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
//
// Parts, side by side in one process (on a loaded machine, separate runs differ by ±15%, more
// than a part costs): each variant gets its own database, and their batches take turns, one
// commit each, so any drift of the machine falls on all of them alike.
//
//   node --import tsx bench/store-append.ts --search-row before --variants "all=,bare=search-index:off+events:off+notify:off,noindex=search-index:off"
//   BENCH_SQL_noidx="DROP INDEX events_tenant_seq" node --import tsx bench/store-append.ts --variants "all=,noidx="   (a what-if per variant)
// A variant is `label=option:value+…` (the options above); BENCH_SQL_<label> runs on its schema first.
// `before=parley-dir:/tmp/snap` runs another checkout's dist/ (say, HEAD~1 built there) beside this one.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { argOf, ROOT, seedPairs } from './lib/argv.js';

const opt = argOf;
const B = Number(opt('batch', 77));
const P = Number(opt('pairs', 50));
const N = Number(opt('batches', 300));
const dir = path.resolve(opt('parley-dir', ROOT));
const script = opt('text', 'mixed');
const rowBefore = opt('search-row', 'in-append') === 'before';

interface Variant {
  label: string;
  searchIndex: boolean;
  /** --events off: the append logs no events (WEBHOOKS=off; issue 19's outbox cost). */
  events: boolean;
  /** --notify off: no push outbox rows (NOTIFY=off; issue 19's outbox cost). */
  notify: boolean;
  /** The share of users with a push subscription (the bench's clients have none). */
  subscribed: number;
  sql: string | undefined;
  /** The checkout whose dist/ it runs (a variant's own `parley-dir`: before/after in one process). */
  dir: string;
}

const variantOf = (label: string, get: (k: string, d: string) => string, sql: string | undefined): Variant => ({
  label,
  searchIndex: get('search-index', 'on') !== 'off',
  events: get('events', 'on') !== 'off',
  notify: get('notify', 'on') !== 'off',
  subscribed: Number(get('subscribed', '0')),
  sql,
  dir: path.resolve(get('parley-dir', ROOT)),
});
const variants: Variant[] = process.argv.includes('--variants')
  ? opt('variants', '')
      .split(',')
      .map((spec) => {
        const [label, rest = ''] = spec.split('=');
        const own = new Map(rest.split('+').filter(Boolean).map((kv) => kv.split(':') as [string, string]));
        return variantOf(label, (k, d) => own.get(k) ?? opt(k, d), process.env[`BENCH_SQL_${label}`]);
      })
  : [variantOf('', (k, d) => opt(k, d), process.env.BENCH_SQL_AFTER_MIGRATE)];

// Optional preloads (what-if PRAGMAs, per-statement timing); they resolve better-sqlite3 from the cwd.
const preload = (name: string) => import(new URL(`./preload/${name}`, import.meta.url).href);
process.chdir(dir);
if (process.env.BENCH_SQLITE_PRAGMAS) await preload('sqlite-pragmas.mjs');
if (process.env.BENCH_SQL_TIMING_FILE) await preload('sql-timing.mjs');
const storeOf = async (dir: string) =>
  ((await import(pathToFileURL(path.join(dir, 'dist/backends/store/sqlite-store.js')).href)) as { createSqliteStore(url: string): any }).createSqliteStore;
const { default: Database } = await import('better-sqlite3');

// 64 characters of words: in three scripts (ICU segments them), or ASCII only (--text ascii).
const content = (n: number) =>
  (script === 'ascii' ? `Cafe at ${String(n).padStart(7, '0')} then the release plan, thanks all` : `Café at ${String(n).padStart(7, '0')} 北京开会 then the release plan 🎉 thanks`).padEnd(64, '.');

/** A variant's store on its own fresh file, its users and conversations, and its batches. */
async function open(v: Variant, tmp: string) {
  const file = path.join(tmp, `x${v.label}.db`);
  const store = (await storeOf(v.dir))(`sqlite:${file}`);
  await store.migrate();
  const remake = (sql: string) => {
    const db = new Database(file);
    db.exec(sql);
    db.close();
  };
  if (process.env.BENCH_FTS5) remake(`DROP TABLE message_search; CREATE VIRTUAL TABLE message_search USING fts5(terms, ${process.env.BENCH_FTS5})`);
  if (v.sql) remake(v.sql);
  if (!v.searchIndex) store.append.searchIndex = false;
  if (!v.events) store.outbox.enabled = false;
  const convs = await seedPairs(store, P);
  const users = convs.flatMap((c) => [c.a, c.b]);
  // Every 1/subscribed-th user registers a device (deterministic: the same users each run).
  for (let i = 0; v.subscribed > 0 && i < users.length; i++) {
    if (Math.floor((i + 1) * v.subscribed) > Math.floor(i * v.subscribed)) {
      await store.addPushSubscription({ userId: users[i], kind: 'web', deviceId: `d${i}`, endpoint: `https://push.example/${i}`, p256dh: 'k', auth: 'a' }, Date.now());
    }
  }
  let seq = 0;
  const batch = () =>
    Array.from({ length: B }, (_, k) => {
      const c = convs[k % P];
      const sender = Math.floor(k / P) % 2 === 0 ? c.a : c.b;
      const createdAt = Date.now();
      // What Messages.send gives a DM with NOTIFY on (Notifications.onAppend).
      const push = v.notify ? { notify: { dueAt: createdAt + 30_000, direct: true, mentionIds: [] } } : {};
      return { conversationId: c.id, senderId: sender, kind: 'text', content: content(seq), replyToId: null, clientId: `c${seq++}`, attachments: [], createdAt, ...push };
    });
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
  for (let i = 0; i < 20; i++) await store.appendMessages(batch()); // warm-up
  await drainOutbox(); // the warm-up's rows: the dispatch below counts the timed ones only
  const batches = Array.from({ length: N }, () => {
    const b: any[] = batch();
    if (rowBefore) for (const m of b) m.searchRow = store.searchRowOf(m);
    return b;
  });
  return { v, store, batches, drainOutbox, cpu: 0, wall: 0 };
}

const describe = (v: Variant) =>
  `search index ${v.searchIndex ? 'on' : 'off'}${v.searchIndex && rowBefore ? ' (rows cut before)' : ''}, events ${v.events ? 'on' : 'off'}, ` +
  `push ${v.notify ? (v.subscribed > 0 ? `on (${v.subscribed} of users subscribed)` : 'on (nobody subscribed)') : 'off'}${v.dir !== dir ? `, ${v.dir}` : ''}${v.sql ? `, after migrate: ${v.sql.slice(0, 60)}` : ''}`;

const tmp = mkdtempSync(path.join(tmpdir(), 'store-append-'));
try {
  const runs = [];
  for (const v of variants) runs.push(await open(v, tmp));
  const msgs = N * B;
  const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
  const load0 = load();
  // One commit per variant in turn, the first to go rotating.
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < runs.length; j++) {
      const r = runs[(i + j) % runs.length];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await r.store.appendMessages(r.batches[i]);
      r.wall += performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      r.cpu += cpu.user + cpu.system;
    }
  }
  console.log(`appendMessages, batch ${B} over ${P} conversations, ${N} commits each, ${script} text${process.env.BENCH_SQLITE_PRAGMAS ? `, pragmas ${process.env.BENCH_SQLITE_PRAGMAS}` : ''}, load ${load0} → ${load()}`);
  for (const r of runs) {
    // The outbox's other half: the dispatcher claims each row once due and deletes it (sent or cancelled).
    const cpu1 = process.cpuUsage();
    const rows = await r.drainOutbox();
    const d = process.cpuUsage(cpu1);
    const dispatch = (d.user + d.system) / msgs;
    console.log(
      `${r.v.label ? `${r.v.label.padEnd(10)} ` : ''}${(r.cpu / msgs).toFixed(1)} us CPU and ${((1000 * r.wall) / msgs).toFixed(1)} us wall per message; ${(r.wall / N).toFixed(2)} ms wall per commit; ` +
        `push outbox ${(rows / msgs).toFixed(2)} rows per message, their dispatch (claim + delete) ${dispatch.toFixed(1)} us CPU per message; ` +
        `append + dispatch ${(r.cpu / msgs + dispatch).toFixed(1)} us — ${describe(r.v)}`,
    );
    await r.store.close();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
