import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useParley, startParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, chatSocket, newRoom, newUser, openSocket, type TestUser } from '../helpers/clients.js';

// Parley is added to an existing application: tokens of that application's identity
// provider are trusted when configured (shared secret, PEM public key or JWKS), and their
// users exist in Parley from first sight on (DESIGN.md "Accounts and tokens").

const DEFAULT_TENANT = '00000000-0000-7000-8000-000000000001';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
let seq = 0;
const subject = (tag: string) => `${tag}-${++seq}-${Date.now()}`;

type Key = CryptoKey | Uint8Array;
type KeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };

// RSA key generation is slow: one set of key pairs for the whole file.
let keyPairs: Promise<{ idp: KeyPair; other: KeyPair; jwks: KeyPair; stranger: KeyPair }> | undefined;
const rsaKeys = () =>
  (keyPairs ??= (async () => {
    const [idp, other, jwks, stranger] = await Promise.all(Array.from({ length: 4 }, () => generateKeyPair('RS256', { extractable: true })));
    return { idp, other, jwks, stranger };
  })());

function sign(payload: JWTPayload, key: Key, alg: string, opts: { exp?: number | null; kid?: string } = {}) {
  const jwt = new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', ...(opts.kid ? { kid: opts.kid } : {}) }).setIssuedAt();
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? now() + 3600);
  return jwt.sign(key);
}

/** An unsigned token: header {"alg":"none"}, empty signature. */
const algNone = (payload: JWTPayload) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ exp: now() + 3600, ...payload })}.`;

/** The same token with its payload changed and the original signature kept. */
function tamper(token: string, change: JWTPayload): string {
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  return `${h}.${b64({ ...payload, ...change })}.${s}`;
}

const me = (server: TestServer, token: string) => api(server, 'GET', '/api/auth/me', { token });

async function expectRefused(server: TestServer, token: string, label: string) {
  const res = await me(server, token);
  expect(res.status, label).toBe(401);
  expect(res.body, label).toEqual({ detail: 'Not authenticated' });
}

/** The socket takes the token: it answers a ping, and the user can talk to a registered user. */
async function socketWorks(server: TestServer, token: string, userId: number) {
  const local = await newUser(server);
  const ext: TestUser = { token, password: '', user: { id: userId } as TestUser['user'] };
  const room = await newRoom(server, ext, local);
  const s = await chatSocket(server, ext, room);
  const l = await chatSocket(server, local, room);
  s.send({ type: 'send_message', data: { room_id: room, receiver_id: local.user.id, content: 'from the idp user', local_temp_id: 'idp-1' } });
  const ack = await s.next('new_message');
  expect(ack.data).toMatchObject({ local_temp_id: 'idp-1', sender_id: userId, is_sender: true });
  expect((await l.next('new_message')).data).toMatchObject({ content: 'from the idp user', sender_id: userId });
  s.close();
  l.close();
}

async function socketRefused(server: TestServer, token: string) {
  const s = await openSocket(`${server.wsUrl}/api/chat/ws?token=${encodeURIComponent(token)}`);
  expect((await s.closed).code).toBe(4001);
}

describe.each(databases)('identity provider tokens on %s', (db) => {
  describe('HS256 shared secret (AUTH_HS256_SECRET)', () => {
    const secret = new TextEncoder().encode('the-application-shared-secret-0123456789');
    const server = useParley({ db, env: { AUTH_HS256_SECRET: new TextDecoder().decode(secret) } });

    it('provisions the user on first sight, the same user afterwards; Parley\'s own tokens still work', async () => {
      const sub = subject('hs');
      const first = await me(server, await sign({ sub, email: `${sub}@corp.example`, name: 'Hana Shared' }, secret, 'HS256'));
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        id: expect.any(Number),
        uuid: expect.stringMatching(UUID),
        name: 'Hana Shared',
        email: `${sub}@corp.example`,
        avatar_url: null,
        tenant_id: DEFAULT_TENANT,
      });
      // Another token (later iat, other exp) for the same subject: the same user.
      const second = await me(server, await sign({ sub, email: `${sub}@corp.example`, name: 'Hana Shared' }, secret, 'HS256', { exp: now() + 60 }));
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ id: first.body.id, uuid: first.body.uuid });

      const local = await newUser(server);
      expect((await me(server, local.token)).body).toEqual(local.user);
    });

    it('many first requests at once still make one user', async () => {
      const sub = subject('burst');
      const token = await sign({ sub, email: `${sub}@corp.example`, name: 'Burst' }, secret, 'HS256');
      const all = await Promise.all(Array.from({ length: 8 }, () => me(server, token)));
      expect(all.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(new Set(all.map((r) => r.body.id)).size).toBe(1);
    });

    it('the tenant claim puts the user in that tenant (created on first sight); without email the user still exists', async () => {
      const tenant = randomUUID();
      const sub = subject('tenant');
      const res = await me(server, await sign({ sub, email: `${sub}@corp.example`, name: 'T', tenant_id: tenant }, secret, 'HS256'));
      expect(res.status).toBe(200);
      expect(res.body.tenant_id).toBe(tenant);
      // A password user registered into that tenant shares it.
      const mate = await newUser(server, { tenantId: tenant });
      expect(mate.user.tenant_id).toBe(tenant);

      const bare = subject('bare');
      const tokenNoEmail = await sign({ sub: bare }, secret, 'HS256');
      const r1 = await me(server, tokenNoEmail);
      expect(r1.status).toBe(200);
      expect(r1.body).toMatchObject({ tenant_id: DEFAULT_TENANT, uuid: expect.stringMatching(UUID) });
      expect((await me(server, tokenNoEmail)).body.id).toBe(r1.body.id);
    });

    it('refuses alg none, expired, not yet valid, another secret, a tampered payload, no exp, no subject', async () => {
      const sub = subject('bad');
      const good = await sign({ sub, email: `${sub}@corp.example` }, secret, 'HS256');
      expect((await me(server, good)).status).toBe(200);
      const other = new TextEncoder().encode('some-other-secret-of-the-same-length-abcd');
      const cases: [string, string][] = [
        ['alg none', algNone({ sub, email: `${sub}@corp.example` })],
        ['alg none, no signature part', algNone({ sub }).slice(0, -1)],
        ['expired', await sign({ sub }, secret, 'HS256', { exp: now() - 120 })],
        ['not yet valid', await new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setNotBefore(now() + 600).setExpirationTime(now() + 3600).sign(secret)],
        ['another secret', await sign({ sub }, other, 'HS256')],
        ['tampered subject', tamper(good, { sub: subject('victim') })],
        ['tampered expiry', tamper(await sign({ sub }, secret, 'HS256', { exp: now() - 120 }), { exp: now() + 3600 })],
        ['no exp', await sign({ sub: subject('noexp') }, secret, 'HS256', { exp: null })],
        ['no subject', await sign({ email: 'nosub@corp.example' }, secret, 'HS256')],
        ['a Parley-shaped token under the IdP secret with another alg', await sign({ sub }, secret, 'HS512')],
      ];
      for (const [label, token] of cases) await expectRefused(server, token, label);
    });

    it('the socket accepts the provider\'s token and refuses a bad one with 4001', async () => {
      const sub = subject('sock');
      const token = await sign({ sub, email: `${sub}@corp.example`, name: 'Socket User' }, secret, 'HS256');
      const user = (await me(server, token)).body;
      await socketWorks(server, token, user.id);
      await socketRefused(server, await sign({ sub }, secret, 'HS256', { exp: now() - 60 }));
      await socketRefused(server, algNone({ sub }));
    });
  });

  describe('RS256 public key (AUTH_PUBLIC_KEY) with AUTH_ISSUER and AUTH_AUDIENCE', () => {
    const issuer = 'https://idp.example.com/';
    const audience = 'parley-chat';
    let server: TestServer;
    let keys: KeyPair;
    let otherKeys: KeyPair;
    let pem: string;
    beforeAll(async () => {
      ({ idp: keys, other: otherKeys } = await rsaKeys());
      pem = await exportSPKI(keys.publicKey);
      server = await startParley({ db, env: { AUTH_PUBLIC_KEY: pem, AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience } });
    });
    afterAll(() => server.close());

    const claims = (sub: string, extra: JWTPayload = {}): JWTPayload => ({ sub, iss: issuer, aud: audience, email: `${sub}@rsa.example`, name: 'Rhea Sa', ...extra });

    it('trusts a token signed with the private key; provisions once', async () => {
      const sub = subject('rs');
      const first = await me(server, await sign(claims(sub), keys.privateKey, 'RS256'));
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ name: 'Rhea Sa', email: `${sub}@rsa.example`, tenant_id: DEFAULT_TENANT });
      const second = await me(server, await sign(claims(sub), keys.privateKey, 'RS256'));
      expect(second.body).toMatchObject({ id: first.body.id, uuid: first.body.uuid });
      // An audience list that contains ours is fine.
      const listAud = await me(server, await sign(claims(sub, { aud: ['other-app', audience] }), keys.privateKey, 'RS256'));
      expect(listAud.body.id).toBe(first.body.id);
    });

    it('enforces issuer and audience', async () => {
      const sub = subject('iss');
      const { iss: _i, ...noIss } = claims(sub);
      const { aud: _a, ...noAud } = claims(sub);
      const cases: [string, JWTPayload][] = [
        ['no iss', noIss],
        ['wrong iss', claims(sub, { iss: 'https://evil.example.com/' })],
        ['no aud', noAud],
        ['wrong aud', claims(sub, { aud: 'another-app' })],
      ];
      for (const [label, payload] of cases) await expectRefused(server, await sign(payload, keys.privateKey, 'RS256'), label);
    });

    it('refuses another key, HS256 signed with the public key text (key confusion), alg none, expired, tampered', async () => {
      const sub = subject('rsbad');
      const good = await sign(claims(sub), keys.privateKey, 'RS256');
      expect((await me(server, good)).status).toBe(200);
      const cases: [string, string][] = [
        ['another RSA key', await sign(claims(sub), otherKeys.privateKey, 'RS256')],
        ['HS256 with the PEM as secret', await sign(claims(sub), new TextEncoder().encode(pem), 'HS256')],
        ['HS256 with the PEM without its trailing newline', await sign(claims(sub), new TextEncoder().encode(pem.trim()), 'HS256')],
        ['alg none', algNone(claims(sub))],
        ['expired', await sign(claims(sub), keys.privateKey, 'RS256', { exp: now() - 120 })],
        ['tampered subject', tamper(good, { sub: subject('victim') })],
        ['tampered email', tamper(good, { email: 'admin@rsa.example' })],
        ['Parley-shaped claims under alg none', algNone({ sub, iss: 'parley', tid: DEFAULT_TENANT, ver: 0 })],
      ];
      for (const [label, token] of cases) await expectRefused(server, token, label);
    });

    it('the socket accepts the provider\'s token', async () => {
      const sub = subject('rssock');
      const token = await sign(claims(sub), keys.privateKey, 'RS256');
      await socketWorks(server, token, (await me(server, token)).body.id);
      await socketRefused(server, await sign(claims(sub), otherKeys.privateKey, 'RS256'));
    });
  });

  describe('JWKS URL (AUTH_JWKS_URL) with mapped claim names', () => {
    let jwks: Server;
    let server: TestServer;
    let keys: KeyPair;
    let stranger: KeyPair;
    let fetches = 0;
    beforeAll(async () => {
      ({ jwks: keys, stranger } = await rsaKeys());
      const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      jwks = createServer((req, res) => {
        fetches++;
        if (req.url !== '/.well-known/jwks.json') {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
      const port = (jwks.address() as AddressInfo).port;
      server = await startParley({
        db,
        env: {
          AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
          AUTH_CLAIM_SUBJECT: 'user_id',
          AUTH_CLAIM_EMAIL: 'mail',
          AUTH_CLAIM_NAME: 'display_name',
          AUTH_CLAIM_TENANT: 'org',
        },
      });
    });
    afterAll(async () => {
      await server.close();
      await new Promise((r) => jwks.close(r));
    });

    it('trusts a token whose kid is in the JWKS, reading the configured claim names', async () => {
      const id = subject('jw');
      const org = randomUUID();
      const payload = { user_id: id, mail: `${id}@jwks.example`, display_name: 'Jo Wks', org, sub: 'ignored-sub', email: 'ignored@x.example', name: 'Ignored' };
      const first = await me(server, await sign(payload, keys.privateKey, 'RS256', { kid: 'k1' }));
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ name: 'Jo Wks', email: `${id}@jwks.example`, tenant_id: org });
      expect(fetches).toBeGreaterThan(0);
      const second = await me(server, await sign(payload, keys.privateKey, 'RS256', { kid: 'k1' }));
      expect(second.body).toMatchObject({ id: first.body.id, uuid: first.body.uuid });
      // The subject is user_id, not sub: another sub with the same user_id is the same user.
      const third = await me(server, await sign({ ...payload, sub: 'something-else' }, keys.privateKey, 'RS256', { kid: 'k1' }));
      expect(third.body.id).toBe(first.body.id);
    });

    it('refuses a token without the mapped subject claim, an unknown key, alg none, expired, tampered', async () => {
      const id = subject('jwbad');
      const payload = { user_id: id, mail: `${id}@jwks.example`, display_name: 'Bad' };
      const good = await sign(payload, keys.privateKey, 'RS256', { kid: 'k1' });
      expect((await me(server, good)).status).toBe(200);
      const cases: [string, string][] = [
        ['only the default sub claim', await sign({ sub: id, email: `${id}@jwks.example` }, keys.privateKey, 'RS256', { kid: 'k1' })],
        ['a key the JWKS does not hold, under its kid', await sign(payload, stranger.privateKey, 'RS256', { kid: 'k1' })],
        ['a key the JWKS does not hold, unknown kid', await sign(payload, stranger.privateKey, 'RS256', { kid: 'k9' })],
        ['HS256 signed with the public JWK text', await sign(payload, new TextEncoder().encode(JSON.stringify(await exportJWK(keys.publicKey))), 'HS256', { kid: 'k1' })],
        ['alg none', algNone(payload)],
        ['expired', await sign(payload, keys.privateKey, 'RS256', { kid: 'k1', exp: now() - 120 })],
        ['tampered subject', tamper(good, { user_id: subject('victim') })],
      ];
      for (const [label, token] of cases) await expectRefused(server, token, label);
    });

    it('the socket accepts the provider\'s token', async () => {
      const id = subject('jwsock');
      const token = await sign({ user_id: id, mail: `${id}@jwks.example`, display_name: 'Sock' }, keys.privateKey, 'RS256', { kid: 'k1' });
      // First sight through the socket itself (no REST call before).
      const s = await chatSocket(server, { token, password: '', user: {} as TestUser['user'] });
      s.close();
      await socketWorks(server, token, (await me(server, token)).body.id);
      await socketRefused(server, await sign({ user_id: id }, stranger.privateKey, 'RS256', { kid: 'k1' }));
    });
  });

  describe('claims that do not fit', () => {
    const secret = new TextEncoder().encode('the-application-shared-secret-0123456789');
    const server = useParley({ db, env: { AUTH_HS256_SECRET: new TextDecoder().decode(secret) } });

    it('a tenant claim that is not a UUID never yields a 5xx nor a tenant_id that is not a UUID', async () => {
      for (const org of ['acme-corporation-international-holdings-limited-europe', 'acme']) {
        const res = await me(server, await sign({ sub: subject('org'), tenant_id: org }, secret, 'HS256'));
        expect(res.status, org).toBeLessThan(500);
        if (res.status === 200) expect(res.body.tenant_id, org).toMatch(UUID);
        else expect(res.body).toEqual({ detail: expect.any(String) });
      }
      // The same claim twice is the same tenant.
      const t1 = await me(server, await sign({ sub: subject('org'), tenant_id: 'globex' }, secret, 'HS256'));
      const t2 = await me(server, await sign({ sub: subject('org'), tenant_id: 'globex' }, secret, 'HS256'));
      if (t1.status === 200) expect(t2.body.tenant_id).toBe(t1.body.tenant_id);
    });

    it('oversized subject, name or email claims never yield a 5xx; a user that is provisioned has fitting fields', async () => {
      const long = (n: number) => 'x'.repeat(n);
      const cases: [string, JWTPayload][] = [
        ['long subject', { sub: subject('s') + long(600) }],
        ['long name', { sub: subject('n'), name: long(400) }],
        ['long email', { sub: subject('e'), email: `${long(400)}@corp.example` }],
        ['email that is not an email', { sub: subject('e2'), email: 'not an email' }],
      ];
      for (const [label, payload] of cases) {
        const res = await me(server, await sign(payload, secret, 'HS256'));
        expect(res.status, label).toBeLessThan(500);
        if (res.status !== 200) {
          expect(res.body, label).toEqual({ detail: expect.any(String) });
          continue;
        }
        expect(res.body.name.length, label).toBeLessThanOrEqual(255);
        expect(res.body.email.length, label).toBeLessThanOrEqual(320);
      }
    });
  });
});
