import type { LegalHold } from '../../core/model.js';
import { example } from '../../http/api-docs.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { auditOrigin } from '../shared/audit-origin.js';
import { iso } from '../shared/time.js';
import { docs, errors, none } from './routes.js';
import { ConversationParams, ConversationRetentionOut, LegalHoldParams, RetentionBody, RetentionOut } from './schemas.js';

const renderHold = (h: LegalHold) => ({ target_type: h.targetType, target_id: h.targetId, created_at: iso(h.createdAt) });

/** Issue 20: the tenant's and a conversation's "keep N days", and legal holds (tenant admins). */
export function retentionRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  const admins = 'Tenant admins only.';

  authed.get('/retention', { schema: {
    ...docs('getRetention', "Read my tenant's retention and legal holds", `${admins} The tenant's "keep N days" (a conversation's own overrides it) and every legal hold.`),
    response: { 200: example(RetentionOut, 'Kept a year; one conversation held', { days: 365, legal_holds: [{ target_type: 'conversation', target_id: 7, created_at: '2024-01-01T12:00:00.000Z' }] }), ...errors },
  } }, async (req) => {
    const s = await core.retention.settings(req.user);
    return { days: s.tenantDays, legal_holds: s.holds.map(renderHold) };
  });
  authed.put('/retention', { schema: {
    ...docs('setRetention', "Set my tenant's retention", `${admins} Messages older than days (and their files) are purged in the background, except where a legal hold stands; null keeps them forever.`),
    body: example(RetentionBody, 'Keep a year', { days: 365 }),
    response: { ...none('Set'), ...errors },
  } }, async (req, reply) => {
    await core.retention.setTenantRetention(req.user, req.body.days, auditOrigin(req));
    return reply.code(204).send();
  });
  authed.put('/conversations/:id/retention', { schema: {
    ...docs('setConversationRetention', "Set a conversation's retention", `Its admins, or a tenant admin in it. Overrides the tenant's; null goes back to it. A history page stops at purged_before_seq, and a cursor below it gets snapshot_required.`),
    params: ConversationParams,
    body: example(RetentionBody, 'Keep 30 days', { days: 30 }),
    response: { 200: example(ConversationRetentionOut, 'Its retention and watermark', { retention_days: 30, purged_before_seq: 1 }), ...errors },
  } }, async (req) => {
    const r = await core.retention.setConversationRetention(req.user, req.params.id, req.body.days, auditOrigin(req));
    return { retention_days: r.retentionDays, purged_before_seq: r.purgedBeforeSeq };
  });
  authed.put('/legal-holds/:target_type/:target_id', { schema: {
    ...docs('placeLegalHold', 'Place a legal hold', `${admins} Nothing of the conversation (target_type conversation), or nothing the user sent (user), is purged while it stands. Placing it twice changes nothing.`),
    params: LegalHoldParams,
    response: { ...none('Held'), ...errors },
  } }, async (req, reply) => {
    await core.retention.setHold(req.user, { type: req.params.target_type, key: req.params.target_id }, true, auditOrigin(req));
    return reply.code(204).send();
  });
  authed.delete('/legal-holds/:target_type/:target_id', { schema: {
    ...docs('liftLegalHold', 'Lift a legal hold', `${admins} Retention purges the target again from its next round.`),
    params: LegalHoldParams,
    response: { ...none('Lifted'), ...errors },
  } }, async (req, reply) => {
    await core.retention.setHold(req.user, { type: req.params.target_type, key: req.params.target_id }, false, auditOrigin(req));
    return reply.code(204).send();
  });
}
