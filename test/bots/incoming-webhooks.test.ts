import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, openSocket, type TestUser } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { redactUrl } from '../../src/http/redact.js';
import { P, tenant } from './support.js';

// Incoming webhooks (issue 19): a secret URL per conversation; anyone holding it POSTs
// {"text"} (as Slack's and Mattermost's take it) and the hook's bot posts it; revocable.

const createHook = (server: TestServer, u: TestUser, id: number, name = 'CI') => api(server, 'POST', `${P}/conversations/${id}/incoming-webhooks`, { token: u.token, json: { name } });
const post = (server: TestServer, path: string, json: unknown) => api(server, 'POST', path, { json });
const NOT_FOUND = { detail: 'Incoming webhook not found', code: 'incoming_webhook_not_found' };

describe.each(databases)('incoming webhooks (%s)', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });

  async function group(kind: 'group' | 'channel' = 'group') {
    const { admin, members } = await tenant(server, 2);
    const [mod, member] = members;
    const r = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind, title: 'Builds', member_ids: [mod.user.id, member.user.id] } });
    expect(r.status).toBe(201);
    expect((await api(server, 'PATCH', `${P}/conversations/${r.body.id}/participants/${mod.user.id}`, { token: admin.token, json: { role: 'moderator' } })).status).toBe(200);
    return { admin, mod, member, id: r.body.id as number };
  }

  it('a moderator makes a hook; a POST of {"text"} to its URL posts as its bot, live to the members and in the history', async () => {
    const { admin, mod, id } = await group();
    const ws = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(admin.token)}`);
    await ws.next('ready');
    ws.send({ type: 'subscribe' });
    await ws.next('subscribed');

    const hook = await createHook(server, mod, id, 'CI');
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    expect(hook.body.path).toMatch(new RegExp(`^/api/parley/hooks/${hook.body.id}/[A-Za-z0-9_-]{43}$`));
    expect(hook.body.url.endsWith(hook.body.path)).toBe(true);
    expect(hook.body).toMatchObject({ conversation_id: id, name: 'CI', bot: { name: 'CI', is_bot: true }, created_by: mod.user.id, revoked_at: null });

    // Slack's payload carries more than text: the rest is ignored.
    const sent = await post(server, hook.body.path, { text: 'Build #42 passed', username: 'ci-bot', icon_emoji: ':white_check_mark:' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body).toMatchObject({ conversation_id: id, content: 'Build #42 passed', sender: { id: hook.body.bot.id, is_bot: true } });
    const frame = await ws.next('message');
    expect(frame.message).toMatchObject({ id: sent.body.id, sender: { is_bot: true } });
    const history = await api(server, 'GET', `${P}/conversations/${id}/messages`, { token: admin.token });
    expect(history.body.messages.at(-1)).toMatchObject({ id: sent.body.id, content: 'Build #42 passed' });
    // Its bot is a member, shown as a bot.
    const members = await api(server, 'GET', `${P}/conversations/${id}/participants`, { token: admin.token });
    expect(members.body.find((m) => m.user.id === hook.body.bot.id)).toMatchObject({ role: 'member', user: { is_bot: true } });

    // Listed without its URL.
    const listed = await api(server, 'GET', `${P}/conversations/${id}/incoming-webhooks`, { token: admin.token });
    expect(listed.status).toBe(200);
    expect(listed.body.map((h) => h.id)).toEqual([hook.body.id]);
    expect(JSON.stringify(listed.body)).not.toContain(hook.body.path.split('/').at(-1)!);
  });

  it('only who may add members makes, lists or revokes hooks: a member is refused, an outsider finds no conversation, a direct conversation has none', async () => {
    const { member, id, admin } = await group();
    const outsider = (await tenant(server, 0)).admin;
    expect((await createHook(server, member, id)).status).toBe(403);
    expect((await api(server, 'GET', `${P}/conversations/${id}/incoming-webhooks`, { token: member.token })).status).toBe(403);
    expect((await createHook(server, outsider, id)).status).toBe(404);
    const direct = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'direct', user_id: member.user.id } });
    expect((await createHook(server, admin, direct.body.id)).status).toBe(400);
    // A channel's bot must post there: only its admins make hooks, and its bot is a moderator.
    const channel = await group('channel');
    expect((await createHook(server, channel.mod, channel.id)).status).toBe(403);
    const hook = await createHook(server, channel.admin, channel.id);
    expect(hook.status).toBe(201);
    expect((await post(server, hook.body.path, { text: 'Deployed' })).status).toBe(201);
  });

  it('a wrong secret, an unknown or malformed id and a revoked hook are one 404; revocation is at once', async () => {
    const { admin, id } = await group();
    const hook = await createHook(server, admin, id);
    const [, , , , hookId, secret] = hook.body.path.split('/');
    const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    for (const path of [`${P}/hooks/${hookId}/${flipped}`, `${P}/hooks/${hookId}/x`, `${P}/hooks/0192f7a2-0d00-7000-8000-0000000000d1/${secret}`, `${P}/hooks/not-a-uuid/${secret}`]) {
      const r = await post(server, path, { text: 'nope' });
      expect(r.status, path).toBe(404);
      expect(r.body).toEqual(NOT_FOUND);
    }
    expect((await post(server, hook.body.path, { text: '' })).status).toBe(422);
    expect((await post(server, hook.body.path, { text: 'still works' })).status).toBe(201);
    expect((await api(server, 'DELETE', `${P}/conversations/${id}/incoming-webhooks/${hookId}`, { token: admin.token })).status).toBe(204);
    const after = await post(server, hook.body.path, { text: 'revoked' });
    expect(after.status).toBe(404);
    expect(after.body).toEqual(NOT_FOUND);
    expect((await api(server, 'DELETE', `${P}/conversations/${id}/incoming-webhooks/${hookId}`, { token: admin.token })).status).toBe(204);
    const listed = await api(server, 'GET', `${P}/conversations/${id}/incoming-webhooks`, { token: admin.token });
    expect(listed.body[0].revoked_at).not.toBeNull();
    // What it posted stays.
    const history = await api(server, 'GET', `${P}/conversations/${id}/messages`, { token: admin.token });
    expect(history.body.messages.map((m) => m.content)).toEqual(['still works']);
  });

  it('property: a hook posts exactly while it is not revoked, and only with its own secret', async () => {
    const { admin, id } = await group();
    type Action = { kind: 'create' } | { kind: 'revoke'; hook: number } | { kind: 'post'; hook: number; secretOf: number };
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.constant({ kind: 'create' as const }),
      fc.record({ kind: fc.constant('revoke' as const), hook: fc.nat(9) }),
      fc.record({ kind: fc.constant('post' as const), hook: fc.nat(9), secretOf: fc.nat(9) }),
      fc.record({ kind: fc.constant('post' as const), hook: fc.nat(9), secretOf: fc.nat(9) }),
    );
    let posted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 10 }), async (actions) => {
        const hooks: { id: string; secret: string; revoked: boolean }[] = [];
        for (const a of actions) {
          if (a.kind === 'create') {
            const r = await createHook(server, admin, id, `hook ${hooks.length}`);
            expect(r.status).toBe(201);
            const parts = r.body.path.split('/');
            hooks.push({ id: parts[4], secret: parts[5], revoked: false });
            continue;
          }
          const h = hooks[a.hook % Math.max(1, hooks.length)];
          if (!h) continue;
          if (a.kind === 'revoke') {
            expect((await api(server, 'DELETE', `${P}/conversations/${id}/incoming-webhooks/${h.id}`, { token: admin.token })).status).toBe(204);
            h.revoked = true;
            continue;
          }
          const secret = hooks[a.secretOf % hooks.length].secret;
          const r = await post(server, `${P}/hooks/${h.id}/${secret}`, { text: `post ${posted}` });
          const works = !h.revoked && secret === h.secret;
          expect(r.status).toBe(works ? 201 : 404);
          if (works) posted++;
        }
      }),
      { numRuns: 6, seed: 1919, endOnFailure: true },
    );
    const history = await api(server, 'GET', `${P}/conversations/${id}/messages?limit=100`, { token: admin.token });
    expect(history.body.messages).toHaveLength(posted);
  });
});

describe('incoming webhooks are rate-limited like sends', () => {
  const server = useParley({ env: { REGISTRATION: 'open', RATE_USER_MESSAGES_PER_SECOND: '1', RATE_USER_MESSAGES_BURST: '3' } });

  it("posts past the bot's send budget are 429", async () => {
    const { admin } = await tenant(server, 0);
    const g = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'group', title: 'Noisy' } });
    const hook = await createHook(server, admin, g.body.id);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(server, hook.body.path, { text: `burst ${i}` })));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses).toContain(429);
    expect(answers.find((r) => r.status === 429)!.body).toMatchObject({ code: 'rate_limited' });
  });

  it("a hook's secret never reaches the logs", () => {
    expect(redactUrl('/api/parley/hooks/0192f7a2-0d00-7000-8000-0000000000d1/s3cretS3cret?x=1')).toBe('/api/parley/hooks/0192f7a2-0d00-7000-8000-0000000000d1/[redacted]?x=1');
  });
});
