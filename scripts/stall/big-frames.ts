import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { elapsedLog, exitOnHelp, num } from '../lib/cli.js';
import { BIG_FRAMES_DEFAULTS, formatBigFrames, runBigFrames, type Phase } from './big-frames-lib.js';

// npm run stall:frames -- [--anon 4] [--anon-mb 80] [--auth 2] [--auth-frame-mb 78] [--file-mb 50] [--text-mb 78] …

const HELP = `npm run stall:frames -- [options]

Starts ONE Parley process (SQLite, a temp DATA_DIR) and prints, per phase, the server's RSS
(before, peak, and after a hold) and the longest ping → pong another client saw (the stall):
  (a) anonymous sockets each send one huge frame over raw TCP and never answer a close;
  (b) authenticated sockets each send a frame carrying a file over every limit (refused);
  (c) authenticated sockets each send a 50 MiB file in 001's files_data (accepted);
  (d) authenticated sockets each send a frame of text, no file (only files may be that big).

  --anon N            anonymous sockets of (a) (default ${BIG_FRAMES_DEFAULTS.anon})
  --anon-mb N         MiB per anonymous frame (default ${BIG_FRAMES_DEFAULTS.anonMb})
  --auth N            authenticated sockets of (b) and (c) (default ${BIG_FRAMES_DEFAULTS.auth})
  --auth-frame-mb N   MB per frame of (b) (default ${BIG_FRAMES_DEFAULTS.authFrameMb})
  --file-mb N         MiB per file of (c) (default ${BIG_FRAMES_DEFAULTS.fileMb})
  --text-mb N         MB per frame of (d) (default ${BIG_FRAMES_DEFAULTS.textMb})
  --hold S            seconds after sending before memory is read again (default ${BIG_FRAMES_DEFAULTS.holdS})
  --timeout S         longest wait for a phase's answers (default ${BIG_FRAMES_DEFAULTS.phaseTimeoutS})
  --phases LIST       comma-separated: anon,auth-big,auth-file,auth-text (default all)
  --parley-dir DIR    measure another checkout (e.g. a snapshot of main, node_modules linked)
  --env K=V           a server setting (repeatable), e.g. --env WS_BIG_FRAMES_AT_ONCE=1
  --wait-quiet S      before each phase, wait up to S seconds for the machine to go quiet
  --profile DIR       write a CPU profile of each server to DIR (bench/profile-summary.ts DIR)
  --json FILE         write the report as JSON
  --keep              keep the run directory (server log)
`;

const { values } = parseArgs({
  options: {
    anon: { type: 'string' },
    'anon-mb': { type: 'string' },
    auth: { type: 'string' },
    'auth-frame-mb': { type: 'string' },
    'file-mb': { type: 'string' },
    'text-mb': { type: 'string' },
    hold: { type: 'string' },
    timeout: { type: 'string' },
    phases: { type: 'string' },
    'parley-dir': { type: 'string' },
    env: { type: 'string', multiple: true },
    json: { type: 'string' },
    profile: { type: 'string' },
    'wait-quiet': { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
exitOnHelp(values.help, HELP);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = Object.fromEntries((values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const phases = (values.phases ?? 'anon,auth-big,auth-file,auth-text').split(',').map((p) => p.trim()) as Phase[];
const log = elapsedLog();

const report = await runBigFrames({
  parleyDir: path.resolve(values['parley-dir'] ?? root),
  anon: num('anon', values.anon, BIG_FRAMES_DEFAULTS.anon),
  anonMb: num('anon-mb', values['anon-mb'], BIG_FRAMES_DEFAULTS.anonMb),
  auth: num('auth', values.auth, BIG_FRAMES_DEFAULTS.auth),
  authFrameMb: num('auth-frame-mb', values['auth-frame-mb'], BIG_FRAMES_DEFAULTS.authFrameMb),
  fileMb: num('file-mb', values['file-mb'], BIG_FRAMES_DEFAULTS.fileMb),
  textMb: num('text-mb', values['text-mb'], BIG_FRAMES_DEFAULTS.textMb),
  holdS: num('hold', values.hold, BIG_FRAMES_DEFAULTS.holdS),
  phaseTimeoutS: num('timeout', values.timeout, BIG_FRAMES_DEFAULTS.phaseTimeoutS),
  env,
  phases,
  keep: values.keep ?? false,
  waitQuietS: num('wait-quiet', values['wait-quiet'], 0),
  profileDir: values.profile ? path.resolve(values.profile) : undefined,
  log,
});
process.stdout.write('\n' + formatBigFrames(report) + '\n');
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
process.exit(0);
