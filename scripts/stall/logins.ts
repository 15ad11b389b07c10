import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { elapsedLog, exitOnHelp, num } from '../lib/cli.js';
import { formatLoginStallReport, LOGIN_STALL_DEFAULTS, runLoginStall } from './logins-lib.js';

// npm run stall:logins -- [--seconds 10] [--rate 120] …

const HELP = `npm run stall:logins -- [options]

Starts one Parley process on SQLite; two users exchange messages over /api/chat/ws (each
send waits for its ack), first with nothing else going on, then while logins arrive at
--rate per second (open loop, half with a wrong password: every one costs an argon2 hash).
Prints the send-to-ack latency (p50/p99/max) of both phases and what the logins got.

  --seconds N      length of each phase (default ${LOGIN_STALL_DEFAULTS.phaseMs / 1000})
  --rate N         logins per second in the second phase (default ${LOGIN_STALL_DEFAULTS.loginRate})
  --every-ms N     each chatter sends one message this often (default ${LOGIN_STALL_DEFAULTS.sendEveryMs})
  --env K=V        extra server environment (repeatable), e.g. --env PASSWORD_HASH_CONCURRENCY=4
  --json FILE      write the report as JSON
`;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    rate: { type: 'string' },
    'every-ms': { type: 'string' },
    env: { type: 'string', multiple: true },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
exitOnHelp(values.help, HELP);

const env: Record<string, string> = {};
for (const kv of values.env ?? []) {
  const i = kv.indexOf('=');
  if (i <= 0) {
    process.stderr.write(`--env wants K=V, got ${kv}\n`);
    process.exit(2);
  }
  env[kv.slice(0, i)] = kv.slice(i + 1);
}

try {
  const report = await runLoginStall({
    phaseMs: num('seconds', values.seconds, LOGIN_STALL_DEFAULTS.phaseMs / 1000) * 1000,
    loginRate: num('rate', values.rate, LOGIN_STALL_DEFAULTS.loginRate),
    sendEveryMs: Math.max(1, num('every-ms', values['every-ms'], LOGIN_STALL_DEFAULTS.sendEveryMs)),
    env,
    log: elapsedLog(),
  });
  process.stdout.write(formatLoginStallReport(report) + '\n');
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.exit(0);
} catch (e) {
  process.stderr.write(`stall run failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}
