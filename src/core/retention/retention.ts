import { Rounds } from '../rounds.js';
import { randomUUID } from 'node:crypto';
import type { FileStore } from '../../backends/files/file-store.js';
import type { Store } from '../../backends/store/store.js';
import type { AuditRecorder } from '../audit/ports.js';
import type { ConversationKey, Conversations } from '../conversations/conversations.js';
import { may } from '../conversations/permissions.js';
import { DomainError } from '../errors.js';
import type { Id, LegalHold, Millis, User } from '../model.js';

export const DAY_MS = 86_400_000;
/** The longest "keep N days" (100 years): anything longer is keeping forever (null). */
export const MAX_RETENTION_DAYS = 36_500;

/** What one purge round did. */
export interface PurgeReport {
  conversations: number;
  messages: number;
  files: number;
}

export interface RetentionSettings {
  /** The tenant's "keep N days"; null: forever. */
  tenantDays: number | null;
  holds: LegalHold[];
}

export interface PurgeOptions {
  /** Messages per transaction. */
  batch: number;
  /** Conversations read per candidate query. */
  page?: number;
  /** Called between batches so sends (and everything else) run: the purge never holds the loop or the database long. */
  yieldBetween?: () => Promise<void>;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Retention and legal holds (issue 20). Tenant admins set the tenant's "keep N days" and
 * place holds; a conversation's admins (and tenant admins) set the conversation's own, which
 * overrides the tenant's. The purge deletes, per conversation, the run of oldest messages
 * past the limit — stopping at the first held or newer one, so what is gone is always every
 * seq below the conversation's watermark (`purgedBeforeSeq`) — and then their files. A
 * resume or history page from below the watermark is told so (messages.ts, catch-up.ts).
 */
export class Retention {
  constructor(
    readonly store: Store,
    readonly conversations: Conversations,
    readonly fileStore: FileStore,
    readonly audit: AuditRecorder,
  ) {}

  #admin(actor: User): void {
    if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
  }

  #days(days: number | null): number | null {
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)) throw new DomainError('invalid_input');
    return days;
  }

  async settings(actor: User): Promise<RetentionSettings> {
    this.#admin(actor);
    return { tenantDays: await this.store.tenantRetention(actor.tenantId), holds: await this.store.legalHolds(actor.tenantId) };
  }

  async setTenantRetention(actor: User, days: number | null, origin?: string): Promise<void> {
    this.#admin(actor);
    const keep = this.#days(days);
    await this.audit.within(
      this.store,
      (tx) => tx.setTenantRetention(actor.tenantId, keep, Date.now()),
      () => ({ tenantId: actor.tenantId, actorId: actor.id, action: 'retention.set', targetType: 'tenant', targetId: actor.tenantUuid, origin, details: { days } }),
    );
  }

  /** A conversation's "keep N days" (null: the tenant's): its admins, or a tenant admin who is in it. */
  async setConversationRetention(actor: User, key: ConversationKey, days: number | null, origin?: string): Promise<{ retentionDays: number | null; purgedBeforeSeq: number }> {
    const { conversation, me } = await this.conversations.access(actor, key);
    if (actor.tenantRole !== 'admin' && (conversation.kind === 'direct' || !may(me.role, 'set_retention'))) throw new DomainError('not_permitted');
    const keep = this.#days(days);
    await this.audit.within(
      this.store,
      (tx) => tx.setConversationRetention(conversation.id, keep),
      () => ({ tenantId: actor.tenantId, actorId: actor.id, action: 'retention.set', targetType: 'conversation', targetId: conversation.uuid, origin, details: { days } }),
    );
    return { retentionDays: days, purgedBeforeSeq: conversation.purgedBeforeSeq ?? 1 };
  }

  /** Places or lifts a legal hold on a conversation or a user of the actor's tenant (tenant admins). */
  async setHold(actor: User, target: { type: 'conversation' | 'user'; key: Id | string }, on: boolean, origin?: string): Promise<LegalHold> {
    this.#admin(actor);
    const found = target.type === 'conversation' ? await this.#conversationOfTenant(actor, target.key) : await this.#userOfTenant(actor, target.key);
    const hold: LegalHold = { tenantId: actor.tenantId, targetType: target.type, targetId: found.id, createdBy: actor.id, createdAt: Date.now() };
    // Recorded when it changed something: placing a hold already there, or lifting none, is not an action.
    await this.audit.within(
      this.store,
      (tx) => tx.setLegalHold(hold, on),
      (changed) => (changed ? { tenantId: actor.tenantId, actorId: actor.id, action: on ? 'legal_hold.set' : 'legal_hold.unset', targetType: target.type, targetId: found.uuid, origin } : null),
    );
    return hold;
  }

  async #conversationOfTenant(actor: User, key: Id | string): Promise<{ id: Id; uuid: string }> {
    const c = typeof key === 'number' ? await this.store.conversationById(key) : await this.store.conversationByUuid(key);
    if (!c || c.tenantId !== actor.tenantId) throw new DomainError('conversation_not_found');
    return c;
  }

  async #userOfTenant(actor: User, key: Id | string): Promise<{ id: Id; uuid: string }> {
    const u = typeof key === 'number' ? await this.store.userById(key) : await this.store.userByUuid(key);
    if (!u || u.tenantId !== actor.tenantId) throw new DomainError('user_not_found');
    return u;
  }

  /**
   * One pass over every conversation with a retention: batch after batch until nothing past
   * its limit is left, yielding between batches. Files are deleted after their rows' commit
   * (a crash between leaves unreferenced files, which the file sweep removes).
   */
  async purge(now: Millis, opts: PurgeOptions): Promise<PurgeReport> {
    const report: PurgeReport = { conversations: 0, messages: 0, files: 0 };
    const yieldBetween = opts.yieldBetween ?? nextTurn;
    for (let after = 0; ; ) {
      const candidates = await this.store.retentionCandidates(after, opts.page ?? 100);
      for (const c of candidates) {
        after = c.conversationId;
        const cutoff = now - c.retentionDays * DAY_MS;
        let purgedHere = 0;
        for (;;) {
          const batch = await this.store.purgeMessages(c.conversationId, cutoff, opts.batch);
          purgedHere += batch.purged;
          await Promise.all(batch.fileKeys.map((k) => this.fileStore.remove(k).catch(() => {})));
          report.files += batch.fileKeys.length;
          await yieldBetween();
          if (batch.purged < opts.batch) break;
        }
        if (purgedHere > 0) report.conversations++;
        report.messages += purgedHere;
      }
      if (candidates.length < (opts.page ?? 100)) return report;
    }
  }
}

export interface RetentionJobOptions {
  intervalMs: number;
  batch: number;
  /** How long a round may run before another process may take the job over. */
  leaseMs?: number;
  onError?: (e: unknown) => void;
  onRound?: (report: PurgeReport) => void;
}

/**
 * Runs the purge every `intervalMs` in whichever process holds the job's lease (one at a time
 * on a shared database): each round first takes or renews the lease, and a process that died
 * mid-round leaves a lease that runs out.
 */
export class RetentionJob {
  readonly holder = randomUUID();
  readonly #rounds: Rounds;

  constructor(
    readonly retention: Retention,
    readonly opts: RetentionJobOptions,
  ) {
    // A round purges all it may (in batches), so the next one waits the interval.
    this.#rounds = new Rounds(async () => (await this.tick(), false), opts.intervalMs, (e) => opts.onError?.(e));
  }

  start(): void {
    if (this.opts.intervalMs <= 0) return;
    this.#rounds.start();
  }

  /** One round if this process holds the lease; null when another process does. */
  async tick(now = Date.now()): Promise<PurgeReport | null> {
    const leaseMs = this.opts.leaseMs ?? Math.max(60_000, this.opts.intervalMs * 5);
    const claim = (at: Millis) => this.retention.store.claimJob('retention', this.holder, at + leaseMs, at);
    if (!(await claim(now))) return null;
    let renewAt = now + leaseMs / 3;
    // A long round renews its lease as it goes, and stops if another process took it over.
    const yieldBetween = async () => {
      await nextTurn();
      if (Date.now() < renewAt) return;
      renewAt = Date.now() + leaseMs / 3;
      if (!(await claim(Date.now()))) throw new Error('retention: the lease was taken over');
    };
    const report = await this.retention.purge(now, { batch: this.opts.batch, yieldBetween });
    this.opts.onRound?.(report);
    return report;
  }

  stop(): Promise<void> {
    return this.#rounds.stop();
  }
}
