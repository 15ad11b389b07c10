import type { JWTPayload, jwtVerify } from 'jose';
import { loadJose } from '../jose.js';
import { webcrypto, type KeyObject } from 'node:crypto';
import { hs256Key, verifyHs256 } from './hs256.js';
import type { IdpConfig } from '../../config/config.js';

type CryptoKey = webcrypto.CryptoKey;
import type { TokenClaims, TokenSigner } from '../../core/accounts/ports.js';
import type { User } from '../../core/model.js';

export const PARLEY_ISSUER = 'parley';

/**
 * Issues Parley's own HS256 tokens and verifies them, and, when configured, tokens of an
 * existing identity provider (shared secret, PEM public key or JWKS). Algorithms are fixed
 * per key, so `alg: none` and HS/RS key confusion are refused. HS256 tokens (Parley's, and a
 * provider's shared secret) are verified on node:crypto (hs256.ts: a reconnect storm checks
 * one per socket), the others by jose.
 */
export class JoseTokenSigner implements TokenSigner {
  /** The secret as an HMAC key for jose's signing, imported once. */
  readonly #key: Promise<CryptoKey>;
  /** The same secret for verifying. */
  readonly #hmac: KeyObject;
  /** The provider's shared secret (AUTH_HS256_SECRET), when that is how its tokens are signed. */
  readonly #externalHmac: KeyObject | null;
  #external: { key: Parameters<typeof jwtVerify>[1]; algorithms: string[] } | null | undefined;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
    readonly idp: IdpConfig,
  ) {
    this.#key = hmacKey(new TextEncoder().encode(secret));
    this.#hmac = hs256Key(secret);
    this.#externalHmac = idp.hs256Secret && !idp.jwksUrl && !idp.publicKeyPem ? hs256Key(idp.hs256Secret) : null;
  }

  async issue(user: User): Promise<string> {
    const { SignJWT } = await loadJose();
    return new SignJWT({ tid: user.tenantUuid, tenant_id: user.tenantUuid, ver: user.tokenVersion })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.uuid)
      .setIssuer(PARLEY_ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(await this.#key);
  }

  /** Resolves the claims, or null for any token that is not valid now. */
  async verify(token: string): Promise<TokenClaims | null> {
    const own = verifyHs256(token, this.#hmac, { issuer: PARLEY_ISSUER, requiredClaims: ['exp', 'sub'] });
    if (own) {
      if (typeof own.tid !== 'string' || typeof own.ver !== 'number' || typeof own.sub !== 'string') return null;
      return { source: 'parley', userUuid: own.sub, tenantUuid: own.tid, version: own.ver };
    }
    if (this.#externalHmac) {
      const claims = verifyHs256(token, this.#externalHmac, { issuer: this.idp.issuer, audience: this.idp.audience, requiredClaims: ['exp'] });
      return claims && this.#externalClaims(claims);
    }
    const { errors, jwtVerify } = await loadJose();
    const external = await this.#externalKey();
    if (!external) return null;
    try {
      const { payload } = await jwtVerify(token, external.key as CryptoKey, {
        algorithms: external.algorithms,
        issuer: this.idp.issuer,
        audience: this.idp.audience,
        requiredClaims: ['exp'],
      });
      return this.#externalClaims(payload);
    } catch (e) {
      if (e instanceof errors.JOSEError || e instanceof TypeError) return null;
      throw e;
    }
  }

  #externalClaims(p: JWTPayload): TokenClaims | null {
    const str = (name: string) => (typeof p[name] === 'string' && p[name] !== '' ? (p[name] as string) : null);
    const subject = str(this.idp.claimSubject);
    if (!subject) return null;
    return {
      source: 'external',
      issuer: p.iss ?? this.idp.issuer ?? 'external',
      subject,
      email: str(this.idp.claimEmail),
      name: str(this.idp.claimName),
      tenant: str(this.idp.claimTenant),
    };
  }

  async #externalKey() {
    if (this.#external !== undefined) return this.#external;
    const { createRemoteJWKSet, importSPKI } = await loadJose();
    // A shared secret alone is checked on node:crypto (#externalHmac), never here.
    const { publicKeyPem, jwksUrl } = this.idp;
    if (jwksUrl) this.#external = { key: createRemoteJWKSet(new URL(jwksUrl)), algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] };
    else if (publicKeyPem) {
      const alg = this.idp.algorithm;
      this.#external = { key: await importSPKI(publicKeyPem.replace(/\\n/g, '\n'), alg), algorithms: [alg] };
    } else this.#external = null;
    return this.#external;
  }
}

function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}
