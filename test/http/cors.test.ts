import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { PREFLIGHT_MAX_AGE_SECONDS } from '../../src/http/origins.js';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';
import { b64, closeRoom, download, fileEntry, image, onServer, room, sendFrom } from '../files/support.js';

// Issue 17, embedding on another origin: one setting, ALLOWED_ORIGINS, decides which pages on
// other origins may call REST (CORS), open sockets, and be trusted with the login cookie; the
// files Parley links to may be shown by any page that holds their signed URL.

const APP = 'https://app.example.test';
const OTHER = 'https://other.example.test';
const EVIL = 'https://evil.example.test';

/** Every Access-Control-* header of an answer, by lower-case name. */
const corsHeaders = (h: Headers) => Object.fromEntries([...h.entries()].filter(([k]) => k.startsWith('access-control-')));

/** What a browser sends before a request a page announces: OPTIONS with the method and headers. */
const preflight = (server: TestServer, p: string, origin: string, method: string, headers = 'authorization,content-type') =>
  fetch(server.url + p, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });

/** The HTTP status that refuses a handshake, or 101 when the socket opens. */
const handshake = (url: string, origin: string | undefined) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(url, { headers: origin ? { origin } : {} });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', () => {});
  });

describe('CORS on REST, from ALLOWED_ORIGINS', () => {
  let server: TestServer;
  let ada: TestUser;
  beforeAll(async () => {
    server = await startParley({ env: { ALLOWED_ORIGINS: `${APP}, ${OTHER}/` } });
    ada = await newUser(server);
  });
  afterAll(() => server.close());

  it('a preflight from an allowed origin is answered 204 with its origin, the methods and headers, cached for two hours', async () => {
    const res = await preflight(server, '/api/chat/rooms', APP, 'DELETE');
    expect(res.status).toBe(204);
    const h = corsHeaders(res.headers);
    expect(h['access-control-allow-origin']).toBe(APP);
    expect(h['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
    expect(h['access-control-allow-headers']).toBe('Authorization, Content-Type, Range');
    expect(h['access-control-max-age']).toBe(String(PREFLIGHT_MAX_AGE_SECONDS));
    expect(PREFLIGHT_MAX_AGE_SECONDS).toBeGreaterThanOrEqual(600);
    // REST reads the bearer token, never the cookie: no credentials here.
    expect(h['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.get('vary')).toMatch(/origin/i);
    // The second listed origin (written with a trailing slash) is the same.
    expect((await preflight(server, '/api/parley/conversations', OTHER, 'POST')).headers.get('access-control-allow-origin')).toBe(OTHER);
  });

  it('the request itself carries the page’s origin and exposes the headers clients read (Retry-After, the page cursor); errors too', async () => {
    const ok = await api(server, 'GET', '/api/auth/me', { token: ada.token, headers: { origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/Retry-After.*Parley-Next-Cursor/);
    // A page reads why it was refused.
    const refused = await api(server, 'GET', '/api/auth/me', { headers: { origin: APP } });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ detail: 'Not authenticated' });
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('a page on an origin not listed gets no CORS header at all; its preflight is 403 {"detail"}', async () => {
    const res = await preflight(server, '/api/chat/rooms', EVIL, 'GET');
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ detail: 'Origin not allowed' });
    expect(corsHeaders(res.headers)).toEqual({});
    const get = await api(server, 'GET', '/api/auth/me', { token: ada.token, headers: { origin: EVIL } });
    expect(corsHeaders(get.headers)).toEqual({});
    // A listed origin's look-alikes are other origins.
    for (const origin of ['http://app.example.test', 'https://app.example.test:8443', 'https://app.example.test.evil.example', 'null']) {
      expect((await preflight(server, '/api/chat/rooms', origin, 'GET')).status, origin).toBe(403);
    }
  });

  it('credentials only where the cookie is used: login, register, password and logout, for a listed origin', async () => {
    for (const p of ['/api/auth/login', '/api/auth/register', '/api/auth/password', '/api/auth/logout']) {
      const h = corsHeaders((await preflight(server, p, APP, 'POST', 'content-type')).headers);
      expect(h['access-control-allow-credentials'], p).toBe('true');
      expect(h['access-control-allow-origin'], p).toBe(APP);
    }
    // The login itself: the cookie is set and the page may read the answer of a credentialed fetch.
    const login = await api(server, 'POST', '/api/auth/login', { json: { email: ada.user.email, password: ada.password }, headers: { origin: APP } });
    expect(login.status).toBe(200);
    expect(login.headers.get('access-control-allow-credentials')).toBe('true');
    expect(login.headers.get('set-cookie')).toMatch(/^parley_token=/);
    // Everything else takes the bearer token: a page never needs credentials there.
    for (const p of ['/api/auth/me', '/api/parley/auth/login', '/api/chat/upload-files', '/static/chat_files/images/x.png']) {
      expect((await preflight(server, p, APP, 'POST')).headers.get('access-control-allow-credentials'), p).toBeNull();
    }
  });

  it('sockets: a listed origin, the server’s own and non-browsers open; any other origin is refused with 403 (every dialect)', async () => {
    const q = `token=${ada.token}`;
    for (const p of [`/api/chat/ws?${q}`, `/api/parley/ws?${q}`, `/api/v1/chat/ws/chat?${q}`, `/ws/chat/${ada.user.tenant_id}/?${q}`]) {
      for (const origin of [APP, OTHER, server.url, undefined]) expect(await handshake(server.wsUrl + p, origin), `${p} ${origin}`).toBe(101);
      for (const origin of [EVIL, 'null']) expect(await handshake(server.wsUrl + p, origin), `${p} ${origin}`).toBe(403);
    }
  });
});

describe('ALLOWED_ORIGINS=* and AUTH_COOKIE off', () => {
  let any: TestServer;
  let noCookie: TestServer;
  beforeAll(async () => {
    [any, noCookie] = await Promise.all([startParley({ env: { ALLOWED_ORIGINS: '*' } }), startParley({ env: { ALLOWED_ORIGINS: APP, AUTH_COOKIE: '' } })]);
  });
  afterAll(async () => {
    await any.close();
    await noCookie.close();
  });

  it('`*` answers any page with `*`, never with credentials, not even on login (no site is trusted with the cookie)', async () => {
    for (const p of ['/api/chat/rooms', '/api/auth/login']) {
      const h = corsHeaders((await preflight(any, p, EVIL, 'POST')).headers);
      expect(h['access-control-allow-origin'], p).toBe('*');
      expect(h['access-control-allow-credentials'], p).toBeUndefined();
    }
    expect(await handshake(`${any.wsUrl}/api/chat/ws?token=${(await newUser(any)).token}`, EVIL)).toBe(101);
  });

  it('without the cookie, no route carries credentials', async () => {
    const h = corsHeaders((await preflight(noCookie, '/api/auth/login', APP, 'POST')).headers);
    expect(h['access-control-allow-origin']).toBe(APP);
    expect(h['access-control-allow-credentials']).toBeUndefined();
  });
});

describe('ALLOWED_ORIGINS as configured', () => {
  const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: mkdtempSync(path.join(tmpdir(), 'parley-origins-')), JWT_SECRET: 'x'.repeat(40), ...env }).allowedOrigins;

  it('is read as browsers write origins; WS_ALLOWED_ORIGINS is its alias; a path or a conflict is refused with a message', () => {
    expect(load({ ALLOWED_ORIGINS: 'HTTPS://App.Example.test:443/, http://localhost:5173' })).toEqual(['https://app.example.test', 'http://localhost:5173']);
    expect(load({ WS_ALLOWED_ORIGINS: APP })).toEqual([APP]);
    expect(load({ ALLOWED_ORIGINS: APP, WS_ALLOWED_ORIGINS: `${APP}/` })).toEqual([APP]);
    expect(load({})).toEqual([]);
    expect(() => load({ ALLOWED_ORIGINS: 'https://app.example.test/chat' })).toThrow(ConfigError);
    expect(() => load({ ALLOWED_ORIGINS: 'app.example.test' })).toThrow(/not an origin/);
    expect(() => load({ ALLOWED_ORIGINS: APP, WS_ALLOWED_ORIGINS: OTHER })).toThrow(/both set/);
  });
});

describe('Cross-Origin-Resource-Policy', () => {
  let server: TestServer;
  let webDir: string;
  beforeAll(async () => {
    webDir = mkdtempSync(path.join(tmpdir(), 'parley-corp-'));
    writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>page</title>');
    server = await startParley({ env: { ALLOWED_ORIGINS: APP, WEB_DIR: webDir } });
  });
  afterAll(async () => {
    await server.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  it('a file is cross-origin (another site’s <img> may show its signed URL); the web client’s own files stay same-origin', async () => {
    const r = await room(server);
    const png = await image('png', 30, 20);
    const ack = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(png, 'p.png', 'image/png', { file_data: b64(png) })] });
    closeRoom(r);
    const signed = onServer(server, ack.data.files_data[0].file_path);
    const file = await download(server, signed, { origin: EVIL });
    expect(file.status).toBe(200);
    expect(file.bytes.equals(png)).toBe(true);
    expect(file.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    // The policy opens nothing by itself: without the signature (or a token) it is still 403.
    const unsigned = await download(server, new URL(signed).pathname);
    expect(unsigned.status).toBe(403);
    const page = await fetch(server.url + '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-resource-policy')).toBe('same-origin');
  });
});

describe('property: CORS is granted iff the origin is listed, and `*` never comes with credentials', () => {
  // One real server per origin list; the property picks a list and a sequence of requests,
  // each a page's origin, a route (with the cookie or not), a method, a cookie sent or not.
  const LISTS = [[], [APP], [APP, OTHER], ['*'], ['*', APP]];
  const servers: TestServer[] = [];
  beforeAll(async () => {
    servers.push(...(await Promise.all(LISTS.map((l) => startParley({ env: l.length ? { ALLOWED_ORIGINS: l.join(',') } : {} })))));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  const COOKIE_PATHS = ['/api/auth/login', '/api/auth/logout'];
  const OTHER_PATHS = ['/api/auth/me', '/api/chat/rooms', '/api/parley/conversations'];

  const request = fc.record({
    origin: fc.constantFrom(APP, OTHER, EVIL, 'null', 'http://app.example.test', 'own'),
    path: fc.constantFrom(...COOKIE_PATHS, ...OTHER_PATHS),
    kind: fc.constantFrom('preflight', 'request'),
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
    withCookie: fc.boolean(),
  });

  it('holds over lists and sequences of requests (origins, routes, methods, with and without a cookie)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: LISTS.length - 1 }), fc.array(request, { minLength: 1, maxLength: 6 }), async (which, requests) => {
        const server = servers[which];
        const list = LISTS[which];
        // One after another on one server: an earlier answer (a cached grant, another page's
        // origin) never changes a later one.
        for (const { origin: origin0, path: p, kind, method, withCookie } of requests) {
          const origin = origin0 === 'own' ? server.url : origin0;
          const headers: Record<string, string> = { origin };
          if (withCookie) headers.cookie = 'parley_token=whatever';
          if (kind === 'preflight') Object.assign(headers, { 'access-control-request-method': method, 'access-control-request-headers': 'authorization' });
          const res = await fetch(server.url + p, { method: kind === 'preflight' ? 'OPTIONS' : COOKIE_PATHS.includes(p) ? 'POST' : 'GET', headers });
          await res.arrayBuffer();
          const h = corsHeaders(res.headers);
          const listed = list.includes(origin);
          const allowed = listed || list.includes('*');
          if (!allowed) {
            expect(h).toEqual({});
            if (kind === 'preflight') expect(res.status).toBe(403);
            continue;
          }
          expect(h['access-control-allow-origin']).toBe(listed ? origin : '*');
          expect(h['access-control-allow-credentials']).toBe(listed && COOKIE_PATHS.includes(p) ? 'true' : undefined);
          if (h['access-control-allow-origin'] === '*') expect(h['access-control-allow-credentials']).toBeUndefined();
          if (kind === 'preflight') {
            expect(res.status).toBe(204);
            expect(h['access-control-max-age']).toBe(String(PREFLIGHT_MAX_AGE_SECONDS));
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
