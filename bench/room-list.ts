// npm run bench:rooms: the room list of a user in 100 groups of 1000 members (by default),
// through every dialect: bytes of one answer, median time, and the server's heap growth while
// answering. A room list must cost its rooms, not their members: a direct room needs its
// pair, a group its member count and a few names.
//
// `--parley-dir DIR` measures another checkout (e.g. a snapshot of main with node_modules
// linked), so the same script prints the figure before and after a change.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { exitOnHelp } from '../scripts/lib/cli.js';
import { cleanupAll, createScratchDb, dropScratchDb } from './lib/scratch.js';
import { measureRoomLists, seedRoomList } from './lib/room-list.js';

const HELP = `npm run bench:rooms -- [options]

  --groups N         groups the user is in (default 100)
  --members N        members of each group, the user included (default 1000)
  --samples N        requests per endpoint (default 9)
  --db sqlite|postgres   (default sqlite; postgres: a scratch database on --pg-url)
  --parley-dir DIR   the checkout to measure (default: this one)
  --pg-url URL       default $BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/postgres
`;

const { values } = parseArgs({
  options: {
    groups: { type: 'string', default: '100' },
    members: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '9' },
    db: { type: 'string', default: 'sqlite' },
    'parley-dir': { type: 'string' },
    'pg-url': { type: 'string', default: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    help: { type: 'boolean', default: false },
  },
});
exitOnHelp(values.help, HELP);

const ROOT = path.resolve(values['parley-dir'] ?? path.join(import.meta.dirname, '..'));
const log = (m: string) => process.stdout.write(`[rooms] ${m}\n`);

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-rooms-'));
  const db = values.db === 'postgres' ? await createScratchDb(values['pg-url']) : null;
  const { loadConfig } = await import(pathToFileURL(path.join(ROOT, 'src/config/config.ts')).href);
  const { createParley } = await import(pathToFileURL(path.join(ROOT, 'src/app/app.ts')).href);
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db ? db.url : `sqlite:${path.join(dir, 'parley.db')}`,
    JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256-tokens',
    REGISTRATION: 'open',
    LOG_LEVEL: 'silent',
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_REST_WRITES_PER_SECOND: '0',
    RATE_USER_READS_PER_SECOND: '0',
  });
  const parley = await createParley(config, { logger: false });
  try {
    const base = (await parley.listen()).replace('localhost', '127.0.0.1');
    const groups = Number(values.groups);
    const members = Number(values.members);
    log(`measuring ${ROOT} on ${values.db}: ${groups} groups of ${members} members`);
    const t = performance.now();
    const fx = await seedRoomList(base, parley.store, { groups, members });
    log(`seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    let peak = heap0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    const figures = await measureRoomLists(base, fx.token, Number(values.samples));
    clearInterval(sampler);
    process.stdout.write(`\n${'room list'.padEnd(52)} ${'rooms'.padStart(6)} ${'bytes'.padStart(12)} ${'median ms'.padStart(10)}\n`);
    for (const f of figures) {
      process.stdout.write(`${`${f.label} ${f.path}`.padEnd(52)} ${String(f.rooms).padStart(6)} ${f.bytes.toLocaleString('en').padStart(12)} ${f.ms.toFixed(1).padStart(10)}\n`);
    }
    process.stdout.write(`heap growth while answering (server and client, one process): peak +${((peak - heap0) / 1048576).toFixed(1)} MiB\n`);
  } finally {
    await parley.close().catch(() => {});
    if (db) await dropScratchDb(db.name).catch(() => {});
    await cleanupAll(() => {}).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
