// Tenant isolation (003, Security: "Tenant isolation enforcement"): two tenants whose users
// share the same emails. No id of the other tenant resolves (404, never 403), a token of
// tenant A on /ws/chat/{B}/ closes 4003, a user of another tenant cannot be added.
import { beforeAll, describe, expect, it } from 'vitest';
import { api, newUser, openSocket, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, addParticipant, createConversation, databases, expectDetail, expectStatus, newTenant, nextError, sendMessage, settle, socket003, wsUrl } from './support.js';

describe.each(databases)('003 tenant isolation on %s', (db) => {
  const server = useParley({ db });
  const T1 = newTenant();
  const T2 = newTenant();
  // Same emails in both tenants.
  const stamp = `${process.pid}-${Date.now()}`;
  const emails = [`ada-${stamp}@example.com`, `bob-${stamp}@example.com`];
  let a1: TestUser, b1: TestUser, a2: TestUser, b2: TestUser;
  let conv1: string;
  let msg1: string;

  beforeAll(async () => {
    [a1, b1, a2, b2] = await Promise.all([
      newUser(server, { email: emails[0], tenantId: T1, name: 'Ada' }),
      newUser(server, { email: emails[1], tenantId: T1, name: 'Bob' }),
      newUser(server, { email: emails[0], tenantId: T2, name: 'Ada' }),
      newUser(server, { email: emails[1], tenantId: T2, name: 'Bob' }),
    ]);
    conv1 = (await createConversation(server, a1, 'group', 'Tenant one')).id;
    await addParticipant(server, conv1, a1, b1);
    msg1 = (await sendMessage(server, a1, conv1, 'tenant one only')).id;
  });

  it('the same email makes two distinct users, each in its own tenant; login picks by tenant_id', async () => {
    expect(a1.user.email).toBe(a2.user.email);
    expect(a1.user.uuid).not.toBe(a2.user.uuid);
    expect(a1.user.tenant_id).toBe(T1);
    expect(a2.user.tenant_id).toBe(T2);
    const login = await api(server, 'POST', '/api/auth/login', { json: { email: emails[0], password: a2.password, tenant_id: T2 } });
    expect(login.status).toBe(200);
    expect(login.body.user.uuid).toBe(a2.user.uuid);
  });

  it('no conversation, message or participant id of tenant one resolves for tenant two (404)', async () => {
    for (const u of [a2, b2]) {
      const paths: [string, string, unknown?][] = [
        ['GET', `${P}/conversations/${conv1}/`],
        ['PUT', `${P}/conversations/${conv1}/`, { title: 'stolen' }],
        ['DELETE', `${P}/conversations/${conv1}/`],
        ['GET', `${P}/conversations/${conv1}/participants/`],
        ['POST', `${P}/conversations/${conv1}/participants/`, { user_id: u.user.uuid, role: 'admin' }],
        ['PUT', `${P}/conversations/${conv1}/participants/${b1.user.uuid}/`, { role: 'admin' }],
        ['DELETE', `${P}/conversations/${conv1}/participants/${b1.user.uuid}/`],
        ['GET', `${P}/conversations/${conv1}/messages/`],
        ['POST', `${P}/conversations/${conv1}/messages/`, { content: 'intrusion' }],
        ['GET', `${P}/conversations/${conv1}/messages/${msg1}/`],
        ['PUT', `${P}/conversations/${conv1}/messages/${msg1}/`, { content: 'edited' }],
        ['DELETE', `${P}/conversations/${conv1}/messages/${msg1}/`],
        ['GET', `${P}/messages/${msg1}/reactions/`],
        ['POST', `${P}/messages/${msg1}/reactions/`, { emoji: '👍' }],
        ['DELETE', `${P}/messages/${msg1}/reactions/?emoji=%F0%9F%91%8D`],
        ['PUT', `${P}/presence/me/`, { status: 'online', current_conversation: conv1 }],
      ];
      for (const [method, path, json] of paths) {
        const res = await api(server, method, path, { token: u.token, json });
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
        expectDetail(res, 404, /not found/i);
      }
    }
    // Nothing changed.
    const c = await api(server, 'GET', `${P}/conversations/${conv1}/`, { token: a1.token });
    expect(c.body).toMatchObject({ title: 'Tenant one', participant_count: 2 });
    const m = await api(server, 'GET', `${P}/conversations/${conv1}/messages/${msg1}/`, { token: a1.token });
    expect(m.body).toMatchObject({ content: 'tenant one only', is_deleted: false, reactions: [] });
    expect((await api(server, 'GET', `${P}/conversations/${conv1}/messages/`, { token: a1.token })).body.count).toBe(1);
  });

  it('a user of another tenant cannot be added (404), by uuid or integer id, nor named at creation', async () => {
    const byUuid = await api(server, 'POST', `${P}/conversations/${conv1}/participants/`, { token: a1.token, json: { user_id: b2.user.uuid, role: 'member' } });
    expectDetail(byUuid, 404, /not found/i);
    const byId = await api(server, 'POST', `${P}/conversations/${conv1}/participants/`, { token: a1.token, json: { user_id: b2.user.id, role: 'member' } });
    expectDetail(byId, 404, /not found/i);
    expectDetail(await api(server, 'POST', `${P}/conversations/`, { token: a1.token, json: { conversation_type: 'group', title: 'x', participant_ids: [b2.user.uuid] } }), 404);
    expectDetail(await api(server, 'POST', `${P}/conversations/`, { token: a1.token, json: { conversation_type: 'direct', participant_ids: [a2.user.uuid] } }), 404);
    const list = await api(server, 'GET', `${P}/conversations/${conv1}/participants/`, { token: a1.token });
    expect(list.body.map((p: any) => p.user_id).sort()).toEqual([a1.user.uuid, b1.user.uuid].sort());
    // And the other tenant's lists stay empty of tenant one.
    expect((await api(server, 'GET', `${P}/conversations/`, { token: b2.token })).body).toEqual([]);
  });

  it('a token of tenant one on /ws/chat/{tenant two}/ closes 4003; an unknown tenant too', async () => {
    const wrong = await openSocket(wsUrl(server, a1, T2));
    expect((await wrong.closed).code).toBe(4003);
    expect(wrong.all('connection_established')).toHaveLength(0);
    const header = await openSocket(wsUrl(server, a1, T2, null), { headers: { authorization: `Bearer ${a1.token}` } });
    expect((await header.closed).code).toBe(4003);
    const frame = await openSocket(wsUrl(server, a1, T2, null));
    frame.send({ type: 'authenticate', token: a1.token });
    expect((await frame.closed).code).toBe(4003);
    const unknown = await openSocket(wsUrl(server, a1, newTenant()));
    expect((await unknown.closed).code).toBe(4003);
    // Its own tenant works.
    const right = await openSocket(wsUrl(server, a1, T1));
    expect((await right.next('connection_established')).tenant_id).toBe(T1);
  });

  it('a socket of tenant two cannot join, send to or react in tenant one, and hears nothing of it', async () => {
    const s2 = await socket003(server, a2);
    s2.send({ type: 'join_conversation', conversation_id: conv1 });
    await nextError(s2, /not found/i);
    s2.send({ type: 'send_message', conversation_id: conv1, content: 'cross-tenant', message_type: 'text' });
    await nextError(s2, /not found/i);
    s2.send({ type: 'add_reaction', message_id: msg1, emoji: '👍' });
    await nextError(s2, /not found/i);
    s2.send({ type: 'start_typing', conversation_id: conv1 });
    await nextError(s2, /not found/i);
    s2.send({ type: 'mark_read', conversation_id: conv1 });
    await nextError(s2, /not found/i);

    const s1 = await socket003(server, b1, [conv1]);
    await sendMessage(server, a1, conv1, 'still private');
    await s1.next('new_message');
    await settle(s2);
    expect(s2.all('new_message')).toHaveLength(0);
    expect(s1.all('reaction_added')).toHaveLength(0);
    expect((await api(server, 'GET', `${P}/conversations/${conv1}/messages/`, { token: a1.token })).body.results.map((m: any) => m.content)).not.toContain('cross-tenant');
  });

  it('presence lists only people of the caller\'s own conversations, never the other tenant', async () => {
    const conv2 = (await createConversation(server, a2, 'group', 'Tenant two')).id;
    await addParticipant(server, conv2, a2, b2);
    await socket003(server, b1);
    const p2 = await api(server, 'GET', `${P}/presence/`, { token: a2.token });
    expectStatus(p2, 200);
    const ids = p2.body.map((x: any) => x.user_id);
    expect(ids).toContain(b2.user.uuid);
    for (const id of [a1.user.uuid, b1.user.uuid]) expect(ids).not.toContain(id);
  });
});
