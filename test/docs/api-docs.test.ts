import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAGS } from '../../src/http/api-docs.js';
import { API_VERSION } from '../../src/version.js';
import { api, newUser, openSocket, eventually, type TestSocket, type TestUser } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';

// The API documents a developer reads (/docs/json, /docs/asyncapi.json): every operation and
// every socket described, with examples, so a client can be written from them alone.

type Media = { example?: unknown; examples?: Record<string, unknown>; schema?: object };
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; description?: string; schema?: { description?: string } }[];
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

let server: TestServer;
let openapi: { openapi: string; info: { version: string }; tags: { name: string }[]; paths: Record<string, Record<string, Operation>> };
let asyncapi: any;

const operations = () =>
  Object.entries(openapi.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, path, op })),
  );
const schemaChecker = () => (addFormats as unknown as (a: Ajv) => Ajv)(new Ajv({ strict: false, allErrors: true }));
const hasExample = (media: Media) => media.example !== undefined || Object.keys(media.examples ?? {}).length > 0;

beforeAll(async () => {
  server = await startParley();
  openapi = (await api(server, 'GET', '/docs/json')).body;
  asyncapi = (await api(server, 'GET', '/docs/asyncapi.json')).body;
});
afterAll(() => server?.close());

describe('OpenAPI document (/docs/json)', () => {
  it('is a valid OpenAPI 3 document of the API version /healthz reports', async () => {
    await SwaggerParser.validate(structuredClone(openapi) as never);
    expect(openapi.info.version).toBe(API_VERSION);
  });

  it('every operation has a summary, a description, an operationId, tags, described parameters, and an example per request body and per 2xx response', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(90);
    const problems: string[] = [];
    for (const { name, op } of ops) {
      if (!op.summary?.trim()) problems.push(`${name}: no summary`);
      if (!op.description?.trim() || op.description === op.summary) problems.push(`${name}: no description beyond its summary`);
      if (!op.operationId) problems.push(`${name}: no operationId`);
      if (!op.tags?.length) problems.push(`${name}: no tags`);
      for (const p of op.parameters ?? []) if (!p.description && !p.schema?.description) problems.push(`${name}: ${p.in} parameter ${p.name} is not described`);
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        if (!hasExample(media)) problems.push(`${name}: request body ${type} has no example`);
      }
      const responses = Object.entries(op.responses ?? {});
      if (!responses.some(([status]) => status.startsWith('2'))) problems.push(`${name}: no 2xx response`);
      for (const [status, response] of responses) {
        if (!response.description || response.description === 'Default Response') problems.push(`${name}: ${status} is not described`);
        if (!status.startsWith('2')) continue;
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (!hasExample(media)) problems.push(`${name}: ${status} ${type} has no example`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("every example fits the schema it illustrates (the documents' examples are what Parley accepts and answers)", () => {
    const ajv = schemaChecker();
    // OpenAPI 3.0's `nullable` is JSON Schema's null type.
    const jsonSchema = (s: unknown): unknown => {
      if (Array.isArray(s)) return s.map(jsonSchema);
      if (s === null || typeof s !== 'object') return s;
      const { nullable, example: _e, ...rest } = s as Record<string, unknown>;
      const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, ps]) => [p, jsonSchema(ps)])) : jsonSchema(v)]));
      return nullable ? { anyOf: [out, { type: 'null' }] } : out;
    };
    const problems: string[] = [];
    let checked = 0;
    for (const { name, op } of operations()) {
      const media = [
        ...Object.entries(op.requestBody?.content ?? {}).map(([t, m]) => [`request ${t}`, m] as const),
        ...Object.entries(op.responses ?? {}).flatMap(([status, r]) => Object.entries(r.content ?? {}).map(([t, m]) => [`${status} ${t}`, m] as const)),
      ];
      for (const [where, m] of media) {
        if (!m.schema) continue;
        const validate = ajv.compile(jsonSchema(m.schema) as object);
        const examples = [...(m.example !== undefined ? [m.example] : []), ...Object.values(m.examples ?? {}).map((e) => (e as { value: unknown }).value)];
        for (const e of examples) {
          checked++;
          if (!validate(e)) problems.push(`${name} ${where}: ${ajv.errorsText(validate.errors)}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(150);
    expect(problems).toEqual([]);
  });

  it('operationIds are unique', () => {
    const ids = operations().map((o) => o.op.operationId);
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(repeated).toEqual([]);
  });

  it('an operation declares the bearer token exactly when calling it without one answers 401', async () => {
    const wrong: string[] = [];
    for (const { name, path, op } of operations()) {
      const method = name.split(' ')[0];
      const url = path.replace(/\{[^}]+\}/g, '1');
      const r = await fetch(`${server.url}${url}`, { method, headers: method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }, body: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
      await r.arrayBuffer();
      const declared = JSON.stringify(op.security ?? []) === JSON.stringify([{ bearer: [] }]);
      if (declared !== (r.status === 401)) wrong.push(`${name}: security ${declared ? 'declared' : 'not declared'}, answered ${r.status} without a token`);
    }
    expect(wrong).toEqual([]);
  });

  it("lists Parley's own API first, then the compatibility dialects, in tag order", () => {
    const order = openapi.tags.map((t) => t.name);
    expect(order[0]).toBe(TAGS.parley);
    expect(order).toEqual(Object.values(TAGS));
    const compat = order.findIndex((t) => t.startsWith('Compatibility'));
    expect(order.slice(compat).every((t) => t.startsWith('Compatibility'))).toBe(true);
    // Paths follow the tags: each operation's first tag never comes before the previous one's.
    const ranks = operations().map((o) => order.indexOf(o.op.tags![0]));
    expect(ranks.every((r) => r >= 0)).toBe(true);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(operations()[0].path.startsWith('/api/parley/')).toBe(true);
  });
});

describe('AsyncAPI document (/docs/asyncapi.json)', () => {
  const channels = () => Object.entries<any>(asyncapi.channels);

  it('is an AsyncAPI 3 document whose operations point at channel messages that exist, each with examples that fit it', () => {
    const ajv = schemaChecker();
    expect(asyncapi.asyncapi).toBe('3.0.0');
    expect(asyncapi.info.title).toBeTruthy();
    expect(asyncapi.info.version).toBe(API_VERSION);
    const problems: string[] = [];
    const resolve = (ref: string) => ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).reduce<any>((o, k) => o?.[k], asyncapi);
    for (const [id, op] of Object.entries<any>(asyncapi.operations)) {
      if (!/^[\w.-]+$/.test(id)) problems.push(`operation id ${id}`);
      if (op.action !== 'send' && op.action !== 'receive') problems.push(`${id}: action ${op.action}`);
      const channel = resolve(op.channel.$ref);
      if (!channel) problems.push(`${id}: no channel ${op.channel.$ref}`);
      for (const m of op.messages) {
        if (!m.$ref.startsWith(`${op.channel.$ref}/messages/`) || !resolve(m.$ref)) problems.push(`${id}: message ${m.$ref} is not its channel's`);
      }
    }
    for (const [id, ch] of channels()) {
      if (typeof ch.address !== 'string' || !ch.address.startsWith('/')) problems.push(`${id}: address ${ch.address}`);
      for (const p of ch.address.match(/\{(\w+)\}/g) ?? []) if (!ch.parameters?.[p.slice(1, -1)]) problems.push(`${id}: parameter ${p} undescribed`);
      for (const [mid, m] of Object.entries<any>(ch.messages)) {
        if (!m.summary || !m.payload || m.contentType !== 'application/json') problems.push(`${id}/${mid}: summary, payload, contentType`);
        if (!Array.isArray(m.examples) || m.examples.length === 0) problems.push(`${id}/${mid}: no example`);
        const validate = ajv.compile(m.payload);
        for (const e of m.examples ?? []) {
          if (e.payload?.type !== m.name) problems.push(`${id}/${mid}: example of another frame type`);
          else if (!validate(e.payload)) problems.push(`${id}/${mid}: example does not fit the payload: ${ajv.errorsText(validate.errors)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('every socket the server registers is a channel, with frames both ways', () => {
    const registered = server.parley.app.socketRoutes;
    expect(registered.length).toBeGreaterThanOrEqual(5);
    const addresses = channels().map(([, ch]) => ch.address);
    expect([...registered].sort()).toEqual([...addresses].sort());
    for (const [id, ch] of channels()) {
      const names = Object.keys(ch.messages);
      expect(names.some((n) => n.startsWith('client.')), id).toBe(true);
      expect(names.some((n) => n.startsWith('server.')), id).toBe(true);
      for (const n of names) expect(asyncapi.operations, `${id}: ${n}`).toSatisfy((ops: Record<string, any>) => Object.values(ops).some((o) => o.messages.some((m: any) => m.$ref === `#/channels/${id}/messages/${n}`)));
    }
  });

  describe('a conversation on each compatibility socket sends only frames its channel documents', () => {
    // Two people talk (send, read, type, react or like, edit, delete); every frame either socket
    // gets must be one its channel lists. Parley's own socket is checked the same way, over a
    // longer session, in test/dialects/parley/api.test.ts.
    const documented = (id: string, socks: TestSocket[]) => {
      const types = new Set(socks.flatMap((s) => s.frames.map((f) => f.type)));
      expect(types.size, id).toBeGreaterThan(3);
      for (const t of types) expect(asyncapi.channels[id].messages, `${id}: undocumented frame ${t}`).toHaveProperty([`server.${t}`]);
    };
    const pair = async () => [await newUser(server), await newUser(server)] as const;

    it.each([
      ['chat', '/api/chat'],
      ['rooms', '/api/v1/chat'],
    ])('%s', async (id, prefix) => {
      const [a, b] = await pair();
      const room = (await api(server, 'POST', `${prefix}/rooms`, { token: a.token, json: { receiver_id: b.user.id } })).body.id;
      const [sa, sb] = [await openSocket(`${server.wsUrl}${prefix}/ws?token=${a.token}&room_id=${room}`), await openSocket(`${server.wsUrl}${prefix}/ws?token=${b.token}`)];
      try {
        sb.send({ type: 'join_room', data: { room_id: room } });
        await sb.next('room_joined');
        sa.send({ type: 'send_message', data: { room_id: room, receiver_id: b.user.id, message_type: 'text', content: 'Hello!', local_temp_id: 'temp_1' } });
        const sent = await sb.next('new_message');
        sb.send({ type: 'typing', data: { room_id: room, is_typing: true } });
        sb.send({ type: 'mark_read', data: { room_id: room } });
        sb.send({ type: 'like_message', data: { message_id: sent.data.id } });
        await sa.next('typing');
        await sa.next('message_read');
        await api(server, 'PUT', `${prefix}/messages/${sent.data.id}`, { token: a.token, form: { content: 'Hello, John!' } });
        await api(server, 'DELETE', `/api/v1/chat/messages/${sent.data.id}`, { token: a.token });
        sb.send({ type: 'leave_room' });
        await sb.next('room_left');
        sa.send({ type: 'ping' });
        await sa.next('pong');
        documented(id, [sa, sb]);
      } finally {
        sa.close();
        sb.close();
      }
    });

    it('direct', async () => {
      const [a, b] = await pair();
      await api(server, 'POST', '/api/friends', { token: a.token, json: { user_id: b.user.id } });
      await api(server, 'POST', '/api/friends', { token: b.token, json: { user_id: a.user.id } });
      const [sa, sb] = [await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat?token=${a.token}`), await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat?token=${b.token}`)];
      try {
        await sa.next('online_friends');
        await sb.next('online_friends');
        sa.send({ type: 'send_message', receiver_id: b.user.uuid, content: 'Hello!' });
        const sent = await sa.next('message_sent');
        await sb.next('new_message');
        sb.send({ type: 'typing', receiver_id: a.user.uuid, is_typing: true });
        sb.send({ type: 'mark_read', message_id: sent.message_id });
        await sa.next('typing_indicator');
        await sa.next('message_read');
        await api(server, 'DELETE', `/api/v1/chat/messages/${sent.message_id}`, { token: a.token });
        await sb.next('message_deleted');
        documented('direct', [sa, sb]);
      } finally {
        sa.close();
        sb.close();
      }
    });

    it('notifications', async () => {
      const [a, b] = await pair();
      const P = '/api/notifications/chat';
      const created = await api(server, 'POST', `${P}/conversations/`, { token: a.token, json: { conversation_type: 'group', title: 'Project Team Chat', participant_ids: [b.user.uuid] } });
      const conversation = created.body.id;
      const url = (u: TestUser) => `${server.wsUrl}/ws/chat/${u.user.tenant_id}/?token=${u.token}`;
      const [sa, sb] = [await openSocket(url(a)), await openSocket(url(b))];
      try {
        for (const s of [sa, sb]) {
          s.send({ type: 'join_conversation', conversation_id: conversation });
          await s.next('conversation_joined');
        }
        sa.send({ type: 'send_message', conversation_id: conversation, content: 'Hello everyone! 👋', message_type: 'text' });
        const sent = await sb.next('new_message');
        sb.send({ type: 'add_reaction', message_id: sent.message.id, emoji: '👍' });
        sb.send({ type: 'start_typing', conversation_id: conversation });
        sb.send({ type: 'mark_read', conversation_id: conversation });
        sb.send({ type: 'update_presence', status: 'away' });
        await sa.next('reaction_added');
        await sa.next('typing_indicator');
        await sa.next('message_read');
        await api(server, 'PUT', `${P}/conversations/${conversation}/messages/${sent.message.id}/`, { token: a.token, json: { content: 'Hello world!' } });
        await api(server, 'PUT', `${P}/conversations/${conversation}/`, { token: a.token, json: { title: 'Project Discussion' } });
        await sb.next('message_updated');
        await sb.next('conversation_updated');
        sb.send({ type: 'leave_conversation', conversation_id: conversation });
        await sb.next('conversation_left');
        documented('notifications', [sa, sb]);
      } finally {
        sa.close();
        sb.close();
      }
    });
  });

  describe('each socket handles exactly the client frames its channel documents', () => {
    let users: TestUser[];
    beforeAll(async () => {
      users = [await newUser(server), await newUser(server)];
    });

    it.each(['parley', 'chat', 'rooms', 'direct', 'notifications'])('%s', async (id) => {
      const ch = asyncapi.channels[id];
      const me = users[0];
      const address = ch.address.replace('{tenant_id}', me.user.tenant_id);
      const sock: TestSocket = await openSocket(`${server.wsUrl}${address}?token=${me.token}`);
      try {
        // Sent as documented: a documented frame may be refused for what it names (a room of
        // the example that does not exist here), never as a frame type the socket does not know.
        const documented = Object.entries<any>(ch.messages).filter(([key]) => key.startsWith('client.'));
        expect(documented.length).toBeGreaterThan(2);
        for (const [, m] of documented) {
          if (m.name === 'auth') continue; // only as the first frame of a socket opened without a token
          for (const e of m.examples) sock.send(e.payload);
        }
        sock.send({ type: 'no_such_frame' });
        const unknown = await eventually(() => {
          const refused = sock.frames.filter((f: any) => f.type === 'error' && /Unknown message type/.test(String(f.message)));
          expect(refused.length).toBeGreaterThan(0);
          return refused;
        });
        expect(unknown.map((f: any) => f.message)).toEqual(['Unknown message type: no_such_frame']);
        // Every server frame seen is documented on this channel.
        for (const f of sock.frames as any[]) expect(ch.messages, `${id}: undocumented frame ${f.type}`).toHaveProperty([`server.${f.type}`]);
      } finally {
        sock.close();
      }
    });
  });
});
