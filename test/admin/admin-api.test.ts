import { describe, expect, it } from 'vitest';
import { ParleyError, ParleyRest } from '@parley/sdk';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { tenant } from '../bots/support.js';

/** A REST client of the test server signed in with `token`. */
const as = (url: string, token: string) => new ParleyRest({ baseUrl: url, token });

const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(ParleyError);
  return e as ParleyError;
};

/** The SDK's admin methods over real HTTP: archive, transfer, settings, paging, password reset. */
describe.each(databases)('administration through the SDK on %s', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });

  it('an archived conversation refuses sends and stays readable; unarchived it takes them again', async () => {
    const { admin, members: [bob] } = await tenant(server, 1);
    const [a, b] = [as(server.url, admin.token), as(server.url, bob.token)];
    const conv = await b.createConversation({ kind: 'group', memberIds: [admin.user.id], title: 'Old project' });
    await b.sendMessage(conv.id, { content: 'before' });
    const archived = await a.admin.archive(conv.id);
    expect(archived.archived_at).not.toBeNull();
    const e = await refusal(b.sendMessage(conv.id, { content: 'after' }));
    expect(e).toMatchObject({ status: 403, code: 'not_permitted', message: 'This conversation is archived: it is read-only' });
    expect((await b.history(conv.id)).messages.map((m) => m.content)).toEqual(['before']);
    // A member cannot unarchive it.
    expect((await refusal(b.admin.archive(conv.id, false))).status).toBe(403);
    await a.admin.archive(conv.id, false);
    await b.sendMessage(conv.id, { content: 'after' });
  });

  it('transfer makes the member the admin and the old admins members; it always keeps one', async () => {
    const { admin, members: [bob, carol] } = await tenant(server, 2);
    const [a, b] = [as(server.url, admin.token), as(server.url, bob.token)];
    const conv = await b.createConversation({ kind: 'group', memberIds: [carol.user.id], title: 'Team' });
    await a.admin.transfer(conv.id, carol.user.id);
    const roles = Object.fromEntries((await b.participants(conv.id)).map((p) => [p.user.id, p.role]));
    expect(roles).toEqual({ [bob.user.id]: 'member', [carol.user.id]: 'admin' });
    // Only to a member.
    expect(await refusal(a.admin.transfer(conv.id, admin.user.id))).toMatchObject({ status: 404, code: 'user_not_found' });
  });

  it("settings: only given fields change, null clears one, bad values are refused; another tenant's admin is refused", async () => {
    const { admin } = await tenant(server, 0);
    const other = await tenant(server, 0);
    const a = as(server.url, admin.token);
    expect(await a.admin.settings()).toEqual({ registration: null, max_upload_bytes: null, retention_days: null, allowed_origins: null });
    await a.admin.setSettings({ retention_days: 30, allowed_origins: ['https://chat.example.com'] });
    expect(await a.admin.setSettings({ registration: 'invite', allowed_origins: null })).toEqual({ registration: 'invite', max_upload_bytes: null, retention_days: 30, allowed_origins: null });
    expect((await refusal(a.admin.setSettings({ allowed_origins: ['https://x.example/path'] }))).status).toBe(400);
    expect((await refusal(as(server.url, other.admin.token).admin.settings(admin.user.tenant_id))).status).toBe(403);
  });

  it('users page by id with a cursor and search; a reset password signs in and ends the old sessions', async () => {
    const { admin, members } = await tenant(server, 4);
    const a = as(server.url, admin.token);
    const first = await a.admin.users({ limit: 3 });
    expect(first.users.map((u) => u.id)).toEqual([admin.user.id, members[0].user.id, members[1].user.id]);
    const second = await a.admin.users({ limit: 3, after: first.next! });
    expect(second).toMatchObject({ next: null });
    expect(second.users.map((u) => u.id)).toEqual([members[2].user.id, members[3].user.id]);
    expect((await a.admin.users({ q: members[3].user.email })).users.map((u) => u.id)).toEqual([members[3].user.id]);
    const reset = await a.admin.resetPassword(members[0].user.id);
    expect(reset.generated).toBe(true);
    expect((await refusal(as(server.url, members[0].token).me())).status).toBe(401);
    await new ParleyRest({ baseUrl: server.url }).login({ email: members[0].user.email, password: reset.password, tenantId: admin.user.tenant_id });
    const detail = await a.admin.user(members[0].user.id);
    expect(detail.sessions).toMatchObject({ token_version: 1, online: false, devices: [] });
  });
});
