// The documents' limits, on both upload paths, in the documents' own words: images 10 MB,
// documents 50 MB, at most 10 files; "File too large. Maximum size: 10.0MB",
// "File type not allowed. Allowed types: …". A refused file leaves nothing on disk.
import { beforeAll, describe, expect, it } from 'vitest';
import { chatSocket } from '../helpers/clients.js';
import { useParley, startParley } from '../helpers/parley.js';
import { b64, databases, expectErrorFrame, fileEntry, image, MB, pdf, room, sendFrom, settledFiles, storedFiles, upload, useRoom } from './support.js';

const IMAGE_TYPES = 'File type not allowed. Allowed types: image/jpeg, image/png, image/gif, image/webp';
const ALL_TYPES =
  'File type not allowed. Allowed types: application/pdf, application/msword, application/vnd.openxmlformats-officedocument.wordprocessingml.document, ' +
  'application/vnd.ms-excel, application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, text/plain, application/zip, application/vnd.rar, ' +
  'image/jpeg, image/png, image/gif, image/webp, audio/mpeg, audio/wav';

describe.each(databases)('limits per the documents on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);
  let bigPng: Buffer;
  beforeAll(async () => {
    bigPng = await image('png', 1900, 1900, { noise: true }); // ≈ 10.8 MB, a real image
    expect(bigPng.length).toBeGreaterThan(10 * MB);
  });

  it('an image over 10 MB: refused over the socket, with or without message_type', async () => {
    const before = await settledFiles(server);
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(bigPng, 'big.png', 'image/png')] }), 'file_too_large', 'File too large. Maximum size: 10.0MB');
    // Undeclared kind: the bytes say image, so the image limit applies.
    expectErrorFrame(await sendFrom(r, { file_data: b64(bigPng), file_name: 'big.png', mime_type: 'image/png' }), 'file_too_large', 'File too large. Maximum size: 10.0MB');
    expect(storedFiles(server)).toEqual(before);
  });

  it('an image over 10 MB: refused by upload-files with 413 and the same text', async () => {
    const before = await settledFiles(server);
    const res = await upload(server, r.a, [{ bytes: bigPng, name: 'big.png', type: 'image/png' }], 'image');
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ detail: 'File too large. Maximum size: 10.0MB' });
    expect(storedFiles(server)).toEqual(before);
  });

  it('a document over 50 MB is refused on both paths', async () => {
    const before = await settledFiles(server);
    const huge = pdf(50 * MB + 1);
    expectErrorFrame(await sendFrom(r, { message_type: 'file', files_data: [fileEntry(huge, 'huge.pdf', 'application/pdf')] }, 60_000), 'file_too_large', 'File too large. Maximum size: 50.0MB');
    const res = await upload(server, r.a, [{ bytes: huge, name: 'huge.pdf', type: 'application/pdf' }], 'file');
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ detail: 'File too large. Maximum size: 50.0MB' });
    expect(storedFiles(server)).toEqual(before);
  });

  it('a type no document allows: the text lists what the message kind allows', async () => {
    const before = await settledFiles(server);
    const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x80, 0, 0, 0]), Buffer.alloc(64), Buffer.from('PE\0\0'), Buffer.alloc(300)]);
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(exe, 'setup.exe', 'application/x-msdownload')] }), 'file_type_not_allowed', IMAGE_TYPES);
    expectErrorFrame(await sendFrom(r, { message_type: 'file', files_data: [fileEntry(exe, 'setup.exe', null)] }), 'file_type_not_allowed', ALL_TYPES);
    // A PDF is a fine file, but not an image.
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(pdf(), 'doc.pdf', 'application/pdf')] }), 'file_type_not_allowed', IMAGE_TYPES);
    const res = await upload(server, r.a, [{ bytes: pdf(), name: 'doc.pdf', type: 'application/pdf' }], 'image');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: IMAGE_TYPES });
    expect(storedFiles(server)).toEqual(before);
  });

  it('ten files pass, an eleventh is refused on both paths and nothing is written', async () => {
    const png = await image('png', 8, 8);
    const ten = Array.from({ length: 10 }, (_, i) => fileEntry(png, `p${i}.png`, 'image/png'));
    const ok = await sendFrom(r, { message_type: 'image', files_data: ten });
    expect(ok.type).toBe('new_message');
    expect(ok.data.files_data).toHaveLength(10);

    const before = await settledFiles(server);
    const f = await sendFrom(r, { message_type: 'image', files_data: [...ten, fileEntry(png, 'p10.png', 'image/png')] });
    expectErrorFrame(f, 'too_many_files', 'Too many files. Maximum 10 files per message');
    const res = await upload(server, r.a, Array.from({ length: 11 }, (_, i) => ({ bytes: png, name: `p${i}.png`, type: 'image/png' })), 'image');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: 'Too many files. Maximum 10 files per message' });
    expect(storedFiles(server)).toEqual(before);
  });

  it('a frame over WS_MAX_PAYLOAD_BYTES closes the socket with 1009 (configurable)', async (t) => {
    const small = await startParley(t, { db, env: { WS_MAX_PAYLOAD_BYTES: String(256 * 1024) } });
    const s = await room(small);
    s.sa.send({ type: 'send_message', data: { room_id: s.room, message_type: 'file', files_data: [fileEntry(pdf(300 * 1024), 'a.pdf', 'application/pdf')] } });
    expect((await s.sa.closed).code).toBe(1009);
    expect(storedFiles(small)).toEqual([]);
    // The limit is per frame: the same user reconnects and sends a file that fits.
    const again = await chatSocket(small, s.a, s.room);
    again.send({ type: 'send_message', data: { room_id: s.room, message_type: 'file', files_data: [fileEntry(pdf(100 * 1024), 'b.pdf', 'application/pdf')] } });
    expect((await again.next('new_message')).data.files_data[0].file_name).toBe('b.pdf');
    again.close();
    s.sb.close();
  });
});
