import { randomBytes } from 'node:crypto';

// Frames that carry files as base64 (documents 000/001/002: `file_data`, `files_data[].file_data`)
// are the only ones allowed past WS_MAX_FRAME_BYTES. JSON.parse of such a frame made a string
// of the whole frame, then one of each file, on the event loop (a 78 MB frame stalled the
// server for seconds and cost ~3.5 times its size). Instead, the base64 text of each
// `file_data` is cut out of the received bytes (base64 has no quote and needs no escape, so
// its end is the next quote), the small rest is parsed as usual, and each file is decoded
// from its slice of the frame later (Files.send), a few MiB at a time.

/** `file_data` values shorter than this stay in the JSON: a small one may be an upload's file_path. */
const CUT_MIN_BYTES = 4096;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const KEY = Buffer.from('file_data');

/** The base64 text of a file as received: its bytes in the frame, or a string if the client escaped characters in it. */
export type FileText = Buffer | string;

const cut = new WeakMap<object, Map<string, FileText>>();

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Index of the quote that ends the JSON string whose opening quote is at `open`, or -1. */
function stringEnd(buf: Buffer, open: number): number {
  let from = open + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, from);
    if (q < 0) return -1;
    let backslashes = 0;
    for (let b = q - 1; b > open && buf[b] === BACKSLASH; b--) backslashes++;
    if (backslashes % 2 === 0) return q;
    from = q + 1;
  }
}

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length && isSpace(buf[i])) i++;
  return i;
}

/**
 * The frame `raw` with every long `file_data` string replaced by a placeholder, parsed, or
 * 'too big' when what is left is still over `maxJsonBytes`, or null when it is not a JSON
 * object. The cut files are read back from the parsed frame with `fileTextOf`.
 */
export function parseFileFrame(raw: Buffer, maxJsonBytes: number): Record<string, unknown> | null | 'too big' {
  const pieces: Buffer[] = [];
  const files = new Map<string, FileText>();
  const nonce = randomBytes(6).toString('hex');
  let kept = 0;
  let last = 0;
  let pos = 0;
  for (;;) {
    const open = raw.indexOf(QUOTE, pos);
    if (open < 0) break;
    const close = stringEnd(raw, open);
    if (close < 0) break; // unterminated: JSON.parse of the rest says so
    pos = close + 1;
    const afterKey = skipSpace(raw, pos);
    if (close - open - 1 !== KEY.length || raw[afterKey] !== COLON || !raw.subarray(open + 1, close).equals(KEY)) continue;
    const vOpen = skipSpace(raw, afterKey + 1);
    if (raw[vOpen] !== QUOTE) continue;
    const vClose = stringEnd(raw, vOpen);
    if (vClose < 0) break;
    pos = vClose + 1;
    if (vClose - vOpen - 1 < CUT_MIN_BYTES) continue;
    const text = raw.subarray(vOpen + 1, vClose);
    // A NUL cannot be in a sent string unescaped, and the nonce is this frame's: no client
    // value can be taken for a placeholder.
    const placeholder = `\u0000file:${nonce}:${files.size}`;
    let value: FileText = text;
    if (text.includes(BACKSLASH)) {
      // Escaped characters (PHP writes "\/", MIME line breaks come as "\n"): JSON's own reading.
      try {
        value = JSON.parse(`"${text.toString('utf8')}"`) as string;
      } catch {
        return null;
      }
    }
    files.set(placeholder, value);
    const head = raw.subarray(last, vOpen);
    const ph = Buffer.from(JSON.stringify(placeholder));
    pieces.push(head, ph);
    kept += head.length + ph.length;
    last = vClose + 1;
    if (kept > maxJsonBytes) return 'too big';
  }
  const tail = raw.subarray(last);
  if (kept + tail.length > maxJsonBytes) return 'too big';
  pieces.push(tail);
  let frame: unknown;
  try {
    frame = JSON.parse(Buffer.concat(pieces, kept + tail.length).toString('utf8'));
  } catch {
    return null;
  }
  if (!frame || typeof frame !== 'object' || Array.isArray(frame)) return null;
  if (files.size > 0) cut.set(frame, files);
  return frame as Record<string, unknown>;
}

/**
 * Reads a `file_data` value of a frame parsed by parseFileFrame: the file's base64 text if the
 * value is a placeholder (taken: asking again gives the placeholder), else the value itself.
 */
export function fileTextOf(frame: object, value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith('\u0000file:')) return value;
  const files = cut.get(frame);
  const text = files?.get(value);
  if (text === undefined) return value;
  files!.delete(value);
  return text;
}
