// Issue 14, item 5 (part): a member demoted in a channel could still edit the posts they made
// while they were allowed to post. Editing is posting again, so it takes the post permission
// now (README "Permissions"): in a channel only admins and moderators edit, their own
// messages; deleting one's own message stays allowed. Over 003's, Parley's and /api/chat's
// REST and Parley's socket; nobody following the channel hears of a refused edit.
import { describe, expect, it } from 'vitest';
import { api, openSocket, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { useUsers } from '../../helpers/dialects.js';
import { useParley } from '../../helpers/parley.js';
import { P, addParticipant, createConversation, databases, expectDetail, expectStatus, getMessage, sendMessage, settle, socket003 } from './support.js';

describe.each(databases)('editing in a channel takes the right to post there now, on %s', (db) => {
  const server = useParley({ db });
  const [owner, poster, reader] = useUsers(server, 3);

  const setRole = (conv: string, u: TestUser, role: string) =>
    api(server, 'PUT', `${P}/conversations/${conv}/participants/${u.user.uuid}/`, { token: owner.token, json: { role } });

  async function parleySocket(u: TestUser): Promise<TestSocket> {
    const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(u.token)}`);
    await s.next('ready');
    return s;
  }

  it('a moderator demoted to member edits none of their old posts, by any route; they may still delete them', async () => {
    const channel = await createConversation(server, owner, 'channel', 'News');
    await addParticipant(server, channel.id, owner, poster, 'moderator');
    await addParticipant(server, channel.id, owner, reader, 'member');
    const posts = await Promise.all(['one', 'two', 'three', 'four', 'five'].map((t) => sendMessage(server, poster, channel.id, `post ${t}`)));
    // Parley's and /api/chat's ids of the same messages.
    const mine = await api(server, 'GET', '/api/parley/conversations', { token: poster.token });
    const channelId = mine.body.find((c) => c.uuid === channel.id)!.id;
    const history = await api(server, 'GET', `/api/parley/conversations/${channelId}/messages`, { token: poster.token });
    const ids = posts.map((p) => history.body.messages.find((m) => m.uuid === p.id)!.id);
    expectStatus(await setRole(channel.id, poster, 'member'), 200);

    const watcher = await socket003(server, reader, [channel.id]);
    const sock = await parleySocket(poster);

    expectDetail(await api(server, 'PUT', `${P}/conversations/${channel.id}/messages/${posts[0].id}/`, { token: poster.token, json: { content: 'edited (003)' } }), 403);
    const viaParley = await api(server, 'PATCH', `/api/parley/messages/${ids[1]}`, { token: poster.token, json: { content: 'edited (parley)' } });
    expect(viaParley.status, JSON.stringify(viaParley.body)).toBe(403);
    expect(viaParley.body.detail).toBeTypeOf('string');
    const viaChat = await api(server, 'PUT', `/api/chat/messages/${ids[2]}`, { token: poster.token, json: { content: 'edited (/api/chat)' } });
    expect(viaChat.status, JSON.stringify(viaChat.body)).toBe(403);
    sock.send({ type: 'edit', message_id: ids[3], content: 'edited (socket)' });
    const refused = await sock.next('error');
    expect(refused).toMatchObject({ code: 'not_permitted' });

    for (const p of posts) expect((await getMessage(server, owner, channel.id, p.id)).content).toBe(p.content);
    await settle(watcher);
    expect(watcher.all('message_updated')).toEqual([]);

    // Their own messages are still theirs to delete.
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${channel.id}/messages/${posts[4].id}/`, { token: poster.token }), 204);
    expect((await getMessage(server, owner, channel.id, posts[4].id)).is_deleted).toBe(true);

    // Moderator again: the same edits go through.
    expectStatus(await setRole(channel.id, poster, 'moderator'), 200);
    expectStatus(await api(server, 'PUT', `${P}/conversations/${channel.id}/messages/${posts[0].id}/`, { token: poster.token, json: { content: 'edited (003)' } }), 200);
    sock.send({ type: 'edit', message_id: ids[3], content: 'edited (socket)' });
    const updated = await watcher.next('message_updated', { where: (f) => f.message.id === posts[3].id });
    expect(updated.message.content).toBe('edited (socket)');
    sock.close();
  });

  it('in a group a member still edits their own messages', async () => {
    const group = await createConversation(server, owner, 'group', 'Chat');
    await addParticipant(server, group.id, owner, poster, 'member');
    const m = await sendMessage(server, poster, group.id, 'hello');
    const res = await api(server, 'PUT', `${P}/conversations/${group.id}/messages/${m.id}/`, { token: poster.token, json: { content: 'hello again' } });
    expectStatus(res, 200);
    expect(res.body.content).toBe('hello again');
  });
});
