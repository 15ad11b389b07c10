import { Type } from '@sinclair/typebox';
import type { WebhookEndpoint } from '../../core/model.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { example } from '../../http/api-docs.js';
import { iso, isoOrNull } from '../shared/time.js';
import { renderEvents } from './events.js';
import { docs, errors, none } from './routes.js';
import { EventsOut, EventsQuery, WebhookBody, WebhookCreatedOut, WebhookOut, WebhookParams, WebhookPatchBody } from './schemas.js';
import { auditOrigin } from '../shared/audit-origin.js';

/** An endpoint as its admins see it: never its secret (shown once, on creation). */
export const renderWebhook = (e: WebhookEndpoint) => ({
  id: e.uuid,
  url: e.url,
  event_types: e.eventTypes,
  conversation_id: e.conversationId,
  mention_user_id: e.mentionUserId,
  description: e.description,
  enabled: e.disabledReason === null,
  disabled_reason: e.disabledReason,
  disabled_at: isoOrNull(e.disabledAt),
  created_at: iso(e.createdAt),
  last_success_at: isoOrNull(e.lastSuccessAt),
  last_failure_at: isoOrNull(e.lastFailureAt),
  failing_since: isoOrNull(e.failingSince),
  last_error: e.lastError,
  pending: e.pending,
});

const EXAMPLE_WEBHOOK = {
  id: 'we_0190a1b2c3d47e8f9a0b1c2d3e4f5a6b',
  url: 'https://example.com/parley-events',
  event_types: ['message.created'],
  conversation_id: null,
  mention_user_id: null,
  description: 'Our CRM',
  enabled: true,
  disabled_reason: null,
  disabled_at: null,
  created_at: '2024-01-01T12:00:00.000Z',
  last_success_at: '2024-01-01T12:05:00.000Z',
  last_failure_at: null,
  failing_since: null,
  last_error: null,
  pending: 0,
};
const EXAMPLE_EVENT = {
  id: 'evt_0190a1b2c3d47e8f9a0b1c2d3e4f5a6c',
  cursor: 42,
  type: 'member.joined',
  timestamp: '2024-01-01T12:00:00.000Z',
  conversation_id: 7,
  data: { user: { id: 2, uuid: '0190a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6d', name: 'Jane', email: 'jane@example.com', avatar_url: null }, role: 'member' },
};

/** Issue 19: a tenant's webhook endpoints (its admins only) and its events log, read by cursor. */
export function webhookRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  const admins = 'Tenant admins only.';

  authed.post('/webhooks', { schema: {
    ...docs('createWebhook', 'Register a webhook endpoint', `${admins} Events from now on are POSTed to url, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the secret, shown only in this answer; in order per conversation, retried with backoff for at least 24 hours.`),
    body: example(WebhookBody, 'Where, and which events', { url: 'https://example.com/parley-events', event_types: ['message.created'], description: 'Our CRM' }),
    response: { 201: example(WebhookCreatedOut, 'The endpoint and its secret', { ...EXAMPLE_WEBHOOK, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }), ...errors },
  } }, async (req, reply) => {
    const b = req.body;
    const e = await core.webhooks.create(req.user, { url: b.url, eventTypes: b.event_types, conversationId: b.conversation_id, mentionUserId: b.mention_user_id, description: b.description }, auditOrigin(req));
    return reply.code(201).send({ ...renderWebhook(e), secret: e.secret });
  });
  authed.get('/webhooks', { schema: {
    ...docs('listWebhooks', "List my tenant's webhook endpoints", `${admins} Each with its delivery status: last success and failure, failing since, deliveries pending.`),
    response: { 200: example(Type.Array(WebhookOut), 'The endpoints', [EXAMPLE_WEBHOOK]), ...errors },
  } }, async (req) => (await core.webhooks.list(req.user)).map(renderWebhook));
  authed.get('/webhooks/:id', { schema: {
    ...docs('getWebhook', 'Read a webhook endpoint', `${admins} Its filters and delivery status.`),
    params: WebhookParams,
    response: { 200: example(WebhookOut, 'The endpoint', EXAMPLE_WEBHOOK), ...errors },
  } }, async (req) => renderWebhook(await core.webhooks.get(req.user, req.params.id)));
  authed.patch('/webhooks/:id', { schema: {
    ...docs('updateWebhook', 'Change, disable or enable a webhook endpoint', `${admins} enabled: true enables one disabled by an admin or after persistent failure; it resumes from the first event it had not delivered.`),
    params: WebhookParams,
    body: example(WebhookPatchBody, 'What changes', { enabled: true }),
    response: { 200: example(WebhookOut, 'The endpoint', EXAMPLE_WEBHOOK), ...errors },
  } }, async (req) => {
    const b = req.body;
    return renderWebhook(
      await core.webhooks.update(req.user, req.params.id, { url: b.url, eventTypes: b.event_types, conversationId: b.conversation_id, mentionUserId: b.mention_user_id, description: b.description, enabled: b.enabled }, auditOrigin(req)),
    );
  });
  authed.delete('/webhooks/:id', { schema: { ...docs('deleteWebhook', 'Delete a webhook endpoint', `${admins} Its pending deliveries are dropped.`, { ...none('Deleted'), ...errors }), params: WebhookParams } }, async (req, reply) => {
    await core.webhooks.remove(req.user, req.params.id, auditOrigin(req));
    return reply.code(204).send();
  });

  authed.get('/events', { schema: {
    ...docs('listEvents', "Read my tenant's events after a cursor", `${admins} The events webhooks deliver, with the same ids and bodies, in cursor order: a consumer that was down catches up from the last cursor it has.`),
    querystring: EventsQuery,
    response: { 200: example(EventsOut, 'A page of events', { events: [EXAMPLE_EVENT], next_cursor: 42 }), ...errors },
  } }, async (req) => {
    const after = req.query.after ?? 0;
    const events = renderEvents(ctx, await core.webhooks.events(req.user, after, req.query.limit ?? 100));
    return { events, next_cursor: events.length > 0 ? events[events.length - 1].cursor : after };
  });
}
