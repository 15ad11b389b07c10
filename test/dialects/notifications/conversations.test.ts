// Document 003, Conversations and Participants: GET/POST conversations/ (201, conversation_type
// direct|group|channel, participant_count, last_message), GET/PUT/DELETE conversations/{id}/
// (204), GET/POST conversations/{id}/participants/ (201, roles admin|moderator|member).
import { describe, expect, it } from 'vitest';
import { api } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, ISO_MS, UUID, addParticipant, createConversation, databases, expectConversation003, expectDetail, expectStatus, sendMessage, users } from './support.js';

describe.each(databases)('003 conversations and participants on %s', (db) => {
  const server = useParley({ db });

  it('POST conversations/ creates a group exactly as documented: 201, participant_count 1, last_message null', async () => {
    const [owner] = await users(server, 1);
    const res = await api(server, 'POST', `${P}/conversations/`, { token: owner.token, json: { title: 'Project Team Chat', conversation_type: 'group' } });
    expect(res.status).toBe(201);
    expectConversation003(res.body);
    expect(res.body).toMatchObject({ title: 'Project Team Chat', conversation_type: 'group', participant_count: 1, last_message: null });
    // The data model's fields too.
    expect(res.body).toMatchObject({ tenant_id: owner.user.tenant_id, created_by: owner.user.uuid, is_active: true });
  });

  it('creates channels and direct conversations; a direct one is created once per pair', async () => {
    const [a, b] = await users(server, 2);
    const channel = await createConversation(server, a, 'channel', 'Announcements');
    expect(channel).toMatchObject({ conversation_type: 'channel', title: 'Announcements', participant_count: 1 });

    const direct = await createConversation(server, a, 'direct', null, { participant_ids: [b.user.uuid] });
    expect(direct).toMatchObject({ conversation_type: 'direct', participant_count: 2 });
    // Again, from either side: the same conversation.
    const again = await api(server, 'POST', `${P}/conversations/`, { token: b.token, json: { conversation_type: 'direct', participant_ids: [a.user.uuid] } });
    expect([200, 201]).toContain(again.status);
    expect(again.body.id).toBe(direct.id);
    // A direct conversation names exactly one other person.
    expectDetail(await api(server, 'POST', `${P}/conversations/`, { token: a.token, json: { conversation_type: 'direct' } }), [400, 422]);
  });

  it('GET conversations/ lists the caller\'s conversations with participant_count and last_message', async () => {
    const [a, b, c] = await users(server, 3);
    const g = await createConversation(server, a, 'group', 'Listed');
    await addParticipant(server, g.id, a, b);
    const lonely = await createConversation(server, c, 'group', 'Not mine');
    const m = await sendMessage(server, b, g.id, 'latest words');

    const list = await api(server, 'GET', `${P}/conversations/`, { token: a.token });
    expect(list.status).toBe(200);
    expect(Array.isArray(list.body)).toBe(true);
    const mine = list.body.find((x: any) => x.id === g.id);
    expectConversation003(mine);
    expect(mine).toMatchObject({ title: 'Listed', conversation_type: 'group', participant_count: 2 });
    expect(mine.last_message).toMatchObject({ id: m.id, content: 'latest words', sender_id: b.user.uuid });
    expect(mine.last_message_at).toMatch(ISO_MS);
    expect(list.body.some((x: any) => x.id === lonely.id)).toBe(false);
    // b sees it too; c does not.
    expect((await api(server, 'GET', `${P}/conversations/`, { token: b.token })).body.map((x: any) => x.id)).toContain(g.id);
    expect((await api(server, 'GET', `${P}/conversations/`, { token: c.token })).body.map((x: any) => x.id)).not.toContain(g.id);
  });

  it('GET, PUT and DELETE conversations/{id}/: 200, 200 with the new title, 204, then 404 for everyone', async () => {
    const [a, b] = await users(server, 2);
    const g = await createConversation(server, a, 'group', 'Before');
    await addParticipant(server, g.id, a, b);

    const got = await api(server, 'GET', `${P}/conversations/${g.id}/`, { token: b.token });
    expect(got.status).toBe(200);
    expectConversation003(got.body);
    expect(got.body).toMatchObject({ id: g.id, title: 'Before', participant_count: 2 });

    const put = await api(server, 'PUT', `${P}/conversations/${g.id}/`, { token: a.token, json: { title: 'After' } });
    expect(put.status).toBe(200);
    expectConversation003(put.body);
    expect(put.body).toMatchObject({ id: g.id, title: 'After' });
    expect((await api(server, 'GET', `${P}/conversations/${g.id}/`, { token: b.token })).body.title).toBe('After');

    const del = await api(server, 'DELETE', `${P}/conversations/${g.id}/`, { token: a.token });
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    for (const u of [a, b]) {
      expectDetail(await api(server, 'GET', `${P}/conversations/${g.id}/`, { token: u.token }), 404, 'Conversation not found');
      expect((await api(server, 'GET', `${P}/conversations/`, { token: u.token })).body.map((x: any) => x.id)).not.toContain(g.id);
      expectDetail(await api(server, 'GET', `${P}/conversations/${g.id}/messages/`, { token: u.token }), 404);
    }
    expectDetail(await api(server, 'DELETE', `${P}/conversations/${g.id}/`, { token: a.token }), 404);
  });

  it('participants: the creator is admin; POST adds with a role (201); GET lists them', async () => {
    const [a, b, c] = await users(server, 3);
    const g = await createConversation(server, a, 'group', 'Roles');

    const initial = await api(server, 'GET', `${P}/conversations/${g.id}/participants/`, { token: a.token });
    expect(initial.status).toBe(200);
    expect(initial.body).toHaveLength(1);
    expect(initial.body[0]).toMatchObject({ user_id: a.user.uuid, role: 'admin', is_active: true });
    expect(initial.body[0].joined_at).toMatch(ISO_MS);
    expect(g.my_role).toBe('admin');

    const added = await api(server, 'POST', `${P}/conversations/${g.id}/participants/`, { token: a.token, json: { user_id: b.user.uuid, role: 'moderator' } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ user_id: b.user.uuid, role: 'moderator', conversation: g.id, is_active: true });
    expect(added.body.joined_at).toMatch(ISO_MS);
    // role defaults to member
    const plain = await api(server, 'POST', `${P}/conversations/${g.id}/participants/`, { token: a.token, json: { user_id: c.user.uuid } });
    expect(plain.status).toBe(201);
    expect(plain.body.role).toBe('member');

    const list = await api(server, 'GET', `${P}/conversations/${g.id}/participants/`, { token: c.token });
    expect(list.status).toBe(200);
    const roles = Object.fromEntries(list.body.map((p: any) => [p.user_id, p.role]));
    expect(roles).toEqual({ [a.user.uuid]: 'admin', [b.user.uuid]: 'moderator', [c.user.uuid]: 'member' });
    for (const p of list.body) {
      expect(p.user_id).toMatch(UUID);
      expect(p).toHaveProperty('last_seen_at');
    }
    expect((await api(server, 'GET', `${P}/conversations/${g.id}/`, { token: a.token })).body.participant_count).toBe(3);
    // The added user now lists it.
    expect((await api(server, 'GET', `${P}/conversations/`, { token: c.token })).body.map((x: any) => x.id)).toContain(g.id);
  });

  it('adding someone already in does not duplicate them', async () => {
    const [a, b] = await users(server, 2);
    const g = await createConversation(server, a, 'group');
    await addParticipant(server, g.id, a, b);
    const again = await api(server, 'POST', `${P}/conversations/${g.id}/participants/`, { token: a.token, json: { user_id: b.user.uuid, role: 'member' } });
    expect([200, 201, 409]).toContain(again.status);
    const list = await api(server, 'GET', `${P}/conversations/${g.id}/participants/`, { token: a.token });
    expect(list.body.filter((p: any) => p.user_id === b.user.uuid)).toHaveLength(1);
    expect((await api(server, 'GET', `${P}/conversations/${g.id}/`, { token: a.token })).body.participant_count).toBe(2);
  });

  it('a participant removed (DELETE participants/{uuid}/) loses the conversation; a participant leaves by their own uuid', async () => {
    const [a, b, c] = await users(server, 3);
    const g = await createConversation(server, a, 'group');
    await addParticipant(server, g.id, a, b);
    await addParticipant(server, g.id, a, c);
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${g.id}/participants/${b.user.uuid}/`, { token: a.token }), 204);
    expectDetail(await api(server, 'GET', `${P}/conversations/${g.id}/`, { token: b.token }), 404);
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${g.id}/participants/${c.user.uuid}/`, { token: c.token }), 204);
    expectDetail(await api(server, 'GET', `${P}/conversations/${g.id}/messages/`, { token: c.token }), 404);
    const list = await api(server, 'GET', `${P}/conversations/${g.id}/participants/`, { token: a.token });
    expect(list.body.map((p: any) => p.user_id)).toEqual([a.user.uuid]);
    // Added back, they are in again.
    await addParticipant(server, g.id, a, b);
    expectStatus(await api(server, 'GET', `${P}/conversations/${g.id}/`, { token: b.token }), 200);
  });
});
