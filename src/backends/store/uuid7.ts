import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562) for the send path, where every message (and its events) takes one. The
 * `uuid` package refills a 256-byte pool, one getrandom(2) per 16 ids (1.3% of the server's
 * CPU under `npm run bench`); this draws from 16 KiB (one per 1,024 ids). Layout as the
 * package's v7: 48 bits of epoch ms, then a 32-bit counter seeded at random each new
 * millisecond and incremented within one (so ids taken in order sort in order, and a full
 * counter moves to the next millisecond), then 42 random bits.
 */
const POOL = new Uint8Array(16 * 1024);
let at = POOL.length;
let lastMs = -Infinity;
let counter = 0;

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i + 0x100).toString(16).slice(1));

function random(n: number): number {
  if (at + n > POOL.length) {
    randomFillSync(POOL);
    at = 0;
  }
  const from = at;
  at += n;
  return from;
}

/** `dash`: '' gives the 32 hex digits alone (an event's id), without a second pass to strip them. */
export function uuidv7(now = Date.now(), dash = '-'): string {
  const r = random(10);
  if (now > lastMs) {
    lastMs = now;
    // The top bit clear: room to count up within the millisecond (the package does the same).
    counter = ((POOL[r] & 0x7f) << 24) | (POOL[r + 1] << 16) | (POOL[r + 2] << 8) | POOL[r + 3];
  } else {
    counter = (counter + 1) | 0;
    if (counter === 0) lastMs++;
  }
  const ms = lastMs;
  const c = counter;
  return (
    HEX[(ms / 0x10000000000) & 0xff] +
    HEX[(ms / 0x100000000) & 0xff] +
    HEX[(ms / 0x1000000) & 0xff] +
    HEX[(ms / 0x10000) & 0xff] +
    dash +
    HEX[(ms / 0x100) & 0xff] +
    HEX[ms & 0xff] +
    dash +
    HEX[0x70 | ((c >>> 28) & 0x0f)] +
    HEX[(c >>> 20) & 0xff] +
    dash +
    HEX[0x80 | ((c >>> 14) & 0x3f)] +
    HEX[(c >>> 6) & 0xff] +
    dash +
    HEX[((c << 2) & 0xff) | (POOL[r + 4] & 0x03)] +
    HEX[POOL[r + 5]] +
    HEX[POOL[r + 6]] +
    HEX[POOL[r + 7]] +
    HEX[POOL[r + 8]] +
    HEX[POOL[r + 9]]
  );
}
