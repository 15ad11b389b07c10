import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, type TestUser, sleep } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';

// Issue 14 item 3, as an invariant: under any interleaving of creating, using (alone or
// several at once), revoking and letting invites expire, an invite admits at most one user,
// only into its tenant, only before it expires or is revoked, and (when bound) only with its
// e-mail; everything the oracle can decide is decided exactly as it says.

type Action =
  | { kind: 'create'; tenant: number; short: boolean; bound: boolean }
  | { kind: 'use'; invite: number; tenant: 'own' | 'other' | 'none'; email: 'bound' | 'other' }
  | { kind: 'race'; invite: number; size: number }
  | { kind: 'revoke'; invite: number }
  | { kind: 'expire'; invite: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), tenant: fc.nat(1), short: fc.boolean(), bound: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('use' as const), invite: fc.nat(5), tenant: fc.constantFrom('own' as const, 'other' as const, 'none' as const), email: fc.constantFrom('bound' as const, 'other' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('race' as const), invite: fc.nat(5), size: fc.integer({ min: 2, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), invite: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), invite: fc.nat(5) }) },
);

interface Known {
  id: string;
  code: string;
  tenant: number;
  email: string | null;
  expiresAt: number;
  /** Revoked by a request answered before now. */
  revoked: boolean;
  /** Users it admitted (the invariant: at most one). */
  admitted: { id: number; tenantId: string }[];
}

describe.each(databases)('invites as an invariant (fast-check) on %s', (db) => {
  const server = useParley({ db, env: { REGISTRATION: '' } });

  it('at most one user per invite, only into its tenant, only before expiry and revocation', { timeout: 300_000 }, async () => {
    let run = 0;
    let emails = 0;
    const freshEmail = () => `inv${++emails}-${process.pid}-${run}@example.com`;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 10 }), async (actions) => {
        run++;
        // Two tenants of this run, each with its admin (their first user).
        const tenants = [randomUUID(), randomUUID()];
        const admins: TestUser[] = [];
        for (const t of tenants) {
          const r = await api(server, 'POST', '/api/auth/register', { json: { email: freshEmail(), password: 'correct horse', name: 'Admin', tenant_id: t } });
          expect(r.status).toBe(201);
          admins.push({ token: r.body.access_token, user: r.body.user, password: 'correct horse' });
        }
        const invites: Known[] = [];
        const pick = (i: number) => (invites.length === 0 ? undefined : invites[i % invites.length]);

        const use = async (inv: Known, tenant: 'own' | 'other' | 'none', email: 'bound' | 'other') => {
          const body: Record<string, unknown> = { email: email === 'bound' && inv.email ? inv.email : freshEmail(), password: 'correct horse', name: 'Invitee', invite: inv.code };
          if (tenant !== 'none') body.tenant_id = tenant === 'own' ? tenants[inv.tenant] : tenants[1 - inv.tenant];
          const sentAt = Date.now();
          const r = await api(server, 'POST', '/api/auth/register', { json: body });
          const answeredAt = Date.now();
          expect([201, 403, 409], JSON.stringify(r.body)).toContain(r.status);
          if (r.status === 201) inv.admitted.push({ id: r.body.user.id, tenantId: r.body.user.tenant_id });
          return { r, sentAt, answeredAt, matches: tenant !== 'other' && (inv.email === null || body.email === inv.email) };
        };

        for (const a of actions) {
          if (a.kind === 'create') {
            if (invites.length >= 6) continue;
            const email = a.bound ? freshEmail() : null;
            const r = await api(server, 'POST', '/api/auth/invites', { token: admins[a.tenant].token, json: { ttl_seconds: a.short ? 1 : 3600, email } });
            expect(r.status).toBe(201);
            invites.push({ id: r.body.id, code: r.body.code, tenant: a.tenant, email, expiresAt: Date.parse(r.body.expires_at), revoked: false, admitted: [] });
          } else if (a.kind === 'use') {
            const inv = pick(a.invite);
            if (!inv) continue;
            const before = inv.admitted.length;
            const { r, sentAt, answeredAt, matches } = await use(inv, a.tenant, a.email);
            // What the oracle knows for certain.
            if (!matches || inv.revoked || before > 0 || sentAt >= inv.expiresAt) expect(r.status, JSON.stringify(a)).toBe(403);
            else if (answeredAt < inv.expiresAt) expect(r.status, JSON.stringify(a)).toBe(201);
          } else if (a.kind === 'race') {
            const inv = pick(a.invite);
            if (!inv) continue;
            const before = inv.admitted.length;
            const results = await Promise.all(Array.from({ length: a.size }, () => use(inv, 'none', 'bound')));
            const admitted = results.filter((x) => x.r.status === 201).length;
            expect(admitted).toBeLessThanOrEqual(1);
            if (inv.revoked || before > 0 || results.every((x) => x.sentAt >= inv.expiresAt)) expect(admitted).toBe(0);
            else if (results.every((x) => x.answeredAt < inv.expiresAt)) expect(admitted).toBe(1);
          } else if (a.kind === 'revoke') {
            const inv = pick(a.invite);
            if (!inv) continue;
            const r = await api(server, 'DELETE', `/api/auth/invites/${inv.id}`, { token: admins[inv.tenant].token });
            expect(r.status).toBe(200);
            expect(r.body.status).toBe(inv.admitted.length > 0 ? 'used' : 'revoked');
            // Another tenant's admin cannot touch it.
            expect((await api(server, 'DELETE', `/api/auth/invites/${inv.id}`, { token: admins[1 - inv.tenant].token })).status).toBe(404);
            if (inv.admitted.length === 0) inv.revoked = true;
          } else {
            const inv = pick(a.invite);
            if (!inv || inv.expiresAt - Date.now() > 1500) continue;
            while (Date.now() <= inv.expiresAt) await sleep(25);
          }
        }

        // The invariant, and the server's own account of each invite.
        for (const t of [0, 1]) {
          const list = await api(server, 'GET', '/api/auth/invites', { token: admins[t].token });
          expect(list.status).toBe(200);
          const mine = invites.filter((i) => i.tenant === t);
          expect(list.body.invites.map((i: { id: string }) => i.id).sort()).toEqual(mine.map((i) => i.id).sort());
          for (const inv of mine) {
            expect(inv.admitted.length, inv.id).toBeLessThanOrEqual(1);
            for (const u of inv.admitted) expect(u.tenantId).toBe(tenants[inv.tenant]);
            const row = list.body.invites.find((i: { id: string }) => i.id === inv.id);
            if (inv.admitted.length === 1) expect(row).toMatchObject({ status: 'used', used_by: inv.admitted[0].id });
            else expect(row.status).not.toBe('used');
            if (inv.revoked) expect(row.status).toBe('revoked');
          }
        }
      }),
      { numRuns: Number(process.env.INVITE_RUNS ?? 12), seed: process.env.INVITE_SEED ? Number(process.env.INVITE_SEED) : undefined },
    );
  });
});
