// The store's share of the send path on PostgreSQL, alone: SqlStore.appendMessages (from dist/)
// on a fresh scratch database, one batch after another (B messages over P direct
// conversations, as group commit makes them under `npm run bench`), no network but
// PostgreSQL's, no event loop contention. Prints the wall time per batch and per message, with
// each write of the append switched off in turn: what is left without all three is the round
// trips, the locks and the COMMIT's flush.
//
//   node --import tsx bench/pg-append.ts [--batch 40] [--pairs 50] [--batches 500] [--rounds 2]
//        [--db postgres://postgres@127.0.0.1:5432/postgres] [--parley-dir DIR]
//   --variants "all=,bare=search-index:off+events:off+notify:off"   (the default: each part alone, then none)
//   one-trip:off: the writes after the locks' round trip (SqlAppend.oneTrip), as before it
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { argOf, ROOT, seedPairs } from './lib/argv.js';
import { AuxCpu } from './lib/aux-cpu.js';
import { createScratchDb, dropScratchDb } from './lib/scratch.js';

const B = Number(argOf('batch', 40));
const P = Number(argOf('pairs', 50));
const N = Number(argOf('batches', 500));
const rounds = Number(argOf('rounds', 2));
const adminUrl = String(argOf('db', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'));
const dir = path.resolve(String(argOf('parley-dir', ROOT)));
const spec = String(argOf('variants', 'all=,no-index=search-index:off,no-events=events:off,no-outbox=notify:off,none=search-index:off+events:off+notify:off'));

const variants = spec.split(',').map((v) => {
  const [label, rest = ''] = v.split('=');
  const off = new Set(rest.split('+').filter(Boolean).map((kv) => kv.split(':')[0]));
  return { label, searchIndex: !off.has('search-index'), events: !off.has('events'), notify: !off.has('notify'), oneTrip: !off.has('one-trip') };
});

const { createPostgresStore } = (await import(pathToFileURL(path.join(dir, 'dist/backends/store/postgres-store.js')).href)) as { createPostgresStore(url: string): any };

/** Wall ms a batch, and the CPU ms a batch of this process and of the database's backends. */
async function run(v: (typeof variants)[number]): Promise<{ ms: number; nodeMs: number; pgMs: number | null }> {
  const db = await createScratchDb(adminUrl);
  const store = createPostgresStore(db.url);
  const aux = await AuxCpu.open(db.name, adminUrl, null);
  try {
    await store.migrate();
    if (!v.searchIndex) store.append.searchIndex = false;
    // A checkout before SqlAppend.oneTrip has no such field: setting it there changes nothing.
    if (!v.oneTrip) store.append.oneTrip = false;
    if (!v.events) store.outbox.enabled = false;
    const convs = await seedPairs(store, P);
    let seq = 0;
    const batch = (b: number) =>
      Array.from({ length: B }, (_, k) => {
        const c = convs[k % P];
        const createdAt = Date.now();
        const push = v.notify ? { notify: { dueAt: createdAt + 30_000, direct: true, mentionIds: [] } } : {};
        return { conversationId: c.id, senderId: (b + k) % 2 ? c.a : c.b, kind: 'text', content: `hello there, message ${seq} of the plan`, replyToId: null, clientId: `c${seq++}`, attachments: [], createdAt, ...push };
      });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    aux.begin();
    for (let b = 0; b < N; b++) await store.appendMessages(batch(b));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const { pgCores } = await aux.end(seconds);
    return { ms: (seconds * 1000) / N, nodeMs: (cpu.user + cpu.system) / 1000 / N, pgMs: pgCores === null ? null : (pgCores * seconds * 1000) / N };
  } finally {
    await aux.close();
    await store.close();
    await dropScratchDb(db.name);
  }
}

console.log(`appendMessages on PostgreSQL, batch ${B} over ${P} conversations, ${N} batches a run, ${rounds} round(s), ${dir}`);
for (let r = 1; r <= rounds; r++) {
  for (const v of variants) {
    const { ms, nodeMs, pgMs } = await run(v);
    const pg = pgMs === null ? 'PostgreSQL CPU not seen' : `PostgreSQL ${pgMs.toFixed(2)}`;
    console.log(`round ${r}  ${v.label.padEnd(10)} ${ms.toFixed(2)} ms a batch, ${((ms * 1000) / B).toFixed(0)} µs a message; CPU ms a batch: this process ${nodeMs.toFixed(2)}, ${pg}`);
  }
}
