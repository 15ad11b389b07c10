// E-mail for mentions and DMs still unread after EMAIL_DELAY_MS, batched per user: one e-mail
// lists what is due in every conversation, with an unsubscribe link. Each user's e-mail is
// sent under a lease (a claim another process cannot take until it is released or expires);
// the watermarks move, the send is recorded and the lease released in one transaction after
// the mail server accepted the e-mail. A crash in between sends it again once the lease
// expires: at least once, never lost.
import { randomUUID } from 'node:crypto';
import type { Id } from '../../model.js';
import type { Mailer, MailMessage } from '../ports.js';
import type { DigestItem, DigestRecipient, EmailDigestStore } from './ports.js';

export interface EmailDigestOptions {
  /** EMAIL_DELAY_MS: how long a DM or mention stays unread before it is e-mailed. */
  delayMs: number;
  /** Messages older than this are never e-mailed (a backlog at first start, a user back after months). */
  maxAgeMs: number;
  /** NOTIFY_CONTENT=none: the e-mail says how many, never who or what (unless the recipient's tenant says otherwise). */
  contentFree: boolean;
  /** PUBLIC_URL: where the e-mail sends the reader. */
  publicUrl: string;
  /** The signed unsubscribe link of a user. */
  unsubscribeUrl(userId: Id): string;
  /** A lease lasts this long: a process that died mid-send is taken over after it. */
  leaseMs?: number;
  /** Users e-mailed per tick at most; the rest wait for the next. */
  usersPerTick?: number;
  /** Items listed in one e-mail at most; the rest come in the next. */
  itemsPerEmail?: number;
  onError?(error: unknown): void;
}

export class EmailDigest {
  readonly #holder = randomUUID();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;

  constructor(
    private readonly store: EmailDigestStore,
    private readonly mailer: Mailer,
    private readonly options: EmailDigestOptions,
  ) {}

  /** Sends the e-mails due at `now`; resolves to how many were sent. One tick at a time. */
  tick(now = Date.now()): Promise<number> {
    this.#running ??= this.#tick(now).finally(() => (this.#running = null));
    return this.#running;
  }

  /** Ticks every `intervalMs` until stop(). */
  start(intervalMs: number): void {
    this.#timer ??= setInterval(() => void this.tick().catch((e) => this.options.onError?.(e)), intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => {});
  }

  async #tick(now: number): Promise<number> {
    const { delayMs, maxAgeMs, leaseMs = 5 * 60_000, usersPerTick = 100, itemsPerEmail = 50 } = this.options;
    const olderThan = now - delayMs;
    const newerThan = now - maxAgeMs;
    let sent = 0;
    for (const userId of await this.store.usersDue(olderThan, newerThan, now, usersPerTick)) {
      if (!(await this.store.claimDigestUser(userId, this.#holder, now + leaseMs, now))) continue; // another process has them
      let recorded = false;
      try {
        // Read again under the lease: another process may have e-mailed them meanwhile.
        const { recipient, items } = await this.store.digestFor(userId, olderThan, newerThan, itemsPerEmail);
        if (!recipient || items.length === 0) continue;
        await this.mailer.send(this.compose(recipient, items));
        await this.store.recordDigest(userId, this.#holder, watermarksOf(items), now);
        recorded = true;
        sent++;
      } catch (e) {
        this.options.onError?.(e);
      } finally {
        if (!recorded) await this.store.releaseDigestUser(userId, this.#holder).catch((e) => this.options.onError?.(e));
      }
    }
    return sent;
  }

  /** One e-mail listing every due item by conversation (or only how many, content-free). */
  compose(recipient: DigestRecipient, items: readonly DigestItem[]): MailMessage {
    const { publicUrl } = this.options;
    const contentFree = recipient.notifyContent === null ? this.options.contentFree : recipient.notifyContent === 'none';
    const unsubscribe = this.options.unsubscribeUrl(recipient.id);
    const count = items.length;
    const unread = `${count} unread message${count === 1 ? '' : 's'}`;
    const footer = `\n\nOpen Parley: ${publicUrl}/\nStop these e-mails: ${unsubscribe}\n`;
    const headers = { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
    if (contentFree) return { to: recipient.email, subject: `You have ${unread}`, text: `You have ${unread}.${footer}`, headers };
    const sections: string[] = [];
    for (const group of byConversation(items)) {
      const first = group[0]!;
      const where = first.conversationKind === 'direct' ? `${first.senderName} wrote to you` : `You were mentioned in ${first.conversationTitle ?? 'a conversation'}`;
      sections.push(`${where}:\n${group.map((i) => `  ${i.senderName}: ${i.content ?? '(an attachment)'}`).join('\n')}`);
    }
    const conversations = sections.length;
    return {
      to: recipient.email,
      subject: `${unread} in ${conversations} conversation${conversations === 1 ? '' : 's'}`,
      text: `Hello ${recipient.name},\n\nYou have ${unread}.\n\n${sections.join('\n\n')}${footer}`,
      headers,
    };
  }
}

function byConversation(items: readonly DigestItem[]): DigestItem[][] {
  const groups = new Map<Id, DigestItem[]>();
  for (const i of items) groups.set(i.conversationId, [...(groups.get(i.conversationId) ?? []), i]);
  return [...groups.values()];
}

function watermarksOf(items: readonly DigestItem[]): { conversationId: Id; seq: number }[] {
  const top = new Map<Id, number>();
  for (const i of items) top.set(i.conversationId, Math.max(top.get(i.conversationId) ?? 0, i.seq));
  return [...top].map(([conversationId, seq]) => ({ conversationId, seq }));
}
