import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { jwtVerify, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { hs256Key, verifyHs256, type Hs256Checks } from '../../src/backends/accounts/hs256.js';

// Parley verifies HS256 tokens (its own, and an identity provider's shared secret) on
// node:crypto instead of jose, which goes through WebCrypto. The rule: it accepts exactly
// what jose's jwtVerify accepts with the same key and checks, with the same claims; where it
// is stricter by design (any "crit" header, padding or other characters outside unpadded
// base64url), it accepts nothing jose would refuse.

const SECRET = 'the-verifying-secret-0123456789abcdef';
const OTHER = 'another-secret-0123456789abcdef012345';
const NOW_MS = 1_900_000_000_000;
const NOW = NOW_MS / 1000;

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const sign = (secret: string, input: string) => createHmac('sha256', secret).update(input).digest('base64url');

// Mostly what a valid token holds, each field now and then something else: every check is
// reached with the others passing.
const usually = <T>(valid: fc.Arbitrary<T>, ...others: unknown[]) => fc.oneof({ weight: 5, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.constantFrom(undefined, ...others) });
const header = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom({ alg: 'HS256', typ: 'JWT' }, { alg: 'HS256' }) },
  { weight: 1, arbitrary: fc.constantFrom({ alg: 'HS384' }, { alg: 'none' }, { alg: 'RS256' }, { alg: 'hs256' }, { typ: 'JWT' }, { alg: ['HS256'] }) },
  { weight: 1, arbitrary: fc.constantFrom({ alg: 'HS256', crit: ['b64'], b64: true }, { alg: 'HS256', crit: ['exp'], exp: 1 }, { alg: 'HS256', crit: [] }, { alg: 'HS256', b64: false }) },
);
const payload = fc
  .record({
    iss: usually(fc.constantFrom('parley', 'idp'), 'other', 5),
    sub: usually(fc.constant('user-1'), 7, ''),
    aud: usually(fc.constantFrom('a', ['a', 'b']), 'b', ['c'], [], 3),
    exp: usually(fc.constant(NOW + 100), NOW - 100, NOW, NOW + 0.5, NOW - 0.5, '2099', null),
    nbf: fc.constantFrom(undefined, undefined, undefined, NOW - 10, NOW + 100, NOW, 'soon'),
    iat: usually(fc.constant(NOW), NOW + 1000, 'then'),
    tid: usually(fc.constant('tenant'), 1),
    ver: usually(fc.constant(0), '0'),
  })
  .map((claims) => Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined)));
/** A part as bytes: JSON of a value, or something that is not a JSON object. */
const part = <T>(json: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 8, arbitrary: json.map((v) => b64(JSON.stringify(v))) },
    { weight: 1, arbitrary: fc.constantFrom(b64('[1,2]'), b64('"text"'), b64('{"alg":'), b64(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), '', 'e30') },
  );
const signature = fc.oneof({ weight: 6, arbitrary: fc.constant('right') }, { weight: 1, arbitrary: fc.constantFrom('other-secret', 'flipped', 'short', 'empty', 'padded', 'junk') });
const shape = fc.oneof({ weight: 8, arbitrary: fc.constant('three') }, { weight: 1, arbitrary: fc.constantFrom('four', 'two') });
const checks: fc.Arbitrary<Hs256Checks> = fc.oneof(
  fc.constant({ issuer: 'parley', requiredClaims: ['exp', 'sub'] }),
  fc.record({ issuer: fc.constantFrom(undefined, 'idp'), audience: fc.constantFrom(undefined, 'a', ['a', 'c']), requiredClaims: fc.constant(['exp']) }),
);

function token(h: string, p: string, how: string, form: string): string {
  const input = `${h}.${p}`;
  const right = sign(SECRET, input);
  const sig =
    how === 'right' ? right
    : how === 'other-secret' ? sign(OTHER, input)
    : how === 'flipped' ? (right[0] === 'A' ? 'B' : 'A') + right.slice(1)
    : how === 'short' ? right.slice(0, -4)
    : how === 'empty' ? ''
    : how === 'padded' ? right + '='
    : right + '*';
  return form === 'three' ? `${input}.${sig}` : form === 'four' ? `${input}.${sig}.x` : input;
}

async function joseVerdict(t: string, c: Hs256Checks): Promise<JWTPayload | null> {
  try {
    const { payload } = await jwtVerify(t, new TextEncoder().encode(SECRET), {
      algorithms: ['HS256'],
      issuer: c.issuer,
      audience: c.audience as string | string[] | undefined,
      requiredClaims: [...c.requiredClaims],
      currentDate: new Date(NOW_MS),
    });
    return payload;
  } catch {
    return null;
  }
}

describe('HS256 verification on node:crypto', () => {
  const key = hs256Key(SECRET);

  it('property: the same verdict and claims as jose, and never a token jose refuses', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(part(header), part(payload), signature, shape, checks, async (h, p, how, form, c) => {
        const t = token(h, p, how, form);
        const ours = verifyHs256(t, key, c, NOW_MS);
        const theirs = await joseVerdict(t, c);
        if (ours !== null) {
          accepted++;
          expect(theirs).toEqual(ours);
        }
        let decoded: unknown = null;
        try {
          decoded = JSON.parse(Buffer.from(h, 'base64url').toString());
        } catch {
          // not JSON: no crit
        }
        const stricter = (typeof decoded === 'object' && decoded !== null && 'crit' in decoded) || how === 'padded' || how === 'junk';
        if (!stricter) expect(ours).toEqual(theirs);
      }),
      { numRuns: 3000, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : 20261206 },
    );
    // The generator reaches valid tokens, not only refusals.
    console.log(`[hs256] ${accepted} of 3000 generated tokens valid`);
    expect(accepted).toBeGreaterThan(30);
  });

  it("accepts a well-formed token of the key's and refuses it with any other secret, issuer or a past exp", () => {
    const claims = { iss: 'parley', sub: 'u', exp: NOW + 60 };
    const h = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const good = `${h}.${b64(JSON.stringify(claims))}`;
    expect(verifyHs256(`${good}.${sign(SECRET, good)}`, key, { issuer: 'parley', requiredClaims: ['exp', 'sub'] }, NOW_MS)).toEqual(claims);
    expect(verifyHs256(`${good}.${sign(OTHER, good)}`, key, { issuer: 'parley', requiredClaims: ['exp', 'sub'] }, NOW_MS)).toBeNull();
    expect(verifyHs256(`${good}.${sign(SECRET, good)}`, key, { issuer: 'idp', requiredClaims: ['exp'] }, NOW_MS)).toBeNull();
    expect(verifyHs256(`${good}.${sign(SECRET, good)}`, key, { issuer: 'parley', requiredClaims: ['exp'] }, (NOW + 60) * 1000)).toBeNull();
  });
});
