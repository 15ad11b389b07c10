import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { elapsedLog, exitOnHelp, num } from '../lib/cli.js';
import { formatSoakReport, LIMITS, runSoak, SOAK_DEFAULTS } from './soak.js';

// npm run soak -- [--minutes 60] [--warmup 5] …

const HELP = `npm run soak -- [options]

Starts one Parley process (SQLite unless --env DATABASE_URL=…) and churns it: ${SOAK_DEFAULTS.users} users
connect, act for 2–8 s (sends in 1:1s and groups, uploads of an image and a text file, REST
reads, typing, reactions, read marks), disconnect (one in four abruptly), and come back with
their cursors. Every --every seconds the server runs a full GC (SIGUSR2 to a preload) and its
/metrics are sampled: RSS, heap used, active handles, event listeners, sockets, hub followers.
Prints the series; exit 1 when, after the warm-up, RSS or the heap grew more than
${LIMITS.growth * 100}% (mean of the last tenth against the first), handles or listeners grew more than
${LIMITS.handleSlack}, a message was lost or duplicated, or anything answered 5xx.

  --minutes N    the whole run, warm-up included (default ${SOAK_DEFAULTS.durationMs / 60_000})
  --warmup N     minutes of churn before the samples that count (default ${SOAK_DEFAULTS.warmupMs / 60_000})
  --every N      seconds between samples (default ${SOAK_DEFAULTS.sampleEveryMs / 1000})
  --users N      clients (default ${SOAK_DEFAULTS.users})
  --act-ms N     mean pause between one client's actions (default ${SOAK_DEFAULTS.actEveryMs})
  --no-gc        sample without forcing a GC first
  --env K=V      extra server environment (repeatable), e.g. --env DATABASE_URL=postgres://…
  --json FILE    write the report as JSON
`;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    warmup: { type: 'string' },
    every: { type: 'string' },
    users: { type: 'string' },
    'act-ms': { type: 'string' },
    'no-gc': { type: 'boolean' },
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
  const report = await runSoak({
    durationMs: num('minutes', values.minutes, SOAK_DEFAULTS.durationMs / 60_000) * 60_000,
    warmupMs: num('warmup', values.warmup, SOAK_DEFAULTS.warmupMs / 60_000) * 60_000,
    sampleEveryMs: num('every', values.every, SOAK_DEFAULTS.sampleEveryMs / 1000) * 1000,
    users: num('users', values.users, SOAK_DEFAULTS.users),
    actEveryMs: num('act-ms', values['act-ms'], SOAK_DEFAULTS.actEveryMs),
    gcBeforeSample: !values['no-gc'],
    env,
    log: elapsedLog(),
  });
  process.stdout.write('\n' + formatSoakReport(report) + '\n');
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.exit(report.verdict.ok ? 0 : 1);
} catch (e) {
  process.stderr.write(`soak run failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}
