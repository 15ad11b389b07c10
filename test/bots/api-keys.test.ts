import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { sqlStoreOf } from '../helpers/parley.js';
import { P, apiKey, tenant, withKey, type Scope } from './support.js';

// API keys (issue 19): per tenant, made by its admins, acting as a bot user, scoped, shown once,
// stored as a digest, revocable, with their last use.

describe.each(databases)('API keys (%s)', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });

  it('an admin creates a key: its secret once, its bot a tenant user shown as a bot; the key acts as the bot by bearer or X-Api-Key', async () => {
    const { admin, members } = await tenant(server, 1);
    const key = await apiKey(server, admin, ['read', 'write'], 'CI bot');
    expect(key.secret).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ name: 'CI bot', scopes: ['read', 'write'], bot: { name: 'CI bot', is_bot: true }, last_used_at: null, revoked_at: null });
    for (const as of ['bearer', 'header'] as const) {
      const me = await api(server, 'GET', `${P}/me`, withKey(key.secret, as));
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: key.bot.id, is_bot: true });
    }
    // People are not bots.
    expect((await api(server, 'GET', `${P}/me`, { token: members[0].token })).body.is_bot).toBe(false);
    // Stored as a digest only: the secret is nowhere in the database row.
    const row = await sqlStoreOf(server).apiKeyBySecretHash((await import('../../src/core/accounts/api-keys.js')).secretDigest(key.secret));
    expect(row?.uuid).toBe(key.id);
    expect(JSON.stringify(row)).not.toContain(key.secret);
    // Listed without its secret, with its last use.
    const listed = await api(server, 'GET', `${P}/api-keys`, { token: admin.token });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(key.secret);
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0]).not.toHaveProperty('secret');
    expect(listed.body[0].last_used_at).not.toBeNull();
  });

  it('members may not create, list or revoke keys; another tenant cannot see or revoke them', async () => {
    const { admin, members } = await tenant(server, 1);
    const other = await tenant(server, 0);
    const key = await apiKey(server, admin, ['read']);
    expect((await api(server, 'POST', `${P}/api-keys`, { token: members[0].token, json: { name: 'x', scopes: ['read'] } })).status).toBe(403);
    expect((await api(server, 'GET', `${P}/api-keys`, { token: members[0].token })).status).toBe(403);
    expect((await api(server, 'DELETE', `${P}/api-keys/${key.id}`, { token: members[0].token })).status).toBe(403);
    expect((await api(server, 'GET', `${P}/api-keys`, { token: other.admin.token })).body).toEqual([]);
    const foreign = await api(server, 'DELETE', `${P}/api-keys/${key.id}`, { token: other.admin.token });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ detail: 'API key not found', code: 'api_key_not_found' });
    expect((await api(server, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(200);
  });

  it('scopes: read only reads; write posts and reacts as the bot; admin runs the tenant admin\'s operations', async () => {
    const { admin } = await tenant(server, 0);
    const [reader, writer, boss] = [await apiKey(server, admin, ['read']), await apiKey(server, admin, ['write']), await apiKey(server, admin, ['admin'])];
    const group = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'group', title: 'ops', member_ids: [reader.bot.id, writer.bot.id] } });
    expect(group.status).toBe(201);
    const id = group.body.id;

    const refused = await api(server, 'POST', `${P}/conversations/${id}/messages`, { ...withKey(reader.secret), json: { content: 'no' } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'api_key_scope' });
    expect((await api(server, 'GET', `${P}/conversations/${id}/messages`, withKey(reader.secret))).status).toBe(200);

    const sent = await api(server, 'POST', `${P}/conversations/${id}/messages`, { ...withKey(writer.secret, 'header'), json: { content: 'build green' } });
    expect(sent.status).toBe(201);
    expect(sent.body.sender).toMatchObject({ id: writer.bot.id, is_bot: true });
    expect((await api(server, 'PUT', `${P}/messages/${sent.body.id}/reactions/${encodeURIComponent('👍')}`, withKey(writer.secret))).status).toBe(200);
    const edited = await api(server, 'PATCH', `${P}/messages/${sent.body.id}`, { ...withKey(writer.secret), json: { content: 'build green (edited)' } });
    expect(edited.status).toBe(200);
    const history = await api(server, 'GET', `${P}/conversations/${id}/messages`, { token: admin.token });
    expect(history.body.messages.at(-1)).toMatchObject({ content: 'build green (edited)', sender: { is_bot: true }, reactions: [{ emoji: '👍', user_ids: [writer.bot.id] }] });

    // Tenant admin operations: the write key's bot is a member, the admin key's bot an admin.
    expect((await api(server, 'POST', `${P}/invites`, { ...withKey(writer.secret), json: {} })).status).toBe(403);
    expect((await api(server, 'POST', `${P}/invites`, { ...withKey(boss.secret), json: {} })).status).toBe(201);
    expect((await api(server, 'GET', `${P}/api-keys`, withKey(boss.secret))).status).toBe(200);
  });

  it('revoked: refused at once, and stays listed as revoked', async () => {
    const { admin } = await tenant(server, 0);
    const key = await apiKey(server, admin, ['write']);
    expect((await api(server, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(200);
    expect((await api(server, 'DELETE', `${P}/api-keys/${key.id}`, { token: admin.token })).status).toBe(204);
    const after = await api(server, 'GET', `${P}/me`, withKey(key.secret));
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ detail: 'Not authenticated', code: 'not_authenticated' });
    expect((await api(server, 'GET', `${P}/me`, withKey(key.secret, 'header'))).status).toBe(401);
    const listed = await api(server, 'GET', `${P}/api-keys`, { token: admin.token });
    expect(listed.body[0].revoked_at).not.toBeNull();
    // Unknown and malformed keys: the same 401.
    expect((await api(server, 'GET', `${P}/me`, withKey('pk_' + 'A'.repeat(43)))).status).toBe(401);
    expect((await api(server, 'GET', `${P}/me`, withKey('nonsense', 'header'))).status).toBe(401);
  });

  it('last_used_at is written at most once a minute per key', async () => {
    const { admin } = await tenant(server, 0);
    const key = await apiKey(server, admin, ['read']);
    const store = sqlStoreOf(server);
    const { secretDigest } = await import('../../src/core/accounts/api-keys.js');
    const digest = secretDigest(key.secret);
    expect((await api(server, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(200);
    const first = (await store.apiKeyBySecretHash(digest))!.lastUsedAt;
    expect(first).not.toBeNull();
    for (let i = 0; i < 3; i++) expect((await api(server, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(200);
    expect((await store.apiKeyBySecretHash(digest))!.lastUsedAt).toBe(first);
    // A minute later (as the row says), the next use writes again.
    await store.touchApiKey(row(await store.apiKeyBySecretHash(digest)).id, first! - 61_000, Number.MAX_SAFE_INTEGER);
    expect((await api(server, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(200);
    expect((await store.apiKeyBySecretHash(digest))!.lastUsedAt).toBeGreaterThanOrEqual(first!);
  });

  it('property: after any sequence of creates, revocations and uses by admins, members and other tenants, a key works exactly while it exists unrevoked, only in its tenant and within its scopes; no answer after creation holds a secret', async () => {
    type Actor = 0 | 1 | 2; // admin of A, member of A, admin of B
    type Action =
      | { kind: 'create'; by: Actor; scopes: Scope[] }
      | { kind: 'revoke'; by: Actor; key: number }
      | { kind: 'use'; key: number; write: boolean; as: 'bearer' | 'header' }
      | { kind: 'list'; by: Actor };
    const actor = fc.constantFrom<Actor>(0, 1, 2);
    const scopes = fc.subarray<Scope>(['read', 'write', 'admin'], { minLength: 1 });
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), by: actor, scopes }),
      fc.record({ kind: fc.constant('revoke' as const), by: actor, key: fc.nat(20) }),
      fc.record({ kind: fc.constant('use' as const), key: fc.nat(20), write: fc.boolean(), as: fc.constantFrom<'bearer' | 'header'>('bearer', 'header') }),
      fc.record({ kind: fc.constant('use' as const), key: fc.nat(20), write: fc.boolean(), as: fc.constantFrom<'bearer' | 'header'>('bearer', 'header') }),
      fc.record({ kind: fc.constant('list' as const), by: actor }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const a = await tenant(server, 1);
        const b = await tenant(server, 0);
        const people = [a.admin, a.members[0], b.admin];
        const tenantOf = (x: Actor) => (x === 2 ? 'B' : 'A');
        const keys: { id: string; secret: string; tenant: 'A' | 'B'; scopes: Scope[]; revoked: boolean; botId: number }[] = [];
        for (const act of actions) {
          if (act.kind === 'create') {
            const r = await api(server, 'POST', `${P}/api-keys`, { token: people[act.by].token, json: { name: 'k', scopes: act.scopes } });
            expect(r.status, JSON.stringify(r.body)).toBe(act.by === 1 ? 403 : 201);
            if (r.status === 201) keys.push({ id: r.body.id, secret: r.body.secret, tenant: tenantOf(act.by), scopes: act.scopes, revoked: false, botId: r.body.bot.id });
            continue;
          }
          if (act.kind === 'list') {
            const r = await api(server, 'GET', `${P}/api-keys`, { token: people[act.by].token });
            if (act.by === 1) {
              expect(r.status).toBe(403);
              continue;
            }
            expect(r.status).toBe(200);
            const mine = keys.filter((k) => k.tenant === tenantOf(act.by));
            expect(r.body.map((k) => k.id).sort()).toEqual(mine.map((k) => k.id).sort());
            for (const k of r.body) expect(k.revoked_at !== null).toBe(mine.find((m) => m.id === k.id)!.revoked);
            for (const k of keys) expect(JSON.stringify(r.body)).not.toContain(k.secret);
            continue;
          }
          const k = keys[act.key % Math.max(1, keys.length)];
          if (!k) continue;
          if (act.kind === 'revoke') {
            const r = await api(server, 'DELETE', `${P}/api-keys/${k.id}`, { token: people[act.by].token });
            const expected = act.by === 1 ? 403 : tenantOf(act.by) !== k.tenant ? 404 : 204;
            expect(r.status).toBe(expected);
            if (expected === 204) k.revoked = true;
            continue;
          }
          // A use: a read (GET /me) or a write (PUT /presence, which anyone may).
          const r = act.write
            ? await api(server, 'PUT', `${P}/presence`, { ...withKey(k.secret, act.as), json: { status: 'busy' } })
            : await api(server, 'GET', `${P}/me`, withKey(k.secret, act.as));
          const canWrite = k.scopes.includes('write') || k.scopes.includes('admin');
          const expected = k.revoked ? 401 : act.write && !canWrite ? 403 : act.write ? 204 : 200;
          expect(r.status, JSON.stringify({ act, k, body: r.body })).toBe(expected);
          if (expected === 200) expect(r.body).toMatchObject({ id: k.botId, is_bot: true });
          if (r.body) for (const other of keys) expect(JSON.stringify(r.body)).not.toContain(other.secret);
        }
      }),
      { numRuns: 8, seed: 1919, endOnFailure: true },
    );
  });
});

const row = <T>(x: T | undefined): T => {
  if (x === undefined) throw new Error('missing row');
  return x;
};
