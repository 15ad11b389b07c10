// The import rules of src/ (docs/architecture.md), as data and one checker. Not a test file:
// boundaries.test.ts runs it over src/ and over fixtures that must fail.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Libraries only a backend (or the HTTP and socket layers) may call: the core reaches them through ports. */
export const LIBRARIES_OUTSIDE_CORE = ['fastify', '@fastify/', 'ws', 'sharp', 'music-metadata', '@node-rs/argon2', 'jose', 'pg', 'better-sqlite3', 'ioredis'];

/** Folders of src/ the core never imports: it knows nothing of protocols, delivery or wiring. */
export const OUTSIDE_CORE = ['src/dialects', 'src/http', 'src/delivery', 'src/backends', 'src/app', 'src/cli', 'src/main'];

/**
 * The backend interfaces that still live beside their implementations (CONTRIBUTING, "add a
 * backend"): the core and the other layers may import these from src/backends, and nothing
 * else there. Everything else under src/backends is an implementation.
 */
export const BACKEND_INTERFACES = [
  'src/backends/store/store',
  'src/backends/bus/bus',
  'src/backends/presence/presence',
  'src/backends/ratelimit/rate-limiter',
  'src/backends/files/file-store',
];

/**
 * What a backend may import from the core: the domain's types, its events and its errors, and
 * the port interfaces a backend implements (a `ports.ts` in any core folder). Never a service:
 * a backend that called one would decide a rule the core owns.
 */
export const CORE_FOR_BACKENDS = ['src/core/model', 'src/core/events', 'src/core/errors', /^src\/core\/(?:.+\/)?ports$/];

/** Where implementations may be chosen and built: the composition root and the programs. */
export const COMPOSITION = ['src/app', 'src/cli', 'src/main'];

/** One source file: its path from the repository root (src/…) and its text. */
export interface SourceFile {
  path: string;
  text: string;
}

const SOURCE_EXTENSION = /\.(?:[cm]?[jt]sx?)$/;
const under = (p: string, folder: string) => p === folder || p.startsWith(folder + '/');
const isPackage = (spec: string, name: string) => (name.endsWith('/') ? spec.startsWith(name) : spec === name || spec.startsWith(name + '/'));

/**
 * Every module a file names: static and dynamic imports, re-exports, `require`, and the
 * package names given to `import.meta.resolve` (how a worker is handed a library).
 */
export function importSpecifiers(text: string): string[] {
  const found = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  for (const m of text.matchAll(/import\.meta\.resolve\(\s*['"]([^'"]+)['"]/g)) found.push(m[1]);
  return found;
}

/** A relative specifier as a repository path without its extension (`src/core/model`); a package as it is. */
function target(from: string, spec: string): { module: string } | { package: string } {
  if (!spec.startsWith('.')) return { package: spec };
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  return { module: resolved.replace(SOURCE_EXTENSION, '').replace(/\/index$/, '') };
}

/** Why one import breaks a rule, or null when it keeps them all. */
export function importViolation(file: string, spec: string): string | null {
  const t = target(file, spec);
  const where = `${file} imports '${spec}'`;
  const from = file.replace(SOURCE_EXTENSION, '');
  if (under(from, 'src/core')) {
    if ('package' in t) {
      const lib = LIBRARIES_OUTSIDE_CORE.find((name) => isPackage(t.package, name));
      return lib ? `${where}: the core calls ${lib} only through a port (src/backends implements it)` : null;
    }
    if (BACKEND_INTERFACES.includes(t.module)) return null;
    const layer = OUTSIDE_CORE.find((folder) => under(t.module, folder));
    return layer ? `${where}: the core never imports ${layer}` : null;
  }
  if ('package' in t) return null;
  if (under(from, 'src/backends') && under(t.module, 'src/core')) {
    const allowed = CORE_FOR_BACKENDS.some((a) => (typeof a === 'string' ? t.module === a : a.test(t.module)));
    return allowed ? null : `${where}: a backend imports from the core only ${CORE_FOR_BACKENDS.join(', ')} (never a service)`;
  }
  const isImplementation = under(t.module, 'src/backends') && !BACKEND_INTERFACES.includes(t.module);
  if (isImplementation && !under(from, 'src/backends') && !COMPOSITION.some((c) => under(from, c))) {
    return `${where}: only ${COMPOSITION.join(', ')} choose a backend implementation`;
  }
  return null;
}

/** Every import of these files that breaks a rule, one sentence each. */
export function boundaryViolations(files: SourceFile[]): string[] {
  return files.flatMap((f) => importSpecifiers(f.text).flatMap((spec) => importViolation(f.path, spec) ?? []));
}

/** The TypeScript files under `folder` (a path from `root`), as SourceFiles. */
export function readSources(root: string, folder: string): SourceFile[] {
  return readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.tsx?$/.test(name))
    .map((name) => {
      const rel = path.posix.join(folder, name.split(path.sep).join('/'));
      return { path: rel, text: readFileSync(path.join(root, rel), 'utf8') };
    });
}
