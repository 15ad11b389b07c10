import { expect } from 'vitest';
import { DAY_MS } from '../../src/core/retention/retention.js';
import { api, type TestUser } from '../helpers/clients.js';
import type { TestServer } from '../helpers/parley.js';

export { DAY_MS };

/** The purge runs only when a test asks (tick), in batches small enough to interleave with sends. */
export const RETENTION_TEST_ENV = { RETENTION_INTERVAL_MS: '0', RETENTION_BATCH: '7' };

export interface Sent {
  id: number;
  seq: number;
  createdAt: number;
}

export async function sendOne(server: { url: string }, user: TestUser, conversationId: number, content: string): Promise<Sent> {
  const r = await api(server, 'POST', `/api/parley/conversations/${conversationId}/messages`, { token: user.token, json: { content } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { id: r.body.id, seq: r.body.seq, createdAt: Date.parse(r.body.created_at) };
}

/** One purge round as if it ran at `now` (a "keep 1 day" conversation purges what is older than now - 1 day). */
export async function purgeAt(server: TestServer, now: number) {
  const report = await server.parley.retentionJob.tick(now);
  expect(report, 'this process holds the purge lease').not.toBeNull();
  return report!;
}

/** Every message of the conversation the user may page through, oldest first, and the watermark. */
export async function wholeHistory(server: { url: string }, user: TestUser, conversationId: number): Promise<{ seqs: number[]; ids: number[]; lastSeq: number; purgedBeforeSeq: number }> {
  const seqs: number[] = [];
  const ids: number[] = [];
  let before: number | undefined;
  for (;;) {
    const r = await api(server, 'GET', `/api/parley/conversations/${conversationId}/messages?limit=100${before ? `&before_seq=${before}` : ''}`, { token: user.token });
    expect(r.status).toBe(200);
    seqs.unshift(...r.body.messages.map((m: { seq: number }) => m.seq));
    ids.unshift(...r.body.messages.map((m: { id: number }) => m.id));
    if (!r.body.has_more) return { seqs, ids, lastSeq: r.body.last_seq, purgedBeforeSeq: r.body.purged_before_seq ?? 1 };
    before = r.body.messages[0].seq;
  }
}

export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

export async function setConversationRetention(server: { url: string }, user: TestUser, conversationId: number, days: number | null) {
  const r = await api(server, 'PUT', `/api/parley/conversations/${conversationId}/retention`, { token: user.token, json: { days } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

export async function hold(server: { url: string }, admin: TestUser, type: 'conversation' | 'user', id: number, on: boolean) {
  const r = await api(server, on ? 'PUT' : 'DELETE', `/api/parley/legal-holds/${type}/${id}`, { token: admin.token });
  expect(r.status, JSON.stringify(r.body)).toBe(204);
}

/** Uploads `bytes` as a PNG and sends it in a message; the message's id, seq and its file's URL. */
export async function sendPng(server: { url: string }, user: TestUser, conversationId: number, png: Buffer, name: string): Promise<Sent & { fileUrl: string }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), name);
  const up = await fetch(`${server.url}/api/parley/files`, { method: 'POST', headers: { authorization: `Bearer ${user.token}` }, body: form });
  expect(up.status).toBe(201);
  const { files } = (await up.json()) as { files: { key: string }[] };
  const r = await api(server, 'POST', `/api/parley/conversations/${conversationId}/messages`, { token: user.token, json: { attachments: [files[0].key] } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const url = new URL(r.body.attachments[0].url);
  return { id: r.body.id, seq: r.body.seq, createdAt: Date.parse(r.body.created_at), fileUrl: server.url + url.pathname + url.search };
}
