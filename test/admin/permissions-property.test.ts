// Administration's rules as a property (issue 20): after any sequence of suspensions,
// reactivations, role changes and user listings by the admins, members and an operator of
// several tenants, every action succeeded or was refused as a small model says — so no member
// performed an admin action, no tenant admin touched another tenant, only the operator
// crossed tenants — every tenant still has an active admin, and a suspended user can do nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, type TestUser } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { tenant } from '../bots/support.js';
import { ADMIN, P } from './support.js';

type Kind = 'suspend' | 'reactivate' | 'make_admin' | 'make_member' | 'list_users';
interface Action {
  kind: Kind;
  actor: number;
  target: number;
}
interface Person {
  tenant: number;
  role: 'admin' | 'member';
  suspended: boolean;
  operator: boolean;
}

/** Who is who, as the rules of src/core/accounts/authority.ts and AdminStore say. */
class Model {
  constructor(readonly people: Person[]) {}

  #administers = (actor: Person, tenant: number) => !actor.suspended && (actor.operator || (actor.role === 'admin' && actor.tenant === tenant));
  #activeAdmins = (tenant: number) => this.people.filter((p) => p.tenant === tenant && p.role === 'admin' && !p.suspended).length;

  /** Applies the action; the status the server must answer (any 4xx is `4xx`). */
  apply({ kind, actor, target }: Action): 200 | 400 | '4xx' {
    const [a, t] = [this.people[actor], this.people[target]];
    if (!this.#administers(a, t.tenant)) return '4xx';
    const lastAdmin = t.role === 'admin' && !t.suspended && this.#activeAdmins(t.tenant) === 1;
    switch (kind) {
      case 'list_users':
        return 200;
      case 'suspend':
        if (actor === target) return '4xx';
        if (lastAdmin) return 400;
        t.suspended = true;
        return 200;
      case 'reactivate':
        t.suspended = false;
        return 200;
      case 'make_admin':
        t.role = 'admin';
        return 200;
      case 'make_member':
        if (lastAdmin) return 400;
        t.role = 'member';
        return 200;
    }
  }
}

const PEOPLE = 6;
const action = fc.record({
  kind: fc.constantFrom<Kind>('suspend', 'suspend', 'reactivate', 'make_admin', 'make_member', 'list_users'),
  actor: fc.nat(PEOPLE - 1),
  target: fc.nat(PEOPLE - 1),
});

describe.each(databases)('administration permissions, any history of admin actions, on %s', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });

  /** Tenant 0: an admin and two members; tenant 1: an admin and a member; tenant 2: an operator. */
  async function cast(s: TestServer): Promise<{ users: TestUser[]; tenants: string[]; model: Model }> {
    const t0 = await tenant(s, 2);
    const t1 = await tenant(s, 1);
    const t2 = await tenant(s, 0);
    await s.parley.core.accounts.setOperator({ email: t2.admin.user.email, tenantUuid: t2.tenantId }, true);
    const users = [t0.admin, ...t0.members, t1.admin, ...t1.members, t2.admin];
    const tenantOf = [0, 0, 0, 1, 1, 2];
    const model = new Model(users.map((_, i) => ({ tenant: tenantOf[i], role: i === 0 || i === 3 || i === 5 ? 'admin' : 'member', suspended: false, operator: i === 5 })));
    return { users, tenants: [t0.tenantId, t1.tenantId, t2.tenantId], model };
  }

  function perform(users: TestUser[], tenants: string[], model: Model, { kind, actor, target }: Action) {
    const [me, them] = [users[actor], users[target]];
    const opts = { token: me.token };
    if (kind === 'list_users') return api(server, 'GET', `${ADMIN}/users?tenant=${tenants[model.people[target].tenant]}`, opts);
    if (kind === 'suspend') return api(server, 'POST', `${ADMIN}/users/${them.user.id}/suspend`, { ...opts, json: { reason: 'property' } });
    if (kind === 'reactivate') return api(server, 'POST', `${ADMIN}/users/${them.user.id}/reactivate`, opts);
    return api(server, 'PUT', `${ADMIN}/users/${them.user.id}/role`, { ...opts, json: { role: kind === 'make_admin' ? 'admin' : 'member' } });
  }

  it('every action is allowed or refused as the model says; every tenant keeps an active admin; a suspended user can do nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 10 }), async (actions) => {
        const { users, tenants, model } = await cast(server);
        for (const a of actions) {
          const wasSuspended = model.people[a.target].suspended;
          const expected = model.apply(a);
          const res = await perform(users, tenants, model, a);
          const where = `${a.kind} by ${a.actor} of ${a.target}: ${res.status} ${JSON.stringify(res.body)} after ${JSON.stringify(actions)}`;
          if (expected === '4xx') {
            expect(res.status, where).toBeGreaterThanOrEqual(400);
            expect(res.status, where).toBeLessThan(500);
          } else expect(res.status, where).toBe(expected);
          // Reactivated: their old tokens stay revoked, they sign in again.
          if (a.kind === 'reactivate' && expected === 200 && wasSuspended) {
            const login = await api(server, 'POST', `${P}/auth/login`, { json: { email: users[a.target].user.email, password: users[a.target].password, tenant_id: users[a.target].user.tenant_id } });
            expect(login.status, where).toBe(200);
            users[a.target] = { ...users[a.target], token: login.body.token };
          }
        }
        const store = server.parley.core.deps.store;
        for (let t = 0; t < tenants.length; t++) {
          const tenantRow = (await store.tenantByUuid(tenants[t]))!;
          const rows = await store.tenantUsers(tenantRow.id, { after: 0, limit: 10 });
          expect(rows.filter((u) => u.tenantRole === 'admin' && u.suspendedAt === null).length, `tenant ${t}`).toBeGreaterThanOrEqual(1);
          for (const u of rows) {
            const i = users.findIndex((x) => x.user.id === u.id);
            expect({ role: u.tenantRole, suspended: u.suspendedAt !== null }, `user ${i}`).toEqual({ role: model.people[i].role, suspended: model.people[i].suspended });
          }
        }
        for (let i = 0; i < PEOPLE; i++) {
          const me = await api(server, 'GET', `${P}/me`, { token: users[i].token });
          // What the web client offers the admin section by: the role and operator flag in force.
          if (!model.people[i].suspended) {
            expect({ status: me.status, role: me.body.tenant_role, operator: me.body.is_operator }, `me ${i}`).toEqual({ status: 200, role: model.people[i].role, operator: model.people[i].operator });
            continue;
          }
          expect(me.status, `suspended ${i}`).toBe(401);
          const login = await api(server, 'POST', `${P}/auth/login`, { json: { email: users[i].user.email, password: users[i].password, tenant_id: users[i].user.tenant_id } });
          expect(login.status, `suspended ${i} logs in`).toBe(403);
        }
      }),
      { numRuns: db === 'sqlite' ? 12 : 6, seed: 20_20 },
    );
  });
});
