import { beforeAll, describe, expect, it } from 'vitest';
import { api, cookieOf, newUser, type TestUser } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';

// Issue 14 item 13, login CSRF: a page on another site posts a form to /api/auth/login with
// the attacker's credentials; the answer's cookie then authenticates the visitor's sockets
// as the attacker (what they type goes to the attacker's account). Login and registration
// refuse a request whose Origin is neither the server's own nor an allowed one, and the
// cookie is SameSite=Strict.


describe('login CSRF', () => {
  const server = useParley({ env: { ALLOWED_ORIGINS: 'http://app.example' } });
  const open = useParley({ env: { ALLOWED_ORIGINS: '*' } });
  let attacker: TestUser;
  beforeAll(async () => {
    attacker = await newUser(server, { name: 'Attacker' });
  });

  /** What a cross-site HTML form sends: urlencoded, with the page's Origin. */
  const formLogin = (s: TestServer, origin: string | undefined, u: TestUser, path = '/api/auth/login') =>
    api(s, 'POST', path, { form: { email: u.user.email, password: u.password }, headers: origin ? { origin } : {} });

  it('a cross-site form posting credentials to login is refused: 403 {"detail"}, no cookie', async () => {
    const r = await formLogin(server, 'http://evil.example', attacker);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ detail: 'Origin not allowed' });
    expect(r.headers.get('set-cookie')).toBeNull();
    // A sandboxed page or a data: URL sends Origin: null.
    expect((await formLogin(server, 'null', attacker)).status).toBe(403);
  });

  it('registration and the Parley API are refused the same way', async () => {
    const reg = await api(server, 'POST', '/api/auth/register', {
      form: { email: `csrf-${Date.now()}@example.com`, password: 'correct horse', name: 'X' },
      headers: { origin: 'http://evil.example' },
    });
    expect(reg.status).toBe(403);
    expect(reg.headers.get('set-cookie')).toBeNull();
    const parley = await api(server, 'POST', '/api/parley/auth/login', { json: { email: attacker.user.email, password: attacker.password }, headers: { origin: 'http://evil.example' } });
    expect(parley.status).toBe(403);
    expect(parley.body).toEqual({ detail: 'Origin not allowed', code: 'origin_not_allowed' });
  });

  it("the server's own origin, an allowed origin and clients without Origin log in, and get the cookie", async () => {
    for (const origin of [server.url, 'http://app.example', undefined]) {
      const r = await formLogin(server, origin, attacker);
      expect(r.status, String(origin)).toBe(200);
      expect(cookieOf(r.headers.get('set-cookie')), String(origin)).toBe(r.body.access_token);
      expect(r.headers.get('set-cookie')).toMatch(/SameSite=Strict/i);
    }
  });

  it('with ALLOWED_ORIGINS=*, any page may log in (it gets the token in the body) but never the cookie', async () => {
    const u = await newUser(open);
    const r = await formLogin(open, 'http://evil.example', u);
    expect(r.status).toBe(200);
    expect(r.headers.get('set-cookie')).toBeNull();
    // So the visitor's own page on the server's origin keeps its own session.
    const own = await formLogin(open, open.url, u);
    expect(cookieOf(own.headers.get('set-cookie'))).toBe(own.body.access_token);
  });
});
