// Shared machinery of the state-sync oracle (test/hardening/oracle*.test.ts): a "device"
// (one /api/parley/ws socket of a user) that applies every event it receives to a REST
// snapshot taken before them, twice — with the SDK's ChatState and with a small
// independent reducer written here — and the REST ground truth both are compared with.
// Not a test file.
import { expect } from 'vitest';
import { ChatState, type Conversation, type Message } from '@parley/sdk';
import { api, openSocket, type Frame, type TestSocket, sleep } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';

export const P = '/api/parley';

export interface PUser {
  token: string;
  user: { id: number; uuid: string; name: string; email: string; avatar_url: string | null };
}

let n = 0;
/** A fresh /api/parley user. */
export async function register(server: { url: string }, name: string, tenantId?: string): Promise<PUser> {
  const r = await api(server, 'POST', `${P}/auth/register`, {
    json: { email: `${name.toLowerCase().replace(/\W/g, '')}-${process.pid}-${++n}-${Date.now()}@example.com`, password: 'correct horse battery', name, ...(tenantId ? { tenant_id: tenantId } : {}) },
  });
  if (r.status !== 201) throw new Error(`register ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Every message of a conversation over REST (all pages), oldest first, with the conversation row. */
export class GoneError extends Error {}

export async function restSnapshot(server: { url: string }, u: PUser, convId: number): Promise<{ conversation: Conversation; messages: Message[] }> {
  const c = await api(server, 'GET', `${P}/conversations/${convId}`, { token: u.token });
  if (c.status === 404) throw new GoneError(`conversation ${convId}: 404`);
  if (c.status !== 200) throw new Error(`conversation ${c.status} ${JSON.stringify(c.body)}`);
  const messages: Message[] = [];
  let before: number | undefined;
  for (;;) {
    const h = await api(server, 'GET', `${P}/conversations/${convId}/messages?limit=100${before ? `&before_seq=${before}` : ''}`, { token: u.token });
    if (h.status === 404) throw new GoneError(`conversation ${convId}: 404`);
    if (h.status !== 200) throw new Error(`history ${h.status} ${JSON.stringify(h.body)}`);
    messages.unshift(...h.body.messages);
    if (!h.body.has_more || h.body.messages.length === 0) break;
    before = h.body.messages[0].seq;
  }
  return { conversation: c.body, messages };
}

/** The comparable part of a message: everything the server renders, minus the sender-only local_temp_id. */
export function msgView(m: Message) {
  const { local_temp_id: _t, ...rest } = m as Message & { local_temp_id?: unknown };
  return rest;
}

/** The whole conversation row as the SDK keeps it, but presence (`online` is not part of the oracle). */
export function fullConvView(c: Conversation) {
  return {
    ...c,
    last_message: c.last_message ? msgView(c.last_message) : null,
    members: c.members.map(({ online: _o, ...m }) => m).sort((a, b) => a.user.id - b.user.id),
  };
}

/** The comparable part of a conversation row (presence `online` is not part of the oracle). */
export function convView(c: Conversation) {
  return {
    id: c.id,
    title: c.title,
    last_seq: c.last_seq,
    change_seq: c.change_seq,
    last_message: c.last_message ? { id: c.last_message.id, change_seq: c.last_message.change_seq } : null,
    unread_count: c.unread_count,
    my_read_seq: c.my_read_seq,
    my_sent_seq: c.my_sent_seq,
    my_role: c.my_role,
    members: c.members
      .map((m) => ({ user: m.user.id, role: m.role, read_seq: m.read_seq, delivered_seq: m.delivered_seq }))
      .sort((a, b) => a.user - b.user),
  };
}

// ------------------------------------------------------------------ the independent reducer

interface MConv {
  id: number;
  title: string | null;
  myRole: string;
  lastSeq: number;
  changeSeq: number;
  myReadSeq: number;
  mySentSeq: number;
  /** My place: reads and my own messages that are not thread replies move it. */
  mySeenSeq: number;
  members: Map<number, { role: string; read_seq: number; delivered_seq: number }>;
  /** Watermarks by user, kept apart from the member rows (an event may come before the row that lists its user). */
  reads: Map<number, number>;
  delivered: Map<number, number>;
  messages: Map<number, Message>; // by id
}

const raise = (map: Map<number, number>, k: number, v: number) => map.set(k, Math.max(map.get(k) ?? 0, v));

/**
 * A deliberately small reducer, independent of the SDK: state = snapshot, then every event
 * applied in arrival order; watermarks by maximum, a message replaced by a newer change_seq.
 */
export class Reducer {
  readonly convs = new Map<number, MConv>();
  constructor(readonly me: number) {}

  load(c: Conversation, messages: Message[] = []): void {
    const old = this.convs.get(c.id);
    const members = new Map<number, { role: string; read_seq: number; delivered_seq: number }>();
    for (const m of c.members) {
      const o = old?.members.get(m.user.id);
      members.set(m.user.id, { role: m.role, read_seq: Math.max(m.read_seq, o?.read_seq ?? 0), delivered_seq: Math.max(m.delivered_seq, o?.delivered_seq ?? 0) });
    }
    const conv: MConv = {
      id: c.id,
      title: c.title,
      myRole: c.my_role,
      lastSeq: Math.max(c.last_seq, old?.lastSeq ?? 0),
      changeSeq: Math.max(c.change_seq, old?.changeSeq ?? 0),
      myReadSeq: Math.max(c.my_read_seq, old?.myReadSeq ?? 0),
      mySentSeq: Math.max(c.my_sent_seq, old?.mySentSeq ?? 0),
      mySeenSeq: Math.max(c.my_seen_seq, old?.mySeenSeq ?? 0),
      members,
      reads: old?.reads ?? new Map(),
      delivered: old?.delivered ?? new Map(),
      messages: old?.messages ?? new Map(),
    };
    for (const m of c.members) {
      raise(conv.reads, m.user.id, m.read_seq);
      raise(conv.delivered, m.user.id, m.delivered_seq);
    }
    this.convs.set(c.id, conv);
    for (const m of messages) this.#message(conv, m);
  }

  #message(c: MConv, m: Message): void {
    const old = c.messages.get(m.id);
    if (!old || old.change_seq <= m.change_seq) c.messages.set(m.id, msgView(m) as Message);
    c.lastSeq = Math.max(c.lastSeq, m.seq);
    c.changeSeq = Math.max(c.changeSeq, m.change_seq);
    // Sending delivers up to one's own message and reads nothing.
    raise(c.delivered, m.sender.id, m.seq);
    if (m.sender.id === this.me) c.mySentSeq = Math.max(c.mySentSeq, m.seq);
    if (m.sender.id === this.me && m.reply_to_id === null) c.mySeenSeq = Math.max(c.mySeenSeq, m.seq);
  }

  /** Applies one server frame; returns a conversation id that must be fetched again (someone joined). */
  apply(f: Frame): number | null {
    switch (f.type) {
      case 'message':
      case 'message_changed': {
        const c = this.convs.get(f.conversation_id);
        if (c) this.#message(c, f.message);
        return null;
      }
      case 'read': {
        const c = this.convs.get(f.conversation_id);
        if (c) {
          raise(c.reads, f.user_id, f.read_seq);
          raise(c.delivered, f.user_id, f.read_seq);
        }
        if (c && f.user_id === this.me) {
          c.myReadSeq = Math.max(c.myReadSeq, f.read_seq);
          c.mySeenSeq = Math.max(c.mySeenSeq, f.read_seq);
        }
        return null;
      }
      case 'delivered': {
        const c = this.convs.get(f.conversation_id);
        if (c) raise(c.delivered, f.user_id, f.delivered_seq);
        return null;
      }
      case 'conversation_changed': {
        if (f.change === 'deleted') this.convs.delete(f.conversation.id);
        else if (f.change === 'updated') {
          const c = this.convs.get(f.conversation.id);
          if (c && 'title' in f) c.title = f.title;
        } else return f.conversation.id;
        return null;
      }
      case 'participant_changed': {
        const c = this.convs.get(f.conversation_id);
        if (f.change === 'removed' && f.user.id === this.me) {
          this.convs.delete(f.conversation_id);
          return null;
        }
        if (f.change === 'added' && f.user.id === this.me && !c) return f.conversation_id; // (re-)added: load it
        if (!c) return null;
        if (f.change === 'added') return c.id;
        if (f.change === 'removed') c.members.delete(f.user.id);
        if (f.change === 'role') {
          const m = c.members.get(f.user.id);
          if (m) m.role = f.role;
          if (f.user.id === this.me) c.myRole = f.role;
        }
        return null;
      }
      default:
        return null; // typing, presence, mention, pong, …: not state the oracle compares
    }
  }

  conv(id: number) {
    const c = this.convs.get(id);
    if (!c) return undefined;
    let last: Message | undefined;
    for (const m of c.messages.values()) if (!last || m.seq > last.seq) last = m;
    return {
      id: c.id,
      title: c.title,
      last_seq: c.lastSeq,
      change_seq: c.changeSeq,
      last_message: last ? { id: last.id, change_seq: last.change_seq } : null,
      // Issue 18: what is above my place, not deleted (a deleted message is never unread) and
      // not a thread reply (it counts in its thread's unread).
      unread_count: [...c.messages.values()].filter((m) => m.seq > c.mySeenSeq && m.deleted_at === null && m.reply_to_id === null).length,
      my_read_seq: c.myReadSeq,
      my_sent_seq: c.mySentSeq,
      my_role: c.myRole,
      members: [...c.members]
        .map(([user, m]) => ({ user, role: m.role, read_seq: Math.max(m.read_seq, c.reads.get(user) ?? 0), delivered_seq: Math.max(m.delivered_seq, c.delivered.get(user) ?? 0) }))
        .sort((a, b) => a.user - b.user),
    };
  }

  /** The messages, each parent's reply_count its replies not deleted (no frame changes a parent for its replies; the device knows every message). */
  messages(id: number): Message[] {
    const all = [...(this.convs.get(id)?.messages.values() ?? [])];
    const replies = new Map<number, number>();
    for (const m of all) if (m.reply_to_id !== null && m.deleted_at === null) replies.set(m.reply_to_id, (replies.get(m.reply_to_id) ?? 0) + 1);
    return all.map((m) => ({ ...m, reply_count: replies.get(m.id) ?? 0 })).sort((a, b) => a.seq - b.seq);
  }
}

// ------------------------------------------------------------------ a device

export interface Cursor {
  conversation_id: number;
  last_seq: number;
  last_change_seq: number;
}

/**
 * One device of a user: REST snapshot first, then a socket subscribed with cursors at that
 * snapshot; every frame goes to the reducer and to a ChatState, in arrival order. Keeps the
 * cursors (highest seq and change_seq delivered) across disconnects, as a client must.
 */
export class Device {
  readonly reducer: Reducer;
  readonly state = new ChatState();
  sock: TestSocket | null = null;
  readonly cursors = new Map<number, { seq: number; change: number }>();
  /** Every `message` frame's (conversation, id, seq), across the device's whole life. */
  readonly messageLog = new Map<number, { id: number; seq: number }[]>();
  /** Every `message_changed` (id, change_seq) seen, across the device's whole life. */
  readonly changeLog: string[] = [];
  readonly problems: string[] = [];
  readonly allFrames: Frame[] = [];
  /** Message ids this device holds (snapshot or frames): "nothing lost" is checked against these. */
  readonly knownIds = new Set<number>();
  /** Message ids from the snapshots a conversation was loaded from before its socket followed it. */
  readonly snapshotIds = new Set<number>();
  /** Message ids and the highest seq per conversation received as `message` frames. */
  readonly frameIds = new Set<number>();
  readonly frameTop = new Map<number, number>();
  /** Sends whose ack was lost (the socket closed first): local_temp_id → what was sent. */
  readonly unacked = new Map<string, { conv: number; content: string }>();
  /** local_temp_ids sent again after a reconnect. */
  readonly retried = new Set<string>();
  /** Messages acknowledged to retries, and retries refused. */
  readonly acked: Message[] = [];
  readonly refusedRetries: { conv: number; frame: Frame }[] = [];
  /** Conversations being loaded over REST: their frames wait here, then apply in order. */
  readonly #loading = new Map<number, Frame[]>();
  #refetches: Promise<void>[] = [];
  /**
   * `conversation_not_found` error frames without a local_temp_id: the only frames this device
   * sends unasked are acks, and an ack of a message received just before the user's removal
   * may reach the server after it (the device cannot know yet): refused by contract, as for
   * any conversation one cannot see (device-acks.test.ts). Allowed up to `racedAcks`: the acks
   * sent to conversations from which this socket then told the user's removal.
   */
  readonly ackRefusals: Frame[] = [];
  racedAcks = 0;
  readonly #acksWhileMember = new Map<number, number>();
  /** A resume's replay is arriving (subscribe sent, `subscribed` not yet). */
  #replaying = false;

  constructor(
    readonly server: { url: string; wsUrl: string },
    readonly user: PUser,
    readonly label: string,
  ) {
    this.reducer = new Reducer(user.user.id);
    this.state.me = user.user as never;
  }

  get connected(): boolean {
    return this.sock !== null;
  }

  /** Whether the device knows the conversation (loaded or loading). */
  knows(convId: number): boolean {
    return this.reducer.convs.has(convId) || this.#loading.has(convId);
  }

  /**
   * Loads a conversation's REST snapshot into both reducers and starts its cursor there.
   * `live`: the socket already follows it (found through `conversation_changed` or
   * `subscribed`): its frames are held until the snapshot is in, then applied in order.
   */
  async load(convId: number, live = false): Promise<void> {
    if (live) this.#loading.set(convId, this.#loading.get(convId) ?? []);
    try {
      const at = this.state.tick();
      let snap: Awaited<ReturnType<typeof restSnapshot>>;
      try {
        snap = await restSnapshot(this.server, this.user, convId);
      } catch (e) {
        // Removed from it while it loaded (its participant_changed comes, or came, too).
        if (!(e instanceof GoneError)) throw e;
        this.reducer.convs.delete(convId);
        this.state.removeConversation(convId);
        this.#loading.delete(convId);
        return;
      }
      this.reducer.load(snap.conversation, snap.messages);
      this.state.mergeConversation(snap.conversation, at);
      for (const m of snap.messages) {
        this.state.mergeMessage(m, 'history');
        this.knownIds.add(m.id);
        if (!live) this.snapshotIds.add(m.id);
      }
      const cur = this.cursors.get(convId);
      this.cursors.set(convId, {
        seq: Math.max(cur?.seq ?? 0, snap.conversation.last_seq),
        change: Math.max(cur?.change ?? 0, snap.conversation.change_seq),
      });
    } finally {
      const held = this.#loading.get(convId) ?? [];
      this.#loading.delete(convId);
      for (const f of held) this.#apply(f);
    }
  }

  /** Forgets a conversation's messages (after snapshot_required), before loading it again. */
  forget(convId: number): void {
    this.state.clearMessages(convId);
    this.reducer.convs.delete(convId);
    this.frameTop.delete(convId);
  }

  /** The conversation row again (what the socket does not replay: receipts, members), merged by maximum. */
  async refetchRow(convId: number): Promise<void> {
    if (!this.reducer.convs.has(convId)) {
      if (!this.#loading.has(convId)) await this.load(convId, true);
      return;
    }
    for (let i = 0; i < 5; i++) {
      const at = this.state.tick();
      const c = await api(this.server, 'GET', `${P}/conversations/${convId}`, { token: this.user.token });
      if (c.status !== 200) return;
      this.reducer.load(c.body);
      if (!this.state.mergeConversation(c.body, at)) return;
    }
  }

  #onFrame(f: Frame): void {
    this.allFrames.push(f);
    // The ack of a retried send is the original message again, to the retrying socket
    // (docs/delivery.md 3): not a duplicate delivery.
    const retryAck = f.type === 'message' && typeof f.message.local_temp_id === 'string' && this.retried.has(f.message.local_temp_id) && this.knownIds.has(f.message.id);
    if (f.type === 'message' && !retryAck) {
      const log = this.messageLog.get(f.conversation_id) ?? [];
      if (this.frameIds.has(f.message.id)) this.problems.push(`${this.label}: message ${f.message.id} (seq ${f.message.seq}) twice`);
      if (this.snapshotIds.has(f.message.id)) this.problems.push(`${this.label}: message ${f.message.id} (seq ${f.message.seq}) was in the snapshot the cursor came from, and came again as new`);
      const top = this.frameTop.get(f.conversation_id) ?? 0;
      if (f.message.seq <= top) this.problems.push(`${this.label}: message seq ${f.message.seq} after seq ${top}`);
      this.frameTop.set(f.conversation_id, Math.max(top, f.message.seq));
      this.frameIds.add(f.message.id);
      this.knownIds.add(f.message.id);
      log.push({ id: f.message.id, seq: f.message.seq });
      this.messageLog.set(f.conversation_id, log);
    }
    if (f.type === 'message_changed') {
      const key = `${f.message.id}@${f.message.change_seq}`;
      if (this.changeLog.includes(key)) this.problems.push(`${this.label}: message_changed ${key} twice`);
      this.changeLog.push(key);
    }
    if (f.type === 'message' || f.type === 'message_changed') {
      const cur = this.cursors.get(f.conversation_id) ?? { seq: 0, change: 0 };
      this.cursors.set(f.conversation_id, { seq: Math.max(cur.seq, f.message.seq), change: Math.max(cur.change, f.message.change_seq) });
    }
    if (f.type === 'participant_changed' && f.change === 'removed' && f.user.id === this.user.user.id) {
      this.racedAcks += this.#acksWhileMember.get(f.conversation_id) ?? 0;
      this.#acksWhileMember.delete(f.conversation_id);
    }
    const retryRefused = f.type === 'error' && typeof f.local_temp_id === 'string' && this.retried.has(f.local_temp_id);
    const ackRefused = f.type === 'error' && f.code === 'conversation_not_found' && f.local_temp_id === undefined;
    if (ackRefused) this.ackRefusals.push(f);
    else if ((f.type === 'error' && !retryRefused) || f.type === 'snapshot_required') this.problems.push(`${this.label}: ${JSON.stringify(f)}`);
    const conv = f.conversation_id ?? (f.type === 'conversation_changed' ? f.conversation.id : undefined);
    const held = conv === undefined ? undefined : this.#loading.get(conv);
    if (held && f.type !== 'conversation_changed') held.push(f);
    else this.#apply(f);
  }

  #apply(f: Frame): void {
    // The independent reducer.
    const again = this.reducer.apply(f);
    // The SDK's state.
    switch (f.type) {
      case 'message':
      case 'message_changed':
        // Between `subscribe` and `subscribed`: the resume's replay, as the SDK client tells it
        // (not a live frame still arriving while the socket closes).
        this.state.mergeMessage(f.message, this.#replaying ? 'replay' : 'event');
        break;
      case 'read':
        this.state.applyRead(f.conversation_id, f.user_id, f.read_seq);
        break;
      case 'delivered':
        this.state.applyDelivered(f.conversation_id, f.user_id, f.delivered_seq);
        break;
      case 'typing':
        this.state.applyTyping(f as never);
        break;
      case 'conversation_changed':
        this.state.applyConversationChanged(f as never);
        break;
      case 'participant_changed':
        if (this.state.applyParticipantChanged(f as never)) this.#refetches.push(this.refetchRow(f.conversation_id));
        break;
    }
    if (again !== null && !this.#loading.has(again)) this.#refetches.push(this.refetchRow(again));
  }

  /** Opens the socket and subscribes with the cursors it has; resolves at `subscribed`. */
  async connect(): Promise<void> {
    if (this.sock) throw new Error('already connected');
    const s = await openSocket(`${this.server.wsUrl}/api/parley/ws?token=${encodeURIComponent(this.user.token)}`);
    s.ws.on('message', (d) => {
      let f: Frame;
      try {
        f = JSON.parse(d.toString());
      } catch {
        this.problems.push(`${this.label}: non-JSON frame`);
        return;
      }
      this.#onFrame(f);
      // A device acknowledges what it received, as the SDK does (delivered receipts, issue 19).
      if (f.type === 'message') {
        s.send({ type: 'ack', conversation_id: f.conversation_id, seq: f.message.seq });
        this.#acksWhileMember.set(f.conversation_id, (this.#acksWhileMember.get(f.conversation_id) ?? 0) + 1);
      }
    });
    await s.next('ready');
    const cursors: Cursor[] = [...this.cursors].map(([conversation_id, c]) => ({ conversation_id, last_seq: c.seq, last_change_seq: c.change }));
    this.#replaying = true;
    s.send({ type: 'subscribe', cursors });
    let sub: Frame;
    try {
      sub = await s.next('subscribed', { timeoutMs: 10_000 });
    } finally {
      this.#replaying = false;
    }
    // What the SDK client does at `subscribed`: the replayed parents are plain messages again.
    this.state.replayDone();
    this.sock = s;
    // Conversations it did not know (created, or joined, while it was away): loaded now.
    // Conversations it knew that are not followed any more (removed while away): dropped.
    const followed = new Set((sub.conversations as { id: number }[]).map((c) => c.id));
    for (const id of [...this.reducer.convs.keys()]) {
      if (followed.has(id)) continue;
      this.reducer.convs.delete(id);
      this.state.removeConversation(id);
    }
    const unknown = (sub.conversations as { id: number }[]).filter((c) => !this.knows(c.id));
    for (const c of unknown) this.#loading.set(c.id, []);
    for (const c of unknown) await this.load(c.id, true);
    // Sends not acknowledged before the socket went: again, with the same local_temp_id.
    for (const [tid, u] of [...this.unacked]) {
      this.retried.add(tid);
      const ack = await this.send(u.conv, u.content, tid);
      // Refused only when the user left the conversation meanwhile (the caller checks that).
      if (ack.type !== 'message') this.refusedRetries.push({ conv: u.conv, frame: ack });
      else this.acked.push(ack.message);
      this.unacked.delete(tid);
    }
  }

  /** Closes the socket (waits for the close); the cursors stay. */
  async disconnect(): Promise<void> {
    const s = this.sock;
    if (!s) return;
    this.sock = null;
    this.#acksWhileMember.clear(); // their answers, if any, are lost with the socket
    s.close();
    await s.closed;
  }

  /** Everything sent before has been handled and answered (a pong), and refetches are done. */
  async sync(): Promise<void> {
    if (this.sock) {
      this.sock.send({ type: 'ping' });
      await this.sock.next('pong');
    }
    while (this.#refetches.length) await Promise.all(this.#refetches.splice(0));
  }

  /** Sends over the socket and waits for the ack (the `message` carrying the local_temp_id). */
  async send(convId: number, content: string, localTempId: string): Promise<Frame> {
    const s = this.sock!;
    s.send({ type: 'send', conversation_id: convId, content, local_temp_id: localTempId });
    return s.next(null, { where: (f) => (f.type === 'message' && f.message.local_temp_id === localTempId) || (f.type === 'error' && f.local_temp_id === localTempId), timeoutMs: 10_000 });
  }
}

/**
 * The oracle: the device's two states (reducer and ChatState) equal a fresh REST snapshot of
 * the conversation — messages field by field, the row's watermarks, unread count and members.
 */
export async function expectInSync(server: { url: string }, d: Device, convId: number, label = ''): Promise<void> {
  const truth = await restSnapshot(server, d.user, convId);
  const want = { conv: convView(truth.conversation), messages: truth.messages.map(msgView) };
  const reducer = { conv: d.reducer.conv(convId), messages: d.reducer.messages(convId).map(msgView) };
  const sdkConv = d.state.conversation(convId);
  const sdk = { conv: sdkConv ? convView(sdkConv) : undefined, messages: d.state.messages(convId).map(msgView) };
  expect(reducer, `${label} ${d.label} reducer vs REST`).toEqual(want);
  expect(sdk, `${label} ${d.label} ChatState vs REST`).toEqual(want);
  // The SDK promises the whole REST shape of the row (README: "exactly the shape a fresh REST load shows").
  expect(sdkConv && fullConvView(sdkConv), `${label} ${d.label} ChatState row vs REST row`).toEqual(fullConvView(truth.conversation));
  const unexplained = d.ackRefusals.length > d.racedAcks ? d.ackRefusals.map((f) => `${d.label}: ${JSON.stringify(f)} (acks raced by a removal: ${d.racedAcks})`) : [];
  expect([...d.problems, ...unexplained], `${label} ${d.label} delivery problems`).toEqual([]);
}

export { sleep };

/**
 * startParley (test/helpers/parley.ts), with the server's errors logged to stderr when
 * ORACLE_LOG=1 (to see what a 500 was).
 */
export async function startOracleServer(env: Record<string, string> = {}): Promise<TestServer> {
  if (!process.env.ORACLE_LOG) return startParley({ env });
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { loadConfig } = await import('../../src/config/config.js');
  const { createParley } = await import('../../src/app/app.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-oracle-'));
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${path.join(dir, 'parley.db')}`,
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256',
    LOG_LEVEL: 'error',
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_REST_WRITES_PER_SECOND: '0',
    RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    RATE_USER_READS_PER_SECOND: '0',
    RATE_LOGIN_ACCOUNT_FAILURES: 'off',
    RATE_LOGIN_ADDRESS_FAILURES: 'off',
    RATE_LOGIN_ADDRESS_ATTEMPTS: 'off',
    REGISTRATION: 'open',
    ...env,
  });
  const parley = await createParley(config, { logger: { level: 'error' } });
  const url = (await parley.listen()).replace('localhost', '127.0.0.1');
  return {
    parley,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    data: { dir, databaseUrl: config.databaseUrl },
    async close() {
      await parley.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
