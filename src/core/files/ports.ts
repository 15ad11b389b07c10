// What the file service needs from media libraries it does not call itself: an image
// decoder (src/backends/media/sharp-image-inspector.ts) and an audio probe
// (src/backends/media/worker-audio-probe.ts). The core keeps the rules: what an image may
// cost to decode (checkImageHeader, applied by every inspector before it decodes), how
// many decodes run at once (MediaPool) and what a measurement must be to be accepted.
import { refusal } from '../errors.js';

/** What the audio probe reads: a file on disk (a streamed upload) or bytes in memory (base64). */
export type AudioInput = { path: string; size: number } | { bytes: Uint8Array };

/** The measured duration in seconds; null when the stream has none; 'timeout' past the deadline. */
export type AudioProbeResult = number | null | 'timeout';

/** Measures audio off the event loop, each measurement stopped at `timeoutMs`. */
export interface AudioProbe {
  readonly timeoutMs: number;
  duration(input: AudioInput, mime: string): Promise<AudioProbeResult>;
  /** Stops whatever it runs (shutdown). */
  close(): Promise<void>;
}

/** What an image inspector reads: the bytes in memory or the path of a staged file. */
export type ImageInput = Buffer | string;

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

/**
 * Reads an image's header, refuses it through checkImageHeader when it would cost too much,
 * then decodes it into a thumbnail, which also proves it is not broken. Throws
 * DomainError('invalid_file') with the reason for anything it refuses. One call may hold up
 * to `maxDecodedBytes`: the file service runs it through MediaPool.
 */
export interface ImageInspector {
  inspect(image: ImageInput, mime: string, limits: ImageLimits): Promise<ImageFacts>;
}

/** The fields of an image header the limits read. */
export interface ImageHeader {
  width?: number;
  height?: number;
  pageHeight?: number;
  pages?: number;
  channels?: number;
  depth?: string;
}

const BYTES_PER_SAMPLE: Record<string, number> = { uchar: 1, char: 1, ushort: 2, short: 2, uint: 4, int: 4, float: 4, complex: 8, double: 8, dpcomplex: 16 };

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
