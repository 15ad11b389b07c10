import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { startParley } from '../helpers/parley.js';
import { chatSocket, newRoom, newUser } from '../helpers/clients.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

// What Parley writes is its own: messages, attachments and the secret are not for the
// other accounts of the machine. After real use (register, send, upload, a thumbnail, a
// backup): DATA_DIR and the files tree are 0700, the database, its -wal and -shm, every
// stored file and the backup 0600 — whatever the umask.

const mode = (p: string) => statSync(p).mode & 0o777;
const octal = (m: number) => '0' + m.toString(8);

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

describe('file modes after real use (SQLite, files on disk)', () => {
  const parent = mkdtempSync(path.join(tmpdir(), 'parley-modes-'));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('DATA_DIR and the files tree 0700; the database, -wal, -shm, stored files and the backup 0600', { timeout: 60_000 }, async () => {
    // A DATA_DIR that does not exist yet, so Parley creates it (the umask alone would give 0755).
    const dir = path.join(parent, 'data');
    const old = process.umask(0o022);
    const server = await startParley({ data: { dir, databaseUrl: `sqlite:${path.join(dir, 'parley.db')}` } });
    try {
      const [a, b] = [await newUser(server), await newUser(server)];
      const room = await newRoom(server, a, b);
      const s = await chatSocket(server, a, room);
      s.send({ type: 'send_message', data: { room_id: room, content: 'hello', local_temp_id: 't1' } });
      await s.next('new_message');
      const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3366ff' } }).png().toBuffer();
      const form = new FormData();
      form.append('message_type', 'image');
      form.append('files', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'pic.png');
      const up = await fetch(`${server.url}/api/chat/upload-files`, { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: form });
      expect(up.status).toBe(200);
      const key = ((await up.json()) as { files: { file_path: string }[] }).files[0].file_path;
      s.send({ type: 'send_message', data: { room_id: room, message_type: 'image', local_temp_id: 't2', files_data: [{ file_path: key }] } });
      await s.next('new_message', { where: (f) => f.data.local_temp_id === 't2' });
      // The same image as base64 in the frame (000/001): written by another path than the upload.
      s.send({ type: 'send_message', data: { room_id: room, message_type: 'image', local_temp_id: 't3', file_data: png.toString('base64'), file_name: 'inline.png' } });
      await s.next('new_message', { where: (f) => f.data.local_temp_id === 't3' });
      s.close();

      const backup = path.join(parent, 'backups', 'parley-backup'); // a data directory of its own
      await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'backup', '--out', backup], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: server.data.databaseUrl, DATA_DIR: dir, LOG_LEVEL: 'silent' },
      });

      const modes: Record<string, string> = {};
      for (const p of [dir, ...walk(dir), path.dirname(backup), backup, ...walk(backup)]) modes[path.relative(parent, p)] = octal(mode(p));
      const expected: Record<string, string> = {};
      for (const p of Object.keys(modes)) expected[p] = statSync(path.join(parent, p)).isDirectory() ? '0700' : '0600';
      expect(modes).toEqual(expected);
      // What was checked: the database and its WAL files, a stored image and its thumbnail.
      const names = Object.keys(modes).join('\n');
      expect(names).toMatch(/parley\.db-wal/);
      expect(names).toMatch(/parley\.db-shm/);
      expect(names).toMatch(/jwt-secret|parley\.db$/m);
      expect(names).toMatch(/chat_files\/images\/.+/);
      expect(names).toMatch(/chat_files\/thumbnails\/.+/);
      // ...and their copies in the backup.
      expect(names).toMatch(/^backups\/parley-backup\/parley\.db$/m);
      expect(names).toMatch(/^backups\/parley-backup\/static\/chat_files\/images\/.+/m);
    } finally {
      process.umask(old);
      await server.close({ keepData: true });
    }
  });

  it('an older install (0755 folders, 0644 files) is made private when Parley starts on it', { timeout: 60_000 }, async () => {
    const dir = path.join(parent, 'data');
    for (const p of [dir, ...walk(dir)]) chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
    const server = await startParley({ data: { dir, databaseUrl: `sqlite:${path.join(dir, 'parley.db')}` } });
    try {
      const a = await newUser(server);
      expect(a.token).toBeTruthy();
      for (const f of ['parley.db', 'parley.db-wal', 'parley.db-shm']) expect(octal(mode(path.join(dir, f))), f).toBe('0600');
      // The folders hide what they hold, files written before included.
      for (const f of ['static', 'static/chat_files', 'static/chat_files/images', 'static/chat_files/thumbnails', '.staging']) {
        expect(octal(mode(path.join(dir, f))), f).toBe('0700');
      }
    } finally {
      await server.close();
    }
  });
});
