import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { useUsers } from '../helpers/dialects.js';
import { useParley } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { group, say, search } from './support.js';

// The index row is cut into words where the send is handled (NewMessage.searchRow), before the
// writer's queue, and only inserted in the append's transaction: what was acknowledged is still
// searchable at once. SEARCH_INDEX=off writes no row and refuses search with its code.

/** Words of several scripts (with and without spaces between words in their writing). */
const WORDS = ['café', 'Straße', 'Москва', 'Αθήνα', 'القاهرة', '北京', '東京', '서울에서', 'ข้าว', 'report_q3.pdf', '🎉', 'quokka'];

describe.each(databases)('search index rows made before the writer on %s', (db) => {
  const server = useParley({ db });
  const [me, friend] = useUsers(server, 2);

  it('a message is found by each of its words as soon as its send is acknowledged, whatever words and in whatever order (property)', async () => {
    const room = await group(server, me, [friend]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 1e9 }), async (words, tag) => {
        // A tag makes the message the only one with every word; sent together, they share a batch.
        const marker = `t${tag}x`;
        const sent = await Promise.all([say(server, me, room, `${words.join(' ')} ${marker}`), say(server, friend, room, `other ${marker}`)]);
        for (const w of words) {
          const found = await search(server, friend, { q: `${w} ${marker}`, conversation_id: room });
          expect(found.results.map((r) => r.message.id), w).toEqual([sent[0].id]);
        }
      }),
      { numRuns: 12, seed: 18 },
    );
  });
});

describe.each(databases)('SEARCH_INDEX=off on %s', (db) => {
  const server = useParley({ db, env: { SEARCH_INDEX: 'off' } });
  const [me, friend] = useUsers(server, 2);

  it('sends still work and search is refused with search_disabled', async () => {
    const room = await group(server, me, [friend]);
    await say(server, me, room, 'nobody can search for this quokka');
    const r = await api(server, 'GET', '/api/parley/search?q=quokka', { token: friend.token });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ detail: 'Search is disabled on this server', code: 'search_disabled' });
  });
});
