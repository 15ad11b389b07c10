import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { backupSqlite } from '../backends/store/sqlite-store.js';

/** A backup target that exists already: it is never written over. */
export class BackupTargetExists extends Error {
  constructor(readonly target: string) {
    super(`${target} already exists; a backup never writes over anything: name a new directory with --out`);
  }
}

export interface BackupResult {
  backup: string;
  database: string;
  bytes: number;
  files: number;
  file_bytes: number;
  secret: boolean;
}

/**
 * `parley backup --out DIR`: DIR is made a data directory of its own, so restoring is
 * starting Parley with DATA_DIR=DIR (or copying DIR's contents into DATA_DIR while it is
 * stopped): `parley.db` (an online, integrity-checked copy of the SQLite database), the
 * attachments (`static/…`, the files tree under FILES_ROOT) and the generated `jwt-secret`
 * when there is one (without it, restored tokens and file links would no longer verify).
 * The database is copied first: every file a message of the copy names was committed before
 * it, so it is on disk when the files are copied (a `.part` still being renamed is copied
 * too, and finished by the start-up sweep).
 */
export function backupDataDir(config: Config, outDir: string, secretFromEnvironment: boolean): BackupResult {
  const target = path.resolve(outDir);
  if (existsSync(target)) throw new BackupTargetExists(target);
  mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 }); // folders it makes are private too
  // No `recursive`: a directory made by someone else in between is refused too (EEXIST).
  try {
    mkdirSync(target, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupTargetExists(target);
    throw e;
  }
  chmodSync(target, 0o700);
  const database = path.join(target, 'parley.db');
  const bytes = backupSqlite(config.databaseUrl, database);
  const copied = copyTree(path.join(config.filesRoot, 'static'), path.join(target, 'static'));
  const secretFile = path.join(config.dataDir, 'jwt-secret');
  const secret = !secretFromEnvironment && existsSync(secretFile);
  if (secret) copyPrivate(secretFile, path.join(target, 'jwt-secret'));
  return { backup: target, database, bytes, files: copied.files, file_bytes: copied.bytes, secret };
}

/** Copies a folder tree, private like the original (folders 0700, files 0600). */
function copyTree(from: string, to: string): { files: number; bytes: number } {
  const total = { files: 0, bytes: 0 };
  if (!existsSync(from)) return total;
  mkdirSync(to, { mode: 0o700 });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const [source, dest] = [path.join(from, entry.name), path.join(to, entry.name)];
    if (entry.isDirectory()) {
      const sub = copyTree(source, dest);
      total.files += sub.files;
      total.bytes += sub.bytes;
    } else if (entry.isFile()) {
      try {
        copyPrivate(source, dest);
      } catch (e) {
        // Removed since it was listed (the sweep, a deleted conversation): not in the copy's history either.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      total.files += 1;
      total.bytes += statSync(dest).size;
    }
  }
  return total;
}

function copyPrivate(from: string, to: string): void {
  copyFileSync(from, to);
  chmodSync(to, 0o600);
}
