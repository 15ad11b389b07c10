import { describe, expect, it } from 'vitest';
import { api, eventually, openSocket, type TestSocket } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { newGroup, newTenant } from '../webhooks/support.js';
import sharp from 'sharp';
import { DAY_MS, RETENTION_TEST_ENV, hold, purgeAt, range, sendOne, sendPng, setConversationRetention, wholeHistory, type Sent } from './support.js';

// Issue 20: retention purges the oldest messages past a conversation's limit while others
// send, and a reader from below the watermark is told to reload, never shown a gap.

async function resumeSocket(server: TestServer, token: string, conversationId: number, lastSeq: number): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(token)}`);
  await s.next('ready');
  s.send({ type: 'subscribe', cursors: [{ conversation_id: conversationId, last_seq: lastSeq }] });
  return s;
}

/** Waits until the clock has passed every time in `sent`: a cutoff taken now is after all of them. */
const pastAll = (sent: Sent[]) => eventually(() => expect(Date.now()).toBeGreaterThan(Math.max(...sent.map((m) => m.createdAt))));

describe.each(databases)('retention on %s', (db) => {
  const server = useParley({ db, env: { ...RETENTION_TEST_ENV, RESUME_MAX_MESSAGES: '1000' } });

  it('purges what is past the limit while a sender keeps sending: nothing acked after the cutoff goes, seq stays gapless above the watermark, a resume from below it gets snapshot_required', async () => {
    const { admin, member } = await newTenant(server);
    const conv = await newGroup(server, admin, [member], 'Kept a day');
    expect(await setConversationRetention(server, admin, conv, 1)).toEqual({ retention_days: 1, purged_before_seq: 1 });
    const old: Sent[] = [];
    for (let i = 0; i < 30; i++) old.push(await sendOne(server, member, conv, `ancientword ${i}`));
    await pastAll(old);
    const cutoff = Date.now();

    // A sender keeps sending through the whole purge (batches of 7: it interleaves with them).
    const fresh: Sent[] = [];
    let sending = true;
    const sender = (async () => {
      while (sending) fresh.push(await sendOne(server, admin, conv, `fresh ${fresh.length}`));
    })();
    await eventually(() => expect(fresh.length).toBeGreaterThan(2));
    const report = await purgeAt(server, cutoff + DAY_MS);
    await eventually(() => expect(fresh.length).toBeGreaterThan(report.messages > 0 ? 5 : 0));
    sending = false;
    await sender;

    expect(report.messages).toBe(30);
    const history = await wholeHistory(server, member, conv);
    expect(history.purgedBeforeSeq).toBe(31);
    // Gapless from the watermark to the newest, and every message acked after the cutoff is there.
    expect(history.seqs).toEqual(range(31, history.lastSeq));
    expect(history.ids).toEqual(fresh.map((m) => m.id));
    expect(fresh.every((m) => m.createdAt >= cutoff)).toBe(true);

    // REST catch-up and the socket: from below the watermark, snapshot_required; from just below it, the rest in order.
    const below = await api(server, 'GET', `/api/parley/conversations/${conv}/changes?after_seq=10`, { token: member.token });
    expect(below.status).toBe(409);
    expect(below.body.code).toBe('snapshot_required');
    const atMark = await api(server, 'GET', `/api/parley/conversations/${conv}/changes?after_seq=30&limit=1000`, { token: member.token });
    expect(atMark.status).toBe(200);
    expect((atMark.body.frames as { message: { seq: number } }[]).map((f) => f.message.seq)).toEqual(range(31, history.lastSeq));
    const stale = await resumeSocket(server, member.token, conv, 5);
    expect(await stale.next('snapshot_required')).toMatchObject({ conversation_id: conv });
    stale.close();
    const current = await resumeSocket(server, member.token, conv, history.lastSeq - 2);
    expect((await current.next('message')).message.seq).toBe(history.lastSeq - 1);
    expect((await current.next('message')).message.seq).toBe(history.lastSeq);
    current.close();

    // Search no longer finds the purged messages.
    const found = await api(server, 'GET', `/api/parley/search?q=ancientword`, { token: member.token });
    expect(found.status).toBe(200);
    expect(found.body.results).toEqual([]);
  });

  it('a legal hold on the conversation stops its purge; on a user, the purge stops at their first message', async () => {
    const { admin, member } = await newTenant(server);
    const conv = await newGroup(server, admin, [member], 'Held');
    await setConversationRetention(server, admin, conv, 1);
    const sent: Sent[] = [];
    for (const [i, who] of ['a', 'a', 'm', 'a', 'm'].entries()) sent.push(await sendOne(server, who === 'a' ? admin : member, conv, `held ${i}`));
    await pastAll(sent);
    const later = Date.now() + DAY_MS;

    await hold(server, admin, 'conversation', conv, true);
    await purgeAt(server, later);
    expect((await wholeHistory(server, member, conv)).seqs).toEqual([1, 2, 3, 4, 5]);

    // A member may not place or lift holds.
    expect((await api(server, 'DELETE', `/api/parley/legal-holds/conversation/${conv}`, { token: member.token })).status).toBe(403);
    await hold(server, admin, 'conversation', conv, false);
    await hold(server, admin, 'user', member.user.id, true);
    await purgeAt(server, later);
    const held = await wholeHistory(server, member, conv);
    expect(held).toMatchObject({ purgedBeforeSeq: 3, seqs: [3, 4, 5] });
    const listed = await api(server, 'GET', '/api/parley/retention', { token: admin.token });
    expect(listed.body).toEqual({ days: null, legal_holds: [expect.objectContaining({ target_type: 'user', target_id: member.user.id })] });

    await hold(server, admin, 'user', member.user.id, false);
    await purgeAt(server, later);
    expect(await wholeHistory(server, member, conv)).toMatchObject({ purgedBeforeSeq: 6, seqs: [], lastSeq: 5 });
  });

  it('a purged message takes its file with it: the file store no longer serves it', async () => {
    const { admin, member } = await newTenant(server);
    const conv = await newGroup(server, admin, [member], 'Files');
    await setConversationRetention(server, admin, conv, 1);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#118833' } }).png().toBuffer();
    const withFile = await sendPng(server, member, conv, png, 'old.png');
    expect((await fetch(withFile.fileUrl)).status).toBe(200);
    await pastAll([withFile]);
    const report = await purgeAt(server, Date.now() + DAY_MS);
    expect(report.files).toBeGreaterThanOrEqual(1);
    expect((await fetch(withFile.fileUrl)).status).toBe(404);
  });

  it("the tenant's retention applies where a conversation sets none, and a conversation's own overrides it", async () => {
    const { admin, member } = await newTenant(server);
    const byTenant = await newGroup(server, admin, [member], 'Tenant rule');
    const own = await newGroup(server, admin, [member], 'Own rule');
    expect((await api(server, 'PUT', '/api/parley/retention', { token: member.token, json: { days: 1 } })).status).toBe(403);
    expect((await api(server, 'PUT', '/api/parley/retention', { token: admin.token, json: { days: 0 } })).status).toBe(422);
    expect((await api(server, 'PUT', '/api/parley/retention', { token: admin.token, json: { days: 1 } })).status).toBe(204);
    await setConversationRetention(server, admin, own, 3);
    const sent = [await sendOne(server, member, byTenant, 'one'), await sendOne(server, member, own, 'two')];
    await pastAll(sent);
    await purgeAt(server, Date.now() + 2 * DAY_MS);
    expect((await wholeHistory(server, member, byTenant)).purgedBeforeSeq).toBe(2);
    expect((await wholeHistory(server, member, own)).seqs).toEqual([1]);
  });
});
