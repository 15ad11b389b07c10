// When a conversation is deleted, its files are gone for everyone at once: signed URLs
// handed out before (still within their expiry), former members' tokens, the file and its
// thumbnail, on every process, all 404 "File not found" (an outsider still 403s). The next
// sweep removes their bytes from disk; the messages stay as tombstones and the attachment
// rows as their metadata. Before: former members kept downloading them, and the files were
// never swept.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import { hasPostgres } from '../helpers/pg.js';
import { useUsers } from '../helpers/dialects.js';
import { useParley, type TestServer, useTwoProcesses } from '../helpers/parley.js';
import { databases, download, image, onServer, pdf } from './support.js';

const GONE = { detail: 'File not found' };
const DENIED = { detail: 'Not allowed to access this file' };

interface Shared {
  conversation: number;
  /** Signed URLs as rendered (file and thumbnail of an image, a PDF). */
  urls: string[];
  keys: string[];
}

/** A group of a (admin) and b, with an image and a PDF sent through Parley's API. */
async function groupWithFiles(server: TestServer, a: TestUser, b: TestUser, title: string): Promise<Shared> {
  const conv = await api(server, 'POST', '/api/parley/conversations', { token: a.token, json: { kind: 'group', title, member_ids: [b.user.id] } });
  expect(conv.status, JSON.stringify(conv.body)).toBe(201);
  const form = new FormData();
  form.append('file', new Blob([await image('png', 60, 40)], { type: 'image/png' }), 'pic.png');
  form.append('file', new Blob([pdf(3000)], { type: 'application/pdf' }), 'doc.pdf');
  const up = await fetch(server.url + '/api/parley/files', { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: form });
  expect(up.status).toBe(201);
  const files = ((await up.json()) as { files: { key: string }[] }).files;
  const sent = await api(server, 'POST', `/api/parley/conversations/${conv.body.id}/messages`, { token: a.token, json: { kind: 'file', attachments: files.map((f) => f.key) } });
  expect(sent.status, JSON.stringify(sent.body)).toBe(201);
  const [img, doc] = sent.body.attachments;
  const urls = [img.url, img.thumbnail_url!, doc.url].map((u) => onServer(server, u));
  const keys = urls.map((u) => decodeURIComponent(new URL(u).pathname).replace(/^\/static\//, ''));
  return { conversation: conv.body.id, urls, keys };
}

/** Every way to ask for the file: its signed URL, a bearer token, `?token=`. */
async function statuses(server: TestServer, url: string, users: TestUser[]) {
  const bare = new URL(url).pathname;
  const out = [await download(server, url)];
  for (const u of users) {
    out.push(await download(server, bare, { authorization: `Bearer ${u.token}` }));
    out.push(await download(server, `${bare}?token=${encodeURIComponent(u.token)}`));
  }
  return out;
}

describe.each(databases)('files of a deleted conversation on %s', (db) => {
  const server = useParley({ db });
  const [a, b, outsider] = useUsers(server, 3);

  const onDisk = (key: string) => existsSync(path.join(server.parley.config.filesRoot, 'static', key));

  it('are refused to everyone at once, signed links included; the sweep removes their bytes; another conversation keeps its files', async () => {
    const gone = await groupWithFiles(server, a, b, 'to delete');
    const kept = await groupWithFiles(server, a, b, 'to keep');
    for (const url of gone.urls) for (const res of await statuses(server, url, [a, b])) expect(res.status, url).toBe(200);

    const del = await api(server, 'DELETE', `/api/parley/conversations/${gone.conversation}`, { token: a.token });
    expect(del.status, JSON.stringify(del.body)).toBeLessThan(300);

    for (const url of gone.urls) {
      for (const res of await statuses(server, url, [a, b])) {
        expect(res.status, url).toBe(404);
        expect(res.json()).toEqual(GONE);
      }
      // Existence still leaks nothing to an outsider.
      const res = await download(server, new URL(url).pathname, { authorization: `Bearer ${outsider.token}` });
      expect(res.status).toBe(403);
      expect(res.json()).toEqual(DENIED);
    }
    for (const url of kept.urls) expect((await download(server, url)).status).toBe(200);

    // Still on disk until the sweep (hourly, and at start).
    for (const key of gone.keys) expect(onDisk(key), key).toBe(true);
    const report = await server.parley.core.files.sweep();
    expect(report.conversationFilesDeleted).toBeGreaterThanOrEqual(gone.keys.length);
    for (const key of gone.keys) expect(onDisk(key), key).toBe(false);
    for (const key of kept.keys) expect(onDisk(key), key).toBe(true);
    for (const url of kept.urls) expect((await download(server, url)).status).toBe(200);
    for (const url of gone.urls) expect((await download(server, url)).status).toBe(404);
  });

  it('a deletion older than the sweep grace is purged once and not visited again', async () => {
    const gone = await groupWithFiles(server, a, b, 'purged once');
    await api(server, 'DELETE', `/api/parley/conversations/${gone.conversation}`, { token: a.token });
    const listed = async () => (await server.parley.store.deletedConversationFiles()).some((d) => d.conversationId === gone.conversation);
    // Within the grace period: files removed, the conversation visited again next time.
    await server.parley.core.files.sweep(Date.now(), 600);
    for (const key of gone.keys) expect(onDisk(key), key).toBe(false);
    expect(await listed()).toBe(true);
    await server.parley.core.files.sweep(Date.now() + 601_000, 600);
    expect(await listed()).toBe(false);
  });
});

describe.skipIf(!hasPostgres || !process.env.REDIS_URL)('files of a deleted conversation, two processes', () => {
  // One database, one files root, as a deployment shares them.
  const [first, second] = useTwoProcesses({}, { sharedFiles: true });

  it('deleted through one process: the other refuses the files at once', async () => {
    const [a, b] = [await newUser(first), await newUser(first)];
    const gone = await groupWithFiles(first, a, b, 'two processes');
    const onSecond = (url: string) => second.url + new URL(url).pathname + new URL(url).search;
    for (const url of gone.urls) expect((await download(second, onSecond(url))).status).toBe(200);
    expect((await download(second, new URL(gone.urls[0]).pathname, { authorization: `Bearer ${b.token}` })).status).toBe(200);

    await api(first, 'DELETE', `/api/parley/conversations/${gone.conversation}`, { token: a.token });
    for (const url of gone.urls) {
      const res = await download(second, onSecond(url));
      expect(res.status).toBe(404);
      expect(res.json()).toEqual(GONE);
    }
    expect((await download(second, new URL(gone.urls[0]).pathname, { authorization: `Bearer ${b.token}` })).status).toBe(404);
  });
});
