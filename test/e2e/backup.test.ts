import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { BackupTargetExists, backupDataDir } from '../../src/cli/backup.js';
import { describe, expect, it } from 'vitest';
import { startParley, type TestServer } from '../helpers/parley.js';
import { chatHistory, chatSocket, eventually, newRoom, newUser } from '../helpers/clients.js';
import { closeRoom, download, fileEntry, image, onServer, pdf, room, sendFrom, settledFiles, wav } from '../files/support.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

/** `parley backup --out target` against the server's data, as an operator runs it beside it. */
function backup(server: TestServer, target: string, env: Record<string, string> = {}) {
  return run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'backup', '--out', target], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: server.data.databaseUrl, DATA_DIR: server.data.dir, LOG_LEVEL: 'silent', ...env },
  });
}

/** A server and a scratch folder for backups, both removed after `fn`. */
async function withServer(env: Record<string, string>, fn: (server: TestServer, out: string) => Promise<void>): Promise<void> {
  const server = await startParley({ env });
  const out = mkdtempSync(path.join(tmpdir(), 'parley-backup-'));
  try {
    await fn(server, out);
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
}

// `parley backup` on the embedded default: taken while messages are being sent, it holds
// every message acknowledged before it began, passes an integrity check, and a server
// started on it serves them.
describe('parley backup (SQLite)', () => {
  it('under write load: every message acked before the backup began is in it; a server restored from it serves them', async (t) => {
    const server = await startParley();
    const out = mkdtempSync(path.join(tmpdir(), 'parley-backup-'));
    try {
      const [a, b] = [await newUser(server), await newUser(server)];
      const room = await newRoom(server, a, b);
      const sa = await chatSocket(server, a, room);
      let n = 0;
      const acked = new Map<string, number>(); // local_temp_id → ack time
      sa.ws.on('message', (d) => {
        const f = JSON.parse(d.toString());
        if (f.type === 'new_message' && f.data.local_temp_id) acked.set(f.data.local_temp_id, Date.now());
      });
      const pump = setInterval(() => {
        for (let i = 0; i < 10; i++) sa.send({ type: 'send_message', data: { room_id: room, content: `m${n}`, local_temp_id: `t${n++}` } });
      }, 5);
      await eventually(() => expect(acked.size).toBeGreaterThan(300), { timeoutMs: 20_000, intervalMs: 20 });

      const began = Date.now();
      const ackedBefore = [...acked].filter(([, at]) => at < began).map(([id]) => id);
      const target = path.join(out, 'parley-backup');
      const file = path.join(target, 'parley.db');
      const { stdout } = await backup(server, target);
      expect(JSON.parse(stdout)).toMatchObject({ backup: target, database: file, bytes: expect.any(Number) });
      // Sends went on during the backup.
      const during = acked.size;
      await eventually(() => expect(acked.size).toBeGreaterThan(during + 50), { timeoutMs: 20_000, intervalMs: 20 });
      clearInterval(pump);

      const copy = new Database(file, { readonly: true });
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const stored = new Set((copy.prepare('SELECT client_id FROM messages WHERE client_id IS NOT NULL').all() as { client_id: string }[]).map((r) => r.client_id));
      const seqs = (copy.prepare('SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq').all(room) as { seq: number }[]).map((r) => r.seq);
      copy.close();
      // More than 300 were acked before the wait ended; a few in its last millisecond are not counted as before.
      expect(ackedBefore.length).toBeGreaterThan(250);
      expect(ackedBefore.filter((id) => !stored.has(id))).toEqual([]);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // gapless in the copy too

      const restored = await startParley(t, { env: { DATABASE_URL: `sqlite:${file}` } });
      const h = await chatHistory(restored, a, room);
      expect(h.total).toBe(seqs.length);
      sa.close();
    } finally {
      await server.close();
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('holds the attachments and the generated secret: a server started with DATA_DIR=backup serves the same files and tokens', async () => {
    // No JWT_SECRET: the generated one lives in DATA_DIR and must travel with the data.
    await withServer({ JWT_SECRET: '' }, async (server, out) => {
      const r = await room(server);
      const png = await image('png', 40, 30);
      const doc = pdf(4096);
      const voice = wav(1);
      const sent = [
        await sendFrom(r, { message_type: 'image', files_data: [fileEntry(png, 'photo.png', 'image/png')] }),
        await sendFrom(r, { message_type: 'file', files_data: [fileEntry(doc, 'report.pdf', 'application/pdf')] }),
        await sendFrom(r, { message_type: 'voice', files_data: [fileEntry(voice, 'hello.wav', 'audio/wav')] }),
      ];
      expect(sent.map((f) => f.type)).toEqual(['new_message', 'new_message', 'new_message']);
      const onDisk = (await settledFiles(server)).filter((f) => f.startsWith('static'));
      closeRoom(r);

      const target = path.join(out, 'backup');
      const { stdout } = await backup(server, target, { JWT_SECRET: '' });
      const result = JSON.parse(stdout);
      expect(result).toMatchObject({ backup: target, database: path.join(target, 'parley.db'), files: onDisk.length, secret: true });
      expect(result.file_bytes).toBeGreaterThanOrEqual(png.length + doc.length + voice.length);
      // As private as the data it copies.
      expect(statSync(target).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(target, 'jwt-secret')).mode & 0o777).toBe(0o600);
      for (const f of onDisk) expect(statSync(path.join(target, f)).mode & 0o777, f).toBe(0o600);

      // Restore: the server is gone, a new one starts on the backup as its data directory.
      await server.close();
      const restored = await startParley({ env: { JWT_SECRET: '' }, data: { dir: target, databaseUrl: `sqlite:${path.join(target, 'parley.db')}` } });
      try {
        const h = await chatHistory(restored, r.a, r.room); // the token from before verifies: same secret
        expect(h.total).toBe(3);
        const served = await Promise.all(
          h.messages
            .sort((x, y) => x.id - y.id)
            .map(async (m) => (await download(restored, onServer(restored, (m.files_data ?? [])[0]?.file_path ?? m.file_path))).bytes),
        );
        expect(served[0]!.subarray(0, 8)).toEqual(png.subarray(0, 8)); // a PNG (stored as sent or re-encoded)
        expect(served[1]).toEqual(doc);
        expect(served[2]).toEqual(voice);
      } finally {
        await restored.close({ keepData: true });
      }
    });
  });

  it('never writes over an existing target: a clear message, exit 1, and the target untouched', async () => {
    await withServer({}, async (server, out) => {
      const existing = path.join(out, 'precious.db');
      writeFileSync(existing, 'not a backup, and not to be lost');
      for (const target of [existing, out]) {
        const err = (await backup(server, target).catch((e: unknown) => e)) as { code: number; stderr: string };
        expect(err.code).toBe(1);
        expect(err.stderr.trim()).toBe(`parley backup: ${target} already exists; a backup never writes over anything: name a new directory with --out`);
      }
      expect(readFileSync(existing, 'utf8')).toBe('not a backup, and not to be lost');
      expect(readdirSync(out)).toEqual(['precious.db']);
    });
  });

  it('as an invariant (fast-check): over sends and backups to new and existing targets, a new one holds every acked message and an existing one is never touched', async () => {
    await withServer({}, async (server, out) => {
      const [a, b] = [await newUser(server), await newUser(server)];
      const room = await newRoom(server, a, b);
      const sa = await chatSocket(server, a, room);
      let sent = 0;
      const sendAndAck = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const id = `p${sent++}`;
          sa.send({ type: 'send_message', data: { room_id: room, content: id, local_temp_id: id } });
          await sa.next('new_message', { where: (f) => f.data.local_temp_id === id });
        }
      };
      const precious = path.join(out, 'precious.txt');
      writeFileSync(precious, 'not a backup');
      mkdirSync(path.join(out, 'empty-dir'));
      const made: string[] = [precious, path.join(out, 'empty-dir')];
      const snapshot = (target: string): string =>
        statSync(target).isDirectory()
          ? readdirSync(target, { recursive: true, withFileTypes: true })
              .map((e) => path.join(e.parentPath, e.name))
              .sort()
              .map((f) => `${f}:${statSync(f).isFile() ? readFileSync(f).toString('base64') : 'dir'}`)
              .join('\n')
          : readFileSync(target).toString('base64');
      const action = fc.oneof(
        fc.record({ kind: fc.constant('send' as const), n: fc.integer({ min: 1, max: 4 }) }),
        fc.record({ kind: fc.constant('backup' as const) }),
        fc.record({ kind: fc.constant('over' as const), which: fc.nat() }),
      );
      let fresh = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async (actions) => {
          for (const act of actions) {
            if (act.kind === 'send') await sendAndAck(act.n);
            else if (act.kind === 'backup') {
              const target = path.join(out, `b${fresh++}`);
              const result = backupDataDir(server.parley.config, target, true);
              const copy = new Database(result.database, { readonly: true });
              const stored = (copy.prepare('SELECT count(*) AS n FROM messages WHERE conversation_id = ?').get(room) as { n: number }).n;
              copy.close();
              expect(stored).toBe(sent); // every send was acked before the backup began
              made.push(target);
            } else {
              const target = made[act.which % made.length]!;
              const before = snapshot(target);
              expect(() => backupDataDir(server.parley.config, target, true)).toThrow(BackupTargetExists);
              expect(snapshot(target)).toBe(before);
            }
          }
        }),
        { numRuns: 12 },
      );
      sa.close();
    });
  }, 120_000);

  it('on PostgreSQL it says to use pg_dump and exits 2', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'backup', '--out', '/tmp/x.db'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/none', LOG_LEVEL: 'silent' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/pg_dump --format=custom/);
    expect((err as { stderr: string }).stderr).toMatch(/Attachments are files: copy .*static after the dump/);
  });
});
