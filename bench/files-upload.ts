// File uploads under load: the server's peak memory while ten 50 MB files arrive at once,
// and upload throughput next to a plain file copy measured in the same run. A script that
// prints figures, not a test.
//
//   node --import tsx bench/files-upload.ts [--files 10] [--mb 50] [--keep]
//
// It starts one Parley (tsx, SQLite, its own temp DATA_DIR) and measures, for both upload
// paths of document 000/001:
//   - multipart: POST /api/chat/upload-files, one 50 MB file per request, all at once;
//   - socket:    send_message with files_data, one 50 MB file (base64) per socket, all at once;
// each once alone (latency of one file) and then with --files concurrent uploads. The
// server's RSS is sampled every 10 ms from /proc (and its kernel peak, VmHWM, reset before
// each phase through /proc/PID/clear_refs). The baseline is the same bytes copied file to
// file on the same disk: copyFile (the kernel's copy) and a read → write → fsync stream,
// which is the work an upload cannot avoid.
import { createReadStream, createWriteStream, mkdtempSync, openAsBlob, rmSync, writeFileSync } from 'node:fs';
import { copyFile, open, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort, killAllChildrenNow, peakRssKb, rssKb, sleep, startChild, stopChild, waitPort } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const FILES = opt('files', 10);
const MB = opt('mb', 50);
const KEEP = args.includes('--keep');
const BYTES = MB * 1024 * 1024;

const dir = mkdtempSync(path.join(tmpdir(), 'parley-files-bench-'));
process.on('exit', () => {
  killAllChildrenNow();
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** A PDF of `size` bytes: a real header and trailer around spaces (cheap to make, valid to the validator). */
function pdfOf(size: number): Buffer {
  const head = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Length 0 >>\nstream\n', 'latin1');
  const tail = Buffer.from('\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n', 'latin1');
  const b = Buffer.alloc(size, 0x20);
  head.copy(b, 0);
  tail.copy(b, size - tail.length);
  return b;
}

const fmtMb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const rate = (bytes: number, ms: number) => (bytes / 1024 / 1024 / (ms / 1000)).toFixed(0);

interface Phase {
  name: string;
  files: number;
  ms: number;
  baseRssKb: number;
  peakRssKb: number;
}

/** Samples the server's RSS while `work` runs; the peak is the larger of the samples and the kernel's VmHWM. */
async function measure(pid: number, name: string, files: number, work: () => Promise<void>): Promise<Phase> {
  await sleep(300);
  global.gc?.();
  const baseRssKb = rssKb(pid) ?? 0;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  } catch {
    /* not permitted: the samples still count */
  }
  let peak = baseRssKb;
  const timer = setInterval(() => {
    const r = rssKb(pid);
    if (r !== null && r > peak) peak = r;
  }, 10);
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  clearInterval(timer);
  peak = Math.max(peak, peakRssKb(pid) ?? 0);
  return { name, files, ms, baseRssKb, peakRssKb: peak };
}

async function main() {
  console.log(`files-upload bench: ${FILES} × ${MB} MB, node ${process.version}, temp ${dir}`);
  const file = path.join(dir, 'sample.pdf');
  const bytes = pdfOf(BYTES);
  writeFileSync(file, bytes);

  // ---------------------------------------------------------------- baseline: plain copies
  const copyDir = path.join(dir, 'copies');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(copyDir);
  const copies = async (how: 'copyFile' | 'stream+fsync', n: number) => {
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const to = path.join(copyDir, `${how}-${i}`);
        if (how === 'copyFile') await copyFile(file, to);
        else {
          const fh = await open(to, 'w');
          await pipeline(createReadStream(file), createWriteStream('', { fd: fh.fd, autoClose: false }));
          await fh.sync();
          await fh.close();
        }
      }),
    );
    const ms = performance.now() - t0;
    for (let i = 0; i < n; i++) await unlink(path.join(copyDir, `${how}-${i}`));
    return ms;
  };

  // ---------------------------------------------------------------- the server
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  const child = startChild(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', JWT_SECRET: 'bench-secret-bench-secret-bench-secret', DATABASE_URL: '' },
    logFile: path.join(dir, 'parley.log'),
  });
  await waitPort(port, child, 60_000);
  const url = `http://127.0.0.1:${port}`;
  const pid = child.pid!;

  const post = async (p: string, body: unknown, token?: string) => {
    const res = await fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const users = await Promise.all(Array.from({ length: FILES + 1 }, (_, i) => post('/api/auth/register', { email: `bench${i}@example.com`, password: 'password-123', name: `Bench ${i}` })));
  const peer = users[FILES];
  const rooms = await Promise.all(users.slice(0, FILES).map((u) => post('/api/chat/rooms', { receiver_id: peer.user.id }, u.access_token)));

  const multipartOne = async (i: number) => {
    const form = new FormData();
    form.append('files', await openAsBlob(file, { type: 'application/pdf' }), `report-${i}.pdf`);
    form.append('message_type', 'file');
    const res = await fetch(url + '/api/chat/upload-files', { method: 'POST', headers: { authorization: `Bearer ${users[i].access_token}` }, body: form });
    const body = (await res.json()) as any;
    if (res.status !== 200 || body.files?.[0]?.file_size !== BYTES) throw new Error(`upload ${i}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  };

  // One frame per socket, prepared before the clock starts (the client's cost is not the server's).
  const frameOf = (i: number) =>
    JSON.stringify({
      type: 'send_message',
      data: { room_id: rooms[i].id, message_type: 'file', local_temp_id: `bench-${i}-${Math.random()}`, files_data: [{ file_data: bytes.toString('base64'), file_name: `report-${i}.pdf`, file_size: BYTES, mime_type: 'application/pdf' }] },
    });
  const openSockets = (n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/api/chat/ws?token=${users[i].access_token}&room_id=${rooms[i].id}`, { perMessageDeflate: false });
        return new Promise<WebSocket>((res, rej) => {
          ws.once('open', () => res(ws));
          ws.once('error', rej);
        });
      }),
    );
  const socketSend = (ws: WebSocket, frame: string) =>
    new Promise<void>((resolve, reject) => {
      const onMsg = (d: WebSocket.RawData) => {
        const s = d.toString();
        if (s.startsWith('{"type":"new_message"')) {
          ws.off('message', onMsg);
          resolve();
        } else if (s.startsWith('{"type":"error"')) reject(new Error(s));
      };
      ws.on('message', onMsg);
      ws.send(frame);
    });

  // Warm-up: every module of both paths loaded (sharp, file-type, music-metadata), a first file of each kind stored.
  {
    const warm = path.join(dir, 'warm.pdf');
    writeFileSync(warm, pdfOf(1024 * 1024));
    const form = new FormData();
    form.append('files', await openAsBlob(warm, { type: 'application/pdf' }), 'warm.pdf');
    const res = await fetch(url + '/api/chat/upload-files', { method: 'POST', headers: { authorization: `Bearer ${users[0].access_token}` }, body: form });
    if (res.status !== 200) throw new Error(`warm-up upload: ${res.status}`);
    const [ws] = await openSockets(1);
    await socketSend(ws, JSON.stringify({ type: 'send_message', data: { room_id: rooms[0].id, message_type: 'file', files_data: [{ file_data: pdfOf(1024 * 1024).toString('base64'), file_name: 'warm.pdf' }] } }));
    ws.close();
  }

  const phases: Phase[] = [];
  const copy1 = await copies('stream+fsync', 1);
  const copyN = await copies('stream+fsync', FILES);
  const kcopy1 = await copies('copyFile', 1);
  const kcopyN = await copies('copyFile', FILES);

  phases.push(await measure(pid, 'multipart upload-files', 1, () => multipartOne(0)));
  phases.push(await measure(pid, 'multipart upload-files', FILES, async () => void (await Promise.all(Array.from({ length: FILES }, (_, i) => multipartOne(i))))));

  let sockets = await openSockets(1);
  let frames = [frameOf(0)];
  phases.push(await measure(pid, 'socket files_data (base64)', 1, () => socketSend(sockets[0], frames[0])));
  sockets.forEach((s) => s.close());
  sockets = await openSockets(FILES);
  frames = Array.from({ length: FILES }, (_, i) => frameOf(i));
  phases.push(await measure(pid, 'socket files_data (base64)', FILES, async () => void (await Promise.all(sockets.map((s, i) => socketSend(s, frames[i]))))));
  sockets.forEach((s) => s.close());
  frames = [];

  const kernelPeak = peakRssKb(pid) ?? 0;
  await stopChild(child);

  // Check the stored bytes of one upload equal what was sent (the figures are for real work).
  const { readdirSync } = await import('node:fs');
  const stored = readdirSync(path.join(dataDir, 'static', 'chat_files', 'files'));
  const sample = await readFile(path.join(dataDir, 'static', 'chat_files', 'files', stored[0]));
  if (!sample.equals(bytes)) throw new Error('a stored file differs from the upload');

  console.log('');
  console.log(`| what | files at once | wall | MB/s (all files) | server RSS before | server peak RSS | peak − before |`);
  console.log(`|---|---|---|---|---|---|---|`);
  console.log(`| plain copy (read → write → fsync) | 1 | ${copy1.toFixed(0)} ms | ${rate(BYTES, copy1)} | | | |`);
  console.log(`| plain copy (read → write → fsync) | ${FILES} | ${copyN.toFixed(0)} ms | ${rate(BYTES * FILES, copyN)} | | | |`);
  console.log(`| plain copy (copyFile, kernel) | 1 | ${kcopy1.toFixed(0)} ms | ${rate(BYTES, kcopy1)} | | | |`);
  console.log(`| plain copy (copyFile, kernel) | ${FILES} | ${kcopyN.toFixed(0)} ms | ${rate(BYTES * FILES, kcopyN)} | | | |`);
  for (const p of phases) {
    console.log(`| ${p.name} | ${p.files} | ${p.ms.toFixed(0)} ms | ${rate(BYTES * p.files, p.ms)} | ${fmtMb(p.baseRssKb)} | ${fmtMb(p.peakRssKb)} | ${fmtMb(p.peakRssKb - p.baseRssKb)} (${((p.peakRssKb - p.baseRssKb) / 1024 / MB).toFixed(2)} × one file) |`);
  }
  console.log('');
  console.log(`server VmHWM at the end (since the last reset): ${fmtMb(kernelPeak)}; stored files verified byte for byte`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
