import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatSocket, newRoom, newUser, openSocket, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { startParley, type TestServer } from '../../helpers/parley.js';
import { codeBlocks, seedDocument } from '../../helpers/seeds.js';
import { conversationWith, join } from '../../dialects/notifications/support.js';
import { image, pdf } from '../../files/support.js';
import { CHROMIUM, LAUNCH_ARGS, ROOT, SKIP_BROWSER, requireChromium, screenshot, until } from './support.js';

// The documents' React components (documented/*.jsx, exactly as the documents print them) in
// Debian's chromium against a real Parley: 000's and 001's ChatRoom on /api/chat/ws, 003's on
// /ws/chat/{tenant_id}/. React is preact/compat here (they use only hooks and JSX). The page
// supplies what the documents leave to the application (000's getAuthToken, 003's tenantId)
// and one shim: the documents' hard-coded ws://localhost:PORT points at the page's own server.

const DOCUMENTED = path.join(ROOT, 'test/e2e/web/documented');

interface Component {
  seed: string;
  /** Files under documented/, each one code block of the document, in the order they are joined. */
  files: { name: string; lang: 'javascript' | 'jsx'; startsWith: string }[];
}

const COMPONENTS: Record<'000' | '001' | '003', Component> = {
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

const source = (name: string) => readFileSync(path.join(DOCUMENTED, name), 'utf8');

describe('documented/ holds the documents’ code unchanged', () => {
  for (const [rev, c] of Object.entries(COMPONENTS)) {
    for (const f of c.files) {
      it(`${f.name} is a ${f.lang} block of document ${rev}`, () => {
        const blocks = codeBlocks(seedDocument(c.seed), f.lang);
        expect(blocks.filter((b) => b.startsWith(f.startsWith))).toEqual([source(f.name)]);
      });
    }
  }
});

/** One document's component and a renderer, bundled for the browser as `window.Documented<rev>`. */
async function bundle(rev: keyof typeof COMPONENTS): Promise<string> {
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

describe.skipIf(SKIP_BROWSER)('the documents’ React ChatRoom components in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  let webDir: string;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    requireChromium();
    // The product's page, served by Parley at `/` (as when the product serves Parley under its
    // own origin): page, REST and socket share one origin.
    webDir = mkdtempSync(path.join(tmpdir(), 'parley-documented-'));
    // Script files, not inline scripts: Parley serves WEB_DIR under its page's
    // Content-Security-Policy (script-src 'self').
    const revs = ['000', '001', '003'] as const;
    const scripts = await Promise.all(revs.map(bundle));
    writeFileSync(
      path.join(webDir, 'shim.js'),
      `const Native = WebSocket;
window.WebSocket = class extends Native {
  constructor(url, protocols) { super(url.replace(/^ws:\\/\\/localhost:\\d+/, 'ws://' + location.host), protocols); }
};`,
    );
    revs.forEach((rev, i) => writeFileSync(path.join(webDir, `documented-${rev}.js`), scripts[i]));
    writeFileSync(
      path.join(webDir, 'index.html'),
      `<!doctype html><meta charset="utf-8"><title>documented</title><div id="root"></div>
<script src="/shim.js"></script>
${revs.map((rev) => `<script src="/documented-${rev}.js"></script>`).join('\n')}`,
    );
    server = await startParley({ env: { WEB_DIR: webDir } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    await browser?.close();
    await server?.close();
    if (webDir) rmSync(webDir, { recursive: true, force: true });
  });

  /** A fresh browser on the page, failing the test on any uncaught page error. */
  async function openPage(): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 800, height: 700 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) errors.push(`CSP: ${m.text()}`);
    });
    await page.goto(server.url);
    return { page, errors };
  }

  /** Renders <ChatRoom {...props} /> of document `rev`; `globals` are what the page defines beside it. */
  async function mount(page: Page, rev: string, props: Record<string, unknown>, globals: Record<string, unknown> = {}): Promise<void> {
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

  const messageIn = (page: Page, text: string) => page.locator('.messages .message').filter({ hasText: text });

  describe.each(['000', '001'] as const)('document %s on /api/chat/ws', (rev) => {
    let ada: TestUser;
    let bob: TestUser;
    let roomId: number;
    let bobSocket: TestSocket;
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      ada = await newUser(server, { name: `Ada ${rev}` });
      bob = await newUser(server, { name: `Bob ${rev}` });
      roomId = await newRoom(server, ada, bob);
      bobSocket = await chatSocket(server, bob, roomId);
      sockets.push(bobSocket);
      ({ page, errors } = await openPage());
      await mount(page, rev, { roomId, token: ada.token, receiverId: bob.user.id }, { getAuthToken: ada.token });
    });

    it('sends with Enter and shows both sides: own messages as sent, the other’s as received, with the sender’s name; typing shows', async () => {
      const input = page.getByPlaceholder('Type a message...');
      await input.fill(`Hello Bob (${rev})`);
      await input.press('Enter');
      const got = await bobSocket.next('new_message', { where: (f) => f.data.content === `Hello Bob (${rev})` });
      expect(got.data).toMatchObject({ sender_id: ada.user.id, is_sender: false });
      await until(() => messageIn(page, `Hello Bob (${rev})`).getAttribute('class')).toBe('message sent');
      expect(await input.inputValue()).toBe('');

      bobSocket.send({ type: 'send_message', data: { room_id: roomId, receiver_id: ada.user.id, message_type: 'text', content: `Hi Ada (${rev})` } });
      const theirs = messageIn(page, `Hi Ada (${rev})`);
      await until(() => theirs.getAttribute('class')).toBe('message received');
      expect(await theirs.locator('.sender').textContent()).toBe(`Bob ${rev}`);
      // created_at is a real time: the component shows it with toLocaleTimeString().
      expect(await theirs.locator('.timestamp').textContent()).not.toBe('Invalid Date');

      bobSocket.send({ type: 'typing', data: { room_id: roomId, is_typing: true } });
      await until(() => page.locator('.typing-indicator').textContent()).toBe('Someone is typing...');
      bobSocket.send({ type: 'typing', data: { room_id: roomId, is_typing: false } });
      await until(() => page.locator('.typing-indicator').count()).toBe(0);
    });

    it('sends the files picked in its file input, and shows them', async () => {
      const png = await image('png', 40, 30);
      // 000 uploads first and always sends message_type 'image'; 001 sends base64 in files_data.
      const second = rev === '000' ? { name: 'second.png', mimeType: 'image/png', buffer: await image('png', 20, 10) } : { name: 'plan.pdf', mimeType: 'application/pdf', buffer: pdf(3000) };
      await page.locator('input[type=file]').setInputFiles([{ name: 'photo.png', mimeType: 'image/png', buffer: png }, second]);
      await until(() => page.locator('.selected-files p').textContent()).toBe('Selected files: 2');
      await page.getByRole('button', { name: 'Send Files' }).click();

      const got = await bobSocket.next('new_message', { where: (f) => f.data.files_data?.length === 2, timeoutMs: 10_000 });
      expect(got.data.files_data.map((f: any) => [f.file_name, f.file_size])).toEqual([
        ['photo.png', png.length],
        [second.name, second.buffer.length],
      ]);
      const mine = messageIn(page, 'Sent 2 files');
      if (rev === '001') {
        // Images inline (loaded from the signed URL), other files as a link with their size.
        await until(() => mine.locator('.files-container .file-attachment').count()).toBe(2);
        const img = mine.locator('img[alt="photo.png"]');
        await until(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth)).toBe(40);
        expect(await mine.locator('a').textContent()).toContain(`plan.pdf (${(second.buffer.length / 1024).toFixed(2)} KB)`);
      } else {
        // 000's component shows the single-file keys (the first file, DESIGN "Files on output")
        // and then the files_data list.
        await until(() => mine.locator('.multiple-files .file-attachment a').allTextContents()).toEqual(['photo.png', 'second.png']);
        expect(await mine.locator('.message-content > .file-attachment a').textContent()).toBe('photo.png');
        for (const href of await mine.locator('.multiple-files a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href))) {
          expect((await fetch(href)).status).toBe(200);
        }
      }
      await screenshot(page, `1${rev === '000' ? 0 : 1}-document-${rev}-react-chat-room`);
      expect(errors).toEqual([]);
    });
  });

  describe('document 003 on /ws/chat/{tenant_id}/, authenticated by the login cookie', () => {
    it('joins with no token in its code, shows what others send and their typing, and sends with Enter', async () => {
      const ada = await newUser(server, { name: 'Ada 003' });
      const bob = await newUser(server, { name: 'Bob 003' });
      const conv = await conversationWith(server, ada, [bob]);
      const { page, errors } = await openPage();
      // The product's login: a same-origin fetch; the response's HttpOnly cookie is now the page's.
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

      const bobSocket = await openSocket(`${server.wsUrl}/ws/chat/${bob.user.tenant_id}/?token=${bob.token}`);
      sockets.push(bobSocket);
      await bobSocket.next('connection_established');
      await join(bobSocket, conv);

      // <ChatRoom conversationId={…} />, with the page's `tenantId` in scope.
      await mount(page, '003', { conversationId: conv }, { tenantId: ada.user.tenant_id });

      // Ada types (Bob sees her typing) and sends with Enter: the socket joined on open, by cookie.
      const input = page.getByPlaceholder('Type a message...');
      await input.pressSequentially('Hello Bob, from the documented component');
      const typing = await bobSocket.next('typing_indicator', { where: (f) => f.is_typing === true, timeoutMs: 10_000 });
      expect(typing.user_id).toBe(ada.user.uuid);
      await input.press('Enter');
      const got = await bobSocket.next('new_message', { where: (f) => f.message.content === 'Hello Bob, from the documented component' });
      expect(got.message.sender_id).toBe(ada.user.uuid);
      await until(() => messageIn(page, 'Hello Bob, from the documented component').count()).toBe(1);
      expect(await input.inputValue()).toBe('');

      // Bob's message shows as the component renders it: `<strong>{sender_id}:</strong> {content}`.
      bobSocket.send({ type: 'send_message', conversation_id: conv, content: 'Hi Ada, from Bob', message_type: 'text' });
      await until(() => messageIn(page, 'Hi Ada, from Bob').textContent()).toBe(`${bob.user.uuid}: Hi Ada, from Bob`);

      // Bob types: the component's typing line appears, and goes.
      bobSocket.send({ type: 'start_typing', conversation_id: conv });
      await until(() => page.locator('.typing').textContent()).toBe('Someone is typing...');
      bobSocket.send({ type: 'stop_typing', conversation_id: conv });
      await until(() => page.locator('.typing').count()).toBe(0);
      await screenshot(page, '12-document-003-react-chat-room');
      expect(errors).toEqual([]);
    });
  });
});
