import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileTextOf, parseFileFrame } from '../../src/dialects/shared/file-frames.js';

// src/dialects/shared/file-frames.ts reads a big frame without JSON.parse-ing its base64: it
// cuts each long `file_data` string out of the bytes. The invariant: whatever the frame, what
// the handlers see (the parsed rest, with each cut value read back through fileTextOf) is what
// JSON.parse of the whole frame gives. Over the real socket: test/files/ws-big-frames.test.ts.

const b64Char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='.split(''));
const longBase64 = fc.tuple(fc.string({ unit: b64Char, minLength: 1, maxLength: 64 }), fc.integer({ min: 4096, max: 9000 })).map(([seed, n]) => seed.repeat(Math.ceil(n / seed.length)));
const fileData = fc.oneof(longBase64, fc.string({ maxLength: 40 }), fc.constant('/static/chat_files/files/1_2_0_a.pdf'));

/** Objects of JSON values where `file_data` keys turn up at any depth, next to strings that mention them. */
const { frame } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 20 }),
    fc.constant('"file_data": "AAAA\\"'),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('frame'),
  ),
  frame: fc
    .tuple(fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constant('file_data ')), tie('value'), { maxKeys: 4 }), fc.option(fileData, { nil: undefined }), fc.option(fc.array(fc.record({ file_data: fileData, file_name: fc.string({ maxLength: 8 }) }), { maxLength: 3 }), { nil: undefined }))
    .map(([rest, fd, list]) => ({ ...rest, ...(fd === undefined ? {} : { file_data: fd }), ...(list === undefined ? {} : { files_data: list }) })),
}));

/** JSON text as different clients write it: compact, indented, PHP's "\/". */
const encoding = fc.constantFrom('compact', 'indented', 'php');
const encode = (v: unknown, how: string) => {
  const s = how === 'indented' ? JSON.stringify(v, null, 2) : JSON.stringify(v);
  return how === 'php' ? s.replaceAll('/', '\\/') : s;
};

/** The frame with every value read back as a handler does, cut file text turned into a string. */
function readBack(frameObj: object, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => readBack(frameObj, x));
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => {
        const t = k === 'file_data' ? fileTextOf(frameObj, x) : x;
        return [k, Buffer.isBuffer(t) ? t.toString('latin1') : readBack(frameObj, t)];
      }),
    );
  }
  return v;
}

describe('parseFileFrame', () => {
  it('property: the parsed rest plus the cut file_data equals JSON.parse of the whole frame, for any frame and encoding', () => {
    let cut = 0;
    fc.assert(
      fc.property(frame, encoding, (v, how) => {
        const json = encode(v, how);
        const parsed = parseFileFrame(Buffer.from(json), 1024 * 1024);
        expect(parsed).not.toBe('too big');
        if (JSON.stringify(parsed).includes('\\u0000file:')) cut++;
        expect(readBack(parsed as object, parsed)).toEqual(JSON.parse(json));
      }),
      { numRuns: 400, seed: 20260616 },
    );
    // The runs did cut files out, at every depth the generator reaches.
    expect(cut).toBeGreaterThan(100);
  });

  it('property: "too big" exactly when what is left after cutting is over the limit', () => {
    fc.assert(
      fc.property(frame, fc.integer({ min: 64, max: 4096 }), (v, limit) => {
        const json = JSON.stringify(v);
        const parsed = parseFileFrame(Buffer.from(json), limit);
        // The rest is the compact text with each cut value replaced by its placeholder: the
        // unlimited parse, written back compactly.
        const rest = Buffer.byteLength(JSON.stringify(parseFileFrame(Buffer.from(json), Infinity)));
        expect(parsed === 'too big').toBe(rest > limit);
      }),
      { numRuns: 300, seed: 20260617 },
    );
  });

  it('a file_data key inside a string is text, not a file: it is never cut', () => {
    const content = '"file_data": "' + 'A'.repeat(5000) + '"';
    const json = JSON.stringify({ type: 'send_message', data: { content } });
    const parsed = parseFileFrame(Buffer.from(json), 1024 * 1024) as { data: { content: string } };
    expect(parsed.data.content).toBe(content);
  });

  it('what is not a JSON object is null, as JSON.parse would refuse it', () => {
    for (const bad of ['[1,2]', '"file_data"', '{"file_data": "' + 'A'.repeat(5000), '{"a":1', '{"file_data":"' + 'A'.repeat(5000) + '\\x"}']) {
      expect(parseFileFrame(Buffer.from(bad), 1024 * 1024), bad.slice(0, 30)).toBeNull();
    }
  });
});
