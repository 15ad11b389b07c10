// @mentions (003, Rich Interactions: "@mentions and notifications"): `@name` (the name without
// spaces, case-insensitive) or `@email` of a participant sends a `mention` frame to every
// socket of the mentioned user, joined to the conversation or not; a non-participant named
// is not notified, nor is the sender.
import { describe, expect, it } from 'vitest';
import { api, expectNoFrame, newUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, conversationWith, databases, sendMessage, socket003, users } from './support.js';

describe.each(databases)('003 mentions on %s', (db) => {
  const server = useParley({ db });

  it('@name without spaces, any case, reaches every socket of the mentioned user, joined or not', async () => {
    const [a, b] = await Promise.all([newUser(server, { name: 'Olga Owner' }), newUser(server, { name: 'Mary Ann Smith' })]);
    const conv = await conversationWith(server, a, [b]);
    const joined = await socket003(server, b, [conv]);
    const notJoined1 = await socket003(server, b);
    const notJoined2 = await socket003(server, b);
    const sa = await socket003(server, a, [conv]);

    const m = await sendMessage(server, a, conv, 'ping @maryannsmith, see this');
    for (const s of [joined, notJoined1, notJoined2]) {
      const f = await s.next('mention');
      expect(f.message).toMatchObject({ id: m.id, content: 'ping @maryannsmith, see this', sender_id: a.user.uuid });
      expect(f.conversation_id).toBe(conv);
    }
    // The joined socket also has the message itself; the others only the mention.
    expect((await joined.next('new_message')).message.id).toBe(m.id);
    await Promise.all([notJoined1, notJoined2].map((s) => expectNoFrame(s, 200, { type: 'new_message' })));
    for (const s of [joined, notJoined1, notJoined2]) expect(s.all('mention')).toHaveLength(1);
    // The sender is not told of its own message as a mention.
    expect(sa.all('mention')).toHaveLength(0);

    // Mixed case, over the socket.
    sa.send({ type: 'send_message', conversation_id: conv, content: '@MaryAnnSMITH hello', message_type: 'text' });
    const viaSocket = await notJoined1.next('mention');
    expect(viaSocket.message.content).toBe('@MaryAnnSMITH hello');
    for (const s of [joined, notJoined1, notJoined2, sa]) s.close();
  });

  it('@email of a participant notifies them', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const sb = await socket003(server, b);
    const m = await sendMessage(server, a, conv, `cc @${b.user.email.toUpperCase()}`);
    expect((await sb.next('mention')).message.id).toBe(m.id);
  });

  it('a named non-participant is not notified; plain text with @ notifies no one', async () => {
    const [a, b] = await users(server, 2);
    const dora = await newUser(server, { name: 'Dora' });
    const conv = await conversationWith(server, a, [b]);
    const sd = await socket003(server, dora);
    const sb = await socket003(server, b);
    await sendMessage(server, a, conv, `hey @Dora and @${dora.user.email}`);
    await sendMessage(server, a, conv, 'mail me at nobody@example.com or @ nowhere');
    // b is notified of neither, Dora is not in the conversation.
    const last = await sendMessage(server, a, conv, `finally @${b.user.email}`);
    expect((await sb.next('mention')).message.id).toBe(last.id);
    await expectNoFrame(sd, 300, { where: (f) => f.type === 'mention' || f.type === 'new_message' });
    expect(sb.all('mention')).toHaveLength(1);
    // And Dora still cannot read it.
    expect((await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: dora.token })).status).toBe(404);
  });

  it('a participant removed before the mention is not notified', async () => {
    const [a, b] = await users(server, 2);
    const conv = await conversationWith(server, a, [b]);
    const sb = await socket003(server, b);
    expect((await api(server, 'DELETE', `${P}/conversations/${conv}/participants/${b.user.uuid}/`, { token: a.token })).status).toBe(204);
    await sendMessage(server, a, conv, `still there @${b.user.email}?`);
    await expectNoFrame(sb, 300, { type: 'mention' });
  });
});
