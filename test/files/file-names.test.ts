// A file name with a path (../), NUL or other control characters is refused, on both paths,
// with nothing written. Acceptable names are kept as shown and sanitized on disk, where
// every file is static/chat_files/<folder>/{user_id}_{timestamp}_{index}_{name}.
import { beforeAll, describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { b64, databases, download, expectErrorFrame, fileEntry, image, onServer, sendFrom, settledFiles, storedFiles, useRoom } from './support.js';

describe.each(databases)('file names on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);
  let png: Buffer;
  beforeAll(async () => {
    png = await image('png');
  });

  const refused: [string, string, RegExp][] = [
    ['../', '../../etc/passwd.png', /path separators/],
    ['a Windows path', '..\\..\\boot.png', /path separators/],
    ['a subfolder', 'images/x.png', /path separators/],
    ['NUL', 'x\u0000.png', /control characters/],
    ['a newline', 'x\n.png', /control characters/],
    ['an escape', '\u001b[31mred.png', /control characters/],
    ['a right-to-left override', 'gnp\u202e.exe.png', /control characters/],
  ];

  it.each(refused)('a name with %s is refused over the socket, nothing written', async (_what, name, text) => {
    const before = await settledFiles(server);
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(png, name, 'image/png')] }), 'invalid_file', text);
    expectErrorFrame(await sendFrom(r, { message_type: 'image', file_data: b64(png), file_name: name, mime_type: 'image/png' }), 'invalid_file', text);
    expect(storedFiles(server)).toEqual(before);
  });

  it('upload-files refuses them too (the multipart filename)', async () => {
    const before = await settledFiles(server);
    for (const name of ['../../etc/x.png', 'a\u0001b.png']) {
      // FormData would strip a path; the part header is written by hand.
      const boundary = '----parleytest' + Math.random().toString(16).slice(2);
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: image/png\r\n\r\n`, 'utf8'),
        png,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const res = await fetch(server.url + '/api/chat/upload-files', {
        method: 'POST',
        headers: { authorization: `Bearer ${r.a.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body,
      });
      expect(res.status, name).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/^Invalid file name: /);
    }
    expect(storedFiles(server)).toEqual(before);
  });

  it('an extension that says another type, or an active one, is refused', async () => {
    expectErrorFrame(await sendFrom(r, { message_type: 'file', files_data: [fileEntry(png, 'report.pdf', null)] }), 'invalid_file', /extension \.pdf does not match/);
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(png, 'page.html', null)] }), 'invalid_file', /extension \.html does not match/);
  });

  it('other names are kept as shown and sanitized on disk, with the true extension', async () => {
    const ack = await sendFrom(r, {
      message_type: 'image',
      files_data: [fileEntry(png, 'Photo (1) – café.PNG', 'image/png'), fileEntry(png, 'Screenshot 2024.01.01', 'image/png'), fileEntry(png, '.hidden.png', 'image/png')],
    });
    expect(ack.type).toBe('new_message');
    const [a, b, c] = ack.data.files_data;
    expect([a.file_name, b.file_name, c.file_name]).toEqual(['Photo (1) – café.PNG', 'Screenshot 2024.01.01', '.hidden.png']);
    const id = r.a.user.id;
    expect(new URL(a.file_path).pathname).toMatch(new RegExp(`^/static/chat_files/images/${id}_\\d+_0_Photo_1_cafe\\.png$`));
    expect(new URL(b.file_path).pathname).toMatch(new RegExp(`^/static/chat_files/images/${id}_\\d+_1_Screenshot_2024\\.01\\.01\\.png$`));
    expect(new URL(c.file_path).pathname).toMatch(new RegExp(`^/static/chat_files/images/${id}_\\d+_2_hidden\\.png$`));
    const res = await download(server, onServer(server, a.file_path));
    expect(res.status).toBe(200);
    // The shown name goes back in Content-Disposition, encoded (RFC 6266).
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="Photo (1) _ caf_.PNG"; filename*=UTF-8''Photo%20%281%29%20%E2%80%93%20caf%C3%A9.PNG`);
  });

  it('a file without a name gets one from its type', async () => {
    const ack = await sendFrom(r, { message_type: 'image', files_data: [{ file_data: b64(png) }] });
    expect(ack.data.files_data[0].file_name).toBe('image.png');
  });
});
