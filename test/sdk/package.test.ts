import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startParley, type TestServer } from '../helpers/parley.js';
import { CHROMIUM, LAUNCH_ARGS, requireChromium, SKIP_BROWSER } from '../e2e/web/support.js';
import { FILE_TEXT, type ScenarioResult } from './package-consumer/scenario.js';

// @parley/sdk as a developer gets it: `npm pack` in sdk/, the tarball installed offline into
// a scratch project outside the repository (it has no dependencies, so no registry), and the
// README's first steps (package-consumer/scenario.ts) run twice against a real Parley: from a
// Node script and from a page bundled with Vite in Chromium. Both are typechecked against the
// packed .d.ts first (Node's without the DOM library, the page's with it).

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const CONSUMER = path.join(import.meta.dirname, 'package-consumer');
const BIN = (name: string) => path.join(ROOT, 'node_modules', name);
const IDP_SECRET = 'the-applications-own-identity-provider-secret';
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/** What browser-main.ts leaves on window. */
interface PageOutcome {
  result?: ScenarioResult;
  error?: string;
}

interface PackInfo {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** A token as the application's own identity provider issues it (Parley trusts AUTH_HS256_SECRET). */
const idpToken = (sub: string, name: string) =>
  new SignJWT({ sub, email: `${sub}@example.com`, name })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('15m')
    .sign(new TextEncoder().encode(IDP_SECRET));

const tsc = (dir: string, config: object) => {
  writeFileSync(path.join(dir, 'tsconfig.check.json'), JSON.stringify(config));
  return run(process.execPath, [BIN('typescript/bin/tsc'), '-p', 'tsconfig.check.json'], { cwd: dir });
};

function expectTheScenario(r: ScenarioResult, names: string[]): void {
  expect(r.sdkApiVersion).toBe(r.serverApiVersion);
  expect(r.names).toEqual(names);
  expect(r.listedBy).toEqual([1, 1]);
  expect(r.retriedId).toBe(r.sentId);
  expect(r.received).toEqual([
    { id: r.sentId, content: 'hello from the package', attachments: [] },
    { id: expect.any(Number), content: 'the notes', attachments: ['notes.txt'] },
  ]);
  expect(r.uploaded).toEqual({ name: 'notes.txt', size: FILE_TEXT.length, mime_type: 'text/plain' });
  expect(r.progressComplete).toBe(true);
  expect(r.downloaded).toBe(FILE_TEXT);
}

describe('@parley/sdk packed and installed from its tarball', () => {
  let scratch: string;
  let pack: PackInfo;
  let server: TestServer;
  let people = 0;
  const tokens = async (tag: string) => {
    const stamp = `${tag}-${process.pid}-${++people}-${Date.now()}`;
    return [await idpToken(`ada-${stamp}`, 'Ada'), await idpToken(`bob-${stamp}`, 'Bob')] as const;
  };

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'parley-sdk-consumer-'));
    const packDir = path.join(scratch, 'tarball');
    mkdirSync(packDir);
    // prepack builds sdk/dist (tsc) first.
    const packed = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: path.join(ROOT, 'sdk') });
    [pack] = JSON.parse(packed.stdout) as PackInfo[];
    console.log(`@parley/sdk packed: ${pack.filename} size ${pack.size} B, unpackedSize ${pack.unpackedSize} B, ${pack.files.length} files`);

    const app = path.join(scratch, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }));
    for (const f of readdirSync(CONSUMER)) cpSync(path.join(CONSUMER, f), path.join(app, f));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(packDir, pack.filename)], { cwd: app });

    // The page, bundled by Vite from the installed package, served by Parley as its web client.
    await run(process.execPath, [BIN('vite/bin/vite.js'), 'build', '--logLevel', 'warn', '--outDir', 'dist', '--emptyOutDir'], { cwd: app });
    server = await startParley({ env: { AUTH_HS256_SECRET: IDP_SECRET, WEB_DIR: path.join(app, 'dist') } });
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds the build, its types and the README, and depends on nothing', () => {
    const files = pack.files.map((f) => f.path).sort();
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/generated/wire.d.ts');
    expect(files.filter((f) => !f.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
    const installed = path.join(scratch, 'app/node_modules');
    const manifest = JSON.parse(readFileSync(path.join(installed, '@parley/sdk/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.peerDependencies ?? {}).toEqual({});
    // The tarball brought nothing else along.
    expect(readdirSync(installed).filter((d) => !d.startsWith('.'))).toEqual(['@parley']);
    // Its modules import only each other.
    for (const f of files.filter((p) => p.endsWith('.js') || p.endsWith('.d.ts'))) {
      const code = readFileSync(path.join(installed, '@parley/sdk', f), 'utf8');
      const specifiers = [...code.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
      expect(specifiers.filter((s) => !s.startsWith('./') && !s.startsWith('../')), f).toEqual([]);
    }
  });

  it('the SDK version is API_VERSION.<patch> of the API the server reports', async () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'sdk/package.json'), 'utf8')) as { version: string };
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { api_version: string };
    expect(manifest.version.split('.').slice(0, 2).join('.')).toBe(health.api_version);
  });

  it('from a Node script: typechecked against the packed .d.ts, then signs in, lists, sends, receives, uploads', async () => {
    const app = path.join(scratch, 'app');
    // Node's types and no DOM: the declarations must not need a browser's.
    await tsc(app, {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [BIN('@types')],
        strict: true,
        outDir: 'out',
      },
      files: ['node-main.ts'],
    });
    const [tokenA, tokenB] = await tokens('node');
    const flags = NODE_MAJOR < 22 ? ['--experimental-websocket'] : [];
    const { stdout } = await run(process.execPath, [...flags, 'out/node-main.js'], {
      cwd: app,
      env: { ...process.env, PARLEY_URL: server.url, TOKEN_A: tokenA, TOKEN_B: tokenB, NODE_NO_WARNINGS: '1' },
      timeout: 60_000,
    });
    expectTheScenario(JSON.parse(stdout.trim().split('\n').pop()!) as ScenarioResult, ['Ada', 'Bob']);
  }, 90_000);

  it.skipIf(SKIP_BROWSER)('from a page bundled with Vite, in Chromium: the same', async () => {
    requireChromium();
    const app = path.join(scratch, 'app');
    await tsc(app, {
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true },
      files: ['browser-main.ts'],
    });
    const [tokenA, tokenB] = await tokens('browser');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    try {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(`${server.url}/#token=${tokenA}&token=${tokenB}`);
      const outcome = await page.waitForFunction(() => (globalThis as { scenario?: PageOutcome }).scenario, undefined, { timeout: 60_000 }).then((h) => h.jsonValue());
      expect(outcome!.error).toBeUndefined();
      expectTheScenario(outcome!.result!, ['Ada', 'Bob']);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
