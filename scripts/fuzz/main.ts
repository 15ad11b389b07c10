import { parseArgs } from 'node:util';
import { exitOnHelp } from '../lib/cli.js';
import { closeAgent, failures, fuzzServer, runFuzz, summary } from '../../test/hardening/fuzz-lib.js';
import { hasPostgres } from '../../test/helpers/pg.js';
import { setup as setupTemplate, teardown as teardownTemplate } from '../../test/helpers/global-setup.js';

// npm run fuzz -- [--runs 5000] [--frames 5000] [--anonymous 50] [--seed N] [--budget S] [--verbose]

const HELP = `npm run fuzz -- [options]

The full form of test/hardening/fuzz.test.ts (issue 9 item 1): starts Parley in this process
(SQLite; with DATABASE_URL=postgres://host/NAME a scratch database cloned from NAME_tpl, which
this script migrates and drops as the test run does; use a NAME of your own), enumerates every REST operation from
/docs/json and every frame type of every socket, sends generated bad input to each, and
checks: no response >= 500, every refusal a 4xx {"detail"}, every bad frame an error frame
(the socket still answering ping) or a documented close, no row written, no uncaught
exception or unhandled rejection, RSS growth < 50 MB. Exit code 1 on any failure.

  --runs N        inputs per REST operation (default 5000)
  --frames N      inputs per frame type (default: --runs)
  --anonymous N   extra anonymous / bad-token inputs per secured operation (default 50)
  --seed N        fast-check seed (default 20260609)
  --budget S      stop generating after S seconds (default: none); the counts say how far it got
  --only REGEX    only the surfaces whose name matches ('REST POST /api/chat/rooms',
                  'WS /api/parley/ws send', 'WS /api/chat/ws <any>')
  --verbose       print each surface as it finishes
`;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5000' },
    frames: { type: 'string' },
    anonymous: { type: 'string', default: '50' },
    seed: { type: 'string', default: '20260609' },
    budget: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
exitOnHelp(values.help, HELP);

const runs = Number(values.runs);
if (hasPostgres) await setupTemplate();
const server = await fuzzServer();
let code = 0;
try {
  const t0 = Date.now();
  const r = await runFuzz(server, {
    seed: Number(values.seed),
    perOperation: runs,
    perFrameType: Number(values.frames ?? runs),
    anonymousPerOperation: Number(values.anonymous),
    budgetSeconds: values.budget ? Number(values.budget) : undefined,
    only: values.only ? new RegExp(values.only) : undefined,
    log: values.verbose ? (line) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`) : undefined,
  });
  console.log(`fuzz seed=${values.seed} runs=${runs} db=${hasPostgres ? 'postgres' : 'sqlite'}\n` + summary(r));
  const f = failures(r);
  if (f.length > 0) {
    console.log(`\nFAILURES (${f.length}):\n` + f.join('\n'));
    code = 1;
  } else console.log('\nPASS: no 5xx, every refusal a 4xx {detail} or an error frame / documented close, no row written, no crash');
} finally {
  closeAgent();
  await server.close();
  if (hasPostgres) await teardownTemplate();
}
process.exit(code);
