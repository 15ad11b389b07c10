// Bad input (DESIGN.md, Bad input): a known field of the wrong type or a missing required one
// is 422 {"detail"}; ids in paths that are not UUIDs are a 4xx, never a 500; a missing or bad
// token is 401 {"detail":"Not authenticated"}; a malformed frame gets an error frame and the
// socket stays open.
import { beforeAll, describe, expect, it } from 'vitest';
import { api, type TestUser } from '../../helpers/clients.js';
import { useParley } from '../../helpers/parley.js';
import { P, conversationWith, databases, expectDetail, join, nextError, sendMessage, settle, socket003, users } from './support.js';

describe.each(databases)('003 bad input on %s', (db) => {
  const server = useParley({ db });
  let a: TestUser;
  let b: TestUser;
  let conv: string;
  let msg: string;
  beforeAll(async () => {
    [a, b] = await users(server, 2);
    conv = await conversationWith(server, a, [b]);
    msg = (await sendMessage(server, a, conv, 'target')).id;
  });

  it('wrong types and missing fields are 422 {"detail"} naming the problem', async () => {
    const cases: [string, string, unknown][] = [
      // conversations
      ['POST', `${P}/conversations/`, {}],
      ['POST', `${P}/conversations/`, { title: 'x' }],
      ['POST', `${P}/conversations/`, { title: 'x', conversation_type: 'team' }],
      ['POST', `${P}/conversations/`, { title: 42, conversation_type: 'group' }],
      ['POST', `${P}/conversations/`, { title: 'x', conversation_type: 'group', participant_ids: 'everyone' }],
      ['POST', `${P}/conversations/`, { title: 'x'.repeat(256), conversation_type: 'group' }],
      ['PUT', `${P}/conversations/${conv}/`, { title: ['x'] }],
      // participants
      ['POST', `${P}/conversations/${conv}/participants/`, {}],
      ['POST', `${P}/conversations/${conv}/participants/`, { user_id: true }],
      ['POST', `${P}/conversations/${conv}/participants/`, { user_id: 'not-a-uuid' }],
      ['POST', `${P}/conversations/${conv}/participants/`, { user_id: b.user.uuid, role: 'owner' }],
      ['PUT', `${P}/conversations/${conv}/participants/${b.user.uuid}/`, {}],
      ['PUT', `${P}/conversations/${conv}/participants/${b.user.uuid}/`, { role: 'superuser' }],
      // messages
      ['POST', `${P}/conversations/${conv}/messages/`, { content: 123 }],
      ['POST', `${P}/conversations/${conv}/messages/`, { content: 'x', message_type: 'video' }],
      ['POST', `${P}/conversations/${conv}/messages/`, { content: 'x', message_type: 'system' }],
      ['POST', `${P}/conversations/${conv}/messages/`, { content: 'x', reply_to: 'not-a-uuid' }],
      ['POST', `${P}/conversations/${conv}/messages/`, { content: 'x', reply_to: 5 }],
      ['POST', `${P}/conversations/${conv}/messages/`, { content: 'x', file_size: 'big' }],
      ['PUT', `${P}/conversations/${conv}/messages/${msg}/`, {}],
      ['PUT', `${P}/conversations/${conv}/messages/${msg}/`, { content: null }],
      // reactions
      ['POST', `${P}/messages/${msg}/reactions/`, {}],
      ['POST', `${P}/messages/${msg}/reactions/`, { emoji: 7 }],
      // presence
      ['PUT', `${P}/presence/me/`, {}],
      ['PUT', `${P}/presence/me/`, { status: 'sleeping' }],
      ['PUT', `${P}/presence/me/`, { status: 'busy', current_conversation: 'lobby' }],
      // body not an object
      ['POST', `${P}/conversations/`, ['group']],
    ];
    for (const [method, path, json] of cases) {
      const res = await api(server, method, path, { token: a.token, json });
      expect({ method, path, json, status: res.status }).toEqual({ method, path, json, status: 422 });
      expectDetail(res, 422);
    }
    // A missing field is named.
    expect(expectDetail(await api(server, 'POST', `${P}/conversations/`, { token: a.token, json: {} }), 422)).toMatch(/conversation_type/);
    expect(expectDetail(await api(server, 'POST', `${P}/messages/${msg}/reactions/`, { token: a.token, json: {} }), 422)).toMatch(/emoji/);
    // Invalid JSON.
    expectDetail(await api(server, 'POST', `${P}/conversations/`, { token: a.token, raw: '{"title": ' }), 422);
    // Nothing was created or changed.
    expect((await api(server, 'GET', `${P}/conversations/`, { token: a.token })).body).toHaveLength(1);
    expect((await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: a.token })).body.count).toBe(1);
  });

  it('empty or too long content is refused with a 4xx {"detail"}', async () => {
    for (const json of [{}, { content: '' }, { content: '   ' }, { content: null }, { content: 'x'.repeat(5001) }]) {
      expectDetail(await api(server, 'POST', `${P}/conversations/${conv}/messages/`, { token: a.token, json }), [400, 422]);
    }
    expectDetail(await api(server, 'PUT', `${P}/conversations/${conv}/messages/${msg}/`, { token: a.token, json: { content: '  ' } }), [400, 422]);
    expect((await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: a.token })).body.count).toBe(1);
  });

  it('ids in paths that are not UUIDs are a 4xx {"detail"}, never a 500', async () => {
    const bad = ['abc', '123', '0', '-1', '99999999999999999999', 'null', `${conv}x`, '%F0%9F%91%8D', "1'%20OR%20'1'='1"];
    for (const id of bad) {
      const paths: [string, string, unknown?][] = [
        ['GET', `${P}/conversations/${id}/`],
        ['PUT', `${P}/conversations/${id}/`, { title: 'x' }],
        ['DELETE', `${P}/conversations/${id}/`],
        ['GET', `${P}/conversations/${id}/participants/`],
        ['POST', `${P}/conversations/${id}/participants/`, { user_id: b.user.uuid }],
        ['PUT', `${P}/conversations/${conv}/participants/${id}/`, { role: 'member' }],
        ['DELETE', `${P}/conversations/${conv}/participants/${id}/`],
        ['GET', `${P}/conversations/${id}/messages/`],
        ['POST', `${P}/conversations/${id}/messages/`, { content: 'x' }],
        ['GET', `${P}/conversations/${conv}/messages/${id}/`],
        ['PUT', `${P}/conversations/${conv}/messages/${id}/`, { content: 'x' }],
        ['DELETE', `${P}/conversations/${conv}/messages/${id}/`],
        ['GET', `${P}/messages/${id}/reactions/`],
        ['POST', `${P}/messages/${id}/reactions/`, { emoji: '👍' }],
        ['DELETE', `${P}/messages/${id}/reactions/?emoji=%F0%9F%91%8D`],
      ];
      for (const [method, path, json] of paths) {
        const res = await api(server, method, path, { token: a.token, json });
        expect(res.status, `${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`).toBeLessThan(500);
        expectDetail(res, res.status);
      }
    }
    // Bad query parameters too.
    for (const q of ['before_seq=abc', 'before_seq=0', 'limit=0', 'limit=1000', 'limit=x']) {
      expectDetail(await api(server, 'GET', `${P}/conversations/${conv}/messages/?${q}`, { token: a.token }), 422);
    }
    // The conversation is intact.
    expect((await api(server, 'GET', `${P}/conversations/${conv}/`, { token: a.token })).body.participant_count).toBe(2);
  });

  it('a missing or bad token is 401 {"detail":"Not authenticated"} on every endpoint', async () => {
    const paths: [string, string][] = [
      ['GET', `${P}/conversations/`],
      ['POST', `${P}/conversations/`],
      ['GET', `${P}/conversations/${conv}/`],
      ['GET', `${P}/conversations/${conv}/participants/`],
      ['GET', `${P}/conversations/${conv}/messages/`],
      ['POST', `${P}/conversations/${conv}/messages/`],
      ['GET', `${P}/messages/${msg}/reactions/`],
      ['GET', `${P}/presence/`],
      ['GET', `${P}/presence/me/`],
      ['PUT', `${P}/presence/me/`],
      ['POST', `${P}/upload/`],
    ];
    for (const [method, path] of paths) {
      expectDetail(await api(server, method, path, {}), 401, 'Not authenticated');
      expectDetail(await api(server, method, path, { token: 'not.a.jwt' }), 401, 'Not authenticated');
    }
  });

  it('malformed frames get an error frame and the socket stays usable', async () => {
    const s = await socket003(server, b, [conv]);
    const bad: unknown[] = [
      'not json',
      '[1,2,3]',
      '"a string"',
      '42',
      {},
      { type: 42 },
      { type: 'no_such_frame' },
      { type: 'join_conversation' },
      { type: 'join_conversation', conversation_id: 'abc' },
      { type: 'join_conversation', conversation_id: 7 },
      { type: 'join_conversation', conversation_id: '0192e5b0-0000-7000-8000-000000000099' },
      { type: 'send_message', content: 'no conversation' },
      { type: 'send_message', conversation_id: conv, content: 5 },
      { type: 'send_message', conversation_id: conv, content: '' },
      { type: 'send_message', conversation_id: conv, content: 'x', message_type: 'hologram' },
      { type: 'send_message', conversation_id: conv, content: 'x', reply_to: 'nope' },
      { type: 'send_message', data: 'not an object' },
      { type: 'start_typing', conversation_id: null },
      { type: 'stop_typing' },
      { type: 'add_reaction', message_id: msg },
      { type: 'add_reaction', message_id: msg, emoji: 'abc' },
      { type: 'add_reaction', message_id: 'abc', emoji: '👍' },
      { type: 'remove_reaction', emoji: '👍' },
      { type: 'mark_read', conversation_id: 'x' },
      { type: 'update_presence', status: 'sleeping' },
      { type: 'update_presence' },
      { type: '__proto__' },
      { type: 'constructor' },
    ];
    for (const frame of bad) {
      s.send(frame);
      const err = await nextError(s);
      expect(err.type).toBe('error');
    }
    expect(s.all('error')).toHaveLength(bad.length);
    // Still open and working: a send goes through, a join works.
    s.send({ type: 'send_message', conversation_id: conv, content: 'still alive', message_type: 'text' });
    expect((await s.next('new_message')).message.content).toBe('still alive');
    const other = await conversationWith(server, b, []);
    await join(s, other);
    await settle(s);
    expect(s.all('error')).toHaveLength(bad.length);
    // Nothing bad was stored.
    const list = await api(server, 'GET', `${P}/conversations/${conv}/messages/`, { token: a.token });
    expect(list.body.results.map((m: any) => m.content)).toEqual(['still alive', 'target']);
    expect((await api(server, 'GET', `${P}/messages/${msg}/reactions/`, { token: a.token })).body).toEqual([]);
  });

  it('a binary frame gets an error frame too', async () => {
    const s = await socket003(server, a);
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await nextError(s);
    await settle(s);
    expect(s.ws.readyState).toBe(s.ws.OPEN);
  });
});
