import { describe, expect, it } from 'vitest';
import { type TestServer, useTwoProcesses } from '../helpers/parley.js';
import { api, chatSocket, newUser, nextError, type TestUser } from '../helpers/clients.js';
import { hasPostgres } from '../helpers/pg.js';

const redisUrl = process.env.REDIS_URL;
const P = '/api/parley';

/**
 * Each process caches membership and conversation facts for its send path. A change made
 * through one process must reach the others' caches before it is acknowledged: once the
 * caller was told "removed" or "deleted", the next request through the other process is
 * refused, REST and socket, reads and sends alike.
 */
describe.skipIf(!hasPostgres || !redisUrl)('membership changes invalidate every process before they are acknowledged', () => {
  const [a, b] = useTwoProcesses();

  const group = async (owner: TestUser, members: TestUser[]): Promise<number> => {
    const res = await api(a, 'POST', `${P}/conversations`, { token: owner.token, json: { kind: 'group', title: 'g', member_ids: members.map((m) => m.user.id) } });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const sendRest = (server: TestServer, user: TestUser, id: number, content: string) =>
    api(server, 'POST', `${P}/conversations/${id}/messages`, { token: user.token, json: { content } });
  /** Fills B's caches for `user` in `id`: a send and a read through the paths that use them. */
  const warm = async (user: TestUser, id: number) => {
    const sent = await sendRest(b, user, id, 'warm');
    expect(sent.status).toBe(201);
    expect((await api(b, 'GET', `${P}/messages/${sent.body.id}`, { token: user.token })).status).toBe(200);
    return sent.body.id as number;
  };

  it('removed on A: the next read and send through B, REST and socket, is refused at once', async () => {
    const [owner, bob] = [await newUser(a), await newUser(b)];
    const id = await group(owner, [bob]);
    const messageId = await warm(bob, id);
    const sock = await chatSocket(b, bob);
    sock.send({ type: 'send_message', data: { room_id: id, content: 'warm socket', local_temp_id: 'w1' } });
    expect((await sock.next('new_message')).data).toMatchObject({ local_temp_id: 'w1' });

    const removed = await api(a, 'DELETE', `${P}/conversations/${id}/participants/${bob.user.id}`, { token: owner.token });
    expect(removed.status).toBe(204);

    // The very next requests through B, with no wait.
    expect((await sendRest(b, bob, id, 'after removal')).status).toBe(404);
    expect((await api(b, 'GET', `${P}/messages/${messageId}`, { token: bob.token })).status).toBe(404);
    expect((await api(b, 'PUT', `${P}/messages/${messageId}/reactions/👍`, { token: bob.token })).status).toBe(404);
    sock.send({ type: 'send_message', data: { room_id: id, content: 'after removal (socket)', local_temp_id: 'w2' } });
    const err = await nextError(sock);
    expect(err.local_temp_id).toBe('w2');
    const history = await api(a, 'GET', `${P}/conversations/${id}/messages`, { token: owner.token });
    expect(history.body.messages.map((m) => m.content)).toEqual(['warm', 'warm socket']);
  });

  it('left through A: the next send through B is refused; re-added through A: the next send through B works', async () => {
    const [owner, bob] = [await newUser(a), await newUser(b)];
    const id = await group(owner, [bob]);
    await warm(bob, id);
    expect((await api(a, 'DELETE', `${P}/conversations/${id}/participants/${bob.user.id}`, { token: bob.token })).status).toBe(204);
    expect((await sendRest(b, bob, id, 'after leaving')).status).toBe(404);
    expect((await api(a, 'POST', `${P}/conversations/${id}/participants`, { token: owner.token, json: { user_id: bob.user.id } })).status).toBe(201);
    expect((await sendRest(b, bob, id, 'back')).status).toBe(201);
  });

  it('demoted in a channel on A: the next post through B is refused', async () => {
    const [owner, mod] = [await newUser(a), await newUser(b)];
    const res = await api(a, 'POST', `${P}/conversations`, { token: owner.token, json: { kind: 'channel', title: 'c', member_ids: [mod.user.id] } });
    const id = res.body.id;
    expect((await api(a, 'PATCH', `${P}/conversations/${id}/participants/${mod.user.id}`, { token: owner.token, json: { role: 'moderator' } })).status).toBe(200);
    expect((await sendRest(b, mod, id, 'as moderator')).status).toBe(201);
    expect((await api(a, 'PATCH', `${P}/conversations/${id}/participants/${mod.user.id}`, { token: owner.token, json: { role: 'member' } })).status).toBe(200);
    expect((await sendRest(b, mod, id, 'as member')).status).toBe(403);
  });

  it('blocked on A: the next direct message through B is refused at once, both ways', async () => {
    const [alice, bob] = [await newUser(a), await newUser(b)];
    const dm = await api(b, 'POST', `${P}/conversations`, { token: bob.token, json: { kind: 'direct', user_id: alice.user.id } });
    expect((await sendRest(b, bob, dm.body.id, 'warm')).status).toBe(201);
    expect((await sendRest(b, alice, dm.body.id, 'warm')).status).toBe(201);
    expect((await api(a, 'POST', `/api/friends/${bob.user.id}/block`, { token: alice.token })).status).toBe(200);
    expect((await sendRest(b, bob, dm.body.id, 'after the block')).status).toBe(403);
    expect((await sendRest(b, alice, dm.body.id, 'after the block')).status).toBe(403);
    expect((await api(a, 'DELETE', `/api/friends/${bob.user.id}/block`, { token: alice.token })).status).toBe(200);
    expect((await sendRest(b, bob, dm.body.id, 'unblocked')).status).toBe(201);
  });

  it('deleted on A: the next read and send through B, REST and socket, is refused at once', async () => {
    const [owner, bob] = [await newUser(a), await newUser(b)];
    const id = await group(owner, [bob]);
    const messageId = await warm(bob, id);
    const sock = await chatSocket(b, bob);
    sock.send({ type: 'send_message', data: { room_id: id, content: 'warm socket', local_temp_id: 'd1' } });
    await sock.next('new_message');

    expect((await api(a, 'DELETE', `${P}/conversations/${id}`, { token: owner.token })).status).toBe(204);

    expect((await sendRest(b, bob, id, 'into the deleted')).status).toBe(404);
    expect((await api(b, 'GET', `${P}/messages/${messageId}`, { token: bob.token })).status).toBe(404);
    sock.send({ type: 'send_message', data: { room_id: id, content: 'into the deleted (socket)', local_temp_id: 'd2' } });
    expect((await nextError(sock)).local_temp_id).toBe('d2');
  });
});
