import type { JWTPayload, jwtVerify } from 'jose';
import { loadJose } from '../jose.js';
import type { IdpConfig } from '../../config/config.js';
import type { TokenClaims, TokenSigner } from '../../core/accounts/ports.js';
import type { User } from '../../core/model.js';

export const PARLEY_ISSUER = 'parley';

/**
 * Issues Parley's own HS256 tokens and verifies them, and, when configured, tokens of an
 * existing identity provider (shared secret, PEM public key or JWKS). Algorithms are fixed
 * per key, so `alg: none` and HS/RS key confusion are refused by jose.
 */
export class JoseTokenSigner implements TokenSigner {
  readonly #secret: Uint8Array;
  #external: { key: Parameters<typeof jwtVerify>[1]; algorithms: string[] } | null | undefined;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
    readonly idp: IdpConfig,
  ) {
    this.#secret = new TextEncoder().encode(secret);
  }

  async issue(user: User): Promise<string> {
    const { SignJWT } = await loadJose();
    return new SignJWT({ tid: user.tenantUuid, tenant_id: user.tenantUuid, ver: user.tokenVersion })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.uuid)
      .setIssuer(PARLEY_ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(this.#secret);
  }

  /** Resolves the claims, or null for any token that is not valid now. */
  async verify(token: string): Promise<TokenClaims | null> {
    const { jwtVerify, errors } = await loadJose();
    try {
      const { payload } = await jwtVerify(token, this.#secret, { algorithms: ['HS256'], issuer: PARLEY_ISSUER, requiredClaims: ['exp', 'sub'] });
      if (typeof payload.tid !== 'string' || typeof payload.ver !== 'number') return null;
      return { source: 'parley', userUuid: payload.sub!, tenantUuid: payload.tid, version: payload.ver };
    } catch (e) {
      if (!(e instanceof errors.JOSEError)) throw e;
    }
    const external = await this.#externalKey();
    if (!external) return null;
    try {
      const { payload } = await jwtVerify(token, external.key as Uint8Array, {
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
    const { hs256Secret, publicKeyPem, jwksUrl } = this.idp;
    const { createRemoteJWKSet, importSPKI } = await loadJose();
    if (jwksUrl) this.#external = { key: createRemoteJWKSet(new URL(jwksUrl)), algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] };
    else if (publicKeyPem) {
      const alg = this.idp.algorithm;
      this.#external = { key: await importSPKI(publicKeyPem.replace(/\\n/g, '\n'), alg), algorithms: [alg] };
    } else if (hs256Secret) this.#external = { key: new TextEncoder().encode(hs256Secret), algorithms: ['HS256'] };
    else this.#external = null;
    return this.#external;
  }
}
