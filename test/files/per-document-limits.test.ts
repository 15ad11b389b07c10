// Limits are per document, one validator: voice messages may be 50 MB on /api/chat
// (000/001) and 20 MB on /api/v1/chat (002's "File Upload System", which also lists M4A,
// AAC and OGG).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSocket, chatSocket } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { b64, databases, expectErrorFrame, MB, sendFrom, settledFiles, storedFiles, wav, useRoom } from './support.js';

describe.each(databases)('the same voice file under two documents on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);
  let v1: TestSocket;
  let voice: Buffer;
  beforeAll(async () => {
    v1 = await chatSocket(server, r.a, r.room, '', '/api/v1/chat');
    voice = wav(22 * 60, 8000); // 22 minutes of 8 kHz 16-bit mono: about 20.1 MiB
    expect(voice.length).toBeGreaterThan(20 * MB);
  });
  afterAll(async () => {
    v1.close();
  });

  it('002 refuses a voice file over 20 MB with its own limit in the text', async () => {
    const before = await settledFiles(server);
    v1.send({ type: 'send_message', data: { room_id: r.room, receiver_id: r.b.user.id, message_type: 'voice', file_data: b64(voice), file_name: 'long.wav', mime_type: 'audio/wav', local_temp_id: 'v1-voice' } });
    const f = await v1.next('error', { timeoutMs: 20_000 });
    expect(f.local_temp_id).toBe('v1-voice');
    expectErrorFrame(f, 'file_too_large', 'File too large. Maximum size: 20.0MB');
    // 002 lists five voice types.
    v1.send({ type: 'send_message', data: { room_id: r.room, message_type: 'voice', file_data: b64(Buffer.from('%PDF-1.4\n%%EOF\n')), file_name: 'x.pdf', local_temp_id: 'v1-pdf' } });
    expectErrorFrame(await v1.next('error', { timeoutMs: 20_000 }), 'file_type_not_allowed', 'File type not allowed. Allowed types: audio/mpeg, audio/wav, audio/mp4, audio/aac, audio/ogg');
    expect(storedFiles(server)).toEqual(before);
  });

  it('000/001 accept the same file (their voice limit is 50 MB) with its measured duration', async () => {
    const ack = await sendFrom(r, { message_type: 'voice', file_data: b64(voice), file_name: 'long.wav', mime_type: 'audio/wav' }, 30_000);
    expect(ack.type).toBe('new_message');
    expect(ack.data.duration).toBe(22 * 60);
  });
});
