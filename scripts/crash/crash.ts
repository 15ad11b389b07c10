import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ParleyProcess, freePort, sleep } from '../fault/cluster.js';
import { api, seededRandom } from '../fault/fault.js';
import { checkCrashRun, walk, type CheckDetails, type CheckFigures } from './check.js';
import { CrashClient, type ClientUser, type Sent } from './client.js';

// A crash run on the embedded default: ONE Parley process on SQLite, SIGKILLed at seeded
// random moments while clients send, restarted on the same data each time; then a clean
// stop, a last clean start (its start-up sweep settles the files), and the check of the
// database and the files against every acknowledgement.

export interface CrashOptions {
  kills: number;
  seed: number;
  /** Users; pairs of them share a direct room, each has one socket on it. */
  clients: number;
  /** Messages per second per client. */
  rate: number;
  /** Share of messages that carry a file (half uploaded first, half inline). */
  fileShare: number;
  /** A kill comes after the process has been ready this long (seeded, uniform). */
  minUpMs: number;
  maxUpMs: number;
  /** Bound on waiting for every client to have its sends acknowledged after the last restart. */
  catchupTimeoutS: number;
  /** 'seq': clients resume with last_seq; 'none': they do not, and re-send everything unacknowledged. */
  resume: 'seq' | 'none';
  keep: boolean;
  log: (line: string) => void;
}

export const CRASH_DEFAULTS: Omit<CrashOptions, 'log'> = {
  kills: 20,
  seed: 1,
  clients: 6,
  rate: 15,
  fileShare: 0.15,
  minUpMs: 300,
  maxUpMs: 2_500,
  catchupTimeoutS: 30,
  resume: 'seq',
  keep: false,
};

export interface CrashReport {
  seed: number;
  resume: 'seq' | 'none';
  killsPlanned: number;
  killsSurvived: number;
  sent: number;
  acked: number;
  /** Sent, never acknowledged, not given up: still in flight at the end. */
  unacked: number;
  /** Given up after repeated error frames. */
  failed: number;
  fileMessagesSent: number;
  fileMessagesAcked: number;
  uploadsRequested: number;
  ackedViaReplay: number;
  ackMismatches: number;
  /** `.part` files (written, not yet renamed) and staging files found right after the kills: what the start-up sweep had to settle. */
  partsAfterKills: number;
  stagedAfterKills: number;
  /** Of those `.part` files, the ones whose row had committed: renamed in place by the next start-up sweep. */
  rolledForward: number;
  errorCodes: Record<string, number>;
  catchupTimedOut: boolean;
  /** Lines of the server's log at level error or above (or not pino JSON), across every start. */
  serverErrors: string[];
  durationS: number;
  figures: CheckFigures;
  details: CheckDetails;
  /** The run directory (kept when the run failed or with `keep`). */
  dir: string | null;
  passed: boolean;
}

const JWT_SECRET = 'crash-run-secret-that-is-long-enough-for-hs256';


async function expectOk(what: string, r: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const res = await r;
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function runCrash(options: Partial<CrashOptions> = {}): Promise<CrashReport> {
  const o: CrashOptions = { ...CRASH_DEFAULTS, log: () => {}, ...options };
  const rng = seededRandom(o.seed);
  const runTag = `k${o.seed}-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-crash-'));
  const dataDir = path.join(dir, 'data');
  const dbFile = path.join(dataDir, 'parley.db');
  const port = await freePort();
  const env = {
    DATABASE_URL: `sqlite:${dbFile}`,
    JWT_SECRET,
    LOG_LEVEL: 'warn',
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_REST_WRITES_PER_SECOND: '0',
    RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    RATE_USER_READS_PER_SECOND: '0',
  };
  const logFile = path.join(dir, 'parley.log');
  const proc = new ParleyProcess({ index: 0, port, dataDir, logFile, env });
  const started = Date.now();
  const clients: CrashClient[] = [];
  let killsSurvived = 0;
  const seenParts = new Set<string>();
  const seenStaged = new Set<string>();
  let rolledForward = 0;
  let catchupTimedOut = false;
  let passed = false;
  try {
    await proc.start();
    o.log(`parley on port ${port}, data in ${dataDir}`);

    // Users and rooms.
    const users: ClientUser[] = [];
    for (let i = 0; i < o.clients; i++) {
      const body = await expectOk(
        `register user ${i}`,
        api(port, 'POST', '/api/auth/register', { json: { email: `crash-${runTag}-${i}@example.com`, password: `password-${runTag}-${i}`, name: `Crash ${i}` } }),
        201,
      );
      users.push({ index: i, id: body.user.id, token: body.access_token });
    }
    const roomOf: number[] = [];
    for (let i = 0; i < users.length; i += 2) {
      const j = i + 1 < users.length ? i + 1 : 0;
      const body = await expectOk(`room ${i}-${j}`, api(port, 'POST', '/api/chat/rooms', { token: users[i].token, json: { receiver_id: users[j].id } }));
      roomOf[i] = body.id;
      if (j !== 0) roomOf[j] = body.id;
    }

    // Clients.
    const deps = { port: () => port, rng, now: Date.now, runTag, fileShare: o.fileShare, resume: o.resume, log: o.log };
    for (const u of users) clients.push(new CrashClient(u.index, u, roomOf[u.index], o.rate, deps));
    for (const c of clients) c.connect();
    const until = Date.now() + 15_000;
    while (!clients.every((c) => c.state === 'ready')) {
      if (Date.now() > until) throw new Error('clients did not connect');
      await sleep(20);
    }
    for (const c of clients) c.startSending();

    // Kills.
    for (let k = 1; k <= o.kills; k++) {
      const up = o.minUpMs + rng() * (o.maxUpMs - o.minUpMs);
      await sleep(up);
      const before = clients.reduce((n, c) => n + c.sent.size, 0);
      await proc.kill();
      // What the kill interrupted on disk: files written but not renamed (`.part`), uploads being received.
      const parts = walk(path.join(dataDir, 'static'), dataDir).filter((f) => f.endsWith('.part') && !seenParts.has(f));
      const staged = walk(path.join(dataDir, '.staging'), dataDir).filter((f) => !seenStaged.has(f));
      for (const f of parts) seenParts.add(f);
      for (const f of staged) seenStaged.add(f);
      o.log(`kill ${k}/${o.kills} after ${Math.round(up)} ms up (${before} sent so far; ${parts.length} new .part and ${staged.length} new staging files)`);
      const t = Date.now();
      await proc.start();
      killsSurvived++;
      // A .part whose row committed is renamed by the start-up sweep (rolled forward); one without a row waits for the grace period.
      const rolled = parts.filter((f) => !existsSync(path.join(dataDir, f)) && existsSync(path.join(dataDir, f.slice(0, -'.part'.length))));
      rolledForward += rolled.length;
      o.log(`restarted in ${Date.now() - t} ms${rolled.length ? `; ${rolled.length} .part rolled forward by the start-up sweep` : ''}`);
    }

    // Catch-up: one more stretch of sending, then every send acknowledged.
    await sleep(o.minUpMs);
    for (const c of clients) c.stopSending();
    const deadline = Date.now() + o.catchupTimeoutS * 1000;
    while (!clients.every((c) => c.settled)) {
      if (Date.now() > deadline) {
        catchupTimedOut = true;
        o.log(`catch-up timed out: ${clients.reduce((n, c) => n + [...c.unacked.values()].filter((s) => !s.failed).length, 0)} unacked`);
        break;
      }
      await sleep(50);
    }
    for (const c of clients) c.close();
    o.log('clients closed; clean stop');

    // A clean stop, then a clean start whose start-up sweep settles every file (no grace), and a
    // clean stop. The last start runs in this process (createParley: the same migrate + sweep a
    // process start does), which spares one more ~5 s process start-up on a busy machine.
    await proc.stop(10_000);
    await proc.closeLog();
    o.log('stopped; clean start (start-up sweep)');
    const { loadConfig } = await import('../../src/config/config.js');
    const { createParley } = await import('../../src/app/app.js');
    const last = await createParley(
      loadConfig({ ...env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', FILES_SWEEP_GRACE_SECONDS: '0' }),
      { logger: false },
    );
    await last.close();
    o.log('stopped; checking');

    const { figures, details } = checkCrashRun(dbFile, dataDir, clients.flatMap((c) => [...c.sent.values()]));
    const all: Sent[] = clients.flatMap((c) => [...c.sent.values()]);
    const errorCodes: Record<string, number> = {};
    for (const c of clients) for (const [code, n] of c.errorCodes) errorCodes[code] = (errorCodes[code] ?? 0) + n;
    const report: CrashReport = {
      seed: o.seed,
      resume: o.resume,
      killsPlanned: o.kills,
      killsSurvived,
      sent: all.length,
      acked: all.filter((s) => s.seq !== null).length,
      unacked: all.filter((s) => s.seq === null && !s.failed).length,
      failed: all.filter((s) => s.seq === null && s.failed).length,
      fileMessagesSent: all.filter((s) => s.kind !== 'text').length,
      fileMessagesAcked: all.filter((s) => s.kind !== 'text' && s.seq !== null).length,
      uploadsRequested: all.reduce((n, s) => n + s.uploads, 0),
      ackedViaReplay: all.filter((s) => s.ackVia === 'replay').length,
      ackMismatches: clients.reduce((n, c) => n + c.ackMismatches.length, 0),
      partsAfterKills: seenParts.size,
      stagedAfterKills: seenStaged.size,
      rolledForward,
      errorCodes,
      catchupTimedOut,
      serverErrors: proc.problems(),
      durationS: (Date.now() - started) / 1000,
      figures,
      details,
      dir: null,
      passed: false,
    };
    const f = figures;
    passed =
      killsSurvived === o.kills &&
      f.integrity === 'ok' &&
      f.ackedButLost === 0 &&
      f.duplicates === 0 &&
      f.seqGaps === 0 &&
      f.seqRepeats === 0 &&
      f.orphanFiles === 0 &&
      f.missingFiles === 0 &&
      f.fileMessagesWithoutFiles === 0 &&
      report.unacked === 0 &&
      report.failed === 0 &&
      report.ackMismatches === 0 &&
      !catchupTimedOut;
    report.passed = passed;
    report.dir = passed && !o.keep ? null : dir;
    return report;
  } finally {
    for (const c of clients) c.close();
    await proc.kill().catch(() => {});
    if (passed && !o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures block, ending with PASS or FAIL. */
export function formatCrashReport(r: CrashReport): string {
  const f = r.figures;
  const rows: [string, string | number][] = [
    ['kills survived', `${r.killsSurvived} / ${r.killsPlanned} (seed ${r.seed}, resume ${r.resume}, ${r.durationS.toFixed(1)} s)`],
    ['sent', `${r.sent} (${r.fileMessagesSent} with a file; ${r.uploadsRequested} upload-files requests)`],
    ['acked', `${r.acked} (${r.fileMessagesAcked} with a file; ${r.ackedViaReplay} acked by the resume replay)`],
    ['interrupted writes', `${r.partsAfterKills} .part files (${r.rolledForward} of them committed, rolled forward at restart) and ${r.stagedAfterKills} staging files left by the kills`],
    ['unacked at the end', r.unacked],
    ['given up (error frames)', r.failed],
    ['acked-but-lost', f.ackedButLost],
    ['duplicates', f.duplicates],
    ['seq gaps', f.seqGaps],
    ['seq repeats', f.seqRepeats],
    ['ack mismatches', r.ackMismatches],
    ['orphan files', f.orphanFiles],
    ['missing files', f.missingFiles],
    ['file messages without files', f.fileMessagesWithoutFiles],
    ['staging files left', f.stagingLeft],
    ['stored', `${f.messagesStored} messages, ${f.attachmentsStored} attachments`],
    ['error frames', Object.keys(r.errorCodes).length ? Object.entries(r.errorCodes).map(([k, v]) => `${k} ×${v}`).join(', ') : 'none'],
    ['catch-up', r.catchupTimedOut ? 'TIMED OUT' : 'ok'],
    ['server error log lines', r.serverErrors.length],
    ['integrity', f.integrity],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`);
  const d = r.details;
  for (const l of d.lost.slice(0, 20)) lines.push(`  LOST ${l.tempId}: ${l.why} (acked seq ${l.ackedSeq}, via ${l.ackVia})`);
  for (const x of d.duplicates.slice(0, 20)) lines.push(`  DUPLICATE sender ${x.senderId} ${x.clientId} ×${x.count}`);
  for (const g of d.gaps.slice(0, 20)) lines.push(`  SEQ conversation ${g.conversationId} (last_seq ${g.lastSeq}): missing ${g.missing.slice(0, 20).join(',')} repeated ${g.repeated.join(',')} above ${g.above.join(',')}`);
  for (const x of d.orphans.slice(0, 20)) lines.push(`  ORPHAN ${x}`);
  for (const x of d.missing.slice(0, 20)) lines.push(`  MISSING ${x}`);
  for (const x of r.serverErrors.slice(0, 10)) lines.push(`  SERVER ${x.slice(0, 300)}`);
  if (r.dir) lines.push(`  run directory: ${r.dir}`);
  lines.push(r.passed ? 'PASS' : 'FAIL');
  return lines.join('\n');
}
