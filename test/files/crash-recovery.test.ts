// Files reach their name only after the message that references them commits (written as
// `<name>.part`, fsynced, row committed, renamed). A crash therefore leaves either an
// unreferenced half file — removed by the sweep on start — or a committed row whose rename
// did not happen — rolled forward by the sweep (and served from `.part` meanwhile). Never a
// half file under a name, never a message that points at a missing file.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, chatHistory, chatSocket, eventually, newRoom, newUser, sleep } from '../helpers/clients.js';
import { startParley, type TestData, type TestServer } from '../helpers/parley.js';
import { closeRoom, databases, download, expectErrorFrame, fileEntry, image, MB, onServer, pdf, room, sendFrom, settledFiles, storedFiles, upload } from './support.js';

const root = path.resolve(import.meta.dirname, '../..');
const stagedSizes = (d: string) => (existsSync(d) ? readdirSync(d).map((n) => statSync(path.join(d, n)).size) : []);
const keyOf = (url: string) => decodeURIComponent(new URL(url).pathname).replace(/^\/static\//, '');

/** Every attachment a room's history shows is readable by a participant: no message points at nothing. */
async function everyFileReadable(server: TestServer, user: Parameters<typeof chatHistory>[1], roomId: number) {
  const { messages } = await chatHistory(server, user, roomId);
  let n = 0;
  for (const m of messages) {
    for (const f of m.files_data ?? []) {
      const res = await download(server, onServer(server, f.file_path));
      expect(res.status, f.file_path).toBe(200);
      expect(res.bytes.length).toBe(f.file_size);
      n++;
    }
  }
  return n;
}

describe.each(databases)('crash safety of stored files on %s', (db) => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers.splice(0)) await s.close().catch(() => {});
  });
  const start = async (opts: Parameters<typeof startParley>[0]) => {
    const s = await startParley(opts);
    servers.push(s);
    return s;
  };
  const restart = async (s: TestServer, env: Record<string, string> = {}) => {
    servers.splice(servers.indexOf(s), 1);
    await s.close({ keepData: true });
    return start({ data: s.data, env });
  };

  it('the sweep on start removes half files, staging leftovers and unreferenced files; keeps young ones in the grace period', async () => {
    let server = await start({ db, env: { FILES_SWEEP_GRACE_SECONDS: '600' } });
    const r = await room(server);
    const ack = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(await image('png'), 'keep.png', 'image/png')] });
    closeRoom(r);
    const kept = keyOf(ack.data.files_data[0].file_path);

    const files = path.join(server.parley.config.filesRoot, 'static', 'chat_files');
    const staging = path.join(server.parley.config.filesRoot, '.staging');
    const junk = [
      path.join(files, 'images', `${r.a.user.id}_1700000000000_0_half.png.part`),
      path.join(files, 'files', `${r.a.user.id}_1700000000000_0_orphan.pdf`),
      path.join(staging, 'f0e1d2c3-upload-in-flight'),
    ];
    mkdirSync(staging, { recursive: true });
    for (const p of junk) writeFileSync(p, 'half written');

    // Young files may be another process's write in flight: kept.
    server = await restart(server, { FILES_SWEEP_GRACE_SECONDS: '600' });
    for (const p of junk) expect(existsSync(p), p).toBe(true);

    // Once older than the grace period, they go; the committed file stays.
    const old = new Date(Date.now() - 3600_000);
    for (const p of junk) utimesSync(p, old, old);
    server = await restart(server, { FILES_SWEEP_GRACE_SECONDS: '600' });
    for (const p of junk) expect(existsSync(p), p).toBe(false);
    expect(storedFiles(server)).toContain(`static/${kept}`);
  });

  it('a row committed before its rename: served from .part meanwhile, rolled forward on start', async () => {
    let server = await start({ db, env: { FILES_SWEEP_GRACE_SECONDS: '0' } });
    const r = await room(server);
    const png = await image('png', 20, 20);
    const ack = await sendFrom(r, { message_type: 'image', files_data: [fileEntry(png, 'late.png', 'image/png')] });
    closeRoom(r);
    const key = keyOf(ack.data.files_data[0].file_path);
    const final = path.join(server.parley.config.filesRoot, 'static', key);
    await settledFiles(server);
    // The state a crash between COMMIT and rename() leaves.
    renameSync(final, final + '.part');
    const meanwhile = await download(server, onServer(server, ack.data.files_data[0].file_path));
    expect(meanwhile.status).toBe(200);
    expect(meanwhile.bytes.equals(png)).toBe(true);

    server = await restart(server, { FILES_SWEEP_GRACE_SECONDS: '0' });
    expect(existsSync(final)).toBe(true);
    expect(existsSync(final + '.part')).toBe(false);
    expect(await everyFileReadable(server, r.b, r.room)).toBe(1);
  });

  it('pending uploads never attached are deleted after FILES_PENDING_TTL_SECONDS, rows and files', async () => {
    let server = await start({ db });
    const r = await room(server);
    const up = await upload(server, r.a, [{ bytes: await image('png'), name: 'later.png', type: 'image/png' }]);
    expect(up.status).toBe(200);
    const key = up.body.files[0].file_path;
    expect(storedFiles(server)).toContain(`static/${key}`);
    closeRoom(r);
    server = await restart(server, { FILES_PENDING_TTL_SECONDS: '0' });
    expect(storedFiles(server).some((f) => f.includes('later'))).toBe(false);
    // Its row went with it: it cannot be attached any more.
    const sa = await chatSocket(server, r.a, r.room);
    const sb = await chatSocket(server, r.b, r.room);
    expectErrorFrame(await sendFrom({ ...r, server, sa, sb }, { message_type: 'image', files_data: [{ file_path: key }] }), 'upload_not_found');
  });

  it('a message refused after its files were validated, or a retried send, leaves no extra file', async () => {
    const server = await start({ db });
    const r = await room(server);
    const before = await settledFiles(server);
    // Not a room of the sender: refused before any byte is decoded.
    const outsider = await newUser(server);
    const otherRoom = await newRoom(server, outsider, r.b);
    expectErrorFrame(await sendFrom(r, { room_id: otherRoom, message_type: 'image', files_data: [fileEntry(await image('png'), 'x.png', 'image/png')] }), 'conversation_not_found', 'Room not found');
    // A reply to a message of another room is refused by the core after the files were written as .part.
    const foreign = await api(server, 'GET', `/api/chat/rooms/${otherRoom}/messages`, { token: outsider.token });
    expect(foreign.status).toBe(200);
    const elsewhere = await room(server);
    const text = await sendFrom(elsewhere, { message_type: 'text', content: 'hi' });
    expectErrorFrame(await sendFrom(r, { reply_to: text.data.id, message_type: 'image', files_data: [fileEntry(await image('png'), 'y.png', 'image/png')] }), 'reply_not_found');
    closeRoom(elsewhere);
    expect(storedFiles(server)).toEqual(before);

    // The same local_temp_id twice: one message, one set of files.
    const png = await image('png');
    const frame = { type: 'send_message', data: { room_id: r.room, message_type: 'image', local_temp_id: 'retry-1', files_data: [fileEntry(png, 'once.png', 'image/png')] } };
    r.sa.send(frame);
    const first = await r.sa.next('new_message', { where: (f) => f.data.local_temp_id === 'retry-1' });
    r.sa.send(frame);
    const second = await r.sa.next('new_message', { where: (f) => f.data.local_temp_id === 'retry-1' });
    expect(second.data.id).toBe(first.data.id);
    // The retry's own copies are removed once its send resolves (just after the ack went out).
    await eventually(() => expect(storedFiles(server).filter((f) => f.includes('once'))).toHaveLength(2)); // the file and its thumbnail
    closeRoom(r);
  });
});

describe('a process killed during uploads (SIGKILL)', () => {
  const children: number[] = [];
  afterAll(() => {
    for (const pid of children) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  it('leaves no half file and no message without its file after the restart', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-crash-'));
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256', FILES_SWEEP_GRACE_SECONDS: '0' };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, detached: true, stdio: 'ignore' });
    children.push(child.pid!);
    const url = `http://127.0.0.1:${port}`;
    const remote = { url, wsUrl: url.replace('http', 'ws') } as TestServer;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(url + '/healthz')).ok) break;
      } catch {
        /* not yet */
      }
      if (i > 300) throw new Error('the child did not start');
      await sleep(100);
    }

    const r = await room(remote);
    const done = await sendFrom(r, { message_type: 'file', files_data: [fileEntry(pdf(200_000), 'done.pdf', 'application/pdf')] });
    expect(done.type).toBe('new_message');

    // A 40 MB upload, streamed slowly; the process dies in the middle of it.
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    let sent = 0;
    let killed = false;
    const boundary = '----crash' + Date.now();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 0) controller.enqueue(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n`));
        if (sent > 8 * MB && !killed) {
          // Killed once the server holds a good part of the file on disk.
          const stagingDir = path.join(dir, '.staging');
          for (let i = 0; i < 500 && !stagedSizes(stagingDir).some((n) => n > 4 * MB); i++) await new Promise((res) => setTimeout(res, 20));
          killed = true;
          process.kill(-child.pid!, 'SIGKILL');
        }
        if (sent >= 40 * MB) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
        await new Promise((res) => setTimeout(res, 2));
      },
    });
    const uploading = fetch(url + '/api/chat/upload-files', {
      method: 'POST',
      headers: { authorization: `Bearer ${r.a.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    } as RequestInit).catch((e) => e);
    // A socket send with a file in flight at the same moment.
    r.sa.send({ type: 'send_message', data: { room_id: r.room, message_type: 'file', files_data: [fileEntry(pdf(3 * MB), 'inflight.pdf', 'application/pdf')] } });
    await uploading;
    await new Promise<void>((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.once('exit', () => res())));
    expect(killed).toBe(true);

    // The half-received upload is on disk until the restart settles it.
    expect(stagedSizes(path.join(dir, '.staging')).some((size) => size > 4 * MB && size < 40 * MB)).toBe(true);
    const data: TestData = { dir, databaseUrl: `sqlite:${path.join(dir, 'parley.db')}` };
    const server = await startParley(t, { data, env: { FILES_SWEEP_GRACE_SECONDS: '0' } });
    const left = storedFiles(server);
    expect(left.filter((f) => f.endsWith('.part') || f.startsWith('.staging'))).toEqual([]);
    expect(left.some((f) => f.includes('big'))).toBe(false);
    expect(await everyFileReadable(server, r.b, r.room)).toBeGreaterThanOrEqual(1);
    // Every file left on disk belongs to a message.
    const { messages } = await chatHistory(server, r.b, r.room);
    const referenced = new Set(messages.flatMap((m) => (m.files_data ?? []).flatMap((f: any) => [keyOf(f.file_path), f.thumbnail_url && keyOf(f.thumbnail_url)])).filter(Boolean));
    for (const f of left) expect(referenced.has(f.replace(/^static\//, '')), f).toBe(true);
  }, 90_000);
});
