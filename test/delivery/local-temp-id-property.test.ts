// Issue 14, item 1, as a property over every dialect that takes a local_temp_id: the retry
// key is (sender, conversation, local_temp_id) (DESIGN.md, Core model; docs/delivery.md 3).
//
// Three users (all friends) share two direct conversations and two groups. A run is a random
// sequence of sends, one after the other, each by a random sender into one of its
// conversations through a random dialect — /api/chat's socket, 004's REST and socket, 003's
// REST and socket, Parley's REST and socket — with a local_temp_id drawn from a pool of three
// (or none), so the same id is reused across conversations and retried in the same one, by
// the same or another dialect, all the time. After every send and every run:
// - the ack (REST answer, ack frame) is the message of the conversation it was sent into:
//   it names that conversation, and carries the content first sent with that
//   (sender, conversation, id), the original message (same uuid) on a retry;
// - no socket that follows conversations (Parley's subscribed socket, 003's joined one, 004's,
//   /api/chat's room) ever receives a message of a conversation it does not follow, or a
//   frame naming another conversation than the message's own;
// - each conversation's history equals a sequential model: one message per distinct
//   (sender, conversation, id) plus every send without an id, in send order.
// TEMP_ID_RUNS (default 25) runs per database, seeded by TEMP_ID_SEED (default 20261204;
// `random` for a fresh one); TEMP_ID_SHRINK=1 shrinks a failure to a minimal sequence.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, chatSocket, eventually, newUser, openSocket, type Frame, type TestSocket, type TestUser } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';

const RUNS = Number(process.env.TEMP_ID_RUNS ?? 25);
const SEED = process.env.TEMP_ID_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.TEMP_ID_SEED ?? 20261204);
const ACK_MS = 10_000;

const DIALECTS = ['chat-ws', '004-rest', '004-ws', '003-rest', '003-ws', 'parley-rest', 'parley-ws'] as const;
type Dialect = (typeof DIALECTS)[number];

interface Conv {
  name: string;
  id: number;
  uuid: string;
  kind: 'direct' | 'group';
  /** Indexes into `users`. */
  members: number[];
}

interface Step {
  sender: number;
  /** Index into the sender's conversations (modulo their number). */
  conv: number;
  dialect: Dialect;
  /** Index into the run's pool of local_temp_ids; null: sent without one. */
  tid: number | null;
}

/** What an ack says: the message's uuid, its content and conversation where the dialect shows them. */
interface Ack {
  uuid: string;
  content?: string;
  /** Whether the ack names `c` as its conversation (undefined: this ack names none). */
  names?: (c: Conv) => boolean;
}

/** A message frame a follower received, reduced to what the check needs. */
interface Seen {
  uuid: string;
  /** Whether the frame names `c` as the message's conversation. */
  names: (c: Conv) => boolean;
}

interface Follower {
  label: string;
  socket: TestSocket;
  follows: Conv[];
  /** The message frames among `frames`, with the conversation each names. */
  messages: (f: Frame) => Seen | null;
  /** frames[0, checked) were checked by an earlier run. */
  checked: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  sender: fc.nat(2),
  conv: fc.nat(3),
  dialect: fc.constantFrom(...DIALECTS),
  tid: fc.option(fc.nat(2), { freq: 5 }),
});

describe.each(databases)('local_temp_id keyed by (sender, conversation, id) over every dialect on %s', (db) => {
  const server = useParley({ db });
  let users: TestUser[];
  let convs: Conv[];
  let followers: Follower[];
  const senders: Record<'chat' | 'f004' | 'n003' | 'parley', TestSocket[]> = { chat: [], f004: [], n003: [], parley: [] };
  const convOf = new Map<string, Conv>();
  let runNo = 0;

  const ok = async (p: Promise<{ status: number; body: any }>, ...status: number[]) => {
    const r = await p;
    expect(status, `${r.status} ${JSON.stringify(r.body)}`).toContain(r.status);
    return r.body;
  };

  beforeAll(async () => {
    users = await Promise.all(['Ann', 'Bob', 'Cid'].map((name) => newUser(server, { name })));
    const [a, b, c] = users;
    for (const [x, y] of [
      [a, b],
      [a, c],
    ]) {
      await ok(api(server, 'POST', '/api/friends', { token: x.token, json: { user_id: y.user.uuid } }), 200);
      await ok(api(server, 'POST', '/api/friends', { token: y.token, json: { user_id: x.user.uuid } }), 200);
    }
    const create = async (name: string, kind: 'direct' | 'group', members: number[]): Promise<Conv> => {
      const json = kind === 'direct' ? { kind, user_id: users[members[1]].user.id } : { kind, title: name, member_ids: members.slice(1).map((m) => users[m].user.id) };
      const body = await ok(api(server, 'POST', '/api/parley/conversations', { token: users[members[0]].token, json }), 201);
      return { name, id: body.id, uuid: body.uuid, kind, members };
    };
    convs = [await create('dm-ab', 'direct', [0, 1]), await create('dm-ac', 'direct', [0, 2]), await create('team-abc', 'group', [0, 1, 2]), await create('pair-ab', 'group', [0, 1])];

    followers = [];
    for (const [u, user] of users.entries()) {
      const mine = convs.filter((c) => c.members.includes(u));
      const uuidOf = (id: string) => users.find((x) => x.user.uuid === id)?.user.id;

      // Parley: a subscribed socket follows all of the user's conversations.
      const pf = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(user.token)}`);
      await pf.next('ready');
      pf.send({ type: 'subscribe' });
      await pf.next('subscribed');
      followers.push({
        label: `parley follower of ${user.user.name}`,
        socket: pf,
        follows: mine,
        checked: 0,
        messages: (f) => (f.type === 'message' ? { uuid: f.message.uuid, names: (c) => f.conversation_id === c.id && f.message.conversation_id === c.id } : null),
      });

      // 003: one socket joined to every conversation of the user.
      const nf = await socket003(server, user);
      for (const c of mine) await join003(nf, c.uuid);
      followers.push({
        label: `003 follower of ${user.user.name}`,
        socket: nf,
        follows: mine,
        checked: 0,
        messages: (f) => (f.type === 'new_message' ? { uuid: f.message.id, names: (c) => f.conversation_id === c.uuid && f.message.conversation_id === c.uuid } : null),
      });

      // 004: its socket follows the user's direct conversations (and sends: its ack is message_sent).
      const ff = await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat?token=${encodeURIComponent(user.token)}`);
      await ff.next('connection_established');
      await ff.next('online_friends');
      senders.f004[u] = ff;
      followers.push({
        label: `004 socket of ${user.user.name}`,
        socket: ff,
        follows: mine.filter((c) => c.kind === 'direct'),
        checked: 0,
        messages: (f) =>
          f.type === 'new_message'
            ? {
                uuid: f.message.message_id,
                names: (c) => {
                  const pair = [uuidOf(f.message.sender_id), uuidOf(f.message.receiver_id)];
                  return c.kind === 'direct' && c.members.every((m) => pair.includes(users[m].user.id));
                },
              }
            : null,
      });

      // /api/chat: a socket per room (a socket follows one room).
      for (const c of mine) {
        followers.push({
          label: `/api/chat follower of ${user.user.name} in ${c.name}`,
          socket: await chatSocket(server, user, c.id),
          follows: [c],
          checked: 0,
          messages: (f) => (f.type === 'new_message' ? { uuid: f.data.uuid, names: (x) => f.data.room_id === x.id } : null),
        });
      }

      // Senders that follow nothing: all they receive is their own acks, in order.
      senders.chat[u] = await chatSocket(server, user);
      senders.n003[u] = await socket003(server, user);
      const ps = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(user.token)}`);
      await ps.next('ready');
      senders.parley[u] = ps;
    }
  });
  afterAll(async () => {
    for (const f of followers ?? []) f.socket.close();
    for (const list of Object.values(senders)) for (const s of list) s?.close();
  });

  /** Sends one message through `dialect`; resolves with the ack, or fails on an error. */
  async function send(dialect: Dialect, u: number, c: Conv, content: string, tid: string | null): Promise<Ack> {
    const user = users[u];
    const other = c.kind === 'direct' ? users[c.members.find((m) => m !== u)!] : undefined;
    const withTid = tid === null ? {} : { local_temp_id: tid };
    const isAck = (type: string) => (f: Frame) => f.type === type || f.type === 'error';
    // A sender socket hears no one else's messages: the first ack frame after the send is this send's.
    const sentAt = (dialect === 'chat-ws' ? senders.chat : dialect === '004-ws' ? senders.f004 : dialect === '003-ws' ? senders.n003 : senders.parley)[u].frames.length;
    const frameAck = async (s: TestSocket, type: string) => {
      const f = await frameAfter(s, sentAt, isAck(type));
      expect(f.type, `${dialect} ack: ${JSON.stringify(f)}`).toBe(type);
      if (tid !== null) expect(f.local_temp_id ?? f.data?.local_temp_id ?? f.message?.local_temp_id).toBe(tid);
      return f;
    };
    switch (dialect) {
      case 'chat-ws': {
        senders.chat[u].send({ type: 'send_message', data: { room_id: c.id, content, ...withTid } });
        const f = await frameAck(senders.chat[u], 'new_message');
        return { uuid: f.data.uuid, content: f.data.content, names: (x) => f.data.room_id === x.id };
      }
      case '004-rest': {
        const m = await ok(api(server, 'POST', '/api/v1/chat/messages/', { token: user.token, json: { receiver_id: other!.user.uuid, content, ...withTid } }), 200);
        // 004 names a direct conversation by its two people.
        const pair = [m.sender_id, m.receiver_id];
        return { uuid: m.message_id, content: m.content, names: (x) => x.kind === 'direct' && m.sender_id === user.user.uuid && x.members.every((i) => pair.includes(users[i].user.uuid)) };
      }
      case '004-ws': {
        senders.f004[u].send({ type: 'send_message', receiver_id: other!.user.uuid, content, ...withTid });
        const f = await frameAck(senders.f004[u], 'message_sent');
        return { uuid: f.message_id };
      }
      case '003-rest': {
        const m = await ok(api(server, 'POST', `/api/notifications/chat/conversations/${c.uuid}/messages/`, { token: user.token, json: { message_type: 'text', content, ...withTid } }), 201);
        return { uuid: m.id, content: m.content, names: (x) => m.conversation_id === x.uuid };
      }
      case '003-ws': {
        senders.n003[u].send({ type: 'send_message', conversation_id: c.uuid, message_type: 'text', content, ...withTid });
        const f = await frameAck(senders.n003[u], 'new_message');
        return { uuid: f.message.id, content: f.message.content, names: (x) => f.conversation_id === x.uuid && f.message.conversation_id === x.uuid };
      }
      case 'parley-rest': {
        const m = await ok(api(server, 'POST', `/api/parley/conversations/${c.id}/messages`, { token: user.token, json: { content, ...withTid } }), 200, 201);
        return { uuid: m.uuid, content: m.content, names: (x) => m.conversation_id === x.id };
      }
      case 'parley-ws': {
        senders.parley[u].send({ type: 'send', conversation_id: c.id, content, local_temp_id: tid });
        const f = await frameAck(senders.parley[u], 'message');
        return { uuid: f.message.uuid, content: f.message.content, names: (x) => f.conversation_id === x.id && f.message.conversation_id === x.id };
      }
    }
  }

  async function history(c: Conv, afterSeq: number): Promise<{ uuid: string; sender: number; content: string; seq: number }[]> {
    const body = await ok(api(server, 'GET', `/api/parley/conversations/${c.id}/messages?limit=100`, { token: users[c.members[0]].token }), 200);
    return (body.messages as any[])
      .filter((m) => m.seq > afterSeq)
      .map((m) => ({ uuid: m.uuid, sender: users.findIndex((x) => x.user.id === m.sender.id), content: m.content, seq: m.seq }));
  }

  /** A marker in each conversation, awaited by every follower of it; returns the markers. */
  async function barrier(prefix: string): Promise<Map<Conv, string>> {
    const markers = new Map<Conv, string>();
    for (const c of convs) {
      const m = await ok(api(server, 'POST', `/api/parley/conversations/${c.id}/messages`, { token: users[c.members[0]].token, json: { content: `${prefix} marker` } }), 201);
      markers.set(c, m.uuid);
    }
    for (const f of followers) {
      for (const c of f.follows) {
        await frameAfter(f.socket, f.checked, (x) => f.messages(x)?.uuid === markers.get(c)).catch((e: Error) => {
          throw new Error(`${f.label} did not get the marker of ${c.name} (${markers.get(c)}): ${e.message}`);
        });
      }
    }
    return markers;
  }

  // A run that failed half-way left frames and acks behind; when shrinking, the next run
  // starts after them so that it fails only for what it does itself.
  let dirty = false;
  async function run(steps: Step[]): Promise<void> {
    const prefix = `r${++runNo}`;
    if (dirty) {
      await barrier(`${prefix}-flush`);
      for (const f of followers) f.checked = f.socket.frames.length;
      for (const list of Object.values(senders)) {
        for (const s of list) {
          const from = s.frames.length;
          s.send({ type: 'ping' });
          await frameAfter(s, from, (f) => f.type === 'pong');
        }
      }
    }
    dirty = true;
    const start = new Map<Conv, number>();
    for (const c of convs) start.set(c, (await ok(api(server, 'GET', `/api/parley/conversations/${c.id}`, { token: users[c.members[0]].token }), 200)).last_seq);

    // The sequential model: per conversation the messages in send order; per key the first send.
    const model = new Map<Conv, { sender: number; content: string; uuid?: string }[]>(convs.map((c) => [c, []]));
    const firsts = new Map<string, { sender: number; content: string; uuid?: string }>();
    for (const [i, step] of steps.entries()) {
      const mine = convs.filter((c) => c.members.includes(step.sender));
      const c = mine[step.conv % mine.length];
      // 004 has direct conversations only; its REST/socket choice maps onto 003's for a group.
      let dialect: Dialect = step.dialect;
      if (c.kind !== 'direct' && dialect.startsWith('004')) dialect = dialect === '004-rest' ? '003-rest' : '003-ws';
      // Parley's socket requires a local_temp_id.
      if (step.tid === null && dialect === 'parley-ws') dialect = 'parley-rest';
      const tid = step.tid === null ? null : `${prefix}-${step.tid}`;
      const content = `${prefix} #${i} ${users[step.sender].user.name} → ${c.name} via ${dialect} (${tid ?? 'no id'})`;
      const key = tid === null ? null : `${step.sender}|${c.id}|${tid}`;
      const first = key === null ? undefined : firsts.get(key);
      const where = `step ${i} (${content})`;

      const ack = await send(dialect, step.sender, c, content, tid);
      if (ack.names) expect(convs.filter((x) => ack.names!(x)).map((x) => x.name), `${where}: the conversation its ack names`).toEqual([c.name]);
      if (first) {
        if (ack.content !== undefined) expect(ack.content, `${where}: a retry is answered with the original`).toBe(first.content);
        expect(ack.uuid, `${where}: a retry is answered with the original`).toBe(first.uuid);
      } else {
        if (ack.content !== undefined) expect(ack.content, `${where}: a new message`).toBe(content);
        const entry = { sender: step.sender, content, uuid: ack.uuid };
        model.get(c)!.push(entry);
        if (key !== null) firsts.set(key, entry);
      }
    }

    // Whatever this run published to a socket has arrived once the marker after it has (one
    // conversation's events come in order).
    const markers = await barrier(prefix);

    // Each conversation's history is the model's (plus the marker).
    for (const c of convs) {
      const got = await history(c, start.get(c)!);
      for (const m of got) convOf.set(m.uuid, c);
      expect(got.pop()?.uuid).toBe(markers.get(c));
      expect(got.map(({ sender, content, uuid }) => ({ sender, content, uuid })), `history of ${c.name}`).toEqual(model.get(c));
    }

    // No follower got a message of a conversation it does not follow, or named wrongly.
    for (const f of followers) {
      const frames = f.socket.frames.slice(f.checked);
      f.checked = f.socket.frames.length;
      for (const frame of frames) {
        const seen = f.messages(frame);
        if (!seen) continue;
        const truth = convOf.get(seen.uuid);
        expect(truth?.name, `${f.label} got a message no history has: ${JSON.stringify(frame)}`).toBeDefined();
        expect(f.follows.map((c) => c.name), `${f.label} got a message of ${truth!.name}: ${JSON.stringify(frame)}`).toContain(truth!.name);
        expect(seen.names(truth!), `${f.label}: the frame names another conversation than its message's: ${JSON.stringify(frame)}`).toBe(true);
      }
    }
    dirty = false;
  }

  it(`fast-check, ${RUNS} runs (seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 6_000) }, async () => {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 14 }), run), {
      numRuns: RUNS,
      seed: SEED,
      endOnFailure: process.env.TEMP_ID_SHRINK !== '1',
      verbose: 1,
    });
  });
});

/** The first frame at index `from` or later that matches. */
function frameAfter(s: TestSocket, from: number, pred: (f: Frame) => boolean): Promise<Frame> {
  return eventually(
    () => {
      const f = s.frames.slice(from).find(pred);
      if (!f) throw new Error(`no such frame within ${ACK_MS} ms; got ${JSON.stringify(s.frames.slice(from).map((x) => x.type))}`);
      return f;
    },
    { timeoutMs: ACK_MS, intervalMs: 5 },
  );
}

/** 003's socket: connection_established first. */
async function socket003(server: TestServer, user: TestUser): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}/ws/chat/${user.user.tenant_id}/?token=${encodeURIComponent(user.token)}`);
  await s.next('connection_established');
  return s;
}

async function join003(s: TestSocket, conversation: string): Promise<void> {
  s.send({ type: 'join_conversation', conversation_id: conversation });
  const f = await s.next(null, { where: (x) => (x.type === 'conversation_joined' && x.conversation_id === conversation) || x.type === 'error' });
  expect(f.type, JSON.stringify(f)).toBe('conversation_joined');
}
