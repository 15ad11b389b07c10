import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { elapsedLog, exitOnHelp } from '../lib/cli.js';
import { ALL_PHASES, PHASES, SHORT_PHASES, formatImageBombReport, runImageBombs, type PhaseName } from './image-bombs.js';

// npm run stall -- [--root DIR] [--short] [--phase NAME …]

const HELP = `npm run stall -- [options]

Starts one Parley process (SQLite, a temp DATA_DIR) from a source tree and sends it hostile
images and audio over real HTTP and WebSocket, phase by phase, printing for each the server's
peak RSS growth, its CPU seconds, how long the uploads took to be answered, and another
user's message ack latency meanwhile. Exit code 1 when a refused file left something stored.

  --root DIR     the source tree to start (default: this checkout); e.g. an older commit's
                 tree with a node_modules link, for a before/after figure
  --short        only the phases CI runs (${SHORT_PHASES.join(', ')})
  --phase NAME   one phase (repeatable): ${ALL_PHASES.join(', ')}

Phases:
${ALL_PHASES.map((p) => `  ${p.padEnd(12)} ${PHASES[p]}`).join('\n')}
`;

const { values } = parseArgs({
  options: { root: { type: 'string' }, short: { type: 'boolean' }, phase: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
});
exitOnHelp(values.help, HELP);
const phases = (values.phase as PhaseName[] | undefined) ?? (values.short ? SHORT_PHASES : ALL_PHASES);
for (const p of phases) {
  if (!(p in PHASES)) {
    process.stderr.write(`unknown phase ${p}\n`);
    process.exit(2);
  }
}
const root = path.resolve(values.root ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../..'));
const report = await runImageBombs({ root, phases, log: elapsedLog() });
process.stdout.write('\n' + formatImageBombReport(report) + '\n');
const refusedOnly = phases.every((p) => p.startsWith('bomb') || p.startsWith('mp3'));
process.exit(refusedOnly && report.storedFiles > 0 ? 1 : 0);
