// A file reaches its name after its message commits (<key>.part renamed to <key>), and may be
// downloaded in between (served from the .part). The rename can come between the look-up and
// the read: the read must still find the bytes under the new name (seen in CI: a 50 MB file
// downloaded right after its ack answered 404 once).
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, expect, it } from 'vitest';
import { createLocalDiskFileStore } from '../../src/backends/files/local-disk-file-store.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

it('a file looked up as .part and renamed before it is read is read under its name', async () => {
  root = mkdtempSync(path.join(tmpdir(), 'parley-rename-'));
  const store = createLocalDiskFileStore(root);
  await store.sweep(async () => new Set(), 0); // creates the tree
  const key = 'chat_files/files/1_1700000000000_0_report.pdf';
  const final = path.join(root, 'static', key);
  writeFileSync(final + '.part', 'the whole report');
  const handle = await store.open(key);
  expect(handle?.size).toBe('the whole report'.length);
  renameSync(final + '.part', final); // the commit's rename, after the look-up
  expect(await text(handle!.stream())).toBe('the whole report');
  expect(await text(handle!.stream({ start: 4, end: 8 }))).toBe('whole');
  expect(readFileSync(final, 'utf8')).toBe('the whole report');
});
