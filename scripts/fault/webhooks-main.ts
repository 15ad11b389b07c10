import { parseArgs } from 'node:util';
import { exitOnHelp, num } from '../lib/cli.js';
import { runWebhookFault, WEBHOOK_FAULT_DEFAULTS as D } from './webhooks.js';

const HELP = `npm run fault:webhooks -- [options]

Two Parley processes on a scratch PostgreSQL database deliver one endpoint's events to a
loopback receiver that verifies every signature; the receiver goes down and up, process 1 is
SIGKILLed mid-delivery and restarted. Exit code 1 when an event was lost, repeated under
another id, delivered out of order within its conversation, or badly signed.

  --duration S        seconds of sending (default ${D.durationS})
  --rate N            messages per second (default ${D.rate})
  --conversations N   (default ${D.conversations})
  --seed N            (default ${D.seed})
  --down-at S / --down-ms N   receiver outage (default ${D.receiverDownAtS} s, ${D.receiverDownMs} ms)
  --kill-at S / --kill-down-ms N   SIGKILL of process 1 (default ${D.killAtS} s, ${D.killDownMs} ms)
  --postgres URL      (default: DATABASE_URL when postgres://, else postgres://postgres@127.0.0.1:5432/postgres)
`;

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    rate: { type: 'string' },
    conversations: { type: 'string' },
    seed: { type: 'string' },
    'down-at': { type: 'string' },
    'down-ms': { type: 'string' },
    'kill-at': { type: 'string' },
    'kill-down-ms': { type: 'string' },
    postgres: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
exitOnHelp(values.help, HELP);
const pgUrl = values.postgres ?? (process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : 'postgres://postgres@127.0.0.1:5432/postgres');
const report = await runWebhookFault({
  postgresUrl: pgUrl,
  durationS: num('duration', values.duration, D.durationS),
  rate: num('rate', values.rate, D.rate),
  conversations: num('conversations', values.conversations, D.conversations),
  seed: num('seed', values.seed, D.seed),
  receiverDownAtS: num('down-at', values['down-at'], D.receiverDownAtS),
  receiverDownMs: num('down-ms', values['down-ms'], D.receiverDownMs),
  killAtS: num('kill-at', values['kill-at'], D.killAtS),
  killDownMs: num('kill-down-ms', values['kill-down-ms'], D.killDownMs),
});
console.log(report.text);
process.exit(report.ok ? 0 : 1);
