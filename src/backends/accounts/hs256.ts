import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { JWTPayload } from 'jose';

/** What a token must show besides its signature: jose's jwtVerify options of the same names. */
export interface Hs256Checks {
  issuer?: string;
  audience?: string | readonly string[];
  /** Claims that must be present (exp, sub…). */
  requiredClaims: readonly string[];
}

/** An HS256 secret as node:crypto keeps it. */
export const hs256Key = (secret: string): KeyObject => createSecretKey(Buffer.from(secret, 'utf8'));

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Unpadded base64url that decodes whole (a length of 4n+1 cannot): Buffer would skip what it cannot read. */
const isBase64url = (part: string) => part.length % 4 !== 1 && BASE64URL.test(part);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Verifies a compact HS256 JWT on node:crypto, in the caller's turn, with the rules jose's
 * `jwtVerify(token, key, { algorithms: ['HS256'], ...checks })` applies: the header names
 * HS256 and no critical extension, the signature is the HMAC of the first two parts, the
 * claims are a JSON object with the required ones present, `iss` and `aud` as expected, and
 * `iat`, `nbf`, `exp` numbers with `nbf` passed and `exp` not. jose verifies an HMAC through
 * WebCrypto, an asynchronous job per token whose bookkeeping was a tenth of a reconnect
 * storm's CPU. test/accounts/hs256.test.ts holds the two to the same verdicts over generated
 * tokens. Null for any token that is not valid at `nowMs`.
 */
export function verifyHs256(token: string, key: KeyObject, checks: Hs256Checks, nowMs = Date.now()): JWTPayload | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [head, body, signature] = parts;
  if (!parts.every(isBase64url)) return null;
  const header = jsonObject(head);
  // A critical extension (jose knows only b64, and a JWT may not use it) is refused outright.
  if (!header || header.alg !== 'HS256' || header.crit !== undefined) return null;
  const expected = createHmac('sha256', key).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = jsonObject(body) as JWTPayload | null;
  if (!claims) return null;
  const required = [...checks.requiredClaims];
  if (checks.audience !== undefined) required.push('aud');
  if (checks.issuer !== undefined) required.push('iss');
  if (required.some((c) => !Object.hasOwn(claims, c))) return null;
  if (checks.issuer !== undefined && claims.iss !== checks.issuer) return null;
  if (checks.audience !== undefined) {
    const wanted = typeof checks.audience === 'string' ? [checks.audience] : checks.audience;
    const aud = claims.aud;
    if (!(typeof aud === 'string' ? wanted.includes(aud) : Array.isArray(aud) && wanted.some((w) => aud.includes(w)))) return null;
  }
  const now = Math.floor(nowMs / 1000);
  for (const c of ['iat', 'nbf', 'exp'] as const) if (claims[c] !== undefined && typeof claims[c] !== 'number') return null;
  if (claims.nbf !== undefined && claims.nbf > now) return null;
  if (claims.exp !== undefined && claims.exp <= now) return null;
  return claims;
}

/** A base64url part decoded as a JSON object (a plain one, as jose requires), or null. */
function jsonObject(part: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(Buffer.from(part, 'base64url')));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  return parsed as Record<string, unknown>;
}
