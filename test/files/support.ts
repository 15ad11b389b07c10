// Fixtures of the files suite: real files made here (images by sharp, a WAV and MP3 frames
// written byte by byte, a PDF with a real header), real servers, real sockets. Not a test
// file: every *.test.ts beside it imports what it needs.
import { readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect } from 'vitest';
import type { DocumentBody } from '../helpers/parley-api.js';
import { api, chatSocket, eventually, newRoom, newUser, type ApiResponse, type Frame, type TestSocket, type TestUser } from '../helpers/clients.js';
import type { TestServer } from '../helpers/parley.js';

export { databases } from '../helpers/pg.js';

export const MB = 1024 * 1024;

/** A noisy RGB image (noise does not compress: a PNG of w×h is about 3·w·h bytes). */
export async function image(format: 'png' | 'jpeg' | 'gif' | 'webp', width = 64, height = 48, opts: { noise?: boolean } = {}): Promise<Buffer> {
  const base = opts.noise
    ? sharp(randomPixels(width, height), { raw: { width, height, channels: 3 } })
    : sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } });
  switch (format) {
    case 'png':
      return base.png({ compressionLevel: opts.noise ? 0 : 6 }).toBuffer();
    case 'jpeg':
      return base.jpeg({ quality: 80 }).toBuffer();
    case 'gif':
      return base.gif().toBuffer();
    case 'webp':
      return base.webp().toBuffer();
  }
}

function randomPixels(w: number, h: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  let x = 123456789;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** A mono 16-bit PCM WAV of `seconds` (a sine), header written field by field. */
export function wav(seconds: number, rate = 8000): Buffer {
  const n = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVE', 8, 'latin1');
  b.write('fmt ', 12, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return b;
}

/** MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, 417 bytes, 1152 samples each): `frames` of them. */
export function mp3(frames: number): Buffer {
  const frame = Buffer.alloc(417);
  Buffer.from('fffb9000', 'hex').copy(frame);
  return Buffer.concat(Array.from({ length: frames }, () => frame));
}

/** A PDF with a real header and trailer, padded (inside a stream) to `size` bytes. */
export function pdf(size = 2048): Buffer {
  const head = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n2 0 obj\n<< /Length 0 >>\nstream\n', 'latin1');
  const tail = Buffer.from('\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1');
  const pad = Buffer.alloc(Math.max(0, size - head.length - tail.length), 0x20);
  return Buffer.concat([head, pad, tail]);
}

/** An (empty) ZIP archive: only its end-of-central-directory record. */
export const emptyZip = () => Buffer.concat([Buffer.from('504b0506', 'hex'), Buffer.alloc(18)]);

/** An OLE compound file header (the container of .doc and .xls), padded to one sector. */
export function cfb(): Buffer {
  const b = Buffer.alloc(1536);
  Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(b);
  b.writeUInt16LE(0x3e, 24);
  b.writeUInt16LE(3, 26);
  b.writeUInt16LE(0xfffe, 28);
  b.writeUInt16LE(9, 30);
  return b;
}

export const b64 = (b: Buffer) => b.toString('base64');

/** One entry of 001's files_data. */
export const fileEntry = (bytes: Buffer, file_name: string, mime_type: string | null, extra: Record<string, unknown> = {}) => ({
  file_data: b64(bytes),
  file_name,
  file_size: bytes.length,
  mime_type,
  ...extra,
});

export interface Room {
  server: TestServer;
  a: TestUser;
  b: TestUser;
  room: number;
  sa: TestSocket;
  sb: TestSocket;
}

/** Two users, their room, and a socket each in it. */
export async function room(server: TestServer): Promise<Room> {
  const [a, b] = await Promise.all([newUser(server), newUser(server)]);
  const id = await newRoom(server, a, b);
  const [sa, sb] = await Promise.all([chatSocket(server, a, id), chatSocket(server, b, id)]);
  return { server, a, b, room: id, sa, sb };
}

export function closeRoom(r: Room) {
  r.sa.close();
  r.sb.close();
}

/**
 * `room(server)` for the describe block it is called in (after `useParley`): made before its
 * first test, its sockets closed after its last. The object reads through to that room.
 */
export function useRoom(server: TestServer): Room {
  let current: Room | undefined;
  beforeAll(async () => {
    current = await room(server);
  });
  afterAll(() => current && closeRoom(current));
  return new Proxy({} as Room, {
    get(_, key: keyof Room) {
      if (!current) throw new Error('useRoom: the room is made in beforeAll; use it in a test or a hook');
      return current[key];
    },
  });
}

let seq = 0;
export const tempId = () => `f_${process.pid}_${++seq}`;

/** Sends `data` (merged into a send_message frame) from a and waits for a's ack or error. */
export async function sendFrom(r: Room, data: Record<string, unknown>, timeoutMs = 20_000): Promise<Frame> {
  const local_temp_id = tempId();
  r.sa.send({ type: 'send_message', data: { room_id: r.room, receiver_id: r.b.user.id, content: null, local_temp_id, ...data } });
  return r.sa.next(null, { timeoutMs, where: (f) => (f.type === 'new_message' && f.data?.local_temp_id === local_temp_id) || (f.type === 'error' && f.local_temp_id === local_temp_id) });
}

/** The frame is an error frame with this code (and text). */
export function expectErrorFrame(f: Frame, code: string, message?: string | RegExp) {
  expect(f.type, JSON.stringify(f).slice(0, 300)).toBe('error');
  expect(f.code).toBe(code);
  if (typeof message === 'string') expect(f.message).toBe(message);
  else if (message) expect(f.message).toMatch(message);
}

/** Every file under the server's files root (committed, `.part` and staging), relative to it. */
export function storedFiles(server: TestServer): string[] {
  const root = server.parley.config.filesRoot;
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const n of readdirSync(dir)) {
      const p = path.join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(root, p));
    }
  };
  walk(path.join(root, 'static'));
  walk(path.join(root, '.staging'));
  return out.sort();
}

/**
 * `storedFiles` once every committed file has been renamed in place (a send's ack may go
 * out a moment before its rename): the state to compare a refusal against.
 */
export function settledFiles(server: TestServer): Promise<string[]> {
  return eventually(() => {
    const files = storedFiles(server);
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
    return files;
  });
}

/** POST /api/chat/upload-files as multipart: each file with its name and declared type. */
export async function upload(
  server: TestServer,
  user: TestUser,
  files: { bytes: Buffer; name: string; type?: string }[],
  messageType?: string,
): Promise<ApiResponse<DocumentBody>> {
  const form = new FormData();
  for (const f of files) form.append('files', new Blob([f.bytes], { type: f.type ?? '' }), f.name);
  if (messageType !== undefined) form.append('message_type', messageType);
  return api(server, 'POST', '/api/chat/upload-files', { token: user.token, multipart: form });
}

/** GET a URL (full, or a path on the server) with optional headers; the body as bytes. */
export async function download(server: TestServer, url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url.startsWith('http') ? url : server.url + url, { headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, json: () => JSON.parse(bytes.toString()) };
}

/** A file URL as rendered, moved onto the test server's origin (PUBLIC_URL is not the test port). */
export function onServer(server: TestServer, url: string): string {
  const u = new URL(url);
  return server.url + u.pathname + u.search;
}
