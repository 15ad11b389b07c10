import { Type } from '@sinclair/typebox';
import { operation, shown, TAGS } from '../../http/api-docs.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { errors } from './routes.js';

const UnsubscribeQuery = Type.Object({ token: Type.String({ maxLength: 128, description: 'The signed token of the link in the e-mail.' }) });
const DONE_PAGE = '<!doctype html><meta charset="utf-8"><title>Unsubscribed</title><p>You will receive no more e-mail from Parley.</p>';

/**
 * The unsubscribe link of every e-mail Parley sends (issue 19): opened in a browser (GET) or
 * posted by the mail client's one-click unsubscribe (RFC 8058, POST), it turns e-mail off for
 * the token's user. No sign-in: the token is the proof.
 */
export function emailRoutes(ctx: DialectContext, app: DialectScope) {
  const { core } = ctx;
  const unsubscribe = async (token: string) => {
    if (!core.emailUnsubscribe) throw new Error('e-mail is not wired');
    await core.emailUnsubscribe.unsubscribe(token);
  };
  const doc = (id: string, summary: string, description: string) => ({
    ...operation({ tag: TAGS.parley, id, summary, description }),
    querystring: UnsubscribeQuery,
    response: { 200: shown('Unsubscribed: a page saying so', DONE_PAGE), ...errors },
  });
  app.get('/email/unsubscribe', { schema: doc('unsubscribeEmail', 'Stop e-mail (the link in an e-mail)', "Turns e-mail off for the user the signed token names; another token is 403. Every e-mail Parley sends carries this link, and in List-Unsubscribe.") }, async (req, reply) => {
    await unsubscribe(req.query.token);
    return reply.type('text/html; charset=utf-8').send(DONE_PAGE);
  });
  app.post('/email/unsubscribe', { schema: doc('unsubscribeEmailOneClick', 'Stop e-mail (one-click)', 'The same, posted by a mail client (List-Unsubscribe-Post: List-Unsubscribe=One-Click, RFC 8058); the body is ignored.') }, async (req, reply) => {
    await unsubscribe(req.query.token);
    return reply.type('text/html; charset=utf-8').send(DONE_PAGE);
  });
}
