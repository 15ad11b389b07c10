// npm run bench:scale: a history page, the room list (with unread counts) and search as the
// messages table grows to 10M rows. Both must stay flat: a page is a seq range on
// (conversation_id, seq), the room list reads one participants row and one last message per
// conversation, and totals come from last_seq — never OFFSET, never COUNT over messages.
//
// Accounts and rooms are made through Parley's API; the messages are then bulk-inserted
// with SQL while Parley is stopped (sending 10M through the socket would take hours and
// measure the send path, which `npm run bench` does), and Parley is started again on the
// grown database for every size.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { exitOnHelp } from '../scripts/lib/cli.js';
import { cleanupAll, createScratchDb, dropScratchDb } from './lib/scratch.js';
import { freePort, killAllChildrenNow, runSync, startChild, stopChild, waitPort } from './lib/proc.js';
import { fmt, summarize } from './lib/stats.js';

const HELP = `npm run bench:scale -- [options]

  --db sqlite|postgres   the database (default sqlite; postgres: a scratch database on --pg-url)
  --sizes LIST           total messages at each measurement (default 10000,1000000,10000000)
  --rooms N              the reader's direct rooms (default 100); the first holds half of all messages
  --samples N            requests per endpoint and size (default 300)
  --pg-url URL           where the scratch database is created (default $BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/postgres)
  --no-build             run dist/ as it is
  --keep                 keep the seeded database (printed at the end) to look at its plans
`;

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    sizes: { type: 'string', default: '10000,1000000,10000000' },
    rooms: { type: 'string', default: '100' },
    samples: { type: 'string', default: '300' },
    'pg-url': { type: 'string', default: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
exitOnHelp(values.help, HELP);

const ROOT = path.resolve(import.meta.dirname, '..');
const sizes = values.sizes.split(',').map(Number);
const ROOMS = Number(values.rooms);
const SAMPLES = Number(values.samples);
const PER_PAGE = 50;
const log = (m: string) => process.stdout.write(`[scale] ${m}\n`);

process.on('exit', killAllChildrenNow);
process.on('SIGINT', () => void cleanupAll(log).finally(() => process.exit(130)));

// ------------------------------------------------------------------ the database

/** Bulk inserts `n` messages into one conversation after its current last seq. */
interface Seeder {
  append(conversationId: number, fromSeq: number, n: number, senders: [number, number]): Promise<void>;
  /** last_seq/change_seq/last_message_at from what was inserted; the reader leaves some unread. */
  finish(lastSeqs: Map<number, number>, readerId: number): Promise<void>;
  size(): Promise<string>;
  /** The search index's bytes (tables and indexes). */
  searchBytes(): Promise<number>;
  close(): Promise<void>;
}

// Seeded words for search: c<n> is in 1 message of 9 (11% of the history; no other word begins
// with it); w<n> in 1 of 997 (a prefix such as w5 begins 111 of the 997: 11% too, as a union of
// 111 words); k<n> in 1 of 10,007 (k123 begins 11 of them: 0.1%).
const SEEDED_TEXT = (i: string) => `'seeded message ' || ${i} || ' c' || (${i} % 9) || ' w' || (${i} % 997) || ' k' || ((${i} * 31) % 10007)`;

const T0 = Date.UTC(2026, 0, 1);

function sqliteSeeder(file: string): Seeder {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // seeding only; Parley reopens the file with its own settings
  db.pragma('cache_size = -262144');
  const insert = db.prepare(`
    WITH RECURSIVE s(i) AS (SELECT @from UNION ALL SELECT i + 1 FROM s WHERE i < @to)
    INSERT INTO messages (uuid, conversation_id, seq, change_seq, sender_id, kind, content, reply_count, created_at, unchanged)
    SELECT printf('%08x-0000-7000-8000-%012x', @conv, i), @conv, i, i, CASE WHEN i % 2 = 0 THEN @a ELSE @b END, 'text', ${SEEDED_TEXT('i')}, 0, @t0 + i * 1000, 1
    FROM s`);
  // The seeded words are what search-text.ts makes of them (lower case, separated by spaces),
  // after the conversation's term (U+E000 and its id).
  const index = db.prepare(`INSERT INTO message_search (rowid, terms) SELECT id, char(57344) || conversation_id || ' ' || lower(content) FROM messages WHERE conversation_id = @conv AND seq BETWEEN @from AND @to`);
  return {
    async append(conv, from, n, [a, b]) {
      for (let at = from; at < from + n; at += 500_000) {
        const to = Math.min(from + n - 1, at + 499_999);
        db.transaction(() => {
          insert.run({ conv, a, b, t0: T0, from: at, to });
          index.run({ conv, from: at, to });
        })();
      }
    },
    async finish(lastSeqs, readerId) {
      const conv = db.prepare('UPDATE conversations SET last_seq = ?, change_seq = ?, last_message_at = ? WHERE id = ?');
      const part = db.prepare('UPDATE participants SET read_seq = ?, delivered_seq = ?, seen_seq = ? WHERE conversation_id = ? AND user_id = ?');
      const others = db.prepare('UPDATE participants SET read_seq = ?, delivered_seq = ?, seen_seq = ? WHERE conversation_id = ? AND user_id <> ?');
      db.transaction(() => {
        for (const [id, last] of lastSeqs) {
          conv.run(last, last, T0 + last * 1000, id);
          const read = Math.max(0, last - (id % 7));
          part.run(read, read, read, id, readerId);
          others.run(last, last, last, id, readerId);
        }
      })();
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    async size() {
      return `${(statSync(file).size / 2 ** 20).toFixed(0)} MiB file`;
    },
    async searchBytes() {
      // FTS5's shadow tables: the inverted index (_data, _idx), the text (_content), the lengths (_docsize).
      const r = db
        .prepare(
          `SELECT (SELECT coalesce(sum(length(block)), 0) FROM message_search_data) + (SELECT coalesce(sum(length(c0)), 0) FROM message_search_content)
                + (SELECT coalesce(sum(length(sz)), 0) FROM message_search_docsize) + (SELECT count(*) * 24 FROM message_search_idx) AS bytes`,
        )
        .get() as { bytes: number };
      return r.bytes;
    },
    async close() {
      db.close();
    },
  };
}

function postgresSeeder(url: string): Seeder {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  return {
    async append(conv, from, n, [a, b]) {
      for (let at = from; at < from + n; at += 1_000_000) {
        const to = Math.min(from + n - 1, at + 999_999);
        await pool.query(
          `INSERT INTO messages (uuid, conversation_id, seq, change_seq, sender_id, kind, content, reply_count, created_at, unchanged)
           SELECT lpad(to_hex($1::bigint), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'), $1, i, i,
                  CASE WHEN i % 2 = 0 THEN $2::bigint ELSE $3::bigint END, 'text', ${SEEDED_TEXT('i')}, 0, $4::bigint + i * 1000, 1
           FROM generate_series($5::bigint, $6::bigint) AS i`,
          [conv, a, b, T0, at, to],
        );
        await pool.query(
          `INSERT INTO message_search (rowid, terms) SELECT id, array_to_tsvector(string_to_array(chr(57344) || conversation_id || ' ' || lower(content), ' ')) FROM messages WHERE conversation_id = $1 AND seq BETWEEN $2 AND $3`,
          [conv, at, to],
        );
      }
    },
    async finish(lastSeqs, readerId) {
      for (const [id, last] of lastSeqs) {
        await pool.query('UPDATE conversations SET last_seq = $1, change_seq = $1, last_message_at = $2 WHERE id = $3', [last, T0 + last * 1000, id]);
        const read = Math.max(0, last - (id % 7));
        await pool.query('UPDATE participants SET read_seq = $1, delivered_seq = $1, seen_seq = $1 WHERE conversation_id = $2 AND user_id = $3', [read, id, readerId]);
        await pool.query('UPDATE participants SET read_seq = $1, delivered_seq = $1, seen_seq = $1 WHERE conversation_id = $2 AND user_id <> $3', [last, id, readerId]);
      }
      // What autovacuum would have done by the time a table holds this much.
      await pool.query('VACUUM ANALYZE messages');
      await pool.query('VACUUM ANALYZE message_search');
      await pool.query('ANALYZE participants; ANALYZE conversations');
    },
    async size() {
      const r = await pool.query("SELECT pg_size_pretty(pg_total_relation_size('messages')) AS s");
      return `messages ${r.rows[0].s} with indexes`;
    },
    async searchBytes() {
      const r = await pool.query("SELECT pg_total_relation_size('message_search') AS b");
      return Number(r.rows[0].b);
    },
    async close() {
      await pool.end();
    },
  };
}

// ------------------------------------------------------------------ Parley

const dir = mkdtempSync(path.join(tmpdir(), 'parley-scale-'));
let databaseUrl: string;
let scratch: string | null = null;
if (values.db === 'postgres') {
  const s = await createScratchDb(values['pg-url']);
  scratch = s.name;
  databaseUrl = s.url;
} else {
  databaseUrl = `sqlite:${path.join(dir, 'parley.db')}`;
}
if (!values['no-build']) runSync('npx', ['tsc', '-p', 'tsconfig.build.json'], ROOT);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env = {
  ...process.env,
  PORT: String(port),
  HOST: '127.0.0.1',
  DATA_DIR: path.join(dir, 'data'),
  DATABASE_URL: databaseUrl,
  JWT_SECRET: 'scale-bench-secret-scale-bench-secret',
  LOG_LEVEL: 'warn',
  REDIS_URL: '',
  RATE_USER_MESSAGES_PER_SECOND: '0',
  RATE_REST_WRITES_PER_SECOND: '0',
  RATE_CONNECTION_FRAMES_PER_SECOND: '0',
  RATE_USER_READS_PER_SECOND: '0',
};

async function startParley() {
  const child = startChild(process.execPath, ['dist/main.js'], { cwd: ROOT, env, logFile: path.join(dir, 'parley.log') });
  await waitPort(port, child, 60_000);
  return child;
}

async function api<T>(method: string, url: string, token: string | null, body?: unknown): Promise<T> {
  const res = await fetch(base + url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Account {
  access_token: string;
  user: { id: number };
}
const register = (i: number) => api<Account>('POST', '/api/auth/register', null, { email: `scale${i}@example.test`, password: 'scale-bench-pw', name: `Scale ${i}` });

// ------------------------------------------------------------------ run

let parley = await startParley();
const reader = await register(0);
const rooms: { id: number; partner: number }[] = [];
for (let i = 1; i <= ROOMS; i++) {
  const partner = await register(i);
  const room = await api<{ id: number }>('POST', '/api/chat/rooms', reader.access_token, { receiver_id: partner.user.id });
  rooms.push({ id: room.id, partner: partner.user.id });
}
await stopChild(parley);
log(`${values.db}: 1 reader in ${ROOMS} direct rooms; the first room holds half of the messages, the others share the rest`);

const seeder = values.db === 'postgres' ? postgresSeeder(databaseUrl) : sqliteSeeder(databaseUrl.slice('sqlite:'.length));
const lastSeqs = new Map(rooms.map((r) => [r.id, 0]));
const hot = rooms[0];
const endpoints = (last: number) => {
  const middlePage = Math.max(1, Math.floor(last / PER_PAGE / 2));
  return [
    ['room list (unread counts)', '/api/chat/rooms'],
    ['newest 50 (001 page 1)', `/api/chat/rooms/${hot.id}/messages?page=1&per_page=${PER_PAGE}`],
    ['50 in the middle (001 page N/2)', `/api/chat/rooms/${hot.id}/messages?page=${middlePage}&per_page=${PER_PAGE}`],
    ['50 before seq N/2 (parley)', `/api/parley/conversations/${hot.id}/messages?before_seq=${Math.max(2, Math.floor(last / 2))}&limit=${PER_PAGE}`],
    ['search a rare word (0.1%), newest 20', '/api/parley/search?q=k123'],
    ['search a common word (11%), newest 20', '/api/parley/search?q=c3'],
    ['search a prefix of 111 words (11%)', '/api/parley/search?q=w5'],
    ['search two words, newest 20', '/api/parley/search?q=c3%20k12'],
    ['search a rare word by relevance', '/api/parley/search?q=k123&order=relevance'],
    ['search a common word in one room', `/api/parley/search?q=c3&conversation_id=${rooms[1].id}`],
    ['search a word nobody wrote', '/api/parley/search?q=zebra'],
  ] as const;
};
const results: { size: number; dbSize: string; searchBytes: number; seedSeconds: number; rows: { name: string; p50: number; p99: number; mean: number }[] }[] = [];

let total = 0;
try {
  for (const size of sizes) {
    const t0 = performance.now();
    const add = size - total;
    if (add > 0) {
      const hotShare = Math.floor(add / 2);
      const rest = add - hotShare;
      const shares = rooms.map((_, i) => (i === 0 ? hotShare : Math.floor(rest / (ROOMS - 1)) + (i - 1 < rest % (ROOMS - 1) ? 1 : 0)));
      for (let i = 0; i < ROOMS; i++) {
        const r = rooms[i];
        const from = lastSeqs.get(r.id)! + 1;
        if (shares[i] > 0) await seeder.append(r.id, from, shares[i], [reader.user.id, r.partner]);
        lastSeqs.set(r.id, from + shares[i] - 1);
      }
      await seeder.finish(lastSeqs, reader.user.id);
      total = size;
    }
    const seedSeconds = (performance.now() - t0) / 1000;
    const dbSize = await seeder.size();
    const searchBytes = await seeder.searchBytes();
    log(`${size.toLocaleString('en-US')} messages (seeded in ${seedSeconds.toFixed(0)} s, ${dbSize}, search index ${(searchBytes / size).toFixed(0)} B/message); measuring`);
    parley = await startParley();
    const last = lastSeqs.get(hot.id)!;
    const rows = [];
    for (const [name, url] of endpoints(last)) {
      // Checks the answer once: the page has 50 messages, the list has every room with its unread count.
      const body = await api<Record<string, unknown>>('GET', url, reader.access_token);
      if (url === '/api/chat/rooms') {
        const list = body.rooms as { id: number; unread_count: number }[];
        const unread = list.reduce((n, r) => n + r.unread_count, 0);
        const expected = [...lastSeqs].reduce((n, [id, l]) => n + Math.min(l, id % 7), 0);
        if (list.length !== ROOMS || unread !== expected) throw new Error(`room list: ${list.length} rooms, ${unread} unread, expected ${ROOMS} and ${expected}`);
      } else if (url.includes('/search')) {
        const found = (body.results as unknown[]).length;
        if ((found === 0) !== url.includes('zebra') || found > 20) throw new Error(`${url}: ${found} results`);
      } else if ((body.messages as unknown[]).length !== Math.min(PER_PAGE, last)) {
        throw new Error(`${url}: ${(body.messages as unknown[]).length} messages`);
      }
      for (let i = 0; i < 20; i++) await api('GET', url, reader.access_token); // warm-up
      const samples = new Float64Array(SAMPLES);
      for (let i = 0; i < SAMPLES; i++) {
        const t = performance.now();
        await api('GET', url, reader.access_token);
        samples[i] = performance.now() - t;
      }
      const s = summarize(samples)!;
      rows.push({ name, p50: s.p50, p99: s.p99, mean: s.mean });
    }
    await stopChild(parley);
    results.push({ size, dbSize, searchBytes, seedSeconds, rows });
  }
} finally {
  await seeder.close();
  if (values.keep) log(`kept the database: ${databaseUrl}`);
  else {
    if (scratch) await dropScratchDb(scratch);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ report

const names = results[0].rows.map((r) => r.name);
const head = ['request (REST, one at a time)', ...results.map((r) => `${r.size.toLocaleString('en-US')} msgs p50 / p99 ms`), 'largest / smallest p50'];
const table = names.map((name, i) => {
  const p50s = results.map((r) => r.rows[i].p50);
  return [name, ...results.map((r) => `${fmt(r.rows[i].p50)} / ${fmt(r.rows[i].p99)}`), `${fmt(p50s[p50s.length - 1] / p50s[0])}x`];
});
const widths = head.map((h, c) => Math.max(h.length, ...table.map((row) => row[c].length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(`\n# bench:scale, ${values.db}, ${ROOMS} rooms, ${SAMPLES} requests each, ${new Date().toISOString()}`);
console.log(results.map((r) => `# ${r.size.toLocaleString('en-US')} messages: ${r.dbSize}; search index ${(r.searchBytes / 2 ** 20).toFixed(0)} MiB, ${(r.searchBytes / r.size).toFixed(0)} B/message`).join('\n'));
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of table) console.log(line(row));
