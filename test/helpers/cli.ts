import { spawn } from 'node:child_process';
import path from 'node:path';
import { track } from './local-servers.js';
import { TEST_JWT_SECRET, type TestData } from './parley.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Runs `parley …` (src/cli/main.ts) on a test server's data, as an operator would; its exit code and output. */
export function runParleyCli(data: TestData, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: data.dir, DATABASE_URL: data.databaseUrl, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
