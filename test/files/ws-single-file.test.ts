// Documents 000 and 002, "Send Single File Message": file_data / file_name / file_size /
// mime_type at the top of send_message; the message shows the file in the single-file
// keys and in files_data, with full URLs that work in an <img src>.
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { b64, databases, download, image, onServer, pdf, sendFrom, storedFiles, useRoom } from './support.js';

describe.each(databases)('single-file send over the socket (000, 002) on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);

  it('an image sent as file_data reaches both sides with its URL, size, type and measured dimensions', async () => {
    const png = await image('png', 120, 80);
    const ack = await sendFrom(r, { message_type: 'image', content: 'Check out this image!', file_data: b64(png), file_name: 'image.png', file_size: png.length, mime_type: 'image/png' });
    expect(ack.type).toBe('new_message');
    const m = ack.data;
    expect(m).toMatchObject({ message_type: 'image', content: 'Check out this image!', file_name: 'image.png', file_size: png.length, mime_type: 'image/png' });
    expect(m.file_path).toMatch(new RegExp(`^http://[^/]+/static/chat_files/images/${r.a.user.id}_\\d+_0_image\\.png\\?exp=\\d+&sig=`));
    expect(m.files_data).toHaveLength(1);
    expect(m.files_data[0]).toMatchObject({ file_name: 'image.png', file_size: png.length, mime_type: 'image/png', width: 120, height: 80, duration: null });
    expect(m.files_data[0].file_path).toBe(m.file_path);
    expect(m.duration).toBeNull();

    const got = await r.sb.next('new_message', { where: (f) => f.data.id === m.id });
    expect(got.data).toMatchObject({ file_name: 'image.png', file_size: png.length, mime_type: 'image/png' });

    // The URL as handed out works on its own (an <img src> sends no Authorization header).
    const res = await download(server, onServer(server, got.data.file_path));
    expect(res.status).toBe(200);
    expect(res.bytes.equals(png)).toBe(true);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-disposition')).toMatch(/^inline; filename="image.png"/);

    // And the thumbnail made for it.
    const thumb = await download(server, onServer(server, m.files_data[0].thumbnail_url));
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    expect(thumb.bytes.subarray(8, 12).toString('latin1')).toBe('WEBP');
  });

  it('a document sent as file_data is a file message, downloaded as an attachment', async () => {
    const doc = pdf(5000);
    const ack = await sendFrom(r, { message_type: 'file', file_data: b64(doc), file_name: 'document.pdf', file_size: doc.length, mime_type: 'application/pdf' });
    expect(ack.data).toMatchObject({ message_type: 'file', file_name: 'document.pdf', file_size: doc.length, mime_type: 'application/pdf' });
    expect(ack.data.file_path).toContain(`/static/chat_files/files/${r.a.user.id}_`);
    const res = await download(server, onServer(server, ack.data.file_path));
    expect(res.status).toBe(200);
    expect(res.bytes.equals(doc)).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="document.pdf"/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('history over REST shows the same files, and the disk holds each file once under static/chat_files', async () => {
    const res = await fetch(`${server.url}/api/chat/rooms/${r.room}/messages`, { headers: { authorization: `Bearer ${r.b.token}` } });
    const body = (await res.json()) as { messages: any[] };
    const files = body.messages.filter((m: any) => m.files_data).map((m: any) => m.files_data[0].file_name);
    expect(files.sort()).toEqual(['document.pdf', 'image.png']);
    // Renamed in place right after the commit (the ack may go out a moment before).
    const onDisk = await eventually(() => {
      const files = storedFiles(server);
      expect(files.some((f) => f.endsWith('.part'))).toBe(false);
      return files;
    });
    expect(onDisk.filter((f) => f.startsWith('static/chat_files/images/'))).toHaveLength(1);
    expect(onDisk.filter((f) => f.startsWith('static/chat_files/files/'))).toHaveLength(1);
    expect(onDisk.filter((f) => f.startsWith('static/chat_files/thumbnails/'))).toHaveLength(1);
    expect(onDisk.some((f) => f.endsWith('.part') || f.startsWith('.staging'))).toBe(false);
  });
});
