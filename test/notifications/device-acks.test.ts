import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { api, connectedPair, expectNoFrame } from '../helpers/clients.js';
import { useUsers } from '../helpers/dialects.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { parleyDevice } from './support.js';

// Issue 19, device acknowledgement: on Parley's own socket "delivered" is what a device
// acknowledged (the `ack` frame, or REST), never what was merely written to a socket; a
// participant's delivered_seq is the highest of their devices' acks.

const P = '/api/parley';


describe.each(databases)('device acks on %s', (db) => {
  const server = useParley({ db });
  const [a, b, outsider] = useUsers(server, 3);

  const group = async () => (await api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'group', title: 'Acks', member_ids: [b.user.id] } })).body.id as number;
  const send = async (conv: number, content: string) => (await api(server, 'POST', `${P}/conversations/${conv}/messages`, { token: a.token, json: { content } })).body as { seq: number };
  const deliveredSeq = async (conv: number, userId: number) => {
    const members = (await api(server, 'GET', `${P}/conversations/${conv}/participants`, { token: a.token })).body;
    return members.find((m) => m.user.id === userId)!.delivered_seq;
  };

  it('a device that receives but does not ack leaves the message undelivered; its ack makes it delivered', async () => {
    const conv = await group();
    const sender = await parleyDevice(server, a);
    const [phone, desktop] = [await parleyDevice(server, b), await parleyDevice(server, b)];
    const m = await send(conv, 'hello');
    await phone.next('message');
    await desktop.next('message');
    // Written to both of Bob's sockets, acknowledged by neither: not delivered.
    await expectNoFrame(sender, 500, { type: 'delivered' });
    expect(await deliveredSeq(conv, b.user.id)).toBe(0);

    desktop.send({ type: 'ack', conversation_id: conv, seq: m.seq });
    const f = await sender.next('delivered');
    expect(f).toMatchObject({ conversation_id: conv, user_id: b.user.id, delivered_seq: m.seq });
    expect(await deliveredSeq(conv, b.user.id)).toBe(m.seq);
  });

  it('delivered_seq is the highest ack of any device, never moves back and never passes last_seq', async () => {
    const conv = await group();
    const one = await send(conv, 'one');
    const two = await send(conv, 'two');
    const [phone, desktop] = [await parleyDevice(server, b), await parleyDevice(server, b)];
    desktop.send({ type: 'ack', conversation_id: conv, seq: two.seq });
    phone.send({ type: 'ack', conversation_id: conv, seq: one.seq });
    phone.send({ type: 'ack', conversation_id: conv, seq: 999 });
    await expect.poll(() => deliveredSeq(conv, b.user.id)).toBe(two.seq);
    // REST, for a client without a socket.
    const three = await send(conv, 'three');
    expect((await api(server, 'POST', `${P}/conversations/${conv}/delivered`, { token: b.token, json: { seq: three.seq } })).status).toBe(204);
    await expect.poll(() => deliveredSeq(conv, b.user.id)).toBe(three.seq);
  });

  it('only a member acks: anyone else is refused as for any conversation they cannot see', async () => {
    const conv = await group();
    const r = await api(server, 'POST', `${P}/conversations/${conv}/delivered`, { token: outsider.token, json: { seq: 1 } });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ detail: expect.any(String) });
    const s = await parleyDevice(server, outsider);
    s.send({ type: 'ack', conversation_id: conv, seq: 1 });
    expect(await s.next('error')).toMatchObject({ code: 'conversation_not_found' });
  });

  it('property: after any acks of any devices, delivered_seq = min(max ack, last_seq)', async () => {
    const conv = await group();
    for (const c of ['a', 'b', 'c']) await send(conv, c);
    const devices = [await parleyDevice(server, b), await parleyDevice(server, b)];
    let expected = await deliveredSeq(conv, b.user.id);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 6 })), { minLength: 1, maxLength: 6 }), async (acks) => {
        for (const [d, seq] of acks) {
          devices[d].send({ type: 'ack', conversation_id: conv, seq });
          expected = Math.max(expected, Math.min(seq, 3));
        }
        await expect.poll(() => deliveredSeq(conv, b.user.id)).toBe(expected);
      }),
      { numRuns: 8, seed: 19 },
    );
  });

  it("the documents' sockets, whose clients have no ack, still count the write as the delivery", async () => {
    const { a: x, b: y, room, sa } = await connectedPair(server);
    sa.send({ type: 'send_message', data: { room_id: room, receiver_id: y.user.id, content: 'to a 001 client', local_temp_id: 'd-1' } });
    await sa.next('new_message');
    const members = async () => (await api(server, 'GET', `${P}/conversations/${room}/participants`, { token: x.token })).body;
    await expect.poll(async () => (await members()).find((m) => m.user.id === y.user.id)!.delivered_seq).toBe(1);
  });
});
