import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { api, type TestUser } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { tenant } from '../bots/support.js';
import { P, adminCall, parleySocket } from './support.js';

const local = (server: TestServer, url: string) => server.url + new URL(url).pathname + new URL(url).search;

async function sendImage(server: TestServer, user: TestUser, conversation: number): Promise<any> {
  const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#ff3366' } }).png().toBuffer();
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'holiday.png');
  const up = await fetch(`${server.url}${P}/files`, { method: 'POST', headers: { authorization: `Bearer ${user.token}` }, body: form });
  expect(up.status).toBe(201);
  const key = ((await up.json()) as { files: { key: string }[] }).files[0].key;
  const sent = await api(server, 'POST', `${P}/conversations/${conversation}/messages`, { token: user.token, json: { kind: 'image', attachments: [key] } });
  expect(sent.status, JSON.stringify(sent.body)).toBe(201);
  return sent.body;
}

/**
 * Erasure (issue 20): a user's messages become tombstones as changes of their conversations,
 * so a client resuming from a cursor taken before sees each deletion, in seq order, with no
 * gap; their files are gone, search finds nothing of theirs, their profile is a placeholder
 * and their e-mail is free again.
 */
describe.each(databases)('erasure on %s', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });

  it('the other user resumes from an old cursor and gets every deletion in seq order, no gap; files 404; search finds nothing of theirs', async () => {
    const { admin, members: [alice, bob], tenantId } = await tenant(server, 2);
    const conv = (await api(server, 'POST', `${P}/conversations`, { token: bob.token, json: { kind: 'group', member_ids: [alice.user.id], title: 'Trip' } })).body.id as number;
    const say = async (u: TestUser, content: string) => (await api(server, 'POST', `${P}/conversations/${conv}/messages`, { token: u.token, json: { content } })).body;
    const sent = [await say(alice, 'zanzibar plans'), await say(bob, 'sounds good'), await sendImage(server, alice, conv), await say(alice, 'zanzibar again'), await say(bob, 'ok')];
    expect(sent.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await api(server, 'PUT', `${P}/messages/${sent[1].id}/reactions/${encodeURIComponent('👍')}`, { token: alice.token })).status).toBeLessThan(300);
    expect((await api(server, 'PUT', `${P}/messages/${sent[0].id}/reactions/${encodeURIComponent('🎉')}`, { token: bob.token })).status).toBeLessThan(300);
    const image = sent[2].attachments[0];
    expect((await fetch(local(server, image.url))).status).toBe(200);

    // Bob's client is up to date, then goes away.
    const before = (await api(server, 'GET', `${P}/conversations/${conv}`, { token: bob.token })).body;
    const cursor = { conversation_id: conv, last_seq: before.last_seq, last_change_seq: before.change_seq };
    expect(cursor).toMatchObject({ last_seq: 5, last_change_seq: 7 });

    const erased = await adminCall(server, admin, 'DELETE', `/users/${alice.user.id}`, 200);
    expect(erased).toEqual({ messages: 3, reactions: 1, files: 2 });

    const sb = await parleySocket(server, bob, [cursor]);
    const replay = sb.frames.filter((f) => f.type === 'message' || f.type === 'message_changed');
    const deleted = replay.filter((f) => f.message.deleted_at !== null);
    expect(deleted.map((f) => f.message.seq)).toEqual([1, 3, 4]);
    for (const f of deleted) expect(f.message).toMatchObject({ content: null, attachments: [], metadata: null, sender: { name: 'Deleted user' } });
    // Alice's reaction on Bob's message is removed as a change too.
    const unreacted = replay.find((f) => f.message.seq === 2);
    expect(unreacted?.message.reactions).toEqual([]);
    sb.close();

    // The history keeps every seq: tombstones stand where Alice's messages were.
    const history = (await api(server, 'GET', `${P}/conversations/${conv}/messages`, { token: bob.token })).body;
    const messages = (history.messages ?? history) as any[];
    expect(messages.map((m) => m.seq).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
    expect(messages.filter((m) => m.deleted_at !== null).map((m) => m.seq).sort()).toEqual([1, 3, 4]);
    expect(messages.find((m) => m.seq === 2).content).toBe('sounds good');

    // Files are gone, signed links handed out before included.
    expect((await fetch(local(server, image.url))).status).toBe(404);
    expect((await fetch(local(server, image.thumbnail_url))).status).toBe(404);
    // Search finds nothing of theirs.
    for (const q of ['zanzibar', 'holiday']) {
      expect((await api(server, 'GET', `${P}/search?q=${q}`, { token: bob.token })).body.results, q).toEqual([]);
    }
    // The profile is a placeholder; the e-mail is free for a new account, the old password works nowhere.
    const shown = await adminCall(server, admin, 'GET', `/users/${alice.user.id}`, 200);
    expect(shown.user).toMatchObject({ name: 'Deleted user', suspended_at: expect.any(String) });
    expect(shown.user.email).not.toBe(alice.user.email);
    expect((await api(server, 'POST', `${P}/auth/login`, { json: { email: alice.user.email, password: alice.password, tenant_id: tenantId } })).status).toBe(401);
    const again = await api(server, 'POST', `${P}/auth/register`, { json: { email: alice.user.email, password: 'a new password', name: 'Alice', tenant_id: tenantId } });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
  });
});
