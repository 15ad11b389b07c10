#!/usr/bin/env node
// `npm run build`, after tsc: dist/main.js and what it imports, bundled into dist/bundle/ for
// `npm start`. A restart spent half its CPU in Node's ESM loader resolving and linking some
// 700 modules one by one (dist/ and kysely, TypeBox and uuid, which ship hundreds of small
// files); one file starts in a fraction of that. Every other package stays external: native
// addons, packages that read files beside themselves, and those loaded only when used (pg,
// ioredis, jose, sharp) keep loading from node_modules as before. dist/main.js itself is left
// as tsc wrote it (`node dist/main.js`, the CLI and the tests run it).
// Plain JavaScript, like build-if-stale.mjs: it runs on the compiled output.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
export const BUNDLE_DIR = path.join(root, 'dist', 'bundle');
// Pure ESM, many files each, nothing read from beside themselves.
const BUNDLED = new Set(['kysely', '@sinclair/typebox', 'uuid']);

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

rmSync(BUNDLE_DIR, { recursive: true, force: true }); // chunk names change from build to build
await build({
  // The checkpoint and writer threads start from files beside the store's module
  // (sqlite-store.ts): in the bundle, beside main.js. dist/bundle/ sits as deep as dist/http/, so web/dist is
  // found at the same relative path (http/web.ts).
  entryPoints: {
    main: path.join(root, 'dist/main.js'),
    'sqlite-checkpoint-worker': path.join(root, 'dist/backends/store/sqlite-checkpoint-worker.js'),
    'sqlite-writer-worker': path.join(root, 'dist/backends/store/sqlite-writer-worker.js'),
  },
  outdir: BUNDLE_DIR,
  bundle: true,
  // What is imported only when needed (the Redis backends) stays a separate file, loaded then.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: true,
  logLevel: 'warning',
});
