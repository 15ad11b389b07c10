import { setImmediate as nextTurn } from 'node:timers/promises';
import { DomainError, refusal } from '../errors.js';

/**
 * Base64 characters decoded per step, then other sockets get a turn: 1 MiB of text is a few
 * ms of work (Node 20 makes a string of it, then decodes it), ~15 ms on a loaded machine.
 */
const STEP = 1024 * 1024;

const invalid = () => refusal('file_data_not_base64');

/**
 * Decodes base64 text held as bytes (a file's slice of a received frame), with the rules of
 * decodeBase64 (strict, either alphabet, optional data: URL prefix, size refused before any
 * decoding), without first making one string of it: 1 MiB at a time into the output,
 * yielding to the event loop between steps, so a 50 MB file neither doubles in memory nor
 * stalls the other sockets.
 */
export async function decodeBase64Text(text: Buffer, maxBytes: number): Promise<Buffer> {
  let s = text;
  if (s.subarray(0, 5).toString('latin1') === 'data:') {
    const comma = s.indexOf(0x2c);
    if (comma < 0 || comma > 512 || !/;base64$/i.test(s.subarray(0, comma).toString('latin1'))) {
      throw refusal('file_data_not_base64_url');
    }
    s = s.subarray(comma + 1);
  }
  // Spaces are not base64, but decodeBase64 lets line-wrapped text through, so this does too
  // (in a frame's raw bytes a line break would be escaped: that text arrives as a string).
  if (s.includes(0x20)) s = Buffer.from(s.toString('latin1').replace(/ +/g, ''), 'latin1');
  if (s.length === 0) throw refusal('file_data_empty');
  const pad = s[s.length - 1] === 0x3d ? (s[s.length - 2] === 0x3d ? 2 : 1) : 0;
  const expected = Math.floor((s.length * 3) / 4) - pad;
  if (expected > maxBytes) throw new DomainError('file_too_large', { params: { max_bytes: maxBytes } });
  if (s.length % 4 === 1 || (pad > 0 && s.length % 4 !== 0)) throw invalid();
  const out = Buffer.allocUnsafe(expected);
  let written = 0;
  for (let at = 0; at < s.length; at += STEP) {
    const chunk = s.toString('latin1', at, Math.min(at + STEP, s.length));
    const n = out.write(chunk, written, 'base64');
    // Node skips characters it does not know: a stray one makes a step come up short. Whole
    // steps are multiples of 4 characters without padding, so each gives exactly 3/4 of itself.
    const want = at + STEP >= s.length ? expected - written : (chunk.length / 4) * 3;
    if (n !== want) throw invalid();
    written += n;
    if (at + STEP < s.length) await nextTurn();
  }
  return out;
}
