import { expect } from 'vitest';
import type { MessageOut, SearchHitOut, SearchOut } from '../../sdk/src/generated/wire.js';
import { api, type TestUser } from '../helpers/clients.js';

/** A conversation through Parley's API: a group of the creator and `others`. */
export async function group(server: { url: string }, owner: TestUser, others: TestUser[], title = 'Search'): Promise<number> {
  const r = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title, member_ids: others.map((o) => o.user.id) } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}

/** Sends a text through Parley's API; returns the message. */
export async function say(server: { url: string }, user: TestUser, conversationId: number, content: string, extra: Record<string, unknown> = {}): Promise<MessageOut> {
  const r = await api(server, 'POST', `/api/parley/conversations/${conversationId}/messages`, { token: user.token, json: { content, ...extra } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

export type SearchResult = SearchHitOut;

/** GET /api/parley/search with these query parameters; expects a 200. */
export async function search(server: { url: string }, user: TestUser, params: Record<string, string | number>): Promise<SearchOut> {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  const r = await api<SearchOut>(server, 'GET', `/api/parley/search?${qs}`, { token: user.token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** The marked words of a result: what its highlight ranges cover. */
export const marked = (r: SearchResult) => r.highlight?.ranges.map((x) => r.highlight!.text.slice(x.start, x.end)) ?? [];
