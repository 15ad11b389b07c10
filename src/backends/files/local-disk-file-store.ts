import { createReadStream, openSync } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, stat, unlink, link, type FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FILE_FOLDERS, isFileKey, StagedTooLarge, type FileStore, type StagedFile, type StoredFileHandle, type SweepReport } from './file-store.js';

const PART = '.part';

const isCode = (e: unknown, code: string) => (e as NodeJS.ErrnoException)?.code === code;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return false;
    throw e;
  }
}

async function unlinkQuiet(p: string): Promise<void> {
  try {
    await unlink(p);
  } catch (e) {
    if (!isCode(e, 'ENOENT')) throw e;
  }
}

/** A rename or a new directory entry is durable only once its directory is fsynced. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself was synced.
  } finally {
    await fh.close();
  }
}

/** Writes into an open file, fsyncs before finishing; batches queued chunks into one writev. */
function fileSink(fh: FileHandle): Writable {
  const writeAll = async (chunks: Buffer[]) => {
    let pending = chunks;
    while (pending.length > 0) {
      let { bytesWritten } = await fh.writev(pending);
      const rest: Buffer[] = [];
      for (const c of pending) {
        if (bytesWritten >= c.length) bytesWritten -= c.length;
        else {
          rest.push(c.subarray(bytesWritten));
          bytesWritten = 0;
        }
      }
      pending = rest;
    }
  };
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, done) {
      writeAll([chunk]).then(() => done(), done);
    },
    writev(entries, done) {
      writeAll(entries.map((e) => e.chunk as Buffer)).then(() => done(), done);
    },
    final(done) {
      fh.sync().then(() => done(), done);
    },
  });
}

/**
 * Files on the local disk: `<root>/static/chat_files/{images,files,voices,thumbnails}/`
 * (the documents' layout) and a staging folder `<root>/.staging/` on the same filesystem,
 * so placing a staged file is a link, not a copy.
 */
export class LocalDiskFileStore implements FileStore {
  readonly #static: string;
  readonly #staging: string;
  #ready: Promise<void> | null = null;

  constructor(readonly root: string) {
    this.#static = path.join(root, 'static');
    this.#staging = path.join(root, '.staging');
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      // Attachments are the participants' only: the folders are 0700 (an older install's 0755
      // folders too, which also hides the files they hold), the files 0600.
      const folders = [this.#staging, this.#static, path.join(this.#static, 'chat_files'), ...FILE_FOLDERS.map((f) => path.join(this.#static, 'chat_files', f))];
      for (const dir of folders) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        // Best effort: a folder someone else owns (set up by an administrator) stays as it is.
        await chmod(dir, 0o700).catch(() => {});
      }
    })();
    return this.#ready;
  }

  /** The absolute path of a key; refuses anything that is not a well-formed key (no traversal). */
  pathOf(key: string): string {
    if (!isFileKey(key)) throw new Error(`not a file key: ${JSON.stringify(key)}`);
    return path.join(this.#static, key);
  }

  async stage(source: AsyncIterable<Uint8Array> | Readable, maxBytes: number): Promise<StagedFile> {
    await this.#init();
    const localPath = path.join(this.#staging, randomUUID());
    const fh = await open(localPath, 'wx', 0o600);
    let size = 0;
    try {
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxBytes) done(new StagedTooLarge(maxBytes));
          else done(null, chunk);
        },
      });
      const input = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
      await pipeline(input, count, fileSink(fh));
    } catch (e) {
      await fh.close().catch(() => {});
      await unlinkQuiet(localPath);
      throw e;
    }
    await fh.close();
    return { localPath, size };
  }

  async discard(staged: StagedFile): Promise<void> {
    await unlinkQuiet(staged.localPath);
  }

  async putStaged(staged: StagedFile, key: string): Promise<boolean> {
    await this.#init();
    const final = this.pathOf(key);
    if (await exists(final)) return false;
    try {
      // link() fails with EEXIST: the exclusive create of <key>.part without a copy.
      await link(staged.localPath, final + PART);
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false;
      throw e;
    }
    if (await exists(final)) {
      await unlinkQuiet(final + PART);
      return false;
    }
    await unlinkQuiet(staged.localPath);
    await syncDir(path.dirname(final));
    return true;
  }

  async putBytes(key: string, data: Uint8Array): Promise<boolean> {
    await this.#init();
    const final = this.pathOf(key);
    if (await exists(final)) return false;
    let fh;
    try {
      fh = await open(final + PART, 'wx', 0o600);
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false;
      throw e;
    }
    try {
      await fh.writeFile(data);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlinkQuiet(final + PART);
      throw e;
    }
    await fh.close();
    if (await exists(final)) {
      await unlinkQuiet(final + PART);
      return false;
    }
    await syncDir(path.dirname(final));
    return true;
  }

  async commit(key: string): Promise<void> {
    const final = this.pathOf(key);
    try {
      await rename(final + PART, final);
    } catch (e) {
      if (isCode(e, 'ENOENT') && (await exists(final))) return; // committed already
      throw e;
    }
    await syncDir(path.dirname(final));
  }

  async remove(key: string): Promise<void> {
    const final = this.pathOf(key);
    await unlinkQuiet(final + PART);
    await unlinkQuiet(final);
  }

  async open(key: string): Promise<StoredFileHandle | null> {
    if (!isFileKey(key)) return null;
    const final = this.pathOf(key);
    // The commit renames <key>.part to <key> at any moment: looked at in this order (final,
    // part, final again) a file being renamed is found under one of its names.
    for (const p of [final, final + PART, final]) {
      try {
        const s = await stat(p);
        if (!s.isFile()) return null;
        return {
          size: s.size,
          modifiedAt: s.mtimeMs,
          // Opened now, by whichever name the file has now (the rename may have come since the stat).
          stream: (range) => createReadStream('', { fd: openEither(final), ...(range ? { start: range.start, end: range.end } : {}) }),
        };
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e;
      }
    }
    return null;
  }

  async sweep(isReferenced: (keys: string[]) => Promise<Set<string>>, graceMs: number): Promise<SweepReport> {
    await this.#init();
    const report: SweepReport = { rolledForward: 0, removed: 0 };
    const cutoff = Date.now() - graceMs;
    const old = async (p: string) => {
      try {
        return (await stat(p)).mtimeMs <= cutoff;
      } catch {
        return false;
      }
    };

    for (const name of await readdir(this.#staging)) {
      const p = path.join(this.#staging, name);
      if (await old(p)) {
        await unlinkQuiet(p);
        report.removed++;
      }
    }

    for (const folder of FILE_FOLDERS) {
      const dir = path.join(this.#static, 'chat_files', folder);
      const names = await readdir(dir);
      for (let i = 0; i < names.length; i += 500) {
        const chunk = names.slice(i, i + 500);
        const keyOf = (n: string) => `chat_files/${folder}/${n.endsWith(PART) ? n.slice(0, -PART.length) : n}`;
        const keys = [...new Set(chunk.map(keyOf).filter(isFileKey))];
        const referenced = keys.length > 0 ? await isReferenced(keys) : new Set<string>();
        for (const n of chunk) {
          const p = path.join(dir, n);
          const key = keyOf(n);
          if (n.endsWith(PART) && referenced.has(key)) {
            // The row committed, the rename did not happen: finish it. Another process starting
            // at the same moment may finish it first; commit() takes that as done.
            await this.commit(key);
            report.rolledForward++;
          } else if (!referenced.has(key) && (await old(p))) {
            await unlinkQuiet(p);
            report.removed++;
          }
        }
      }
      if (report.rolledForward > 0) await syncDir(dir);
    }
    return report;
  }
}

export function createLocalDiskFileStore(root: string): LocalDiskFileStore {
  return new LocalDiskFileStore(root);
}

/** A descriptor of the file at `final`, or at its `.part` while its rename is pending. */
function openEither(final: string): number {
  for (const p of [final, final + PART, final]) {
    try {
      return openSync(p, 'r');
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw e;
    }
  }
  throw Object.assign(new Error(`ENOENT: ${final}`), { code: 'ENOENT' });
}
