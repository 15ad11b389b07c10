import { Type } from '@sinclair/typebox';
import type { Sanction, SanctionKind } from '../../backends/store/store.js';
import type { ReportsPage, SanctionInput } from '../../core/moderation/moderation.js';
import type { Id, UserSummary } from '../../core/model.js';
import { example } from '../../http/api-docs.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { iso, isoOrNull } from '../shared/time.js';
import { EXAMPLE } from './examples.js';
import { renderMessage, renderReport, renderUser } from './render.js';
import { docs, errors, none } from './routes.js';
import {
  ConversationParams, MyReportsQuery, ReportBody, ReportOut, ReportPageOut, ReportParams, ReportQueueQuery, ResolveBody, SanctionBody, SanctionOut, SanctionParams,
  MessageParams,
} from './schemas.js';

const { message, other } = EXAMPLE;
const REPORT = { id: 5, conversation_id: 7, message_id: 123, reporter_id: 2, author_id: 1, reason: 'Spam', state: 'open' as const, created_at: '2024-01-01T12:01:00.000Z', resolved_by: null, resolved_at: null };
const SANCTION = { user: other, kind: 'mute' as const, reason: 'Flooding', until: '2024-01-02T12:00:00.000Z', by: 1, created_at: '2024-01-01T12:00:00.000Z' };

/** A ban's or mute's body as the core takes it: `until` an ISO time. */
const sanctionInput = (b: { reason?: string | null; until?: string | null }): SanctionInput => ({ reason: b.reason, until: b.until ? Date.parse(b.until) : null });

const renderSanction = (s: Sanction, people: ReadonlyMap<Id, UserSummary>) => ({
  user: renderUser(people.get(s.userId)!),
  kind: s.kind,
  reason: s.reason,
  until: isoOrNull(s.until),
  by: s.createdBy,
  created_at: iso(s.createdAt),
});

/** Issue 20's moderation: bans and mutes per conversation, reports and the report queue. */
export function moderationRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;

  const renderPage = (page: ReportsPage) => {
    const byId = new Map(page.messages.map((m) => [m.id, m]));
    return {
      items: page.reports.map((r) => {
        const m = byId.get(r.messageId);
        return { ...renderReport(r), message: m ? renderMessage(ctx, m, page.senders.get(m.senderId)!) : null };
      }),
      next: page.next,
    };
  };

  const sanctionRoutes: { kind: SanctionKind; path: string; put: [string, string, string]; lift: [string, string, string] }[] = [
    { kind: 'ban', path: 'bans',
      put: ['banParticipant', 'Ban someone from a conversation', 'Removes them (everyone gets participant_changed) and keeps them out until `until` (absent: for good): they can neither join nor be added, and their sends are refused with `banned`. Admins and moderators of a group or channel, and tenant admins; a moderator cannot ban an admin.'],
      lift: ['unbanParticipant', 'Lift a ban', 'They may be added or join again (nothing adds them back).'] },
    { kind: 'mute', path: 'mutes',
      put: ['muteParticipant', 'Mute someone in a conversation', 'They stay and read, but their sends, edits and reactions are refused with `muted` until `until` (absent: for good). Who may ban may mute.'],
      lift: ['unmuteParticipant', 'Lift a mute', 'They may post again.'] },
  ];
  for (const { kind, path, put, lift } of sanctionRoutes) {
    authed.put(`/conversations/:id/${path}/:user_id`, { schema: {
      ...docs(...put),
      params: SanctionParams,
      body: example(SanctionBody, 'Why and until when', { reason: SANCTION.reason, until: SANCTION.until }),
      response: { 200: example(SanctionOut, 'In force', { ...SANCTION, kind }), ...errors },
    } }, async (req) => {
      const s = await (kind === 'ban' ? core.moderation.ban : core.moderation.mute).call(core.moderation, req.user, req.params.id, req.params.user_id, sanctionInput(req.body ?? {}));
      return renderSanction(s, await core.users.summaries([s.userId]));
    });
    authed.delete(`/conversations/:id/${path}/:user_id`, { schema: {
      ...docs(...lift, { ...none('Lifted (or none was in force)'), ...errors }),
      params: SanctionParams,
    } }, async (req, reply) => {
      await core.moderation.lift(req.user, req.params.id, req.params.user_id, kind);
      return reply.code(204).send();
    });
  }

  authed.get('/conversations/:id/sanctions', { schema: {
    ...docs('listSanctions', 'List bans and mutes', 'The bans and mutes in force in a group or channel, newest first; for its admins and moderators and tenant admins.'),
    params: ConversationParams,
    response: { 200: example(Type.Array(SanctionOut), 'In force', [SANCTION]), ...errors },
  } }, async (req) => {
    const { sanctions, people } = await core.moderation.list(req.user, req.params.id);
    return sanctions.map((s) => renderSanction(s, people));
  });

  authed.post('/messages/:id/reports', { schema: {
    ...docs('reportMessage', 'Report a message', "Reports someone else's message of a conversation I am in to its moderators, once, with a reason (rate-limited). I am told the outcome (report_resolved)."),
    params: MessageParams,
    body: example(ReportBody, 'Why', { reason: 'Spam' }),
    response: { 201: example(ReportOut, 'The open report', REPORT), ...errors },
  } }, async (req, reply) => reply.code(201).send(renderReport(await core.moderation.report(req.user, req.params.id, req.body.reason))));

  authed.get('/reports', { schema: {
    ...docs('listReports', 'The report queue', "Open reports, oldest first, with their messages: of one conversation (`conversation_id`: its admins and moderators, tenant admins) or of every conversation I moderate (a tenant admin: the tenant's)."),
    querystring: ReportQueueQuery,
    response: { 200: example(ReportPageOut, 'A page of open reports', { items: [{ ...REPORT, message }], next: null }), ...errors },
  } }, async (req) => renderPage(await core.moderation.queue(req.user, { conversation: req.query.conversation_id, after: req.query.after, limit: req.query.limit })));

  authed.get('/reports/mine', { schema: {
    ...docs('listMyReports', 'My reports', 'The reports I made, newest first, each with its state (open, or the outcome).'),
    querystring: MyReportsQuery,
    response: { 200: example(ReportPageOut, 'A page of my reports', { items: [{ ...REPORT, state: 'deleted', resolved_by: 1, resolved_at: '2024-01-01T12:09:00.000Z', message: null }], next: null }), ...errors },
  } }, async (req) => renderPage(await core.moderation.mine(req.user, { before: req.query.before, limit: req.query.limit })));

  authed.post('/reports/:id/resolve', { schema: {
    ...docs('resolveReport', 'Resolve a report', 'Dismiss it, delete the message (the reason shown with it), mute or ban its author (`reason`, `until` as for a mute or ban), or suspend its author\'s account (tenant admins), once: of two moderators at once, one acts and the other is refused; the reporter gets report_resolved.'),
    params: ReportParams,
    body: example(ResolveBody, 'The action', { action: 'delete', reason: 'Spam' }),
    response: { 200: example(ReportOut, 'The resolved report', { ...REPORT, state: 'deleted', resolved_by: 1, resolved_at: '2024-01-01T12:09:00.000Z' }), ...errors },
  } }, async (req) => {
    const { action, ...rest } = req.body;
    return renderReport(await core.moderation.resolve(req.user, req.params.id, action, sanctionInput(rest)));
  });
}
