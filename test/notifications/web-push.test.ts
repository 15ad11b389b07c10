import fc from 'fast-check';
import { importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { useUsers } from '../helpers/dialects.js';
import { startParley, useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { befriend } from '../dialects/v1/support.js';
import { Device, dispatch, parleyDevice, PushService } from './support.js';
import { tenant } from '../bots/support.js';

// Issue 19, Web Push: a message no device of the recipient acknowledged in time is pushed to
// each of their browsers, encrypted for the subscription (RFC 8291) and signed with the
// server's VAPID key (RFC 8292); a device that acks, or a read, cancels it; reading clears
// the others; content-free mode says only "New message". The push service is a local
// receiver; each push is decrypted here with the subscription's private key and auth secret.

const P = '/api/parley';
const service = new PushService();
beforeAll(() => service.start());
afterAll(() => service.close());


describe.each(databases)('web push on %s', (db) => {
  const server = useParley({ db, env: { NOTIFY_POLL_MS: '0', NOTIFY_DELAY_MS: '1000' } });
  const [a, b, c] = useUsers(server, 3, { names: ['Ann', 'Ben', 'Cy'] });

  const direct = async (x: { token: string; user: { id: number } }, y: { token: string; user: { id: number } }) => {
    await befriend(server, x as never, y as never);
    return (await api(server, 'POST', `${P}/conversations`, { token: x.token, json: { kind: 'direct', user_id: y.user.id } })).body.id as number;
  };
  const send = async (conv: number, who: { token: string }, content: string) => (await api(server, 'POST', `${P}/conversations/${conv}/messages`, { token: who.token, json: { content } })).body as { id: number; seq: number };

  it('a direct message to a user with no device online is pushed after the delay, encrypted for the subscription and signed with the VAPID key', async () => {
    const conv = await direct(a, b);
    const phone = await new Device().subscribe(server, service, b);
    const m = await send(conv, a, 'are you there?');
    // Not before it is due.
    await server.parley.core.notifications.tick(Date.now());
    expect(service.to(phone)).toHaveLength(0);
    await dispatch(server);
    const [push] = service.to(phone);
    expect(service.to(phone)).toHaveLength(1);
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    expect(phone.decrypt(push.body)).toEqual({ title: 'Ann', body: 'are you there?', badge: 1, conversation_id: conv, message_id: m.id, tag: `conversation-${conv}` });

    // VAPID (RFC 8292): "vapid t=<ES256 JWT for the push service's origin>, k=<the server's key>".
    const key = (await api(server, 'GET', `${P}/push/vapid-key`, { token: b.token })).body.public_key as string;
    const auth = /^vapid t=([^,]+), k=(.+)$/.exec(String(push.headers.authorization))!;
    expect(auth[2]).toBe(key);
    const raw = Buffer.from(key, 'base64url');
    const jwk = await importJWK({ kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') }, 'ES256');
    const { payload } = await jwtVerify(auth[1], jwk, { audience: service.url });
    expect(payload.sub).toMatch(/^(mailto:|https:)/);
    // Sent once: a second pass finds nothing.
    await dispatch(server);
    expect(service.to(phone)).toHaveLength(1);
  });

  it('a phone asleep behind a desktop that acks gets no push; a read before the delay cancels it too', async () => {
    const conv = await direct(a, c);
    const phone = await new Device().subscribe(server, service, c);
    const desktop = await parleyDevice(server, c);
    const m = await send(conv, a, 'seen on the desktop');
    await desktop.next('message');
    desktop.send({ type: 'ack', conversation_id: conv, seq: m.seq });
    await expect.poll(async () => (await api(server, 'GET', `${P}/conversations/${conv}/participants`, { token: a.token })).body.find((x) => x.user.id === c.user.id)!.delivered_seq).toBe(m.seq);
    desktop.close();
    const read = await send(conv, a, 'read before the delay');
    expect((await api(server, 'POST', `${P}/conversations/${conv}/read`, { token: c.token, json: {} })).status).toBe(200);
    const before = service.to(phone).length;
    await dispatch(server);
    // Only the read's "clear" push (no message): neither message was pushed.
    const pushes = service.to(phone).slice(before).map((r) => phone.decrypt(r.body));
    expect(pushes.filter((p) => p.message_id !== null)).toEqual([]);
    expect(read.seq).toBe(m.seq + 1);
  });

  it('reading on one device clears the notification and the badge on the others (same tag, no message)', async () => {
    const conv = await direct(b, c);
    const phone = await new Device().subscribe(server, service, c);
    await send(conv, b, 'one');
    await dispatch(server);
    const pushed = service.to(phone).map((r) => phone.decrypt(r.body)).filter((p) => p.conversation_id === conv);
    expect(pushed).toEqual([expect.objectContaining({ body: 'one', tag: `conversation-${conv}` })]);
    const n = service.to(phone).length;
    expect((await api(server, 'POST', `${P}/conversations/${conv}/read`, { token: c.token, json: {} })).status).toBe(200);
    await expect.poll(() => service.to(phone).length).toBe(n + 1);
    expect(phone.decrypt(service.to(phone)[n].body)).toEqual({ title: '', body: '', badge: 0, conversation_id: conv, message_id: null, tag: `conversation-${conv}` });
  });

  it('a subscription the push service has forgotten (410) is removed', async () => {
    const conv = await direct(c, a);
    const old = await new Device().subscribe(server, service, a);
    service.status = (path) => (path === old.path ? 410 : 201);
    await send(conv, c, 'to a forgotten browser');
    await dispatch(server);
    expect(service.to(old)).toHaveLength(1);
    await send(conv, c, 'again');
    await dispatch(server);
    expect(service.to(old)).toHaveLength(1);
    service.status = () => 201;
  });
});

describe('content-free mode', () => {
  it('NOTIFY_CONTENT=none: the push says "New message" and carries no text', async (t) => {
    const server = await startParley(t, { env: { NOTIFY_POLL_MS: '0', NOTIFY_CONTENT: 'none' } });
    const [a, b] = await Promise.all([0, 1].map(async (i) => (await api(server, 'POST', `${P}/auth/register`, { json: { email: `cf${i}@example.com`, password: 'password-123', name: `U${i}` } })).body));
    const conv = (await api(server, 'POST', `${P}/conversations`, { token: a.token, json: { kind: 'group', title: 'G', member_ids: [b.user.id] } })).body.id;
    const phone = await new Device().subscribe(server, service, b);
    const m = (await api(server, 'POST', `${P}/conversations/${conv}/messages`, { token: a.token, json: { content: `secret plans @${b.user.name}` } })).body;
    await dispatch(server);
    expect(service.to(phone).map((r) => phone.decrypt(r.body))).toEqual([{ title: 'New message', body: '', badge: 1, conversation_id: conv, message_id: m.id, tag: `conversation-${conv}` }]);
  });
});

// Content-free mode per tenant: a tenant admin's setting beside the process default
// (NOTIFY_CONTENT): none makes the tenant's pushes say "New message"; null follows the default.
describe.each(databases)('content-free mode per tenant on %s', (db) => {
  const server = useParley({ db, env: { NOTIFY_POLL_MS: '0', NOTIFY_DELAY_MS: '0', REGISTRATION: 'open' } });
  type Content = 'full' | 'none' | null;

  /** A tenant's admin and member (pushed for every message), the member's phone, and a group of the two. */
  async function tenantWithPhone() {
    const { admin, members } = await tenant(server, 1);
    const phone = await new Device().subscribe(server, service, members[0]);
    await api(server, 'PUT', `${P}/me/notification-settings`, { token: members[0].token, json: { level: 'all' } });
    const conv = (await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'group', title: 'G', member_ids: [members[0].user.id] } })).body.id as number;
    /** The push the member gets for the admin's next message: its title and body. */
    const pushed = async () => {
      const before = service.to(phone).length;
      await api(server, 'POST', `${P}/conversations/${conv}/messages`, { token: admin.token, json: { content: 'secret plans' } });
      await dispatch(server);
      const got = service.to(phone).slice(before).map((r) => phone.decrypt(r.body));
      expect(got).toHaveLength(1);
      return { title: got[0].title, body: got[0].body };
    };
    return { admin, member: members[0], pushed };
  }
  const setContent = (who: { token: string }, content: Content) => api(server, 'PUT', `${P}/tenant/notify-content`, { token: who.token, json: { content } });

  it('an admin turns content off for their tenant only; a member may not; null goes back to the default', async () => {
    const [one, other] = [await tenantWithPhone(), await tenantWithPhone()];
    expect((await api(server, 'GET', `${P}/tenant/notify-content`, { token: one.admin.token })).body).toEqual({ content: null, in_force: 'full' });
    expect((await setContent(one.member, 'none')).status).toBe(403);
    const set = await setContent(one.admin, 'none');
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ content: 'none', in_force: 'none' });
    expect(await one.pushed()).toEqual({ title: 'New message', body: '' });
    expect((await other.pushed()).body).toContain('secret plans');
    await setContent(one.admin, null);
    expect((await one.pushed()).body).toContain('secret plans');
  });

  it('property: after any sequence of changes by admins and members, the push says what the last admin change (or the default) says', async () => {
    const { admin, member, pushed } = await tenantWithPhone();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), fc.constantFrom<Content>('full', 'none', null)), { minLength: 1, maxLength: 5 }), async (changes) => {
        let expected: Content = ((await api(server, 'GET', `${P}/tenant/notify-content`, { token: admin.token })).body as { content: Content }).content;
        for (const [byAdmin, content] of changes) {
          const r = await setContent(byAdmin ? admin : member, content);
          expect(r.status).toBe(byAdmin ? 200 : 403);
          if (byAdmin) expected = content;
        }
        const push = await pushed();
        if ((expected ?? 'full') === 'none') expect(push).toEqual({ title: 'New message', body: '' });
        else expect(push.body).toContain('secret plans');
      }),
      { numRuns: 10 },
    );
  });
});
