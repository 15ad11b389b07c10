// Trust no declared metadata: the type is sniffed from the bytes and compared with the
// declared one through the alias table (empty or application/octet-stream = undeclared;
// OLE/CFB = DOC or XLS; valid UTF-8 text = TXT). Broken base64 is refused, never guessed at.
import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { b64, cfb, databases, emptyZip, expectErrorFrame, fileEntry, image, pdf, sendFrom, settledFiles, storedFiles, upload, useRoom } from './support.js';

describe.each(databases)('content sniffing on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);

  it('bytes that are not their declared type are refused on both paths, and nothing is written', async () => {
    const png = await image('png');
    const before = await settledFiles(server);
    const f = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(png, 'photo.jpg', 'image/jpeg')] });
    expectErrorFrame(f, 'invalid_file', 'File content does not match its declared type: declared image/jpeg, found image/png');
    const res = await upload(server, r.a, [{ bytes: png, name: 'photo.jpg', type: 'image/jpeg' }], 'image');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: 'File content does not match its declared type: declared image/jpeg, found image/png' });
    // A PDF claiming to be a PNG.
    expectErrorFrame(await sendFrom(r, { message_type: 'file', files_data: [fileEntry(pdf(), 'x.png', 'image/png')] }), 'invalid_file', /declared image\/png, found application\/pdf/);
    // Bytes of no known type, whatever they claim.
    const noise = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) & 0xff));
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(noise, 'x.png', 'image/png')] }), 'file_type_not_allowed');
    expect(storedFiles(server)).toEqual(before);
  });

  it('an undeclared or octet-stream type is taken from the bytes', async () => {
    const ack = await sendFrom(r, {
      message_type: 'file',
      files_data: [fileEntry(pdf(), 'a.pdf', 'application/octet-stream'), fileEntry(pdf(), 'b.pdf', ''), fileEntry(await image('gif'), 'c.gif', null)],
    });
    expect(ack.type).toBe('new_message');
    expect(ack.data.files_data.map((f: any) => f.mime_type)).toEqual(['application/pdf', 'application/pdf', 'image/gif']);
  });

  it('aliases: image/jpg, application/x-zip-compressed and the OLE container of DOC and XLS', async () => {
    const ack = await sendFrom(r, {
      message_type: 'file',
      files_data: [
        fileEntry(await image('jpeg'), 'p.jpg', 'image/jpg'),
        fileEntry(emptyZip(), 'a.zip', 'application/x-zip-compressed'),
        fileEntry(cfb(), 'report.doc', 'application/msword'),
        fileEntry(cfb(), 'sheet.xls', null),
      ],
    });
    expect(ack.type).toBe('new_message');
    expect(ack.data.files_data.map((f: any) => f.mime_type)).toEqual(['image/jpeg', 'application/zip', 'application/msword', 'application/vnd.ms-excel']);
    // An OLE file that says neither DOC nor XLS is not allowed.
    expectErrorFrame(await sendFrom(r, { message_type: 'file', files_data: [fileEntry(cfb(), 'blob', null)] }), 'file_type_not_allowed');
  });

  it('plain text: valid UTF-8 without binary bytes is TXT; anything else is not', async () => {
    const text = Buffer.from('Salom, dunyo! Привет 👋\r\n\tindented\n', 'utf8');
    const ack = await sendFrom(r, { message_type: 'file', files_data: [fileEntry(text, 'hello.txt', 'text/plain')] });
    expect(ack.type).toBe('new_message');
    expect(ack.data.files_data[0].mime_type).toBe('text/plain');
    const withNul = Buffer.from('hello\0world\n');
    expectErrorFrame(await sendFrom(r, { message_type: 'file', files_data: [fileEntry(withNul, 'nul.txt', 'text/plain')] }), 'file_type_not_allowed');
    const latin1 = Buffer.from('caf\xe9 cr\xe8me\n', 'latin1');
    expectErrorFrame(await sendFrom(r, { message_type: 'file', files_data: [fileEntry(latin1, 'latin1.txt', 'text/plain')] }), 'file_type_not_allowed');
    // Text is text: a .txt is refused as an image.
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(text, 'hello.txt', 'text/plain')] }), 'file_type_not_allowed');
  });

  it('broken base64 is refused with a clear error; a data: URL prefix is accepted', async () => {
    const before = await settledFiles(server);
    const png = await image('png');
    expectErrorFrame(await sendFrom(r, { message_type: 'image', file_data: 'this is not base64!!', file_name: 'x.png' }), 'invalid_file', 'Invalid file_data: not valid base64');
    expectErrorFrame(await sendFrom(r, { message_type: 'image', file_data: b64(png).slice(0, -3) + '=A=', file_name: 'x.png' }), 'invalid_file', 'Invalid file_data: not valid base64');
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [{ file_data: b64(png) + '*', file_name: 'x.png' }] }), 'invalid_file', 'Invalid file_data: not valid base64');
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [{ file_name: 'x.png', mime_type: 'image/png' }] }), 'invalid_frame', 'files_data.0.file_data: field required');
    expect(storedFiles(server)).toEqual(before);
    const ack = await sendFrom(r, { message_type: 'image', file_data: `data:image/png;base64,${b64(png)}`, file_name: 'x.png' });
    expect(ack.type).toBe('new_message');
    expect(ack.data.file_size).toBe(png.length);
  });

  it('a damaged image (cut short) is refused as damaged', async () => {
    const png = await image('png', 200, 200, { noise: true });
    const f = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(png.subarray(0, png.length - 4000), 'cut.png', 'image/png')] });
    expectErrorFrame(f, 'invalid_file', /^The image could not be decoded/);
  });

  it('the size is the decoded size, whatever file_size says', async () => {
    const png = await image('png');
    const ack = await sendFrom(r, { message_type: 'image', files_data: [{ ...fileEntry(png, 'x.png', 'image/png'), file_size: 1 }] });
    expect(ack.data.files_data[0].file_size).toBe(png.length);
  });
});
