// The documents' own JavaScript ChatClient (001's and 000's), unchanged, against a real
// Parley. The class is read from the document at test time, exactly as it prints it; it
// runs with a global `WebSocket` that is `ws`, pointed from ws://localhost:8000 at the test
// server, and with the display methods the documents leave to the application as stubs.
import WS from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { eventually, newRoom, type TestUser } from '../../helpers/clients.js';
import { startParley, type TestServer } from '../../helpers/parley.js';
import { documentedCode, seedDocument } from '../../helpers/seeds.js';
import { chatHistory, databases, users } from './support.js';

const REVISIONS = ['000', '001'] as const;
type Revision = (typeof REVISIONS)[number];
const SEED_FILES: Record<Revision, string> = { '000': '000_0b243ca674924b87.txt', '001': '001_1ea8d655181703b7.txt' };
const source = (rev: Revision) => documentedCode(SEED_FILES[rev], 'javascript', 'class ChatClient');

type Ctor = new (token: string, roomId: number) => any;

/** The documented class, evaluated as a browser would: its free names (WebSocket, console) are globals. */
function load(rev: Revision): Ctor {
  return new Function(`${source(rev)}\nreturn ChatClient;`)() as Ctor;
}

/** What the application supplies: the four methods the class calls but does not define, recording their calls. */
function withStubs(Base: Ctor) {
  return class extends Base {
    readonly displayed: any[] = [];
    readonly typing: any[] = [];
    readonly presence: any[] = [];
    readonly errors: string[] = [];
    displayMessage(m: any) {
      this.displayed.push(m);
    }
    showTypingIndicator(d: any) {
      this.typing.push(d);
    }
    updateUserPresence(d: any) {
      this.presence.push(d);
    }
    showError(message: string) {
      this.errors.push(message);
    }
  };
}

describe('the documented ChatClient sources', () => {
  it.each(REVISIONS)('%s: the document prints one ChatClient class, and it is what runs here', (rev) => {
    expect(source(rev)).toMatch(/^class ChatClient \{[\s\S]*\bsendTextMessage\b[\s\S]*\}\s*$/);
    expect(load(rev).name).toBe('ChatClient');
  });

  it('a document printing no such block fails the check instead of passing it', () => {
    expect(() => documentedCode(SEED_FILES['001'], 'javascript', 'class NoSuchClient')).toThrow(/prints 0 javascript blocks/);
  });

  it('a document that is missing fails the check instead of passing it', () => {
    expect(() => seedDocument('999_not-a-document.txt')).toThrow(/999_not-a-document.txt is missing/);
  });
});

describe.each(databases)('the documented ChatClient on %s', (db) => {
  let server: TestServer;
  const sockets: WS[] = [];
  const saved = (globalThis as any).WebSocket;

  beforeAll(async () => {
    server = await startParley({ db });
    const target = server.wsUrl;
    (globalThis as any).WebSocket = class WebSocket extends WS {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(String(url).replace(/^ws:\/\/localhost:8000(?=\/)/, target), protocols);
        sockets.push(this);
      }
    };
    vi.spyOn(console, 'log').mockImplementation(() => {});
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await server.close();
    // The class logs 'Disconnected from chat' in onclose: keep console.log quiet until then.
    await Promise.all(sockets.map((s) => (s.readyState === WS.CLOSED ? null : new Promise((r) => s.once('close', r)))));
    (globalThis as any).WebSocket = saved;
    vi.restoreAllMocks();
  });

  /** Resolves once the server has registered the client's socket and joined its room (a ping answered). */
  async function ready(client: any): Promise<void> {
    const ws: WS = client.ws;
    await new Promise<void>((resolve) => {
      const onMessage = (ev: WS.MessageEvent) => {
        if (JSON.parse(String(ev.data)).type !== 'pong') return;
        ws.removeEventListener('message', onMessage);
        resolve();
      };
      ws.addEventListener('message', onMessage);
      const ping = () => ws.send('{"type":"ping"}');
      if (ws.readyState === WS.OPEN) ping();
      else ws.addEventListener('open', ping, { once: true });
    });
  }

  async function connect(rev: Revision, user: TestUser, room: number) {
    const Client = withStubs(load(rev));
    const client = new Client(user.token, room);
    await ready(client);
    return client;
  }

  /** Two users in a new room, each with the documented client of `rev` in it. */
  async function twoClients(rev: Revision) {
    const [a, b] = await users(server, 2);
    const room = await newRoom(server, a, b);
    return { a, b, room, ca: await connect(rev, a, room), cb: await connect(rev, b, room) };
  }

  describe.each(REVISIONS)('revision %s', (rev) => {
    it('sendTextMessage reaches the other user\'s displayMessage, and the sender\'s own as its ack', async () => {
      const { a, b, room, ca, cb } = await twoClients(rev);
      ca.sendTextMessage('Hello, how are you?', b.user.id);
      await eventually(() => expect(cb.displayed).toHaveLength(1));
      const m = cb.displayed[0];
      expect(m).toMatchObject({ content: 'Hello, how are you?', message_type: 'text', is_deleted: false, local_temp_id: null, files_data: null });
      expect(m.sender_details).toMatchObject({ id: a.user.id, name: a.user.name, email: a.user.email, is_online: true });
      expect(m.receiver_details).toMatchObject({ id: b.user.id });
      // The React example keys messages by id and reads is_sender, sender_details.name and created_at.
      expect(m.id).toBeTypeOf('number');
      expect(m.is_sender).toBe(false);
      expect(new Date(m.created_at).getTime()).not.toBeNaN();
      await eventually(() => expect(ca.displayed).toHaveLength(1));
      expect(ca.displayed[0]).toMatchObject({ id: m.id, is_sender: true });
      expect((await chatHistory(server, b, room)).messages.map((x) => x.content)).toEqual(['Hello, how are you?']);
      expect(ca.errors).toEqual([]);
      expect(cb.errors).toEqual([]);
      ca.ws.close();
      cb.ws.close();
    });

    it('sendTypingIndicator reaches the other user\'s showTypingIndicator, not the typer\'s', async () => {
      const { a, room, ca, cb } = await twoClients(rev);
      ca.sendTypingIndicator(true);
      await eventually(() => expect(cb.typing).toHaveLength(1));
      expect(cb.typing[0]).toMatchObject({ room_id: room, user_id: a.user.id, user_name: a.user.name, is_typing: true });
      ca.sendTypingIndicator(false);
      await eventually(() => expect(cb.typing).toHaveLength(2));
      expect(cb.typing[1]).toMatchObject({ is_typing: false });
      await ready(ca); // everything a sent before this ping has been handled
      expect(ca.typing).toEqual([]);
      ca.ws.close();
      cb.ws.close();
    });

    it('updateUserPresence hears the other user come and go', async () => {
      const { b, ca, cb } = await twoClients(rev);
      await eventually(() => expect(ca.presence).toHaveLength(1));
      expect(ca.presence[0]).toMatchObject({ user_id: b.user.id, is_online: true, user_name: b.user.name });
      cb.ws.close();
      await eventually(() => expect(ca.presence).toHaveLength(2));
      expect(ca.presence[1]).toMatchObject({ user_id: b.user.id, is_online: false });
      ca.ws.close();
    });

    it('showError gets the error frame\'s message, and the client keeps working', async () => {
      const { b, ca, cb } = await twoClients(rev);
      ca.sendTextMessage('x'.repeat(5001), b.user.id);
      await eventually(() => expect(ca.errors).toHaveLength(1));
      expect(ca.errors[0]).toMatch(/Message too long/);
      ca.sendTextMessage('short', b.user.id);
      await eventually(() => expect(cb.displayed.map((m: any) => m.content)).toEqual(['short']));
      ca.ws.close();
      cb.ws.close();
    });
  });

  it('a 000 client and a 001 client talk to each other', async () => {
    const [a, b] = await users(server, 2);
    const room = await newRoom(server, a, b);
    const old = await connect('000', a, room);
    const current = await connect('001', b, room);
    old.sendTextMessage('from 000', b.user.id);
    await eventually(() => expect(current.displayed.map((m: any) => m.content)).toEqual(['from 000']));
    current.sendTextMessage('from 001', a.user.id);
    await eventually(() => expect(old.displayed.map((m: any) => m.content)).toEqual(['from 000', 'from 001']));
    old.ws.close();
    current.ws.close();
  });
});
