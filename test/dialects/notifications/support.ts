// Shared fixtures of the /api/notifications/chat dialect suite (document 003: tenants,
// groups and channels with roles, threads, reactions, mentions, presence status; REST with
// trailing slashes, WebSocket /ws/chat/{tenant_id}/). Not a test file: every *.test.ts
// beside it imports what it needs.
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { DocumentBody } from '../../helpers/parley-api.js';
import { api, openSocket, type ApiResponse, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { ISO_MS, UUID, expectStatus, users } from '../../helpers/dialects.js';
import type { TestServer } from '../../helpers/parley.js';

export { databases } from '../../helpers/pg.js';
export { ISO_MS, UUID, expectDetail, expectStatus, tempId, users } from '../../helpers/dialects.js';
export { sleep } from '../../helpers/clients.js';

/** The dialect's REST prefix. */
export const P = '/api/notifications/chat';

/** A tenant uuid nobody has used yet (registering into it creates it). */
export const newTenant = () => randomUUID();

/** POST conversations/ as documented; expects 201 and returns the conversation. */
export async function createConversation(
  server: TestServer,
  owner: TestUser,
  conversationType: 'group' | 'channel' | 'direct',
  title: string | null = 'Team',
  extra: Record<string, unknown> = {},
): Promise<any> {
  const res = await api(server, 'POST', `${P}/conversations/`, { token: owner.token, json: { title, conversation_type: conversationType, ...extra } });
  expectStatus(res, 201);
  return res.body;
}

/** POST participants/ as documented; expects 201. */
export async function addParticipant(server: TestServer, convId: string, actor: TestUser, user: TestUser, role: 'admin' | 'moderator' | 'member' = 'member'): Promise<any> {
  const res = await api(server, 'POST', `${P}/conversations/${convId}/participants/`, { token: actor.token, json: { user_id: user.user.uuid, role } });
  expectStatus(res, 201);
  return res.body;
}

/** A group (or channel) of `owner` (its admin) with `members` added by the owner in their roles. */
export async function conversationWith(
  server: TestServer,
  owner: TestUser,
  members: (TestUser | [TestUser, 'admin' | 'moderator' | 'member'])[],
  kind: 'group' | 'channel' = 'group',
  title = 'Team',
): Promise<string> {
  const conv = await createConversation(server, owner, kind, title);
  for (const m of members) {
    const [u, role] = Array.isArray(m) ? m : [m, 'member' as const];
    await addParticipant(server, conv.id, owner, u, role);
  }
  return conv.id;
}

/** POST messages/ as documented; expects 201 and returns the message. */
export async function sendMessage(server: TestServer, user: TestUser, convId: string, content: string, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await api(server, 'POST', `${P}/conversations/${convId}/messages/`, { token: user.token, json: { message_type: 'text', content, ...extra } });
  expectStatus(res, 201);
  return res.body;
}

/** GET one message; expects 200. */
export async function getMessage(server: TestServer, user: TestUser, convId: string, messageId: string): Promise<any> {
  const res = await api(server, 'GET', `${P}/conversations/${convId}/messages/${messageId}/`, { token: user.token });
  expectStatus(res, 200);
  return res.body;
}

/** /ws/chat/{tenant_id}/ with the token in the query string (the user's own tenant unless told). */
export const wsUrl = (server: TestServer, user: TestUser, tenantId = user.user.tenant_id, token: string | null = user.token) =>
  `${server.wsUrl}/ws/chat/${tenantId}/` + (token === null ? '' : `?token=${encodeURIComponent(token)}`);

/** Opens a 003 socket, waits for connection_established, then joins `conversations` (each acknowledged). */
export async function socket003(server: TestServer, user: TestUser, conversations: string[] = []): Promise<TestSocket> {
  const s = await openSocket(wsUrl(server, user));
  const hello = await s.next('connection_established');
  expect(hello.user_id).toBe(user.user.uuid);
  for (const c of conversations) await join(s, c);
  return s;
}

/** Two new users in a conversation of theirs, each with a socket joined to it (a's opened first). */
export async function joinedPair(server: TestServer) {
  const [a, b] = await users(server, 2);
  const conv = await conversationWith(server, a, [b]);
  const sa = await socket003(server, a, [conv]);
  const sb = await socket003(server, b, [conv]);
  return { a, b, conv, sa, sb };
}

/** join_conversation as documented; resolves on the server's conversation_joined (fails on an error frame). */
export async function join(s: TestSocket, convId: string): Promise<void> {
  s.send({ type: 'join_conversation', conversation_id: convId });
  const j = await s.next(null, { where: (f) => (f.type === 'conversation_joined' && f.conversation_id === convId) || f.type === 'error' });
  expect(j.type, JSON.stringify(j)).toBe('conversation_joined');
}

export { nextError, settle } from '../../helpers/clients.js';

/** A message as 003 shows it (REST responses, new_message): every documented key with its type. */
export function expectMessage003(m: any, sender?: TestUser): void {
  expect(m.id).toMatch(UUID);
  if (sender) expect(m.sender_id).toBe(sender.user.uuid);
  else expect(m.sender_id).toMatch(UUID);
  expect(['text', 'emoji', 'file', 'image', 'system', 'voice']).toContain(m.message_type);
  expect(m.content === null || typeof m.content === 'string').toBe(true);
  expect(Array.isArray(m.reactions)).toBe(true);
  expect(m.reply_count).toBeTypeOf('number');
  expect(m.created_at).toMatch(ISO_MS);
  for (const k of ['file_url', 'file_name', 'file_size', 'reply_to', 'edited_at', 'is_deleted']) expect(m).toHaveProperty(k);
}

/** A conversation as 003 shows it (POST/GET/PUT conversations). */
export function expectConversation003(c: any): void {
  expect(c.id).toMatch(UUID);
  expect(c.title === null || typeof c.title === 'string').toBe(true);
  expect(['direct', 'group', 'channel']).toContain(c.conversation_type);
  expect(c.participant_count).toBeTypeOf('number');
  expect(c).toHaveProperty('last_message');
  expect(c.created_at).toMatch(ISO_MS);
}

/** A small real PNG (sharp), `w`×`h` pixels. */
export function png(w = 8, h = 6): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .png()
    .toBuffer();
}

/** POST upload/ as multipart with the field `file`. */
export async function upload(server: TestServer, user: TestUser, bytes: Buffer, name: string, type: string, field = 'file'): Promise<ApiResponse<DocumentBody>> {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(bytes)], { type }), name);
  return api(server, 'POST', `${P}/upload/`, { token: user.token, multipart: form });
}
