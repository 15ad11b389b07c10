import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpWebhookSender, type HostLookup } from '../../src/backends/webhooks/http-sender.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

// Issue 19, SSRF by DNS rebinding: a webhook URL's host is resolved once per send, every
// address checked, and the connection made to the checked address, never looked up again. A
// host that resolves to a loopback or private address is refused unless WEBHOOK_ALLOW_PRIVATE
// (the tests' loopback receivers); the receiver here is real, on 127.0.0.1. Nothing connects
// anywhere else: the addresses outside loopback below are only ever checked, never dialled.

const receiver = new WebhookReceiver();
beforeAll(async () => {
  receiver.secret = 'whsec_' + Buffer.from('a secret of the receiver, 32 bytes').toString('base64');
  await receiver.start();
});
afterAll(() => receiver.stop());

/** A resolver that answers `answers[n]` to its n-th question (the last one after that), counting them. */
function resolver(...answers: string[][]): HostLookup & { asked: number } {
  const f = Object.assign(
    async () => {
      const list = answers[Math.min(f.asked++, answers.length - 1)];
      return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    { asked: 0 },
  );
  return f;
}

const event = (url: string) => ({ url, secret: receiver.secret, id: `evt_${Math.random().toString(36).slice(2)}`, timestamp: new Date(), body: JSON.stringify({ id: 'x', type: 'message.created', cursor: 1, conversation_id: 1, data: {} }) });
const hookAt = (host: string) => `http://${host}:${receiver.port}/hook`;

describe('webhook addresses are checked where they are connected to', () => {
  it('a host name that resolves to 127.0.0.1 is refused, and nothing reaches the loopback receiver', async () => {
    const lookup = resolver(['127.0.0.1']);
    const sender = new HttpWebhookSender({ timeoutMs: 2000, allowPrivate: false, lookup });
    const before = receiver.received.length;
    expect(await sender.send(event(hookAt('rebind.example')))).toEqual({ ok: false, error: 'address refused: private or loopback' });
    expect(await sender.refusesAddress(hookAt('rebind.example'))).toBe(true);
    expect(receiver.received.length).toBe(before);
  });

  it('a host that answers one public and one loopback address is refused without a connection', async () => {
    const sender = new HttpWebhookSender({ timeoutMs: 2000, allowPrivate: false, lookup: resolver(['198.51.100.7', '127.0.0.1']) });
    expect(await sender.send(event(hookAt('split.example')))).toMatchObject({ ok: false, error: 'address refused: private or loopback' });
  });

  it('the send connects to the address it checked: one lookup per send, none after it (allowed for the test receiver)', async () => {
    // A rebinding resolver: loopback (allowed here) at the first question, anything else later.
    // A second lookup (fetch's own) would get the second answer, which no server listens on.
    const lookup = resolver(['127.0.0.1'], ['127.0.0.2']);
    const sender = new HttpWebhookSender({ timeoutMs: 2000, allowPrivate: true, lookup });
    const e = event(hookAt('hooks.example'));
    expect(await sender.send(e)).toEqual({ ok: true, status: 204 });
    expect(lookup.asked).toBe(1);
    expect(receiver.received.at(-1)?.id).toBe(e.id);
  });

  it('property: an address list is refused exactly when any address in it is loopback, private, link-local or unspecified', async () => {
    const privates = ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fc00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1'];
    const publics = ['198.51.100.7', '203.0.113.9', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2001:db8::1', '::ffff:198.51.100.7'];
    const pool = [...privates.map((a) => ({ a, bad: true })), ...publics.map((a) => ({ a, bad: false }))];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 4 }), fc.boolean(), async (answer, allowPrivate) => {
        const sender = new HttpWebhookSender({ timeoutMs: 2000, allowPrivate, lookup: resolver(answer.map((x) => x.a)) });
        expect(await sender.refusesAddress('https://hooks.example/hook')).toBe(!allowPrivate && answer.some((x) => x.bad));
      }),
      { numRuns: 200 },
    );
  });
});
