import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUser, openSocket, type TestSocket } from '../../helpers/clients.js';
import { startParley, type TestServer } from '../../helpers/parley.js';
import { conversationWith, join } from '../../dialects/notifications/support.js';
import { CHROMIUM, LAUNCH_ARGS, SKIP_BROWSER, requireChromium, screenshot } from './support.js';
import { COMPONENTS, bundle, mount, roomWithBob, sendFilesInRoom, source, talk003, talkInRoom, webSocketShim, type RoomScene } from './documented.js';

// The documents' React components (read from the documents, exactly as they print them) in
// Debian's chromium against a real Parley: 000's and 001's ChatRoom on /api/chat/ws, 003's on
// /ws/chat/{tenant_id}/. React is preact/compat here (they use only hooks and JSX). The page
// supplies what the documents leave to the application (000's getAuthToken, 003's tenantId)
// and one shim: the documents' hard-coded ws://localhost:PORT points at the page's own server.

describe('the documents print each component’s code once', () => {
  for (const [rev, c] of Object.entries(COMPONENTS) as [keyof typeof COMPONENTS, (typeof COMPONENTS)[keyof typeof COMPONENTS]][]) {
    for (const f of c.files) {
      it(`${f.name}: document ${rev} prints one ${f.lang} block starting ${JSON.stringify(f.startsWith)}`, () => {
        expect(source(rev, f).startsWith(f.startsWith)).toBe(true);
      });
    }
  }
});

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
    writeFileSync(path.join(webDir, 'shim.js'), webSocketShim("'ws://' + location.host"));
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

  describe.each(['000', '001'] as const)('document %s on /api/chat/ws', (rev) => {
    let scene: RoomScene;
    let errors: string[];

    beforeAll(async () => {
      const people = await roomWithBob(server, rev);
      sockets.push(people.bobSocket);
      const opened = await openPage();
      scene = { ...people, page: opened.page };
      errors = opened.errors;
      const { ada, bob, roomId } = people;
      await mount(scene.page, rev, { roomId, token: ada.token, receiverId: bob.user.id }, { getAuthToken: ada.token });
    });

    it('sends with Enter and shows both sides: own messages as sent, the other’s as received, with the sender’s name; typing shows', async () => {
      await talkInRoom(scene);
    });

    it('sends the files picked in its file input, and shows them', async () => {
      const { mine } = await sendFilesInRoom(scene);
      if (rev === '000') {
        for (const href of await mine.locator('.multiple-files a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href))) {
          expect((await fetch(href)).status).toBe(200);
        }
      }
      await screenshot(scene.page, `1${rev === '000' ? 0 : 1}-document-${rev}-react-chat-room`);
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

      await talk003(page, { bobSocket, ada, bob, conv }, 'Hello Bob, from the documented component');
      await screenshot(page, '12-document-003-react-chat-room');
      expect(errors).toEqual([]);
    });
  });
});
