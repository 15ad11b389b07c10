// Voice messages (000/001: MP3, WAV): the duration is measured from the audio, whatever the
// client declares (001 shows "duration" on the file and on the message).
import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { b64, databases, download, expectErrorFrame, fileEntry, mp3, onServer, pdf, sendFrom, settledFiles, storedFiles, wav, useRoom } from './support.js';

describe.each(databases)('voice messages on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);

  it('a WAV written by the test: duration measured (2.5 s), not the declared 30', async () => {
    const audio = wav(2.5);
    const ack = await sendFrom(r, { message_type: 'voice', content: 'Voice message', files_data: [fileEntry(audio, 'voice_message.wav', 'audio/wav', { duration: 30 })] });
    expect(ack.type).toBe('new_message');
    expect(ack.data.duration).toBe(2.5);
    expect(ack.data.files_data[0]).toMatchObject({ file_name: 'voice_message.wav', mime_type: 'audio/wav', file_size: audio.length, duration: 2.5 });
    const got = await r.sb.next('new_message', { where: (f) => f.data.id === ack.data.id });
    expect(got.data.duration).toBe(2.5);
    const res = await download(server, onServer(server, got.data.files_data[0].file_path));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    expect(res.headers.get('content-disposition')).toMatch(/^inline;/);
    expect(res.bytes.equals(audio)).toBe(true);
  });

  it('MP3 frames sent with 002\'s single-file keys: audio/mpeg, duration from the frames', async () => {
    const audio = mp3(100); // 100 × 1152 samples at 44.1 kHz ≈ 2.612 s
    const ack = await sendFrom(r, { message_type: 'voice', file_data: b64(audio), file_name: 'voice_message.mp3', file_size: 256000, mime_type: 'audio/mpeg' });
    expect(ack.type).toBe('new_message');
    expect(ack.data).toMatchObject({ message_type: 'voice', mime_type: 'audio/mpeg', file_size: audio.length });
    expect(ack.data.duration).toBeCloseTo(2.612, 2);
  });

  it('browsers\' other names for the same types are accepted (audio/x-wav, audio/mp3)', async () => {
    const ack = await sendFrom(r, { message_type: 'voice', files_data: [fileEntry(wav(0.5), 'a.wav', 'audio/x-wav'), fileEntry(mp3(20), 'b.mp3', 'audio/mp3')] });
    expect(ack.type).toBe('new_message');
    expect(ack.data.files_data.map((f: any) => f.mime_type)).toEqual(['audio/wav', 'audio/mpeg']);
  });

  it('a voice message refuses a document, with the document\'s text listing the voice types', async () => {
    const before = await settledFiles(server);
    const f = await sendFrom(r, { message_type: 'voice', files_data: [fileEntry(pdf(), 'talk.pdf', 'application/pdf')] });
    expectErrorFrame(f, 'file_type_not_allowed', 'File type not allowed. Allowed types: audio/mpeg, audio/wav');
    expect(storedFiles(server)).toEqual(before);
  });

  it('audio with nothing to play (a WAV of zero samples) is refused: its duration cannot be measured', async () => {
    const before = await settledFiles(server);
    const f = await sendFrom(r, { message_type: 'voice', files_data: [fileEntry(wav(0), 'empty.wav', 'audio/wav')] });
    expectErrorFrame(f, 'invalid_file', /duration cannot be measured/);
    expect(storedFiles(server)).toEqual(before);
  });
});
