// State-sync oracle (issue 9, item 5). A client that applies the events it received over
// /api/parley/ws to a REST snapshot taken before them ends with exactly the state a fresh
// REST snapshot shows: messages field by field (content, edited, deleted, reactions), read
// and delivered watermarks, unread counts, members and roles. Checked twice per device:
// with the SDK's ChatState and with an independent reducer (oracle-support.ts).
//
// (a) every server event type of /api/parley, in one scenario;
// (b) a fast-check property over random schedules of 2–3 users with 1–2 devices each
//     (send, edit own, delete own, react/unreact, read, disconnect, reconnect with cursors,
//     wait, create a group, send and lose the socket before the ack then retry with the same
//     local_temp_id; and likes, reactions, reads, edits, sends and deletes made through
//     /api/chat, /api/v1/chat and /api/notifications/chat; removed from a group and added
//     back), run in concurrent batches: after each schedule and a quiet period every
//     device equals REST, got each message once and in seq order.
//     CI form: ORACLE_RUNS (default 40, ~30 s) seeded runs (ORACLE_SEED, default 20260914:
//     its run 30 found ChatState counting a replayed reply twice on its replayed parent);
//     full form: `npm run oracle` (1,000 runs, a random seed printed; ORACLE_RUNS, ORACLE_SEED
//     and ORACLE_SHRINK=1 to shrink a failure to a minimal schedule; ORACLE_PATH=<n> starts
//     at run n+1 of the seed, the path fast-check prints, so ORACLE_RUNS=1 ORACLE_PATH=49 runs
//     seed 1236306163's run 50 alone — a replay of the schedule, not of its timing).
// (c) lives in oracle-resume.test.ts (its own server with a small RESUME_MAX_MESSAGES).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually } from '../helpers/clients.js';
import type { TestServer } from '../helpers/parley.js';
import { Device, expectInSync, P, register, sleep, startOracleServer, type PUser } from './oracle-support.js';

const RUNS = Number(process.env.ORACLE_RUNS ?? 40);
const SEED = process.env.ORACLE_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.ORACLE_SEED ?? 20260914);
const MAX_ACTIONS = Number(process.env.ORACLE_MAX_BATCHES ?? 12);
/** ORACLE_KICK_LAST_SENDER=0: never remove the sender of a conversation's last message. */
const KICK_LAST_SENDER = process.env.ORACLE_KICK_LAST_SENDER !== '0';

let server: TestServer;
beforeAll(async () => {
  server = await startOracleServer();
});
afterAll(() => server?.close());

const ok = async (p: Promise<{ status: number; body: any }>, status = 200) => {
  const r = await p;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
};

/** Waits until every device has handled what was sent and the delivered receipts (200 ms batches) are out. */
async function quiet(devices: Device[]): Promise<void> {
  for (const d of devices) await d.sync();
  await sleep(350);
  for (const d of devices) await d.sync();
}

describe('(a) every /api/parley server event applied to a snapshot equals a fresh REST snapshot', () => {
  it('message, message_changed (edited, deleted, reaction_added, reaction_removed, replayed), read, delivered, typing, conversation_changed, participant_changed', async () => {
    const [a, b, c, d] = await Promise.all(['Ann', 'Bob', 'Cid', 'Dee'].map((x) => register(server, x)));
    const g = await ok(api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'group', title: 'Oracle', member_ids: [b.user.id, c.user.id] } }), 201);
    const dm = await ok(api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'direct', user_id: b.user.id } }), 201);
    // History before the snapshot (changed later: edits and deletes of "old" messages).
    const m0 = await ok(api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: a.token, json: { content: 'old zero' } }), 201);
    const m1 = await ok(api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: a.token, json: { content: 'old one' } }), 201);
    await ok(api(server, 'POST', `${P}/conversations/${dm.id}/messages`, { token: b.token, json: { content: 'dm old' } }), 201);

    const a1 = new Device(server, a, 'a1');
    const b1 = new Device(server, b, 'b1');
    const b2 = new Device(server, b, 'b2');
    const c1 = new Device(server, c, 'c1');
    const devices = [a1, b1, b2, c1];
    for (const dev of devices) {
      for (const conv of dev.user === c ? [g.id] : [g.id, dm.id]) await dev.load(conv);
      await dev.connect();
    }

    // Membership and title first (a participant joining makes clients fetch the row again),
    // then everything else, so each later event must be applied to be seen.
    await ok(api(server, 'PATCH', `${P}/conversations/${g.id}`, { token: a.token, json: { title: 'Oracle, renamed' } }));
    await ok(api(server, 'POST', `${P}/conversations/${g.id}/participants`, { token: a.token, json: { user_id: d.user.id } }), 201);
    await ok(api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: d.token, json: { content: 'hi from Dee' } }), 201);
    await ok(api(server, 'DELETE', `${P}/conversations/${g.id}/participants/${d.user.id}`, { token: a.token }), 204);
    await ok(api(server, 'PATCH', `${P}/conversations/${g.id}/participants/${c.user.id}`, { token: a.token, json: { role: 'moderator' } }));
    await quiet(devices);
    // Live messages.
    expect((await a1.send(g.id, 'live over socket', 'oracle-a-1')).type).toBe('message');
    await ok(api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: b.token, json: { content: 'live over REST' } }), 201);
    await ok(api(server, 'POST', `${P}/conversations/${dm.id}/messages`, { token: a.token, json: { content: 'dm live' } }), 201);
    await quiet(devices);
    await b2.disconnect(); // b2 misses what follows; its resume replays it
    await ok(api(server, 'PATCH', `${P}/messages/${m0.id}`, { token: a.token, json: { content: 'old zero, edited' } }));
    await ok(api(server, 'DELETE', `${P}/messages/${m1.id}`, { token: a.token }));
    await ok(api(server, 'PUT', `${P}/messages/${m0.id}/reactions/${encodeURIComponent('👍')}`, { token: c.token }));
    await ok(api(server, 'PUT', `${P}/messages/${m0.id}/reactions/${encodeURIComponent('🎉')}`, { token: b.token }));
    await ok(api(server, 'DELETE', `${P}/messages/${m0.id}/reactions/${encodeURIComponent('🎉')}`, { token: b.token }));
    a1.sock!.send({ type: 'typing', conversation_id: g.id, is_typing: true });
    await ok(api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: a.token, json: { content: 'after all that' } }), 201);
    await quiet(devices.filter((x) => x.connected));
    // Reads last, each moving a watermark: c over the socket (c's read_seq moves for
    // everyone), b over REST in the DM and the group (b's unread counts drop on b1).
    c1.sock!.send({ type: 'read', conversation_id: g.id });
    await ok(api(server, 'POST', `${P}/conversations/${dm.id}/read`, { token: b.token, json: {} }));
    await ok(api(server, 'POST', `${P}/conversations/${g.id}/read`, { token: b.token, json: {} }));
    a1.sock!.send({ type: 'typing', conversation_id: g.id, is_typing: false });
    // One more from b: unread for a and c (1 each), read for b.
    await ok(api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: b.token, json: { content: 'one more' } }), 201);
    await quiet(devices.filter((x) => x.connected));
    // b2 comes back with its cursors; what the socket does not replay (receipts, titles,
    // members) comes from the conversation rows again, as the SDK does after `subscribed`.
    await b2.connect();
    for (const conv of [g.id, dm.id]) await b2.refetchRow(conv);
    await quiet(devices);

    for (const dev of devices) {
      for (const conv of dev.user === c ? [g.id] : [g.id, dm.id]) await eventually(() => expectInSync(server, dev, conv, '(a)'), { timeoutMs: 3000, intervalMs: 100 });
    }

    expect([a1, c1].map((x) => [x.state.conversation(g.id)!.unread_count, x.reducer.conv(g.id)!.unread_count])).toEqual([
      [1, 1],
      [1, 1],
    ]);
    // Every event type of the dialect was exercised (and applied above).
    const kinds = (dev: Device) =>
      new Set(dev.allFrames.map((f) => (f.type === 'message_changed' ? `message_changed:${f.change}` : f.type === 'participant_changed' ? `participant_changed:${f.change}` : f.type === 'conversation_changed' ? `conversation_changed:${f.change}` : f.type)));
    const seen = new Set([...kinds(b1), ...kinds(b2)]);
    for (const k of [
      'message',
      'message_changed:edited',
      'message_changed:deleted',
      'message_changed:reaction_added',
      'message_changed:reaction_removed',
      'message_changed:replayed',
      'read',
      'delivered',
      'typing',
      'conversation_changed:updated',
      'participant_changed:added',
      'participant_changed:role',
      'participant_changed:removed',
    ]) {
      expect(seen, k).toContain(k);
    }
    // b2's replay: the two old messages, each once, as they are now.
    const replayed = b2.allFrames.filter((f) => f.type === 'message_changed' && f.change === 'replayed').map((f) => f.message.id);
    expect(replayed.sort()).toEqual([m0.id, m1.id].sort());
    for (const dev of devices) await dev.disconnect();
  });
});

// Found by the property (seed 158863603): when the sender of a conversation's last message
// was removed from it, the conversation answered 500 (the sender was looked up among the
// current members only, and the fallback's id 0 failed the response schema).
it('a conversation whose last message was sent by someone since removed still loads (GET conversation and list)', async () => {
  const [a, b] = await Promise.all([register(server, 'Gone1'), register(server, 'Gone2')]);
  const g = await ok(api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'group', title: 'left', member_ids: [b.user.id] } }), 201);
  await ok(api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: b.token, json: { content: 'bye' } }), 201);
  await ok(api(server, 'DELETE', `${P}/conversations/${g.id}/participants/${b.user.id}`, { token: a.token }), 204);
  const one = await api(server, 'GET', `${P}/conversations/${g.id}`, { token: a.token });
  const list = await api(server, 'GET', `${P}/conversations`, { token: a.token });
  expect([one.status, list.status]).toEqual([200, 200]);
  expect(one.body.last_message).toMatchObject({ content: 'bye', sender: { id: b.user.id } });
});

// Found by the full form (seed 159607258, run 953): a member removed and added back, socket
// open throughout, got a message they already had, deleted afterwards, as a second `message`
// instead of `message_changed` `deleted` (the orderer, started afresh by that change, took
// the changed message for a new one).
it('re-added member: deleting an old message is a message_changed, not the message again', async () => {
  const [a, b] = await Promise.all([register(server, 'Back1'), register(server, 'Back2')]);
  const g = await ok(api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'group', title: 'back', member_ids: [b.user.id] } }), 201);
  const d = new Device(server, b, 'back');
  await d.load(g.id);
  await d.connect();
  const two = await ok(api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: a.token, json: { content: 'two' } }), 201);
  await d.sync();
  await ok(api(server, 'DELETE', `${P}/conversations/${g.id}/participants/${b.user.id}`, { token: a.token }), 204);
  await ok(api(server, 'POST', `${P}/conversations/${g.id}/participants`, { token: a.token, json: { user_id: b.user.id } }), 201);
  await sleep(200);
  await ok(api(server, 'DELETE', `${P}/messages/${two.id}`, { token: a.token }));
  await sleep(300);
  await d.sync();
  const about = d.allFrames.filter((f) => (f.type === 'message' || f.type === 'message_changed') && f.message.id === two.id).map((f) => f.type + (f.change ? `:${f.change}` : ''));
  await d.disconnect();
  expect(about).toEqual(['message', 'message_changed:deleted']);
});

// ------------------------------------------------------------------ (b) the property

type Action =
  | { t: 'send'; u: number; c: number; via: 'socket' | 'rest' }
  | { t: 'reply'; u: number; pick: number }
  | { t: 'edit'; u: number; pick: number }
  | { t: 'delete'; u: number; pick: number }
  | { t: 'react'; u: number; pick: number; emoji: string; on: boolean }
  | { t: 'read'; u: number; c: number; seq: number | null }
  | { t: 'disconnect'; d: number }
  | { t: 'reconnect'; d: number }
  | { t: 'wait'; ms: number }
  | { t: 'create'; u: number }
  | { t: 'sendDrop'; d: number; c: number }
  | { t: 'other'; u: number; pick: number; kind: number }
  | { t: 'kick'; u: number; pick: number }
  | { t: 'readd'; u: number; pick: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('send' as const), u: fc.nat(5), c: fc.nat(1), via: fc.constantFrom('socket' as const, 'rest' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reply' as const), u: fc.nat(5), pick: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('edit' as const), u: fc.nat(5), pick: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), u: fc.nat(5), pick: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('react' as const), u: fc.nat(5), pick: fc.nat(50), emoji: fc.constantFrom('👍', '🎉'), on: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), u: fc.nat(5), c: fc.nat(1), seq: fc.option(fc.nat(30), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('disconnect' as const), d: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reconnect' as const), d: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('create' as const), u: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('sendDrop' as const), d: fc.nat(5), c: fc.nat(3) }) },
  // The same changes made through the other dialects: a /api/parley client must see them too.
  { weight: 3, arbitrary: fc.record({ t: fc.constant('other' as const), u: fc.nat(5), pick: fc.nat(50), kind: fc.nat(8) }) },
  // Membership: removed from a group by its admin, added back (run alone in their batch).
  { weight: 1, arbitrary: fc.record({ t: fc.constant('kick' as const), u: fc.nat(5), pick: fc.nat(10) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('readd' as const), u: fc.nat(5), pick: fc.nat(10) }) },
);

const scheduleArb = fc.record({
  users: fc.integer({ min: 2, max: 3 }),
  devices: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  /** Batches of 1–3 actions run concurrently; batches one after another, without waiting for delivery. */
  batches: fc.array(fc.array(actionArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: MAX_ACTIONS }),
});

interface Sent {
  id: number;
  uuid: string;
  conv: number;
  sender: number; // user index
  deleted: boolean;
}

const stats = { runs: 0, actions: 0, refused: 0, messages: 0, created: 0, dropped: 0, other: 0, kicked: 0, readded: 0, deviceChecks: 0 };
/** Refusals inside concurrent batches (an edit or reaction racing a delete of the same message). */
const refusalReasons = new Map<string, number>();
function refusedWhy(why: string): void {
  stats.refused++;
  refusalReasons.set(why, (refusalReasons.get(why) ?? 0) + 1);
}

type Schedule = typeof scheduleArb extends fc.Arbitrary<infer T> ? T : never;

async function runSchedule(s: Schedule): Promise<void> {
  stats.runs++;
  const users: PUser[] = await Promise.all(Array.from({ length: s.users }, (_, i) => register(server, `P${i}`)));
  const group = await ok(api(server, 'POST', `${P}/conversations`, { token: users[0].token, json: { kind: 'group', title: 'prop', member_ids: users.slice(1).map((u) => u.user.id) } }), 201);
  const direct = await ok(api(server, 'POST', `${P}/conversations`, { token: users[0].token, json: { kind: 'direct', user_id: users[1].user.id } }), 201);
  /** Groups created during the schedule (everyone is in them). */
  const extra: number[] = [];
  const uuidOf = new Map<number, string>([
    [group.id, group.uuid],
    [direct.id, direct.uuid],
  ]);
  /** Who is in each conversation now (user indexes), and each group's admin (its creator). */
  const all = users.map((_, i) => i);
  const members = new Map<number, Set<number>>([
    [group.id, new Set(all)],
    [direct.id, new Set([0, 1])],
  ]);
  const creator = new Map<number, number>([[group.id, 0]]);
  /** `conv:user` of every removal in this run. */
  const removedOnce = new Set<string>();
  const convsOf = (ui: number) => [...members].filter(([, m]) => m.has(ui)).map(([c]) => c);
  const devices: { d: Device; ui: number; busy: boolean }[] = [];
  for (let ui = 0; ui < s.users; ui++) {
    for (let k = 0; k < s.devices[ui]; k++) {
      const d = new Device(server, users[ui], `u${ui}d${k}`);
      for (const c of convsOf(ui)) await d.load(c);
      await d.connect();
      devices.push({ d, ui, busy: false });
    }
  }
  const sent: Sent[] = [];
  const lastSeq = new Map<number, number>([
    [group.id, 0],
    [direct.id, 0],
  ]);
  let tmp = 0;
  const note = (conv: number, m: any, ui: number) => {
    sent.push({ id: m.id, uuid: m.uuid, conv, sender: ui, deleted: false });
    lastSeq.set(conv, Math.max(lastSeq.get(conv)!, m.seq));
    stats.messages++;
  };
  const mine = (ui: number, pick: number) => {
    const list = sent.filter((m) => m.sender === ui && !m.deleted && convsOf(ui).includes(m.conv));
    return list.length ? list[pick % list.length] : undefined;
  };
  const visible = (ui: number, pick: number) => {
    const list = sent.filter((m) => convsOf(ui).includes(m.conv) && !m.deleted);
    return list.length ? list[pick % list.length] : undefined;
  };

  const run = async (a: Action): Promise<void> => {
    stats.actions++;
    switch (a.t) {
      case 'send': {
        const ui = a.u % s.users;
        if (convsOf(ui).length === 0) return; // removed from everything
        const conv = convsOf(ui)[a.c % convsOf(ui).length];
        const dev = devices.find((x) => x.ui === ui && x.d.connected && !x.busy);
        const content = `m${++tmp} from u${ui}`;
        if (a.via === 'socket' && dev) {
          dev.busy = true;
          try {
            const ack = await dev.d.send(conv, content, `t-${process.pid}-${stats.runs}-${tmp}`);
            expect(ack.type, JSON.stringify(ack)).toBe('message');
            note(conv, ack.message, ui);
          } finally {
            dev.busy = false;
          }
        } else {
          note(conv, await ok(api(server, 'POST', `${P}/conversations/${conv}/messages`, { token: users[ui].token, json: { content } }), 201), ui);
        }
        return;
      }
      case 'reply': {
        // A thread reply: counted in its thread's unread, never in the conversation's (issue 18).
        const ui = a.u % s.users;
        const root = visible(ui, a.pick);
        if (!root) return;
        const r = await api(server, 'POST', `${P}/conversations/${root.conv}/messages`, { token: users[ui].token, json: { content: `r${++tmp} from u${ui}`, reply_to_id: root.id } });
        if (r.status === 201) note(root.conv, r.body, ui);
        else refusedWhy(`reply ${r.status} ${JSON.stringify(r.body)}`); // its root deleted meanwhile
        return;
      }
      case 'edit': {
        const ui = a.u % s.users;
        const m = mine(ui, a.pick);
        if (!m) return;
        const r = await api(server, 'PATCH', `${P}/messages/${m.id}`, { token: users[ui].token, json: { content: `edited ${++tmp}` } });
        if (r.status !== 200) {
          // A concurrent delete in the same batch: refused, and nothing changed.
          expect(m.deleted || sent.find((x) => x.id === m.id)!.deleted, JSON.stringify(r.body)).toBe(true);
          refusedWhy(`edit ${r.status} ${JSON.stringify(r.body)}`);
        }
        return;
      }
      case 'delete': {
        const ui = a.u % s.users;
        const m = mine(ui, a.pick);
        if (!m) return;
        m.deleted = true;
        const r = await api(server, 'DELETE', `${P}/messages/${m.id}`, { token: users[ui].token });
        if (r.status !== 200) refusedWhy(`delete ${r.status} ${JSON.stringify(r.body)}`);
        return;
      }
      case 'react': {
        const ui = a.u % s.users;
        const m = visible(ui, a.pick);
        if (!m) return;
        const r = await api(server, a.on ? 'PUT' : 'DELETE', `${P}/messages/${m.id}/reactions/${encodeURIComponent(a.emoji)}`, { token: users[ui].token });
        if (r.status !== 200) refusedWhy(`react ${r.status} ${JSON.stringify(r.body)} (deleted meanwhile: ${m.deleted})`);
        return;
      }
      case 'read': {
        const ui = a.u % s.users;
        if (convsOf(ui).length === 0) return; // removed from everything
        const conv = convsOf(ui)[a.c % convsOf(ui).length];
        const top = lastSeq.get(conv)!;
        const seq = a.seq === null ? undefined : Math.min(a.seq, top);
        const dev = devices.find((x) => x.ui === ui && x.d.connected && !x.busy);
        if (dev && a.seq !== null && a.seq % 2 === 0) dev.d.sock!.send({ type: 'read', conversation_id: conv, ...(seq === undefined ? {} : { seq }) });
        else await ok(api(server, 'POST', `${P}/conversations/${conv}/read`, { token: users[ui].token, json: seq === undefined ? {} : { seq } }));
        return;
      }
      case 'disconnect': {
        const x = devices[a.d % devices.length];
        if (x.busy || !x.d.connected) return;
        x.busy = true;
        try {
          await x.d.disconnect();
        } finally {
          x.busy = false;
        }
        return;
      }
      case 'reconnect': {
        const x = devices[a.d % devices.length];
        if (x.busy || x.d.connected) return;
        x.busy = true;
        try {
          await x.d.connect();
          for (const c of convsOf(x.ui)) await x.d.refetchRow(c);
        } finally {
          x.busy = false;
        }
        return;
      }
      case 'wait':
        await sleep(a.ms);
        return;
      case 'sendDrop': {
        // A send over the socket, and the socket gone before its ack: stored or not, the
        // device sends it again with the same local_temp_id when it is back (delivery 3).
        const x = devices[a.d % devices.length];
        if (x.busy || !x.d.connected) return;
        x.busy = true;
        try {
          if (convsOf(x.ui).length === 0) return; // removed from everything
          const conv = convsOf(x.ui)[a.c % convsOf(x.ui).length];
          const tid = `drop-${process.pid}-${stats.runs}-${++tmp}`;
          const content = `m${tmp} from u${x.ui}, ack lost`;
          x.d.unacked.set(tid, { conv, content });
          x.d.sock!.send({ type: 'send', conversation_id: conv, content, local_temp_id: tid });
          await x.d.disconnect();
          stats.dropped++;
        } finally {
          x.busy = false;
        }
        return;
      }
      case 'other': {
        const ui = a.u % s.users;
        const token = users[ui].token;
        const N = '/api/notifications/chat';
        const own = mine(ui, a.pick);
        const any = visible(ui, a.pick);
        if (convsOf(ui).length === 0) return; // removed from everything
        const conv = convsOf(ui)[a.pick % convsOf(ui).length];
        let r: { status: number; body: any } | null = null;
        let what = '';
        switch (a.kind) {
          case 0: // 001's like (a 👍 toggled)
            if (any) (what = 'chat like'), (r = await api(server, 'POST', `/api/chat/messages/${any.id}/like`, { token }));
            break;
          case 1:
            (what = 'chat read'), (r = await api(server, 'POST', `/api/chat/rooms/${conv}/read`, { token }));
            break;
          case 2:
            if (any) (what = '003 react'), (r = await api(server, 'POST', `${N}/messages/${any.uuid}/reactions/`, { token, json: { emoji: '❤️' } }));
            break;
          case 3:
            if (any) (what = '003 unreact'), (r = await api(server, 'DELETE', `${N}/messages/${any.uuid}/reactions/?emoji=${encodeURIComponent('❤️')}`, { token }));
            break;
          case 4:
            if (own) (what = '003 edit'), (r = await api(server, 'PUT', `${N}/conversations/${uuidOf.get(own.conv)}/messages/${own.uuid}/`, { token, json: { content: `003 edit ${++tmp}` } }));
            break;
          case 5:
            if (own) (what = 'chat edit'), (r = await api(server, 'PUT', `/api/chat/messages/${own.id}`, { token, form: { content: `chat edit ${++tmp}` } }));
            break;
          case 6: {
            what = '003 send';
            r = await api(server, 'POST', `${N}/conversations/${uuidOf.get(conv)}/messages/`, { token, json: { message_type: 'text', content: `003 m${++tmp}` } });
            if (r.status === 201) {
              // 003 names messages by uuid: find the /api/parley message it is.
              const page = await ok(api(server, 'GET', `${P}/conversations/${conv}/messages?limit=100`, { token }));
              const m = page.messages.find((x: any) => x.uuid === r!.body.id);
              expect(m, `003 message ${r.body.id} in /api/parley history`).toBeDefined();
              note(conv, m, ui);
            }
            break;
          }
          case 7:
            if (own) {
              own.deleted = true;
              (what = '002 delete'), (r = await api(server, 'DELETE', `/api/v1/chat/messages/${own.id}`, { token }));
            }
            break;
          default:
            if (any) (what = '004 read'), (r = await api(server, 'PUT', `/api/v1/chat/messages/${any.uuid}/read`, { token }));
        }
        stats.other++;
        if (r && r.status >= 300) refusedWhy(`${what} ${r.status} ${JSON.stringify(r.body)}`);
        return;
      }
      case 'kick': {
        const ui = a.u % s.users;
        const groups = [...creator].filter(([c, admin]) => admin !== ui && members.get(c)!.has(ui)).map(([c]) => c);
        if (groups.length === 0) return;
        const conv = groups[a.pick % groups.length];
        if (!KICK_LAST_SENDER) {
          // Until the 500 above is fixed: do not remove the sender of the last message.
          const last = (await ok(api(server, 'GET', `${P}/conversations/${conv}/messages?limit=1`, { token: users[creator.get(conv)!].token }))).messages[0];
          if (last?.sender.id === users[ui].user.id) return;
        }
        await ok(api(server, 'DELETE', `${P}/conversations/${conv}/participants/${users[ui].user.id}`, { token: users[creator.get(conv)!].token }), 204);
        members.get(conv)!.delete(ui);
        removedOnce.add(`${conv}:${ui}`);
        stats.kicked++;
        return;
      }
      case 'readd': {
        const ui = a.u % s.users;
        const groups = [...creator].filter(([c]) => !members.get(c)!.has(ui)).map(([c]) => c);
        if (groups.length === 0) return;
        const conv = groups[a.pick % groups.length];
        await ok(api(server, 'POST', `${P}/conversations/${conv}/participants`, { token: users[creator.get(conv)!].token, json: { user_id: users[ui].user.id } }), 201);
        members.get(conv)!.add(ui);
        stats.readded++;
        return;
      }
      case 'create': {
        // A new group with everyone: devices learn of it live (conversation_changed) or,
        // when away, from `subscribed`, and load it then.
        const ui = a.u % s.users;
        const g = await ok(api(server, 'POST', `${P}/conversations`, { token: users[ui].token, json: { kind: 'group', title: `new ${++tmp}`, member_ids: users.filter((_, i) => i !== ui).map((u) => u.user.id) } }), 201);
        extra.push(g.id);
        uuidOf.set(g.id, g.uuid);
        members.set(g.id, new Set(all));
        creator.set(g.id, ui);
        lastSeq.set(g.id, 0);
        stats.created++;
        return;
      }
    }
  };

  try {
    for (const batch of s.batches) {
      // Membership changes run alone (a send racing its own removal is refused, as it should be).
      if (batch.some((a) => a.t === 'kick' || a.t === 'readd')) for (const a of batch) await run(a);
      else await Promise.all(batch.map(run));
    }
    // Everyone back, with their cursors; then a quiet period.
    for (const x of devices) {
      if (!x.d.connected) {
        await x.d.connect();
        for (const c of convsOf(x.ui)) await x.d.refetchRow(c);
      }
    }
    await quiet(devices.map((x) => x.d));
    for (const x of devices) for (const m of x.d.acked) if (!sent.some((y) => y.id === m.id)) note(m.conversation_id, m, x.ui);
    // Every send whose ack was lost is stored exactly once. Read as someone still in the
    // conversation: the sender may have been removed since (then it is 404 to them).
    for (const x of devices) {
      for (const m of x.d.acked) {
        const reader = members.get(m.conversation_id)!.has(x.ui) ? x.ui : creator.get(m.conversation_id)!;
        const all = (await ok(api(server, 'GET', `${P}/conversations/${m.conversation_id}/messages?limit=100`, { token: users[reader].token }))).messages;
        expect(all.filter((y: any) => y.id === m.id || y.content === m.content).length, `${m.content} stored once`).toBe(1);
      }
    }
    for (const x of devices) {
      for (const c of convsOf(x.ui)) {
        await eventually(() => expectInSync(server, x.d, c, `run ${stats.runs}`), { timeoutMs: 3000, intervalMs: 100 });
        stats.deviceChecks++;
      }
      // Conversations the user is not in any more: gone from both states, and 404 over REST.
      for (const c of members.keys()) {
        if (members.get(c)!.has(x.ui)) continue;
        expect(x.d.reducer.conv(c), `${x.d.label} still holds conversation ${c} it was removed from`).toBeUndefined();
        expect(x.d.state.conversation(c), `${x.d.label} ChatState still holds conversation ${c}`).toBeUndefined();
        expect((await api(server, 'GET', `${P}/conversations/${c}`, { token: users[x.ui].token })).status).toBe(404);
      }
      // A retry refused: only for a conversation the user was removed from (and perhaps
      // added back to since: the retry may have come while they were out).
      for (const r of x.d.refusedRetries) expect(removedOnce.has(`${r.conv}:${x.ui}`), `${x.d.label} retry refused: ${JSON.stringify(r.frame)}`).toBe(true);
      // Nothing lost: every message the server stored reached the device (snapshot, live or replay).
      for (const m of sent) if (convsOf(x.ui).includes(m.conv)) expect(x.d.knownIds.has(m.id), `${x.d.label} lost message ${m.id}`).toBe(true);
    }
  } finally {
    for (const x of devices) await x.d.disconnect().catch(() => {});
  }
}

/**
 * Schedules that failed once, kept as fixed cases (their timing is not replayed, only the
 * schedule: before its fix, each failed in 1 to 3 of 3 runs of it alone).
 */
const FOUND: Schedule[] = [
  // Seeds 1236306163 run 50 and 20260914 run 73: a live parent, or a reply, arriving while the
  // device's socket closed was taken for the resume's replay, so the reply replayed at the
  // next resume was not counted on its parent (reply_count 0 on the device, 1 over REST).
  {"users":3,"devices":[1,1,2],"batches":[[{"t":"read","u":0,"c":1,"seq":12},{"t":"send","u":4,"c":1,"via":"rest"},{"t":"reply","u":3,"pick":10}],[{"t":"reconnect","d":4},{"t":"reconnect","d":2},{"t":"disconnect","d":5}],[{"t":"readd","u":4,"pick":10}],[{"t":"edit","u":2,"pick":4},{"t":"react","u":3,"pick":45,"emoji":"👍","on":false},{"t":"reconnect","d":3}],[{"t":"reply","u":4,"pick":1},{"t":"react","u":2,"pick":37,"emoji":"🎉","on":true},{"t":"send","u":2,"c":0,"via":"rest"}]]},
  {"users":2,"devices":[2,2,2],"batches":[[{"t":"edit","u":4,"pick":20},{"t":"readd","u":1,"pick":1}],[{"t":"readd","u":1,"pick":2},{"t":"other","u":0,"pick":17,"kind":0}],[{"t":"delete","u":4,"pick":26},{"t":"send","u":5,"c":0,"via":"socket"}],[{"t":"other","u":3,"pick":36,"kind":1},{"t":"wait","ms":23},{"t":"create","u":4}],[{"t":"create","u":0},{"t":"create","u":3},{"t":"send","u":2,"c":1,"via":"rest"}],[{"t":"readd","u":3,"pick":8}],[{"t":"reply","u":3,"pick":37},{"t":"disconnect","d":0}]]},
  // Seed 1236306163 run 23: u2d0 acked the dropped send's message as u2's removal committed;
  // the server refused the ack (conversation_not_found) by contract. Allowed (Device.racedAcks).
  {"users":3,"devices":[1,2,1],"batches":[[{"t":"kick","u":4,"pick":9},{"t":"sendDrop","d":4,"c":0}],[{"t":"kick","u":5,"pick":3},{"t":"readd","u":2,"pick":2},{"t":"other","u":5,"pick":41,"kind":2}],[{"t":"send","u":1,"c":0,"via":"socket"}]]},
  // Seed 1236306163 run 114: u1 removed and added back loads the group again; ChatState
  // subtracted the history page's deleted message from the row's unread count, which had.
  {"users":2,"devices":[1,2,1],"batches":[[{"t":"readd","u":5,"pick":1}],[{"t":"react","u":5,"pick":45,"emoji":"👍","on":false}],[{"t":"delete","u":0,"pick":5}],[{"t":"react","u":5,"pick":33,"emoji":"👍","on":false},{"t":"readd","u":1,"pick":4},{"t":"send","u":5,"c":1,"via":"rest"}],[{"t":"delete","u":0,"pick":28},{"t":"read","u":5,"c":1,"seq":29}],[{"t":"reconnect","d":1},{"t":"read","u":2,"c":0,"seq":null},{"t":"readd","u":2,"pick":7}],[{"t":"reconnect","d":2}],[{"t":"react","u":3,"pick":18,"emoji":"👍","on":false}],[{"t":"send","u":2,"c":0,"via":"socket"}],[{"t":"kick","u":3,"pick":10},{"t":"other","u":2,"pick":4,"kind":7}],[{"t":"sendDrop","d":3,"c":0},{"t":"other","u":3,"pick":36,"kind":1},{"t":"readd","u":2,"pick":8}],[{"t":"send","u":0,"c":1,"via":"rest"},{"t":"readd","u":3,"pick":5}]]},
] as Schedule[];

describe('(b) random schedules: every device ends equal to REST', () => {
  it.each(FOUND.map((s, i) => [i, s] as const))('schedule found before #%i', { timeout: 60_000 }, async (_, s) => {
    await runSchedule(s);
  });
  it(`fast-check, ${RUNS} runs (seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 8_000) }, async () => {
    const t0 = Date.now();
    await fc.assert(fc.asyncProperty(scheduleArb, runSchedule), {
      numRuns: RUNS,
      seed: SEED,
      endOnFailure: process.env.ORACLE_SHRINK !== '1',
      ...(process.env.ORACLE_PATH ? { path: process.env.ORACLE_PATH } : {}),
      verbose: 1,
    });
    console.log(`[oracle] ${JSON.stringify({ ...stats, seed: SEED, ms: Date.now() - t0, refusals: Object.fromEntries(refusalReasons) })}`);
  });
});
