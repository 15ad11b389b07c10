// Shared fixtures of the /api/v1/chat dialect suite: document 002 (rooms, integer ids, the
// /api/chat room API under /api/v1/chat) and document 004 (friends-only messages with
// sent/delivered/read status, UUIDs). Not a test file: every *.test.ts beside it imports
// what it needs.
import { expect } from 'vitest';
import { api, chatSocket, openSocket, roomHistory, type Frame, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { ISO_MS, UUID, expectRoomFields, tempId, textFrame, users } from '../../helpers/dialects.js';
import type { TestServer } from '../../helpers/parley.js';

export { databases } from '../../helpers/pg.js';
export { ISO_MS, UUID, expectDetail, expectUserDetails, tempId, textFrame, users } from '../../helpers/dialects.js';

/** `a` asks, `b` accepts: an accepted friendship (DESIGN.md, Accounts: POST /api/friends). */
export async function befriend(server: TestServer, a: TestUser, b: TestUser): Promise<void> {
  const asked = await api(server, 'POST', '/api/friends', { token: a.token, json: { user_id: b.user.uuid } });
  expect(asked.status).toBe(200);
  const accepted = await api(server, 'POST', '/api/friends', { token: b.token, json: { user_id: a.user.id } });
  expect(accepted.status).toBe(200);
  expect(accepted.body.status).toBe('accepted');
}

/** Two fresh users who are accepted friends. */
export async function friends(server: TestServer): Promise<[TestUser, TestUser]> {
  const [a, b] = await users(server, 2);
  await befriend(server, a, b);
  return [a, b];
}

/** A direct room through 002's POST /api/v1/chat/rooms. */
export async function room002(server: TestServer, a: TestUser, b: TestUser): Promise<number> {
  const res = await api(server, 'POST', '/api/v1/chat/rooms', { token: a.token, json: { receiver_id: b.user.id } });
  expect(res.status).toBe(200);
  return res.body.id;
}

// ---------------------------------------------------------------- document 004

export const wsChatUrl = (server: TestServer, token: string) => `${server.wsUrl}/api/v1/chat/ws/chat?token=${encodeURIComponent(token)}`;

/**
 * Opens 004's /api/v1/chat/ws/chat and waits for its documented greeting
 * (connection_established, then online_friends), which also means it follows the user's
 * direct conversations.
 */
export async function friendSocket(server: TestServer, user: TestUser): Promise<TestSocket> {
  const s = await openSocket(wsChatUrl(server, user.token));
  await s.next('connection_established');
  await s.next('online_friends');
  return s;
}

/** Two fresh friends, each with 004's socket open. */
export async function connectedFriends(server: TestServer): Promise<{ a: TestUser; b: TestUser; sa: TestSocket; sb: TestSocket }> {
  const [a, b] = await friends(server);
  return { a, b, sa: await friendSocket(server, a), sb: await friendSocket(server, b) };
}

/** POST /api/v1/chat/messages/ as documented; expects 200 and returns the message. */
export async function send004(server: TestServer, from: TestUser, to: TestUser, content: string): Promise<any> {
  const res = await api(server, 'POST', '/api/v1/chat/messages/', { token: from.token, json: { receiver_id: to.user.uuid, content } });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
  return res.body;
}

/** GET /api/v1/chat/messages/history/{friend_id}; expects 200. */
export async function history004(server: TestServer, user: TestUser, friend: TestUser | string, skip = 0, limit = 100): Promise<{ messages: any[]; total: number; skip: number; limit: number }> {
  const id = typeof friend === 'string' ? friend : friend.user.uuid;
  const res = await api(server, 'GET', `/api/v1/chat/messages/history/${id}?skip=${skip}&limit=${limit}`, { token: user.token });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
  return res.body;
}

/** One side of a 004 message: `{account_id, username, full_name, avatar}`. */
export function expectAccount(acc: any, user: TestUser) {
  expect(acc).toMatchObject({ account_id: user.user.uuid, full_name: user.user.name });
  expect(acc.username).toBeTypeOf('string');
  expect(acc.username.length).toBeGreaterThan(0);
  expect(acc).toHaveProperty('avatar');
  expect(acc.avatar === null || typeof acc.avatar === 'string').toBe(true);
}

/** A 004 message (POST response, history item, PUT …/read response) with every documented field and type. */
export function expect004Message(m: any, sender: TestUser, receiver: TestUser) {
  expect(m.message_id).toMatch(UUID);
  expect(m.sender_id).toBe(sender.user.uuid);
  expect(m.receiver_id).toBe(receiver.user.uuid);
  expect(m.content).toBeTypeOf('string');
  expect(['sent', 'delivered', 'read']).toContain(m.status);
  expect(m.is_deleted).toBeTypeOf('boolean');
  expect(m.created_at).toMatch(ISO_MS);
  expect(m.updated_at).toMatch(ISO_MS);
  expect(m).toHaveProperty('read_at');
  if (m.status === 'read') expect(m.read_at).toMatch(ISO_MS);
  else expect(m.read_at).toBeNull();
  expectAccount(m.sender, sender);
  expectAccount(m.receiver, receiver);
}

// ---------------------------------------------------------------- document 002

/** Opens 002's /api/v1/chat/ws (optionally in a room); waits until the server has registered it. */
export const roomSocket = (server: TestServer, user: TestUser, roomId?: number, extra = ''): Promise<TestSocket> => chatSocket(server, user, roomId, extra, '/api/v1/chat');

/** Sends a 002 text frame with a fresh local_temp_id and resolves with the sender's own new_message (its ack). */
export async function sendRoom(sock: TestSocket, room: number | undefined, receiver: TestUser | undefined, content: string): Promise<Frame> {
  const tid = tempId();
  sock.send(textFrame(room, receiver?.user.id, content, { local_temp_id: tid }));
  return sock.next('new_message', { where: (f) => f.data?.local_temp_id === tid });
}

/** A message as 002 shows it (message_list, messages, new_message): every documented key with its type. */
export function expect002Message(m: any, sender: TestUser, receiver: TestUser) {
  expect(m.id).toBeTypeOf('number');
  expect(Number.isInteger(m.id)).toBe(true);
  expect(m.room_id).toBeTypeOf('number');
  expect(m).toMatchObject({
    sender_id: sender.user.id,
    receiver_id: receiver.user.id,
    sender_name: sender.user.name,
    receiver_name: receiver.user.name,
  });
  expect(m).toHaveProperty('sender_avatar');
  expect(m).toHaveProperty('receiver_avatar');
  expect(m.sender_avatar).toBe(sender.user.avatar_url);
  expect(m.receiver_avatar).toBe(receiver.user.avatar_url);
  expect(['text', 'image', 'file', 'voice', 'emoji']).toContain(m.message_type);
  expect(m.content === null || typeof m.content === 'string').toBe(true);
  for (const k of ['file_name', 'file_path', 'file_size', 'mime_type']) expect(m).toHaveProperty(k);
  expect(m.created_at).toMatch(ISO_MS);
  expect(m.is_read).toBeTypeOf('boolean');
  expect(m.is_deleted).toBeTypeOf('boolean');
}

/** A text message: 002's single-file keys are present and null. */
export function expectNoFile(m: any) {
  expect(m).toMatchObject({ file_name: null, file_path: null, file_size: null, mime_type: null });
}

/** A room as 002 shows it (POST/GET rooms, GET rooms/{id}). */
export function expectRoomShape(r: any, other: TestUser) {
  expect(r.name).toBeTypeOf('string');
  expectRoomFields(r, other);
}

/** Every message of a 002 room through REST history (all pages), newest first, with its total. */
export const history002 = (server: TestServer, user: TestUser, room: number) => roomHistory(server, user, room, '/api/v1/chat');

// ---------------------------------------------------------------- both sockets

export { nextError, settle } from '../../helpers/clients.js';
