import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import { api, newUser, type TestUser } from './clients.js';
import { TEST_JWT_SECRET, type TestServer } from './parley.js';

/** The parts and claims of a Parley token (no check: tests forge from them). */
export function tokenParts(token: string) {
  const [header, payload, signature] = token.split('.');
  return { header, payload, signature, claims: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, any> };
}

/** Signs `claims` with HS256 (the test servers' secret unless told). */
export const signHs256 = (claims: Record<string, unknown>, secret: string | Uint8Array = TEST_JWT_SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);

/**
 * Tokens every endpoint and socket must refuse, by what is wrong with them, forged from
 * `a`'s real token (`b` is whom a tampered payload claims to be), plus a token revoked by a
 * logout. The real token of `a` must work: check it, so the refusals are not vacuous.
 */
export async function badTokens(server: TestServer, a: TestUser, b: TestUser): Promise<Record<string, string>> {
  const loggedOut = await newUser(server);
  expect((await api(server, 'POST', '/api/auth/logout', { token: loggedOut.token })).status).toBe(200);
  const { header, payload, signature, claims } = tokenParts(a.token);
  const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
  return {
    garbage: 'not-a-jwt',
    'a tampered signature': `${header}.${payload}.${flipped}`,
    'a tampered payload': `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: b.user.uuid })).toString('base64url')}.${signature}`,
    'another secret': await signHs256(claims, 'some-other-secret-that-is-also-long-enough'),
    expired: await signHs256({ ...claims, iat: claims.iat - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }),
    'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`,
    'an unknown user': await signHs256({ ...claims, sub: randomUUID() }),
    'a revoked (logged out) token': loggedOut.token,
  };
}
