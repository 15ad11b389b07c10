// Issue 20, moderation over real HTTP and WebSockets: bans (removed, kept out of adds, joins
// and sends), mutes (refused sends, edits and reactions, in every dialect's shape, lifted at
// their `until`), the admin a moderator cannot touch, reports and their queue, and the reason
// a moderator gives for a deletion.
import { describe, expect, it } from 'vitest';
import { api, chatSocket, eventually, nextError, openSocket, parleySocket as followAll, type TestUser } from '../../helpers/clients.js';
import { textFrame, users } from '../../helpers/dialects.js';
import { useParley } from '../../helpers/parley.js';
import { databases } from '../../helpers/pg.js';

const P = '/api/parley';

describe.each(databases)('moderation on %s', (db) => {
  const server = useParley({ db });
  /** Parley's refusal: the status, `{detail, code}`, and the detail's text when given. */
  const expectDetail = (res: { status: number; body: any }, status: number, detail?: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.detail).toBeTypeOf('string');
    if (detail) expect(res.body.detail).toBe(detail);
  };
  const call = (u: TestUser, method: string, path: string, json?: unknown) => api(server, method, P + path, { token: u.token, json });

  const parleySocket = (u: TestUser) => followAll(server, u);

  /** A group: admin, moderator and two members; the tenant's admin registered first, outside it. */
  let tenantAdmin: TestUser | undefined;
  async function group(kind: 'group' | 'channel' = 'group') {
    tenantAdmin ??= (await users(server, 1))[0];
    const [admin, mod, m1, m2] = await users(server, 4);
    const created = await call(admin, 'POST', '/conversations', { kind, title: 'mods', member_ids: [mod.user.id, m1.user.id, m2.user.id] });
    expect(created.status).toBe(201);
    const g = created.body.id as number;
    expect((await call(admin, 'PATCH', `/conversations/${g}/participants/${mod.user.id}`, { role: 'moderator' })).status).toBe(200);
    return { g, admin, mod, m1, m2 };
  }
  const members = async (u: TestUser, g: number) => ((await call(u, 'GET', `/conversations/${g}/participants`)).body as { user: { id: number } }[]).map((p) => p.user.id);

  it('a ban removes the user, who is then neither added back, nor joins, nor sends (banned); unban lets them be added again', async () => {
    const { g, admin, mod, m1 } = await group('channel');
    expect((await call(admin, 'PUT', `/conversations/${g}/visibility`, { visibility: 'public' })).status).toBeLessThan(300);
    const watcher = await parleySocket(admin);
    const ban = await call(mod, 'PUT', `/conversations/${g}/bans/${m1.user.id}`, { reason: 'Spam' });
    expect(ban.status).toBe(200);
    expect(ban.body).toMatchObject({ kind: 'ban', reason: 'Spam', until: null, by: mod.user.id, user: { id: m1.user.id } });
    await watcher.next('participant_changed', { where: (f) => f.change === 'removed' && f.user.id === m1.user.id });
    expect(await members(admin, g)).not.toContain(m1.user.id);
    expectDetail(await call(admin, 'POST', `/conversations/${g}/participants`, { user_id: m1.user.id }), 403, 'This person is banned from this conversation');
    expectDetail(await call(m1, 'POST', `/channels/${g}/join`), 403, 'You are banned from this conversation');
    const sent = await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'back?' });
    expectDetail(sent, 403, 'You are banned from this conversation');
    expect(sent.body.code).toBe('not_permitted');
    // The list shows it; a member may not read it.
    expect((await call(admin, 'GET', `/conversations/${g}/sanctions`)).body).toMatchObject([{ kind: 'ban', user: { id: m1.user.id } }]);
    expectDetail(await call((await group()).m2, 'GET', `/conversations/${g}/sanctions`), 404);
    expect((await call(mod, 'DELETE', `/conversations/${g}/bans/${m1.user.id}`)).status).toBe(204);
    expect((await call(m1, 'POST', `/channels/${g}/join`)).status).toBeLessThan(300);
    expect(await members(admin, g)).toContain(m1.user.id);
  });

  it('a muted member reads but cannot send, edit or react, in Parley and chat shapes, until the mute lapses', async () => {
    const { g, admin, mod, m1, m2 } = await group();
    const mine = (await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'before' })).body.id as number;
    const until = new Date(Date.now() + 1500).toISOString();
    expect((await call(mod, 'PUT', `/conversations/${g}/mutes/${m1.user.id}`, { reason: 'cool down', until })).body).toMatchObject({ kind: 'mute', until });
    expectDetail(await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'muted?' }), 403, 'You are muted in this conversation');
    expectDetail(await call(m1, 'PATCH', `/messages/${mine}`, { content: 'edited' }), 403, 'You are muted in this conversation');
    expectDetail(await call(m1, 'PUT', `/messages/${mine}/reactions/${encodeURIComponent('👍')}`), 403, 'You are muted in this conversation');
    // Parley's socket: an error frame with its code and reason.
    const s = await parleySocket(m1);
    s.send({ type: 'send', conversation_id: g, content: 'socket', local_temp_id: 'mute-1' });
    expect(await s.next('error')).toMatchObject({ code: 'not_permitted', local_temp_id: 'mute-1' });
    // Document 000's socket: its error frame.
    const chat = await chatSocket(server, m1);
    chat.send(textFrame(g, undefined, 'chat'));
    await nextError(chat, 'You are muted in this conversation');
    // Reading goes on; the others post.
    expect((await call(m1, 'GET', `/conversations/${g}/messages`)).status).toBe(200);
    expect((await call(m2, 'POST', `/conversations/${g}/messages`, { content: 'fine' })).status).toBe(201);
    // At `until` it is lifted, with nothing run to lift it.
    await eventually(async () => expect((await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'after' })).status).toBe(201), { timeoutMs: 5000, intervalMs: 200 });
    expect((await call(admin, 'GET', `/conversations/${g}/sanctions`)).body).toEqual([]);
  });

  it('a moderator cannot ban or mute an admin (nor lift theirs); an admin and a tenant admin can; members cannot at all', async () => {
    const { g, admin, mod, m1, m2 } = await group();
    expectDetail(await call(mod, 'PUT', `/conversations/${g}/bans/${admin.user.id}`, {}), 403, 'A moderator cannot ban or mute an admin');
    expectDetail(await call(mod, 'PUT', `/conversations/${g}/mutes/${admin.user.id}`, {}), 403, 'A moderator cannot ban or mute an admin');
    expectDetail(await call(m1, 'PUT', `/conversations/${g}/mutes/${m2.user.id}`, {}), 403, 'Only admins and moderators moderate a group or channel');
    expectDetail(await call(mod, 'PUT', `/conversations/${g}/mutes/${mod.user.id}`, {}), 400, 'You cannot ban or mute yourself');
    expectDetail(await call(mod, 'PUT', `/conversations/${g}/mutes/${m1.user.id}`, { until: '2001-01-01T00:00:00.000Z' }), 400, 'until must be in the future');
    expectDetail(await call(mod, 'PUT', `/conversations/${g}/mutes/${m1.user.id}`, { reason: 'x'.repeat(501) }), 400, 'reason must be at most 500 characters');
    expect((await call(admin, 'PUT', `/conversations/${g}/mutes/${mod.user.id}`, {})).status).toBe(200);
    // The tenant's admin, not in the group, moderates it.
    expect((await call(tenantAdmin!, 'PUT', `/conversations/${g}/bans/${m2.user.id}`, {})).status).toBe(200);
    expect(await members(admin, g)).not.toContain(m2.user.id);
    // The last admin is not banned away.
    expectDetail(await call(tenantAdmin!, 'PUT', `/conversations/${g}/bans/${admin.user.id}`, {}), 400);
    expect(await members(admin, g)).toContain(admin.user.id);
  });

  it('a report: once per reporter, in the queue of the moderators and tenant admins, resolved once; the reporter is told and the author sees why', async () => {
    const { g, admin, mod, m1, m2 } = await group();
    const bad = (await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'buy now' })).body.id as number;
    expectDetail(await call(m1, 'POST', `/messages/${bad}/reports`, { reason: 'mine' }), 400, 'You cannot report your own message');
    expectDetail(await call(m2, 'POST', `/messages/${bad}/reports`, { reason: '  ' }), 400, 'A report needs a reason');
    const filed = await call(m2, 'POST', `/messages/${bad}/reports`, { reason: 'Spam' });
    expect(filed.status).toBe(201);
    expect(filed.body).toMatchObject({ message_id: bad, reporter_id: m2.user.id, author_id: m1.user.id, state: 'open', reason: 'Spam' });
    expectDetail(await call(m2, 'POST', `/messages/${bad}/reports`, { reason: 'again' }), 409, 'You reported this message already');
    // An outsider cannot see (so cannot report) it.
    const [outsider] = await users(server, 1);
    expectDetail(await call(outsider, 'POST', `/messages/${bad}/reports`, { reason: 'x' }), 404);

    for (const who of [mod, admin, tenantAdmin!]) {
      const q = await call(who, 'GET', `/reports?conversation_id=${g}`);
      expect(q.body.items.map((r: { id: number }) => r.id), 'queue').toEqual([filed.body.id]);
      expect(q.body.items[0].message).toMatchObject({ id: bad, content: 'buy now' });
    }
    expect((await call(mod, 'GET', '/reports')).body.items.map((r: { id: number }) => r.id)).toEqual([filed.body.id]);
    expectDetail(await call(m2, 'GET', `/reports?conversation_id=${g}`), 403);
    expect((await call(m2, 'GET', '/reports')).body.items).toEqual([]);

    const reporter = await parleySocket(m2);
    const author = await parleySocket(m1);
    const resolved = await call(mod, 'POST', `/reports/${filed.body.id}/resolve`, { action: 'delete', reason: 'Advertising' });
    expect(resolved.body).toMatchObject({ state: 'deleted', resolved_by: mod.user.id });
    expect((await reporter.next('report_resolved')).report).toMatchObject({ id: filed.body.id, state: 'deleted' });
    const changed = await author.next('message_changed', { where: (f) => f.message.id === bad });
    expect(changed.message).toMatchObject({ content: null, deleted_by: mod.user.id, deleted_reason: 'Advertising' });
    expect((await call(m1, 'GET', `/messages/${bad}`)).body).toMatchObject({ deleted_by: mod.user.id, deleted_reason: 'Advertising' });
    expectDetail(await call(admin, 'POST', `/reports/${filed.body.id}/resolve`, { action: 'dismiss' }), 409, 'This report was resolved already');
    expect((await call(mod, 'GET', `/reports?conversation_id=${g}`)).body.items).toEqual([]);
    expect((await call(m2, 'GET', '/reports/mine')).body.items).toMatchObject([{ id: filed.body.id, state: 'deleted' }]);
  });

  it('resolving a report by banning or muting its author applies the ban or mute; a moderator cannot ban an admin through a report', async () => {
    const { g, admin, mod, m1, m2 } = await group();
    const byAdmin = (await call(admin, 'POST', `/conversations/${g}/messages`, { content: 'admin says' })).body.id as number;
    const byMember = (await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'rude' })).body.id as number;
    const r1 = (await call(m2, 'POST', `/messages/${byAdmin}/reports`, { reason: 'abuse of power' })).body.id as number;
    const r2 = (await call(m2, 'POST', `/messages/${byMember}/reports`, { reason: 'rude' })).body.id as number;
    expectDetail(await call(mod, 'POST', `/reports/${r1}/resolve`, { action: 'ban' }), 403, 'A moderator cannot ban or mute an admin');
    expect((await call(mod, 'GET', `/reports?conversation_id=${g}`)).body.items.map((r: { id: number }) => r.id)).toEqual([r1, r2]);
    expect((await call(mod, 'POST', `/reports/${r2}/resolve`, { action: 'mute', reason: 'rude' })).body.state).toBe('muted');
    expectDetail(await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'x' }), 403, 'You are muted in this conversation');
    expect((await call(admin, 'POST', `/reports/${r1}/resolve`, { action: 'dismiss' })).body.state).toBe('dismissed');
    expectDetail(await call(m2, 'POST', `/reports/${r1}/resolve`, { action: 'dismiss' }), 403);
  });
  it('only a tenant admin resolves a report by suspending its author: the author is signed out at once and the report says so', async () => {
    const { g, mod, m1, m2 } = await group();
    const bad = (await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'scam link' })).body.id as number;
    const report = (await call(m2, 'POST', `/messages/${bad}/reports`, { reason: 'scam' })).body.id as number;
    expectDetail(await call(mod, 'POST', `/reports/${report}/resolve`, { action: 'suspend' }), 403);
    expect((await call(m1, 'GET', `/conversations/${g}/messages`)).status).toBe(200);
    const author = await parleySocket(m1);
    const resolved = await call(tenantAdmin!, 'POST', `/reports/${report}/resolve`, { action: 'suspend', reason: 'scam' });
    expect(resolved.body).toMatchObject({ state: 'suspended', resolved_by: tenantAdmin!.user.id });
    await author.closed;
    expect((await call(m1, 'GET', `/conversations/${g}/messages`)).status).toBe(401);
    expect((await call(m2, 'GET', '/reports/mine')).body.items).toMatchObject([{ id: report, state: 'suspended' }]);
  });
  it("a moderator's reason for a deletion reaches the author's device that resumes from before it, as it reaches live ones", async () => {
    const { g, mod, m1 } = await group();
    const said = (await call(m1, 'POST', `/conversations/${g}/messages`, { content: 'off topic' })).body;
    const conv = (await call(m1, 'GET', `/conversations/${g}`)).body;
    const cursor = { conversation_id: g, last_seq: conv.last_seq, last_change_seq: conv.change_seq };
    expect((await call(mod, 'DELETE', `/messages/${said.id}?reason=${encodeURIComponent('Keep it on topic')}`)).status).toBeLessThan(300);
    const device = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(m1.token)}`);
    await device.next('ready');
    device.send({ type: 'subscribe', cursors: [cursor] });
    const replayed = await device.next('message_changed', { where: (f) => f.message.id === said.id });
    expect(replayed.message).toMatchObject({ content: null, deleted_by: mod.user.id, deleted_reason: 'Keep it on topic' });
    device.close();
  });
});
