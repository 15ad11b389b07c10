import type { JWTPayload, jwtVerify } from 'jose';
import { loadJose } from '../jose.js';
import { webcrypto } from 'node:crypto';
import type { IdpConfig } from '../../config/config.js';

type CryptoKey = webcrypto.CryptoKey;
import type { TokenClaims, TokenSigner } from '../../core/accounts/ports.js';
import type { User } from '../../core/model.js';

export const PARLEY_ISSUER = 'parley';

/**
 * Issues Parley's own HS256 tokens and verifies them, and, when configured, tokens of an
 * existing identity provider (shared secret, PEM public key or JWKS). Algorithms are fixed
 * per key, so `alg: none` and HS/RS key confusion are refused by jose.
 */
export class JoseTokenSigner implements TokenSigner {
  /** The secret as an HMAC key, imported once: given bytes, jose imports them again at every verify. */
  readonly #key: Promise<CryptoKey>;
  #external: { key: Parameters<typeof jwtVerify>[1]; algorithms: string[] } | null | undefined;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
    readonly idp: IdpConfig,
  ) {
    this.#key = hmacKey(new TextEncoder().encode(secret));
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
    const { jwtVerify, errors, decodeJwt } = await loadJose();
    // Another issuer's token would fail Parley's check below anyway (it requires iss "parley"):
    // skip the HMAC and the thrown error, which a reconnect storm of IdP tokens pays per socket.
    if (unverifiedIssuer(decodeJwt, token) === PARLEY_ISSUER) {
      try {
        const { payload } = await jwtVerify(token, await this.#key, { algorithms: ['HS256'], issuer: PARLEY_ISSUER, requiredClaims: ['exp', 'sub'] });
        if (typeof payload.tid !== 'string' || typeof payload.ver !== 'number') return null;
        return { source: 'parley', userUuid: payload.sub!, tenantUuid: payload.tid, version: payload.ver };
      } catch (e) {
        if (!(e instanceof errors.JOSEError)) throw e;
      }
    }
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
    const { hs256Secret, publicKeyPem, jwksUrl } = this.idp;
    if (jwksUrl) this.#external = { key: createRemoteJWKSet(new URL(jwksUrl)), algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] };
    else if (publicKeyPem) {
      const alg = this.idp.algorithm;
      this.#external = { key: await importSPKI(publicKeyPem.replace(/\\n/g, '\n'), alg), algorithms: [alg] };
    } else if (hs256Secret) this.#external = { key: await hmacKey(new TextEncoder().encode(hs256Secret)), algorithms: ['HS256'] };
    else this.#external = null;
    return this.#external;
  }
}

function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** The `iss` a token claims, unchecked (undefined when it has none or is not a JWT): only to pick which key to try. */
function unverifiedIssuer(decodeJwt: (token: string) => JWTPayload, token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}
