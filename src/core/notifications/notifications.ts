import type { NotifyConfig } from '../../config/config.js';
import type { ClaimedNotification, NotificationLevel, NotificationSetting, PushSubscription, Store } from '../../backends/store/store.js';
import type { Conversations } from '../conversations/conversations.js';
import { unrecordedAudit, type AuditRecorder } from '../audit/ports.js';
import { DomainError } from '../errors.js';
import type { Id, Millis, NotifyContent, User } from '../model.js';
import type { Users } from '../users.js';
import type { PushMessage, PushProvider, PushTarget } from './ports.js';

/** What a dispatcher did, counted since start (the scenario script prints them). */
export interface NotificationCounts {
  /** Pushes accepted by a push service (one per outbox row, whatever its devices). */
  sent: number;
  /** Cancelled: a device of the user acknowledged the message first. */
  suppressedByAck: number;
  /** Cancelled: the user read it (or wrote after it) first. */
  suppressedByRead: number;
  /** Cancelled: the setting in force at dispatch (level, mute) asks for none; or the user left, or the message was deleted. */
  suppressedBySetting: number;
  /** Due, but the user has no device to push to any more (a user without one when the message came got no outbox row). */
  noDevice: number;
  /** Given up after the last retry. */
  dropped: number;
  /** Pushes that clear a read conversation on the user's other devices. */
  cleared: number;
}

export const LEVELS: readonly NotificationLevel[] = ['all', 'mentions', 'none'];
const MAX_ATTEMPTS = 8;
const CLAIM_BATCH = 200;
const BODY_MAX = 200;

/** Retry n waits 2^n seconds (at most 10 minutes), unless the push service said how long. */
const backoffMs = (attempts: number, retryAfterMs?: number) => retryAfterMs ?? Math.min(600_000, 1000 * 2 ** attempts);

/**
 * Push notifications (issue 19). A message writes an outbox row for each recipient whose
 * setting asks for it (the append, in the message's transaction: `NotifyOnAppend`); when the
 * row is due, the dispatcher claims it under a lease and sends it only if none of the user's
 * devices acknowledged the message and the user did not read it meanwhile, and the setting
 * in force then still asks for it. Sent or cancelled, the row goes; a push service's
 * temporary failure puts it back for later.
 */
export class Notifications {
  readonly counts: NotificationCounts = { sent: 0, suppressedByAck: 0, suppressedByRead: 0, suppressedBySetting: 0, noDevice: 0, dropped: 0, cleared: 0 };
  readonly #providers = new Map<PushTarget['kind'], PushProvider>();
  #timer: NodeJS.Timeout | null = null;
  /** Where a failed dispatch is reported (the app logs it). */
  onError: (e: unknown) => void = () => {};
  #ticking: Promise<number> | null = null;
  /** Where a tenant admin's change of content mode is recorded (the core's). */
  audit: AuditRecorder = unrecordedAudit;

  constructor(
    readonly store: Store,
    readonly conversations: Conversations,
    readonly users: Users,
    readonly config: NotifyConfig,
    providers: readonly PushProvider[],
  ) {
    for (const p of providers) this.#providers.set(p.kind, p);
  }

  /** The outbox fields of a new message: when a push is due, unless notifications are off. */
  onAppend(direct: boolean, mentionIds: readonly Id[], createdAt: Millis) {
    return this.config.enabled ? { dueAt: createdAt + this.config.delayMs, direct, mentionIds } : undefined;
  }

  // ------------------------------------------------------------ settings
  async setting(actor: User, conversationId: Id | null): Promise<NotificationSetting> {
    const id = conversationId === null ? 0 : (await this.conversations.memberRef(actor, conversationId)).id;
    return this.store.notificationSetting(actor.id, id);
  }

  /** The user's own (conversationId null) or one conversation's; a conversation's level null follows the user's. */
  async setSetting(actor: User, conversationId: Id | null, setting: NotificationSetting): Promise<NotificationSetting> {
    const id = conversationId === null ? 0 : (await this.conversations.memberRef(actor, conversationId)).id;
    // The schema allows only LEVELS; the user's own row always has one.
    const level = setting.level ?? (id === 0 ? 'mentions' : null);
    const next = { level, muteUntil: Math.max(0, setting.muteUntil) };
    await this.store.setNotificationSetting(actor.id, id, next);
    return next;
  }

  // ------------------------------------------------------------ the tenant's content mode
  /** The actor's tenant's content mode: its own (null: the process default, NOTIFY_CONTENT) and the one in force. Tenant admins only. */
  async tenantContent(actor: User): Promise<{ tenant: NotifyContent | null; inForce: NotifyContent }> {
    if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
    const tenant = (await this.store.tenantById(actor.tenantId))?.notifyContent ?? null;
    return { tenant, inForce: tenant ?? this.config.content };
  }

  /** Sets what the tenant's pushes and e-mails say (`none`: "New message"; null: the process default). Tenant admins only. */
  async setTenantContent(actor: User, content: NotifyContent | null, origin?: string): Promise<{ tenant: NotifyContent | null; inForce: NotifyContent }> {
    if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
    await this.store.setTenantNotifyContent(actor.tenantId, content);
    await this.audit.record({ tenantId: actor.tenantId, actorId: actor.id, action: 'tenant.notify_content', targetType: 'tenant', targetId: String(actor.tenantId), origin, details: { content } });
    return { tenant: content, inForce: content ?? this.config.content };
  }

  // ------------------------------------------------------------ devices
  subscribe(actor: User, target: PushTarget, deviceId: string): Promise<PushSubscription> {
    const endpoint = target.kind === 'web' ? target.endpoint : target.token;
    const keys = target.kind === 'web' ? { p256dh: target.p256dh, auth: target.auth } : { p256dh: null, auth: null };
    return this.store.addPushSubscription({ userId: actor.id, kind: target.kind, deviceId, endpoint, ...keys }, Date.now());
  }

  /** Forgets one of the actor's devices (nothing if it is not theirs, or gone already: a retried unsubscribe succeeds). */
  async unsubscribe(actor: User, id: Id): Promise<void> {
    await this.store.removePushSubscription(actor.id, id);
  }

  // ------------------------------------------------------------ dispatch
  /** Polls every `pollMs` (none with 0). */
  start(): void {
    if (!this.config.enabled || this.config.pollMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.tick().catch(this.onError), this.config.pollMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#ticking?.catch(() => {});
  }

  /** Handles every row due at `now` (one tick at a time per process); how many it handled. */
  tick(now: Millis = Date.now()): Promise<number> {
    if (this.#ticking) return this.#ticking;
    const run = (async () => {
      let handled = 0;
      for (;;) {
        const rows = await this.store.claimNotifications(now, Date.now() + this.config.leaseMs, CLAIM_BATCH);
        if (rows.length === 0) return handled;
        handled += rows.length;
        await this.#dispatch(rows, now);
        if (rows.length < CLAIM_BATCH) return handled;
      }
    })();
    this.#ticking = run;
    return run.finally(() => (this.#ticking = null));
  }

  async #dispatch(rows: ClaimedNotification[], now: Millis): Promise<void> {
    const cancelled: Id[] = [];
    const due: ClaimedNotification[] = [];
    for (const r of rows) {
      const reason = this.#cancelledBy(r, now);
      if (reason === null) due.push(r);
      else {
        this.counts[reason]++;
        cancelled.push(r.id);
      }
    }
    const subscriptions = await this.store.pushSubscriptions([...new Set(due.map((r) => r.userId))]);
    const done: Id[] = [];
    for (const r of due) {
      const outcome = await this.#send(r, subscriptions.filter((s) => s.userId === r.userId && this.#providers.has(s.kind))).catch((e) => {
        this.onError(e);
        return { retry: true as const, retryAfterMs: undefined };
      });
      if ('retry' in outcome) {
        if (r.attempts >= MAX_ATTEMPTS) {
          this.counts.dropped++;
          done.push(r.id);
        } else await this.store.retryNotification(r.id, now + backoffMs(r.attempts, outcome.retryAfterMs));
        continue;
      }
      this.counts[outcome.counted]++;
      done.push(r.id);
    }
    await this.store.finishNotifications([...cancelled, ...done]);
  }

  /** Why a claimed row is not to be sent, or null when it is due. */
  #cancelledBy(r: ClaimedNotification, now: Millis): 'suppressedByAck' | 'suppressedByRead' | 'suppressedBySetting' | null {
    if (r.readSeq === null || r.deliveredSeq === null) return 'suppressedBySetting';
    if (r.readSeq >= r.seq) return 'suppressedByRead';
    if (r.deliveredSeq >= r.seq) return 'suppressedByAck';
    if (r.level === 'none' || r.muteUntil > now) return 'suppressedBySetting';
    return null;
  }

  async #send(r: ClaimedNotification, targets: PushSubscription[]): Promise<{ counted: 'sent' | 'noDevice' | 'suppressedBySetting' } | { retry: true; retryAfterMs?: number }> {
    if (targets.length === 0) return { counted: 'noDevice' };
    const message = await this.#message(r);
    if (!message) return { counted: 'suppressedBySetting' };
    const outcome = await this.#pushAll(targets, message);
    if (outcome.accepted > 0) return { counted: 'sent' };
    if (outcome.retry) return { retry: true, retryAfterMs: outcome.retryAfterMs };
    return { counted: 'noDevice' };
  }

  /** Sends to each device; forgets the ones their push service says are gone. */
  async #pushAll(targets: PushSubscription[], message: PushMessage): Promise<{ accepted: number; retry: boolean; retryAfterMs?: number }> {
    let accepted = 0;
    let retry = false;
    let retryAfterMs: number | undefined;
    for (const s of targets) {
      const out = await this.#providers.get(s.kind)!.send(targetOf(s), message);
      if (out.ok) accepted++;
      else if (out.gone) await this.store.removePushSubscription(null, s.id);
      else {
        retry = true;
        // Unreachable (not a refusal with a status): worth a line in the log, or it is never seen.
        if (out.failure) this.onError(new Error(`push not delivered: ${out.failure}`));
        if (out.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, out.retryAfterMs);
      }
    }
    return { accepted, retry, retryAfterMs };
  }

  /** What the push says; undefined when the message is gone (deleted: nothing to tell). */
  async #message(r: ClaimedNotification): Promise<PushMessage | undefined> {
    const m = await this.store.messageById(r.messageId);
    if (!m || m.deletedAt !== null) return undefined;
    const badge = await this.store.unreadTotal(r.userId);
    const tag = `conversation-${r.conversationId}`;
    if ((r.tenantContent ?? this.config.content) === 'none') return { title: 'New message', body: '', badge, conversationId: r.conversationId, messageId: m.id, tag };
    const [sender, conversation] = await Promise.all([this.users.summary(m.senderId), this.store.conversationById(r.conversationId)]);
    const title = conversation?.title ? `${sender.name} in ${conversation.title}` : sender.name;
    const text = m.content ?? (m.attachments.length > 0 ? `${m.attachments.length} file(s)` : '');
    return { title, body: [...text].slice(0, BODY_MAX).join(''), badge, conversationId: r.conversationId, messageId: m.id, tag };
  }

  /**
   * The user read a conversation: their devices drop its notification and show the new
   * unread count (a push with the same tag and no message). Only users with devices.
   */
  async read(userId: Id, conversationId: Id): Promise<void> {
    if (!this.config.enabled) return;
    const targets = (await this.store.pushSubscriptions([userId])).filter((s) => this.#providers.has(s.kind));
    if (targets.length === 0) return;
    const badge = await this.store.unreadTotal(userId);
    await this.#pushAll(targets, { title: '', body: '', badge, conversationId, messageId: null, tag: `conversation-${conversationId}` });
    this.counts.cleared++;
  }
}

function targetOf(s: PushSubscription): PushTarget {
  return s.kind === 'web' ? { kind: 'web', endpoint: s.endpoint, p256dh: s.p256dh ?? '', auth: s.auth ?? '' } : { kind: s.kind, token: s.endpoint };
}
