// Issue 15.10: two processes start together on one files tree after a crash that left a
// committed row's file as `<name>.part`. Both sweeps list it and both roll it forward; the
// loser's rename finds nothing and used to throw, so that process failed to start. The race
// is made on purpose: neither sweep goes past its reference check until both have listed.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createLocalDiskFileStore } from '../../src/backends/files/local-disk-file-store.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

it('two sweeps that both find a committed .part both finish: one renames, neither throws, the file is whole', async () => {
  root = mkdtempSync(path.join(tmpdir(), 'parley-sweep-'));
  const a = createLocalDiskFileStore(root);
  const b = createLocalDiskFileStore(root);
  await a.sweep(async () => new Set(), 0); // creates the tree
  const key = 'chat_files/images/1_1700000000000_0_photo.jpg';
  const dir = path.join(root, 'static', 'chat_files', 'images');
  writeFileSync(path.join(dir, '1_1700000000000_0_photo.jpg.part'), 'the bytes');

  // Both processes have listed the directory and asked the database before either renames.
  let arrived = 0;
  let bothListed!: () => void;
  const barrier = new Promise<void>((r) => (bothListed = r));
  const referenced = async (keys: string[]) => {
    if (++arrived === 2) bothListed();
    await barrier;
    return new Set(keys.filter((k) => k === key));
  };
  const reports = await Promise.all([a.sweep(referenced, 0), b.sweep(referenced, 0)]);
  expect(reports.map((r) => r.rolledForward).reduce((x, y) => x + y)).toBeGreaterThanOrEqual(1);
  expect(readdirSync(dir)).toEqual(['1_1700000000000_0_photo.jpg']);
  expect(readFileSync(path.join(dir, '1_1700000000000_0_photo.jpg'), 'utf8')).toBe('the bytes');
});
