#!/usr/bin/env node
// `npm start` runs this first: it builds the server (dist/) and the web client (web/dist/) only
// when a source is newer than the last build, so a restart is a restart, not a 20 s rebuild.
// Plain JavaScript on purpose: it must run before anything is compiled, and quickly.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const STAMP = path.join(root, 'dist', '.build-stamp');
// What the build reads: the sources of the server, the web client and the SDK it imports,
// and the files that say how they are compiled.
const SOURCE_DIRS = ['src', 'web', 'sdk'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
const OUTPUTS = ['dist/main.js', 'dist/bundle/main.js', 'web/dist/index.html'];
const SKIPPED = new Set(['node_modules', 'dist']);

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return Math.max(newest, statSync(dir).mtimeMs); // a deleted file changes its folder
}

/** Why a build is needed, or null when the last one is newer than every source. */
export function staleness() {
  const missing = OUTPUTS.find((f) => !existsSync(path.join(root, f)));
  if (missing) return `${missing} is missing`;
  if (!existsSync(STAMP)) return 'no build stamp';
  const built = statSync(STAMP).mtimeMs;
  const sources = [
    ...SOURCE_DIRS.filter((d) => existsSync(path.join(root, d))).map((d) => newestMtime(path.join(root, d))),
    ...SOURCE_FILES.filter((f) => existsSync(path.join(root, f))).map((f) => statSync(path.join(root, f)).mtimeMs),
  ];
  return Math.max(...sources) > built ? 'sources changed since the last build' : null;
}

/** Builds when `staleness()` says so (or PARLEY_FORCE_BUILD is set). */
export function buildIfStale() {
  const reason = process.env.PARLEY_FORCE_BUILD ? 'PARLEY_FORCE_BUILD is set' : staleness();
  if (!reason) return;
  console.error(`parley: building (${reason})…`);
  const started = Date.now();
  // The stamp is taken before the build: a source saved while it runs is seen next time.
  const stampTime = new Date();
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  writeFileSync(STAMP, `built ${stampTime.toISOString()}\n`);
  utimesSync(STAMP, stampTime, stampTime);
  console.error(`parley: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) buildIfStale();
