import fc from 'fast-check';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { eventually, newUser, TestSocket, type TestUser } from '../helpers/clients.js';

// Issue 14 item 6: sockets that are not authenticated yet (003's and Parley's first-frame auth)
// are capped per client address (WS_MAX_UNAUTHENTICATED_PER_ADDRESS); past the cap the
// upgrade is refused with 429. Authenticated sockets, at the handshake or by their first frame,
// do not count. Before, any number of anonymous sockets could wait 10 s each for a first frame.

const CAP = 3;

type Action = { do: 'open'; dialect: '003' | 'parley'; token: boolean } | { do: 'auth'; i: number } | { do: 'close'; i: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ do: fc.constant('open' as const), dialect: fc.constantFrom('003' as const, 'parley' as const), token: fc.constantFrom(false, false, false, true) }) },
  { weight: 1, arbitrary: fc.record({ do: fc.constant('auth' as const), i: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ do: fc.constant('close' as const), i: fc.nat(20) }) },
);

interface Open {
  s: TestSocket;
  dialect: '003' | 'parley';
  authed: boolean;
}

describe('unauthenticated sockets per address', () => {
  const server = useParley({ env: { WS_MAX_UNAUTHENTICATED_PER_ADDRESS: String(CAP) } });
  let u: TestUser;
  beforeAll(async () => {
    u = await newUser(server);
  });

  const serverSockets = () => server.parley.app.websocketServer.clients.size;

  /** Opens a socket: the TestSocket once open, or the refusal's status and body. */
  async function open(dialect: '003' | 'parley', token: boolean): Promise<TestSocket | { status: number; body: string }> {
    const path = dialect === '003' ? `/ws/chat/${u.user.tenant_id}/` : '/api/parley/ws';
    const ws = new WebSocket(server.wsUrl + path + (token ? `?token=${u.token}` : ''));
    const s = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      s.opened.then(() => resolve(s), (e: Error) => (/unexpected response/.test(e.message) ? undefined : reject(e)));
    });
  }

  const greeting = (d: '003' | 'parley') => (d === '003' ? 'connection_established' : 'ready');

  it('property: after any sequence of opens, first-frame authentications and closes, an open without a token is refused (429) exactly when CAP sockets of the address are unauthenticated', { timeout: 240_000 }, async () => {
    let refusals = 0;
    let admitted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 14 }), async (actions) => {
        const open_: Open[] = [];
        const every: TestSocket[] = [];
        try {
          for (const a of actions) {
            const pending = open_.filter((o) => !o.authed).length;
            if (a.do === 'open') {
              const r = await open(a.dialect, a.token);
              if (r instanceof TestSocket) every.push(r);
              if (!a.token && pending >= CAP) {
                expect(r, `open #${pending + 1} without a token`).toMatchObject({ status: 429 });
                expect(JSON.parse((r as { body: string }).body)).toEqual({ detail: 'Too many unauthenticated connections from this address' });
                refusals++;
                continue;
              }
              expect(r, `open (token: ${a.token}) with ${pending} pending`).toBeInstanceOf(TestSocket);
              const s = r as TestSocket;
              if (a.token) await s.next(greeting(a.dialect));
              else admitted++;
              open_.push({ s, dialect: a.dialect, authed: a.token });
            } else if (a.do === 'auth') {
              const waiting = open_.filter((o) => !o.authed);
              if (waiting.length === 0) continue;
              const o = waiting[a.i % waiting.length];
              o.s.send(o.dialect === '003' ? { type: 'authenticate', token: u.token } : { type: 'auth', token: u.token });
              await o.s.next(greeting(o.dialect));
              o.authed = true;
            } else {
              if (open_.length === 0) continue;
              const [o] = open_.splice(a.i % open_.length, 1);
              o.s.close();
              // Its slot is free once the server has seen it go.
              await eventually(() => expect(serverSockets()).toBe(open_.length), { timeoutMs: 3000 });
            }
          }
        } finally {
          for (const s of every) s.ws.terminate();
          await eventually(() => expect(serverSockets()).toBe(0), { timeoutMs: 3000 });
        }
      }),
      { numRuns: 15, seed: 20260615, endOnFailure: true },
    );
    // The runs did reach the cap, and did let sockets in under it.
    expect(refusals).toBeGreaterThan(0);
    expect(admitted).toBeGreaterThan(CAP);
  });

  it('a socket that stays unauthenticated holds its slot until it closes or its 10 s for a first frame are over', { timeout: 30_000 }, async () => {
    const held: TestSocket[] = [];
    for (let i = 0; i < CAP; i++) held.push((await open('003', false)) as TestSocket);
    expect(await open('parley', false)).toMatchObject({ status: 429 });
    // A token at the handshake is never capped.
    const withToken = await open('parley', true);
    expect(withToken).toBeInstanceOf(TestSocket);
    (withToken as TestSocket).close();
    // The slot comes back when a waiting socket goes: by its close, or by the first-frame timeout.
    held.shift()!.close();
    await eventually(async () => {
      const r = await open('003', false);
      expect(r).toBeInstanceOf(TestSocket);
      held.push(r as TestSocket);
    }, { timeoutMs: 3000 });
    expect(await open('003', false)).toMatchObject({ status: 429 });
    const timedOut = held[0];
    expect((await timedOut.closed).code).toBe(4001);
    await eventually(async () => {
      const r = await open('003', false);
      expect(r).toBeInstanceOf(TestSocket);
      held.push(r as TestSocket);
    }, { timeoutMs: 3000 });
    for (const s of held) s.ws.terminate();
    await eventually(() => expect(serverSockets()).toBe(0), { timeoutMs: 3000 });
  });
});
