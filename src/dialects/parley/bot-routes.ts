import { Type } from '@sinclair/typebox';
import type { ApiKey, User } from '../../core/model.js';
import { deletedUser, Users } from '../../core/users.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { iso, isoOrNull } from '../shared/time.js';
import { renderUser } from './render.js';
import { docs, errors, none } from './routes.js';
import { ApiKeyBody, ApiKeyIssuedOut, ApiKeyOut, ApiKeyParams } from './schemas.js';
import { example } from '../../http/api-docs.js';

const EXAMPLE_BOT = { id: 5, uuid: '0192f7a2-0b07-7000-8000-0000000000b5', name: 'CI bot', email: 'bot-x1@bots.invalid', avatar_url: null, is_bot: true };
const EXAMPLE_KEY = { id: '0192f7a2-0c00-7000-8000-0000000000c1', name: 'CI bot', scopes: ['read', 'write'], bot: EXAMPLE_BOT, created_at: '2024-01-01T12:00:00.000Z', last_used_at: null, revoked_at: null };

const renderApiKey = (k: ApiKey, bot: User | undefined) => ({
  id: k.uuid,
  name: k.name,
  scopes: k.scopes,
  bot: renderUser(bot ? Users.summaryOf(bot) : deletedUser(k.botUserId)),
  created_at: iso(k.createdAt),
  last_used_at: isoOrNull(k.lastUsedAt),
  revoked_at: isoOrNull(k.revokedAt),
});

/** API keys and bots (issue 19): server-to-server access to Parley's own API. */
export function botRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  authed.post('/api-keys', { schema: {
    ...docs('createApiKey', 'Create an API key and its bot', 'Tenant admins only. The key acts as a new bot user of the tenant; its secret is shown once (only its SHA-256 digest is kept). Send it as Authorization: Bearer pk_… or X-Api-Key.'),
    body: example(ApiKeyBody, 'Its name and scopes', { name: 'CI bot', scopes: ['read', 'write'] }),
    response: { 201: example(ApiKeyIssuedOut, 'The key and its secret', { ...EXAMPLE_KEY, secret: 'pk_9f…' }), ...errors },
  } }, async (req, reply) => {
    const issued = await core.apiKeys.create(req.user, { name: req.body.name, scopes: req.body.scopes });
    return reply.code(201).send({ ...renderApiKey(issued.key, issued.bot), secret: issued.secret });
  });
  authed.get('/api-keys', { schema: {
    ...docs('listApiKeys', "List my tenant's API keys", 'Tenant admins only: every key with its scopes, bot, last use and revocation; secrets are never shown again.'),
    response: { 200: example(Type.Array(ApiKeyOut), 'The keys', [EXAMPLE_KEY]), ...errors },
  } }, async (req) => (await core.apiKeys.list(req.user)).map(({ key, bot }) => renderApiKey(key, bot)));
  authed.delete('/api-keys/:id', { schema: {
    ...docs('revokeApiKey', 'Revoke an API key', 'Tenant admins only: the key stops working at once, on every server process.', { ...none('Revoked'), ...errors }),
    params: ApiKeyParams,
  } }, async (req, reply) => {
    await core.apiKeys.revoke(req.user, req.params.id);
    return reply.code(204).send();
  });
}
