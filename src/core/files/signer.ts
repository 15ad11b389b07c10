import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = 'ok' | 'expired' | 'invalid';

/**
 * Signed, expiring file links: an HMAC-SHA256 over the file key and the expiry, with a key
 * derived from JWT_SECRET (so every process sharing that secret accepts the others'
 * links). A link names one file and works until it expires; it is a capability, so it is
 * issued only inside a rendering for a participant.
 */
export class UrlSigner {
  readonly #key: Buffer;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.#key = createHmac('sha256', secret).update('parley/file-url/v1').digest();
  }

  #mac(key: string, exp: number): string {
    return createHmac('sha256', this.#key).update(`${key}\n${exp}`).digest('base64url');
  }

  /**
   * A signature valid for at least the TTL. The expiry is rounded up to a tenth of the TTL,
   * so renderings close in time hand out the same URL and a browser's cache keeps working.
   */
  sign(key: string, now = Date.now()): { exp: number; sig: string } {
    const bucket = Math.max(1, Math.floor(this.ttlSeconds / 10));
    const exp = Math.ceil((Math.floor(now / 1000) + this.ttlSeconds) / bucket) * bucket;
    return { exp, sig: this.#mac(key, exp) };
  }

  verify(key: string, exp: unknown, sig: unknown, now = Date.now()): SignatureCheck {
    if (typeof sig !== 'string' || typeof exp !== 'string' || !/^\d{1,12}$/.test(exp)) return 'invalid';
    const expected = Buffer.from(this.#mac(key, Number(exp)));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return Number(exp) * 1000 < now ? 'expired' : 'ok';
  }
}
