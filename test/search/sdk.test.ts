import { describe, expect, it } from 'vitest';
import { ParleyRest } from '@parley/sdk';
import { useParley } from '../helpers/parley.js';

// The SDK's search(): the same page as GET /api/parley/search, its cursor followed to the end.
describe('SDK: search', () => {
  const server = useParley();

  it('finds my messages page by page, with the matched words, and none of a conversation I left', async () => {
    const [ada, bob] = [new ParleyRest({ baseUrl: server.url }), new ParleyRest({ baseUrl: server.url })];
    const bobUser = (await bob.register({ email: `bob-${Date.now()}@search.example`, password: 'correct horse battery', name: 'Bob' })).user;
    await ada.register({ email: `ada-${Date.now()}@search.example`, password: 'correct horse battery', name: 'Ada' });
    const conv = await ada.createConversation({ kind: 'group', title: 'Trip', memberIds: [bobUser.id] });
    const sent = [];
    for (const content of ['東京都に行きます', '東京 again', 'not this one']) sent.push(await bob.sendMessage(conv.id, { content }));
    const first = await ada.search('東京', { limit: 1 });
    expect(first.results.map((r) => r.message.id)).toEqual([sent[1].id]);
    expect(first.results[0].highlight).toMatchObject({ field: 'content', text: '東京 again', ranges: [{ start: 0, end: 2 }] });
    const second = await ada.search('東京', { limit: 1, cursor: first.next! });
    expect(second.results.map((r) => r.message.id)).toEqual([sent[0].id]);
    expect(second.next).toBeNull();
    expect((await ada.search('東京', { conversationId: conv.id, senderId: bobUser.id, order: 'relevance' })).results).toHaveLength(2);
    await bob.removeParticipant(conv.id, bobUser.id);
    expect((await bob.search('東京')).results).toEqual([]);
  });
});
