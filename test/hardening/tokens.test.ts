import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { SignJWT, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createParley, type Parley } from '../../src/app/app.js';
import { useParley, startParley, type TestServer } from '../helpers/parley.js';
import { sleep } from '../helpers/clients.js';

// Issue 9 item 3: bad tokens are refused on one REST endpoint of each dialect (401 {detail})
// and on every socket (each with its dialect's refusal); tokens in query strings never
// reach the logs. The identity provider's RS256 cases on REST are test/accounts/*; here they
// are checked on every socket (that file covers /api/chat/ws only).

const SECRET = 'test-secret-that-is-long-enough-for-hs256'; // test/helpers/parley.ts
const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const claimsOf = (token: string): JWTPayload => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

function sign(payload: JWTPayload, key: CryptoKey | Uint8Array, alg: string, header: Record<string, unknown> = {}) {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', ...header }).sign(key);
}
const algNone = (payload: JWTPayload) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
function tamper(token: string, change: JWTPayload): string {
  const [h, p, s] = token.split('.');
  return `${h}.${b64({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), ...change })}.${s}`;
}

interface Account {
  token: string;
  id: number;
  uuid: string;
  tenant: string;
}
let n = 0;
async function register(url: string, tenantId?: string): Promise<Account> {
  const i = ++n;
  const res = await fetch(url + '/api/auth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `tok${i}-${process.pid}-${Date.now()}@example.com`, password: 'password-' + i, name: `Tok ${i}`, ...(tenantId ? { tenant_id: tenantId } : {}) }),
  });
  const body = (await res.json()) as any;
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(body)}`);
  return { token: body.access_token, id: body.user.id, uuid: body.user.uuid, tenant: body.user.tenant_id };
}

/** One REST endpoint of each dialect (and the shared accounts). */
const REST = ['/api/auth/me', '/api/chat/rooms', '/api/v1/chat/rooms', '/api/v1/chat/friends/online', '/api/notifications/chat/conversations/', '/api/parley/me'];

async function restRefuses(url: string, token: string, label: string) {
  for (const p of REST) {
    const res = await fetch(url + p, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json().catch(() => null)) as any;
    expect(res.status, `${label} ${p}`).toBe(401);
    expect(typeof body?.detail, `${label} ${p}: ${JSON.stringify(body)}`).toBe('string');
    expect(Object.keys(body).filter((k) => k !== 'code'), `${label} ${p}`).toEqual(['detail']);
  }
}

async function restAccepts(url: string, token: string) {
  for (const p of REST) expect((await fetch(url + p, { headers: { authorization: `Bearer ${token}` } })).status, p).toBe(200);
}

type Outcome = { open: true } | { open: false; close?: number; http?: number };

/**
 * Opens a socket and reports what happened: closed with a code, refused at the upgrade with
 * an HTTP status, or open (it answered a ping). `first` is sent as the first frame.
 */
function socketOutcome(url: string, opts: { headers?: Record<string, string>; first?: unknown } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: opts.headers });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ open: false });
    }, 8000);
    const done = (o: Outcome) => {
      clearTimeout(timer);
      resolve(o);
    };
    ws.on('unexpected-response', (_req, res) => {
      done({ open: false, http: res.statusCode });
      ws.terminate();
    });
    ws.on('error', () => {});
    ws.on('open', () => {
      if (opts.first !== undefined) ws.send(JSON.stringify(opts.first));
      ws.send('{"type":"ping"}');
    });
    ws.on('message', (d) => {
      if (String(d).includes('"pong"')) {
        done({ open: true });
        ws.close();
      }
    });
    ws.on('close', (code) => done({ open: false, close: code }));
  });
}

interface SocketCase {
  name: string;
  /** The socket URL with a token in the query. */
  url: (base: string, token: string, tenant: string) => string;
  refusal: Outcome;
  /** Other ways the socket takes a token. */
  header?: boolean;
  firstFrame?: string;
}
const SOCKETS: SocketCase[] = [
  { name: '/api/chat/ws', url: (b, t) => `${b}/api/chat/ws?token=${encodeURIComponent(t)}`, refusal: { open: false, close: 4001 } },
  { name: '/api/v1/chat/ws', url: (b, t) => `${b}/api/v1/chat/ws?token=${encodeURIComponent(t)}`, refusal: { open: false, close: 4001 } },
  // Document 004 refuses before the upgrade, with HTTP 401.
  { name: '/api/v1/chat/ws/chat', url: (b, t) => `${b}/api/v1/chat/ws/chat?token=${encodeURIComponent(t)}`, refusal: { open: false, http: 401 }, header: true },
  { name: '/ws/chat/{tenant}/', url: (b, t, tenant) => `${b}/ws/chat/${tenant}/?token=${encodeURIComponent(t)}`, refusal: { open: false, close: 4001 }, header: true, firstFrame: 'authenticate' },
  { name: '/api/parley/ws', url: (b, t) => `${b}/api/parley/ws?token=${encodeURIComponent(t)}`, refusal: { open: false, close: 4001 }, header: true, firstFrame: 'auth' },
];

async function socketsRefuse(wsBase: string, token: string, tenant: string, label: string) {
  for (const s of SOCKETS) {
    expect(await socketOutcome(s.url(wsBase, token, tenant)), `${label} ${s.name} ?token=`).toEqual(s.refusal);
    const bare = s.url(wsBase, '', tenant).replace(/\?token=$/, '');
    if (s.header) expect(await socketOutcome(bare, { headers: { authorization: `Bearer ${token}` } }), `${label} ${s.name} Authorization`).toEqual(s.refusal);
    if (s.firstFrame) expect(await socketOutcome(bare, { first: { type: s.firstFrame, token } }), `${label} ${s.name} first frame`).toEqual(s.refusal);
  }
}

async function socketsAccept(wsBase: string, token: string, tenant: string) {
  for (const s of SOCKETS) expect(await socketOutcome(s.url(wsBase, token, tenant)), s.name).toEqual({ open: true });
}

describe("Parley's own HS256 tokens", () => {
  const server = useParley();
  let a: Account;
  let b: Account;
  let other: Account;
  let bad: Record<string, string>;
  beforeAll(async () => {
    a = await register(server.url);
    b = await register(server.url);
    other = await register(server.url, randomUUID());
    const claims = claimsOf(a.token);
    const key = new TextEncoder().encode(SECRET);
    const { exp: _exp, ...noExp } = claims;
    void _exp;
    bad = {
      'alg none': algNone(claims),
      'alg none, no signature part': algNone(claims).slice(0, -1),
      'HS256 with another secret': await sign(claims, new TextEncoder().encode('another-secret-that-is-long-enough-for-hs256'), 'HS256'),
      'tampered payload (another sub)': tamper(a.token, { sub: b.uuid }),
      'tampered payload (another tenant)': tamper(a.token, { tid: other.tenant, tenant_id: other.tenant }),
      'missing exp': await sign(noExp, key, 'HS256'),
      'expired exp': await sign({ ...claims, exp: now() - 60 }, key, 'HS256'),
      'future nbf': await sign({ ...claims, nbf: now() + 3600 }, key, 'HS256'),
      'HS512 with the right secret': await sign(claims, key, 'HS512'),
      'another issuer': await sign({ ...claims, iss: 'someone-else' }, key, 'HS256'),
      'old token version (before a logout)': await sign({ ...claims, ver: Number(claims.ver) - 1 }, key, 'HS256'),
      garbage: 'not.a.jwt',
    };
  });

  it('the real token works everywhere (the refusals below are not vacuous)', async () => {
    await restAccepts(server.url, a.token);
    await socketsAccept(server.wsUrl, a.token, a.tenant);
  });

  it('each bad token is refused on REST (401 {detail}) and on every socket (4001; 004: HTTP 401)', { timeout: 60_000 }, async () => {
    for (const [label, token] of Object.entries(bad)) {
      await restRefuses(server.url, token, label);
      await socketsRefuse(server.wsUrl, token, a.tenant, label);
    }
  });

  it("a token of another tenant on the 003 tenant socket closes 4003 (query, header and first frame)", async () => {
    const url = `${server.wsUrl}/ws/chat/${a.tenant}/`;
    expect(await socketOutcome(`${url}?token=${other.token}`)).toEqual({ open: false, close: 4003 });
    expect(await socketOutcome(url, { headers: { authorization: `Bearer ${other.token}` } })).toEqual({ open: false, close: 4003 });
    expect(await socketOutcome(url, { first: { type: 'authenticate', token: other.token } })).toEqual({ open: false, close: 4003 });
    // And the other way round; each on its own tenant's socket is fine.
    expect(await socketOutcome(`${server.wsUrl}/ws/chat/${other.tenant}/?token=${a.token}`)).toEqual({ open: false, close: 4003 });
    expect(await socketOutcome(`${server.wsUrl}/ws/chat/${other.tenant}/?token=${other.token}`)).toEqual({ open: true });
  });
});

describe("an identity provider's RS256 tokens on every socket", () => {
  let server: TestServer;
  let idp: { privateKey: CryptoKey; publicKey: CryptoKey };
  let stranger: { privateKey: CryptoKey; publicKey: CryptoKey };
  let pem: string;
  const ISS = 'https://idp.example.com/';
  const AUD = 'parley';
  const DEFAULT_TENANT = '00000000-0000-7000-8000-000000000001';
  const good = (sub: string, extra: JWTPayload = {}) => ({ sub, iss: ISS, aud: AUD, exp: now() + 3600, ...extra });
  beforeAll(async () => {
    [idp, stranger] = await Promise.all([generateKeyPair('RS256', { extractable: true }), generateKeyPair('RS256', { extractable: true })]);
    pem = await exportSPKI(idp.publicKey);
    server = await startParley({ env: { AUTH_PUBLIC_KEY: pem, AUTH_ALGORITHM: 'RS256', AUTH_ISSUER: ISS, AUTH_AUDIENCE: AUD } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("the provider's token opens every socket; its bad variants are refused on every socket", { timeout: 60_000 }, async () => {
    const sub = `idp-${Date.now()}`;
    await socketsAccept(server.wsUrl, await sign(good(sub), idp.privateKey, 'RS256'), DEFAULT_TENANT);
    const { exp: _e, ...noExp } = good(sub);
    void _e;
    const valid = await sign(good(sub), idp.privateKey, 'RS256');
    const cases: Record<string, string> = {
      'alg none': algNone(good(sub)),
      'HS256 signed with the public key (key confusion)': await sign(good(sub), new TextEncoder().encode(pem), 'HS256'),
      'RS256 with another key': await sign(good(sub), stranger.privateKey, 'RS256'),
      'missing exp': await sign(noExp, idp.privateKey, 'RS256'),
      'expired exp': await sign(good(sub, { exp: now() - 60 }), idp.privateKey, 'RS256'),
      'future nbf': await sign(good(sub, { nbf: now() + 3600 }), idp.privateKey, 'RS256'),
      'wrong iss': await sign(good(sub, { iss: 'https://evil.example.com/' }), idp.privateKey, 'RS256'),
      'wrong aud': await sign(good(sub, { aud: 'someone-else' }), idp.privateKey, 'RS256'),
      'tampered payload (another sub)': tamper(valid, { sub: sub + '-x' }),
    };
    for (const [label, token] of Object.entries(cases)) await socketsRefuse(server.wsUrl, token, DEFAULT_TENANT, label);
  });
});

describe('tokens in query strings never reach the logs', () => {
  let parley: Parley;
  let dir: string;
  let log = '';
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-tokens-'));
    const config = loadConfig({
      DATA_DIR: dir,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${path.join(dir, 'parley.db')}`,
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'debug',
      WS_PING_INTERVAL_MS: '0',
    });
    const stream = new Writable({
      write(chunk, _enc, done) {
        log += chunk.toString();
        done();
      },
    });
    parley = await createParley(config, { logger: { level: 'debug', stream } });
    await parley.listen();
  });
  afterAll(async () => {
    await parley?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sockets with ?token= on every dialect and REST calls with ?token= / ?access_token= log [redacted], never the token', { timeout: 30_000 }, async () => {
    const address = parley.app.server.address() as { port: number };
    const base = `http://127.0.0.1:${address.port}`;
    const wsBase = base.replace('http', 'ws');
    const a = await register(base);
    const bad = tamper(a.token, { sub: randomUUID() });
    const expired = await sign({ ...claimsOf(a.token), exp: now() - 60 }, new TextEncoder().encode(SECRET), 'HS256');
    const tokens = [a.token, bad, expired];
    for (const t of tokens) {
      for (const s of SOCKETS) await socketOutcome(s.url(wsBase, t, a.tenant));
      // Every way a token can ride in a URL: REST reads, a 404, a refused write, a bad path,
      // mixed-case names, a second parameter after it.
      for (const p of [
        `/api/auth/me?token=${t}`,
        `/api/chat/rooms?access_token=${t}`,
        `/api/parley/me?TOKEN=${t}&x=1`,
        `/api/parley/me?x=1&Access_Token=${t}`,
        `/no/such/route?token=${t}`,
        `/api/parley/messages/%zz?token=${t}`,
        `/api/chat/rooms/${'a'.repeat(120)}?token=${t}`,
        `/ws/chat/${a.tenant}/?token=${t}`,
      ])
        await fetch(base + p, { headers: { authorization: `Bearer ${a.token}` } });
      await fetch(`${base}/api/chat/rooms?token=${t}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"receiver_id":' });
    }
    await sleep(200);
    expect(log.length).toBeGreaterThan(0);
    expect(log).toContain('[redacted]');
    // The socket upgrades and the REST calls were logged (redacted), so the check saw them.
    for (const p of ['/api/chat/ws?token=[redacted]', '/api/v1/chat/ws?token=[redacted]', '/api/v1/chat/ws/chat?token=[redacted]', '/api/parley/ws?token=[redacted]', '/api/chat/rooms?access_token=[redacted]', `/ws/chat/${a.tenant}/?token=[redacted]`])
      expect(log, p).toContain(p);
    for (const t of tokens) {
      // Neither the whole token nor its signature (the part that makes it usable).
      expect(log.includes(t), 'a token was logged').toBe(false);
      expect(log.includes(t.split('.')[2]), 'a token signature was logged').toBe(false);
    }
  });
});
