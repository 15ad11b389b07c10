import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api, openSocket } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { METADATA_MAX_BYTES, METADATA_MAX_DEPTH } from '../../src/core/messages/metadata.js';
import { P, tenant } from './support.js';

// Custom metadata (issue 19): a small JSON object on messages and conversations, for
// integrations' own ids; returned as given wherever Parley's own API returns them.

const depth = (v: unknown): number => (v === null || typeof v !== 'object' ? 0 : 1 + Math.max(0, ...Object.values(v).map(depth)));

describe.each(databases)('metadata (%s)', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });

  it('on messages: sent (REST and socket), returned in the ack, frames, history, one message and search; an edit replaces it, keeps it or clears it', async () => {
    const { admin, members } = await tenant(server, 1);
    const g = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'group', title: 'Tickets', member_ids: [members[0].user.id] } });
    const id = g.body.id;
    const ws = await openSocket(`${server.wsUrl}${P}/ws?token=${encodeURIComponent(members[0].token)}`);
    await ws.next('ready');
    ws.send({ type: 'subscribe' });
    await ws.next('subscribed');

    const meta = { jira: { key: 'OPS-42', url: 'https://jira.example.com/OPS-42' }, priority: 2, tags: ['ops', null, true] };
    const sent = await api(server, 'POST', `${P}/conversations/${id}/messages`, { token: admin.token, json: { content: 'zebra ticket opened', metadata: meta } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.metadata).toEqual(meta);
    expect((await ws.next('message')).message.metadata).toEqual(meta);
    expect((await api(server, 'GET', `${P}/messages/${sent.body.id}`, { token: members[0].token })).body.metadata).toEqual(meta);
    const history = await api(server, 'GET', `${P}/conversations/${id}/messages`, { token: members[0].token });
    expect(history.body.messages[0].metadata).toEqual(meta);
    const found = await api(server, 'GET', `${P}/search?q=zebra`, { token: admin.token });
    expect(found.body.results[0].message.metadata).toEqual(meta);
    const listed = await api(server, 'GET', `${P}/conversations`, { token: admin.token });
    expect(listed.body.find((c) => c.id === id)!.last_message!.metadata).toEqual(meta);

    // A message without: null.
    const plain = await api(server, 'POST', `${P}/conversations/${id}/messages`, { token: admin.token, json: { content: 'plain' } });
    expect(plain.body.metadata).toBeNull();
    // Through the socket.
    ws.send({ type: 'send', conversation_id: id, content: 'from the socket', local_temp_id: 'm1', metadata: { source: 'socket' } });
    expect((await ws.next('message', { where: (f) => f.message?.local_temp_id === 'm1' })).message.metadata).toEqual({ source: 'socket' });

    const edited = await api(server, 'PATCH', `${P}/messages/${sent.body.id}`, { token: admin.token, json: { content: 'zebra ticket closed', metadata: { jira: { key: 'OPS-42', status: 'done' } } } });
    expect(edited.body.metadata).toEqual({ jira: { key: 'OPS-42', status: 'done' } });
    expect((await ws.next('message_changed')).message.metadata).toEqual({ jira: { key: 'OPS-42', status: 'done' } });
    const kept = await api(server, 'PATCH', `${P}/messages/${sent.body.id}`, { token: admin.token, json: { content: 'zebra ticket reopened' } });
    expect(kept.body.metadata).toEqual({ jira: { key: 'OPS-42', status: 'done' } });
    const cleared = await api(server, 'PATCH', `${P}/messages/${sent.body.id}`, { token: admin.token, json: { content: 'zebra', metadata: null } });
    expect(cleared.body.metadata).toBeNull();
  });

  it('on conversations: set at creation, changed by who may rename it (null clears), kept by a rename, returned in the list and one conversation', async () => {
    const { admin, members } = await tenant(server, 1);
    const g = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'group', title: 'Support', member_ids: [members[0].user.id], metadata: { crm: 'acct-7' } } });
    expect(g.status).toBe(201);
    expect(g.body.metadata).toEqual({ crm: 'acct-7' });
    const id = g.body.id;
    expect((await api(server, 'GET', `${P}/conversations/${id}`, { token: members[0].token })).body.metadata).toEqual({ crm: 'acct-7' });
    expect((await api(server, 'PATCH', `${P}/conversations/${id}`, { token: members[0].token, json: { metadata: { crm: 'x' } } })).status).toBe(403);
    const renamed = await api(server, 'PATCH', `${P}/conversations/${id}`, { token: admin.token, json: { title: 'Support (EU)' } });
    expect(renamed.body).toMatchObject({ title: 'Support (EU)', metadata: { crm: 'acct-7' } });
    const changed = await api(server, 'PATCH', `${P}/conversations/${id}`, { token: admin.token, json: { metadata: { crm: 'acct-8', region: 'eu' } } });
    expect(changed.body).toMatchObject({ title: 'Support (EU)', metadata: { crm: 'acct-8', region: 'eu' } });
    const listed = await api(server, 'GET', `${P}/conversations`, { token: members[0].token });
    expect(listed.body.find((c) => c.id === id)!.metadata).toEqual({ crm: 'acct-8', region: 'eu' });
    expect((await api(server, 'PATCH', `${P}/conversations/${id}`, { token: admin.token, json: { metadata: null } })).body.metadata).toBeNull();
  });

  it('refused: not an object, too deep, too large (with its code and words)', async () => {
    const { admin } = await tenant(server, 0);
    const g = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'group', title: 'Refusals' } });
    const send = (metadata: unknown) => api(server, 'POST', `${P}/conversations/${g.body.id}/messages`, { token: admin.token, json: { content: 'x', metadata } });
    expect((await send([1, 2])).status).toBe(422); // the schema: an object
    const deep = { a: { b: { c: { d: { e: { f: 1 } } } } } };
    const tooDeep = await send(deep);
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body).toEqual({ detail: `metadata may nest at most ${METADATA_MAX_DEPTH} levels`, code: 'invalid_input' });
    const large = await send({ blob: 'x'.repeat(METADATA_MAX_BYTES) });
    expect(large.status).toBe(400);
    expect(large.body).toEqual({ detail: `metadata must be at most ${METADATA_MAX_BYTES} bytes serialized`, code: 'invalid_input' });
    const conv = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'group', title: 'Big', metadata: { blob: 'x'.repeat(METADATA_MAX_BYTES) } } });
    expect(conv.status).toBe(400);
  });

  it('property: any JSON object is accepted iff it fits the size and depth limits, and comes back exactly as sent', async () => {
    const { admin } = await tenant(server, 0);
    const g = await api(server, 'POST', `${P}/conversations`, { token: admin.token, json: { kind: 'group', title: 'Property' } });
    const key = fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__' && k !== 'constructor' && k !== 'prototype');
    const big = fc.string({ minLength: 500, maxLength: 2500 });
    const object = fc.dictionary(key, fc.oneof(fc.jsonValue({ maxDepth: 6 }), big), { maxKeys: 6 });
    await fc.assert(
      fc.asyncProperty(object, async (metadata) => {
        const json = JSON.stringify(metadata);
        fc.pre(!/__proto__|"constructor"|"prototype"/.test(json));
        const fits = Buffer.byteLength(json, 'utf8') <= METADATA_MAX_BYTES && depth(metadata) <= METADATA_MAX_DEPTH;
        const r = await api(server, 'POST', `${P}/conversations/${g.body.id}/messages`, { token: admin.token, json: { content: 'p', metadata } });
        expect(r.status, json.slice(0, 200)).toBe(fits ? 201 : 400);
        if (!fits) return;
        const expected = JSON.parse(json);
        expect(r.body.metadata).toEqual(expected);
        expect((await api(server, 'GET', `${P}/messages/${r.body.id}`, { token: admin.token })).body.metadata).toEqual(expected);
      }),
      { numRuns: 40, seed: 1919, endOnFailure: true },
    );
  });
});
