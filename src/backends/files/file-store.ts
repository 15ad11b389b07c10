import type { Readable } from 'node:stream';

/** Bytes received for a file but not yet placed under a key: private to the process that staged them. */
export interface StagedFile {
  /** A local path the validators read (file-type, music-metadata, sharp). */
  readonly localPath: string;
  readonly size: number;
}

/** A committed (or committing) file, ready to be streamed. */
export interface StoredFileHandle {
  readonly size: number;
  readonly modifiedAt: number;
  /** The bytes, or the inclusive range [start, end]. */
  stream(range?: { start: number; end: number }): Readable;
}

/** `stage` received more than its `maxBytes`. */
export class StagedTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`more than ${maxBytes} bytes`);
    this.name = 'StagedTooLarge';
  }
}

export interface SweepReport {
  /** `.part` files whose key is referenced: renamed in place (the crash came after the commit). */
  rolledForward: number;
  /** Unreferenced `.part`, staging and committed files removed. */
  removed: number;
}

/**
 * Where the bytes of attachments live, by key (`chat_files/images/7_1704110400000_0_photo.jpg`,
 * the path after `/static/` in the URL). Contract (tested in test/files/):
 * - A file appears under its key in two steps. `putBytes`/`putStaged` write `<key>.part`,
 *   created exclusively and fsynced, so once they resolve the bytes survive a crash;
 *   `commit` renames it to `<key>`. The caller commits the database row that references
 *   the key between the two, so a crash leaves either an unreferenced `.part` (removed by
 *   `sweep`) or a referenced one (rolled forward by `sweep`, and served by `open` meanwhile):
 *   never a half-written file under a key, never a row that points at nothing.
 * - `putBytes`/`putStaged` resolve false, writing nothing, when the key is taken (`<key>` or
 *   `<key>.part` exists).
 * - `stage` streams bytes into a private staging file and fsyncs it; past `maxBytes` it
 *   throws `StagedTooLarge` and leaves nothing behind. Memory stays at a few chunks,
 *   whatever the size.
 * - `commit`, `remove` and `discard` are idempotent.
 * - `sweep` rolls forward every `.part` whose key is referenced, and removes `.part` files,
 *   staging files and committed files that are not referenced and were last written more
 *   than `graceMs` ago (younger ones may belong to a write in flight in another process).
 */
export interface FileStore {
  stage(source: AsyncIterable<Uint8Array> | Readable, maxBytes: number): Promise<StagedFile>;
  discard(staged: StagedFile): Promise<void>;
  putStaged(staged: StagedFile, key: string): Promise<boolean>;
  putBytes(key: string, data: Uint8Array): Promise<boolean>;
  commit(key: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** The file under `key` (or its `.part` while the rename is pending), or null. */
  open(key: string): Promise<StoredFileHandle | null>;
  sweep(isReferenced: (keys: string[]) => Promise<Set<string>>, graceMs: number): Promise<SweepReport>;
}

/** The folders under `static/chat_files/` (documents 000–002) plus Parley's thumbnails. */
export const FILE_FOLDERS = ['images', 'files', 'voices', 'thumbnails'] as const;
export type FileFolder = (typeof FILE_FOLDERS)[number];

const KEY = /^chat_files\/(images|files|voices|thumbnails)\/([^/\\\u0000-\u001f\u007f]+)$/;

/** Whether `key` is a well-formed attachment key: one of the folders, one plain name (no dot first, no `..`). */
export function isFileKey(key: string): boolean {
  const m = KEY.exec(key);
  return !!m && !m[2].startsWith('.') && !m[2].endsWith('.part') && m[2].length <= 255;
}
