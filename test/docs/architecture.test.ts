import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs/architecture.md draws the layout: every file or folder it names must be there, so a
// move or a rename that forgets the drawing fails here.

const root = new URL('../../', import.meta.url);
const doc = readFileSync(new URL('docs/architecture.md', root), 'utf8');
const TOP = /^(src|test|docs|scripts|sdk|web|bench)\//;
/** The fenced listing of the store names its files from this folder. */
const STORE = 'src/backends/store/';

const exists = (path: string) => existsSync(new URL(path.replace(/\/\*\*$/, ''), root));

/** `src/…` paths in backticks, anywhere in the text. */
function backticked(): string[] {
  return [...doc.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]).filter((p) => TOP.test(p));
}

/** File and folder names in the store's fenced listing (the block that names `sql-store.ts`), asides in parentheses left out. */
function storeListing(): string[] {
  const block = [...doc.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('sql-store.ts'));
  expect(block, "the store's listing").toBeDefined();
  return [...block!.replace(/\([^)]*\)/g, '').matchAll(/(?:^|\s)([\w-]+(?:\/[\w.-]+)*(?:\.ts|\/))(?=[\s,;]|$)/gm)].map((m) => STORE + m[1]);
}

describe('docs/architecture.md', () => {
  it('names only paths that exist', () => {
    const named = [...backticked(), ...storeListing()];
    expect(named.length, 'paths found in the document').toBeGreaterThan(20);
    expect(named.filter((p) => !exists(p))).toEqual([]);
  });
});
