import { Type } from '@sinclair/typebox';
import type { ApiKey, IncomingWebhook, UserSummary } from '../../core/model.js';
import { Users } from '../../core/users.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { iso, isoOrNull } from '../shared/time.js';
import { renderMessage, renderUser } from './render.js';
import { docs, errors, none } from './routes.js';
import {
  ApiKeyBody,
  ApiKeyIssuedOut,
  ApiKeyOut,
  ApiKeyParams,
  ConversationParams,
  HookPostBody,
  HookPostParams,
  IncomingWebhookBody,
  IncomingWebhookIssuedOut,
  IncomingWebhookOut,
  IncomingWebhookParams,
  MessageOut,
} from './schemas.js';
import { TAGS, example, operation } from '../../http/api-docs.js';
import { EXAMPLE } from './examples.js';
import { auditOrigin } from '../shared/audit-origin.js';

const EXAMPLE_BOT = { id: 5, uuid: '0192f7a2-0b07-7000-8000-0000000000b5', name: 'CI bot', email: 'bot-x1@bots.invalid', avatar_url: null, is_bot: true };
const EXAMPLE_KEY = { id: '0192f7a2-0c00-7000-8000-0000000000c1', name: 'CI bot', scopes: ['read', 'write'], bot: EXAMPLE_BOT, created_at: '2024-01-01T12:00:00.000Z', last_used_at: null, revoked_at: null };

const EXAMPLE_HOOK = { id: '0192f7a2-0d00-7000-8000-0000000000d1', conversation_id: 7, name: 'CI', bot: { ...EXAMPLE_BOT, name: 'CI' }, created_by: 1, created_at: '2024-01-01T12:00:00.000Z', revoked_at: null };
const EXAMPLE_HOOK_PATH = '/api/parley/hooks/0192f7a2-0d00-7000-8000-0000000000d1/Zk3…';

const renderApiKey = (k: ApiKey, bot: UserSummary) => ({
  id: k.uuid,
  name: k.name,
  scopes: k.scopes,
  bot: renderUser(bot),
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
    const issued = await core.apiKeys.create(req.user, { name: req.body.name, scopes: req.body.scopes }, auditOrigin(req));
    return reply.code(201).send({ ...renderApiKey(issued.key, Users.summaryOf(issued.bot)), secret: issued.secret });
  });
  authed.get('/api-keys', { schema: {
    ...docs('listApiKeys', "List my tenant's API keys", 'Tenant admins only: every key with its scopes, bot, last use and revocation; secrets are never shown again.'),
    response: { 200: example(Type.Array(ApiKeyOut), 'The keys', [EXAMPLE_KEY]), ...errors },
  } }, async (req) => (await core.apiKeys.list(req.user)).map(({ key, bot }) => renderApiKey(key, bot)));
  authed.delete('/api-keys/:id', { schema: {
    ...docs('revokeApiKey', 'Revoke an API key', 'Tenant admins only: the key stops working at once, on every server process.', { ...none('Revoked'), ...errors }),
    params: ApiKeyParams,
  } }, async (req, reply) => {
    await core.apiKeys.revoke(req.user, req.params.id, auditOrigin(req));
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ incoming webhooks
  const hookPath = (h: IncomingWebhook, secret: string) => `/api/parley/hooks/${h.uuid}/${secret}`;
  authed.post('/conversations/:id/incoming-webhooks', { schema: {
    ...docs(
      'createIncomingWebhook',
      'Create an incoming webhook',
      'Who may add members here (a channel: its admins). A new bot joins the conversation; POSTing {"text"} to the secret URL (shown once) posts as it.',
    ),
    params: ConversationParams,
    body: example(IncomingWebhookBody, "The hook's name", { name: 'CI' }),
    response: { 201: example(IncomingWebhookIssuedOut, 'The hook and its URL', { ...EXAMPLE_HOOK, url: `https://chat.example.com${EXAMPLE_HOOK_PATH}`, path: EXAMPLE_HOOK_PATH }), ...errors },
  } }, async (req, reply) => {
    const { hook, bot, secret } = await core.incomingWebhooks.create(req.user, req.params.id, { name: req.body.name }, auditOrigin(req));
    const path = hookPath(hook, secret);
    return reply.code(201).send({ ...renderHook(hook, Users.summaryOf(bot)), url: ctx.config.publicUrl + path, path });
  });
  authed.get('/conversations/:id/incoming-webhooks', { schema: {
    ...docs('listIncomingWebhooks', "List a conversation's incoming webhooks", 'Who may add members here: every hook, revoked ones too; URLs are never shown again.'),
    params: ConversationParams,
    response: { 200: example(Type.Array(IncomingWebhookOut), 'The hooks', [EXAMPLE_HOOK]), ...errors },
  } }, async (req) => {
    const hooks = await core.incomingWebhooks.list(req.user, req.params.id);
    // A bot removed since is named by the core (Users.named), as every rendering of people is.
    const bots = await core.users.named(hooks.map((h) => h.botUserId));
    return hooks.map((h) => renderHook(h, bots.get(h.botUserId)!));
  });
  authed.delete('/conversations/:id/incoming-webhooks/:hook_id', { schema: {
    ...docs('revokeIncomingWebhook', 'Revoke an incoming webhook', 'Who may add members here: its URL stops working at once; what it posted stays.', { ...none('Revoked'), ...errors }),
    params: IncomingWebhookParams,
  } }, async (req, reply) => {
    await core.incomingWebhooks.revoke(req.user, req.params.id, req.params.hook_id, auditOrigin(req));
    return reply.code(204).send();
  });
}

const renderHook = (h: IncomingWebhook, bot: UserSummary) => ({
  id: h.uuid,
  conversation_id: h.conversationId,
  name: h.name,
  bot: renderUser(bot),
  created_by: h.createdBy,
  created_at: iso(h.createdAt),
  revoked_at: isoOrNull(h.revokedAt),
});

// What a hook's post answers: the message as sent, by the hook's bot (no local_temp_id: a hook has none).
const { local_temp_id: _none, ...sentByHook } = EXAMPLE.message;
const POSTED = { ...sentByHook, sender: EXAMPLE_BOT, content: 'Build #42 passed', reactions: [] };

/** The incoming webhooks' own route: its URL is its credential, so it takes no token. */
export function botOpen(ctx: DialectContext, app: DialectScope) {
  app.post('/hooks/:id/:secret', { schema: {
    ...operation({
      tag: TAGS.parley,
      id: 'postIncomingWebhook',
      summary: 'Post through an incoming webhook',
      description: 'No token: the URL is the credential. Posts `text` as the hook\'s bot (rate-limited like any send). An unknown, revoked or wrong URL is 404.',
    }),
    params: HookPostParams,
    body: example(HookPostBody, 'The message', { text: 'Build #42 passed' }),
    response: { 201: example(MessageOut, 'Posted', POSTED), ...errors },
  } }, async (req, reply) => {
    const { result, bot } = await ctx.core.incomingWebhooks.post(req.params.id, req.params.secret, { text: req.body.text });
    return reply.code(201).send(renderMessage(ctx, result.message, Users.summaryOf(bot)));
  });
}
