import WebSocket from 'ws';
import { expect } from 'vitest';
import { ParleyClient, ParleyRest, type Conversation, type Message, type ParleyClientOptions, type ParleyEventMap } from '@parley/sdk';
import { eventually } from '../helpers/clients.js';

let n = 0;

/** Where the clients find the server: a test that restarts it points `url` at the new one. */
export interface ServerRef {
  url: string;
}

/** A client on the test server through `ws`'s WebSocket, reconnecting fast. */
export function sdkClient(ref: ServerRef, opts: Partial<ParleyClientOptions> = {}): ParleyClient {
  return new ParleyClient({
    baseUrl: () => ref.url,
    WebSocket,
    reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
    heartbeat: false,
    ...opts,
  });
}

/** A registered client (unique email); `password` for a later login. */
export async function registered(ref: ServerRef, name: string, opts: Partial<ParleyClientOptions> = {}) {
  const client = sdkClient(ref, opts);
  const email = `${name.toLowerCase()}${++n}-${process.pid}-${Date.now()}@example.com`;
  await client.register({ email, password: 'correct horse battery', name });
  return client;
}

/** Every event a client emits, in order. */
export function record(client: ParleyClient) {
  const events: { [K in keyof ParleyEventMap]?: ParleyEventMap[K][] } = {};
  const names: (keyof ParleyEventMap)[] = [
    'message',
    'message_changed',
    'read',
    'delivered',
    'typing',
    'presence',
    'mention',
    'conversation_changed',
    'participant_changed',
    'snapshot_required',
    'status',
    'pending',
    'send_failed',
    'error',
  ];
  for (const name of names) client.on(name, (e) => ((events[name] ??= []) as unknown[]).push(e));
  return {
    events,
    of<K extends keyof ParleyEventMap>(name: K): ParleyEventMap[K][] {
      return (events[name] ?? []) as ParleyEventMap[K][];
    },
  };
}

/** Each message id at most once in `message` events, each (id, change_seq) at most once overall. */
export function expectNoDuplicates(rec: ReturnType<typeof record>): void {
  const ids = rec.of('message').map((f) => f.message.id);
  expect(new Set(ids).size, `message ids ${ids}`).toBe(ids.length);
  const pairs = [...rec.of('message'), ...rec.of('message_changed')].map((f) => `${f.message.id}@${f.message.change_seq}`);
  expect(new Set(pairs).size, `(id, change_seq) ${pairs}`).toBe(pairs.length);
}

/** Every message of a conversation through REST, oldest first. */
export async function fullHistory(rest: ParleyRest, conversationId: number): Promise<Message[]> {
  const out: Message[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await rest.history(conversationId, { beforeSeq: before, limit: 100 });
    out.unshift(...page.messages);
    if (!page.hasMore || page.messages.length === 0) return out;
    before = page.messages[0].seq;
  }
}

/** Signed file URLs differ between two renderings of the same file. */
function plainMessage(m: Message | null) {
  if (!m) return m;
  const { local_temp_id: _t, ...rest } = m;
  return { ...rest, attachments: m.attachments.map(({ url: _u, thumbnail_url: _th, ...a }) => a) };
}

function plainConversation(c: Conversation) {
  return { ...c, last_message: plainMessage(c.last_message), members: [...c.members].sort((x, y) => x.user.id - y.user.id) };
}

/**
 * The client's ChatState equals a fresh REST load: the same conversations (unread counts,
 * last messages, members and their watermarks, roles, titles) and, for each, the same
 * messages (content, edits, deletes, reactions, attachments).
 */
export async function expectInStepWithRest(client: ParleyClient, ref: ServerRef): Promise<void> {
  const rest = new ParleyRest({ baseUrl: ref.url, token: client.token });
  await eventually(
    async () => {
      await client.idle();
      const list = await rest.listConversations();
      const mine = [...client.state.conversations()].sort((a, b) => a.id - b.id).map(plainConversation);
      const theirs = [...list].sort((a, b) => a.id - b.id).map(plainConversation);
      expect(mine).toEqual(theirs);
      for (const c of list) {
        const all = (await fullHistory(rest, c.id)).map(plainMessage);
        expect(client.state.messages(c.id).map(plainMessage), `messages of ${c.id}`).toEqual(all);
      }
    },
    { timeoutMs: 5000, intervalMs: 100 },
  );
}

export async function waitForStatus(client: ParleyClient, status: 'online' | 'offline' | 'connecting', timeoutMs = 5000): Promise<void> {
  if (client.status === status) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`status ${status} not reached within ${timeoutMs} ms (now ${client.status})`));
    }, timeoutMs);
    const off = client.on('status', (e) => {
      if (e.status !== status) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

export { eventually };
