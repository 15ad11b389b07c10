import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUser, openSocket, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { startParley, type TestServer } from '../../helpers/parley.js';
import { conversationWith, join } from '../../dialects/notifications/support.js';
import { CHROMIUM, LAUNCH_ARGS, ROOT, SKIP_BROWSER, requireChromium, screenshot, until } from './support.js';

// Document 003's React component (documented/chat-room-003.jsx, exactly as the document prints
// it) in Debian's chromium against a real Parley. It opens `ws://localhost:3001/ws/chat/${tenantId}/`
// with no token and joins at once: the socket is authenticated by the token cookie that
// Parley's login set on the page. React is preact/compat here (the component only uses hooks
// and JSX); the one shim points the document's hard-coded localhost:3001 at the page's own server.

const SOURCE = path.join(ROOT, 'test/e2e/web/documented/chat-room-003.jsx');
const DOC = path.resolve(ROOT, '../shared/seeds/003_5794173ac53da659.txt');

it('documented/chat-room-003.jsx is the React example of document 003, unchanged', () => {
  if (!existsSync(DOC)) return; // the documents are not beside this checkout
  const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```javascript\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.filter((b) => b.startsWith('import React'))).toEqual([readFileSync(SOURCE, 'utf8')]);
});

/** The component and a renderer, bundled for the browser as `window.Documented`. */
async function bundle(): Promise<string> {
  const out = await build({
    stdin: {
      contents: `${readFileSync(SOURCE, 'utf8')}\nexport { ChatRoom };\nexport { h, render } from 'preact';\n`,
      loader: 'jsx',
      resolveDir: ROOT,
      sourcefile: 'chat-room-003.jsx',
    },
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'Documented',
    platform: 'browser',
    alias: { react: 'preact/compat' },
    jsx: 'transform',
    jsxFactory: 'React.createElement',
    jsxFragment: 'React.Fragment',
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

describe.skipIf(SKIP_BROWSER)("document 003's React ChatRoom in a browser", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let ada: TestUser;
  let bob: TestUser;
  let bobSocket: TestSocket;
  let conv: string;
  let webDir: string;
  const errors: string[] = [];

  beforeAll(async () => {
    requireChromium();
    // The product's page, served by Parley at `/` (as when the product serves Parley under its
    // own origin): page, REST and socket share one origin.
    webDir = mkdtempSync(path.join(tmpdir(), 'parley-003-page-'));
    writeFileSync(
      path.join(webDir, 'index.html'),
      `<!doctype html><meta charset="utf-8"><title>003</title><div id="root"></div>
<script>
  const Native = WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) { super(url.replace('ws://localhost:3001', 'ws://' + location.host), protocols); }
  };
</script>
<script>${await bundle()}</script>`,
    );
    server = await startParley({ env: { WEB_DIR: webDir } });
    ada = await newUser(server, { name: 'Ada' });
    bob = await newUser(server, { name: 'Bob' });
    conv = await conversationWith(server, ada, [bob]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.url);
  }, 120_000);

  afterAll(async () => {
    bobSocket?.close();
    await browser?.close();
    await server?.close();
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });

  it('logged in through /api/auth/login, it joins, shows what others send and their typing, and sends with Enter', async () => {
    // The product's login: a same-origin fetch; the response's HttpOnly cookie is now the page's.
    // (In the page's own terms, so this file needs no DOM types: `globalThis` is the window.)
    const login = await page.evaluate(
      async ([email, password]) => {
        const w = globalThis as any;
        const res = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
        const body = (await res.json()) as { access_token: string };
        w.localStorage.setItem('auth_token', body.access_token);
        return { status: res.status, readable: w.document.cookie as string };
      },
      [ada.user.email, ada.password],
    );
    expect(login.status).toBe(200);
    expect(login.readable).toBe(''); // HttpOnly: page scripts cannot read the token cookie

    bobSocket = await openSocket(`${server.wsUrl}/ws/chat/${bob.user.tenant_id}/?token=${bob.token}`);
    await bobSocket.next('connection_established');
    await join(bobSocket, conv);

    // Mount the component as the document writes it: <ChatRoom conversationId={…} />, with the
    // page's `tenantId` in scope.
    await page.evaluate(
      ([tenantId, conversationId]) => {
        const w = globalThis as any;
        w.tenantId = tenantId;
        w.Documented.render(w.Documented.h(w.Documented.ChatRoom, { conversationId }), w.document.getElementById('root'));
      },
      [ada.user.tenant_id, conv],
    );

    // The socket joined (no token in the page's code): Bob's message shows up.
    await until(async () => {
      bobSocket.send({ type: 'send_message', conversation_id: conv, content: 'Hi Ada, from Bob', message_type: 'text' });
      await bobSocket.next('new_message', { where: (f) => f.message.content === 'Hi Ada, from Bob' });
      return page.locator('.messages .message').filter({ hasText: 'Hi Ada, from Bob' }).count();
    }).toBeGreaterThan(0);
    const shown = await page.locator('.messages .message').filter({ hasText: 'Hi Ada, from Bob' }).first().textContent();
    expect(shown).toBe(`${bob.user.uuid}: Hi Ada, from Bob`);

    // Bob types: the component's typing line appears.
    bobSocket.send({ type: 'start_typing', conversation_id: conv });
    await until(() => page.locator('.typing').textContent()).toBe('Someone is typing...');
    bobSocket.send({ type: 'stop_typing', conversation_id: conv });
    await until(() => page.locator('.typing').count()).toBe(0);

    // Ada types (Bob sees her typing) and sends with Enter.
    const input = page.getByPlaceholder('Type a message...');
    await input.pressSequentially('Hello Bob, from the documented component');
    const typing = await bobSocket.next('typing_indicator', { where: (f) => f.is_typing === true });
    expect(typing.user_id).toBe(ada.user.uuid);
    await input.press('Enter');
    const got = await bobSocket.next('new_message', { where: (f) => f.message.content === 'Hello Bob, from the documented component' });
    expect(got.message.sender_id).toBe(ada.user.uuid);
    await until(() => page.locator('.messages .message').filter({ hasText: 'Hello Bob, from the documented component' }).count()).toBe(1);
    expect(await input.inputValue()).toBe('');
    await screenshot(page, '10-document-003-react-chat-room');
    expect(errors).toEqual([]);
  });
});
