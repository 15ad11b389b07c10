// Frames over WS_MAX_FRAME_BYTES on the sockets whose documents send files as base64
// (000/001 `/api/chat`, 002 `/api/v1/chat`): their file_data is cut out of the received bytes
// and decoded from there (src/dialects/shared/file-frames.ts), never parsed as one giant JSON
// string. What the documents promise still holds: one 50 MB file in base64 fits in a frame,
// in 001's files_data and in 000/002's single file_data, and arrives byte for byte.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatSocket, newRoom, newUser, openSocket, type TestSocket, type TestUser } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { download, expectErrorFrame, MB, onServer, pdf } from './support.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('big frames carrying base64 files', () => {
  const server = useParley();
  let a: TestUser;
  let b: TestUser;
  let room: number;
  let sa: TestSocket;
  beforeAll(async () => {
    [a, b] = [await newUser(server), await newUser(server)];
    room = await newRoom(server, a, b);
    sa = await chatSocket(server, a, room);
  });
  afterAll(async () => {
    sa.close();
  });

  let n = 0;
  const send = async (s: TestSocket, frame: string, tempId: string) => {
    s.send(frame);
    return s.next(null, { timeoutMs: 60_000, where: (f) => (f.type === 'new_message' && f.data?.local_temp_id === tempId) || f.type === 'error' });
  };
  const fileFrame = (data: Record<string, unknown>) => {
    const local_temp_id = `big-${++n}`;
    return { local_temp_id, frame: JSON.stringify({ type: 'send_message', data: { room_id: room, message_type: 'file', local_temp_id, ...data } }) };
  };

  it('a 50 MB file in 001\'s files_data on /api/chat arrives byte for byte', { timeout: 120_000 }, async () => {
    const file = pdf(50 * MB);
    const { frame, local_temp_id } = fileFrame({ files_data: [{ file_data: file.toString('base64'), file_name: 'fifty.pdf', mime_type: 'application/pdf' }] });
    expect(frame.length).toBeGreaterThan(66 * MB);
    const ack = await send(sa, frame, local_temp_id);
    expect(ack.type, JSON.stringify(ack).slice(0, 300)).toBe('new_message');
    expect(ack.data.files_data[0].file_size).toBe(50 * MB);
    const got = await download(server, onServer(server, ack.data.files_data[0].file_path));
    expect(got.status).toBe(200);
    expect(sha(got.bytes)).toBe(sha(file));
  });

  it('a 50 MB file in 002\'s single file_data on /api/v1/chat/ws arrives byte for byte', { timeout: 120_000 }, async () => {
    const s = await openSocket(`${server.wsUrl}/api/v1/chat/ws?token=${encodeURIComponent(a.token)}&room_id=${room}`);
    try {
      const file = pdf(50 * MB);
      file.write('002', 100, 'latin1'); // not the same bytes as the test before
      const { frame, local_temp_id } = fileFrame({ file_data: file.toString('base64'), file_name: 'fifty-002.pdf', file_size: file.length, mime_type: 'application/pdf' });
      const ack = await send(s, frame, local_temp_id);
      expect(ack.type, JSON.stringify(ack).slice(0, 300)).toBe('new_message');
      expect(ack.data.file_size).toBe(50 * MB);
      const got = await download(server, onServer(server, ack.data.file_path));
      expect(sha(got.bytes)).toBe(sha(file));
    } finally {
      s.close();
    }
  });

  it('several files in one big frame, one with its base64 escaped as PHP writes it ("\\/"), each stored as sent', { timeout: 60_000 }, async () => {
    // A file whose base64 has many "/": bytes 0xff encode as "////".
    const slashes = pdf(1.5 * MB);
    slashes.fill(0xff, 200, 200 + MB);
    const plain = pdf(1.2 * MB);
    const { frame, local_temp_id } = fileFrame({
      files_data: [
        { file_data: 'SLASHES', file_name: 'slashes.pdf', mime_type: 'application/pdf' },
        { file_data: plain.toString('base64'), file_name: 'plain.pdf', mime_type: 'application/pdf' },
      ],
    });
    const escaped = frame.replace('"SLASHES"', JSON.stringify(slashes.toString('base64')).replaceAll('/', '\\/'));
    expect(escaped.length).toBeGreaterThan(3 * MB);
    const ack = await send(sa, escaped, local_temp_id);
    expect(ack.type, JSON.stringify(ack).slice(0, 300)).toBe('new_message');
    const files = ack.data.files_data as { file_path: string; file_size: number }[];
    expect(files.map((f) => f.file_size)).toEqual([slashes.length, plain.length]);
    expect(sha((await download(server, onServer(server, files[0].file_path))).bytes)).toBe(sha(slashes));
    expect(sha((await download(server, onServer(server, files[1].file_path))).bytes)).toBe(sha(plain));
  });

  it('invalid base64 in a big frame is an error frame, and the socket stays open', async () => {
    const bad = pdf(2 * MB).toString('base64');
    const { frame, local_temp_id } = fileFrame({ files_data: [{ file_data: bad.slice(0, 1000) + '!' + bad.slice(1001), file_name: 'bad.pdf', mime_type: 'application/pdf' }] });
    const err = await send(sa, frame, local_temp_id);
    expectErrorFrame(err, 'invalid_file', 'Invalid file_data: not valid base64');
    expect(err.local_temp_id).toBe(local_temp_id);
    sa.send({ type: 'ping' });
    await sa.next('pong');
  });

  it('a file over the document\'s limit in a big frame is refused from its length, before decoding', { timeout: 60_000 }, async () => {
    const { frame, local_temp_id } = fileFrame({ files_data: [{ file_data: 'A'.repeat(Math.ceil(((50 * MB + 3) * 4) / 3 / 4) * 4), file_name: 'huge.pdf' }] });
    expectErrorFrame(await send(sa, frame, local_temp_id), 'file_too_large', 'File too large. Maximum size: 50.0MB');
  });

  it('a big frame whose JSON besides file_data is over WS_MAX_FRAME_BYTES closes the socket with 1009; the others go on', async () => {
    const s = await chatSocket(server, a, room);
    const { frame } = fileFrame({ content: 'x'.repeat(5000), files_data: [{ file_data: pdf(MB).toString('base64'), file_name: 'a.pdf' }], pad: 'y'.repeat(1.1 * MB) });
    s.send(frame);
    expect((await s.closed).code).toBe(1009);
    sa.send({ type: 'ping' });
    await sa.next('pong');
  });
});
