import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  HAVE_CHROMIUM,
  PASSWORD,
  SKIP_BROWSER,
  horizontalOverflow,
  message,
  messageAction,
  newPerson,
  register,
  screenshot,
  send,
  startChat,
  tokenOf,
  until,
  useWebPage,
  type Person,
} from './support.js';

// The chat page at `/`, driven in Debian's chromium: two people chat through everything the
// page does, a third sees none of it.

const XSS = '<img src=x onerror=alert(1)>';

const statusOf = (page: Page, text: string) => message(page, text).last().getByTestId('message-status').getAttribute('data-status');

// Under CI a missing browser is a failure, never a skip.
it.runIf(process.env.CI)('has chromium for the browser tests (CI)', () => {
  expect(HAVE_CHROMIUM, `chromium not found at ${CHROMIUM}`).toBe(true);
});

describe.skipIf(SKIP_BROWSER)('the web page', () => {
  const web = useWebPage();
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let directId = 0;

  it('registers two people, who find each other by email and chat with links, receipts and typing', async () => {
    alice = await newPerson(web.browser, web.server.url);
    await until(() => alice.page.getByRole('button', { name: 'Sign in' }).count()).toBeGreaterThan(0);
    await screenshot(alice.page, '01-sign-in');
    await register(alice, 'Alice Smith', 'alice@example.test');
    // The session is the tab's: nothing in localStorage, where it would outlive the browser.
    expect(await tokenOf(alice.page)).toMatch(/^ey/);
    expect(await alice.page.evaluate('localStorage.length')).toBe(0);
    // Under the page's Content-Security-Policy (refusals would be in alice.errors, checked at the end).
    const page = await fetch(web.server.url);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    bob = await newPerson(web.browser, web.server.url);
    await register(bob, 'Bob', 'bob@example.test');

    await startChat(alice, 'bob@example.test', 'Bob');
    directId = Number(await alice.page.getByTestId('conversation').getAttribute('data-conversation-id'));
    expect(directId).toBeGreaterThan(0);
    await send(alice.page, 'Hello Bob! Docs: https://example.com/docs?a=1. And javascript:alert(1)');
    await until(() => message(alice.page, 'Hello Bob!').count()).toBe(1);

    // Bob's list shows it live: last message, unread badge, Alice online.
    const row = bob.page.getByTestId('conversation-item').filter({ hasText: 'Alice Smith' });
    await until(() => row.getByTestId('unread-badge').textContent()).toBe('1');
    expect(await row.getByTestId('conversation-preview').textContent()).toContain('Hello Bob!');
    expect(await row.getByTestId('presence-dot').getAttribute('data-online')).toBe('true');
    // Bob's socket received it: delivered, not read yet.
    await until(() => statusOf(alice.page, 'Hello Bob!')).toBe('delivered');
    await screenshot(bob.page, '02-conversation-list');

    await row.click();
    await until(() => bob.page.getByTestId('conversation-heading').textContent()).toBe('Alice Smith');
    await until(() => statusOf(alice.page, 'Hello Bob!')).toBe('read');
    await until(() => row.getByTestId('unread-badge').count()).toBe(0);

    // Only the http(s) URL became a link, opened safely; the rest is text.
    const links = message(bob.page, 'Hello Bob!').locator('a');
    expect(await links.count()).toBe(1);
    expect(await links.getAttribute('href')).toBe('https://example.com/docs?a=1');
    expect(await links.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await links.getAttribute('target')).toBe('_blank');
    expect(await message(bob.page, 'Hello Bob!').getByTestId('message-text').textContent()).toBe(
      'Hello Bob! Docs: https://example.com/docs?a=1. And javascript:alert(1)',
    );

    // Typing shows on the other side, and goes with the message.
    await bob.page.getByTestId('composer-input').fill('Hi Alice');
    await until(() => alice.page.getByTestId('typing-indicator').textContent()).toBe('Bob is typing…');
    await bob.page.getByTestId('composer-input').press('Enter');
    await until(() => message(alice.page, 'Hi Alice').count()).toBe(1);
    await until(() => alice.page.getByTestId('typing-indicator').textContent()).toBe('');

    // Shift+Enter is a new line, not a send.
    const box = alice.page.getByTestId('composer-input');
    await box.fill('line one');
    await box.press('Shift+Enter');
    await box.pressSequentially('line two');
    expect(await box.inputValue()).toBe('line one\nline two');
    await box.press('Enter');
    await until(() => message(bob.page, 'line two').getByTestId('message-text').textContent()).toBe('line one\nline two');
    expect(await bob.page.getByTestId('day-separator').first().textContent()).toBe('Today');
  }, 120_000);

  it('sends several files with previews and a progress bar; the image thumbnail opens full size', async () => {
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 220, g: 40, b: 60 } } }).png().toBuffer();
    // Noise does not compress: a few hundred KB, long enough to watch the progress bar under throttling.
    const noise = Buffer.alloc(360 * 300 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const big = await sharp(noise, { raw: { width: 360, height: 300, channels: 3 } }).png().toBuffer();
    const page = alice.page;
    await page.getByTestId('file-input').setInputFiles([
      { name: 'dot.png', mimeType: 'image/png', buffer: png },
      { name: 'noise.png', mimeType: 'image/png', buffer: big },
    ]);
    const drafts = page.getByTestId('draft-files');
    await until(() => drafts.getByRole('img').count()).toBe(2);
    expect(await drafts.textContent()).toContain('dot.png');

    // Every value the progress bar shows is recorded in the page as it renders (polling
    // from here could miss a bar that comes and goes between two looks).
    await page.evaluate(`(() => {
      const seen = (window.__progress = []);
      const note = (el) => el.matches?.('[data-testid=upload-progress]') && seen.push(Number(el.getAttribute('aria-valuenow')));
      new MutationObserver((changes) => {
        for (const c of changes) {
          if (c.type === 'attributes') note(c.target);
          for (const n of c.addedNodes) if (n.nodeType === 1) [n, ...n.querySelectorAll('[data-testid=upload-progress]')].forEach(note);
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    })()`);
    // Uploads at ~300 KB/s so the bar has time to move.
    const cdp = await alice.context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 300 * 1024 });
    await page.getByTestId('composer-input').fill('two pictures');
    await page.getByTestId('composer-input').press('Enter');
    await until(() => message(page, 'two pictures').count(), 30_000).toBe(1);
    await page.getByTestId('upload-progress').waitFor({ state: 'detached', timeout: 30_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();
    const shown = (await page.evaluate('window.__progress')) as number[];
    expect(shown.length).toBeGreaterThan(0);
    expect(Math.max(...shown)).toBeGreaterThan(0);
    // It only moves forward.
    expect(shown).toEqual([...shown].sort((a, b) => a - b));

    const got = message(bob.page, 'two pictures');
    const thumbs = got.getByTestId('image-thumbnail');
    await until(() => thumbs.count()).toBe(2);
    // Both thumbnails loaded (served, signed, decodable).
    await until(() => thumbs.evaluateAll((els) => els.every((el) => (el as unknown as { naturalWidth: number }).naturalWidth > 0))).toBe(true);
    expect(await thumbs.first().getAttribute('alt')).toBe('dot.png');
    await until(() => statusOf(page, 'two pictures')).toBe('read');

    await got.getByRole('button', { name: 'Open image dot.png' }).click();
    const full = bob.page.getByTestId('lightbox-image');
    await full.waitFor();
    await until(() => full.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth)).toBe(64);
    await screenshot(bob.page, '04-image-viewer');
    await bob.page.keyboard.press('Escape');
    await full.waitFor({ state: 'detached' });
  }, 120_000);

  it('edits, reacts (click to toggle), replies and deletes, live on both sides', async () => {
    // Edit (own message): "edited" on both sides.
    await messageAction(alice.page, 'Hello Bob!', 'Edit');
    await until(() => alice.page.getByTestId('editing-banner').count()).toBe(1);
    const box = alice.page.getByTestId('composer-input');
    await until(() => box.inputValue()).toContain('Hello Bob!');
    await box.fill('Hello Bob, edited');
    await box.press('Enter');
    await until(() => message(bob.page, 'Hello Bob, edited').getByTestId('edited-mark').count()).toBe(1);
    expect(await message(alice.page, 'Hello Bob, edited').getByTestId('edited-mark').count()).toBe(1);

    // The message menu with the keyboard: Enter opens it on its first item, arrows move, Escape closes.
    const trigger = message(alice.page, 'Hello Bob, edited').getByTestId('message-actions');
    await trigger.focus();
    await alice.page.keyboard.press('Enter');
    const menu = message(alice.page, 'Hello Bob, edited').getByRole('menu');
    await menu.waitFor();
    const focused = () => alice.page.evaluate("document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent?.trim()");
    await until(focused).toBe('React with 👍');
    await alice.page.keyboard.press('ArrowDown');
    await until(focused).toBe('React with ❤️');
    await alice.page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    await until(() => alice.page.evaluate("document.activeElement?.getAttribute('data-testid')")).toBe('message-actions');

    // React: Bob 👍, Alice clicks the chip to add hers, again to take it back.
    await messageAction(bob.page, 'Hello Bob, edited', 'React with 👍');
    const chip = message(alice.page, 'Hello Bob, edited').getByTestId('reaction');
    await until(() => chip.textContent()).toBe('👍 1');
    expect(await chip.getAttribute('aria-pressed')).toBe('false');
    await chip.click();
    await until(() => chip.textContent()).toBe('👍 2');
    expect(await chip.getAttribute('aria-pressed')).toBe('true');
    await until(() => message(bob.page, 'Hello Bob, edited').getByTestId('reaction').textContent()).toBe('👍 2');
    await chip.click();
    await until(() => chip.textContent()).toBe('👍 1');

    // Reply: shown with its parent.
    await messageAction(bob.page, 'Hello Bob, edited', 'Reply');
    await until(() => bob.page.getByTestId('reply-banner').textContent()).toContain('Replying to Alice Smith');
    await send(bob.page, 'Replying to you');
    const reply = message(alice.page, 'Replying to you');
    await until(() => reply.getByTestId('reply-quote').textContent()).toContain('Hello Bob, edited');
    expect(await reply.getByTestId('reply-quote').textContent()).toContain('Alice Smith');

    // Delete: a placeholder where it was.
    await send(alice.page, 'This will be deleted');
    await until(() => message(bob.page, 'This will be deleted').count()).toBe(1);
    // Bob can have it before Alice's page has her ack: until then hers is pending, with no id.
    await until(() => message(alice.page, 'This will be deleted').getAttribute('data-pending')).toBeNull();
    const id = await message(alice.page, 'This will be deleted').getAttribute('data-message-id');
    expect(id).toMatch(/^\d+$/);
    await messageAction(alice.page, 'This will be deleted', /^Delete$/);
    await alice.page.getByTestId('delete-dialog').getByRole('button', { name: 'Delete', exact: true }).click();
    const gone = bob.page.locator(`[data-testid=message][data-message-id="${id}"]`);
    await until(() => gone.getByTestId('deleted-placeholder').count()).toBe(1);
    expect(await gone.textContent()).not.toContain('This will be deleted');
    expect(await bob.page.getByText('This will be deleted').count()).toBe(0);
    await screenshot(alice.page, '03-conversation');
  }, 120_000);

  it('renders markup in a message as text: no element, no script', async () => {
    await send(alice.page, XSS);
    const got = message(bob.page, 'onerror');
    await until(() => got.getByTestId('message-text').textContent()).toBe(XSS);
    // Give a would-be handler time to fire.
    await bob.page.waitForTimeout(300);
    for (const p of [alice, bob]) {
      expect(await p.page.locator('img[src="x"]').count()).toBe(0);
      expect(await p.page.locator('[data-testid=message-list] img:not([data-testid=image-thumbnail])').count()).toBe(0);
      expect(p.dialogs).toEqual([]);
    }
    // The conversation list shows it as text as well.
    const row = bob.page.getByTestId('conversation-item').filter({ hasText: 'Alice Smith' });
    await until(() => row.getByTestId('conversation-preview').textContent()).toContain(XSS);
  });

  it('attaches files by drag and drop and by paste; a file name is text', async () => {
    const page = alice.page;
    const evil = '<img src=x onerror=alert(2)>.txt';
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['some notes\\n'], ${JSON.stringify(evil)}, { type: 'text/plain' }));
      window.__dropped = dt;
      document.querySelector('[data-testid=conversation]').dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
    })()`);
    await page.locator('.drop-overlay').waitFor();
    await page.evaluate(
      "document.querySelector('[data-testid=conversation]').dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: window.__dropped }))",
    );
    await page.locator('.drop-overlay').waitFor({ state: 'detached' });
    await until(() => page.getByTestId('draft-files').textContent()).toContain(evil);

    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 30, g: 160, b: 90 } } }).png().toBuffer();
    await page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob('${png.toString('base64')}'), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      document.querySelector('[data-testid=composer-input]').dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
    })()`);
    await until(() => page.getByTestId('draft-files').getByRole('img').count()).toBe(1);
    await send(page, 'dropped and pasted');

    const got = message(bob.page, 'dropped and pasted');
    await until(() => got.getByTestId('file-attachment').count()).toBe(1);
    expect(await got.getByTestId('file-attachment').locator('.file-name').textContent()).toBe(evil);
    expect(await got.getByTestId('image-thumbnail').getAttribute('alt')).toBe('pasted.png');
    await bob.page.waitForTimeout(200);
    expect(await bob.page.locator('img[src="x"]').count()).toBe(0);
    expect(bob.dialogs).toEqual([]);
  });

  it('queues a message typed offline and sends it once on reconnect', async () => {
    await alice.context.setOffline(true);
    const banner = alice.page.getByTestId('connection-banner');
    await banner.waitFor({ timeout: 10_000 });
    await send(alice.page, 'Sent while offline');
    await until(() => statusOf(alice.page, 'Sent while offline')).toBe('pending');
    await screenshot(alice.page, '05-offline');
    await alice.page.waitForTimeout(1500);
    expect(await message(bob.page, 'Sent while offline').count()).toBe(0);

    await alice.context.setOffline(false);
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
    await until(() => message(bob.page, 'Sent while offline').count(), 20_000).toBe(1);
    await until(() => statusOf(alice.page, 'Sent while offline')).not.toBe('pending');
    // And stays once: no late duplicate on either side.
    await alice.page.waitForTimeout(1000);
    expect(await message(bob.page, 'Sent while offline').count()).toBe(1);
    expect(await message(alice.page, 'Sent while offline').count()).toBe(1);

    // The conversation still works both ways after the reconnect.
    await send(bob.page, 'Welcome back');
    await until(() => message(alice.page, 'Welcome back').count()).toBe(1);
  }, 120_000);

  it('records a voice message and plays it back with its duration', async () => {
    await alice.page.getByRole('button', { name: 'Record voice message' }).click();
    await alice.page.getByTestId('recording').waitFor();
    await alice.page.waitForTimeout(1600);
    await alice.page.getByRole('button', { name: 'Stop and send voice message' }).click();
    const voice = bob.page.getByTestId('voice-message').last();
    await voice.waitFor({ timeout: 15_000 });
    expect(await voice.getByTestId('voice-duration').textContent()).toMatch(/^0:0[1-3]$/);
    const audio = voice.locator('audio');
    expect(await audio.getAttribute('src')).toMatch(/^https?:\/\//);
    await until(() => audio.evaluate((el) => (el as unknown as { duration: number }).duration)).toBeGreaterThan(1);
  }, 60_000);

  it('shows a third person nothing of it', async () => {
    carol = await newPerson(web.browser, web.server.url);
    await register(carol, 'Carol', 'carol@example.test');
    await carol.page.getByTestId('no-conversations').waitFor();
    expect(await carol.page.getByTestId('conversation-item').count()).toBe(0);
    const status = (path: string) =>
      carol.page.evaluate(`fetch('${path}', { headers: { authorization: 'Bearer ' + sessionStorage.getItem('parley.token') } }).then((r) => r.status)`);
    expect(await status(`/api/parley/conversations/${directId}`)).toBe(404);
    expect(await status(`/api/parley/conversations/${directId}/messages`)).toBe(404);
    expect(await status('/api/parley/conversations')).toBe(200);
    // Opened by its address, the page says so and shows nothing.
    await carol.page.goto(`${web.server.url}/#/c/${directId}`);
    await carol.page.getByTestId('conversation-missing').waitFor();
    expect(await carol.page.getByTestId('message').count()).toBe(0);
    expect(await carol.page.getByText('Hello Bob').count()).toBe(0);
  });

  it('creates a group with roles, and completes @mentions from its members', async () => {
    const page = alice.page;
    await page.getByRole('button', { name: 'New group' }).click();
    const dialog = page.getByTestId('new-group-dialog');
    await dialog.getByLabel('Group name').fill('Team');
    await dialog.getByLabel('Add people (search by email)').fill('bob@');
    await dialog.getByRole('button', { name: /Bob/ }).click();
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await until(() => page.getByTestId('conversation-heading').textContent()).toBe('Team');

    // Roles: the creator is admin (she may change Bob's, a member).
    await page.getByTestId('members-button').click();
    const members = page.getByTestId('members-dialog');
    await until(() => members.getByTestId('member').count()).toBe(2);
    expect(await members.getByTestId('member').filter({ hasText: 'Alice Smith' }).getByTestId('member-role').textContent()).toBe('admin');
    expect(await members.getByLabel('Role of Bob').inputValue()).toBe('member');
    await screenshot(page, '06-group-members');
    // The same member picker as the new group's: a member already is not offered.
    await members.getByLabel('Add people (search by email)').fill('bob@');
    const found = members.getByRole('list', { name: 'People found' });
    await found.waitFor({ state: 'attached' });
    expect(await found.getByRole('button').count()).toBe(0);
    await page.keyboard.press('Escape');
    await members.waitFor({ state: 'detached' });
    // Focus went back to the button that opened it.
    expect(await page.evaluate("document.activeElement?.getAttribute('data-testid')")).toBe('members-button');

    // Bob sees the group live, and the roles too.
    const row = bob.page.getByTestId('conversation-item').filter({ hasText: 'Team' });
    await row.waitFor();
    await row.click();
    await bob.page.getByTestId('members-button').click();
    const bobMembers = bob.page.getByTestId('members-dialog');
    await until(() => bobMembers.getByTestId('member-role').allTextContents()).toEqual(['admin', 'member']);
    await bob.page.keyboard.press('Escape');

    // @mention autocomplete: arrows and Enter pick a member.
    const box = page.getByTestId('composer-input');
    await box.fill('');
    await box.pressSequentially('Hey @bo');
    const list = page.getByTestId('mention-list');
    await list.waitFor();
    expect(await list.getByRole('option').allTextContents()).toEqual([expect.stringContaining('Bob')]);
    await screenshot(page, '07-mention');
    await box.press('Enter');
    expect(await box.inputValue()).toBe('Hey @Bob ');
    await box.pressSequentially('look at this');
    await box.press('Enter');
    const got = message(bob.page, 'look at this');
    await until(() => got.locator('.mention').textContent()).toBe('@Bob');
  }, 120_000);

  it('loads older history as you scroll up, with day separators', async () => {
    // 75 messages from Alice to Carol over REST, then Carol scrolls back to the first.
    const token = await tokenOf(alice.page);
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${web.server.url}/api/parley${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.status).toBeLessThan(300);
      return res.json();
    };
    const [found] = (await api('GET', '/users?q=carol%40example.test')) as { id: number }[];
    const conv = (await api('POST', '/conversations', { kind: 'direct', user_id: found.id })) as { id: number };
    for (let i = 1; i <= 75; i++) await api('POST', `/conversations/${conv.id}/messages`, { content: `history ${i}` });

    await carol.page.goto(web.server.url);
    const row = carol.page.getByTestId('conversation-item').filter({ hasText: 'Alice Smith' });
    await until(() => row.getByTestId('unread-badge').textContent()).toBe('75');
    // Read elsewhere first: opened with unread, it would land on the first unread instead
    // (threads-unread.test.ts); here it opens at the newest.
    const read = await fetch(`${web.server.url}/api/parley/conversations/${conv.id}/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await tokenOf(carol.page)}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(read.status).toBe(200);
    await until(() => row.getByTestId('unread-badge').count()).toBe(0);
    await row.click();
    const list = carol.page.getByTestId('message-list');
    await message(carol.page, 'history 75').waitFor();
    const first = carol.page.getByTestId('message').filter({ has: carol.page.getByText('history 1', { exact: true }) });
    expect(await first.count()).toBe(0);
    // The newest is in view at the bottom.
    await until(() => list.evaluate((el) => { const e = el as unknown as { scrollHeight: number; scrollTop: number; clientHeight: number }; return e.scrollHeight - e.scrollTop - e.clientHeight < 80; })).toBe(true);
    expect(await carol.page.getByTestId('message').count()).toBe(30);
    // Scrolled to the top, the page before comes in above, and what was in view stays in view.
    const topId = await carol.page.getByTestId('message').first().getAttribute('data-message-id');
    await list.evaluate((el) => ((el as unknown as { scrollTop: number }).scrollTop = 0));
    await until(() => carol.page.getByTestId('message').count()).toBe(60);
    await until(() =>
      carol.page.evaluate(
        `(() => { const l = document.querySelector('[data-testid=message-list]'); const m = document.getElementById('message-${topId}'); const t = m.getBoundingClientRect().top - l.getBoundingClientRect().top; return t >= 0 && t < 200; })()`,
      ),
    ).toBe(true);
    for (let i = 0; i < 10 && (await first.count()) === 0; i++) {
      await list.evaluate((el) => ((el as unknown as { scrollTop: number }).scrollTop = 0));
      await carol.page.waitForTimeout(300);
    }
    await first.waitFor();
    const texts = await carol.page.getByTestId('message-text').allTextContents();
    expect(texts).toEqual(Array.from({ length: 75 }, (_, i) => `history ${i + 1}`));
    expect(await carol.page.getByTestId('day-separator').allTextContents()).toEqual(['Today']);
    expect(await carol.page.getByText('This is the beginning of the conversation.').count()).toBe(1);
  }, 120_000);

  it('keeps the session across reloads and logs in again after logging out', async () => {
    await bob.page.reload();
    await until(() => bob.page.getByTestId('me-name').textContent()).toBe('Bob');
    await bob.page.getByRole('button', { name: 'Log out' }).click();
    await bob.page.getByRole('button', { name: 'Sign in' }).first().waitFor();
    expect(await tokenOf(bob.page)).toBeNull();
  });

  it('works at phone width: the list and the conversation as two screens', async () => {
    const phone = await newPerson(web.browser, web.server.url, { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const page = phone.page;
    // Log in with the keyboard only.
    await page.getByLabel('Email').focus();
    await page.keyboard.type('bob@example.test');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await until(() => page.getByTestId('me-name').textContent()).toBe('Bob');
    const row = page.locator(`[data-testid=conversation-item][data-conversation-id="${directId}"]`);
    await row.waitFor();
    expect(await page.getByTestId('conversation').count()).toBe(0);
    await screenshot(page, '08-phone-list');
    expect(await horizontalOverflow(page)).toBe(0);

    await row.click();
    await message(page, 'two pictures').waitFor();
    expect(await page.getByRole('complementary', { name: 'Chats' }).isVisible()).toBe(false);
    await page.getByTestId('image-thumbnail').first().waitFor();
    await screenshot(page, '09-phone-conversation');
    expect(await horizontalOverflow(page)).toBe(0);

    await page.getByRole('button', { name: 'Back to conversations' }).click();
    await row.waitFor();
    expect(await page.getByTestId('conversation').count()).toBe(0);
    for (const p of [alice, bob, carol, phone]) expect(p.errors).toEqual([]);
    await phone.context.close();
  }, 60_000);

  // Issue 15.11: logged out on another device (the socket closes with 4001 mid-session). The
  // page used to show "Reconnecting…" forever with the dead token kept: it signs out instead.
  it('a session ended elsewhere signs the page out with a notice and forgets the token', async () => {
    const token = await tokenOf(carol.page);
    expect(token).toMatch(/^ey/);
    await carol.page.locator('.app[data-connection=online]').waitFor();
    const res = await fetch(`${web.server.url}/api/parley/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBeLessThan(300);
    await carol.page.getByTestId('session-ended').waitFor();
    expect(await carol.page.getByTestId('connection-banner').count()).toBe(0);
    expect(await tokenOf(carol.page)).toBeNull();
    await carol.page.getByRole('button', { name: 'Sign in' }).first().waitFor();
    expect(carol.errors).toEqual([]);
  }, 30_000);
});
