import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Static, TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { renderWireTypes, WIRE_TYPES_FILE } from '../../scripts/sdk-types/render.js';
import type * as S from '../../src/dialects/parley/schemas.js';
import type * as W from '../../sdk/src/generated/wire.js';
import type * as T from '@parley/sdk';

// The SDK's wire types are generated from the server's schemas and committed (the package
// imports nothing outside sdk/). Two guards: the committed file is what the generator writes
// today, and (checked by the typecheck) each type is the server's Static<> type both ways.

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the SDK wire types', () => {
  it('the committed file is a fresh generation from the server schemas (else: npm run sdk:types)', () => {
    const committed = readFileSync(path.join(ROOT, WIRE_TYPES_FILE), 'utf8');
    expect(committed, `${WIRE_TYPES_FILE} is stale: run npm run sdk:types and commit it`).toBe(renderWireTypes());
  });
});

/** true when each of A and B is assignable to the other (a dropped, retyped or optional field is not). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Check<T extends true> = T;

/** The names of the server's exported schemas (the frame records are compared below). */
type SchemaName = { [K in keyof typeof S]: (typeof S)[K] extends TSchema ? K : never }[keyof typeof S];
/** The names whose generated type is not the server's Static<> type (never when all match). */
type Mismatched = { [K in SchemaName]: Same<Static<(typeof S)[K]>, W.WireTypes[K]> extends true ? never : K }[SchemaName];
type FrameTypes<R extends Record<string, TSchema>> = { [K in keyof R]: Static<R[K]> };

// A failing line here is a compile error in `npm run typecheck`.
export type WireTypesMatchTheServer = [
  Check<Same<Mismatched, never>>,
  Check<Same<SchemaName | 'ClientFrames' | 'ServerFrames', keyof W.WireTypes>>,
  Check<Same<W.ClientFrames, FrameTypes<typeof S.ClientFrames>>>,
  Check<Same<W.ServerFrames, FrameTypes<typeof S.ServerFrames>>>,
  // The SDK's own names for them.
  Check<Same<T.Message, Static<typeof S.MessageOut>>>,
  Check<Same<T.Conversation, Static<typeof S.ConversationOut>>>,
  Check<Same<T.UploadedFile, Static<typeof S.UploadOut>['files'][number]>>,
  Check<Same<T.ClientFrame, FrameTypes<typeof S.ClientFrames>[keyof typeof S.ClientFrames]>>,
  Check<Same<T.ServerFrame, FrameTypes<typeof S.ServerFrames>[keyof typeof S.ServerFrames]>>,
];
