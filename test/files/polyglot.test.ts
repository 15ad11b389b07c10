// A polyglot — a file that is validly two things, like a PNG that is also a ZIP or a JPEG
// a browser would sniff as HTML — is refused on both paths, and nothing is written.
import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { databases, emptyZip, expectErrorFrame, fileEntry, image, pdf, sendFrom, settledFiles, storedFiles, upload, wav, useRoom } from './support.js';

/** A JPEG whose first segment after SOI is a comment holding a script. */
function jpegWithComment(jpeg: Buffer, text: string): Buffer {
  const body = Buffer.from(text, 'latin1');
  const com = Buffer.alloc(4);
  com[0] = 0xff;
  com[1] = 0xfe;
  com.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), com, body, jpeg.subarray(2)]);
}

describe.each(databases)('polyglots on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);

  it('a PNG with a ZIP appended (GIFAR-style) is refused over the socket and by upload-files', async () => {
    const before = await settledFiles(server);
    const png = await image('png');
    const poly = Buffer.concat([png, emptyZip()]);
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(poly, 'cat.png', 'image/png')] }), 'invalid_file', /polyglot/);
    const res = await upload(server, r.a, [{ bytes: poly, name: 'cat.png', type: 'image/png' }], 'image');
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/polyglot/);
    expect(storedFiles(server)).toEqual(before);
  });

  it('a JPEG that a browser would sniff as HTML (a script in its first bytes) is refused', async () => {
    const poly = jpegWithComment(await image('jpeg'), '<html><script>alert(document.cookie)</script></html>');
    const f = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(poly, 'x.jpg', 'image/jpeg')] });
    expectErrorFrame(f, 'invalid_file', 'File rejected: it also contains HTML or script (a polyglot file)');
  });

  it('a GIF with HTML after its trailer, a PDF with an archive appended, a WAV with bytes past its RIFF are refused', async () => {
    const before = await settledFiles(server);
    const gif = Buffer.concat([await image('gif'), Buffer.from('<html><body>hi</body></html>')]);
    expectErrorFrame(await sendFrom(r, { message_type: 'image', files_data: [fileEntry(gif, 'x.gif', 'image/gif')] }), 'invalid_file', /polyglot/);
    const doc = Buffer.concat([pdf(), emptyZip()]);
    expectErrorFrame(await sendFrom(r, { message_type: 'file', files_data: [fileEntry(doc, 'x.pdf', 'application/pdf')] }), 'invalid_file', /polyglot/);
    const voice = Buffer.concat([wav(0.2), Buffer.from('PK\x03\x04 passenger', 'latin1')]);
    expectErrorFrame(await sendFrom(r, { message_type: 'voice', files_data: [fileEntry(voice, 'v.wav', 'audio/wav')] }), 'invalid_file', /polyglot/);
    expect(storedFiles(server)).toEqual(before);
  });

  it('a ZIP is allowed to be a ZIP', async () => {
    const ack = await sendFrom(r, { message_type: 'file', files_data: [fileEntry(emptyZip(), 'a.zip', 'application/zip')] });
    expect(ack.type).toBe('new_message');
  });
});
