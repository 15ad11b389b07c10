// File upload (003, File Upload: POST upload/ multipart `file` → file_url, file_name,
// file_size, content_type; then "Send file message" with file_url, as the document's
// uploadFile() example does over the socket, and over REST).
import { describe, expect, it } from 'vitest';
import { api } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, conversationWith, databases, expectDetail, expectStatus, getMessage, png, socket003, upload, users } from './support.js';

describe.each(databases)('003 file upload on %s', (db) => {
  const server = useParley({ db });

  /** A handed-out file URL on this test server (PUBLIC_URL names port 0 here): its path and signature. */
  const local = (url: string) => {
    const u = new URL(url, server.url);
    return `${server.url}${u.pathname}${u.search}`;
  };

  it('POST upload/ returns file_url, file_name, file_size, content_type; the URL serves the bytes', async () => {
    const [a] = await users(server, 1);
    const bytes = await png(16, 9);
    const res = await upload(server, a, bytes, 'chart.png', 'image/png');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ file_name: 'chart.png', file_size: bytes.length, content_type: 'image/png' });
    expect(res.body.file_url).toBeTypeOf('string');
    const got = await fetch(local(res.body.file_url), { headers: { authorization: `Bearer ${a.token}` } });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('the document\'s uploadFile(): upload, then send_message with file_url over the socket', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const bytes = await png();
    const result = (await upload(server, a, bytes, 'photo.png', 'image/png')).body;
    const sa = await socket003(server, a, [conv]);
    const sb = await socket003(server, b, [conv]);
    sa.send({
      type: 'send_message',
      conversation_id: conv,
      content: `Shared a file: ${result.file_name}`,
      message_type: 'file',
      file_url: result.file_url,
      file_name: result.file_name,
      file_size: result.file_size,
    });
    const f = await sb.next('new_message');
    expect(f.message).toMatchObject({ content: 'Shared a file: photo.png', file_name: 'photo.png', file_size: bytes.length, sender_id: a.user.uuid });
    expect(['file', 'image']).toContain(f.message.message_type);
    expect(f.message.file_url).toBeTypeOf('string');
    const served = await fetch(local(f.message.file_url), { headers: { authorization: `Bearer ${b.token}` } });
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
    // Stored with it.
    const stored = await getMessage(server, b, conv, f.message.id);
    expect(stored).toMatchObject({ file_name: 'photo.png', file_size: bytes.length });
  });

  it('REST "Send File": POST messages/ with file_url (201); an uploaded file attaches once', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const bytes = await png(4, 4);
    const up = (await upload(server, a, bytes, 'plan.png', 'image/png')).body;
    const sent = await api(server, 'POST', `${P}/conversations/${conv}/messages/`, {
      token: a.token,
      json: { message_type: 'image', content: 'Check out this image', file_url: up.file_url, file_name: up.file_name, file_size: up.file_size },
    });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ message_type: 'image', content: 'Check out this image', file_name: 'plan.png', file_size: bytes.length, reactions: [], reply_count: 0 });
    expect(sent.body.file_url).toBeTypeOf('string');
    // The same upload cannot be attached a second time, and b cannot attach a's upload.
    const again = await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: a.token, json: { message_type: 'image', content: 'again', file_url: up.file_url } });
    expectDetail(again, [400, 404, 409]);
    const up2 = (await upload(server, a, bytes, 'mine.png', 'image/png')).body;
    expectDetail(await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: b.token, json: { message_type: 'image', content: 'steal', file_url: up2.file_url } }), [400, 403, 404]);
    const list = await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: a.token });
    expect(list.body.count).toBe(1);
  });

  it('file type restrictions: the type is sniffed from the bytes; a text file passes, an executable or a lying declaration does not', async () => {
    const [a] = await users(server, 1);
    const txt = await upload(server, a, Buffer.from('meeting notes\nline two\n'), 'notes.txt', 'text/plain');
    expect(txt.status, JSON.stringify(txt.body)).toBe(200);
    expect(txt.body).toMatchObject({ file_name: 'notes.txt', content_type: 'text/plain', file_size: 23 });
    const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0x90)]);
    expectDetail(await upload(server, a, exe, 'setup.exe', 'application/octet-stream'), [400, 415, 422]);
    // PNG bytes declared as a PDF.
    expectDetail(await upload(server, a, await png(), 'report.pdf', 'application/pdf'), [400, 415, 422]);
  });

  it('a deleted file message shows neither its text nor its file, anywhere', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const up = (await upload(server, a, await png(), 'secret.png', 'image/png')).body;
    const sent = await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: a.token, json: { message_type: 'file', content: 'secret caption', file_url: up.file_url } });
    expect(sent.status).toBe(201);
    const sb = await socket003(server, b, [conv]);
    expectStatus(await api(server, 'DELETE', `${P}/conversations/${conv}/messages/${sent.body.id}/`, { token: a.token }), 204);
    await sb.next('message_deleted');
    const views = [
      await getMessage(server, b, conv, sent.body.id),
      (await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: b.token })).body,
      (await api(server, 'GET', `${P}/conversations/${conv}/`, { token: b.token })).body,
      (await api(server, 'GET', `${P}/conversations/`, { token: b.token })).body,
    ];
    for (const v of views) {
      const text = JSON.stringify(v);
      expect(text).not.toContain('secret caption');
      expect(text).not.toContain('secret.png');
    }
    expect(views[0]).toMatchObject({ is_deleted: true, file_url: null });
  });

  it('refuses an upload without a file, a file_url that is not an upload, and a file message without a file', async () => {
    const [a] = await users(server, 1);
    const conv = await conversationWith(server, a, []);
    const noFile = new FormData();
    noFile.append('title', 'just text');
    const empty = await fetch(`${server.url}${P}/upload/`, { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: noFile });
    expect([400, 422]).toContain(empty.status);
    expect(Object.keys((await empty.json()) as object)).toEqual(['detail']);
    const json = await api(server, 'POST', `${P}/upload/`, { token: a.token, json: { file: 'x' } });
    expect(json.status).toBeGreaterThanOrEqual(400);
    expect(json.status).toBeLessThan(500);
    expectDetail(await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: a.token, json: { message_type: 'file', content: 'x', file_url: '/media/chat-files/doc.pdf' } }), [400, 404]);
    expectDetail(await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: a.token, json: { message_type: 'file', content: 'no file' } }), [400, 422]);
    // Not authenticated.
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(await png())], { type: 'image/png' }), 'x.png');
    const anon = await fetch(`${server.url}${P}/upload/`, { method: 'POST', body: form });
    expect(anon.status).toBe(401);
    expectStatus(await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: a.token }), 200);
  });
});
