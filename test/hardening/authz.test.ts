// Authorization matrix (issue 9, item 2): every REST endpoint and every socket frame of every
// dialect (/api/chat, /api/v1/chat 002 + 004, /api/notifications/chat 003, /api/parley, and
// the shared /api/auth + /api/friends) × {anonymous, expired token, outsider (same tenant,
// not a participant), member, removed member, other tenant, lower role}, driven from one
// table. Documented answers (README "Permissions" and "Security"): 401 without a valid
// token; 404 for anything outside the caller's conversations or tenant (existence never
// leaks); 403 only for a role the caller lacks. And no leak: refusal bodies and every frame
// a refused socket gets are searched for marker strings planted in the target
// conversation's title, its messages and its members' emails.
// Then: a removed member's and a logged-out user's open sockets (every dialect's) get no
// further event of the conversation within 1 s.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import sharp from 'sharp';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, newUser, openSocket, TestSocket, type ApiResponse, type Frame, type TestUser, sleep } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';

const SECRET = new TextEncoder().encode('test-secret-that-is-long-enough-for-hs256');
const MARK = `zq${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const N = '/api/notifications/chat';

/**
 * `member` is also the lower role for admin/moderator actions (REST rows expect 403 there);
 * `moderator` is the lower role for admin-only ones; on sockets `lower role` is a member
 * posting in a channel.
 */
type Role = 'anonymous' | 'expired' | 'logged out' | 'outsider' | 'removed' | 'other tenant' | 'member' | 'moderator' | 'lower role';
const ROLES: Role[] = ['anonymous', 'expired', 'logged out', 'outsider', 'removed', 'other tenant', 'member', 'moderator', 'lower role'];

interface Fx {
  owner: TestUser; // admin of G and C
  member: TestUser; // member of G and C (the "member" and "lower role" actor)
  moderator: TestUser; // moderator of G
  target: TestUser; // another member of G (acted on)
  newcomer: TestUser; // in nobody's conversation (to be added)
  removed: TestUser; // was a member of G and C, removed
  outsider: TestUser;
  foreign: TestUser; // another tenant
  expiredToken: string; // member's claims, exp in the past
  loggedOutToken: string; // a member of G who logged out
  leaverId: number;
  g: { id: number; uuid: string }; // group
  c: { id: number; uuid: string }; // channel
  m: { id: number; uuid: string }; // owner's message in G (content has the marker)
  mm: { id: number; uuid: string }; // member's own message in G
  file: string; // path of an image sent in G (/static/chat_files/…), without its signature
}

type Expect = number | number[];
interface Row {
  dialect: string;
  name: string;
  method: string;
  path: (f: Fx) => string;
  body?: (f: Fx) => { json?: unknown; form?: Record<string, string> };
  /** Expected status per role; a role not listed does not apply to this endpoint (not a refusal case). */
  expect: Partial<Record<Role, Expect>>;
}

const AUTH = { anonymous: 401, expired: 401, 'logged out': 401 } as const;
const OUT = { outsider: 404, removed: 404, 'other tenant': 404 } as const;
const OK = [200, 201, 204];
/** Conversation-scoped: 401 / 404 for everyone outside / `member` for a member. */
const conv = (member: Expect, extra: Partial<Record<Role, Expect>> = {}) => ({ ...AUTH, ...OUT, member, ...extra });
/** Only about the caller: 401 without a valid token. */
const self = (extra: Partial<Record<Role, Expect>> = {}) => ({ ...AUTH, ...extra });

const e = encodeURIComponent;
const ROWS: Row[] = [
  // ---------------------------------------------------------------- files (every dialect's file_path / url)
  // static-files.ts: served with a valid signature or to a participant's token; anything else
  // is 403 whether the file exists or not (so the status is no existence oracle either).
  { dialect: 'files', name: 'GET /static/chat_files/{file} (unsigned)', method: 'GET', path: (f) => f.file, expect: { anonymous: 403, expired: 403, outsider: 403, removed: 403, 'other tenant': 403, member: 200 } },
  { dialect: 'files', name: 'GET /static/chat_files/{no such file} (unsigned)', method: 'GET', path: (f) => f.file.replace(/\/([^/]*)$/, '/nope_$1'), expect: { anonymous: 403, expired: 403, outsider: 403, removed: 403, 'other tenant': 403, member: 403 } },
  // ---------------------------------------------------------------- shared accounts and friends
  { dialect: 'auth', name: 'GET /api/auth/me', method: 'GET', path: () => '/api/auth/me', expect: self({ member: 200 }) },
  { dialect: 'auth', name: 'POST /api/auth/logout', method: 'POST', path: () => '/api/auth/logout', expect: self() },
  { dialect: 'auth', name: 'GET /api/friends', method: 'GET', path: () => '/api/friends', expect: self({ member: 200 }) },
  { dialect: 'auth', name: 'POST /api/friends (a user of another tenant)', method: 'POST', path: () => '/api/friends', body: (f) => ({ json: { user_id: f.owner.user.uuid } }), expect: self({ 'other tenant': 404 }) },
  { dialect: 'auth', name: 'DELETE /api/friends/{id}', method: 'DELETE', path: (f) => `/api/friends/${f.owner.user.uuid}`, expect: self({ 'other tenant': 404 }) },

  // ---------------------------------------------------------------- /api/parley
  { dialect: 'parley', name: 'GET me', method: 'GET', path: () => '/api/parley/me', expect: self({ member: 200 }) },
  { dialect: 'parley', name: 'POST auth/logout', method: 'POST', path: () => '/api/parley/auth/logout', expect: self() },
  { dialect: 'parley', name: 'GET users', method: 'GET', path: () => '/api/parley/users?q=example', expect: self({ member: 200 }) },
  { dialect: 'parley', name: 'GET presence', method: 'GET', path: (f) => `/api/parley/presence?user_ids=${f.owner.user.id}`, expect: self({ member: 200, 'other tenant': 404 }) },
  { dialect: 'parley', name: 'PUT presence', method: 'PUT', path: () => '/api/parley/presence', body: () => ({ json: { status: 'online' } }), expect: self() },
  { dialect: 'parley', name: 'GET conversations', method: 'GET', path: () => '/api/parley/conversations', expect: self({ member: 200 }) },
  { dialect: 'parley', name: 'POST conversations (direct with a user of another tenant)', method: 'POST', path: () => '/api/parley/conversations', body: (f) => ({ json: { kind: 'direct', user_id: f.owner.user.id } }), expect: self({ 'other tenant': 404 }) },
  { dialect: 'parley', name: 'POST files', method: 'POST', path: () => '/api/parley/files', expect: self() },
  { dialect: 'parley', name: 'GET conversations/{id}', method: 'GET', path: (f) => `/api/parley/conversations/${f.g.id}`, expect: conv(200) },
  { dialect: 'parley', name: 'PATCH conversations/{id} (rename)', method: 'PATCH', path: (f) => `/api/parley/conversations/${f.g.id}`, body: () => ({ json: { title: 'hijacked' } }), expect: conv(403) },
  { dialect: 'parley', name: 'DELETE conversations/{id}', method: 'DELETE', path: (f) => `/api/parley/conversations/${f.g.id}`, expect: conv(403, { moderator: 403 }) },
  { dialect: 'parley', name: 'POST conversations/{id}/participants (as admin)', method: 'POST', path: (f) => `/api/parley/conversations/${f.g.id}/participants`, body: (f) => ({ json: { user_id: f.newcomer.user.id, role: 'admin' } }), expect: conv(403, { moderator: 403 }) },
  { dialect: 'parley', name: 'DELETE conversations/{id}/participants/{admin}', method: 'DELETE', path: (f) => `/api/parley/conversations/${f.g.id}/participants/${f.owner.user.id}`, expect: conv(403, { moderator: 403 }) },
  { dialect: 'parley', name: 'GET conversations/{id}/participants', method: 'GET', path: (f) => `/api/parley/conversations/${f.g.id}/participants`, expect: conv(200) },
  { dialect: 'parley', name: 'POST conversations/{id}/participants', method: 'POST', path: (f) => `/api/parley/conversations/${f.g.id}/participants`, body: (f) => ({ json: { user_id: f.newcomer.user.id } }), expect: conv(403) },
  { dialect: 'parley', name: 'PATCH conversations/{id}/participants/{user} (role)', method: 'PATCH', path: (f) => `/api/parley/conversations/${f.g.id}/participants/${f.target.user.id}`, body: () => ({ json: { role: 'admin' } }), expect: conv(403, { moderator: 403 }) },
  { dialect: 'parley', name: 'DELETE conversations/{id}/participants/{user}', method: 'DELETE', path: (f) => `/api/parley/conversations/${f.g.id}/participants/${f.target.user.id}`, expect: conv(403) },
  { dialect: 'parley', name: 'GET conversations/{id}/messages', method: 'GET', path: (f) => `/api/parley/conversations/${f.g.id}/messages`, expect: conv(200) },
  { dialect: 'parley', name: 'GET conversations/{id}/changes', method: 'GET', path: (f) => `/api/parley/conversations/${f.g.id}/changes?after_seq=0&after_change_seq=0`, expect: conv(200) },
  { dialect: 'parley', name: 'POST conversations/{id}/messages', method: 'POST', path: (f) => `/api/parley/conversations/${f.g.id}/messages`, body: () => ({ json: { content: 'member says hi' } }), expect: conv(201) },
  { dialect: 'parley', name: 'POST conversations/{id}/messages (channel)', method: 'POST', path: (f) => `/api/parley/conversations/${f.c.id}/messages`, body: () => ({ json: { content: 'not allowed' } }), expect: conv(403) },
  { dialect: 'parley', name: 'POST conversations/{id}/read', method: 'POST', path: (f) => `/api/parley/conversations/${f.g.id}/read`, body: () => ({ json: {} }), expect: conv(200) },
  { dialect: 'parley', name: 'GET messages/{id}', method: 'GET', path: (f) => `/api/parley/messages/${f.m.id}`, expect: conv(200) },
  { dialect: 'parley', name: "PATCH messages/{id} (someone else's)", method: 'PATCH', path: (f) => `/api/parley/messages/${f.m.id}`, body: () => ({ json: { content: 'hijacked' } }), expect: conv(403) },
  { dialect: 'parley', name: "DELETE messages/{id} (someone else's)", method: 'DELETE', path: (f) => `/api/parley/messages/${f.m.id}`, expect: conv(403) },
  { dialect: 'parley', name: 'PUT messages/{id}/reactions/{emoji}', method: 'PUT', path: (f) => `/api/parley/messages/${f.m.id}/reactions/${e('👍')}`, expect: conv(200) },
  { dialect: 'parley', name: 'DELETE messages/{id}/reactions/{emoji}', method: 'DELETE', path: (f) => `/api/parley/messages/${f.m.id}/reactions/${e('👍')}`, expect: conv(200) },

  // ---------------------------------------------------------------- /api/chat (000, 001)
  { dialect: 'chat', name: 'GET search-users', method: 'GET', path: () => '/api/chat/search-users?email=example.com&limit=20', expect: self({ member: 200 }) },
  { dialect: 'chat', name: 'POST rooms (a user of another tenant)', method: 'POST', path: () => '/api/chat/rooms', body: (f) => ({ json: { receiver_id: f.owner.user.id } }), expect: self({ 'other tenant': 404 }) },
  { dialect: 'chat', name: 'GET rooms', method: 'GET', path: () => '/api/chat/rooms', expect: self({ member: 200 }) },
  { dialect: 'chat', name: 'GET unread-count', method: 'GET', path: () => '/api/chat/unread-count', expect: self({ member: 200 }) },
  { dialect: 'chat', name: 'GET online-users', method: 'GET', path: () => '/api/chat/online-users', expect: self({ member: 200 }) },
  { dialect: 'chat', name: 'POST upload-files', method: 'POST', path: () => '/api/chat/upload-files', expect: self() },
  { dialect: 'chat', name: 'GET rooms/{id}', method: 'GET', path: (f) => `/api/chat/rooms/${f.g.id}`, expect: conv(200) },
  { dialect: 'chat', name: 'GET rooms/{id}/messages', method: 'GET', path: (f) => `/api/chat/rooms/${f.g.id}/messages?page=1&per_page=50`, expect: conv(200) },
  { dialect: 'chat', name: 'POST rooms/{id}/read', method: 'POST', path: (f) => `/api/chat/rooms/${f.g.id}/read`, expect: conv(200) },
  { dialect: 'chat', name: "PUT messages/{id} (someone else's)", method: 'PUT', path: (f) => `/api/chat/messages/${f.m.id}`, body: () => ({ form: { content: 'hijacked' } }), expect: conv(403) },
  { dialect: 'chat', name: "DELETE messages/{id} (someone else's)", method: 'DELETE', path: (f) => `/api/chat/messages/${f.m.id}`, expect: conv(403) },
  { dialect: 'chat', name: 'POST messages/{id}/like', method: 'POST', path: (f) => `/api/chat/messages/${f.m.id}/like`, expect: conv(200) },

  // ---------------------------------------------------------------- /api/v1/chat 002 (rooms)
  { dialect: 'v1', name: '002 GET search-users', method: 'GET', path: () => '/api/v1/chat/search-users?email=example.com', expect: self({ member: 200 }) },
  { dialect: 'v1', name: '002 POST rooms (a user of another tenant)', method: 'POST', path: () => '/api/v1/chat/rooms', body: (f) => ({ json: { receiver_id: f.owner.user.id } }), expect: self({ 'other tenant': 404 }) },
  { dialect: 'v1', name: '002 GET rooms', method: 'GET', path: () => '/api/v1/chat/rooms', expect: self({ member: 200 }) },
  { dialect: 'v1', name: '002 GET unread-count', method: 'GET', path: () => '/api/v1/chat/unread-count', expect: self({ member: 200 }) },
  { dialect: 'v1', name: '002 GET online-users', method: 'GET', path: () => '/api/v1/chat/online-users', expect: self({ member: 200 }) },
  { dialect: 'v1', name: '002 GET rooms/{id}', method: 'GET', path: (f) => `/api/v1/chat/rooms/${f.g.id}`, expect: conv(200) },
  { dialect: 'v1', name: '002 GET rooms/{id}/messages', method: 'GET', path: (f) => `/api/v1/chat/rooms/${f.g.id}/messages?page=1&per_page=50`, expect: conv(200) },
  { dialect: 'v1', name: '002 POST rooms/{id}/read', method: 'POST', path: (f) => `/api/v1/chat/rooms/${f.g.id}/read`, expect: conv(200) },
  { dialect: 'v1', name: "002 PUT messages/{id} (someone else's)", method: 'PUT', path: (f) => `/api/v1/chat/messages/${f.m.id}`, body: () => ({ form: { content: 'hijacked' } }), expect: conv(403) },
  { dialect: 'v1', name: '002 POST messages/{id}/like', method: 'POST', path: (f) => `/api/v1/chat/messages/${f.m.id}/like`, expect: conv(200) },
  { dialect: 'v1', name: "002 DELETE messages/{id} (someone else's)", method: 'DELETE', path: (f) => `/api/v1/chat/messages/${f.m.id}`, expect: conv(403) },
  // ---------------------------------------------------------------- /api/v1/chat 004 (friends)
  { dialect: 'v1', name: '004 POST messages/ (a user of another tenant)', method: 'POST', path: () => '/api/v1/chat/messages/', body: (f) => ({ json: { receiver_id: f.owner.user.uuid, content: 'hi' } }), expect: self({ 'other tenant': 404 }) },
  { dialect: 'v1', name: '004 GET messages/history/{friend} (a user of another tenant)', method: 'GET', path: (f) => `/api/v1/chat/messages/history/${f.owner.user.uuid}?skip=0&limit=50`, expect: self({ 'other tenant': 404 }) },
  { dialect: 'v1', name: '004 GET messages/unread-count', method: 'GET', path: () => '/api/v1/chat/messages/unread-count', expect: self({ member: 200 }) },
  { dialect: 'v1', name: '004 GET friends/online', method: 'GET', path: () => '/api/v1/chat/friends/online', expect: self({ member: 200 }) },
  { dialect: 'v1', name: '004 PUT messages/{uuid}/read', method: 'PUT', path: (f) => `/api/v1/chat/messages/${f.m.uuid}/read`, expect: conv(OK) },
  { dialect: 'v1', name: "004 DELETE messages/{uuid} (someone else's)", method: 'DELETE', path: (f) => `/api/v1/chat/messages/${f.m.uuid}`, expect: conv(403) },

  // ---------------------------------------------------------------- /api/notifications/chat (003)
  { dialect: '003', name: 'GET conversations/', method: 'GET', path: () => `${N}/conversations/`, expect: self({ member: 200 }) },
  { dialect: '003', name: 'POST conversations/ (with a user of another tenant)', method: 'POST', path: () => `${N}/conversations/`, body: (f) => ({ json: { conversation_type: 'direct', participant_ids: [f.owner.user.uuid] } }), expect: self() },
  { dialect: '003', name: 'GET presence/', method: 'GET', path: () => `${N}/presence/`, expect: self({ member: 200 }) },
  { dialect: '003', name: 'GET presence/me/', method: 'GET', path: () => `${N}/presence/me/`, expect: self({ member: 200 }) },
  { dialect: '003', name: 'PUT presence/me/ (current_conversation: not yours)', method: 'PUT', path: () => `${N}/presence/me/`, body: (f) => ({ json: { status: 'online', current_conversation: f.g.uuid } }), expect: { ...AUTH, ...OUT } },
  { dialect: '003', name: 'POST upload/', method: 'POST', path: () => `${N}/upload/`, expect: self() },
  { dialect: '003', name: 'GET conversations/{id}/', method: 'GET', path: (f) => `${N}/conversations/${f.g.uuid}/`, expect: conv(200) },
  { dialect: '003', name: 'PUT conversations/{id}/ (rename)', method: 'PUT', path: (f) => `${N}/conversations/${f.g.uuid}/`, body: () => ({ json: { title: 'hijacked' } }), expect: conv(403) },
  { dialect: '003', name: 'DELETE conversations/{id}/', method: 'DELETE', path: (f) => `${N}/conversations/${f.g.uuid}/`, expect: conv(403, { moderator: 403 }) },
  { dialect: '003', name: 'POST participants/ (as admin)', method: 'POST', path: (f) => `${N}/conversations/${f.g.uuid}/participants/`, body: (f) => ({ json: { user_id: f.newcomer.user.uuid, role: 'admin' } }), expect: conv(403, { moderator: 403 }) },
  { dialect: '003', name: 'DELETE participants/{admin}/', method: 'DELETE', path: (f) => `${N}/conversations/${f.g.uuid}/participants/${f.owner.user.uuid}/`, expect: conv(403, { moderator: 403 }) },
  { dialect: '003', name: 'GET participants/', method: 'GET', path: (f) => `${N}/conversations/${f.g.uuid}/participants/`, expect: conv(200) },
  { dialect: '003', name: 'POST participants/', method: 'POST', path: (f) => `${N}/conversations/${f.g.uuid}/participants/`, body: (f) => ({ json: { user_id: f.newcomer.user.uuid, role: 'member' } }), expect: conv(403) },
  { dialect: '003', name: 'PUT participants/{user}/ (role)', method: 'PUT', path: (f) => `${N}/conversations/${f.g.uuid}/participants/${f.target.user.uuid}/`, body: () => ({ json: { role: 'admin' } }), expect: conv(403, { moderator: 403 }) },
  { dialect: '003', name: 'DELETE participants/{user}/', method: 'DELETE', path: (f) => `${N}/conversations/${f.g.uuid}/participants/${f.target.user.uuid}/`, expect: conv(403) },
  { dialect: '003', name: 'GET messages/', method: 'GET', path: (f) => `${N}/conversations/${f.g.uuid}/messages/`, expect: conv(200) },
  { dialect: '003', name: 'POST messages/', method: 'POST', path: (f) => `${N}/conversations/${f.g.uuid}/messages/`, body: () => ({ json: { message_type: 'text', content: 'member here' } }), expect: conv(201) },
  { dialect: '003', name: 'POST messages/ (channel)', method: 'POST', path: (f) => `${N}/conversations/${f.c.uuid}/messages/`, body: () => ({ json: { message_type: 'text', content: 'not allowed' } }), expect: conv(403) },
  { dialect: '003', name: 'GET messages/{id}/', method: 'GET', path: (f) => `${N}/conversations/${f.g.uuid}/messages/${f.m.uuid}/`, expect: conv(200) },
  { dialect: '003', name: "PUT messages/{id}/ (someone else's)", method: 'PUT', path: (f) => `${N}/conversations/${f.g.uuid}/messages/${f.m.uuid}/`, body: () => ({ json: { content: 'hijacked' } }), expect: conv(403) },
  { dialect: '003', name: "DELETE messages/{id}/ (someone else's)", method: 'DELETE', path: (f) => `${N}/conversations/${f.g.uuid}/messages/${f.m.uuid}/`, expect: conv(403) },
  { dialect: '003', name: 'GET messages/{id}/reactions/', method: 'GET', path: (f) => `${N}/messages/${f.m.uuid}/reactions/`, expect: conv(200) },
  { dialect: '003', name: 'POST messages/{id}/reactions/', method: 'POST', path: (f) => `${N}/messages/${f.m.uuid}/reactions/`, body: () => ({ json: { emoji: '🎉' } }), expect: conv(OK) },
  { dialect: '003', name: 'DELETE messages/{id}/reactions/', method: 'DELETE', path: (f) => `${N}/messages/${f.m.uuid}/reactions/?emoji=${e('🎉')}`, expect: conv(OK) },
];

/** Every refusal body and refused-socket frame that contained a marker. */
const leaks: string[] = [];
const counts = { restCells: 0, restRefusals: 0, restAllowed: 0, socketCells: 0, socketRefusals: 0, leakChecks: 0 };

function scan(where: string, payload: unknown): void {
  counts.leakChecks++;
  const text = (typeof payload === 'string' ? payload : JSON.stringify(payload)) ?? '';
  if (text.toLowerCase().includes(MARK)) leaks.push(`${where}: ${text.slice(0, 300)}`);
}

const server = useParley();
let fx: Fx;

async function ok(p: Promise<ApiResponse>, status: Expect = OK): Promise<any> {
  const r = await p;
  expect([status].flat(), `${r.status} ${JSON.stringify(r.body)}`).toContain(r.status);
  return r.body;
}

beforeAll(async () => {
  const mk = (label: string, tenantId?: string) => newUser(server, { email: `${label}-${MARK}-${randomUUID().slice(0, 8)}@example.com`, name: `${label} ${MARK}`, tenantId });
  const [owner, member, moderator, target, newcomer, removed, outsider, foreign, leaver] = await Promise.all([
    mk('owner'),
    mk('member'),
    mk('moderator'),
    mk('target'),
    newUser(server),
    newUser(server), // removed: not marked (its own `ready` frame names it)
    newUser(server),
    newUser(server, { tenantId: randomUUID() }),
    newUser(server),
  ]);
  const g = await ok(api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: `Group ${MARK}`, member_ids: [member.user.id, target.user.id, removed.user.id] } }));
  const c = await ok(api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'channel', title: `Channel ${MARK}`, member_ids: [member.user.id, removed.user.id] } }));
  const m = await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/messages`, { token: owner.token, json: { content: `secret ${MARK}` } }));
  const mm = await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/messages`, { token: member.token, json: { content: `member's ${MARK}` } }));
  await ok(api(server, 'POST', `/api/parley/conversations/${c.id}/messages`, { token: owner.token, json: { content: `channel ${MARK}` } }));
  await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/participants`, { token: owner.token, json: { user_id: moderator.user.id, role: 'moderator' } }), 201);
  await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/participants`, { token: owner.token, json: { user_id: leaver.user.id } }), 201);
  await ok(api(server, 'POST', '/api/auth/logout', { token: leaver.token }));
  await ok(api(server, 'DELETE', `/api/parley/conversations/${g.id}/participants/${removed.user.id}`, { token: owner.token }));
  await ok(api(server, 'DELETE', `/api/parley/conversations/${c.id}/participants/${removed.user.id}`, { token: owner.token }));
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#0f0' } }).png().toBuffer();
  const fd = new FormData();
  fd.append('file', new Blob([png], { type: 'image/png' }), `pic-${MARK}.png`);
  const up: any = await (await fetch(`${server.url}/api/parley/files`, { method: 'POST', headers: { authorization: `Bearer ${owner.token}` }, body: fd })).json();
  const withFile = await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/messages`, { token: owner.token, json: { attachments: [up.files[0].key] } }));
  const file = new URL(withFile.attachments[0].url).pathname;
  const claims = JSON.parse(Buffer.from(member.token.split('.')[1], 'base64url').toString());
  const expiredToken = await new SignJWT({ ...claims, iat: claims.iat - 7200, exp: Math.floor(Date.now() / 1000) - 60 }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(SECRET);
  fx = { loggedOutToken: leaver.token, leaverId: leaver.user.id, owner, member, moderator, target, newcomer, removed, outsider, foreign, expiredToken, g, c, m: { id: m.id, uuid: m.uuid }, mm: { id: mm.id, uuid: mm.uuid }, file };
});

const tokenOf = (role: Role): string | undefined =>
  ({
    anonymous: undefined,
    expired: fx.expiredToken,
    'logged out': fx.loggedOutToken,
    outsider: fx.outsider.token,
    removed: fx.removed.token,
    'other tenant': fx.foreign.token,
    member: fx.member.token,
    moderator: fx.moderator.token,
    'lower role': fx.member.token,
  })[role];

describe('REST: every endpoint × every role', () => {
  for (const row of ROWS) {
    it(`${row.dialect} ${row.name}`, async () => {
      const got: Record<string, number> = {};
      const want: Record<string, Expect> = {};
      for (const role of ROLES) {
        const expected = row.expect[role];
        if (expected === undefined) continue;
        counts.restCells++;
        const res = await api(server, row.method, row.path(fx), { ...row.body?.(fx), token: tokenOf(role) });
        got[role] = res.status;
        want[role] = expected;
        if (res.status >= 400) {
          counts.restRefusals++;
          scan(`${row.dialect} ${row.name} as ${role}`, res.body);
          // Every REST refusal is a 4xx {"detail": …}.
          expect(typeof res.body?.detail, `${row.name} as ${role}: ${JSON.stringify(res.body)}`).toBe('string');
        } else counts.restAllowed++;
      }
      const cmp = Object.fromEntries(Object.entries(want).map(([r, w]) => [r, [w].flat().includes(got[r]) ? 'ok' : `got ${got[r]}, documented ${JSON.stringify(w)}`]));
      expect(cmp).toEqual(Object.fromEntries(Object.keys(want).map((r) => [r, 'ok'])));
    });
  }

  it('lists and searches: another tenant finds nobody of this one; an outsider lists none of its conversations', async () => {
    // The owner online (and the marked users present) so online and presence lists would name them.
    const online = await openSocket(`${server.wsUrl}/api/parley/ws?token=${e(fx.owner.token)}`);
    await online.next('ready');
    const foreignLists = [
      `/api/parley/users?q=${MARK}`,
      `/api/parley/users?q=owner`,
      `/api/chat/search-users?email=${MARK}&limit=50`,
      `/api/v1/chat/search-users?email=${MARK}`,
      '/api/chat/online-users',
      '/api/v1/chat/online-users',
      '/api/v1/chat/friends/online',
      `${N}/presence/`,
      '/api/friends',
    ];
    const outsiderLists = ['/api/parley/conversations', '/api/chat/rooms', '/api/v1/chat/rooms', `${N}/conversations/`, '/api/chat/unread-count', '/api/v1/chat/unread-count', '/api/v1/chat/messages/unread-count'];
    const bad: string[] = [];
    for (const [who, token, paths] of [
      ['other tenant', fx.foreign.token, [...foreignLists, ...outsiderLists]],
      ['outsider', fx.outsider.token, outsiderLists],
      ['removed', fx.removed.token, outsiderLists],
    ] as const) {
      for (const path of paths) {
        counts.restCells++;
        const r = await api(server, 'GET', path, { token: token });
        if (r.status !== 200) bad.push(`${who} ${path}: ${r.status}`);
        counts.leakChecks++;
        const text = JSON.stringify(r.body).toLowerCase();
        if (text.includes(MARK) || text.includes(fx.g.uuid) || text.includes(fx.c.uuid) || new RegExp(`"(id|room_id|conversation_id)":(${fx.g.id}|${fx.c.id})[,}]`).test(text) || text.includes(`"${fx.g.id}":`)) {
          bad.push(`${who} ${path}: ${text.slice(0, 300)}`);
          leaks.push(`${who} ${path}`);
        }
      }
    }
    online.close();
    expect(bad).toEqual([]);
  });

  it('refused requests changed nothing', async () => {
    const conv = await ok(api(server, 'GET', `/api/parley/conversations/${fx.g.id}`, { token: fx.owner.token }));
    expect(conv.title).toBe(`Group ${MARK}`);
    expect(conv.members.map((m: any) => [m.user.id, m.role]).sort()).toEqual(
      [
        [fx.owner.user.id, 'admin'],
        [fx.member.user.id, 'member'],
        [fx.moderator.user.id, 'moderator'],
        [fx.target.user.id, 'member'],
        [fx.leaverId, 'member'],
      ].sort(),
    );
    const m = await ok(api(server, 'GET', `/api/parley/messages/${fx.m.id}`, { token: fx.owner.token }));
    expect(m).toMatchObject({ content: `secret ${MARK}`, deleted_at: null, edited_at: null });
    const hist = await ok(api(server, 'GET', `/api/parley/conversations/${fx.g.id}/messages?limit=100`, { token: fx.owner.token }));
    const senders = new Set(hist.messages.map((x: any) => x.sender.id));
    for (const u of [fx.outsider, fx.removed, fx.foreign]) expect(senders.has(u.user.id)).toBe(false);
    const ch = await ok(api(server, 'GET', `/api/parley/conversations/${fx.c.id}/messages?limit=100`, { token: fx.owner.token }));
    expect(ch.messages.map((x: any) => x.sender.id)).toEqual([fx.owner.user.id]);
  });
});

// ------------------------------------------------------------------ sockets

interface SockDialect {
  name: string;
  /** Opens an authenticated socket for a user and waits until it is usable. */
  open(u: { token: string; tenant?: string }): Promise<TestSocket>;
  url(token: string | null, tenant?: string): string;
  /** The documented answer to a missing or expired token. */
  refusedCode: number | 'http401';
}

/** 000/001's and 002's room socket at `path`: usable once a ping is answered. */
const roomSocket = (name: string, path: string): SockDialect => ({
  name,
  url: (t) => `${server.wsUrl}${path}${t === null ? '' : `?token=${e(t)}`}`,
  async open(u) {
    const s = await openSocket(this.url(u.token));
    s.send({ type: 'ping' });
    await s.next('pong');
    return s;
  },
  refusedCode: 4001,
});

const tenantOf = (u: TestUser) => u.user.tenant_id;

const SOCKETS: SockDialect[] = [
  {
    name: 'parley /api/parley/ws',
    url: (t) => `${server.wsUrl}/api/parley/ws${t === null ? '' : `?token=${e(t)}`}`,
    async open(u) {
      const s = await openSocket(this.url(u.token));
      await s.next('ready');
      s.send({ type: 'subscribe' });
      await s.next('subscribed');
      return s;
    },
    refusedCode: 4001,
  },
  roomSocket('chat /api/chat/ws', '/api/chat/ws'),
  roomSocket('v1 002 /api/v1/chat/ws', '/api/v1/chat/ws'),
  {
    name: 'v1 004 /api/v1/chat/ws/chat',
    url: (t) => `${server.wsUrl}/api/v1/chat/ws/chat${t === null ? '' : `?token=${e(t)}`}`,
    async open(u) {
      const s = await openSocket(this.url(u.token));
      await s.next('connection_established');
      return s;
    },
    refusedCode: 'http401',
  },
  {
    name: '003 /ws/chat/{tenant}/',
    url: (t, tenant) => `${server.wsUrl}/ws/chat/${tenant}/${t === null ? '' : `?token=${e(t)}`}`,
    async open(u) {
      const s = await openSocket(this.url(u.token, u.tenant));
      await s.next('connection_established');
      return s;
    },
    refusedCode: 4001,
  },
];

/** The frames that act on the target conversation (G), its message M, or the channel C, per socket. */
const FRAMES: Record<string, { name: string; frame: (f: Fx) => unknown; roles: Role[] }[]> = {
  'parley /api/parley/ws': [
    { name: 'send', frame: (f) => ({ type: 'send', conversation_id: f.g.id, content: 'sneaky', local_temp_id: randomUUID() }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'send (channel)', frame: (f) => ({ type: 'send', conversation_id: f.c.id, content: 'sneaky', local_temp_id: randomUUID() }), roles: ['outsider', 'removed', 'other tenant', 'lower role'] },
    { name: 'edit', frame: (f) => ({ type: 'edit', message_id: f.m.id, content: 'sneaky' }), roles: ['outsider', 'removed', 'other tenant', 'lower role'] },
    { name: 'delete', frame: (f) => ({ type: 'delete', message_id: f.m.id }), roles: ['outsider', 'removed', 'other tenant', 'lower role'] },
    { name: 'react', frame: (f) => ({ type: 'react', message_id: f.m.id, emoji: '🔥', on: true }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'read', frame: (f) => ({ type: 'read', conversation_id: f.g.id }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'typing', frame: (f) => ({ type: 'typing', conversation_id: f.g.id, is_typing: true }), roles: ['outsider', 'removed', 'other tenant'] },
  ],
  'chat /api/chat/ws': [
    { name: 'join_room', frame: (f) => ({ type: 'join_room', data: { room_id: f.g.id } }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'send_message', frame: (f) => ({ type: 'send_message', data: { room_id: f.g.id, message_type: 'text', content: 'sneaky', local_temp_id: randomUUID() } }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'send_message (channel)', frame: (f) => ({ type: 'send_message', data: { room_id: f.c.id, message_type: 'text', content: 'sneaky', local_temp_id: randomUUID() } }), roles: ['outsider', 'removed', 'other tenant', 'lower role'] },
    { name: 'mark_read', frame: (f) => ({ type: 'mark_read', data: { room_id: f.g.id } }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'like_message', frame: (f) => ({ type: 'like_message', data: { message_id: f.m.id } }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'typing', frame: (f) => ({ type: 'typing', data: { room_id: f.g.id, is_typing: true } }), roles: ['outsider', 'removed', 'other tenant'] },
  ],
  'v1 002 /api/v1/chat/ws': [
    { name: 'join_room', frame: (f) => ({ type: 'join_room', data: { room_id: f.g.id } }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'send_message', frame: (f) => ({ type: 'send_message', data: { room_id: f.g.id, message_type: 'text', content: 'sneaky', local_temp_id: randomUUID() } }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'send_message (channel)', frame: (f) => ({ type: 'send_message', data: { room_id: f.c.id, message_type: 'text', content: 'sneaky', local_temp_id: randomUUID() } }), roles: ['outsider', 'removed', 'other tenant', 'lower role'] },
    { name: 'mark_read', frame: (f) => ({ type: 'mark_read', data: { room_id: f.g.id } }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'typing', frame: (f) => ({ type: 'typing', data: { room_id: f.g.id, is_typing: true } }), roles: ['outsider', 'removed', 'other tenant'] },
  ],
  'v1 004 /api/v1/chat/ws/chat': [
    { name: 'send_message (not a friend / another tenant)', frame: (f) => ({ type: 'send_message', receiver_id: f.owner.user.uuid, content: 'sneaky', local_temp_id: randomUUID() }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'mark_read', frame: (f) => ({ type: 'mark_read', message_id: f.m.uuid }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'typing', frame: (f) => ({ type: 'typing', receiver_id: f.owner.user.uuid, is_typing: true }), roles: ['outsider', 'removed', 'other tenant'] },
  ],
  '003 /ws/chat/{tenant}/': [
    { name: 'join_conversation', frame: (f) => ({ type: 'join_conversation', conversation_id: f.g.uuid }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'leave_conversation', frame: (f) => ({ type: 'leave_conversation', conversation_id: f.g.uuid }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'send_message', frame: (f) => ({ type: 'send_message', conversation_id: f.g.uuid, message_type: 'text', content: 'sneaky' }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'send_message (channel)', frame: (f) => ({ type: 'send_message', conversation_id: f.c.uuid, message_type: 'text', content: 'sneaky' }), roles: ['outsider', 'removed', 'other tenant', 'lower role'] },
    { name: 'start_typing', frame: (f) => ({ type: 'start_typing', conversation_id: f.g.uuid }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'stop_typing', frame: (f) => ({ type: 'stop_typing', conversation_id: f.g.uuid }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'add_reaction', frame: (f) => ({ type: 'add_reaction', message_id: f.m.uuid, emoji: '🔥' }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'remove_reaction', frame: (f) => ({ type: 'remove_reaction', message_id: f.m.uuid, emoji: '🔥' }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'mark_read', frame: (f) => ({ type: 'mark_read', conversation_id: f.g.uuid }), roles: ['outsider', 'removed', 'other tenant'] },
    { name: 'update_presence (current_conversation)', frame: (f) => ({ type: 'update_presence', status: 'online', current_conversation: f.g.uuid }), roles: ['outsider', 'removed', 'other tenant'] },
  ],
};

/** Resolves with the close code, or 'http<status>' when the upgrade itself was refused. */
async function refusal(url: string, first?: unknown): Promise<number | string> {
  const s = new TestSocket(new WebSocket(url));
  try {
    await s.opened;
    // Sockets that take the token in a first frame wait for one: anything else is refused.
    if (first) s.send(first);
  } catch (err) {
    const m = /unexpected response (\d+)/.exec(String(err));
    return m ? `http${m[1]}` : String(err);
  }
  const t = setTimeout(() => s.close(), 3000);
  const { code } = await s.closed;
  clearTimeout(t);
  for (const f of s.frames) scan(`refused socket ${url.replace(/token=[^&]*/, 'token=…')}`, f);
  return code;
}

describe('sockets: every frame × every role', () => {
  for (const d of SOCKETS) {
    it(`${d.name}: anonymous, expired and logged-out tokens are refused (${d.refusedCode})`, async () => {
      const t = d.name.startsWith('003') ? tenantOf(fx.member) : undefined;
      for (const [role, token] of [
        ['anonymous', null],
        ['expired', fx.expiredToken],
        ['logged out', fx.loggedOutToken],
      ] as const) {
        counts.socketCells++;
        const got = await refusal(d.url(token, t), token === null ? { type: 'ping' } : undefined);
        counts.socketRefusals++;
        expect({ role, got }).toEqual({ role, got: d.refusedCode });
      }
    });

    it(`${d.name}: outsider, removed member, other tenant${FRAMES[d.name].some((x) => x.roles.includes('lower role')) ? ', lower role' : ''}: every frame refused with an error frame, nothing leaks`, async () => {
      const results: string[] = [];
      for (const role of ['outsider', 'removed', 'other tenant', 'lower role'] as Role[]) {
        const frames = FRAMES[d.name].filter((x) => x.roles.includes(role));
        if (frames.length === 0) continue;
        const u = role === 'outsider' ? fx.outsider : role === 'removed' ? fx.removed : role === 'other tenant' ? fx.foreign : fx.member;
        const s = await d.open({ token: u.token, tenant: tenantOf(u) });
        const start = s.frames.length;
        for (const fr of frames) {
          counts.socketCells++;
          s.send(fr.frame(fx));
          const answer = await s.next(null, { where: (f) => f.type === 'error' || f.type === 'room_joined' || f.type === 'conversation_joined' || f.type === 'conversation_left' || f.type === 'new_message' || f.type === 'message', timeoutMs: 3000 }).catch(() => null);
          if (answer?.type === 'error') counts.socketRefusals++;
          else results.push(`${role} ${fr.name}: ${answer ? JSON.stringify(answer).slice(0, 200) : 'no answer within 3 s'}`);
        }
        // Nothing of G or C reaches the refused socket, whatever happens there meanwhile.
        await ok(api(server, 'POST', `/api/parley/conversations/${fx.g.id}/messages`, { token: fx.owner.token, json: { content: `later ${MARK}` } }));
        await sleep(300);
        s.send({ type: 'ping' });
        await sleep(100);
        if (role !== 'lower role') for (const f of s.frames.slice(start)) scan(`${d.name} as ${role}`, f);
        s.close();
      }
      expect(results, 'frames not refused').toEqual([]);
    });
  }

  it('003: a token of another tenant on this tenant\'s socket path closes 4003', async () => {
    counts.socketCells++;
    expect(await refusal(`${server.wsUrl}/ws/chat/${tenantOf(fx.owner)}/?token=${e(fx.foreign.token)}`)).toBe(4003);
    counts.socketRefusals++;
  });

  for (const name of ['chat /api/chat/ws', 'v1 002 /api/v1/chat/ws']) {
    it(`${name}: ?room_id= of a conversation not yours closes 4003 (outsider, removed, other tenant)`, async () => {
      const d = SOCKETS.find((x) => x.name === name)!;
      for (const u of [fx.outsider, fx.removed, fx.foreign]) {
        counts.socketCells++;
        expect(await refusal(`${d.url(u.token)}&room_id=${fx.g.id}`)).toBe(4003);
        counts.socketRefusals++;
      }
    });
  }

  it('parley: subscribe does not follow a conversation you are not in (outsider, removed, other tenant)', async () => {
    for (const u of [fx.outsider, fx.removed, fx.foreign]) {
      const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${e(u.token)}`);
      await s.next('ready');
      s.send({ type: 'subscribe', cursors: [{ conversation_id: fx.g.id, last_seq: 0, last_change_seq: 0 }] });
      const sub = await s.next('subscribed');
      counts.socketCells++;
      expect(sub.conversations.map((c: any) => c.id)).not.toContain(fx.g.id);
      for (const f of s.frames) scan(`parley subscribe as ${u.user.email}`, f);
      s.close();
    }
  });

  it('no refusal body and no frame of a refused socket contains the conversation\'s title, messages or members\' emails', () => {
    expect(leaks).toEqual([]);
  });
});

// ------------------------------------------------------------------ revocation: removed and logged out

/** Whether a frame is about conversation G (by id or uuid) or carries the marker. */
function about(f: Frame, g: { id: number; uuid: string }, marker: string): boolean {
  const text = JSON.stringify(f);
  if (text.includes(marker) || text.includes(g.uuid)) return true;
  let hit = false;
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'room_id' || k === 'conversation_id') && x === g.id) hit = true;
      else walk(x);
    }
  };
  walk(f);
  return hit;
}

describe('revocation: a removed member\'s and a logged-out user\'s open sockets get nothing more of the conversation', () => {
  async function everySocket(u: TestUser, g: { id: number; uuid: string }): Promise<Record<string, TestSocket>> {
    const q = `token=${e(u.token)}`;
    const parley = await openSocket(`${server.wsUrl}/api/parley/ws?${q}`);
    await parley.next('ready');
    parley.send({ type: 'subscribe' });
    await parley.next('subscribed');
    const chat = await openSocket(`${server.wsUrl}/api/chat/ws?${q}&room_id=${g.id}`);
    chat.send({ type: 'ping' });
    await chat.next('pong');
    const v002 = await openSocket(`${server.wsUrl}/api/v1/chat/ws?${q}&room_id=${g.id}`);
    v002.send({ type: 'ping' });
    await v002.next('pong');
    const v004 = await openSocket(`${server.wsUrl}/api/v1/chat/ws/chat?${q}`);
    await v004.next('connection_established');
    const n003 = await openSocket(`${server.wsUrl}/ws/chat/${tenantOf(u)}/?${q}`);
    await n003.next('connection_established');
    n003.send({ type: 'join_conversation', conversation_id: g.uuid });
    await n003.next('conversation_joined');
    return { parley, chat, 'v1 002': v002, 'v1 004': v004, '003': n003 };
  }

  async function activity(owner: TestUser, g: { id: number; uuid: string; msg: number }, marker: string, dmTo?: TestUser) {
    await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/messages`, { token: owner.token, json: { content: `after ${marker}` } }));
    await ok(api(server, 'PATCH', `/api/parley/messages/${g.msg}`, { token: owner.token, json: { content: `edited ${marker}` } }));
    await ok(api(server, 'PUT', `/api/parley/messages/${g.msg}/reactions/${e('👍')}`, { token: owner.token }));
    await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/read`, { token: owner.token, json: {} }));
    await ok(api(server, 'PATCH', `/api/parley/conversations/${g.id}`, { token: owner.token, json: { title: `renamed ${marker}` } }));
    await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/participants`, { token: owner.token, json: { user_id: (await newUser(server)).user.id } }), 201);
    if (dmTo) await ok(api(server, 'POST', '/api/v1/chat/messages/', { token: owner.token, json: { receiver_id: dmTo.user.uuid, content: `dm ${marker}` } }));
  }

  it('removed from a group: no event of it on any dialect\'s socket within 1 s', async () => {
    const [owner, gone] = await Promise.all([newUser(server), newUser(server)]);
    const g = await ok(api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'rev', member_ids: [gone.user.id] } }));
    const first = await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/messages`, { token: owner.token, json: { content: 'before' } }));
    const socks = await everySocket(gone, g);
    await ok(api(server, 'DELETE', `/api/parley/conversations/${g.id}/participants/${gone.user.id}`, { token: owner.token }), 204);
    await sleep(300); // the removal's own notification may arrive meanwhile
    const from = Object.fromEntries(Object.entries(socks).map(([k, s]) => [k, s.frames.length]));
    const marker = `rm${MARK}`;
    await activity(owner, { ...g, msg: first.id }, marker);
    await sleep(1000);
    const got = Object.fromEntries(Object.entries(socks).map(([k, s]) => [k, s.frames.slice(from[k]).filter((f) => about(f, g, marker))]));
    counts.socketCells += Object.keys(socks).length;
    expect(got).toEqual(Object.fromEntries(Object.keys(socks).map((k) => [k, []])));
    // The sockets still open in the conversation they followed cannot act in it either.
    const sneak: Record<string, unknown[]> = {
      parley: [
        { type: 'send', conversation_id: g.id, content: 'sneak', local_temp_id: randomUUID() },
        { type: 'react', message_id: first.id, emoji: '🔥', on: true },
        { type: 'read', conversation_id: g.id },
        { type: 'typing', conversation_id: g.id, is_typing: true },
      ],
      chat: [
        { type: 'send_message', data: { message_type: 'text', content: 'sneak', local_temp_id: randomUUID() } },
        { type: 'typing', data: { is_typing: true } },
        { type: 'mark_read', data: {} },
        { type: 'like_message', data: { message_id: first.id } },
      ],
      'v1 002': [
        { type: 'send_message', data: { message_type: 'text', content: 'sneak', local_temp_id: randomUUID() } },
        { type: 'typing', data: { is_typing: true } },
        { type: 'mark_read', data: {} },
      ],
      '003': [
        { type: 'send_message', conversation_id: g.uuid, message_type: 'text', content: 'sneak' },
        { type: 'start_typing', conversation_id: g.uuid },
        { type: 'mark_read', conversation_id: g.uuid },
        { type: 'add_reaction', message_id: first.uuid, emoji: '🔥' },
      ],
    };
    const notRefused: string[] = [];
    for (const [k, frames] of Object.entries(sneak)) {
      const s = socks[k];
      if ((await Promise.race([s.closed.then(() => true), Promise.resolve(false)]))) continue;
      for (const fr of frames) {
        counts.socketCells++;
        s.send(fr);
        const a = await s.next('error', { timeoutMs: 2000 }).catch(() => null);
        if (a) counts.socketRefusals++;
        else notRefused.push(`${k} ${JSON.stringify(fr)}`);
      }
    }
    const hist = await ok(api(server, 'GET', `/api/parley/conversations/${g.id}/messages`, { token: owner.token }));
    expect(hist.messages.filter((m: any) => m.sender.id === gone.user.id)).toEqual([]);
    expect(hist.messages.find((m: any) => m.id === first.id).reactions).toEqual([{ emoji: '👍', user_ids: [owner.user.id], count: 1 }]);
    expect(notRefused, 'frames of a removed member not refused').toEqual([]);
    for (const s of Object.values(socks)) s.close();
  });

  it('demoted: a moderator made member is the lower role at once, on every dialect and on open sockets', async () => {
    const [owner, mod] = await Promise.all([newUser(server), newUser(server)]);
    const g = await ok(api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'channel', title: 'demote', member_ids: [] } }));
    await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/participants`, { token: owner.token, json: { user_id: mod.user.id, role: 'moderator' } }), 201);
    const socks = await everySocket(mod, g);
    // As a moderator: may rename and post in the channel.
    await ok(api(server, 'PATCH', `/api/parley/conversations/${g.id}`, { token: mod.token, json: { title: 'by the moderator' } }));
    await ok(api(server, 'PATCH', `/api/parley/conversations/${g.id}/participants/${mod.user.id}`, { token: owner.token, json: { role: 'member' } }));
    const cells: [string, Promise<ApiResponse>][] = [
      ['parley rename', api(server, 'PATCH', `/api/parley/conversations/${g.id}`, { token: mod.token, json: { title: 'x' } })],
      ['003 rename', api(server, 'PUT', `${N}/conversations/${g.uuid}/`, { token: mod.token, json: { title: 'x' } })],
      ['parley post in channel', api(server, 'POST', `/api/parley/conversations/${g.id}/messages`, { token: mod.token, json: { content: 'x' } })],
      ['003 post in channel', api(server, 'POST', `${N}/conversations/${g.uuid}/messages/`, { token: mod.token, json: { message_type: 'text', content: 'x' } })],
      ['003 add participant', api(server, 'POST', `${N}/conversations/${g.uuid}/participants/`, { token: mod.token, json: { user_id: owner.user.uuid, role: 'member' } })],
    ];
    const got: Record<string, number> = {};
    for (const [name, p] of cells) {
      counts.restCells++;
      got[name] = (await p).status;
      if (got[name] === 403) counts.restRefusals++;
    }
    expect(got).toEqual(Object.fromEntries(cells.map(([n]) => [n, 403])));
    const frames: [string, unknown][] = [
      ['parley', { type: 'send', conversation_id: g.id, content: 'x', local_temp_id: randomUUID() }],
      ['chat', { type: 'send_message', data: { message_type: 'text', content: 'x', local_temp_id: randomUUID() } }],
      ['v1 002', { type: 'send_message', data: { message_type: 'text', content: 'x', local_temp_id: randomUUID() } }],
      ['003', { type: 'send_message', conversation_id: g.uuid, message_type: 'text', content: 'x' }],
    ];
    const notRefused: string[] = [];
    for (const [k, fr] of frames) {
      counts.socketCells++;
      socks[k].send(fr);
      if (await socks[k].next('error', { timeoutMs: 2000 }).catch(() => null)) counts.socketRefusals++;
      else notRefused.push(k);
    }
    expect(notRefused).toEqual([]);
    const hist = await ok(api(server, 'GET', `/api/parley/conversations/${g.id}/messages`, { token: owner.token }));
    expect(hist.messages.filter((m: any) => m.kind !== 'system')).toEqual([]);
    for (const s of Object.values(socks)) s.close();
  });

  it('logged out: no event on any dialect\'s socket within 1 s (and the sockets are closed)', async () => {
    const [owner, leaver] = await Promise.all([newUser(server), newUser(server)]);
    await ok(api(server, 'POST', '/api/friends', { token: owner.token, json: { user_id: leaver.user.uuid } }));
    await ok(api(server, 'POST', '/api/friends', { token: leaver.token, json: { user_id: owner.user.uuid } }));
    const g = await ok(api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'rev2', member_ids: [leaver.user.id] } }));
    const first = await ok(api(server, 'POST', `/api/parley/conversations/${g.id}/messages`, { token: owner.token, json: { content: 'before' } }));
    const socks = await everySocket(leaver, g);
    const from = Object.fromEntries(Object.entries(socks).map(([k, s]) => [k, s.frames.length]));
    await ok(api(server, 'POST', '/api/auth/logout', { token: leaver.token }));
    const marker = `lo${MARK}`;
    await activity(owner, { ...g, msg: first.id }, marker, leaver);
    await sleep(1000);
    const got = Object.fromEntries(Object.entries(socks).map(([k, s]) => [k, s.frames.slice(from[k]).filter((f) => about(f, g, marker) || JSON.stringify(f).includes(marker))]));
    counts.socketCells += Object.keys(socks).length;
    expect(got).toEqual(Object.fromEntries(Object.keys(socks).map((k) => [k, []])));
    const codes = await Promise.all(Object.entries(socks).map(async ([k, s]) => [k, (await Promise.race([s.closed, new Promise<{ code: string }>((r) => setTimeout(() => r({ code: 'open' }), 1000))])).code]));
    expect(Object.fromEntries(codes)).toEqual(Object.fromEntries(Object.keys(socks).map((k) => [k, 4001])));
  });
});

afterAll(() => {
  const rows = ROWS.length;
  const byDialect: Record<string, number> = {};
  for (const r of ROWS) byDialect[r.dialect] = (byDialect[r.dialect] ?? 0) + 1;
  const frames = Object.values(FRAMES).reduce((n, l) => n + l.length, 0);
  const perRole = Object.fromEntries(ROLES.map((r) => [r, ROWS.filter((x) => x.expect[r] !== undefined).length]));
  const frameCells = Object.values(FRAMES).reduce((n, l) => n + l.reduce((m, x) => m + x.roles.length, 0), 0);
  console.log(`[authz] REST table: ${rows} endpoints × ${ROLES.length} roles, cells per role ${JSON.stringify(perRole)}; socket table: ${frames} frames over ${SOCKETS.length} sockets, ${frameCells} frame×role cells + ${SOCKETS.length * 3} token cells`);
  console.log(`[authz] ${JSON.stringify({ restEndpoints: rows, byDialect, roles: ROLES.length, socketFrames: frames, sockets: SOCKETS.length, ...counts, leaks: leaks.length })}`);
});
