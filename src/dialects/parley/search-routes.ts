import type { DialectContext, DialectScope } from '../dialect.js';
import { example } from '../../http/api-docs.js';
import { renderMessage } from './render.js';
import { docs, errors } from './routes.js';
import { SearchOut, SearchQuery } from './schemas.js';
import { EXAMPLE } from './examples.js';

/** GET /search: full text over the caller's conversations (docs/search.md). */
export function parleySearch(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  const found = { ...EXAMPLE.message, content: 'Shall we meet at the café tomorrow?' };
  authed.get(
    '/search',
    { schema: {
      ...docs(
        'search',
        'Search messages',
        "Messages whose text or files' names hold every word of q (each as the beginning of a word; case and accents ignored; Chinese, Japanese and Thai segmented into words), only in conversations I am in now and never deleted ones. Newest first (or order=relevance); page with next_cursor. The highlight is plain text with the ranges that matched: escape it before showing it.",
      ),
      querystring: SearchQuery,
      response: {
        200: example(SearchOut, 'One page of results', {
          results: [{ message: found, highlight: { field: 'content', text: found.content, ranges: [{ start: 21, end: 25 }] } }],
          next_cursor: '118',
        }),
        ...errors,
      },
    } },
    async (req) => {
      const q = req.query;
      const page = await core.search.messages(req.user, {
        text: q.q,
        conversation: q.conversation_id,
        senderId: q.sender_id,
        has: q.has,
        before: q.before === undefined ? undefined : Date.parse(q.before),
        after: q.after === undefined ? undefined : Date.parse(q.after),
        thread: q.thread_id,
        order: q.order,
        cursor: q.cursor,
        limit: q.limit,
      });
      return {
        results: page.hits.map((h) => ({
          message: renderMessage(ctx, h.message, page.senders.get(h.message.senderId)!),
          highlight: h.highlight && { field: h.highlight.field, text: h.highlight.text, ranges: h.highlight.ranges.map(([start, end]) => ({ start, end })) },
        })),
        next_cursor: page.next,
      };
    },
  );
}
