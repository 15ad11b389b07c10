import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../src/app/app.js';
import { DomainError, ERROR_CODES, type ErrorCode } from '../../src/core/errors.js';
import { SocketNotAllowed, closeFor, type CloseCodeMap } from '../../src/dialects/shared/socket.js';

// One dialect shape (CONTRIBUTING's "add a dialect"): the same files in every folder, the
// error handler, body parser and auth hook set once by defineDialect, close codes mapped once.

const FILES = ['index.ts', 'routes.ts', 'socket.ts', 'schemas.ts', 'render.ts', 'codes.ts', 'README.md'];
const folder = (name: string) => join(import.meta.dirname, '../../src/dialects', name);

describe('every dialect has the same shape', () => {
  it.each(DIALECTS.map((d) => d.name))('%s has the recipe’s files, and its routes file sets no handler, parser or auth hook', (name) => {
    for (const file of FILES) expect(existsSync(join(folder(name), file)), `${name}/${file}`).toBe(true);
    const routes = readFileSync(join(folder(name), 'routes.ts'), 'utf8');
    expect(routes).not.toMatch(/setErrorHandler|addContentTypeParser|requireUser|addHook\(/);
    // Its README maps the document's sections: a table with a route or frame per row.
    const readme = readFileSync(join(folder(name), 'README.md'), 'utf8');
    expect(readme).toMatch(/\| (document )?section \| route \/ frame \| core call \|/);
  });

  it('every dialect declares how its sockets close on a refused token', () => {
    for (const d of DIALECTS) expect(d.closeCodes.invalidToken.code, d.name).toBe(4001);
  });
});

describe('closeFor: a refused authentication closes as the dialect declares', () => {
  const close = fc.record({ code: fc.integer({ min: 4000, max: 4999 }), reason: fc.string({ maxLength: 20 }) });
  const codes: fc.Arbitrary<CloseCodeMap> = fc.record({ invalidToken: close, authFailed: close, notAllowed: close }, { requiredKeys: ['invalidToken'] });
  const errorCode = fc.constantFrom(...(Object.keys(ERROR_CODES) as ErrorCode[]));
  const error = fc.oneof(
    errorCode.map((c) => ({ error: new DomainError(c) as unknown, kind: ERROR_CODES[c] === 'unauthenticated' ? 'token' : 'other' })),
    fc.constant({ error: new SocketNotAllowed() as unknown, kind: 'not allowed' }),
    fc.string().map((m) => ({ error: new Error(m) as unknown, kind: 'other' })),
  );

  it('an unauthenticated refusal is invalidToken, a user the socket is not for notAllowed, anything else authFailed (else invalidToken)', () => {
    fc.assert(
      fc.property(codes, fc.array(error, { minLength: 1, maxLength: 10 }), (map, errors) => {
        for (const { error: e, kind } of errors) {
          const expected =
            kind === 'token' ? map.invalidToken : kind === 'not allowed' && map.notAllowed ? map.notAllowed : (map.authFailed ?? map.invalidToken);
          expect(closeFor(e, map)).toEqual(expected);
        }
      }),
    );
  });
});
