// Document 000, "Multiple File Upload": POST /api/chat/upload-files (multipart `files` +
// `message_type`) → {files, total_files, total_size}; the files are the uploader's until a
// send_message names them (000's React example sends each `file_path` back in `file_data`).
import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { databases, download, expectErrorFrame, image, onServer, pdf, sendFrom, storedFiles, upload, wav, useRoom } from './support.js';

describe.each(databases)('POST /api/chat/upload-files on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);

  it('answers with the documented body; the files are stored and readable by the uploader only', async () => {
    const a = await image('jpeg', 50, 40);
    const b = await image('png', 30, 20);
    const res = await upload(server, r.a, [
      { bytes: a, name: 'image1.jpg', type: 'image/jpeg' },
      { bytes: b, name: 'image2.png', type: 'image/png' },
    ], 'image');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total_files: 2, total_size: a.length + b.length });
    expect(res.body.files).toHaveLength(2);
    expect(res.body.files[0]).toMatchObject({ file_name: 'image1.jpg', file_size: a.length, mime_type: 'image/jpeg', width: 50, height: 40 });
    expect(res.body.files[0].file_path).toMatch(new RegExp(`^chat_files/images/${r.a.user.id}_\\d+_0_image1\\.jpg$`));
    expect(res.body.files[1].file_path).toMatch(new RegExp(`^chat_files/images/${r.a.user.id}_\\d+_1_image2\\.png$`));

    // The uploader, with the token or the signed URL; the room partner cannot see it yet.
    const key = res.body.files[0].file_path;
    expect((await download(server, `/static/${key}`, { authorization: `Bearer ${r.a.token}` })).status).toBe(200);
    expect((await download(server, onServer(server, res.body.files[0].file_url))).bytes.equals(a)).toBe(true);
    expect((await download(server, `/static/${key}`, { authorization: `Bearer ${r.b.token}` })).status).toBe(403);
  });

  it('000\'s React example: the uploaded file_path sent back in file_data attaches the same file, once', async () => {
    const doc = pdf(4000);
    const up = await upload(server, r.a, [{ bytes: doc, name: 'plan.pdf', type: 'application/pdf' }], 'file');
    expect(up.status).toBe(200);
    const files = up.body.files;
    const filesBefore = storedFiles(server);
    const ack = await sendFrom(r, {
      message_type: 'file',
      content: `Sent ${files.length} files`,
      files_data: files.map((f: any) => ({ file_data: f.file_path, file_name: f.file_name, file_size: f.file_size, mime_type: f.mime_type })),
    });
    expect(ack.type).toBe('new_message');
    expect(ack.data.files_data).toHaveLength(1);
    expect(ack.data.files_data[0]).toMatchObject({ file_name: 'plan.pdf', file_size: doc.length, mime_type: 'application/pdf' });
    expect(new URL(ack.data.files_data[0].file_path).pathname).toBe(`/static/${files[0].file_path}`);
    // No second copy was written: the message points at the uploaded file.
    expect(storedFiles(server)).toEqual(filesBefore);

    // Now the partner, a participant, may read it.
    const got = await r.sb.next('new_message', { where: (f) => f.data.id === ack.data.id });
    const res = await download(server, onServer(server, got.data.files_data[0].file_path));
    expect(res.status).toBe(200);
    expect(res.bytes.equals(doc)).toBe(true);
    expect((await download(server, `/static/${files[0].file_path}`, { authorization: `Bearer ${r.b.token}` })).status).toBe(200);

    // Claimed once: naming it again is refused.
    const again = await sendFrom(r, { message_type: 'file', files_data: [{ file_path: files[0].file_path }] });
    expectErrorFrame(again, 'upload_not_found');
  });

  it('a full URL of the upload in file_path works too, and a voice upload keeps its measured duration', async () => {
    const up = await upload(server, r.a, [{ bytes: wav(1.25), name: 'note.wav', type: 'audio/wav' }], 'voice');
    expect(up.status).toBe(200);
    expect(up.body.files[0]).toMatchObject({ mime_type: 'audio/wav', duration: 1.25 });
    const ack = await sendFrom(r, { message_type: 'voice', files_data: [{ file_path: up.body.files[0].file_url, duration: 99 }] });
    expect(ack.type).toBe('new_message');
    expect(ack.data.duration).toBe(1.25);
  });

  it('someone else\'s upload cannot be attached', async () => {
    const up = await upload(server, r.b, [{ bytes: await image('png'), name: 'bob.png', type: 'image/png' }]);
    expect(up.status).toBe(200);
    const f = await sendFrom(r, { message_type: 'image', file_data: up.body.files[0].file_path, file_name: 'bob.png' });
    expectErrorFrame(f, 'upload_not_found');
  });

  it('an upload with no files, or without a token, is refused', async () => {
    const none = await upload(server, r.a, []);
    expect(none.status).toBe(400);
    expect(none.body).toEqual({ detail: 'No files uploaded: send them as "files" parts' });
    const anon = await fetch(server.url + '/api/chat/upload-files', { method: 'POST', body: new FormData() });
    expect(anon.status).toBe(401);
    expect(await anon.json()).toEqual({ detail: 'Not authenticated' });
    const json = await fetch(server.url + '/api/chat/upload-files', { method: 'POST', headers: { authorization: `Bearer ${r.a.token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(400);
    expect(await json.json()).toEqual({ detail: 'Send the files as multipart/form-data' });
  });
});
