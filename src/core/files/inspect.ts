// Reads what a file is from its bytes: the sniffed type, the checks against polyglots, the
// measurements (image size, audio duration) and the thumbnail. Declared metadata is never
// trusted; `files.ts` compares it with what is found here.
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import type { default as Sharp } from 'sharp';
import { DomainError, refusal } from '../errors.js';
import type { AudioInput, AudioProbe } from './audio-probe.js';
import { CFB_MIME, canonicalMime } from './policy.js';

// sharp (libvips) and file-type are loaded with the first file, not at start: together they
// are about a tenth of a restart's time.
let sharpLoaded: Promise<typeof Sharp> | null = null;
function loadSharp(): Promise<typeof Sharp> {
  return (sharpLoaded ??= import('sharp').then(({ default: sharp }) => {
    // libvips' operation cache keeps decoded images around; uploads are seen once.
    sharp.cache(false);
    // One libvips thread per image: MediaPool bounds how many images are decoded at once, and
    // this keeps each of them to one core, so the event loop keeps one for itself.
    sharp.concurrency(1);
    return sharp;
  }));
}
const fileType = () => import('file-type');

/** The bytes of one file, in memory (a base64 upload) or on disk (a streamed upload). */
export interface Source {
  readonly size: number;
  head(n: number): Promise<Buffer>;
  tail(n: number): Promise<Buffer>;
  sniff(): Promise<{ mime: string; ext: string } | undefined>;
  /** Valid UTF-8 without NUL or other binary control bytes. */
  isText(): Promise<boolean>;
  /** What the audio probe reads. */
  readonly audio: AudioInput;
  /** What sharp reads. */
  readonly image: Buffer | string;
}

// Bytes that never occur in text: everything below 0x20 except \t \n \f \r, and DEL.
const BINARY_BYTES = [...Array(32).keys()].filter((b) => ![9, 10, 12, 13].includes(b)).concat(127);
const hasBinaryByte = (b: Buffer) => BINARY_BYTES.some((x) => b.indexOf(x) !== -1);

export class BufferSource implements Source {
  constructor(readonly bytes: Buffer) {}
  get size() {
    return this.bytes.length;
  }
  get image() {
    return this.bytes;
  }
  async head(n: number) {
    return this.bytes.subarray(0, n);
  }
  async tail(n: number) {
    return this.bytes.subarray(Math.max(0, this.bytes.length - n));
  }
  async sniff() {
    return (await fileType()).fileTypeFromBuffer(this.bytes);
  }
  async isText() {
    return isUtf8(this.bytes) && !hasBinaryByte(this.bytes);
  }
  get audio() {
    return { bytes: this.bytes };
  }
}

export class FileSource implements Source {
  constructor(
    readonly path: string,
    readonly size: number,
  ) {}
  get image() {
    return this.path;
  }
  async #read(position: number, length: number): Promise<Buffer> {
    const fh = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, this.size - position)));
      const { bytesRead } = await fh.read(buf, 0, buf.length, position);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
  head(n: number) {
    return this.#read(0, n);
  }
  tail(n: number) {
    const start = Math.max(0, this.size - n);
    return this.#read(start, this.size - start);
  }
  async sniff() {
    return (await fileType()).fileTypeFromFile(this.path);
  }
  async isText() {
    // Streamed through a fatal decoder: memory stays at one chunk.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const fh = await open(this.path, 'r');
    try {
      for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
        const b = chunk as Buffer;
        if (hasBinaryByte(b)) return false;
        decoder.decode(b, { stream: true });
      }
      decoder.decode();
      return true;
    } catch {
      return false;
    } finally {
      await fh.close();
    }
  }
  get audio() {
    return { path: this.path, size: this.size };
  }
}

/** What the bytes are, before any policy: the canonical sniffed MIME type, or null when unknown. */
export async function sniff(source: Source): Promise<string | null> {
  const found = await source.sniff().catch(() => undefined);
  if (found) return found.mime === CFB_MIME ? CFB_MIME : canonicalMime(found.mime);
  return (await source.isText()) ? 'text/plain' : null;
}


// What a browser looks for when it sniffs HTML or script (the first 1 KB is its window).
const MARKUP = /<(?:!doctype\s+html|html|head|body|script|iframe|svg|object|embed|\?php|%)[\s>/]/i;
// Containers that may legitimately hold stored (uncompressed) markup, and text itself.
const MARKUP_EXEMPT = new Set([
  'text/plain',
  'application/zip',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/msword',
  'application/vnd.ms-excel',
]);
const ZIP_BASED = new Set([
  'application/zip',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
]);

/** A ZIP end-of-central-directory record that ends exactly at the end of `tail`: an appended archive. */
function endsWithZip(tail: Buffer): boolean {
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) {
      if (i + 22 + tail.readUInt16LE(i + 20) === tail.length) return true;
    }
  }
  return false;
}

const PNG_END = Buffer.from('0000000049454e44ae426082', 'hex');

/**
 * Refuses a file that is also something else: markup where a browser would sniff it, an
 * archive appended to a non-archive (GIFAR, PDF+ZIP), bytes after an image's or a WAV's
 * own end. A file that passes holds one format only.
 */
export async function refusePolyglot(source: Source, mime: string): Promise<void> {
  const head = await source.head(1024);
  if (!MARKUP_EXEMPT.has(mime) && MARKUP.test(head.toString('latin1'))) {
    throw refusal('polyglot_markup');
  }
  const tail = await source.tail(65_535 + 22);
  if (!ZIP_BASED.has(mime) && endsWithZip(tail)) throw refusal('polyglot_archive');

  const trailing = () => refusal('polyglot_trailing_data');
  switch (mime) {
    case 'image/png':
      if (tail.length < 12 || !tail.subarray(tail.length - 12).equals(PNG_END)) throw trailing();
      break;
    case 'image/jpeg': {
      // Encoders may pad after EOI with 0x00 or 0xFF; anything else is a passenger.
      let end = tail.length;
      while (end > 0 && (tail[end - 1] === 0x00 || tail[end - 1] === 0xff)) end--;
      if (end < 2 || tail[end - 2] !== 0xff || tail[end - 1] !== 0xd9) throw trailing();
      break;
    }
    case 'image/gif':
      if (tail[tail.length - 1] !== 0x3b) throw trailing();
      break;
    case 'image/webp':
    case 'audio/wav': {
      const riff = head.length >= 8 && head.toString('latin1', 0, 4) === 'RIFF' ? head.readUInt32LE(4) + 8 : -1;
      // A streaming writer may leave the size unset (0 or 0xFFFFFFFF); a RIFF that ends early has a passenger.
      const unset = riff === 8 || riff === 0xffffffff + 8;
      if (riff < 0 || (!unset && riff + (riff % 2) < source.size)) throw trailing();
      break;
    }
  }
}

export interface ImageFacts {
  width: number;
  height: number;
  thumbnail: Buffer;
}

/** What an image may cost to decode (Config: IMAGE_MAX_PIXELS, IMAGE_MAX_DECODED_BYTES, MEDIA_TIMEOUT_MS). */
export interface ImageLimits {
  maxPixels: number;
  maxDecodedBytes: number;
  timeoutMs: number;
}

const SHARP_FORMAT: Record<string, string> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp' };
const BYTES_PER_SAMPLE: Record<string, number> = { uchar: 1, char: 1, ushort: 2, short: 2, uint: 4, int: 4, float: 4, complex: 8, double: 8, dpcomplex: 16 };
const THUMBNAIL_SIDE = 320;

/** The fields of sharp's metadata() the limits read. */
export interface ImageHeader {
  width?: number;
  height?: number;
  pageHeight?: number;
  pages?: number;
  channels?: number;
  depth?: string;
}

/**
 * Refuses, from the header alone, an image that would cost too much to decode: more pixels
 * than `maxPixels` (every frame of an animation counted: a recipient's device plays them
 * all), or one frame whose decoded raster (width × height × channels × bytes per sample)
 * is over `maxDecodedBytes`. libvips decodes an interlaced PNG, a progressive JPEG and a
 * GIF frame whole, so that raster is what one image holds in memory: a 900 KB 16-bit
 * interlaced PNG of 10 000 × 10 000 claims 600 MB and peaked at 640 MB.
 */
export function checkImageHeader(meta: ImageHeader, limits: ImageLimits): { width: number; height: number } {
  const width = meta.width ?? 0;
  // An animation's height is one frame's (sharp reads the first page unless asked for more).
  const frameHeight = meta.pageHeight ?? meta.height ?? 0;
  if (width < 1 || frameHeight < 1) throw refusal('image_no_size');
  const frames = Math.max(1, meta.pages ?? 1);
  const pixels = width * frameHeight * frames;
  if (pixels > limits.maxPixels) {
    throw refusal('image_too_many_pixels', { width, height: frameHeight, frames, max: limits.maxPixels });
  }
  const channels = meta.channels ?? 4;
  const bytesPerSample = BYTES_PER_SAMPLE[meta.depth ?? 'uchar'] ?? 8;
  const decoded = width * frameHeight * channels * bytesPerSample;
  if (decoded > limits.maxDecodedBytes) {
    throw refusal('image_too_large_decoded', { width, height: frameHeight, channels, bits: bytesPerSample * 8, decoded_bytes: decoded, max_bytes: limits.maxDecodedBytes });
  }
  return { width, height: frameHeight };
}

/**
 * Reads the header (sharp's metadata() decodes no pixels), refuses what would cost too much
 * (checkImageHeader), then decodes the first frame into a WebP thumbnail, which also proves
 * the image is not broken. Run it through MediaPool: one call may hold up to
 * `maxDecodedBytes`.
 */
export async function inspectImage(source: Source, mime: string, limits: ImageLimits): Promise<ImageFacts> {
  const options = { failOn: 'error', limitInputPixels: limits.maxPixels, sequentialRead: true } as const;
  const sharp = await loadSharp(); // outside the try: a sharp that cannot load is no bad image
  try {
    // The header only: libvips decodes no pixel for metadata(), so its own pixel limit is
    // left to the decode below and the header check gives the reason in full.
    const meta = await sharp(source.image, { failOn: 'error', limitInputPixels: false }).metadata();
    if (meta.format !== SHARP_FORMAT[mime]) throw refusal('image_wrong_format', { mime });
    const { width, height } = checkImageHeader(meta, limits);
    const swap = (meta.orientation ?? 1) >= 5;
    const thumbnail = await sharp(source.image, options)
      .timeout({ seconds: Math.max(1, Math.ceil(limits.timeoutMs / 1000)) })
      .rotate()
      .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 70 })
      .toBuffer();
    return { width: swap ? height : width, height: swap ? width : height, thumbnail };
  } catch (e) {
    if (e instanceof DomainError) throw e;
    const message = (e as Error).message;
    if (/pixel limit/i.test(message)) throw refusal('image_over_pixel_limit', { max: limits.maxPixels });
    if (/timeout/i.test(message)) throw refusal('image_timeout', { seconds: Math.ceil(limits.timeoutMs / 1000) });
    throw refusal('image_damaged');
  }
}

/**
 * The audio's duration in seconds, measured from the stream (the declared one is ignored),
 * in a worker with a deadline (AudioProbe). Run it through MediaPool.
 */
export async function measureAudio(source: Source, mime: string, probe: AudioProbe): Promise<number> {
  let seconds: number | null | 'timeout';
  try {
    seconds = await probe.duration(source.audio, mime);
  } catch {
    seconds = null;
  }
  if (seconds === 'timeout') {
    throw refusal('audio_timeout', { seconds: Math.ceil(probe.timeoutMs / 1000) });
  }
  if (seconds === null || !Number.isFinite(seconds) || seconds <= 0) {
    throw refusal('audio_no_duration');
  }
  return Math.round(seconds * 1000) / 1000;
}
