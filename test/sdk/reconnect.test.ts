import { afterEach, describe, expect, it } from 'vitest';
import type { ParleyClient } from '@parley/sdk';
import { ParleyRest } from '@parley/sdk';
import { startParley } from '../helpers/parley.js';
import { eventually, expectInStepWithRest, expectNoDuplicates, fullHistory, record, registered, waitForStatus, type ServerRef } from './support.js';
import { sleep } from '../helpers/clients.js';

// The socket goes away — every socket closed by the server, the server restarted on the
// same data (on another port), a client away for longer than the server replays — and the
// SDK comes back: nothing lost, nothing twice, offline sends delivered once.

describe('SDK: reconnecting', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function setup(env?: Record<string, string>) {
    const server = await startParley({ env });
    const ref: ServerRef = { url: server.url };
    const state = { server };
    cleanup.push(() => state.server.close());
    const a = await registered(ref, 'Ann', { reconnect: { initialDelayMs: 150, maxDelayMs: 400 } });
    const b = await registered(ref, 'Bob', { reconnect: { initialDelayMs: 150, maxDelayMs: 400 } });
    cleanup.push(() => (a.disconnect(), b.disconnect()));
    const conv = await a.createDirect(b.user!.id);
    return { state, ref, a, b, conv };
  }

  const contents = async (ref: ServerRef, c: ParleyClient, conv: number) => (await fullHistory(new ParleyRest({ baseUrl: ref.url, token: c.token }), conv)).map((m) => m.content);

  it('after the server closes every socket (1012): queued and in-flight sends delivered once, missed changes replayed once', async () => {
    const { state, ref, a, b, conv } = await setup();
    const ra = record(a);
    const rb = record(b);
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([b.history(conv.id), a.history(conv.id)]);
    const m1 = await a.send(conv.id, { content: 'one' }).promise;
    const m2 = await a.send(conv.id, { content: 'two' }).promise;
    await eventually(() => expect(b.state.messages(conv.id)).toHaveLength(2));

    // In flight: written to the socket in the same turn as the server closes it. The server
    // either commits a send without its ack arriving, or drops the frame; either way the SDK
    // sends it again with the same local_temp_id.
    const inFlight = [a.send(conv.id, { content: 'three' }), a.send(conv.id, { content: 'four' })];
    state.server.parley.hub.closeAll(1012, 'test');
    await waitForStatus(a, 'offline');
    await waitForStatus(b, 'offline');
    // Offline: queued, pending in the state.
    const offline = [a.send(conv.id, { content: 'five' }), a.send(conv.id, { content: 'six' })];
    expect(a.state.pending(conv.id).map((p) => p.content)).toEqual(['three', 'four', 'five', 'six']);
    // Changes Bob misses while away, made over REST meanwhile.
    await a.rest.editMessage(m1.id, 'one (edited)');
    await a.rest.react(m2.id, '👍');

    await Promise.all([waitForStatus(a, 'online'), waitForStatus(b, 'online')]);
    const acked = await Promise.all([...inFlight, ...offline].map((h) => h.promise));
    expect(acked.map((m) => m.content)).toEqual(['three', 'four', 'five', 'six']);
    expect(acked.map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    expect(a.state.pending(conv.id)).toEqual([]);
    expect(await contents(ref, a, conv.id)).toEqual(['one (edited)', 'two', 'three', 'four', 'five', 'six']);

    await eventually(() => expect(b.state.messages(conv.id).map((m) => m.content)).toEqual(['one (edited)', 'two', 'three', 'four', 'five', 'six']));
    await eventually(() => expect(b.state.messages(conv.id)[1].reactions).toEqual([{ emoji: '👍', user_ids: [a.user!.id], count: 1 }]));
    expect(rb.of('message').map((f) => f.message.content)).toEqual(['one', 'two', 'three', 'four', 'five', 'six']);
    expect(rb.of('message_changed').map((f) => [f.message.id, f.change])).toEqual([
      [m1.id, 'replayed'],
      [m2.id, 'replayed'],
    ]);
    expect(ra.of('status').map((s) => s.status)).toEqual(['connecting', 'online', 'offline', 'connecting', 'online']);
    expect(ra.of('status')[2]).toMatchObject({ code: 1012, attempt: 1, retryInMs: expect.any(Number) });
    expectNoDuplicates(ra);
    expectNoDuplicates(rb);
    await expectInStepWithRest(a, ref);
    await expectInStepWithRest(b, ref);
  });

  it('after a server restart on the same data (a new port): resumes where it was, offline sends once', async () => {
    const { state, ref, a, b, conv } = await setup();
    const rb = record(b);
    await Promise.all([a.connect(), b.connect()]);
    await b.history(conv.id);
    const m1 = await a.send(conv.id, { content: 'before' }).promise;
    await eventually(() => expect(b.state.messages(conv.id)).toHaveLength(1));

    await state.server.close({ keepData: true });
    await Promise.all([waitForStatus(a, 'offline'), waitForStatus(b, 'offline')]);
    const offline = [a.send(conv.id, { content: 'while down 1' }), a.send(conv.id, { content: 'while down 2' })];
    const bobOffline = b.send(conv.id, { content: 'bob while down' });
    // A few attempts fail against the closed port first.
    await sleep(500);
    expect(a.status).not.toBe('online');

    state.server = await startParley({ data: state.server.data });
    ref.url = state.server.url;
    await Promise.all([waitForStatus(a, 'online'), waitForStatus(b, 'online')]);
    const acked = await Promise.all([...offline, bobOffline].map((h) => h.promise));
    expect(new Set(acked.map((m) => m.seq))).toEqual(new Set([2, 3, 4]));

    // Changes after the restart reach the other side too.
    await b.react(m1.id, '❤️');
    await eventually(() => expect(a.state.messages(conv.id)[0].reactions).toHaveLength(1));
    await eventually(() => expect(b.state.messages(conv.id).map((m) => m.content)).toEqual(expect.arrayContaining(['before', 'while down 1', 'while down 2', 'bob while down'])));
    expect((await contents(ref, a, conv.id)).sort()).toEqual(['before', 'bob while down', 'while down 1', 'while down 2']);
    expect(rb.of('message').map((f) => f.message.content).sort()).toEqual(['before', 'bob while down', 'while down 1', 'while down 2']);
    expectNoDuplicates(rb);
    await expectInStepWithRest(a, ref);
    await expectInStepWithRest(b, ref);
  });

  it('away longer than the server replays: snapshot_required is emitted and the history reloaded', async () => {
    const { ref, a, b, conv } = await setup({ RESUME_MAX_MESSAGES: '3' });
    const rb = record(b);
    await Promise.all([a.connect(), b.connect()]);
    const m1 = await a.send(conv.id, { content: 'seen' }).promise;
    await eventually(() => expect(b.state.messages(conv.id)).toHaveLength(1));
    b.disconnect();
    expect(b.status).toBe('offline');
    for (let i = 1; i <= 5; i++) await a.send(conv.id, { content: `missed ${i}` }).promise;
    await a.edit(m1.id, 'seen, then edited');
    await b.connect();
    await eventually(() => expect(rb.of('snapshot_required')).toEqual([{ type: 'snapshot_required', conversation_id: conv.id, missed: 6 }]));
    await b.idle();
    expect(b.state.messages(conv.id).map((m) => m.content)).toEqual(['seen, then edited', 'missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5']);
    // Live again after the reload.
    await a.send(conv.id, { content: 'live' }).promise;
    await eventually(() => expect(b.state.conversation(conv.id)!.last_message!.content).toBe('live'));
    expect(rb.of('message').at(-1)!.message.content).toBe('live');
    expectNoDuplicates(rb);
    await expectInStepWithRest(b, ref);
  });

  it('loaded over REST before connecting: the first subscribe resumes from that load', async () => {
    const { ref, a, b, conv } = await setup();
    const rb = record(b);
    await a.send(conv.id, { content: 'old' }).promise;
    await b.listConversations();
    await b.history(conv.id);
    expect(b.state.messages(conv.id).map((m) => m.content)).toEqual(['old']);
    // After b's load, before b's socket: b gets these from the resume, not from a reload.
    await a.send(conv.id, { content: 'between 1' }).promise;
    await a.send(conv.id, { content: 'between 2' }).promise;
    await b.connect();
    await eventually(() => expect(b.state.messages(conv.id).map((m) => m.content)).toEqual(['old', 'between 1', 'between 2']));
    expect(rb.of('message').map((f) => f.message.content)).toEqual(['between 1', 'between 2']);
    await expectInStepWithRest(b, ref);
  });

  it('a refused token stops reconnecting and rejects connect()', async () => {
    const { ref, a } = await setup();
    const ra = record(a);
    await a.connect();
    const token = a.token;
    await a.logout();
    a.token = token;
    await expect(a.connect()).rejects.toMatchObject({ code: 'not_authenticated' });
    expect(ra.of('status').at(-1)).toMatchObject({ status: 'offline', code: 4001, final: true });
    void ref;
  });

  // Issue 15.11: logged out on another device mid-session. The socket is closed with 4001 and
  // every reconnect refused: a send waiting for the socket used to stay pending forever.
  it('a session ended elsewhere (4001 mid-session): sends waiting fail with send_failed, the token is dropped', async () => {
    const { ref, a, conv } = await setup();
    const ra = record(a);
    await a.connect();
    const token = a.token!;
    // Queued while the socket is down, then the token is revoked elsewhere (another device's logout).
    a.dropConnection();
    const { localTempId, promise } = a.send(conv.id, { content: 'never acknowledged' });
    await new ParleyRest({ baseUrl: ref.url, token }).logout();
    await expect(promise).rejects.toMatchObject({ code: 'not_authenticated' });
    expect(ra.of('send_failed')).toEqual([expect.objectContaining({ local_temp_id: localTempId, code: 'not_authenticated' })]);
    expect(ra.of('status').at(-1)).toMatchObject({ status: 'offline', final: true });
    expect([4000, 4001]).toContain(ra.of('status').at(-1)!.code);
    expect(a.token).toBeNull();
    expect(a.state.pending(conv.id)).toEqual([]);
  });
});
