// Command-line helpers shared by the crash, fault and fuzz scripts.

/** Prints the help text and exits 0 when --help was given. */
export function exitOnHelp(help: boolean | undefined, text: string): void {
  if (!help) return;
  process.stdout.write(text);
  process.exit(0);
}

/** A number option ≥ 0, or `fallback` when absent; exits 2 on anything else. */
export function num(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name} must be a number ≥ 0, got ${v}\n`);
    process.exit(2);
  }
  return n;
}

/** A logger that prefixes each line with the seconds since it was made. */
export function elapsedLog(): (line: string) => void {
  const t0 = Date.now();
  return (line) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}
