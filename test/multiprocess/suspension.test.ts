import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { useTwoProcesses } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';
import { apiKey, tenant, withKey } from '../bots/support.js';
import { P, adminCall, parleySocket, within } from '../admin/support.js';

/**
 * A suspension through one process ends the user's sessions on every process at once: their
 * sockets on both close (before a 1 s deadline), their tokens and the API keys they made are
 * refused through the other process, they cannot log in; reactivated, they log in again.
 */
describe.skipIf(!hasPostgres || !process.env.REDIS_URL)('suspension holds on every process at once', () => {
  const [a, b] = useTwoProcesses({ REGISTRATION: 'open' });

  it("suspended on A: the user's sockets on A and B close, nothing of theirs works through B; reactivated, they log in", async () => {
    const { admin, members: [bob, carol] } = await tenant(a, 2);
    // Carol is a second admin with a key of her own.
    await adminCall(a, admin, 'PUT', `/users/${carol.user.id}/role`, 200, { role: 'admin' });
    const key = await apiKey(a, carol, ['write']);
    expect((await api(b, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(200);

    const sockets = [await parleySocket(a, bob), await parleySocket(b, bob), await parleySocket(b, carol)];
    const bystander = await parleySocket(b, admin);
    const suspended = await adminCall(a, admin, 'POST', `/users/${bob.user.id}/suspend`, 200, { reason: 'spam' });
    expect(suspended.suspended_at).not.toBeNull();
    await adminCall(a, admin, 'POST', `/users/${carol.user.id}/suspend`, 200, {});
    for (const s of sockets) expect((await within(s.closed, 1000, 'socket close')).code).toBe(4001);

    expect((await api(b, 'GET', `${P}/me`, { token: bob.token })).status).toBe(401);
    expect((await api(b, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(403);
    const login = await api(b, 'POST', `${P}/auth/login`, { json: { email: bob.user.email, password: bob.password, tenant_id: bob.user.tenant_id } });
    expect(login.status).toBe(403);
    expect(login.body).toMatchObject({ code: 'not_permitted', detail: 'This account is suspended' });
    // Others are untouched.
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    expect((await api(b, 'GET', `${P}/me`, { token: admin.token })).status).toBe(200);

    await adminCall(b, admin, 'POST', `/users/${bob.user.id}/reactivate`, 200);
    const again = await api(a, 'POST', `${P}/auth/login`, { json: { email: bob.user.email, password: bob.password, tenant_id: bob.user.tenant_id } });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    const back = await parleySocket(b, { token: again.body.token });
    back.close();
    bystander.close();
  });
});
