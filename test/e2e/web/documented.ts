import { build } from 'esbuild';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { chatSocket, newRoom, newUser, type Frame, type TestSocket, type TestUser } from '../../helpers/clients.js';
import type { TestServer } from '../../helpers/parley.js';
import { documentedCode, seedsDir } from '../../helpers/seeds.js';
import { image, pdf } from '../../files/support.js';
import { ROOT, until } from './support.js';

// The documents' React components (read from the documents at test time, exactly as they
// print them), bundled for a browser page, and how a page renders one: shared by the same-origin test
// (documented-components.test.ts) and the cross-site one (cross-site.test.ts).

export const SEEDS = seedsDir();

interface Component {
  seed: string;
  /** The code blocks of the document (each the one of its lang starting so), in the order they are joined; `name` labels it. */
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

/** The code of one of a component's blocks, from its document. */
export const source = (rev: keyof typeof COMPONENTS, f: Component['files'][number]) => documentedCode(COMPONENTS[rev].seed, f.lang, f.startsWith);

/** One document's component and a renderer, bundled for the browser as `window.Documented<rev>`. */
export async function bundle(rev: keyof typeof COMPONENTS): Promise<string> {
  const code = COMPONENTS[rev].files.map((f) => source(rev, f)).join('\n');
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
 * An application that holds a token may put it in the URL (`window.socketToken`). The sockets
 * are listed in `window.openedSockets`, each with its `closeCode` once closed: the components
 * send as soon as asked, open or not (a person cannot type that fast; a test waits for
 * `socketsOpen`).
 */
export function webSocketShim(base: string): string {
  return `const Native = WebSocket;
window.openedSockets = [];
const withToken = (url) => window.socketToken ? url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(window.socketToken) : url;
window.WebSocket = class extends Native {
  constructor(url, protocols) {
    super(withToken(url.replace(/^ws:\\/\\/localhost:\\d+/, ${base})), protocols);
    this.addEventListener('close', (e) => { this.closeCode = e.code; });
    window.openedSockets.push(this);
  }
};`;
}

/** Whether every socket the page's components opened is open (and there is one). */
export const socketsOpen = (page: Page) =>
  page.evaluate('window.openedSockets.length > 0 && window.openedSockets.every((s) => s.readyState === 1)') as Promise<boolean>;

export const messageIn = (page: Page, text: string) => page.locator('.messages .message').filter({ hasText: text });

/** A page showing 000's or 001's ChatRoom as Ada, in her room with Bob, whose socket is in it. */
export interface RoomScene {
  page: Page;
  rev: '000' | '001';
  bobSocket: TestSocket;
  ada: TestUser;
  bob: TestUser;
  roomId: number;
}

/** Ada and Bob (named after the document) in a new room, Bob's socket in it: the caller closes it. */
export async function roomWithBob(server: TestServer, rev: '000' | '001'): Promise<Omit<RoomScene, 'page'>> {
  const ada = await newUser(server, { name: `Ada ${rev}` });
  const bob = await newUser(server, { name: `Bob ${rev}` });
  const roomId = await newRoom(server, ada, bob);
  const bobSocket = await chatSocket(server, bob, roomId);
  return { rev, ada, bob, roomId, bobSocket };
}

/** Ada sends with Enter, Bob answers and types: each shows as the component renders it. */
export async function talkInRoom({ page, rev, bobSocket, ada, roomId }: RoomScene): Promise<void> {
  await until(() => socketsOpen(page)).toBe(true);
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
}

/**
 * Ada picks two files in the component's file input and sends them (000 uploads first and
 * sends message_type 'image', so its second file is an image too; 001 sends base64), and they
 * show: 001's image inline from its signed URL, 000's as links. Answers Bob's copy and Ada's.
 */
export async function sendFilesInRoom({ page, rev, bobSocket }: RoomScene): Promise<{ got: Frame; second: { name: string; buffer: Buffer }; mine: Locator }> {
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
  }
  return { got, second, mine };
}

/** 003's ChatRoom, joined by cookie: Ada types and sends with Enter, Bob's message and typing show. */
export async function talk003(page: Page, { bobSocket, ada, bob, conv }: { bobSocket: TestSocket; ada: TestUser; bob: TestUser; conv: string }, text: string): Promise<void> {
  await until(() => socketsOpen(page)).toBe(true);
  // Ada types (Bob sees her typing) and sends with Enter: the socket joined on open, by cookie.
  const input = page.getByPlaceholder('Type a message...');
  await input.pressSequentially(text);
  const typing = await bobSocket.next('typing_indicator', { where: (f) => f.is_typing === true, timeoutMs: 10_000 });
  expect(typing.user_id).toBe(ada.user.uuid);
  await input.press('Enter');
  const got = await bobSocket.next('new_message', { where: (f) => f.message.content === text });
  expect(got.message.sender_id).toBe(ada.user.uuid);
  await until(() => messageIn(page, text).count()).toBe(1);
  expect(await input.inputValue()).toBe('');

  // Bob's message shows as the component renders it: `<strong>{sender_id}:</strong> {content}`.
  bobSocket.send({ type: 'send_message', conversation_id: conv, content: 'Hi Ada, from Bob', message_type: 'text' });
  await until(() => messageIn(page, 'Hi Ada, from Bob').textContent()).toBe(`${bob.user.uuid}: Hi Ada, from Bob`);

  // Bob types: the component's typing line appears, and goes.
  bobSocket.send({ type: 'start_typing', conversation_id: conv });
  await until(() => page.locator('.typing').textContent()).toBe('Someone is typing...');
  bobSocket.send({ type: 'stop_typing', conversation_id: conv });
  await until(() => page.locator('.typing').count()).toBe(0);
}
