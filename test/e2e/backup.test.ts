import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startParley } from '../helpers/parley.js';
import { chatHistory, chatSocket, eventually, newRoom, newUser } from '../helpers/clients.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

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
      const file = path.join(out, 'parley-backup.db');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'backup', '--out', file], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: server.data.databaseUrl, DATA_DIR: server.data.dir, LOG_LEVEL: 'silent' },
      });
      expect(JSON.parse(stdout)).toMatchObject({ backup: file, bytes: expect.any(Number) });
      // Sends went on during the backup.
      const during = acked.size;
      await eventually(() => expect(acked.size).toBeGreaterThan(during + 50), { timeoutMs: 20_000, intervalMs: 20 });
      clearInterval(pump);

      const copy = new Database(file, { readonly: true });
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const stored = new Set((copy.prepare('SELECT client_id FROM messages WHERE client_id IS NOT NULL').all() as { client_id: string }[]).map((r) => r.client_id));
      const seqs = (copy.prepare('SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq').all(room) as { seq: number }[]).map((r) => r.seq);
      copy.close();
      expect(ackedBefore.length).toBeGreaterThan(300);
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

  it('on PostgreSQL it says to use pg_dump and exits 2', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'backup', '--out', '/tmp/x.db'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/none', LOG_LEVEL: 'silent' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/pg_dump --format=custom/);
  });
});
