import { parseArgs } from 'node:util';
import { exitOnHelp, num } from '../lib/cli.js';
import { DEFAULTS, runFault } from './fault.js';

// npm run fault -- [--processes 3] [--clients 24] [--duration 30] [--seed N] [--kills 1] [--redis-restarts 1] [--resume-phase 10] …

const HELP = `npm run fault -- [options]

Starts a private redis-server, a scratch PostgreSQL database and N Parley processes on them,
connects chat clients round-robin, injects faults (SIGKILL + restart of a process, kill +
restart of Redis, SIGSTOP + SIGCONT of a process) while they send, then reconciles every client against the REST history.
Exit code 1 when anything was lost, stored twice, delivered twice, out of order or missing.

  --processes N        Parley processes (default ${DEFAULTS.processes})
  --clients N          users; each has a socket per room it is in (default ${DEFAULTS.clients})
  --duration S         seconds of sending (default ${DEFAULTS.durationS})
  --seed N             seed of the schedule, kill targets, pacing and backoff (default ${DEFAULTS.seed})
  --kills N            process SIGKILLs, each followed by a restart on the same port (default ${DEFAULTS.kills})
  --redis-restarts N   Redis kills, each followed by a restart on the same port (default ${DEFAULTS.redisRestarts})
  --stops N            SIGSTOPs of a process (frozen mid-work, locks held), SIGCONT after --stop-ms (default ${DEFAULTS.stops})
  --stop-ms N          how long a stopped process stays frozen (default ${DEFAULTS.stopMs})
  --rate N             messages per second per user (default ${DEFAULTS.rate})
  --down-ms N          how long a killed process stays down (default ${DEFAULTS.downMs})
  --redis-down-ms N    how long Redis stays down (default ${DEFAULTS.redisDownMs})
  --catchup-timeout S  bound on the catch-up after the sends stop (default ${DEFAULTS.catchupTimeoutS})
  --resume seq|change  resume with last_seq only, or with last_seq and last_change_seq (default ${DEFAULTS.resume})
  --resume-phase S     seconds of resume under load after the faults: everyone sends and edits while half
                       of the sockets reconnect with their cursors again and again (default ${DEFAULTS.resumeS}; 0: none)
  --edit-rate N        edits per second per user in that phase (default ${DEFAULTS.editRate})
  --postgres URL       PostgreSQL server (default: DATABASE_URL when it is postgres://, else postgres://postgres@127.0.0.1:5432/postgres)
  --json FILE          write the full report (every anomaly) as JSON
  --keep               keep the run directory (process logs) even when the run passes
  --keep-db            keep the scratch database (its name is logged) to query the rows behind an anomaly
`;

const { values } = parseArgs({
  options: {
    processes: { type: 'string' },
    clients: { type: 'string' },
    duration: { type: 'string' },
    seed: { type: 'string' },
    kills: { type: 'string' },
    'redis-restarts': { type: 'string' },
    stops: { type: 'string' },
    'stop-ms': { type: 'string' },
    rate: { type: 'string' },
    'down-ms': { type: 'string' },
    'redis-down-ms': { type: 'string' },
    'catchup-timeout': { type: 'string' },
    postgres: { type: 'string' },
    resume: { type: 'string' },
    'resume-phase': { type: 'string' },
    'edit-rate': { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean' },
    'keep-db': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

exitOnHelp(values.help, HELP);

function bad(name: string, v: string): never {
  process.stderr.write(`--${name}: unexpected value ${v}\n`);
  process.exit(2);
}

const envPg = process.env.DATABASE_URL && /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL) ? process.env.DATABASE_URL : undefined;
const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${sig}: stopping and cleaning up (again to exit at once)\n`);
    controller.abort();
  });
}

try {
  const report = await runFault({
    processes: num('processes', values.processes, DEFAULTS.processes),
    clients: num('clients', values.clients, DEFAULTS.clients),
    durationS: num('duration', values.duration, DEFAULTS.durationS),
    seed: num('seed', values.seed, DEFAULTS.seed),
    kills: num('kills', values.kills, DEFAULTS.kills),
    redisRestarts: num('redis-restarts', values['redis-restarts'], DEFAULTS.redisRestarts),
    stops: num('stops', values.stops, DEFAULTS.stops),
    stopMs: num('stop-ms', values['stop-ms'], DEFAULTS.stopMs),
    rate: num('rate', values.rate, DEFAULTS.rate),
    downMs: num('down-ms', values['down-ms'], DEFAULTS.downMs),
    redisDownMs: num('redis-down-ms', values['redis-down-ms'], DEFAULTS.redisDownMs),
    catchupTimeoutS: num('catchup-timeout', values['catchup-timeout'], DEFAULTS.catchupTimeoutS),
    postgresUrl: values.postgres ?? envPg ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    resume: values.resume === 'seq' ? 'seq' : values.resume === undefined || values.resume === 'change' ? 'change' : bad('resume', values.resume),
    resumeS: num('resume-phase', values['resume-phase'], DEFAULTS.resumeS),
    editRate: num('edit-rate', values['edit-rate'], DEFAULTS.editRate),
    jsonPath: values.json,
    keep: values.keep ?? false,
    keepDatabase: values['keep-db'] ?? false,
    signal: controller.signal,
  });
  console.log('\n' + report.text);
  process.exit(report.ok ? 0 : 1);
} catch (e) {
  console.error(`fault run failed: ${(e as Error).stack ?? e}`);
  process.exit(controller.signal.aborted ? 130 : 2);
}
