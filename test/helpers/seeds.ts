// The five API documents Parley serves. The repository keeps a copy (docs/api-documents/),
// so a fresh clone tests against them; a check beside the steering checkout's shared/seeds
// keeps the copy equal to the originals. Tests that compare code with the documents read
// them here, and fail when one is missing: a check that passed without its document would
// prove nothing.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** The repository's copy of the documents. */
export const DOCUMENTS_COPY = path.join(REPO_ROOT, 'docs/api-documents');

/** The folder of the documents: PARLEY_SEEDS_DIR, else the repository's copy. */
export function seedsDir(): string {
  return process.env.PARLEY_SEEDS_DIR ?? DOCUMENTS_COPY;
}

/** The originals (`shared/seeds` beside this checkout or above it), when this machine has them. */
export function originalSeedsDir(): string | null {
  for (let dir = path.dirname(REPO_ROOT); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'seeds');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

/** One document's text, by file name (e.g. 000_0b243ca674924b87.txt); throws when it is missing. */
export function seedDocument(file: string): string {
  const doc = path.join(seedsDir(), file);
  if (!existsSync(doc)) throw new Error(`the API document ${file} is missing from ${path.dirname(doc)}`);
  return readFileSync(doc, 'utf8');
}

/** The code blocks of one language (```lang) in a document, in order. */
export const codeBlocks = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

/**
 * The one code block of `lang` in a document that starts with `startsWith`: the code a test
 * runs is read from the document itself, so it cannot drift from what the document prints.
 * Throws when the document is missing or prints no such block, or more than one.
 */
export function documentedCode(file: string, lang: string, startsWith: string): string {
  const found = codeBlocks(seedDocument(file), lang).filter((b) => b.startsWith(startsWith));
  if (found.length !== 1) throw new Error(`${file} prints ${found.length} ${lang} blocks starting with ${JSON.stringify(startsWith)}, not one`);
  return found[0];
}
