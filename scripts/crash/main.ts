import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { elapsedLog, exitOnHelp, num } from '../lib/cli.js';
import { CRASH_DEFAULTS, formatCrashReport, runCrash } from './crash.js';

// npm run crash -- [--kills 20] [--seed N] …

const HELP = `npm run crash -- [options]

Starts ONE Parley process on SQLite (the embedded default), has chat clients send text and
file messages over /api/chat/ws, SIGKILLs the process at seeded random moments and restarts
it on the same data; clients reconnect, resume and re-send what was not acknowledged with
the same local_temp_id. Then a clean stop, a clean start (its start-up sweep settles the
files), and a check of the database (read-only) and FILES_ROOT against every ack.
Exit code 1 when an acked message is lost, stored twice, a seq is missing or repeated, a file
is missing or orphaned, the integrity check fails, or a send stayed unacknowledged.

  --kills N            SIGKILL + restart cycles (default ${CRASH_DEFAULTS.kills})
  --seed N             seed of the kill times, message mix, pacing and backoff (default ${CRASH_DEFAULTS.seed})
  --clients N          users; pairs share a direct room (default ${CRASH_DEFAULTS.clients})
  --rate N             messages per second per client (default ${CRASH_DEFAULTS.rate})
  --file-share X       share of messages with a file, 0..1 (default ${CRASH_DEFAULTS.fileShare})
  --min-up-ms N        shortest time up before a kill (default ${CRASH_DEFAULTS.minUpMs})
  --max-up-ms N        longest time up before a kill (default ${CRASH_DEFAULTS.maxUpMs})
  --catchup-timeout S  bound on the final catch-up (default ${CRASH_DEFAULTS.catchupTimeoutS})
  --resume seq|none    clients reconnect with last_seq (default), or without it and re-send every
                       unacknowledged message (the documents' own clients; exercises retries)
  --json FILE          write the full report as JSON
  --keep               keep the run directory (database, files, log) even when the run passes
`;

const { values } = parseArgs({
  options: {
    kills: { type: 'string' },
    seed: { type: 'string' },
    clients: { type: 'string' },
    rate: { type: 'string' },
    'file-share': { type: 'string' },
    'min-up-ms': { type: 'string' },
    'max-up-ms': { type: 'string' },
    'catchup-timeout': { type: 'string' },
    resume: { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.resume !== undefined && values.resume !== 'seq' && values.resume !== 'none') {
  process.stderr.write(`--resume must be seq or none, got ${values.resume}\n`);
  process.exit(2);
}

exitOnHelp(values.help, HELP);

const log = elapsedLog();

try {
  const report = await runCrash({
    kills: num('kills', values.kills, CRASH_DEFAULTS.kills),
    seed: num('seed', values.seed, CRASH_DEFAULTS.seed),
    clients: Math.max(2, num('clients', values.clients, CRASH_DEFAULTS.clients)),
    rate: num('rate', values.rate, CRASH_DEFAULTS.rate),
    fileShare: Math.min(1, num('file-share', values['file-share'], CRASH_DEFAULTS.fileShare)),
    minUpMs: num('min-up-ms', values['min-up-ms'], CRASH_DEFAULTS.minUpMs),
    maxUpMs: num('max-up-ms', values['max-up-ms'], CRASH_DEFAULTS.maxUpMs),
    catchupTimeoutS: num('catchup-timeout', values['catchup-timeout'], CRASH_DEFAULTS.catchupTimeoutS),
    resume: values.resume === 'none' ? 'none' : 'seq',
    keep: values.keep ?? false,
    log,
  });
  process.stdout.write(formatCrashReport(report) + '\n');
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.exit(report.passed ? 0 : 1);
} catch (e) {
  process.stderr.write(`crash run failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}
