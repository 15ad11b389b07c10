// The store's share of a search (docs/search.md "Figures"): `searchMessages` called directly
// on a database that `npm run bench:scale -- --keep` seeded, the queries of bench:scale, no
// HTTP. Read-only. Several implementations (`--variant path.ts`: a module exporting SqlSearch,
// e.g. an earlier sql/search.ts copied beside it) are timed interleaved, call by call, so a
// loaded machine slows them alike.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { exitOnHelp } from '../scripts/lib/cli.js';
import { createPostgresStore } from '../src/backends/store/postgres-store.js';
import { SqlSearch } from '../src/backends/store/sql/search.js';
import { raw } from '../src/backends/store/sql-runner.js';
import type { SearchQuery } from '../src/backends/store/store.js';
import { fmt, summarize } from './lib/stats.js';

const HELP = `node --import tsx bench/search-store.ts --db URL [options]

  --db URL          a PostgreSQL database seeded by bench:scale --keep (read only)
  --samples N       calls per query and variant (default 50), after 5 of warm-up
  --variant FILE    another module exporting SqlSearch, timed beside this checkout's (repeatable)
  --only NAMES      comma-separated query names (default all)
`;

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    samples: { type: 'string', default: '50' },
    variant: { type: 'string', multiple: true, default: [] },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
exitOnHelp(values.help || !values.db, HELP);

const store = createPostgresStore(values.db!);
const ctx = { adapter: store.adapter, db: store.db, runner: store.runner };
type Search = { searchMessages: SqlSearch['searchMessages'] };
const variants: { name: string; search: Search }[] = [{ name: 'this', search: new SqlSearch(ctx) }];
for (const file of values.variant) {
  const mod = (await import(pathToFileURL(path.resolve(file)).href)) as { SqlSearch: new (c: typeof ctx) => Search };
  variants.push({ name: path.basename(file, '.ts'), search: new mod.SqlSearch(ctx) });
}

// bench:scale's reader is in every room; its second room is the "one room" of its queries.
const [reader] = await store.runner.all<{ user_id: number }>(raw('SELECT user_id FROM participants GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1', []));
const rooms = await store.runner.all<{ id: number }>(raw('SELECT id FROM conversations ORDER BY id LIMIT 2', []));
const userId = Number(reader.user_id);
const queries: [string, Partial<SearchQuery>][] = [
  ['rare word', { text: 'k123' }],
  ['common word', { text: 'c3' }],
  ['prefix', { text: 'w5' }],
  ['two words', { text: 'c3 k12' }],
  ['rare by relevance', { text: 'k123', order: 'relevance' }],
  ['common in one room', { text: 'c3', conversationId: Number(rooms[1].id) }],
  ['nobody wrote', { text: 'zebra' }],
  ['common and nobody', { text: 'c3 zebra' }],
  ['common by relevance', { text: 'c3', order: 'relevance' }],
];
const chosen = values.only ? queries.filter(([n]) => values.only!.split(',').includes(n)) : queries;
const samples = Number(values.samples);
const times = new Map<string, number[]>();
const call = async (s: Search, q: Partial<SearchQuery>) => {
  const t = performance.now();
  const r = await s.searchMessages({ userId, order: 'newest', limit: 20, ...q } as SearchQuery);
  return { ms: performance.now() - t, found: r.hits.length };
};
const load = [os.loadavg()[0]];
for (const [name, q] of chosen) {
  // Each variant finds as many: a check, and the warm-up.
  const found = new Set<number>();
  for (let i = 0; i < 5; i++) for (const v of variants) found.add((await call(v.search, q)).found);
  if (found.size !== 1) throw new Error(`${name}: the variants disagree (${[...found].join(', ')} hits)`);
  for (let i = 0; i < samples; i++) {
    // Interleaved, in turn first, so a slow moment falls on each alike.
    for (let j = 0; j < variants.length; j++) {
      const v = variants[(i + j) % variants.length];
      const key = `${name}\t${v.name}`;
      times.set(key, [...(times.get(key) ?? []), (await call(v.search, q)).ms]);
    }
  }
  load.push(os.loadavg()[0]);
}
console.log(`# searchMessages, ${samples} calls each, load average ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}, ${new Date().toISOString()}`);
console.log(['query', ...variants.map((v) => `${v.name} p50 / p99 ms`)].join('\t'));
for (const [name] of chosen) {
  console.log([name, ...variants.map((v) => {
    const s = summarize(Float64Array.from(times.get(`${name}\t${v.name}`)!))!;
    return `${fmt(s.p50)} / ${fmt(s.p99)}`;
  })].join('\t'));
}
await store.close();
