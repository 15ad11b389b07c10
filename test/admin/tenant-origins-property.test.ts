import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { tenant } from '../bots/support.js';
import { P, adminCall } from './support.js';

// A tenant's allowed_origins (issue 20) as an invariant, over real HTTP and sockets: whatever
// the tenants' lists are (none: ALLOWED_ORIGINS) and however they change between requests, a
// browser request is served iff its page is the server's own or in the list in force for its
// caller's tenant at that moment. The examples are in tenant-origins.test.ts.
//
// "Served" is what a browser page gets to use: REST answered 2xx with its origin in
// Access-Control-Allow-Origin (the server's own page needs none), a socket that opens (token in
// the URL) or says `ready` (token in the first frame), a login or registration that succeeds.
// A preflight carries no token: it is answered for a page the server or any tenant lists, and
// the request it announces is then decided by the caller's tenant.

const OPERATORS = 'https://operator.example.test';
const EVIL = 'https://evil.example.test';
/** Three named tenants, and the default one (whose login and registration name no tenant). */
const TENANTS = 4;
const PAGES = Array.from({ length: TENANTS }, (_, i) => `https://tenant-${i}.example.test`);
/** Socket paths that take `?token=`: Parley's own, documents 000/001's. */
const SOCKETS = [`${P}/ws`, '/api/chat/ws'];
/** What a tenant's admins may list. */
const LISTABLE = [OPERATORS, EVIL, ...PAGES];

type Origin = string | undefined;
type Action =
  | { kind: 'list'; t: number; list: string[] | null; origin: number }
  | { kind: 'rest' | 'login' | 'register' | 'frameSocket'; t: number; origin: number }
  | { kind: 'urlSocket'; t: number; origin: number; dialect: number }
  | { kind: 'preflight'; origin: number };

const list = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant([] as string[]) },
  { weight: 4, arbitrary: fc.subarray(LISTABLE, { minLength: 1 }) },
);
const t = fc.nat(TENANTS - 1);
/** An index into the origins of a run: the listable ones, the server's own, and none (not a browser). */
const origin = fc.nat(LISTABLE.length + 1);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('list' as const), t, list, origin }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('rest' as const), t, origin }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('preflight' as const), origin }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('urlSocket' as const), t, origin, dialect: fc.nat(SOCKETS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('frameSocket' as const), t, origin }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('login' as const), t, origin }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('register' as const), t, origin }) },
);

/** The status that refuses an upgrade, or 101 once the socket is open. */
const upgrade = (url: string, origin: Origin) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(url, { headers: origin ? { origin } : {} });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', () => resolve(0));
  });

/** A socket whose token comes in its first frame: 'ready', or why not (the upgrade's status, or the close code). */
const firstFrame = (url: string, origin: Origin, token: string) =>
  new Promise<string>((resolve) => {
    const ws = new WebSocket(url, { headers: origin ? { origin } : {} });
    const done = (verdict: string) => {
      resolve(verdict);
      ws.terminate();
    };
    ws.once('unexpected-response', (_req, res) => done(`upgrade ${res.statusCode}`));
    ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type?: string }).type === 'ready') done('ready');
    });
    ws.once('close', (code) => done(`closed ${code}`));
    ws.once('error', () => done('error'));
  });

describe.each(databases)("property: a tenant's allowed origins on %s", (db) => {
  const server = useParley({ db, env: { ALLOWED_ORIGINS: OPERATORS, REGISTRATION: 'open' } });
  /** tenantId undefined: the default tenant, whose first account (this one: a fresh database) is its admin. */
  const tenants: { admin: TestUser; member: TestUser; tenantId: string | undefined }[] = [];
  beforeAll(async () => {
    const defaultAdmin = await newUser(server);
    for (let i = 0; i < TENANTS - 1; i++) {
      const made = await tenant(server, 1);
      tenants.push({ admin: made.admin, member: made.members[0], tenantId: made.tenantId });
    }
    tenants.push({ admin: defaultAdmin, member: await newUser(server), tenantId: undefined });
  });

  it('a request is served iff its page is the server\'s own or in the list in force for its tenant, as the lists change', async () => {
    const own = server.url.toLowerCase();
    const origins: Origin[] = [...LISTABLE, own, undefined];
    await fc.assert(
      fc.asyncProperty(fc.array(list, { minLength: TENANTS, maxLength: TENANTS }), fc.array(action, { minLength: 1, maxLength: 10 }), async (initial, actions) => {
        const lists: (string[] | null)[] = [];
        for (const [i, l] of initial.entries()) {
          await adminCall(server, tenants[i].admin, 'PATCH', '/settings', 200, { allowed_origins: l });
          lists[i] = l;
        }
        /** The list in force for tenant i: its own when it names any, else ALLOWED_ORIGINS. */
        const inForce = (i: number) => (lists[i] && lists[i].length > 0 ? lists[i] : [OPERATORS]);
        const allowed = (i: number, o: Origin) => o === undefined || o === own || inForce(i).includes(o);
        /** A page a browser uses this answer on: same-origin, or granted by CORS. */
        const usable = (r: { headers: Headers }, o: Origin) => o === undefined || o === own || r.headers.get('access-control-allow-origin') === o;
        const headers = (o: Origin): Record<string, string> => (o ? { origin: o } : {});

        for (const a of actions) {
          const o = origins[a.origin];
          const why = `${a.kind} from ${o ?? 'no origin'}${'t' in a ? ` for tenant ${a.t} (list ${JSON.stringify(lists[a.t])})` : ''}`;
          if (a.kind === 'preflight') {
            // Browsers preflight only a cross-origin request.
            if (o === undefined || o === own) continue;
            const r = await fetch(`${server.url}${P}/me`, { method: 'OPTIONS', headers: { origin: o, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
            const some = [OPERATORS, ...lists.flatMap((l) => l ?? [])].includes(o);
            expect([r.status, r.headers.get('access-control-allow-origin')], why).toEqual(some ? [204, o] : [403, null]);
            continue;
          }
          const { member, tenantId } = tenants[a.t];
          const want = allowed(a.t, o);
          if (a.kind === 'rest' || a.kind === 'list') {
            // A read as a member, or a write as the admin: the change of the tenant's own list, from a page.
            const r =
              a.kind !== 'list'
                ? await api(server, 'GET', `${P}/me`, { token: member.token, headers: headers(o) })
                : await api(server, 'PATCH', `${P}/admin/settings`, { token: tenants[a.t].admin.token, json: { allowed_origins: a.list }, headers: headers(o) });
            expect(r.status === 200 && usable(r, o), `${why}: ${r.status}`).toBe(want);
            // A tenant's own list refuses; ALLOWED_ORIGINS only withholds CORS (a browser's
            // preflight, refused, keeps such a write from being sent at all).
            if (!want) expect(r.status, why).toBe(lists[a.t]?.length ? 403 : 200);
            if (a.kind === 'list' && r.status === 200) lists[a.t] = a.list;
          } else if (a.kind === 'urlSocket') {
            const url = `${server.wsUrl}${SOCKETS[a.dialect]}?token=${encodeURIComponent(member.token)}`;
            expect(await upgrade(url, o), `${why} on ${SOCKETS[a.dialect]}`).toBe(want ? 101 : 403);
          } else if (a.kind === 'frameSocket') {
            const verdict = await firstFrame(`${server.wsUrl}${P}/ws`, o, member.token);
            expect(verdict === 'ready', `${why}: ${verdict}`).toBe(want);
          } else if (a.kind === 'login') {
            const r = await api(server, 'POST', '/api/auth/login', { json: { email: member.user.email, password: member.password, ...(tenantId ? { tenant_id: tenantId } : {}) }, headers: headers(o) });
            expect(r.status === 200 && usable(r, o), `${why}: ${r.status}`).toBe(want);
            if (!want) expect(r.status, why).toBe(403);
          } else {
            const account = { email: `${randomUUID().slice(0, 8)}@example.com`, password: 'long-enough-password', name: 'Newcomer', ...(tenantId ? { tenant_id: tenantId } : {}) };
            const r = await api(server, 'POST', `${P}/auth/register`, { json: account, headers: headers(o) });
            expect(r.status === 201 && usable(r, o), `${why}: ${r.status}`).toBe(want);
            if (!want) expect(r.status, why).toBe(403);
          }
        }
      }),
      { numRuns: process.env.CI ? 15 : Number(process.env.FC_RUNS ?? 40), seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined },
    );
  }, 300_000);
});
