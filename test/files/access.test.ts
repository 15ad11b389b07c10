// A file is served only to a participant of its conversation: the signed, expiring URL a
// rendering hands out, or a participant's token. A guessed or leaked bare path, an
// outsider's token, a tampered or expired signature: 403. Served with its sniffed type,
// nosniff, and as an attachment unless it is an image or audio.
import { beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, newUser, type TestUser } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases, download, fileEntry, image, onServer, pdf, sendFrom, wav, useRoom } from './support.js';

const DENIED = { detail: 'Not allowed to access this file' };

describe.each(databases)('who may read a file on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);
  let outsider: TestUser;
  let png: Buffer;
  let doc: Buffer;
  let audio: Buffer;
  let urls: { png: string; pdf: string; wav: string };
  const pathOf = (url: string) => new URL(url).pathname;

  beforeAll(async () => {
    outsider = await newUser(server);
    png = await image('png', 30, 30);
    doc = pdf(3000);
    audio = wav(1);
    const ack = await sendFrom(r, {
      message_type: 'file',
      files_data: [fileEntry(png, 'pic.png', 'image/png'), fileEntry(doc, 'contract.pdf', 'application/pdf'), fileEntry(audio, 'hello.wav', 'audio/wav')],
    });
    expect(ack.type).toBe('new_message');
    const [a, b, c] = ack.data.files_data;
    urls = { png: onServer(server, a.file_path), pdf: onServer(server, b.file_path), wav: onServer(server, c.file_path) };
  });

  it('the signed URL works alone, as in an <img src>', async () => {
    const res = await download(server, urls.png);
    expect(res.status).toBe(200);
    expect(res.bytes.equals(png)).toBe(true);
  });

  it('a bare path — leaked or guessed — gets 403, whether the file exists or not', async () => {
    for (const path of [pathOf(urls.png), pathOf(urls.pdf), '/static/chat_files/images/1_1700000000000_0_guess.png', '/static/chat_files/secrets/x.png']) {
      const res = await download(server, path);
      expect(res.status, path).toBe(403);
      expect(res.json()).toEqual(DENIED);
    }
  });

  it('an outsider gets 403 even with a valid token; so does a user of another tenant', async () => {
    const other = await newUser(server, { tenantId: '0192f000-0000-7000-8000-00000000abcd' });
    for (const u of [outsider, other]) {
      expect((await download(server, pathOf(urls.png), { authorization: `Bearer ${u.token}` })).status).toBe(403);
      expect((await download(server, `${pathOf(urls.pdf)}?token=${u.token}`)).status).toBe(403);
    }
  });

  it('a participant reads with the bearer token or ?token=', async () => {
    const viaHeader = await download(server, pathOf(urls.pdf), { authorization: `Bearer ${r.b.token}` });
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.bytes.equals(doc)).toBe(true);
    const viaQuery = await download(server, `${pathOf(urls.png)}?token=${encodeURIComponent(r.a.token)}`);
    expect(viaQuery.status).toBe(200);
  });

  it('a tampered signature, or one made for another file, gets 403', async () => {
    const u = new URL(urls.png);
    const sig = u.searchParams.get('sig')!;
    u.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    expect((await download(server, u.toString())).status).toBe(403);
    const v = new URL(urls.png);
    v.searchParams.set('exp', String(Number(v.searchParams.get('exp')) + 3600));
    expect((await download(server, v.toString())).status).toBe(403);
    const other = new URL(urls.pdf);
    other.pathname = pathOf(urls.png);
    expect((await download(server, other.toString())).status).toBe(403);
  });

  it('a path that tries to leave the folder gets 403', async () => {
    for (const path of ['/static/chat_files/images%2f..%2f..%2f..%2fjwt-secret', '/static/chat_files/images/..%2f..%2fparley.db', '/static/chat_files/images/x.png%00.txt']) {
      const res = await download(server, path, { authorization: `Bearer ${r.a.token}` });
      expect(res.status, path).toBe(403);
    }
    // A client normalizes %2e%2e away: what is left is no file route at all.
    const res = await download(server, '/static/chat_files/%2e%2e/%2e%2e/jwt-secret', { authorization: `Bearer ${r.a.token}` });
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ detail: 'Not Found' });
  });

  it('served with the sniffed type, nosniff, and attachment unless image or audio; ranges for audio', async () => {
    const img = await download(server, urls.png);
    expect(img.headers.get('content-type')).toBe('image/png');
    expect(img.headers.get('content-disposition')).toMatch(/^inline;/);
    const file = await download(server, urls.pdf);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="contract.pdf"/);
    const voice = await download(server, urls.wav, { range: 'bytes=0-99' });
    expect(voice.status).toBe(206);
    expect(voice.headers.get('content-type')).toBe('audio/wav');
    expect(voice.headers.get('content-disposition')).toMatch(/^inline;/);
    expect(voice.headers.get('content-range')).toBe(`bytes 0-99/${audio.length}`);
    expect(voice.bytes.equals(audio.subarray(0, 100))).toBe(true);
    for (const res of [img, file, voice]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain('sandbox');
    }
  });

  it('files of a deleted message are no longer served', async () => {
    const ack = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(png, 'gone.png', 'image/png')] });
    const url = onServer(server, ack.data.files_data[0].file_path);
    expect((await download(server, url)).status).toBe(200);
    expect((await api(server, 'DELETE', `/api/chat/messages/${ack.data.id}`, { token: r.a.token })).status).toBe(200);
    const res = await download(server, url);
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ detail: 'File not found' });
  });
});

describe.each(databases)('signed URLs expire on %s', (db) => {
  const server = useParley({ db, env: { FILE_URL_TTL_SECONDS: '1' } });
  const r = useRoom(server);

  it('past FILE_URL_TTL_SECONDS the URL gets 403 "File link expired"; a fresh rendering works again', async () => {
    const ack = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(await image('png'), 'p.png', 'image/png')] });
    const url = onServer(server, ack.data.files_data[0].file_path);
    expect((await download(server, url)).status).toBe(200);
    await eventually(
      async () => {
        const res = await download(server, url);
        expect(res.status).toBe(403);
        expect(res.json()).toEqual({ detail: 'File link expired' });
      },
      { timeoutMs: 5000, intervalMs: 250 },
    );
    // The participant's token still works, and history hands out a new URL.
    expect((await download(server, new URL(url).pathname, { authorization: `Bearer ${r.b.token}` })).status).toBe(200);
    const page = await api(server, 'GET', `/api/chat/rooms/${r.room}/messages`, { token: r.b.token });
    const fresh = onServer(server, page.body.messages[0].files_data[0].file_path);
    expect(fresh).not.toBe(url);
    expect((await download(server, fresh)).status).toBe(200);
  });
});
