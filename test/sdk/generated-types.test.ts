import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Static } from '@sinclair/typebox';
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

// A failing line here is a compile error in `npm run typecheck`.
export type WireTypesMatchTheServer = [
  Check<Same<W.UserOut, Static<typeof S.UserOut>>>,
  Check<Same<W.MessageOut, Static<typeof S.MessageOut>>>,
  Check<Same<W.ConversationOut, Static<typeof S.ConversationOut>>>,
  Check<Same<W.MemberOut, Static<typeof S.MemberOut>>>,
  Check<Same<W.SessionOut, Static<typeof S.SessionOut>>>,
  Check<Same<W.HistoryOut, Static<typeof S.HistoryOut>>>,
  Check<Same<W.PresenceOut, Static<typeof S.PresenceOut>>>,
  Check<Same<W.BlockOut, Static<typeof S.BlockOut>>>,
  Check<Same<W.UploadOut, Static<typeof S.UploadOut>>>,
  Check<Same<W.ChangesOut, Static<typeof S.ChangesOut>>>,
  Check<Same<W.SendBody, Static<typeof S.SendBody>>>,
  Check<Same<W.CreateConversationBody, Static<typeof S.CreateConversationBody>>>,
  Check<Same<W.RegisterBody, Static<typeof S.RegisterBody>>>,
  Check<Same<W.InviteIssuedOut, Static<typeof S.InviteIssuedOut>>>,
  Check<Same<W.Cursor, Static<typeof S.Cursor>>>,
  Check<Same<T.ClientFrame, { [K in keyof typeof S.ClientFrames]: Static<(typeof S.ClientFrames)[K]> }[keyof typeof S.ClientFrames]>>,
  Check<Same<T.ServerFrame, { [K in keyof typeof S.ServerFrames]: Static<(typeof S.ServerFrames)[K]> }[keyof typeof S.ServerFrames]>>,
  Check<Same<keyof W.ClientFrames, keyof typeof S.ClientFrames>>,
  Check<Same<keyof W.ServerFrames, keyof typeof S.ServerFrames>>,
];
