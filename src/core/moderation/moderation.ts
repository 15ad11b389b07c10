import type { Accounts } from '../accounts/accounts.js';
import type { MessageReport, ReportQueueScope, ReportState, Sanction, SanctionKind, Store } from '../../backends/store/store.js';
import type { AuditEntryInput, AuditRecorder } from '../audit/ports.js';
import type { RaceHooks } from '../hooks.js';
import type { ConversationKey, Conversations } from '../conversations/conversations.js';
import { DomainError, refusal, storeCall } from '../errors.js';
import type { EventPublisher } from '../events.js';
import { MODERATION_REASON_MAX, tooLong, type MessageKey, type Messages, type NamedMessages } from '../messages/messages.js';
import type { Conversation, Id, Millis, Role, User, UserSummary } from '../model.js';
import type { RateLimits } from '../rate-limits.js';
import { deletedUser, Users } from '../users.js';

/** A ban's or mute's reason and end (null or absent: permanent). */
export interface SanctionInput {
  reason?: string | null;
  until?: Millis | null;
}

/** What a moderator does with a report; suspending the author is a tenant admin's (Accounts.suspend's rule). */
export type ReportAction = 'dismiss' | 'delete' | 'mute' | 'ban' | 'suspend';

const STATE_OF: Record<ReportAction, Exclude<ReportState, 'open'>> = { dismiss: 'dismissed', delete: 'deleted', mute: 'muted', ban: 'banned', suspend: 'suspended' };

/** The longest report reason, in characters. */
export const REPORT_REASON_MAX = 1000;

/** Reports with the messages they name and everyone a rendering of them names. */
export interface ReportsPage extends NamedMessages {
  reports: MessageReport[];
  /** Reporters (and resolvers) by id. */
  people: ReadonlyMap<Id, UserSummary>;
  /** The next page's cursor, null on the last. */
  next: Id | null;
}

/** Who acts: a conversation's admin or moderator, or a tenant admin (who need not be in it). */
type Authority = Role | 'tenant_admin';

/**
 * Per-conversation moderation (issue 20): bans, mutes and the report queue. Its admins and
 * moderators and the tenant's admins moderate a group or channel; a moderator never acts on
 * an admin. Bans and mutes are enforced where people come in or post (Sanctions).
 */
export class Moderation {
  /** Set by tests only (Core's hooks). */
  hooks: RaceHooks = {};

  constructor(
    readonly store: Store,
    readonly conversations: Conversations,
    readonly messages: Messages,
    readonly users: Users,
    readonly events: EventPublisher,
    readonly limits: RateLimits,
    readonly audit: AuditRecorder,
    readonly accounts: Pick<Accounts, 'suspend'>,
  ) {}

  /**
   * The conversation and how the actor may moderate it; anyone else is refused. A direct
   * conversation has no moderators: only a tenant admin handles its reports (`reportsOnly`).
   */
  async #authority(actor: User, key: ConversationKey, reportsOnly = false): Promise<{ conversation: Conversation; as: Authority }> {
    const conversation = typeof key === 'number' ? await this.store.conversationById(key) : await this.store.conversationByUuid(key);
    if (!conversation || conversation.tenantId !== actor.tenantId) throw new DomainError('conversation_not_found');
    const role = await this.conversations.role(conversation.id, actor.id);
    if (actor.tenantRole !== 'admin' && !role) throw new DomainError('conversation_not_found');
    if (conversation.kind === 'direct' && !(reportsOnly && actor.tenantRole === 'admin')) throw new DomainError('not_a_group');
    if (actor.tenantRole === 'admin') return { conversation, as: 'tenant_admin' };
    if (role !== 'admin' && role !== 'moderator') throw refusal('moderators_only');
    return { conversation, as: role };
  }

  /** The user to ban or mute: never oneself, never an admin by a moderator (the attack of a moderator demoting an admin). */
  async #target(actor: User, as: Authority, conversation: Conversation, userKey: Id | string): Promise<{ user: User; role: Role | undefined }> {
    const user = await this.users.resolve(actor, userKey);
    if (user.id === actor.id) throw refusal('sanction_self');
    const role = await this.conversations.role(conversation.id, user.id);
    if (role === 'admin' && as === 'moderator') throw refusal('admin_protected');
    return { user, role };
  }

  /**
   * The moderator-vs-admin rule again, inside the sanction's transaction and under the lock a
   * promotion takes: a promotion that committed after `#target` read the role is seen here, and
   * one that comes later waits for the sanction (then finds a banned user gone).
   */
  async #guard(tx: Store, as: Authority, conversation: Conversation, user: User): Promise<void> {
    if (as === 'moderator' && (await tx.lockedRole(conversation.id, user.id)) === 'admin') throw refusal('admin_protected');
    await this.hooks.sanctionChecked?.(conversation.id, user.id);
  }

  static #validated(input: SanctionInput, now: Millis): { reason: string | null; until: Millis | null } {
    const reason = input.reason?.trim() || null;
    if (reason && tooLong(reason, MODERATION_REASON_MAX)) throw refusal('moderation_reason_too_long', { max: MODERATION_REASON_MAX });
    const until = input.until ?? null;
    if (until !== null && until <= now) throw refusal('until_not_future');
    return { reason, until };
  }

  /**
   * Bans someone: out of the conversation now, and neither added nor joining again while it is
   * in force. The ban is written before the removal, so an add racing it is refused.
   */
  async ban(actor: User, key: ConversationKey, userKey: Id | string, input: SanctionInput = {}, also?: AuditEntryInput): Promise<Sanction> {
    return this.#sanction(actor, key, userKey, 'ban', input, also);
  }

  /** Mutes someone: they stay and read, but neither send, edit nor react while it is in force. */
  async mute(actor: User, key: ConversationKey, userKey: Id | string, input: SanctionInput = {}, also?: AuditEntryInput): Promise<Sanction> {
    return this.#sanction(actor, key, userKey, 'mute', input, also);
  }

  /**
   * One transaction: the role checked under the conversation's lock, the sanction, for a ban
   * the removal, and the audit entry (with `also`, a report's resolution). A ban removes
   * whether or not they were a member when it began: an add waits on the same lock and then
   * reads the ban. The store refuses to remove the last admin (last_admin): then nothing of it
   * commits, the ban and its entry neither.
   */
  async #sanction(actor: User, key: ConversationKey, userKey: Id | string, kind: SanctionKind, input: SanctionInput, also?: AuditEntryInput): Promise<Sanction> {
    const { conversation, as } = await this.#authority(actor, key);
    const { user } = await this.#target(actor, as, conversation, userKey);
    const now = Date.now();
    const sanction: Sanction = { conversationId: conversation.id, userId: user.id, kind, ...Moderation.#validated(input, now), createdBy: actor.id, createdAt: now };
    const entry = this.#entry(actor, kind === 'ban' ? 'conversation.ban' : 'conversation.mute', conversation, user, sanction);
    const removed = await storeCall(
      this.audit.within(
        this.store,
        async (tx) => {
          await this.#guard(tx, as, conversation, user);
          await tx.putSanction(sanction);
          return kind === 'ban' && (await tx.removeParticipant(conversation.id, user.id, now));
        },
        () => (also ? [entry, also] : entry),
        now,
      ),
    );
    if (removed) this.events.publish({ type: 'participant.removed', conversation: await this.conversations.ref(conversation), user: Users.summaryOf(user), by: actor.id });
    return sanction;
  }

  /** Lifts a ban or mute; false when none was in force. A moderator lifts none of an admin's. */
  async lift(actor: User, key: ConversationKey, userKey: Id | string, kind: SanctionKind): Promise<boolean> {
    const { conversation, as } = await this.#authority(actor, key);
    const { user } = await this.#target(actor, as, conversation, userKey);
    const entry = this.#entry(actor, kind === 'ban' ? 'conversation.unban' : 'conversation.unmute', conversation, user, null);
    return this.audit.within(
      this.store,
      async (tx) => {
        await this.#guard(tx, as, conversation, user);
        return tx.liftSanction(conversation.id, user.id, kind, Date.now());
      },
      (lifted) => (lifted ? entry : null),
    );
  }

  /** The conversation's bans and mutes in force, newest first, with the people they name. */
  async list(actor: User, key: ConversationKey): Promise<{ sanctions: Sanction[]; people: ReadonlyMap<Id, UserSummary> }> {
    const { conversation } = await this.#authority(actor, key);
    const sanctions = await this.store.sanctions(conversation.id, Date.now());
    const people = new Map(await this.users.summaries(sanctions.flatMap((s) => (s.createdBy === null ? [s.userId] : [s.userId, s.createdBy]))));
    // A banned user whose account is gone is named as the placeholder, once for every dialect.
    for (const s of sanctions) if (!people.has(s.userId)) people.set(s.userId, deletedUser(s.userId));
    return { sanctions, people };
  }

  #entry(actor: User, action: string, conversation: Conversation, user: User, sanction: Sanction | null): AuditEntryInput {
    return {
      tenantId: actor.tenantId,
      actorId: actor.id,
      action,
      targetType: 'user',
      targetId: String(user.id),
      reason: sanction?.reason ?? null,
      details: { conversationId: conversation.id, ...(sanction ? { until: sanction.until } : {}) },
    };
  }

  /** Reports a message the actor can see (not their own), once, with a reason; rate-limited. */
  async report(actor: User, key: MessageKey, reason: string): Promise<MessageReport> {
    await this.limits.report(actor.id);
    const why = reason.trim();
    if (!why) throw refusal('report_reason_required');
    if (tooLong(why, REPORT_REASON_MAX)) throw refusal('moderation_reason_too_long', { max: REPORT_REASON_MAX });
    const { message, conversation } = await this.messages.get(actor, key);
    if (message.deletedAt !== null) throw new DomainError('message_deleted');
    if (message.senderId === actor.id) throw refusal('report_own_message');
    const report = await this.store.createReport({
      tenantId: actor.tenantId, conversationId: conversation.id, messageId: message.id, reporterId: actor.id, authorId: message.senderId, reason: why, createdAt: Date.now(),
    });
    if (!report) throw new DomainError('already_reported');
    return report;
  }

  /**
   * Open reports, oldest first, a page at a time (`after`: the previous page's `next`): of one
   * conversation (its moderators, tenant admins), or every one the actor moderates (a tenant
   * admin: the tenant's).
   */
  async queue(actor: User, opts: { conversation?: ConversationKey; after?: Id; limit?: number }): Promise<ReportsPage> {
    const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 50)), 100);
    const scope: ReportQueueScope = { tenantId: actor.tenantId };
    if (opts.conversation !== undefined) scope.conversationId = (await this.#authority(actor, opts.conversation, true)).conversation.id;
    else if (actor.tenantRole !== 'admin') scope.moderatorId = actor.id;
    const rows = await this.store.openReports(scope, opts.after ?? 0, limit + 1);
    return this.#page(rows.slice(0, limit), rows.length > limit ? rows[limit - 1].id : null);
  }

  /** The actor's own reports in any state, newest first (`before`: the previous page's `next`). */
  async mine(actor: User, opts: { before?: Id; limit?: number }): Promise<ReportsPage> {
    const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 50)), 100);
    const rows = await this.store.reportsBy(actor.id, opts.before, limit + 1);
    return this.#page(rows.slice(0, limit), rows.length > limit ? rows[limit - 1].id : null);
  }

  async #page(reports: MessageReport[], next: Id | null): Promise<ReportsPage> {
    const messages = (await Promise.all([...new Set(reports.map((r) => r.messageId))].map((id) => this.store.messageById(id)))).filter((m) => m !== undefined);
    const named = await this.messages.named(messages);
    const people = await this.users.summaries(reports.flatMap((r) => (r.resolvedBy === null ? [r.reporterId] : [r.reporterId, r.resolvedBy])));
    return { ...named, reports, people, next };
  }

  /**
   * Resolves an open report with an action on its message or author (a ban or mute by the
   * rules of `ban` and `mute`), once; the reporter is told the outcome on every device.
   */
  async resolve(actor: User, reportId: Id, action: ReportAction, input: SanctionInput = {}): Promise<MessageReport> {
    const report = await this.store.report(reportId);
    if (!report || report.tenantId !== actor.tenantId) throw new DomainError('report_not_found');
    const { conversation } = await this.#authority(actor, report.conversationId, action === 'dismiss' || action === 'delete' || action === 'suspend').catch((e) => {
      throw e instanceof DomainError && e.code === 'conversation_not_found' ? new DomainError('report_not_found') : e;
    });
    if (report.state !== 'open') throw new DomainError('report_resolved');
    // Claimed before acting: of two moderators resolving it at once, only the one whose claim
    // holds acts (the other's suspension or deletion used to run as well, under a report that
    // says the first's outcome). An action refused gives the claim back.
    const at = Date.now();
    const entry: AuditEntryInput = {
      tenantId: actor.tenantId, actorId: actor.id, action: `report.${action}`, targetType: 'report', targetId: String(report.id),
      reason: input.reason ?? null, details: { conversationId: conversation.id, messageId: report.messageId },
    };
    // A dismissal is the claim alone: its entry commits with it. Otherwise the report's entry
    // commits with the action's (the deletion, ban, mute or suspension and its own entry), in
    // one transaction.
    const claimed = await this.audit.within(this.store, (tx) => tx.resolveReport(report.id, STATE_OF[action], actor.id, at), (ok) => (ok && action === 'dismiss' ? entry : null));
    if (!claimed) throw new DomainError('report_resolved');
    try {
      if (action === 'delete') {
        const message = await this.store.messageById(report.messageId);
        // Its entry with the deletion's (none when it was deleted already).
        if (message && message.deletedAt === null) await this.messages.tombstone(actor, message, await this.conversations.ref(conversation), input.reason, entry);
        else await this.audit.record(entry);
      } else if (action === 'suspend') {
        await this.accounts.suspend(actor, report.authorId, input.reason ?? null, undefined, entry);
      } else if (action !== 'dismiss') {
        await (action === 'ban' ? this.ban : this.mute).call(this, actor, conversation.id, report.authorId, input, entry);
      }
    } catch (e) {
      await this.store.reopenReport(report.id, STATE_OF[action], actor.id, at);
      throw e;
    }
    const resolved: MessageReport = { ...report, state: STATE_OF[action], resolvedBy: actor.id, resolvedAt: at };
    this.events.publishToUsers([report.reporterId], { type: 'report.resolved', report: resolved });
    return resolved;
  }
}
