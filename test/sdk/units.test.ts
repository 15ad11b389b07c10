import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import WebSocket, { WebSocketServer } from 'ws';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { Static } from '@sinclair/typebox';
import { ServerFrames, type ConversationOut, type MessageOut } from '../../src/dialects/parley/schemas.js';
import { backoffDelay, retryHintOf, ChatState, ParleyClient, Realtime, type Conversation, type StatusEvent, type WebSocketConstructor, type Message, type ParleyEventMap, type ServerFrameType } from '@parley/sdk';
import { sleep } from '../helpers/clients.js';

// The parts that need no Parley server (the socket ones script a real ws server): backoff, the state's merge rules, the event map against
// the server's frames, and the browser bundle having no dependency.

describe('SDK units', () => {
  it('backoff: exponential from the initial delay, capped, jitter takes off up to its fraction', () => {
    const o = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, o, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, o, () => 1))).toEqual([50, 100, 200, 400, 500, 500]);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, o);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
    expect(backoffDelay(50, { ...o, jitter: 0 })).toBe(1000);
  });

  /** A real ws server on loopback that scripts the server's side, one peer per connection. */
  async function scriptedServer() {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    const peers: { sent: any[]; recv(f: object): void; kill(): void; close(code: number, reason: string): void }[] = [];
    wss.on('connection', (sock) => {
      const peer = { sent: [] as any[], recv: (f: object) => sock.send(JSON.stringify(f)), kill: () => sock.terminate(), close: (code: number, reason: string) => sock.close(code, reason) };
      sock.on('message', (d) => peer.sent.push(JSON.parse(String(d))));
      peers.push(peer);
    });
    const { port } = wss.address() as AddressInfo;
    return {
      url: `ws://127.0.0.1:${port}/api/parley/ws?token=t`,
      peers,
      /** The n-th connection (1-based), once it is open. */
      peer: async (n: number) => {
        for (let i = 0; i < 400 && peers.length < n; i++) await sleep(5);
        if (peers.length < n) throw new Error(`no connection ${n}`);
        return peers[n - 1];
      },
      close: () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }),
    };
  }

  it('cursors: the highest seq and change_seq delivered, unmoved by a replay cut short', async () => {
    const server = await scriptedServer();
    const statuses: StatusEvent[] = [];
    const frames: string[] = [];
    const rt = new Realtime(
      WebSocket as unknown as WebSocketConstructor,
      { url: async () => server.url, onReady() {}, onOnline() {}, onFrame: (f) => frames.push(f.type), onStatus: (e) => statuses.push(e), onFatal() {} },
      { reconnect: { initialDelayMs: 1, maxDelayMs: 1, jitter: 0 }, heartbeat: false },
    );
    const ready = { type: 'ready', user: { id: 1 }, resume_max: 10 };
    const m = (type: string, seq: number, change: number, conversation_id = 7) => ({ type, conversation_id, change: 'replayed', message: { seq, change_seq: change } });
    const until = (f: () => unknown) => expect.poll(f, { timeout: 2000, interval: 5 });
    rt.seedCursor(7, 3, 5);
    rt.seedCursor(9, 1, 1);
    rt.start();
    const s1 = await server.peer(1);
    s1.recv(ready);
    await until(() => s1.sent).toEqual([{ type: 'subscribe', cursors: [{ conversation_id: 7, last_seq: 3, last_change_seq: 5 }, { conversation_id: 9, last_seq: 1, last_change_seq: 1 }] }]);
    // The replay begins (a new message, changed since: change_seq 10) and the socket drops.
    s1.recv(m('message', 4, 10));
    await until(() => frames.length).toBe(1);
    s1.kill();
    await until(() => statuses.find((e) => e.status === 'offline')).toMatchObject({ status: 'offline', code: 1006, attempt: 1, retryInMs: 1 });
    const s2 = await server.peer(2);
    s2.recv(ready);
    await until(() => s2.sent[0]?.cursors[0]).toEqual({ conversation_id: 7, last_seq: 3, last_change_seq: 5 });
    s2.recv(m('message', 4, 10));
    s2.recv(m('message_changed', 2, 8));
    await until(() => frames.length).toBe(3);
    expect(rt.online).toBe(false);
    // Conversation 9 is gone (not listed): its cursor goes.
    s2.recv({ type: 'subscribed', conversations: [{ id: 7, last_seq: 4, change_seq: 9 }] });
    await until(() => rt.online).toBe(true);
    expect([...rt.cursors]).toEqual([[7, { seq: 4, change: 10 }]]);
    s2.recv(m('message', 5, 11));
    s2.recv(m('message', 1, 12, 8));
    await until(() => [...rt.cursors]).toEqual([
      [7, { seq: 5, change: 11 }],
      [8, { seq: 1, change: 12 }],
    ]);
    expect(frames).toEqual(['message', 'message', 'message_changed', 'message', 'message']);
    expect(statuses.map((e) => e.status)).toEqual(['connecting', 'offline', 'connecting', 'online']);
    expect(rt.send({ type: 'ping' })).toBe(true);
    rt.stop();
    expect(rt.send({ type: 'ping' })).toBe(false);
    expect(statuses.at(-1)).toEqual({ status: 'offline', final: true });
    await server.close();
  });

  it('a 1013 close (too many resumes at once) is retried after the hint in its reason, not the backoff', async () => {
    expect(retryHintOf(1013, 'try again later: retry_after_ms=1234')).toBe(1234);
    expect(retryHintOf(1012, 'retry_after_ms=1234')).toBeNull();
    expect(retryHintOf(1013, 'try again later')).toBeNull();
    const server = await scriptedServer();
    const statuses: StatusEvent[] = [];
    const rt = new Realtime(
      WebSocket as unknown as WebSocketConstructor,
      { url: async () => server.url, onReady() {}, onOnline() {}, onFrame() {}, onStatus: (e) => statuses.push(e), onFatal() {} },
      // A backoff far longer than the hint: the second connection comes only if the hint is taken.
      { reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 }, heartbeat: false },
    );
    rt.start();
    const s1 = await server.peer(1);
    s1.recv({ type: 'ready', user: { id: 1 }, resume_max: 10 });
    await expect.poll(() => s1.sent.length, { timeout: 2000, interval: 5 }).toBe(1);
    s1.close(1013, 'try again later: retry_after_ms=30');
    await server.peer(2);
    expect(statuses.find((e) => e.status === 'offline')).toMatchObject({ code: 1013, retryInMs: 30 });
    rt.stop();
    await server.close();
  });

  it('no reconnect attempt while the platform says the network is down; retryNow() goes at once', async () => {
    const server = await scriptedServer();
    let down = false;
    const rt = new Realtime(
      WebSocket as unknown as WebSocketConstructor,
      { url: async () => server.url, onReady() {}, onOnline() {}, onFrame() {}, onStatus() {}, onFatal() {}, networkDown: () => down },
      { reconnect: { initialDelayMs: 10, maxDelayMs: 60_000, jitter: 0 }, heartbeat: false },
    );
    rt.start();
    const s1 = await server.peer(1);
    down = true;
    s1.kill();
    // Far past the first retry's 10 ms: still one connection.
    await sleep(300);
    expect(server.peers.length).toBe(1);
    down = false;
    rt.retryNow();
    await server.peer(2);
    rt.stop();
    await server.close();
  });

  it('every frame the server can send is an SDK event, typed from the frame schemas', () => {
    // Compile time: a server frame added without an SDK event fails the type check here.
    type Internal = 'ready' | 'subscribed' | 'pong';
    const covered: [Exclude<ServerFrameType, keyof ParleyEventMap | Internal>] extends [never] ? true : false = true;
    expect(covered).toBe(true);
    const events: (keyof ParleyEventMap)[] = ['message', 'message_changed', 'read', 'unread', 'thread', 'delivered', 'typing', 'presence', 'mention', 'conversation_changed', 'participant_changed', 'message_hidden', 'pin_changed', 'report_resolved', 'snapshot_required', 'error'];
    expect([...Object.keys(ServerFrames)].sort()).toEqual([...events, 'ready', 'subscribed', 'pong'].sort());
    expectTypeOf<Message>().toEqualTypeOf<Static<typeof MessageOut>>();
    expectTypeOf<Conversation>().toEqualTypeOf<Static<typeof ConversationOut>>();
    expectTypeOf<ParleyEventMap['message_changed']['change']>().toEqualTypeOf<'edited' | 'deleted' | 'reaction_added' | 'reaction_removed' | 'replayed'>();
    const client = new ParleyClient({ baseUrl: 'http://127.0.0.1:1', fetch: async () => new Response('{}') });
    client.on('read', (f) => expectTypeOf(f.read_seq).toEqualTypeOf<number>());
    client.on('status', (s) => expectTypeOf(s.status).toEqualTypeOf<'connecting' | 'online' | 'offline'>());
  });

  describe('ChatState merges', () => {
    const user = (id: number) => ({ id, uuid: `u${id}`, name: `U${id}`, email: `u${id}@x`, avatar_url: null });
    const msg = (seq: number, change: number, content: string, sender = 2): Message => ({
      id: 100 + seq,
      uuid: `m${seq}`,
      conversation_id: 7,
      seq,
      change_seq: change,
      sender: user(sender),
      kind: 'text',
      content,
      reply_to_id: null,
      reply_count: 0,
      created_at: new Date(1_700_000_000_000 + seq).toISOString(),
      edited_at: null,
      deleted_at: null,
      attachments: [],
      reactions: [],
    });
    const conv = (over: Partial<Conversation> = {}): Conversation => ({
      id: 7,
      uuid: 'c7',
      kind: 'group',
      title: 'Old',
      created_by: 1,
      created_at: new Date(1_600_000_000_000).toISOString(),
      last_seq: 1,
      change_seq: 1,
      last_message: msg(1, 1, 'one'),
      last_message_at: msg(1, 1, 'one').created_at,
      unread_count: 1,
      first_unread_seq: 1,
      my_seen_seq: 0,
      my_role: 'member',
      my_read_seq: 0,
      my_sent_seq: 0,
      member_count: 2,
      visibility: 'private',
      members: [1, 2].map((id) => ({ user: user(id), role: id === 2 ? 'admin' : 'member', read_seq: 0, delivered_seq: 0, joined_at: new Date(1_600_000_000_000).toISOString(), online: false })),
      ...over,
    });

    it('a typist stays shown until the server says they stopped: it tells no renewal', () => {
      vi.useFakeTimers();
      try {
        const s = new ChatState();
        s.me = user(1);
        s.mergeConversation(conv(), s.tick());
        s.applyTyping({ type: 'typing', conversation_id: 7, user_id: 2, is_typing: true, typing_user_ids: [2] });
        vi.advanceTimersByTime(60_000);
        expect(s.typing(7)).toEqual([2]);
        s.applyTyping({ type: 'typing', conversation_id: 7, user_id: 2, is_typing: false, typing_user_ids: [] });
        expect(s.typing(7)).toEqual([]);
        // With a local cap, it goes after the cap anyway.
        const capped = new ChatState({ typingTtlMs: 1_000 });
        capped.mergeConversation(conv(), capped.tick());
        capped.applyTyping({ type: 'typing', conversation_id: 7, user_id: 2, is_typing: true, typing_user_ids: [2] });
        vi.advanceTimersByTime(1_100);
        expect(capped.typing(7)).toEqual([]);
      } finally {
        vi.useRealTimers();
      }
    });

    it("a room list row with a few of a group's members does not replace the whole member list", () => {
      const s = new ChatState();
      s.me = user(1);
      const all = [1, 2, 3, 4, 5, 6, 7].map((id) => ({ user: user(id), role: 'member' as const, read_seq: 0, delivered_seq: 0, joined_at: new Date(1_600_000_000_000).toISOString(), online: false }));
      s.mergeConversation(conv({ member_count: 7, members: all }), s.tick());
      s.mergeConversationList([conv({ member_count: 7, members: all.slice(0, 5), title: 'Renamed' })], s.tick());
      expect(s.conversation(7)!.members.map((m) => m.user.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(s.conversation(7)!.title).toBe('Renamed');
      // A first sight from the list keeps what it has until the conversation is loaded.
      const fresh = new ChatState();
      fresh.mergeConversationList([conv({ member_count: 7, members: all.slice(0, 5) })], fresh.tick());
      expect(fresh.conversation(7)!.members).toHaveLength(5);
      expect(fresh.conversation(7)!.member_count).toBe(7);
    });

    it('a REST answer older than the events it races never moves the state back', () => {
      const s = new ChatState();
      s.me = user(1);
      const t = s.tick();
      // While the request runs: a new message, an edit, a rename, Bob's read.
      s.mergeMessage(msg(1, 1, 'one'));
      s.mergeMessage(msg(2, 2, 'two'));
      s.mergeMessage(msg(1, 3, 'one, edited'));
      s.applyConversationChanged({ type: 'conversation_changed', change: 'updated', conversation: { id: 7, uuid: 'c7', kind: 'group' }, title: 'New' });
      s.applyRead(7, 2, 2);
      expect(s.mergeConversation(conv(), t)).toBe(true);
      expect(s.conversation(7)).toMatchObject({ title: 'New', last_seq: 2, change_seq: 3, unread_count: 2, last_message: { seq: 2 } });
      expect(s.conversation(7)!.members.find((m) => m.user.id === 2)).toMatchObject({ read_seq: 2, delivered_seq: 2 });
      expect(s.messages(7).map((m) => m.content)).toEqual(['one, edited', 'two']);
      // An older copy of a message changes nothing.
      s.mergeMessage(msg(1, 1, 'one'));
      expect(s.messages(7)[0].content).toBe('one, edited');
      // A fresh answer (started after the events) takes the title from the server.
      expect(s.mergeConversation(conv({ title: 'Newer', last_seq: 2, change_seq: 3 }), s.tick())).toBe(false);
      expect(s.conversation(7)!.title).toBe('Newer');
    });

    it('own messages: pending → sent → delivered → read from the watermarks', () => {
      const s = new ChatState();
      s.me = user(1);
      s.mergeConversation(conv({ last_message: null, last_seq: 0, change_seq: 0 }), s.tick());
      s.addPending({ local_temp_id: 't', conversation_id: 7, kind: 'text', content: 'x', reply_to_id: null, attachments: [], created_at: new Date().toISOString(), sender_id: 1, status: 'pending' });
      expect(s.statusOf(s.pending(7)[0])).toBe('pending');
      s.removePending(7, 't');
      s.mergeMessage({ ...msg(1, 1, 'x', 1), created_at: new Date(1_700_000_000_000).toISOString(), local_temp_id: 't' });
      const m = s.messages(7)[0];
      expect(m).not.toHaveProperty('local_temp_id');
      expect(s.localTempIdOf(m.id)).toBe('t');
      // Sending reads nothing; it is not unread either.
      expect(s.conversation(7)).toMatchObject({ unread_count: 0, my_read_seq: 0, my_sent_seq: 1 });
      expect(s.statusOf(m)).toBe('sent');
      s.applyDelivered(7, 2, 1);
      expect(s.statusOf(m)).toBe('delivered');
      s.applyRead(7, 2, 1);
      expect(s.statusOf(m)).toBe('read');
      expect(s.statusOf(msg(2, 2, 'theirs'))).toBeNull();
    });

    it('notifies subscribers once per burst of changes; unchanged reads keep their identity', async () => {
      const s = new ChatState();
      s.mergeConversation(conv(), s.tick());
      const list = s.conversations();
      expect(s.conversations()).toBe(list);
      let calls = 0;
      s.subscribe(() => calls++);
      s.mergeMessage(msg(2, 2, 'a'));
      s.mergeMessage(msg(3, 3, 'b'));
      await Promise.resolve();
      expect(calls).toBe(1);
      expect(s.conversations()).not.toBe(list);
    });

    // A parent's reply_count as the server reads it: live, under the conversation's change_seq
    // lock (it counts the replies changed before its own change_seq); replayed at a resume,
    // as of the resume (every reply of that replay). Found by the oracle, seed 20260914 run
    // 30: a parent replayed with its new reply counted, then that reply, counted again.
    it('reply_count: live frames in any order around the parent, a resume replay, more live frames: the parent counts its replies not deleted (property)', () => {
      type Op = { t: 'reply' } | { t: 'delete'; pick: number } | { t: 'edit'; late: boolean };
      const op: fc.Arbitrary<Op> = fc.oneof(fc.constant({ t: 'reply' as const }), fc.record({ t: fc.constant('delete' as const), pick: fc.nat(20) }), fc.record({ t: fc.constant('edit' as const), late: fc.boolean() }));
      fc.assert(
        fc.property(fc.array(op, { maxLength: 12 }), fc.array(op, { maxLength: 8 }), fc.array(op, { maxLength: 8 }), (before, away, after) => {
          const s = new ChatState();
          s.me = user(1);
          let seq = 1;
          let cs = 1;
          let parent: Message = msg(1, 1, 'root');
          const stored = new Map<number, Message>([[parent.id, parent]]);
          s.mergeConversation(conv(), s.tick());
          s.mergeMessage(parent, 'history');
          /** Applies one op to the server's rows; the frame it sends (the row as the change left it). */
          const change = (o: Op): Message | null => {
            const replies = [...stored.values()].filter((m) => m.reply_to_id === parent.id && !m.deleted_at);
            if (o.t === 'delete' && replies.length === 0) return null;
            cs++;
            let m: Message;
            if (o.t === 'reply') {
              seq++;
              m = { ...msg(seq, cs, `r${seq}`), reply_to_id: parent.id };
              parent = { ...parent, reply_count: parent.reply_count + 1 };
            } else if (o.t === 'delete') {
              m = { ...replies[o.pick % replies.length], change_seq: cs, content: null, deleted_at: new Date(0).toISOString() };
              parent = { ...parent, reply_count: parent.reply_count - 1 };
            } else m = parent = { ...parent, change_seq: cs, content: `edit ${cs}` };
            stored.set(m.id, m);
            stored.set(parent.id, parent);
            return m;
          };
          /** Live frames in order, but a late parent frame after the next one. */
          const live = (ops: Op[]) => {
            let late: Message | null = null;
            for (const o of ops) {
              const m = change(o);
              if (!m) continue;
              if (o.t === 'edit' && o.late && !late) {
                late = m;
                continue;
              }
              s.mergeMessage(m);
              if (late) s.mergeMessage(late);
              late = null;
            }
            if (late) s.mergeMessage(late);
          };
          live(before);
          const cursor = cs;
          for (const o of away) change(o);
          // The resume replays what changed after the cursor, as it is now, in change_seq order.
          for (const m of [...stored.values()].filter((x) => x.change_seq > cursor).sort((a, b) => a.change_seq - b.change_seq)) s.mergeMessage(m, 'replay');
          s.replayDone();
          live(after);
          const want = [...stored.values()].filter((m) => m.reply_to_id === parent.id && !m.deleted_at).length;
          expect(s.messages(7).find((m) => m.id === parent.id)!.reply_count).toBe(want);
        }),
        { numRuns: 500, seed: 20260914 },
      );
    });
  });

  it('the browser bundle: only the SDK in it (the schema imports are types), no imports left', async () => {
    const out = await build({
      entryPoints: [path.resolve('sdk/src/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile!.inputs);
    expect(inputs.every((p) => p.startsWith('sdk/src/')), inputs.join(', ')).toBe(true);
    const code = out.outputFiles[0].text;
    expect(code).not.toMatch(/\bimport\s*[\s{*"'(]|\brequire\(/);
    // And it runs: the bundle alone drives a client against a fake fetch.
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-sdk-'));
    try {
      writeFileSync(path.join(dir, 'sdk.mjs'), code);
      const mod = await import(/* @vite-ignore */ pathToFileURL(path.join(dir, 'sdk.mjs')).href);
      const seen: string[] = [];
      const client = new mod.ParleyClient({
        baseUrl: 'http://example.test/',
        token: 'tok',
        fetch: async (url: string, init: RequestInit) => {
          seen.push(`${init.method} ${url} ${(init.headers as Record<string, string>).authorization}`);
          return new Response(JSON.stringify({ id: 1, uuid: 'u', name: 'N', email: 'e', avatar_url: null }), { status: 200 });
        },
      });
      expect(await client.me()).toMatchObject({ id: 1 });
      expect(seen).toEqual(['GET http://example.test/api/parley/me Bearer tok']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
