import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { useUsers } from '../helpers/dialects.js';
import { group, marked, say, search } from './support.js';

// The queries users of other chat systems report failing (issue 18): each must find its
// message in the searcher's conversation, and nothing of a conversation they are not in
// (which holds the same texts).
const CORPUS: { text: string; query: string; marks: string[] }[] = [
  { text: '我们明天在北京开会', query: '北京', marks: ['北京'] },
  { text: '東京都に行きます', query: '東京', marks: ['東京'] },
  { text: '서울에서 만나요', query: '서울', marks: ['서울에서'] },
  { text: 'ฉันชอบกินข้าวผัด', query: 'ข้าวผัด', marks: ['ข้าว', 'ผัด'] },
  { text: 'Das Donaudampfschiff legt ab', query: 'Donau', marks: ['Donaudampfschiff'] },
  { text: 'On se retrouve au café ?', query: 'cafe', marks: ['café'] },
  { text: 'Send me your RÉSUMÉ today', query: 'Resume', marks: ['RÉSUMÉ'] },
  { text: 'Встретимся в Москве завтра', query: 'москве', marks: ['Москве'] },
  { text: 'Η ΣΟΦΙΑ έρχεται αύριο', query: 'σοφια ερχεται', marks: ['ΣΟΦΙΑ', 'έρχεται'] },
  { text: 'مرحباً يا صديقي', query: 'مرحبا', marks: ['مرحباً'] },
  { text: 'Release party tonight 🎉 bring snacks', query: '🎉', marks: ['🎉'] },
  { text: 'Die Straße ist gesperrt', query: 'strasse', marks: ['Straße'] },
];

describe.each(databases)('search corpus on %s', (db) => {
  const server = useParley({ db });
  const [me, friend, stranger] = useUsers(server, 3);

  it('finds every query of the corpus in my conversation, never in one I am not in', async () => {
    const mine = await group(server, me, [friend]);
    const theirs = await group(server, friend, [stranger]);
    const sent = new Map<string, number>();
    for (const c of CORPUS) {
      sent.set(c.query, (await say(server, friend, mine, c.text)).id);
      await say(server, stranger, theirs, c.text);
    }
    for (const c of CORPUS) {
      const { results } = await search(server, me, { q: c.query });
      expect(results.map((r) => r.message.conversation_id), c.query).toEqual([mine]);
      expect(results.map((r) => r.message.id), c.query).toEqual([sent.get(c.query)]);
      expect(marked(results[0]), c.query).toEqual(c.marks);
    }
    // The stranger finds them too, only in their own conversation.
    const theirsFound = await search(server, stranger, { q: '北京' });
    expect(theirsFound.results.map((r) => r.message.conversation_id)).toEqual([theirs]);
  });

  it('a word that is not there finds nothing; a word inside another (not at its start) neither', async () => {
    const mine = await group(server, me, [friend]);
    await say(server, friend, mine, 'Donaudampfschiff');
    expect((await search(server, me, { q: 'dampfschiff', conversation_id: mine })).results).toEqual([]);
    expect((await search(server, me, { q: 'zeppelin', conversation_id: mine })).results).toEqual([]);
  });
});
