// The five API documents Parley serves (shared/seeds/ of the steering checkout). Tests that
// compare code with the documents read them here, and fail when they are missing: a check
// that passed without its document would prove nothing.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The folder of the documents: PARLEY_SEEDS_DIR, else the first `shared/seeds` beside this
 * checkout or one of its parents (a worktree sits deeper than the main checkout).
 */
export function seedsDir(): string {
  if (process.env.PARLEY_SEEDS_DIR) return process.env.PARLEY_SEEDS_DIR;
  for (let dir = path.dirname(REPO_ROOT); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'seeds');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`the API documents (shared/seeds) are not beside ${REPO_ROOT} nor above it: set PARLEY_SEEDS_DIR`);
}

/** One document's text, by file name (e.g. 000_0b243ca674924b87.txt); throws when it is missing. */
export function seedDocument(file: string): string {
  const doc = path.join(seedsDir(), file);
  if (!existsSync(doc)) throw new Error(`the API document ${file} is missing from ${path.dirname(doc)}`);
  return readFileSync(doc, 'utf8');
}

/** The code blocks of one language (```lang) in a document, in order. */
export const codeBlocks = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
