// State-sync oracle (c): a resume cursor older than RESUME_MAX_MESSAGES gets an explicit
// `snapshot_required` (socket) or 409 `snapshot_required` (REST changes), never a partial
// replay; at the limit exactly, the full replay; after the snapshot, the device that
// reloads over REST is back in sync with live events.
import { describe, expect, it } from 'vitest';
import { api, eventually, openSocket } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { Device, expectInSync, P, register, sleep } from './oracle-support.js';

const MAX = 5;
const server = useParley({ env: { RESUME_MAX_MESSAGES: String(MAX) } });

async function setup() {
  const [a, b] = await Promise.all([register(server, 'Ra'), register(server, 'Rb')]);
  const g = (await api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'group', title: 'resume', member_ids: [b.user.id] } })).body;
  const send = async (content: string) => {
    const r = await api(server, 'POST', `${P}/conversations/${g.id}/messages`, { token: a.token, json: { content } });
    expect(r.status).toBe(201);
    return r.body;
  };
  return { a, b, g, send };
}

/** Opens b's socket, subscribes with one cursor, returns every frame up to `subscribed`. */
async function resume(u: { token: string }, cursor: Record<string, number>) {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(u.token)}`);
  await s.next('ready');
  s.send({ type: 'subscribe', cursors: [cursor] });
  await s.next('subscribed', { timeoutMs: 10_000 });
  return s;
}

describe(`(c) resume past RESUME_MAX_MESSAGES=${MAX}`, () => {
  it('socket: one change too many → snapshot_required with the count, and no message replayed', async () => {
    const { b, g, send } = await setup();
    const first = await send('m1');
    for (let i = 2; i <= MAX + 2; i++) await send(`m${i}`); // MAX + 1 after first
    const s = await resume(b, { conversation_id: g.id, last_seq: first.seq, last_change_seq: first.change_seq });
    await sleep(150);
    const snap = s.all('snapshot_required');
    expect(snap).toEqual([{ type: 'snapshot_required', conversation_id: g.id, missed: MAX + 1 }]);
    expect(s.all('message'), 'no partial replay').toEqual([]);
    expect(s.all('message_changed')).toEqual([]);
    // Live events still flow after it.
    const live = await send('live after snapshot');
    expect((await s.next('message')).message.id).toBe(live.id);
  });

  it('socket: last_seq alone, too far back → snapshot_required too', async () => {
    const { b, g, send } = await setup();
    for (let i = 1; i <= MAX + 3; i++) await send(`m${i}`);
    const s = await resume(b, { conversation_id: g.id, last_seq: 1 });
    await sleep(150);
    expect(s.all('snapshot_required')).toEqual([{ type: 'snapshot_required', conversation_id: g.id, missed: MAX + 2 }]);
    expect(s.all('message')).toEqual([]);
  });

  it('changes of old messages count too: edits past the limit → snapshot_required, not a partial replay', async () => {
    const { a, b, g, send } = await setup();
    const m = await send('to be edited');
    for (let i = 0; i < MAX + 1; i++) expect((await api(server, 'PATCH', `${P}/messages/${m.id}`, { token: a.token, json: { content: `edit ${i}` } })).status).toBe(200);
    const s = await resume(b, { conversation_id: g.id, last_seq: m.seq, last_change_seq: m.change_seq });
    await sleep(150);
    expect(s.all('snapshot_required')).toEqual([{ type: 'snapshot_required', conversation_id: g.id, missed: MAX + 1 }]);
    expect(s.all('message_changed')).toEqual([]);
  });

  it('exactly at the limit: the whole replay, no snapshot_required', async () => {
    const { b, g, send } = await setup();
    const first = await send('m1');
    const later = [];
    for (let i = 2; i <= MAX + 1; i++) later.push(await send(`m${i}`)); // MAX after first
    const s = await resume(b, { conversation_id: g.id, last_seq: first.seq, last_change_seq: first.change_seq });
    expect(s.all('snapshot_required')).toEqual([]);
    expect(s.all('message').map((f) => f.message.id)).toEqual(later.map((m) => m.id));
  });

  it('REST GET …/changes: 409 snapshot_required past the limit, the frames at it', async () => {
    const { b, g, send } = await setup();
    const first = await send('m1');
    for (let i = 2; i <= MAX + 1; i++) await send(`m${i}`);
    const at = await api(server, 'GET', `${P}/conversations/${g.id}/changes?after_seq=${first.seq}&after_change_seq=${first.change_seq}`, { token: b.token });
    expect(at.status).toBe(200);
    expect(at.body.frames).toHaveLength(MAX);
    await send('one more');
    const past = await api(server, 'GET', `${P}/conversations/${g.id}/changes?after_seq=${first.seq}&after_change_seq=${first.change_seq}`, { token: b.token });
    expect(past.status).toBe(409);
    expect(past.body).toMatchObject({ code: 'snapshot_required', missed: MAX + 1 });
    expect(past.body.frames).toBeUndefined();
  });

  it('a device told snapshot_required reloads over REST and is in sync again (reducer and ChatState)', async () => {
    const { a, b, g, send } = await setup();
    const d = new Device(server, b, 'b1');
    await d.load(g.id);
    await d.connect();
    await send('seen live');
    await d.sync();
    await d.disconnect();
    for (let i = 0; i < MAX + 2; i++) await send(`missed ${i}`);
    await d.connect();
    const snap = d.problems.filter((p) => p.includes('snapshot_required'));
    expect(snap).toHaveLength(1);
    expect(d.allFrames.filter((f) => f.type === 'message').map((f) => f.message.content)).toEqual(['seen live']);
    d.problems.length = 0;
    // What a client does on snapshot_required: drop the messages, load the conversation again.
    d.forget(g.id);
    await d.load(g.id, true);
    await send('live after reload');
    await api(server, 'POST', `${P}/conversations/${g.id}/read`, { token: a.token, json: {} });
    await d.sync();
    await eventually(() => expectInSync(server, d, g.id, '(c)'), { timeoutMs: 3000, intervalMs: 100 });
    await d.disconnect();
  });
});
