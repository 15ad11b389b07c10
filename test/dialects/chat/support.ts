// Shared fixtures of the /api/chat dialect suite (documents 000 and 001; 002's bodies where
// 000/001 show none). Not a test file: every *.test.ts beside it imports what it needs.
import { expect } from 'vitest';
import { api, chatHistory, newRoom, type Frame, type TestSocket, type TestUser } from '../../helpers/clients.js';
import { ISO_MS, expectRoomFields, tempId, textFrame, users } from '../../helpers/dialects.js';
import type { TestServer } from '../../helpers/parley.js';

export { databases } from '../../helpers/pg.js';
export { ISO_MS, expectDetail, expectUserDetails, tempId, textFrame, users } from '../../helpers/dialects.js';
export { connectedPair, pair } from '../../helpers/clients.js';

/**
 * A message as 001 shows it (REST history, new_message, message_update), with 000/002's
 * single-file keys: every documented field present with its documented type.
 */
export function expectMessageShape(m: any) {
  expect(m.id).toBeTypeOf('number');
  expect(Number.isInteger(m.id)).toBe(true);
  expect(m.content === null || typeof m.content === 'string').toBe(true);
  expect(['text', 'emoji', 'image', 'file', 'voice']).toContain(m.message_type);
  expect(m).toHaveProperty('local_temp_id');
  expect(m.local_temp_id === null || typeof m.local_temp_id === 'string').toBe(true);
  expect(m).toHaveProperty('files_data');
  expect(m).toHaveProperty('duration');
  for (const k of ['file_name', 'file_path', 'file_size', 'mime_type']) expect(m).toHaveProperty(k);
  expect(m.created_at).toMatch(ISO_MS);
  expect(m.is_read).toBeTypeOf('boolean');
  expect(m.is_deleted).toBeTypeOf('boolean');
  expect(m.sender_details).toBeTypeOf('object');
  expect(m).toHaveProperty('receiver_details');
  // 002's flat fields, for the same paths.
  for (const k of ['room_id', 'sender_id', 'receiver_id']) expect(m[k]).toBeTypeOf('number');
  for (const k of ['sender_name', 'receiver_name']) expect(m[k]).toBeTypeOf('string');
  expect(m).toHaveProperty('sender_avatar');
  expect(m).toHaveProperty('receiver_avatar');
}

/** A text message without files: files_data, duration and the single-file keys are all null. */
export function expectNoFiles(m: any) {
  expect(m).toMatchObject({ files_data: null, duration: null, file_name: null, file_path: null, file_size: null, mime_type: null });
}

/** A room as 002 shows it for POST/GET /rooms (000/001 show no body). */
export function expectRoomShape(r: any, other: TestUser) {
  expect(r.name === null || typeof r.name === 'string').toBe(true);
  expectRoomFields(r, other);
}

/** Sends a text message with a fresh local_temp_id and resolves with the sender's own new_message (its ack). */
export async function send(sock: TestSocket, room: number | undefined, receiver: TestUser | undefined, content: string, extra: Record<string, unknown> = {}): Promise<Frame> {
  const tid = tempId();
  sock.send(textFrame(room, receiver?.user.id, content, { local_temp_id: tid, ...extra }));
  return sock.next('new_message', { where: (f) => f.data?.local_temp_id === tid });
}

export { nextError, settle } from '../../helpers/clients.js';

/** The history total of a room (REST, as the user sees it). */
export async function historyTotal(server: TestServer, user: TestUser, room: number): Promise<number> {
  const res = await api(server, 'GET', `/api/chat/rooms/${room}/messages?page=1&per_page=1`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body.total;
}

export { chatHistory };

/** Three users: `me`, in a direct room (that I opened) with each of `x` and `y`. */
export async function meAndTwoRooms(server: TestServer): Promise<{ me: TestUser; x: TestUser; y: TestUser; roomX: number; roomY: number }> {
  const [me, x, y] = await users(server, 3);
  const roomX = await newRoom(server, me, x);
  const roomY = await newRoom(server, me, y);
  return { me, x, y, roomX, roomY };
}
