// Decompression bombs, built at run time (nothing big is committed): small files whose
// headers claim huge decoded sizes.
import { createDeflate, constants } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(...parts: Buffer[]): number {
  let c = 0xffffffff;
  for (const b of parts) for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head.subarray(4), data), 0);
  return Buffer.concat([head, data, crc]);
}

// Adam7: (x start, y start, x step, y step) of each of the seven passes.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes of the filtered scanlines a PNG decoder inflates (filter byte + samples per row). */
function rawSize(width: number, height: number, bytesPerPixel: number, interlaced: boolean): number {
  if (!interlaced) return height * (1 + width * bytesPerPixel);
  let n = 0;
  for (const [xs, ys, dx, dy] of ADAM7) {
    const cols = Math.ceil(Math.max(0, width - xs) / dx);
    const rows = Math.ceil(Math.max(0, height - ys) / dy);
    if (cols > 0 && rows > 0) n += rows * (1 + cols * bytesPerPixel);
  }
  return n;
}

/**
 * A black PNG of width × height: 16-bit RGB, Adam7-interlaced by default (libvips must
 * decode an interlaced PNG whole). Its pixels are zeros, which deflate squeezes about a
 * thousand to one: 10 000 × 10 000 is ~600 MB of scanlines in ~600 KB.
 */
export async function pngBomb(opts: { width?: number; height?: number; bitDepth?: 8 | 16; interlaced?: boolean; alpha?: boolean } = {}): Promise<Buffer> {
  const { width = 10_000, height = 10_000, bitDepth = 16, interlaced = true, alpha = false } = opts;
  const channels = alpha ? 4 : 3;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = alpha ? 6 : 2;
  ihdr[12] = interlaced ? 1 : 0;
  // Every scanline is filter 0 (None) followed by zero samples: the whole stream is zeros.
  let left = rawSize(width, height, channels * (bitDepth / 8), interlaced);
  const deflate = createDeflate({ level: constants.Z_BEST_COMPRESSION, memLevel: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const zeros = Buffer.alloc(1 << 20);
  while (left > 0) {
    const n = Math.min(left, zeros.length);
    left -= n;
    if (!deflate.write(zeros.subarray(0, n))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  const idat = Buffer.concat(out);
  const parts: Buffer[] = [Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr)];
  // Several IDAT chunks, as encoders write them.
  for (let i = 0; i < idat.length; i += 1 << 16) parts.push(chunk('IDAT', idat.subarray(i, i + (1 << 16))));
  parts.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
