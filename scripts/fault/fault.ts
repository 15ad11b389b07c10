import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Session, type User } from './client.js';
import { OwnRedis, ParleyProcess, ScratchDatabase, freePorts, sleep } from './cluster.js';
import { reconcile, recovery, rel, type Anomalies, type FaultEvent, type Figures, type RoomInfo, type StoredMessage } from './reconcile.js';

// The delivery contract (docs/delivery.md) under faults: several Parley processes on one
// PostgreSQL database and one Redis, chat clients spread over them, SIGKILLs of processes
// and restarts of Redis while they send; afterwards the REST history of every room is the
// truth every client's view is reconciled against. `npm run fault -- --help`.

export interface FaultOptions {
  processes: number;
  /** Users; each keeps one socket per room it is in (one pair room, and a group for some). */
  clients: number;
  /** Seconds of sending. */
  durationS: number;
  seed: number;
  kills: number;
  redisRestarts: number;
  /** SIGSTOPs of a process (holding whatever it was doing), each followed by SIGCONT after `stopMs`. */
  stops: number;
  /** How long a stopped process stays frozen (ms); longer than PRESENCE_TTL_MS, its users expire meanwhile. */
  stopMs: number;
  /** Messages per second per user (split over its rooms). */
  rate: number;
  /** How long a killed process stays down before it is started again (ms). */
  downMs: number;
  /** How long Redis stays down (ms). */
  redisDownMs: number;
  /** Bound on waiting for every client to catch up after the sends stop (s). */
  catchupTimeoutS: number;
  /** A PostgreSQL server (any database on it); the run creates and drops a database of its own there. */
  postgresUrl: string;
  presenceTtlMs: number;
  /** How clients resume: last_seq only, or last_seq and last_change_seq. */
  resume: 'seq' | 'change';
  /**
   * Seconds of the resume-under-load phase, after the faults: every user goes on sending and
   * also edits its messages, while half of the sockets, chosen by the seed, drop and
   * reconnect to the next process with their cursors again and again. 0: no such phase.
   */
  resumeS: number;
  /** Edits per second per user during that phase. */
  editRate: number;
  /** Keep the run directory (process logs, data dirs, report.json) even when the run passes. */
  keep: boolean;
  /** Keep the scratch database too (its name is logged): to look at the rows behind an anomaly. */
  keepDatabase: boolean;
  /** Write the full report (figures and every anomaly) as JSON here. */
  jsonPath?: string;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export const DEFAULTS: Omit<FaultOptions, 'postgresUrl' | 'log'> = {
  processes: 3,
  clients: 24,
  durationS: 30,
  seed: 1,
  kills: 1,
  redisRestarts: 1,
  stops: 1,
  stopMs: 3_000,
  rate: 20,
  downMs: 1_000,
  redisDownMs: 1_000,
  catchupTimeoutS: 30,
  presenceTtlMs: 2_000,
  resume: 'change',
  resumeS: 10,
  editRate: 2,
  keep: false,
  keepDatabase: false,
};

export interface FaultReport {
  ok: boolean;
  figures: Figures;
  anomalies: Anomalies;
  /** The printed block: figures, faults, and evidence for every anomaly. */
  text: string;
  /** The run directory when kept (logs of every process). */
  runDir: string | null;
  serverErrors: string[];
}

/** mulberry32: a small seeded generator, so a seed replays the same schedule and pacing. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ApiResult {
  status: number;
  body: any;
}

/** A JSON request to a Parley on 127.0.0.1:port (the fault and crash scripts' clients). */
export async function api(port: number, method: string, p: string, opts: { token?: string; json?: unknown } = {}): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${port}${p}`, {
    method,
    headers,
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

async function expectOk(what: string, r: Promise<ApiResult>, status = 200): Promise<any> {
  const res = await r;
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Every message of a room over REST (/api/chat history, 100 a page), by seq, each row once.
 * The pages count from the newest message at the time of each request: when messages commit
 * between two requests, the next page starts that much higher and repeats rows of the one
 * before (the same id), so a row seen again is not a second copy. A second copy stored is
 * another row (another id) and stays. `betweenPages` runs after each page (tests: a send there).
 */
export async function roomHistory(port: number, token: string, roomId: number, betweenPages?: () => Promise<void>): Promise<StoredMessage[]> {
  const byId = new Map<number, StoredMessage>();
  for (let page = 1; ; page++) {
    const body = await expectOk(`history of room ${roomId} page ${page}`, api(port, 'GET', `/api/chat/rooms/${roomId}/messages?page=${page}&per_page=100`, { token }));
    for (const m of body.messages) byId.set(m.id, { id: m.id, seq: m.seq, content: m.content, sender_id: m.sender_id, change_seq: m.change_seq });
    if (!body.has_more) break;
    if (page > 100_000) throw new Error('history does not end');
    await betweenPages?.();
  }
  return [...byId.values()].sort((x, y) => x.seq - y.seq);
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

class Aborted extends Error {
  constructor() {
    super('fault run aborted');
  }
}

export async function runFault(options: Partial<FaultOptions> & Pick<FaultOptions, 'postgresUrl'>): Promise<FaultReport> {
  const o: FaultOptions = { ...DEFAULTS, log: (l) => console.log(l), ...options };
  if (o.processes < 1 || o.clients < 2) throw new Error('need at least 1 process and 2 clients');
  const rng = seededRandom(o.seed);
  const runTag = `f${o.seed}-${randomBytes(3).toString('hex')}`;
  const runDir = mkdtempSync(path.join(tmpdir(), 'parley-fault-'));
  const tSetup = Date.now();
  /** Times are shown relative to the start of sending; set-up lines relative to the start of the run. */
  let t0 = 0;
  const log = (line: string) =>
    o.log(t0 === 0 ? `[setup +${((Date.now() - tSetup) / 1000).toFixed(3)}s] ${line}` : `[${rel(t0, Date.now())}] ${line}`);
  const checkAbort = () => {
    if (o.signal?.aborted) throw new Aborted();
  };
  const wait = async (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      checkAbort();
      await sleep(Math.min(100, until - Date.now()));
    }
  };

  let db: ScratchDatabase | null = null;
  let redis: OwnRedis | null = null;
  const procs: ParleyProcess[] = [];
  const sessions: Session[] = [];
  const faultLoops: Promise<void>[] = [];
  let ok = false;
  try {
    // ------------------------------------------------------------------ cluster
    db = await ScratchDatabase.create(o.postgresUrl);
    log(`scratch database ${db.name}; run directory ${runDir}`);
    const [redisPort, ...ports] = await freePorts(o.processes + 1);
    redis = new OwnRedis(redisPort);
    await redis.start();
    log(`redis-server on port ${redisPort}`);
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: `parley-fault-${runTag}:`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      PRESENCE_TTL_MS: String(o.presenceTtlMs),
      RATE_USER_MESSAGES_PER_SECOND: '0',
      RATE_REST_WRITES_PER_SECOND: '0',
      RATE_CONNECTION_FRAMES_PER_SECOND: '0',
      RATE_USER_READS_PER_SECOND: '0',
    };
    for (let i = 0; i < o.processes; i++) {
      procs.push(
        new ParleyProcess({ index: i, port: ports[i], dataDir: path.join(runDir, `p${i}`), logFile: path.join(runDir, `p${i}.log`), env }),
      );
    }
    await Promise.all(procs.map((p) => p.start()));
    checkAbort();
    log(`${o.processes} parley processes ready on ports ${ports.join(', ')}`);

    // ------------------------------------------------------------------ users and rooms
    const users: User[] = await inBatches(
      Array.from({ length: o.clients }, (_, i) => i),
      4,
      async (i) => {
        const body = await expectOk(
          `register user ${i}`,
          api(ports[i % o.processes], 'POST', '/api/auth/register', {
            json: { email: `fault-${runTag}-${i}@example.com`, password: `password-${runTag}-${i}`, name: `Fault ${i}` },
          }),
          201,
        );
        return { index: i, id: body.user.id, token: body.access_token, name: body.user.name };
      },
    );
    const rooms: RoomInfo[] = [];
    for (let i = 0; i + 1 < users.length; i += 2) {
      const body = await expectOk(
        `room ${i}-${i + 1}`,
        api(ports[(i / 2) % o.processes], 'POST', '/api/chat/rooms', { token: users[i].token, json: { receiver_id: users[i + 1].id } }),
      );
      rooms.push({ id: body.id, kind: 'pair', memberIds: [users[i].id, users[i + 1].id] });
    }
    // /api/chat creates only direct rooms; groups come from document 003 and are the same conversations.
    const groups = o.clients >= 4 ? Math.max(1, Math.floor(o.clients / 8)) : 0;
    for (let g = 0; g < groups; g++) {
      const members = users.slice(4 * g, 4 * g + 4);
      const port = ports[g % o.processes];
      const created = await expectOk(
        `group ${g}`,
        api(port, 'POST', '/api/notifications/chat/conversations/', {
          token: members[0].token,
          json: { conversation_type: 'group', title: `fault group ${g}`, participant_ids: members.slice(1).map((u) => u.id) },
        }),
        201,
      );
      const list = await expectOk(`rooms of user ${members[0].index}`, api(port, 'GET', '/api/chat/rooms', { token: members[0].token }));
      const room = (list.rooms as { id: number; uuid: string }[]).find((r) => r.uuid === created.id);
      if (!room) throw new Error(`group ${created.id} is not among /api/chat/rooms of its creator`);
      rooms.push({ id: room.id, kind: 'group', memberIds: members.map((u) => u.id) });
    }
    const roomsOf = new Map<number, RoomInfo[]>();
    for (const r of rooms) for (const id of r.memberIds) roomsOf.set(id, [...(roomsOf.get(id) ?? []), r]);

    const deps = {
      ports,
      now: () => Date.now(),
      rng,
      history: (proc: number, token: string, roomId: number) => roomHistory(ports[proc], token, roomId),
      edit: async (proc: number, token: string, messageId: number, content: string) =>
        (await api(ports[proc], 'PUT', `/api/chat/messages/${messageId}`, { token, json: { content } })).status === 200,
      log,
      runTag,
      resume: o.resume,
    };
    for (const r of rooms) {
      for (const id of r.memberIds) {
        const u = users.find((x) => x.id === id)!;
        const mine = roomsOf.get(id)!.length;
        sessions.push(new Session(sessions.length, u, r.id, sessions.length % o.processes, o.rate / mine, deps));
      }
    }
    for (const s of sessions) s.connect();
    const readyBy = Date.now() + 30_000;
    while (!sessions.every((s) => s.connected)) {
      if (Date.now() > readyBy) throw new Error(`sockets not ready: ${sessions.filter((s) => !s.connected).map((s) => s.id).join(',')}`);
      await wait(20);
    }
    const pairs = rooms.filter((r) => r.kind === 'pair').length;
    log(`${users.length} users, ${pairs} pair rooms, ${groups} groups of 4, ${sessions.length} sockets; sending ${o.rate} msg/s per user for ${o.durationS} s`);

    // ------------------------------------------------------------------ run
    t0 = Date.now();
    const tStopPlanned = t0 + o.durationS * 1000;
    for (const s of sessions) s.startSending();

    const faults: FaultEvent[] = [];
    const total = o.kills + o.redisRestarts + o.stops;
    // Round robin over the kinds still to inject: stop, kill, redis, stop, … (a stop first: a
    // killed process's restart can take seconds on a loaded machine, and a stop must come
    // while the others still send).
    const plan: FaultEvent['kind'][] = [];
    const left = { kill: o.kills, redis: o.redisRestarts, stop: o.stops };
    for (const order = ['stop', 'kill', 'redis'] as const; plan.length < total; ) {
      for (const k of order) if (left[k] > 0) (plan.push(k), left[k]--);
    }
    let stopFaults = false;
    let faultError: unknown = null;
    const faultLoop = (async () => {
      for (let i = 0; i < plan.length; i++) {
        const at = t0 + o.durationS * 1000 * (0.2 + (0.6 * (i + 0.5)) / total);
        while (Date.now() < at && !stopFaults) await wait(Math.min(50, at - Date.now()));
        if (stopFaults) return;
        const open = (proc: number | null) => sessions.filter((s) => s.connected && (proc === null || s.proc === proc)).length;
        if (plan[i] === 'stop') {
          // Frozen where it is: mid-commit holding row locks, sockets open but silent.
          const withSockets = procs.map((_, i) => i).filter((i) => open(i) > 0);
          const candidates = withSockets.length > 0 ? withSockets : procs.map((_, i) => i);
          const target = candidates[Math.floor(rng() * candidates.length)];
          const p = procs[target];
          const ev: FaultEvent = { kind: 'stop', target, port: p.port, injectedAt: Date.now(), restartedAt: null, backAt: null, socketsAffected: open(target), recoveryMs: null, recoveryDetail: '' };
          faults.push(ev);
          p.pause();
          log(`FAULT ${faults.length}: SIGSTOP process ${target} (port ${p.port}, ${ev.socketsAffected} sockets on it) for ${o.stopMs} ms`);
          await wait(o.stopMs);
          p.resume();
          ev.restartedAt = ev.backAt = Date.now();
          log(`process ${target} continued (SIGCONT)`);
        } else if (plan[i] === 'kill') {
          // A process that has sockets on it (clients move on at every reconnect), chosen by the seed.
          const withSockets = procs.map((_, i) => i).filter((i) => open(i) > 0);
          const candidates = withSockets.length > 0 ? withSockets : procs.map((_, i) => i);
          const target = candidates[Math.floor(rng() * candidates.length)];
          const p = procs[target];
          const ev: FaultEvent = { kind: 'kill', target, port: p.port, injectedAt: Date.now(), restartedAt: null, backAt: null, socketsAffected: open(target), recoveryMs: null, recoveryDetail: '' };
          faults.push(ev);
          await p.kill();
          log(`FAULT ${faults.length}: SIGKILL process ${target} (port ${p.port}, ${ev.socketsAffected} sockets on it)`);
          await wait(o.downMs);
          ev.restartedAt = Date.now();
          log(`process ${target} starting again on port ${p.port}`);
          await p.start();
          ev.backAt = Date.now();
          log(`process ${target} ready again (${ev.backAt - ev.restartedAt} ms start-up)`);
        } else {
          const ev: FaultEvent = { kind: 'redis', target: null, port: redis!.port, injectedAt: Date.now(), restartedAt: null, backAt: null, socketsAffected: open(null), recoveryMs: null, recoveryDetail: '' };
          faults.push(ev);
          await redis!.kill();
          log(`FAULT ${faults.length}: SIGKILL redis-server (port ${redis!.port}; ${ev.socketsAffected} sockets open)`);
          await wait(o.redisDownMs);
          ev.restartedAt = Date.now();
          await redis!.start();
          ev.backAt = Date.now();
          log(`redis-server accepting connections again (empty)`);
        }
      }
    })().catch((e) => {
      faultError = e;
    });
    faultLoops.push(faultLoop);

    let lastProgress = Date.now();
    let maxInFlight = 0;
    while (Date.now() < tStopPlanned) {
      await wait(Math.min(100, tStopPlanned - Date.now()));
      let inFlight = 0;
      for (const s of sessions) inFlight += s.unacked.size;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (Date.now() - lastProgress >= 5_000) {
        lastProgress = Date.now();
        let sent = 0;
        let unacked = 0;
        for (const s of sessions) {
          sent += s.sent.size;
          unacked += s.unacked.size;
        }
        log(`progress: sent ${sent}, unacked ${unacked}, sockets ready ${sessions.filter((s) => s.connected).length}/${sessions.length}`);
      }
    }
    await faultLoop;
    stopFaults = true;
    if (faultError) throw faultError;

    // ------------------------------------------------------------------ resume under load
    // Every user goes on sending, and edits too; half of the sockets drop and come back on the
    // next process with their cursors, again and again, so catch-ups race sends and edits on
    // every process (issue 15: what the fault timing never hits).
    let bounced = 0;
    if (o.resumeS > 0) {
      const movers = sessions.filter(() => rng() < 0.5);
      log(`resume under load for ${o.resumeS} s: ${movers.length} of ${sessions.length} sockets reconnect again and again while every user sends and edits (${o.editRate}/s)`);
      for (const s of sessions) s.startEditing(o.editRate);
      const nextBounce = new Map(movers.map((s) => [s, Date.now() + 200 + rng() * 800]));
      const until = Date.now() + o.resumeS * 1000;
      while (Date.now() < until) {
        await wait(Math.min(25, until - Date.now()));
        for (const [s, at] of nextBounce) {
          if (Date.now() < at) continue;
          if (s.bounce()) bounced++;
          nextBounce.set(s, Date.now() + 300 + rng() * 1200);
        }
      }
      for (const s of sessions) s.stopEditing();
      log(`resume under load done: ${bounced} reconnects with a cursor`);
    }
    for (const s of sessions) s.stopSending();
    const tStop = Date.now();
    log('sends stopped; waiting for every client to catch up');

    // ------------------------------------------------------------------ catch-up
    const deadline = Date.now() + o.catchupTimeoutS * 1000;
    let caughtAt: number | null = null;
    const memberToken = (r: RoomInfo) => users.find((u) => u.id === r.memberIds[0])!.token;
    while (caughtAt === null && Date.now() < deadline) {
      const top = new Map<number, number>();
      for (const s of sessions) top.set(s.roomId, Math.max(top.get(s.roomId) ?? 0, s.maxSeq));
      if (sessions.every((s) => s.caughtUp(top.get(s.roomId)!))) {
        const at = Date.now();
        // The store's word on each room's last seq: nothing committed that nobody saw.
        const stored = await Promise.all(
          rooms.map(async (r) => (await expectOk(`room ${r.id}`, api(ports[0], 'GET', `/api/chat/rooms/${r.id}`, { token: memberToken(r) }))).last_seq as number),
        );
        if (rooms.every((r, i) => (top.get(r.id) ?? 0) >= stored[i])) caughtAt = at;
      }
      if (caughtAt === null) await wait(50);
    }
    if (caughtAt !== null) log(`every client caught up ${caughtAt - tStop} ms after the sends stopped`);
    else log(`NOT every client caught up within ${o.catchupTimeoutS} s`);
    const notCaughtUp: string[] = [];
    {
      const top = new Map<number, number>();
      for (const s of sessions) top.set(s.roomId, Math.max(top.get(s.roomId) ?? 0, s.maxSeq));
      for (const s of sessions) {
        if (!s.caughtUp(top.get(s.roomId)!)) {
          notCaughtUp.push(`session ${s.id} (user ${s.user.index}, room ${s.roomId}): state ${s.state} on process ${s.proc}, ${s.unacked.size} unacked, highest seq ${s.maxSeq} of ${top.get(s.roomId)}`);
        }
      }
    }
    // Anything wrongly still in flight (a late second copy) arrives now.
    await wait(500);
    for (let i = 0; i < faults.length; i++) {
      const next = faults[i + 1]?.injectedAt ?? caughtAt ?? Date.now();
      const r = recovery(faults[i], next, sessions, t0);
      faults[i].recoveryMs = r.ms;
      faults[i].recoveryDetail = r.detail;
    }

    // ------------------------------------------------------------------ reconcile
    // The clients stop first: after a catch-up that timed out, the processes are still
    // committing a backlog and acking it; an ack recorded after the history was read would
    // count as lost although its row is there (every ack must precede the truth it is judged by).
    for (const s of sessions) s.close();
    const histories = new Map<number, StoredMessage[]>();
    for (const r of rooms) histories.set(r.id, await roomHistory(ports[0], memberToken(r), r.id));
    const { counts, anomalies } = reconcile({ t0, rooms, sessions, histories });
    anomalies.notCaughtUp = notCaughtUp;

    for (const p of procs) await p.stop();
    for (const p of procs) await p.closeLog();
    const serverErrors = procs.flatMap((p) => p.problems().map((l) => `process ${p.index}: ${l}`));
    const redisErrors = serverErrors.filter((l) => /"msg":"redis"|\[parley redis\]/.test(l)).length;

    const figures: Figures = {
      processes: o.processes,
      clients: o.clients,
      sockets: sessions.length,
      rooms: { pairs, groups },
      durationS: (tStop - t0) / 1000,
      seed: o.seed,
      faults,
      ...counts,
      ackLatencyDuringStopsMs: latencyDuringStops(faults, sessions),
      maxInFlight,
      caughtUp: caughtAt !== null,
      resumePhase: { seconds: o.resumeS, reconnects: bounced, ...counts.edits },
      catchupAfterLastFaultMs: faults.length > 0 ? faults[faults.length - 1].recoveryMs : null,
      catchupAfterStopMs: caughtAt === null ? null : caughtAt - tStop,
      serverErrorLines: serverErrors.length,
    };
    ok =
      figures.caughtUp &&
      figures.acked > 0 &&
      figures.lost === 0 &&
      figures.duplicated === 0 &&
      figures.duplicateDeliveries === 0 &&
      figures.orderViolations === 0 &&
      figures.missingDeliveries === 0 &&
      figures.seqGaps === 0 &&
      figures.unacked === 0 &&
      figures.ackSeqMismatches === 0 &&
      figures.contentMismatches === 0 &&
      figures.staleViews === 0 &&
      figures.unknownStored === 0 &&
      figures.foreignFrames === 0;

    const text = formatReport(figures, anomalies, t0, serverErrors, redisErrors, ok, ok && !o.keep ? null : runDir);
    const report: FaultReport = { ok, figures, anomalies, text, runDir: ok && !o.keep ? null : runDir, serverErrors };
    const connections = sessions.map((s) => ({
      session: s.id,
      user: s.user.index,
      room: s.roomId,
      conns: s.conns.map((c) => ({ ...c, startedAt: rel(t0, c.startedAt), openedAt: rel(t0, c.openedAt), readyAt: rel(t0, c.readyAt), closedAt: rel(t0, c.closedAt) })),
    }));
    const json = JSON.stringify({ options: { ...o, log: undefined, signal: undefined }, t0: new Date(t0).toISOString(), ...report, connections }, null, 2);
    writeFileSync(path.join(runDir, 'report.json'), json);
    if (o.jsonPath) writeFileSync(o.jsonPath, json);
    return report;
  } finally {
    // A fault in progress (a process starting) finishes before everything is stopped.
    await Promise.all(faultLoops);
    for (const s of sessions) s.close();
    for (const p of procs) await p.stop(2_000).catch(() => {});
    for (const p of procs) await p.closeLog().catch(() => {});
    await redis?.kill().catch(() => {});
    if (db && o.keepDatabase) o.log(`kept database ${db.name}`);
    else await db?.drop().catch((e) => o.log(`could not drop database ${db?.name}: ${(e as Error).message}`));
    if (ok && !o.keep) rmSync(runDir, { recursive: true, force: true });
  }
}

/** Ack latency of what was sent through a process other than the stopped one while it was stopped. */
function latencyDuringStops(faults: FaultEvent[], sessions: Session[]): Figures['ackLatencyDuringStopsMs'] {
  const stops = faults.filter((f) => f.kind === 'stop');
  if (stops.length === 0) return null;
  const ms: number[] = [];
  for (const s of sessions) {
    for (const m of s.sent.values()) {
      const during = stops.some((f) => m.firstSentAt >= f.injectedAt && m.firstSentAt < (f.backAt ?? Infinity) && m.sentProcs[0] !== f.target);
      if (during && m.ackedAt !== null) ms.push(m.ackedAt - m.firstSentAt);
    }
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => (ms.length === 0 ? 0 : ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]);
  return { p50: at(0.5), p99: at(0.99), max: ms.length === 0 ? 0 : ms[ms.length - 1], n: ms.length };
}

function formatReport(f: Figures, a: Anomalies, t0: number, serverErrors: string[], redisErrors: number, ok: boolean, runDir: string | null): string {
  const T = (at: number | null) => rel(t0, at);
  const L: string[] = [];
  const row = (k: string, v: string | number) => L.push(`${k.padEnd(28)} ${v}`);
  L.push('==== Parley fault injection: figures ====');
  row('processes', f.processes);
  row('clients', `${f.clients} users, ${f.sockets} sockets (${f.rooms.pairs} pair rooms, ${f.rooms.groups} groups of 4)`);
  row('duration', `${f.durationS.toFixed(1)} s of sending (seed ${f.seed})`);
  if (f.faults.length === 0) row('faults', 'none');
  f.faults.forEach((x, i) => {
    const what =
      x.kind === 'kill'
        ? `SIGKILL process ${x.target} (port ${x.port}, ${x.socketsAffected} sockets), restarted ${T(x.restartedAt)}, ready ${T(x.backAt)}`
        : x.kind === 'stop'
          ? `SIGSTOP process ${x.target} (port ${x.port}, ${x.socketsAffected} sockets), SIGCONT ${T(x.backAt)}`
          : `redis-server SIGKILL (${x.socketsAffected} sockets open), started again ${T(x.restartedAt)}, ready ${T(x.backAt)}`;
    row(i === 0 ? 'faults' : '', `${T(x.injectedAt)} ${new Date(x.injectedAt).toISOString()} ${what}; caught up after ${x.recoveryMs === null ? `NEVER (${x.recoveryDetail})` : `${x.recoveryMs} ms`}`);
  });
  row('sent', `${f.sent} messages (${f.retries} re-sends with the same local_temp_id)`);
  row('acked', `${f.acked} (ack latency p50 ${f.ackLatencyMs.p50} ms, p99 ${f.ackLatencyMs.p99} ms, max ${f.ackLatencyMs.max} ms; at most ${f.maxInFlight} unacked at once)`);
  if (f.ackLatencyDuringStopsMs) {
    const s = f.ackLatencyDuringStopsMs;
    row('acks elsewhere while stopped', `${s.n} messages sent through the other processes while one was stopped: p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms`);
  }
  row('unacked at the end', f.unacked);
  row('stored (REST history)', f.stored);
  row('delivered', `${f.delivered} live receipts by other members (+${f.replayed} through resume replay)`);
  row('lost', f.lost);
  row('duplicated (stored)', f.duplicated);
  row('duplicate deliveries', `${f.duplicateDeliveries}${f.duplicateDeliveriesRetryEcho ? ` (not counted: ${f.duplicateDeliveriesRetryEcho} answers to a retry of a message the socket had been shown)` : ''}`);
  row('order violations', f.orderViolations);
  row('missing deliveries', f.missingDeliveries);
  row('seq gaps (stored)', f.seqGaps);
  row('ack/seq/content mismatches', `${f.ackSeqMismatches} / ${f.contentMismatches} / ${f.unknownStored + f.foreignFrames}`);
  if (f.resumePhase.seconds > 0) {
    row('resume under load', `${f.resumePhase.seconds} s: ${f.resumePhase.reconnects} reconnects with a cursor; edits ${f.resumePhase.acked} acked of ${f.resumePhase.sent}`);
    row('stale views (edits missed)', f.staleViews);
  }
  row('snapshot_required', f.snapshots);
  row('reconnects', `${f.reconnects} (close codes: ${Object.entries(f.closeCodes).map(([k, v]) => `${k}×${v}`).join(', ') || 'none'})`);
  row('error frames', Object.entries(f.errorFrames).map(([k, v]) => `${k}×${v}`).join(', ') || 'none');
  row('caught up after last fault', f.catchupAfterLastFaultMs === null ? (f.faults.length ? 'NEVER' : 'n/a') : `${f.catchupAfterLastFaultMs} ms`);
  row('caught up after sends stop', f.catchupAfterStopMs === null ? 'NEVER (timeout)' : `${f.catchupAfterStopMs} ms`);
  row('server error log lines', `${serverErrors.length} (${redisErrors} of them Redis connection errors)`);
  row('result', ok ? 'PASS' : 'FAIL');
  if (runDir) row('run directory', `${runDir} (process logs, report.json)`);
  const sections: [string, string[]][] = [
    ['lost (acked, not in REST history)', a.lost],
    ['duplicated (stored twice)', a.duplicated],
    ['duplicate deliveries', a.duplicateDeliveries],
    ['order violations', a.orderViolations],
    ['missing deliveries', a.missingDeliveries],
    ['seq gaps', a.seqGaps],
    ['ack seq mismatches', a.ackSeqMismatches],
    ['content mismatches', a.contentMismatches],
    ['stale views (a socket missed an edit)', a.staleViews],
    ['stored messages nobody sent', a.unknownStored],
    ['frames of another room', a.foreignFrames],
    ['unacked at the end', a.unacked],
    ['not caught up', a.notCaughtUp],
  ];
  for (const [title, list] of sections) {
    if (list.length === 0) continue;
    L.push('', `---- ${title}: ${list.length}${list.length >= 20 ? ' (first 20; all in report.json)' : ''}`);
    for (const line of list.slice(0, 20)) L.push('  ' + line);
  }
  const other = serverErrors.filter((l) => !/"msg":"redis"|\[parley redis\]/.test(l));
  if (other.length > 0) {
    L.push('', `---- server errors other than Redis connection errors: ${other.length}`);
    for (const line of other.slice(0, 10)) L.push('  ' + line.slice(0, 600));
  }
  return L.join('\n');
}
