import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { TEST_JWT_SECRET, useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { newGroup, newTenant } from '../webhooks/support.js';
import { sendOne, sendPng } from './support.js';
import type { TestUser } from '../helpers/clients.js';

// Issue 20: exports as one streamed tar, parsed back here: every message once, files byte-equal,
// a resumed export gives exactly what came after its cursor, and only what the caller may see.

interface Archive {
  status: number;
  entries: Map<string, Buffer>;
  lines: { cursor: string; id: number; seq: number; conversation_id: number; content: string | null; attachments: { path: string }[] }[];
}

async function download(server: TestServer, user: TestUser, path: string): Promise<Archive> {
  const res = await fetch(`${server.url}/api/parley${path}`, { headers: { authorization: `Bearer ${user.token}` } });
  if (res.status !== 200) return { status: res.status, entries: new Map(), lines: [] };
  expect(res.headers.get('content-type')).toContain('application/x-tar');
  return parseArchive(Readable.fromWeb(res.body as never));
}

/** The archive's files by name (each once), and its JSON lines in order. */
async function parseArchive(source: Readable): Promise<Archive> {
  const entries = new Map<string, Buffer>();
  const tar = extract();
  const done = (async () => {
    for await (const entry of tar) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      expect(entries.has(entry.header.name), `${entry.header.name} once`).toBe(false);
      entries.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  source.pipe(tar);
  await done;
  const lines = [...entries].filter(([name]) => name.startsWith('messages/')).flatMap(([, b]) => b.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  return { status: 200, entries, lines };
}

describe.each(databases)('export on %s', (db) => {
  const server = useParley({ db, env: { EXPORTS_PER_MINUTE: '600' } });

  it('a conversation round-trips: every message once in seq order, files byte-equal, resumable by cursor; members only', async () => {
    const { admin, member } = await newTenant(server);
    const outsider = (await newTenant(server)).member;
    const conv = await newGroup(server, admin, [member], 'Exported');
    const png = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#aa3311' } }).png().toBuffer();
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) ids.push(i % 5 === 2 ? (await sendPng(server, i % 2 ? admin : member, conv, png, `p${i}.png`)).id : (await sendOne(server, i % 2 ? admin : member, conv, `line ${i}`)).id);

    const whole = await download(server, member, `/conversations/${conv}/export`);
    expect(whole.status).toBe(200);
    expect(whole.lines.map((l) => l.id)).toEqual(ids);
    expect(whole.lines.map((l) => l.seq)).toEqual(ids.map((_, i) => i + 1));
    const withFiles = whole.lines.filter((l) => l.attachments.length > 0);
    expect(withFiles).toHaveLength(2);
    for (const l of withFiles) expect(whole.entries.get(l.attachments[0].path)?.equals(png), l.attachments[0].path).toBe(true);

    const resumed = await download(server, member, `/conversations/${conv}/export?after=${whole.lines[6].cursor}`);
    expect(resumed.lines.map((l) => l.id)).toEqual(ids.slice(7));
    expect((await download(server, outsider, `/conversations/${conv}/export`)).status).toBe(404);
  });

  it("own data: the profile and only the messages I sent; the tenant's export is its admins'", async () => {
    const { admin, member } = await newTenant(server);
    const conv = await newGroup(server, admin, [member], 'Mine');
    const mine = [await sendOne(server, member, conv, 'mine 1'), await sendOne(server, member, conv, 'mine 2')];
    await sendOne(server, admin, conv, 'theirs');
    const own = await download(server, member, '/export');
    expect(JSON.parse(own.entries.get('profile.json')!.toString())).toMatchObject({ id: member.user.id, email: member.user.email });
    expect(own.lines.map((l) => l.id)).toEqual(mine.map((m) => m.id));

    expect((await download(server, member, '/tenant/export')).status).toBe(403);
    const tenant = await download(server, admin, '/tenant/export');
    expect(tenant.lines.map((l) => l.content)).toEqual(['mine 1', 'mine 2', 'theirs']);
  });
});

describe('parley export (CLI)', () => {
  const server = useParley();

  it("writes a user's archive to --out: the same lines the API gives", { timeout: 60_000 }, async () => {
    const { admin, member } = await newTenant(server);
    const conv = await newGroup(server, admin, [member], 'CLI');
    const mine = [await sendOne(server, member, conv, 'cli 1'), await sendOne(server, member, conv, 'cli 2')];
    const out = path.join(server.data.dir, `export-${Date.now()}.tar`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'export', '--user', member.user.email, '--tenant', member.user.tenant_id, '--out', out], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: server.data.dir, DATABASE_URL: server.data.databaseUrl, JWT_SECRET: TEST_JWT_SECRET },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    expect(await new Promise((resolve) => child.once('exit', resolve)), stderr).toBe(0);
    const archive = await parseArchive(createReadStream(out));
    expect(archive.lines.map((l) => l.id)).toEqual(mine.map((m) => m.id));
    expect(archive.entries.has('profile.json')).toBe(true);
  });
});

describe('export rate limit', () => {
  const server = useParley({ env: { EXPORTS_PER_MINUTE: '2' } });

  it('past the per-user limit an export is refused with 429', async () => {
    const { member } = await newTenant(server);
    expect((await download(server, member, '/export')).status).toBe(200);
    const refused = await api(server, 'GET', '/api/parley/export', { token: member.token });
    expect(refused.status).toBe(429);
  });
});
