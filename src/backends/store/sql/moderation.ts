import type { Id, Millis } from '../../../core/model.js';
import type { MessageReport, ModerationStore, NewReport, ReportQueueScope, ReportState, Sanction, SanctionKind } from '../store.js';
import type { ConversationSanctionsTable, MessageReportsTable } from '../schema.js';
import { SqlAggregate } from './aggregate.js';

const nullableNumber = (v: number | null): number | null => (v === null ? null : Number(v));

const toSanction = (r: ConversationSanctionsTable): Sanction => ({
  conversationId: Number(r.conversation_id),
  userId: Number(r.user_id),
  kind: r.kind as SanctionKind,
  reason: r.reason,
  until: nullableNumber(r.until),
  createdBy: nullableNumber(r.created_by),
  createdAt: Number(r.created_at),
});

type ReportRow = Omit<MessageReportsTable, 'id'> & { id: number };

const toReport = (r: ReportRow): MessageReport => ({
  id: Number(r.id),
  tenantId: Number(r.tenant_id),
  conversationId: Number(r.conversation_id),
  messageId: Number(r.message_id),
  reporterId: Number(r.reporter_id),
  authorId: Number(r.author_id),
  reason: r.reason,
  state: r.state as ReportState,
  createdAt: Number(r.created_at),
  resolvedBy: nullableNumber(r.resolved_by),
  resolvedAt: nullableNumber(r.resolved_at),
});

/** Bans, mutes, reports and moderators' deletion reasons (issue 20). */
export class SqlModeration extends SqlAggregate implements ModerationStore {
  #sanctions() {
    return this.db.selectFrom('conversation_sanctions').selectAll();
  }

  #reports() {
    return this.db.selectFrom('message_reports').selectAll();
  }

  async putSanction(s: Sanction): Promise<void> {
    const values = { reason: s.reason, until: s.until, created_by: s.createdBy, created_at: s.createdAt };
    await this.runner.run(
      this.db
        .insertInto('conversation_sanctions')
        .values({ conversation_id: s.conversationId, user_id: s.userId, kind: s.kind, ...values })
        .onConflict((oc) => oc.columns(['conversation_id', 'user_id', 'kind']).doUpdateSet(values))
        .compile(),
    );
  }

  async liftSanction(conversationId: Id, userId: Id, kind: SanctionKind, now: Millis): Promise<boolean> {
    const n = await this.runner.run(
      this.db
        .deleteFrom('conversation_sanctions')
        .where('conversation_id', '=', conversationId)
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where((eb) => eb.or([eb('until', 'is', null), eb('until', '>', now)]))
        .compile(),
    );
    return n > 0;
  }

  async sanctionsOf(conversationId: Id, userId: Id, now: Millis): Promise<Sanction[]> {
    const rows = await this.all(
      this.fixed('sanctionsOf', [conversationId, userId, now], () =>
        this.#sanctions()
          .where('conversation_id', '=', conversationId)
          .where('user_id', '=', userId)
          .where((eb) => eb.or([eb('until', 'is', null), eb('until', '>', now)])),
      ),
    );
    return rows.map(toSanction);
  }

  async sanctions(conversationId: Id, now: Millis): Promise<Sanction[]> {
    const rows = await this.all(
      this.#sanctions()
        .where('conversation_id', '=', conversationId)
        .where((eb) => eb.or([eb('until', 'is', null), eb('until', '>', now)]))
        .orderBy('created_at', 'desc')
        .orderBy('user_id'),
    );
    return rows.map(toSanction);
  }

  async createReport(r: NewReport): Promise<MessageReport | undefined> {
    const rows = await this.all(
      this.db
        .insertInto('message_reports')
        .values({
          tenant_id: r.tenantId, conversation_id: r.conversationId, message_id: r.messageId, reporter_id: r.reporterId,
          author_id: r.authorId, reason: r.reason, state: 'open', created_at: r.createdAt, resolved_by: null, resolved_at: null,
        })
        .onConflict((oc) => oc.columns(['message_id', 'reporter_id']).doNothing())
        .returningAll(),
    );
    return rows[0] ? toReport(rows[0]) : undefined;
  }

  async report(id: Id): Promise<MessageReport | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const r = await this.first(this.#reports().where('id', '=', id));
    return r ? toReport(r) : undefined;
  }

  async resolveReport(id: Id, state: Exclude<ReportState, 'open'>, by: Id, at: Millis): Promise<boolean> {
    const n = await this.runner.run(
      this.db.updateTable('message_reports').set({ state, resolved_by: by, resolved_at: at }).where('id', '=', id).where('state', '=', 'open').compile(),
    );
    return n > 0;
  }

  async reopenReport(id: Id, state: Exclude<ReportState, 'open'>, by: Id, at: Millis): Promise<boolean> {
    const n = await this.runner.run(
      this.db
        .updateTable('message_reports')
        .set({ state: 'open', resolved_by: null, resolved_at: null })
        .where('id', '=', id)
        .where('state', '=', state)
        .where('resolved_by', '=', by)
        .where('resolved_at', '=', at)
        .compile(),
    );
    return n > 0;
  }

  async openReports(scope: ReportQueueScope, afterId: Id, limit: number): Promise<MessageReport[]> {
    let q = this.#reports().where('tenant_id', '=', scope.tenantId).where('state', '=', 'open').where('id', '>', afterId);
    if (scope.conversationId !== undefined) q = q.where('conversation_id', '=', scope.conversationId);
    const moderatorId = scope.moderatorId;
    if (moderatorId !== undefined) {
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('participants as p')
            .select('p.user_id')
            .whereRef('p.conversation_id', '=', 'message_reports.conversation_id')
            .where('p.user_id', '=', moderatorId)
            .where('p.left_at', 'is', null)
            .where('p.role', 'in', ['admin', 'moderator']),
        ),
      );
    }
    return (await this.all(q.orderBy('id').limit(limit))).map(toReport);
  }

  async reportsBy(reporterId: Id, beforeId: Id | undefined, limit: number): Promise<MessageReport[]> {
    let q = this.#reports().where('reporter_id', '=', reporterId);
    if (beforeId !== undefined) q = q.where('id', '<', beforeId);
    return (await this.all(q.orderBy('id', 'desc').limit(limit))).map(toReport);
  }

  async recordDeletion(messageId: Id, deletedBy: Id, reason: string): Promise<void> {
    await this.runner.run(
      this.db.insertInto('message_deletions').values({ message_id: messageId, deleted_by: deletedBy, reason }).onConflict((oc) => oc.column('message_id').doNothing()).compile(),
    );
  }

  async deletionsOf(messageIds: readonly Id[]): Promise<Map<Id, { deletedBy: Id; reason: string }>> {
    if (messageIds.length === 0) return new Map();
    const rows = await this.all(this.db.selectFrom('message_deletions').selectAll().where('message_id', 'in', [...messageIds]));
    return new Map(rows.map((r) => [Number(r.message_id), { deletedBy: Number(r.deleted_by), reason: r.reason }]));
  }
}
