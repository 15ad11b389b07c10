import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAllChildrenNow } from '../../bench/lib/proc.js';
import { elapsedLog, exitOnHelp, num } from '../lib/cli.js';
import { HTTP_LIMITS_DEFAULTS, REPO_ROOT, formatHttpLimitsReport, runHttpLimits } from './http-limits.js';

// npm run http-limits -- [--messages 10000] [--root DIR] …

const HELP = `npm run http-limits -- [options]

Starts ONE Parley process (SQLite) and measures what expensive and slow clients cost it:
  - catch-up: a backlog of --messages messages of --size characters in one group; --clients
    readers follow GET /api/parley/conversations/{id}/changes from after_seq=0 at once (every
    page; a server without pages answers once). Server RSS (sampled every 20 ms) and CPU.
  - bodies: a request body sent one byte a second, and one that stops after its first bytes:
    how long until the server closes each (watched up to --body-wait seconds).
  - connections: --connections keep-alive connections opened from 127.0.0.1: how many held.
The server runs with its defaults unless --env sets something (repeatable: --env K=V).

  --root DIR           the checkout to start (default: this one). For figures before a change:
                       git archive main src package.json | tar -x -C /tmp/before &&
                       ln -s "$PWD/node_modules" /tmp/before/node_modules
  --messages N         backlog size (default ${HTTP_LIMITS_DEFAULTS.messages})
  --size N             characters per message (default ${HTTP_LIMITS_DEFAULTS.size})
  --clients N          readers catching up at once (default ${HTTP_LIMITS_DEFAULTS.clients})
  --body-wait S        give up on a slow body after S seconds (default ${HTTP_LIMITS_DEFAULTS.bodyWaitS})
  --connections N      connections to open from one address (default ${HTTP_LIMITS_DEFAULTS.connections})
  --env K=V            a setting for the server, e.g. --env HTTP_REQUEST_TIMEOUT_MS=5000
  --json FILE          write the report as JSON
`;

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    messages: { type: 'string' },
    size: { type: 'string' },
    clients: { type: 'string' },
    'body-wait': { type: 'string' },
    connections: { type: 'string' },
    env: { type: 'string', multiple: true },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

exitOnHelp(values.help, HELP);

const env: Record<string, string> = {};
for (const kv of values.env ?? []) {
  const eq = kv.indexOf('=');
  if (eq <= 0) {
    process.stderr.write(`--env takes K=V, got ${kv}\n`);
    process.exit(2);
  }
  env[kv.slice(0, eq)] = kv.slice(eq + 1);
}

process.on('exit', () => killAllChildrenNow());
process.on('SIGINT', () => process.exit(130));

try {
  const report = await runHttpLimits({
    root: path.resolve(values.root ?? REPO_ROOT),
    messages: Math.max(1, num('messages', values.messages, HTTP_LIMITS_DEFAULTS.messages)),
    size: Math.max(20, num('size', values.size, HTTP_LIMITS_DEFAULTS.size)),
    clients: Math.max(1, num('clients', values.clients, HTTP_LIMITS_DEFAULTS.clients)),
    bodyWaitS: num('body-wait', values['body-wait'], HTTP_LIMITS_DEFAULTS.bodyWaitS),
    connections: num('connections', values.connections, HTTP_LIMITS_DEFAULTS.connections),
    env,
    log: elapsedLog(),
  });
  process.stdout.write(formatHttpLimitsReport(report) + '\n');
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.exit(0);
} catch (e) {
  process.stderr.write(`http-limits run failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}
