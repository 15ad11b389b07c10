import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, type TestUser } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { newTenant, WEBHOOK_TEST_ENV } from './support.js';

// Issue 19's rule, as an invariant: after any sequence of creating, listing, reading,
// changing, disabling and deleting endpoints by a tenant's admin, a member of that tenant
// and another tenant's admin, only the tenant's admin ever created, saw or altered one of
// its endpoints, the secret was shown only in the creation's answer, and the endpoints are
// exactly those the admins created and did not delete.

type Who = 'admin' | 'member' | 'otherAdmin';
type Action =
  | { kind: 'create'; who: Who }
  | { kind: 'list'; who: Who }
  | { kind: 'get' | 'disable' | 'enable' | 'rename' | 'delete'; who: Who; target: number };

const who = fc.constantFrom<Who>('admin', 'member', 'otherAdmin');
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('list' as const), who }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constantFrom('get' as const, 'disable' as const, 'enable' as const, 'rename' as const, 'delete' as const), who, target: fc.nat(7) }) },
);

describe.each(databases)('webhook endpoints are their tenant admins\' alone (fast-check) on %s', (db) => {
  const server = useParley({ db, env: WEBHOOK_TEST_ENV });
  let actors: Record<Who, TestUser>;
  /** Which tenant each actor is of: 1 or 2. */
  const tenantOf: Record<Who, 1 | 2> = { admin: 1, member: 1, otherAdmin: 2 };

  beforeAll(async () => {
    const one = await newTenant(server);
    const two = await newTenant(server);
    actors = { admin: one.admin, member: one.member, otherAdmin: two.admin };
  });

  it('only the tenant\'s admin creates, sees or alters its endpoints, and sees the secret once', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        // Each run starts with no endpoints.
        for (const w of ['admin', 'otherAdmin'] as const) {
          for (const e of (await api(server, 'GET', '/api/parley/webhooks', { token: actors[w].token })).body) {
            expect((await api(server, 'DELETE', `/api/parley/webhooks/${e.id}`, { token: actors[w].token })).status).toBe(204);
          }
        }
        /** Every endpoint created in this run: its tenant, whether it is deleted, its description. */
        const known: { id: string; tenant: 1 | 2; deleted: boolean; enabled: boolean; description: string | null }[] = [];
        for (const a of actions) {
          const token = actors[a.who].token;
          const isAdmin = a.who !== 'member';
          if (a.kind === 'create') {
            const r = await api(server, 'POST', '/api/parley/webhooks', { token, json: { url: 'http://127.0.0.1:9/hook' } });
            if (!isAdmin) {
              expect([r.status, r.body.code]).toEqual([403, 'not_permitted']);
              continue;
            }
            expect(r.status).toBe(201);
            expect(r.body.secret).toMatch(/^whsec_/);
            known.push({ id: r.body.id!, tenant: tenantOf[a.who], deleted: false, enabled: true, description: null });
            continue;
          }
          if (a.kind === 'list') {
            const r = await api(server, 'GET', '/api/parley/webhooks', { token });
            if (!isAdmin) {
              expect(r.status).toBe(403);
              continue;
            }
            expect(r.status).toBe(200);
            expect(r.body.map((e) => e.id).sort()).toEqual(known.filter((k) => k.tenant === tenantOf[a.who] && !k.deleted).map((k) => k.id).sort());
            for (const e of r.body) expect(e).not.toHaveProperty('secret');
            continue;
          }
          const target = known.length === 0 ? undefined : known[a.target % known.length];
          const id = target?.id ?? 'we_none';
          const path = `/api/parley/webhooks/${id}`;
          const r =
            a.kind === 'get'
              ? await api(server, 'GET', path, { token })
              : a.kind === 'delete'
                ? await api(server, 'DELETE', path, { token })
                : await api(server, 'PATCH', path, { token, json: a.kind === 'rename' ? { description: `by ${a.who}` } : { enabled: a.kind === 'enable' } });
          // The member is refused outright; another tenant's admin finds nothing, as for a deleted one.
          if (!isAdmin) expect([r.status, r.body?.code]).toEqual([403, 'not_permitted']);
          else if (!target || target.deleted || target.tenant !== tenantOf[a.who]) expect([r.status, r.body?.code]).toEqual([404, 'webhook_not_found']);
          else if (a.kind === 'delete') {
            expect(r.status).toBe(204);
            target.deleted = true;
          } else {
            expect(r.status).toBe(200);
            expect(r.body).not.toHaveProperty('secret');
            if (a.kind === 'rename') target.description = `by ${a.who}`;
            if (a.kind === 'enable' || a.kind === 'disable') target.enabled = a.kind === 'enable';
            expect(r.body).toMatchObject({ id: target.id, enabled: target.enabled, description: target.description });
          }
        }
        // What each admin sees at the end is what the oracle holds, as it left it.
        for (const w of ['admin', 'otherAdmin'] as const) {
          const r = await api(server, 'GET', '/api/parley/webhooks', { token: actors[w].token });
          const live = known.filter((k) => k.tenant === tenantOf[w] && !k.deleted);
          expect(r.body.map((e) => ({ id: e.id, enabled: e.enabled, description: e.description }))).toEqual(live.map((k) => ({ id: k.id, enabled: k.enabled, description: k.description })));
        }
      }),
      { numRuns: 15, seed: 19 },
    );
  });
});
