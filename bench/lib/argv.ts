import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this bench script belongs to. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `--name value` from the command line, or `fallback` (the store benches' plain option style). */
export function argOf(name: string, fallback: number | string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : String(fallback);
}
