import { baseContent, type ConnRecord, type Receipt, type Sent, type Session } from './client.js';

// After a run: the REST history of every room is the truth. Checks the delivery contract
// (docs/delivery.md) against it and against what every socket received, and explains each
// anomaly with the seqs, processes and times involved.

export interface StoredMessage {
  id: number;
  seq: number;
  content: string | null;
  sender_id: number;
  change_seq: number;
}

export interface RoomInfo {
  id: number;
  kind: 'pair' | 'group';
  memberIds: number[];
}

export interface FaultEvent {
  kind: 'kill' | 'redis' | 'stop';
  /** The process killed (kill) or stopped with SIGSTOP (stop). */
  target: number | null;
  port: number;
  /** ms since the epoch. */
  injectedAt: number;
  /** Process started again / redis-server started again. */
  restartedAt: number | null;
  /** Process answers /readyz again / redis-server accepts connections. */
  backAt: number | null;
  /** Sockets open on the killed process (kill) or on every process (redis) when injected. */
  socketsAffected: number;
  /** ms from injection until every client had caught up with what was sent before it was over; null: never. */
  recoveryMs: number | null;
  recoveryDetail: string;
}

export interface Figures {
  processes: number;
  clients: number;
  sockets: number;
  rooms: { pairs: number; groups: number };
  durationS: number;
  seed: number;
  faults: FaultEvent[];
  sent: number;
  retries: number;
  acked: number;
  /** First send to ack, over every acked message (ms). */
  ackLatencyMs: { p50: number; p99: number; max: number };
  /**
   * First send to ack of the messages sent through the other processes while one was stopped
   * (SIGSTOP): what a stopped process costs everyone else. Null without stops.
   */
  ackLatencyDuringStopsMs: { p50: number; p99: number; max: number; n: number } | null;
  /** Most messages sent and not yet acked at once, sampled every 100 ms. */
  maxInFlight: number;
  unacked: number;
  stored: number;
  delivered: number;
  replayed: number;
  lost: number;
  duplicated: number;
  duplicateDeliveries: number;
  duplicateDeliveriesRetryEcho: number;
  orderViolations: number;
  missingDeliveries: number;
  seqGaps: number;
  ackSeqMismatches: number;
  contentMismatches: number;
  /** A socket's last view of a message differs from the history: it missed an edit. */
  staleViews: number;
  /** The resume-under-load phase: its length, the reconnects with a cursor, the edits. */
  resumePhase: { seconds: number; reconnects: number; sent: number; acked: number };
  unknownStored: number;
  foreignFrames: number;
  snapshots: number;
  reconnects: number;
  closeCodes: Record<string, number>;
  errorFrames: Record<string, number>;
  caughtUp: boolean;
  catchupAfterLastFaultMs: number | null;
  catchupAfterStopMs: number | null;
  serverErrorLines: number;
}

export interface Anomalies {
  lost: string[];
  duplicated: string[];
  duplicateDeliveries: string[];
  orderViolations: string[];
  missingDeliveries: string[];
  seqGaps: string[];
  ackSeqMismatches: string[];
  contentMismatches: string[];
  staleViews: string[];
  unknownStored: string[];
  unacked: string[];
  notCaughtUp: string[];
  foreignFrames: string[];
}

export interface ReconcileInput {
  t0: number;
  rooms: RoomInfo[];
  sessions: Session[];
  histories: Map<number, StoredMessage[]>;
}

const EVIDENCE_PER_KIND = 1_000;

export function rel(t0: number, at: number | null | undefined): string {
  if (at == null) return 'never';
  const d = (at - t0) / 1000;
  return `${d < 0 ? '-' : '+'}${Math.abs(d).toFixed(3)}s`;
}

export function reconcile(input: ReconcileInput): {
  counts: Pick<
    Figures,
    | 'sent'
    | 'retries'
    | 'acked'
    | 'ackLatencyMs'
    | 'unacked'
    | 'stored'
    | 'delivered'
    | 'replayed'
    | 'lost'
    | 'duplicated'
    | 'duplicateDeliveries'
    | 'duplicateDeliveriesRetryEcho'
    | 'orderViolations'
    | 'missingDeliveries'
    | 'seqGaps'
    | 'ackSeqMismatches'
    | 'contentMismatches'
    | 'staleViews'
    | 'unknownStored'
    | 'foreignFrames'
    | 'snapshots'
    | 'reconnects'
    | 'closeCodes'
    | 'errorFrames'
  > & { edits: { sent: number; acked: number } };
  anomalies: Anomalies;
} {
  const { t0, rooms, sessions, histories } = input;
  const T = (at: number | null | undefined) => rel(t0, at);
  const a: Anomalies = {
    lost: [],
    duplicated: [],
    duplicateDeliveries: [],
    orderViolations: [],
    missingDeliveries: [],
    seqGaps: [],
    ackSeqMismatches: [],
    contentMismatches: [],
    staleViews: [],
    unknownStored: [],
    unacked: [],
    notCaughtUp: [],
    foreignFrames: [],
  };
  const push = (list: string[], line: string) => {
    if (list.length < EVIDENCE_PER_KIND) list.push(line);
  };

  // Every message any client sent, by content (= local_temp_id), and by (room, acked seq).
  const allSent = new Map<string, Sent>();
  for (const s of sessions) for (const m of s.sent.values()) allSent.set(m.content, m);
  const sessionById = new Map(sessions.map((s) => [s.id, s]));
  const describeSent = (m: Sent) => {
    const s = sessionById.get(m.session)!;
    return (
      `"${m.tempId}" (user ${s.user.index}, session ${m.session}; first sent ${T(m.firstSentAt)}, ${m.attempts} attempt(s) to process(es) [${m.sentProcs.join(',')}]` +
      `${m.errors.length ? `, error frames [${m.errors.join(',')}]` : ''}; ` +
      (m.ackedAt === null ? 'never acked' : `acked seq ${m.seq} ${T(m.ackedAt)} via ${m.ackVia} on process ${m.ackProc}`) +
      ')'
    );
  };
  const connAt = (s: Session, at: number): ConnRecord | undefined =>
    s.conns.find((c) => c.startedAt <= at && (c.closedAt === null || c.closedAt >= at));
  const describeConn = (c: ConnRecord | undefined) =>
    c
      ? `conn #${c.n} on process ${c.proc} (resumed from last_seq ${c.resumeFrom}, opened ${T(c.openedAt)}, ready ${T(c.readyAt)}, closed ${c.closedAt === null ? 'no' : `${T(c.closedAt)} code ${c.closeCode}${c.closeReason ? ` "${c.closeReason}"` : ''}`})`
      : 'no connection';

  let sent = 0;
  let retries = 0;
  let acked = 0;
  let unacked = 0;
  let stored = 0;
  let lost = 0;
  let duplicated = 0;
  let seqGaps = 0;
  let missing = 0;
  let contentMismatches = 0;
  let staleViews = 0;
  let unknownStored = 0;
  let storedAckMismatches = 0;

  const latencies: number[] = [];
  for (const m of allSent.values()) {
    if (m.ackedAt !== null) latencies.push(m.ackedAt - m.firstSentAt);
    sent++;
    retries += Math.max(0, m.attempts - 1);
    if (m.ackedAt !== null) acked++;
    else {
      unacked++;
      push(a.unacked, `room ${m.roomId}: ${describeSent(m)}`);
    }
  }

  for (const room of rooms) {
    const history = histories.get(room.id) ?? [];
    stored += history.length;
    // Seqs gapless 1..N, each once.
    const bySeq = new Map<number, StoredMessage[]>();
    let top = 0;
    for (const h of history) {
      const list = bySeq.get(h.seq) ?? [];
      list.push(h);
      bySeq.set(h.seq, list);
      top = Math.max(top, h.seq);
    }
    const gaps: number[] = [];
    for (let q = 1; q <= top; q++) if (!bySeq.has(q)) gaps.push(q);
    for (const [q, list] of bySeq) if (list.length > 1) push(a.seqGaps, `room ${room.id}: seq ${q} stored ${list.length} times (ids ${list.map((x) => x.id).join(',')})`);
    if (gaps.length > 0) {
      seqGaps += gaps.length;
      push(a.seqGaps, `room ${room.id}: ${gaps.length} seq(s) missing from 1..${top}: ${gaps.slice(0, 20).join(',')}${gaps.length > 20 ? ',…' : ''}`);
    }
    // Every acked message stored exactly once; nothing stored twice. An edited message is
    // known by the local_temp_id its text starts with.
    const byContent = new Map<string, StoredMessage[]>();
    for (const h of history) {
      const key = h.content === null ? `<null content id ${h.id}>` : baseContent(h.content);
      const list = byContent.get(key) ?? [];
      list.push(h);
      byContent.set(key, list);
    }
    for (const [content, list] of byContent) {
      const m = allSent.get(content);
      if (!m || m.roomId !== room.id) {
        unknownStored += list.length;
        push(a.unknownStored, `room ${room.id}: stored seq(s) ${list.map((x) => x.seq).join(',')} with content "${content}" no client sent to this room`);
        continue;
      }
      if (list.length > 1) {
        duplicated += list.length - 1;
        push(a.duplicated, `room ${room.id}: stored ${list.length} times at seqs ${list.map((x) => x.seq).join(',')}: ${describeSent(m)}`);
      }
      if (m.seq !== null && !list.some((x) => x.seq === m.seq)) {
        storedAckMismatches++;
        push(a.ackSeqMismatches, `room ${room.id}: acked with seq ${m.seq} but stored at seq(s) ${list.map((x) => x.seq).join(',')}: ${describeSent(m)}`);
      }
    }
    for (const s of sessions) {
      if (s.roomId !== room.id) continue;
      for (const m of s.sent.values()) {
        if (m.ackedAt !== null && !byContent.has(m.content)) {
          lost++;
          const there = m.seq !== null ? bySeq.get(m.seq)?.[0] : undefined;
          push(a.lost, `room ${room.id}: ${describeSent(m)}; REST seq ${m.seq} holds ${there ? `"${there.content}"` : 'nothing'}`);
        }
      }
    }

    // What each socket of the room received: every seq of 1..top, each once (dups and order are
    // recorded live). Up to the highest seq it got: after a catch-up that timed out, the history
    // also holds what committed after the sockets closed, and a socket behind is listed as not
    // caught up (when the run caught up, every socket reached the room's top: the same bound).
    for (const s of sessions) {
      if (s.roomId !== room.id) continue;
      const lacking: number[] = [];
      for (let q = 1; q <= Math.min(top, s.maxSeq); q++) if (bySeq.has(q) && !s.received.has(q)) lacking.push(q);
      missing += lacking.length;
      for (const q of lacking.slice(0, 20)) {
        const h = bySeq.get(q)![0];
        const m = h.content ? allSent.get(baseContent(h.content)) : undefined;
        const at = m?.ackedAt ?? m?.firstSentAt ?? null;
        const c = at !== null ? connAt(s, at) : undefined;
        const next = c ? s.conns.find((x) => x.n === c.n + 1) : undefined;
        push(
          a.missingDeliveries,
          `session ${s.id} (user ${s.user.index}, room ${room.id}) never got seq ${q}: ${m ? describeSent(m) : `"${h.content}"`}; ` +
            `at that time the socket was ${describeConn(c)}; next ${describeConn(next)}`,
        );
      }
      if (lacking.length > 20) push(a.missingDeliveries, `session ${s.id}: … ${lacking.length - 20} more seqs missing (${lacking.slice(20, 60).join(',')}…)`);
      for (const r of s.receipts) {
        const h = bySeq.get(r.seq)?.[0];
        // The same message (an edit may have changed its text since, or before a replay).
        if (h && (r.content === null || h.content === null ? r.content !== h.content : baseContent(r.content) !== baseContent(h.content))) {
          contentMismatches++;
          push(a.contentMismatches, `session ${s.id}: seq ${r.seq} received as "${r.content}" (conn #${r.conn}, process ${r.proc}, ${r.phase}, ${T(r.at)}) but stored as "${h.content}"`);
        } else if (!h) {
          contentMismatches++;
          push(a.contentMismatches, `session ${s.id}: seq ${r.seq} received as "${r.content}" (conn #${r.conn}, process ${r.proc}, ${r.phase}, ${T(r.at)}) but REST has no such seq (top ${top})`);
        }
      }
      // Every edit reached every socket of the room: its last view of each message is the history's.
      for (const [q, seen] of s.latest) {
        const h = bySeq.get(q)?.[0];
        if (!h || (seen.content === h.content && seen.changeSeq === h.change_seq)) continue;
        staleViews++;
        push(
          a.staleViews,
          `session ${s.id} (user ${s.user.index}, room ${room.id}): seq ${q} last shown as "${seen.content}" (change_seq ${seen.changeSeq}), stored as "${h.content}" (change_seq ${h.change_seq}); last ${describeConn(s.conns[s.conns.length - 1])}`,
        );
      }
    }
  }

  // Live-recorded per-socket anomalies, with who committed what.
  const bySeqSent = new Map<string, Sent>();
  for (const m of allSent.values()) if (m.seq !== null) bySeqSent.set(`${m.roomId}:${m.seq}`, m);
  const who = (room: number, seq: number) => {
    const m = bySeqSent.get(`${room}:${seq}`);
    return m ? describeSent(m) : 'sender unknown';
  };
  const rcpt = (r: Receipt) => `${r.phase} on conn #${r.conn} (process ${r.proc}) ${T(r.at)}`;
  const connOf = (s: Session, n: number) => describeConn(s.conns.find((c) => c.n === n));
  let dupDeliveries = 0;
  let dupEcho = 0;
  let order = 0;
  let delivered = 0;
  let replayed = 0;
  let snapshots = 0;
  let reconnects = 0;
  let ackSeqMismatches = 0;
  let foreign = 0;
  const closeCodes: Record<string, number> = {};
  const errorFrames: Record<string, number> = {};
  for (const s of sessions) {
    delivered += s.deliveredLive;
    replayed += s.replayed;
    snapshots += s.snapshots.length;
    reconnects += Math.max(0, s.conns.length - 1);
    for (const c of s.conns) if (c.closeCode !== null) closeCodes[c.closeCode] = (closeCodes[c.closeCode] ?? 0) + 1;
    for (const [k, v] of s.errorCodes) errorFrames[k] = (errorFrames[k] ?? 0) + v;
    for (const d of s.dups) {
      // A retried send is answered to the retrying socket even when that socket was shown the
      // message already (docs/delivery.md 3): an answer to a request, not a second delivery.
      if (d.retryEcho) {
        dupEcho++;
        continue;
      }
      dupDeliveries++;
      push(
        a.duplicateDeliveries,
        `session ${s.id} (user ${s.user.index}, room ${s.roomId}): seq ${d.seq} first ${rcpt(d.first)}, again ${rcpt(d.again)}${d.retryEcho ? ' [answer to a retry of its own message]' : ''}; ` +
          `message ${who(s.roomId, d.seq)}; receiving socket ${connOf(s, d.again.conn)}`,
      );
    }
    for (const v of s.orderViolations) {
      order++;
      push(
        a.orderViolations,
        `session ${s.id} (user ${s.user.index}, room ${s.roomId}): seq ${v.seq} arrived ${rcpt(v.receipt)} after seq ${v.after} (at ${T(s.received.get(v.after)?.at)}); ` +
          `late message ${who(s.roomId, v.seq)}; earlier message ${who(s.roomId, v.after)}; receiving socket ${connOf(s, v.receipt.conn)}`,
      );
    }
    for (const m of s.ackMismatches) {
      ackSeqMismatches++;
      push(a.ackSeqMismatches, `session ${s.id}: "${m.tempId}" acked with seq ${m.firstSeq}, later again with seq ${m.again.seq} (${rcpt(m.again)})`);
    }
    for (const r of s.foreign) {
      foreign++;
      push(a.foreignFrames, `session ${s.id} (room ${s.roomId}): new_message of another room seq ${r.seq} (${rcpt(r)})`);
    }
  }

  return {
    counts: {
      sent,
      retries,
      acked,
      ackLatencyMs: percentiles(latencies),
      unacked,
      stored,
      delivered,
      replayed,
      lost,
      duplicated,
      duplicateDeliveries: dupDeliveries,
      duplicateDeliveriesRetryEcho: dupEcho,
      orderViolations: order,
      missingDeliveries: missing,
      seqGaps,
      ackSeqMismatches: ackSeqMismatches + storedAckMismatches,
      contentMismatches,
      staleViews,
      unknownStored,
      foreignFrames: foreign,
      snapshots,
      reconnects,
      closeCodes,
      errorFrames,
      edits: { sent: sessions.reduce((n, s) => n + s.editsSent, 0), acked: sessions.reduce((n, s) => n + s.editsAcked, 0) },
    },
    anomalies: a,
  };
}

/**
 * For a fault injected at `f.injectedAt`: the first moment by which (a) every socket closed
 * after it (before the next fault) was ready again on a new connection, (b) every message
 * first sent before it was acknowledged, and (c) every socket had every seq of its room up to
 * the highest such message. Null when that never happened.
 */
export function recovery(f: FaultEvent, nextAt: number, sessions: Session[], t0: number): { ms: number | null; detail: string } {
  const end = f.injectedAt;
  let worst = f.injectedAt;
  let why = 'nothing to wait for';
  const later = (at: number, reason: string) => {
    if (at > worst) {
      worst = at;
      why = reason;
    }
  };
  // (a) reconnections
  for (const s of sessions) {
    const closed = s.conns.filter((c) => c.closedAt !== null && c.closedAt >= f.injectedAt && c.closedAt < nextAt);
    if (closed.length === 0) continue;
    const last = closed[closed.length - 1];
    const again = s.conns.find((c) => c.n > last.n && c.readyAt !== null);
    if (!again) return { ms: null, detail: `session ${s.id} never got a ready connection after ${rel(t0, last.closedAt)}` };
    later(again.readyAt!, `session ${s.id} ready again on process ${again.proc}`);
  }
  // (b) acks, and the top seq of each room they define
  const top = new Map<number, number>();
  for (const s of sessions) {
    for (const m of s.sent.values()) {
      if (m.firstSentAt >= end) continue;
      if (m.ackedAt === null) return { ms: null, detail: `"${m.tempId}" (sent ${rel(t0, m.firstSentAt)}) never acked` };
      later(m.ackedAt, `ack of "${m.tempId}"`);
      top.set(m.roomId, Math.max(top.get(m.roomId) ?? 0, m.seq!));
    }
  }
  // (c) every socket has its room up to that top
  for (const s of sessions) {
    const t = top.get(s.roomId) ?? 0;
    for (let q = 1; q <= t; q++) {
      const r = s.received.get(q);
      if (!r) return { ms: null, detail: `session ${s.id} never received seq ${q} of room ${s.roomId}` };
      later(r.at, `session ${s.id} received seq ${q}`);
    }
  }
  return { ms: worst - f.injectedAt, detail: why };
}

function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  if (values.length === 0) return { p50: 0, p99: 0, max: 0 };
  const v = [...values].sort((x, y) => x - y);
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  return { p50: at(0.5), p99: at(0.99), max: v[v.length - 1] };
}
