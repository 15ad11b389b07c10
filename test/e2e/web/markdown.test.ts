import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { api, newUser } from '../../helpers/clients.js';
import { SKIP_BROWSER, horizontalOverflow, screenshot, signedInPerson, until, useWebPage } from './support.js';

// Markdown in the page (issue 18): what a message's Markdown may make is strong, em, del,
// code, pre, links to http(s)/mailto, lists and quotes. XSS payloads sent through the real
// server must run nothing, leave no on* attribute and no javascript: href, and show as text.

const XSS = [
  '<script>window.__pwned = 1; alert(1)</script>',
  '<img src=x onerror="window.__pwned = 2">',
  '[click me](javascript:alert(3))',
  '[mixed case](JaVaScRiPt:window.__pwned=4)',
  '[spaced]( javascript:alert(5) )',
  '[entity](java&#115;cript:alert(6))',
  '[encoded](javascript&colon;alert(7))',
  '<a href="javascript:alert(8)">raw link</a>',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg==)',
  '![pic](javascript:alert(10))',
  '![pic](x" onerror="alert(11))',
  '<svg onload=alert(12)><circle r=10></circle></svg>',
  '<svg><script>alert(13)</script></svg>',
  '**<img src=x onerror=alert(14)>**',
  '[**bold** <img src=x onerror=alert(15)>](https://example.com/ok)',
  '`<script>alert(16)</script>`',
  '```\n<script>alert(17)</script>\n```',
  '<iframe src="javascript:alert(18)"></iframe>',
  '&lt;script&gt;alert(19)&lt;/script&gt; &#60;img src=x onerror=alert(19)&#62;',
  '[vb](vbscript:msgbox(20)) [file](file:///etc/passwd)',
  '<details open ontoggle=alert(21)>x</details>',
  '> <img src=x onerror=alert(22)>\n> quoted',
  '- <img src=x onerror=alert(23)>\n- [x](javascript:alert(23))',
  '[quote](https://example.com/" onclick="alert(24))',
  '<a href="https://example.com" onmouseover="alert(25)">hover</a>',
  '<javascript:alert(26)>',
  '<style>body { display: none }</style>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(28)>',
  '[a](<javascript:alert(29)>)',
  '*[nested **[deep](javascript:alert(30))**](https://example.com)*',
  '<form action="javascript:alert(31)"><button>go</button></form>',
  '<object data="data:text/html,<script>alert(32)</script>"></object>',
];

const LEGIT = [
  '**bold** and _italic_ and ~~gone~~ and `code` with [a link](https://example.com/page) and [mail](mailto:someone@example.test)',
  '',
  '- first',
  '- second',
  '',
  '1. one',
  '2. two',
  '',
  '> a quote',
  '',
  '```',
  'const x = 1 < 2;',
  '```',
].join('\n');

describe.skipIf(SKIP_BROWSER)('Markdown in the web page', () => {
  const suite = useWebPage();

  /** What a script, a handler or a link could have done in the page, anywhere in it (run in the page). */
  const damage = (page: Page) =>
    page.evaluate(`(() => {
      const all = [...document.querySelectorAll('*')];
      const allowed = ['strong', 'em', 'del', 'code', 'pre', 'a', 'ul', 'ol', 'li', 'blockquote', 'p', 'span', 'br', 'hr'];
      const urlOf = (el) => ['href', 'src', 'action', 'data', 'formaction'].map((n) => el.getAttribute(n)).find((v) => v !== null) ?? '';
      return {
        pwned: window.__pwned,
        onAttributes: all.flatMap((el) => [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => el.tagName + ' ' + a.name)),
        badHrefs: [...document.querySelectorAll('[href], [src], [action], [data], [formaction]')].map(urlOf).filter((v) => /^\\s*(javascript|vbscript|data|file):/i.test(v)),
        inMessages: [...document.querySelectorAll('[data-testid="message-text"] *')].map((el) => el.tagName.toLowerCase()).filter((t) => !allowed.includes(t)),
        links: [...document.querySelectorAll('[data-testid="message-text"] a')].map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel') })),
      };
    })()`) as Promise<{ pwned: unknown; onAttributes: string[]; badHrefs: string[]; inMessages: string[]; links: { href: string | null; rel: string | null }[] }>;

  it('renders legitimate Markdown, and no payload runs, leaves a handler or a javascript: link (desktop and 390 px)', async () => {
    const { server, browser } = suite;
    const [writer, me] = [await newUser(server, { name: 'writer' }), await newUser(server, { name: 'reader' })];
    const conv = await api(server, 'POST', '/api/parley/conversations', { token: writer.token, json: { kind: 'direct', user_id: me.user.id } });
    // One message each (the page shows the newest 30), then the rest together in one, then all of them inline in one.
    const sent = [...XSS.slice(0, 20), XSS.slice(20).join('\n\n'), XSS.join(' '), LEGIT];
    for (const content of sent) {
      const r = await api(server, 'POST', `/api/parley/conversations/${conv.body.id}/messages`, { token: writer.token, json: { content } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }

    for (const width of [1280, 390]) {
      const reader = await signedInPerson(browser, server.url, me.token, { viewport: { width, height: 800 } });
      const { page } = reader;
      await page.getByTestId('conversation-item').first().click();
      await until(() => page.getByTestId('message').count()).toBe(sent.length);
      const legit = page.getByTestId('message-text').last();
      await legit.scrollIntoViewIfNeeded();

      // The legitimate Markdown, each as its element.
      expect(await legit.locator('strong').textContent()).toBe('bold');
      expect(await legit.locator('em').textContent()).toBe('italic');
      expect(await legit.locator('del').textContent()).toBe('gone');
      expect(await legit.locator(':not(pre) > code').textContent()).toBe('code');
      expect(await legit.locator('pre > code').textContent()).toBe('const x = 1 < 2;');
      expect(await legit.locator('a[href="https://example.com/page"]').textContent()).toBe('a link');
      expect(await legit.locator('a[href="mailto:someone@example.test"]').textContent()).toBe('mail');
      expect(await legit.locator('ul > li').allTextContents()).toEqual(['first', 'second']);
      expect(await legit.locator('ol > li').allTextContents()).toEqual(['one', 'two']);
      expect(await legit.locator('blockquote').textContent()).toBe('a quote');

      // Raw HTML is the text it is.
      expect(await page.getByTestId('message-text').first().textContent()).toBe(XSS[0]);
      expect(await page.getByTestId('message-text').nth(1).textContent()).toBe(XSS[1]);

      const d = await damage(page);
      expect(d.pwned).toBeUndefined();
      expect(reader.dialogs).toEqual([]);
      expect(reader.errors).toEqual([]);
      expect(d.onAttributes).toEqual([]);
      expect(d.badHrefs).toEqual([]);
      expect(d.inMessages).toEqual([]);
      for (const l of d.links) {
        expect(l.href).toMatch(/^(https?:\/\/|mailto:)/);
        expect(l.rel).toBe('noopener noreferrer');
      }
      // Hovering and clicking what is there runs nothing either.
      for (const link of await page.getByTestId('message-text').locator('a').all()) await link.hover();
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(reader.dialogs).toEqual([]);
      expect(await horizontalOverflow(page)).toBe(0);
      await screenshot(page, `markdown-${width === 390 ? 'mobile' : 'desktop'}`);
      await reader.context.close();
    }
  }, 120_000);
});
