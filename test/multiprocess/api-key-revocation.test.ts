import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { useTwoProcesses } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';
import { P, apiKey, tenant, withKey } from '../bots/support.js';

/**
 * An API key revoked through one process is refused by the other at once: no process keeps
 * a key it was shown, so the next request through B after A answered 204 fails.
 */
describe.skipIf(!hasPostgres || !process.env.REDIS_URL)('API key revocation holds on every process at once', () => {
  const [a, b] = useTwoProcesses({ REGISTRATION: 'open' });

  it('revoked on A: the very next request through B, read or write, is 401', async () => {
    const { admin } = await tenant(a, 0);
    const key = await apiKey(a, admin, ['write']);
    // Used through B first, so B has seen it (and written its last use).
    expect((await api(b, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(200);
    expect((await api(b, 'PUT', `${P}/presence`, { ...withKey(key.secret, 'header'), json: { status: 'away' } })).status).toBe(204);
    expect((await api(a, 'DELETE', `${P}/api-keys/${key.id}`, { token: admin.token })).status).toBe(204);
    expect((await api(b, 'GET', `${P}/me`, withKey(key.secret))).status).toBe(401);
    expect((await api(b, 'PUT', `${P}/presence`, { ...withKey(key.secret, 'header'), json: { status: 'online' } })).status).toBe(401);
    const listed = await api(b, 'GET', `${P}/api-keys`, { token: admin.token });
    expect(listed.body[0]).toMatchObject({ id: key.id });
    expect(listed.body[0].revoked_at).not.toBeNull();
    expect(listed.body[0].last_used_at).not.toBeNull();
  });
});
