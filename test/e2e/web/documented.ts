import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { ROOT } from './support.js';

// The documents' React components (documented/*.jsx, exactly as the documents print them),
// bundled for a browser page, and how a page renders one: shared by the same-origin test
// (documented-components.test.ts) and the cross-site one (cross-site.test.ts).

const DOCUMENTED = path.join(ROOT, 'test/e2e/web/documented');
export const SEEDS = path.resolve(ROOT, '../shared/seeds');

interface Component {
  seed: string;
  /** Files under documented/, each one code block of the document, in the order they are joined. */
  files: { name: string; lang: 'javascript' | 'jsx'; startsWith: string }[];
}

export const COMPONENTS: Record<'000' | '001' | '003', Component> = {
  '000': {
    seed: '000_0b243ca674924b87.txt',
    files: [
      { name: 'upload-multiple-files-000.js', lang: 'javascript', startsWith: 'async function uploadMultipleFiles' },
      { name: 'chat-room-000.jsx', lang: 'jsx', startsWith: 'import React' },
    ],
  },
  '001': { seed: '001_1ea8d655181703b7.txt', files: [{ name: 'chat-room-001.jsx', lang: 'jsx', startsWith: 'import React' }] },
  '003': { seed: '003_5794173ac53da659.txt', files: [{ name: 'chat-room-003.jsx', lang: 'javascript', startsWith: 'import React' }] },
};

export const source = (name: string) => readFileSync(path.join(DOCUMENTED, name), 'utf8');

/** One document's component and a renderer, bundled for the browser as `window.Documented<rev>`. */
export async function bundle(rev: keyof typeof COMPONENTS): Promise<string> {
  const code = COMPONENTS[rev].files.map((f) => source(f.name)).join('\n');
  const out = await build({
    stdin: { contents: `${code}\nexport { ChatRoom };\nexport { h, render } from 'preact';\n`, loader: 'jsx', resolveDir: ROOT, sourcefile: `chat-room-${rev}.jsx` },
    bundle: true,
    write: false,
    format: 'iife',
    globalName: `Documented${rev}`,
    platform: 'browser',
    alias: { react: 'preact/compat' },
    jsx: 'transform',
    jsxFactory: 'React.createElement',
    jsxFragment: 'React.Fragment',
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

/** Renders <ChatRoom {...props} /> of document `rev`; `globals` are what the page defines beside it. */
export async function mount(page: Page, rev: string, props: Record<string, unknown>, globals: Record<string, unknown> = {}): Promise<void> {
  // In the page's own terms, so this file needs no DOM types: `globalThis` is the window.
  await page.evaluate(
    ([rev, props, globals]) => {
      const w = globalThis as any;
      for (const [k, v] of Object.entries(globals)) w[k] = k === 'getAuthToken' ? () => v : v;
      const m = w[`Documented${rev}`];
      m.render(m.h(m.ChatRoom, props), w.document.getElementById('root'));
    },
    [rev, props, globals] as const,
  );
}


/**
 * The page's one shim: the documents hard-code `ws://localhost:PORT`; an application points
 * its sockets at its chat server. `base` is a JavaScript expression giving `ws://host:port`.
 * The sockets are listed in `window.openedSockets`: the components send as soon as asked, open
 * or not (a person cannot type that fast; a test waits for `socketsOpen`).
 */
export function webSocketShim(base: string): string {
  return `const Native = WebSocket;
window.openedSockets = [];
window.WebSocket = class extends Native {
  constructor(url, protocols) { super(url.replace(/^ws:\\/\\/localhost:\\d+/, ${base}), protocols); window.openedSockets.push(this); }
};`;
}

/** Whether every socket the page's components opened is open (and there is one). */
export const socketsOpen = (page: Page) =>
  page.evaluate('window.openedSockets.length > 0 && window.openedSockets.every((s) => s.readyState === 1)') as Promise<boolean>;
