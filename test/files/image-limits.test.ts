// What an image may cost to decode, read from its header before any pixel is decoded:
// IMAGE_MAX_PIXELS (every frame of an animation counted) and IMAGE_MAX_DECODED_BYTES (one
// frame's width × height × channels × bytes per sample). Over either, the image gets the
// invalid-file answer on every path and nothing is stored. Small limits here, so the images
// stay small; the real bomb at the default limits is test/files/image-bombs.test.ts.
// SQLite only: decoding never reaches the store.
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { useParley } from '../helpers/parley.js';
import { pngBomb } from '../../scripts/stall/bombs.js';
import { expectErrorFrame, fileEntry, image, sendFrom, settledFiles, storedFiles, upload, useRoom } from './support.js';

/** An animation of `frames` frames of w × h, each a different colour (encoders merge equal frames). */
async function animation(format: 'gif' | 'webp', w: number, h: number, frames: number): Promise<Buffer> {
  const pages = await Promise.all(
    Array.from({ length: frames }, (_, i) => sharp({ create: { width: w, height: h, channels: 4, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: 40, alpha: 1 } } }).png().toBuffer()),
  );
  const joined = sharp(pages, { join: { animated: true } });
  return (format === 'gif' ? joined.gif() : joined.webp({ lossless: true })).toBuffer();
}

describe('image decoding limits (IMAGE_MAX_PIXELS, IMAGE_MAX_DECODED_BYTES)', () => {
  const server = useParley({ env: { IMAGE_MAX_PIXELS: '1000000', IMAGE_MAX_DECODED_BYTES: String(4 * 1024 * 1024) } });
  const r = useRoom(server);

  /** Refused with `detail` on upload-files (400) and as an error frame on the socket; nothing written. */
  async function refusedEverywhere(bytes: Buffer, name: string, mime: string, detail: string) {
    const before = await settledFiles(server);
    const res = await upload(server, r.a, [{ bytes, name, type: mime }], 'image');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail });
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(bytes, name, mime)] }), 'invalid_file', detail);
    expect(storedFiles(server)).toEqual(before);
  }

  async function accepted(bytes: Buffer, name: string, mime: string) {
    const res = await upload(server, r.a, [{ bytes, name, type: mime }], 'image');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const ack = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(bytes, name, mime)] });
    expect(ack.type, JSON.stringify(ack)).toBe('new_message');
  }

  it('more pixels than IMAGE_MAX_PIXELS: refused, with the size in the answer', async () => {
    await refusedEverywhere(await image('png', 1100, 1000), 'wide.png', 'image/png', 'The image could not be decoded: 1100×1000 pixels is more than 1000000 pixels');
    await accepted(await image('png', 1000, 1000), 'square.png', 'image/png');
  });

  it('a frame that decodes to more than IMAGE_MAX_DECODED_BYTES: refused though within the pixel limit', async () => {
    // 800 × 800 RGBA at 16 bits is 5.12 MB decoded; the same at 8 bits is 2.56 MB.
    const deep = await pngBomb({ width: 800, height: 800, bitDepth: 16, alpha: true });
    expect(deep.length).toBeLessThan(10_000);
    await refusedEverywhere(deep, 'deep.png', 'image/png', 'The image could not be decoded: 800×800 pixels of 4 channels at 16 bits take 5 MiB decoded, more than 4 MiB');
    await accepted(await pngBomb({ width: 800, height: 800, bitDepth: 8, alpha: true }), 'shallow.png', 'image/png');
  });

  it('animations: every frame counts toward the pixel limit (GIF and WebP)', async () => {
    await refusedEverywhere(await animation('gif', 400, 400, 8), 'long.gif', 'image/gif', 'The image could not be decoded: 400×400 pixels × 8 frames is more than 1000000 pixels');
    await refusedEverywhere(await animation('webp', 400, 400, 8), 'long.webp', 'image/webp', 'The image could not be decoded: 400×400 pixels × 8 frames is more than 1000000 pixels');
    await accepted(await animation('gif', 400, 400, 4), 'short.gif', 'image/gif');
    await accepted(await animation('webp', 400, 400, 4), 'short.webp', 'image/webp');
  });
});
