import { withRemovals } from './removals.js';
import { serializeMetadata } from './metadata.js';
import type { Config } from '../../config/config.js';
import type { AppendResult, NewAttachment, NewMessage, Store, StoreReads } from '../../backends/store/store.js';
import { DomainError, refusal, storeCall } from '../errors.js';
import type { ConversationRef, DomainEvent, EventPublisher, Flush, ReadSeqs, HiddenFrom } from '../events.js';
import type { RaceHooks } from '../hooks.js';
import { unrecordedAudit, type AuditEntryInput, type AuditRecorder } from '../audit/ports.js';
import type { Conversations, ConversationKey } from '../conversations/conversations.js';
import type { Friends } from '../friends/friends.js';
import type { RateLimits } from '../rate-limits.js';
import { may, mayPost } from '../conversations/permissions.js';
import type { Id, Member, Message, MessageKind, User, UserSummary } from '../model.js';
import { LIKE_EMOJI } from '../model.js';
import { deletedUser, Users } from '../users.js';
import { MessageWriter } from './writer.js';
import type { Notifications } from '../notifications/notifications.js';
import { openCatchUp, type CatchUp, type ChangeCursor } from './catch-up.js';

export type MessageKey = Id | string;

export interface SendInput {
  conversation: ConversationKey;
  kind: MessageKind;
  content: string | null;
  /** The sender's `local_temp_id`. */
  clientId?: string | null;
  replyTo?: MessageKey | null;
  /** Files the send carries, prepared by `core.files.prepare` for this conversation. */
  files?: PreparedFiles;
  /** A dialect that names the receiver (000/001/002) checks it against the conversation. */
  expectedReceiver?: Id | null;
  /** Document 004's rule: in a direct conversation, only accepted friends may send. */
  requireFriendship?: boolean;
  /** An integration's JSON object (Parley's own API): checked by serializeMetadata. */
  metadata?: unknown;
}

/**
 * Files a send carries, validated and written aside by the files service: committed (moved in
 * place) once the message is, discarded when the send fails or is a retry of a message that
 * keeps its own files. Sending is the messages service's; files only prepare what it carries.
 */
export interface PreparedFiles {
  readonly attachments: NewAttachment[];
  /** The message's kind when the send named none of the file kinds: what its first file is. */
  readonly kind: MessageKind;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Messages with everyone a rendering of them names, read once. */
export interface NamedMessages {
  messages: Message[];
  /** Every sender of `messages`; a deleted account is named as `deletedUser`. */
  senders: ReadonlyMap<Id, UserSummary>;
  /** Everyone who reacted to one of `messages` and still has an account. */
  reactors: ReadonlyMap<Id, UserSummary>;
}

export interface HistoryPage extends NamedMessages {
  conversation: ConversationRef;
  /** Newest seq of the conversation: the total of messages, tombstones included. */
  total: number;
  /** The conversation's change_seq when the page was read (a client's resume cursor). */
  changeSeq: number;
  /** Retention purged every smaller seq (issue 20): the history stops there. */
  purgedBeforeSeq: number;
}

/** The longest reason a moderator gives (a deletion, a ban, a mute), in characters. */
export const MODERATION_REASON_MAX = 500;

const KINDS: readonly MessageKind[] = ['text', 'emoji', 'image', 'file', 'voice', 'system'];
const FILE_KINDS: readonly MessageKind[] = ['image', 'file', 'voice'];

// An emoji: pictographs with their modifiers, joiners and variation selectors; no letters.
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3)+$/u;
export const isEmoji = (s: string) => s.length <= 32 && EMOJI.test(s) && /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(s);

/**
 * Whether text is over `max` characters as the documents count them: code points, not
 * UTF-16 units (an emoji is one character). A string is never longer in code points than
 * in UTF-16 units, so only long strings are counted.
 */
export function tooLong(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let n = 0;
  for (const _ of text) if (++n > max) return true;
  return false;
}

/** A stored message as the event that announces it (live, or replayed in a catch-up). */
export const created = (conversation: ConversationRef, message: Message, sender: UserSummary): DomainEvent => ({
  type: 'message.created',
  conversation,
  message,
  sender,
  localTempId: message.clientId,
});

/** Where a conversation stood in the snapshot a catch-up was read from: its newest seq and change_seq. */
export interface Position {
  lastSeq: number;
  changeSeq: number;
}

/**
 * More was missed than a resume replays (RESUME_MAX_MESSAGES), or the cursor is of another
 * epoch: the reader reloads over REST, then follows live events after `position`. A value,
 * not an exception: every reader of a catch-up must decide what to show for it.
 */
export interface SnapshotRequired {
  readonly snapshotRequired: true;
  readonly missed: number;
  readonly position: Position;
}

export const snapshotRequired = (missed: number, position: Position): SnapshotRequired => ({ snapshotRequired: true, missed, position });

/**
 * Whether a reader holding every seq up to `afterSeq` would need a message retention purged
 * (below the conversation's `purgedBeforeSeq`): it resumes nothing, never across a silent gap.
 */
export const missesPurged = (conversation: { purgedBeforeSeq?: number }, afterSeq: number): boolean => afterSeq + 1 < (conversation.purgedBeforeSeq ?? 1);

/** PostgreSQL's text cannot hold U+0000: refused on every database alike, before anything is stored. */
function refuseNul(content: string): void {
  if (content.includes('\u0000')) throw refusal('content_nul_character');
}

/** The lowest seq a history read may return: the first retention has not purged. */
const firstKept = (conversation: { purgedBeforeSeq?: number }): number => Math.max(1, conversation.purgedBeforeSeq ?? 1);

/** What a resume replays: the events in the order to show them, up to `position`. */
export interface Resumed {
  readonly snapshotRequired: false;
  readonly conversation: ConversationRef;
  readonly events: DomainEvent[];
  readonly position: Position;
}

/** What a catch-up read (Messages.#readMissed). */
interface MissedRows {
  fresh: Message[];
  older: Message[];
  readSeqs: ReadSeqs;
}

function readSeqsOf(members: readonly Member[]): ReadSeqs {
  const out: Record<number, number> = {};
  for (const m of members) out[m.user.id] = m.participant.readSeq;
  return out;
}

/** Sending, history, edits, deletes and reactions. Every change is an event after its commit. */
export class Messages {
  readonly writer: MessageWriter;
  /** Push notifications: a new message's outbox rows (set by Core). */
  notifications: Notifications | null = null;
  /** Where a moderator's deletion of someone else's message is recorded (Core sets core.audit). */
  audit: AuditRecorder = unrecordedAudit;
  /** Called after a new message is committed (the core ends the sender's typing with it). */
  onSent: (sender: User, conversation: ConversationRef) => void = () => {};

  constructor(
    readonly store: Store,
    readonly conversations: Conversations,
    readonly users: Users,
    readonly friends: Friends,
    readonly limits: RateLimits,
    readonly events: EventPublisher,
    readonly config: Config,
    readonly hooks: RaceHooks = {},
  ) {
    this.writer = new MessageWriter(store, config.commitBatchMax, (r, input, flush) => this.#committed(r, input, flush), undefined, store.appendPipeline);
  }

  // Filled in by send() just before the append, read back by the writer's callback in the same batch.
  readonly #outgoing = new WeakMap<NewMessage, { ref: ConversationRef; sender: UserSummary; origin?: string; localTempId: string | null; sentAt: number }>();

  /**
   * Sends a message. Resolves after the commit with the stored message (`created: false`
   * for a retried `local_temp_id`). Every subscribed socket gets `message.created`; the
   * origin connection gets it even when it is not subscribed (it is that socket's ack).
   * `ordered`: called once the message has its place in the writer's queue (before its
   * commit): a socket may then start its next frame, whose send is queued behind this one.
   */
  async send(actor: User, input: SendInput, origin?: string, ordered?: () => void): Promise<AppendResult> {
    const files = input.files;
    if (!files) return this.#send(actor, input, [], origin, ordered);
    try {
      const result = await this.#send(actor, { ...input, kind: FILE_KINDS.includes(input.kind) ? input.kind : files.kind }, files.attachments, origin, ordered);
      // A retried local_temp_id: the original message keeps its own files.
      await (result.created ? files.commit() : files.discard());
      return result;
    } catch (e) {
      await files.discard();
      throw e;
    }
  }

  async #send(actor: User, input: SendInput, attachments: NewAttachment[], origin?: string, ordered?: () => void): Promise<AppendResult> {
    const sentAt = performance.now();
    if (!KINDS.includes(input.kind)) throw new DomainError('invalid_message_type');
    await this.limits.message(actor.id);
    const content = input.content ?? null;
    if (content !== null && tooLong(content, this.config.maxMessageLength)) {
      throw new DomainError('message_too_long', { params: { max: this.config.maxMessageLength } });
    }
    if (content !== null) refuseNul(content);
    if (FILE_KINDS.includes(input.kind) && attachments.length === 0) {
      throw refusal('files_required', { kind: input.kind });
    }
    if (attachments.length === 0 && (content === null || content.trim() === '')) throw new DomainError('empty_message');
    if (input.kind === 'system') throw refusal('system_message');
    const metadataJson = serializeMetadata(input.metadata) ?? null;

    const ref = await this.conversations.memberRef(actor, input.conversation).catch((e) => this.#bannedOr(e, actor, input.conversation));
    const conversation = ref;
    await this.#requirePost(actor, ref);
    // Archived by an admin (issue 20): read-only. A cached read, evicted when it changes.
    if ((await this.store.conversationArchivedAt(ref.id)) !== null) throw refusal('conversation_archived');
    await this.conversations.sanctions.refuseMuted(ref.id, actor.id);
    if (input.expectedReceiver != null && ref.pair && !ref.pair.some((u) => u.id === input.expectedReceiver && u.id !== actor.id)) {
      throw new DomainError('receiver_mismatch');
    }
    await this.#refuseBlocked(actor, ref);
    if (input.requireFriendship && ref.pair) {
      const other = ref.pair[0].id === actor.id ? ref.pair[1] : ref.pair[0];
      await this.friends.requireFriends(actor.id, other.id);
    }
    let replyToId: Id | null = null;
    if (input.replyTo != null) {
      const parent = await this.#find(input.replyTo);
      if (!parent || parent.conversationId !== conversation.id) throw new DomainError('reply_not_found');
      replyToId = parent.id;
    }
    const clientId = input.clientId ? String(input.clientId).slice(0, 255) : null;
    const createdAt = Date.now();
    // Resolved before the append: a mention's push is written in the message's transaction.
    const mentioned = content !== null && content.includes('@') ? await this.#mentioned(ref, content, actor) : [];
    const message: NewMessage = {
      conversationId: conversation.id,
      senderId: actor.id,
      kind: input.kind,
      content,
      replyToId,
      clientId,
      attachments,
      createdAt,
      notify: this.notifications?.onAppend(ref.pair !== null, mentioned.map((u) => u.id), createdAt),
      ...(metadataJson === null ? {} : { metadataJson }),
    };
    // Cut into words here, concurrently with the batch committing, not in the writer's transaction.
    message.searchRow = this.store.searchRowOf(message);
    this.#outgoing.set(message, { ref, sender: Users.summaryOf(actor), origin, localTempId: clientId, sentAt });
    const appended = this.writer.append(message);
    ordered?.();
    const result = await appended;
    if (result.created) this.onSent(actor, ref);
    if (result.created && mentioned.length > 0) await this.#mentions(ref, result.message, actor, mentioned);
    return result;
  }

  /** `@name` or `@email` of a participant other than the sender. Names match without spaces, case-insensitively. */
  async #mentioned(ref: ConversationRef, content: string, actor: User): Promise<UserSummary[]> {
    const tokens = new Set<string>();
    for (const m of content.matchAll(/(?:^|[\s(])@([^\s,;:!?()<>"']+)/g)) tokens.add(m[1].replace(/[.]+$/, '').toLowerCase());
    if (tokens.size === 0) return [];
    const members = await this.store.members([ref.id]);
    return members
      .map((m) => m.user)
      .filter((u) => u.id !== actor.id && (tokens.has(u.email.toLowerCase()) || tokens.has(u.name.replace(/\s+/g, '').toLowerCase())));
  }

  /** Stored, and told to the mentioned users' every device, joined to the conversation or not. */
  async #mentions(ref: ConversationRef, message: Message, actor: User, hit: readonly UserSummary[]): Promise<void> {
    await this.store.addMentions(message.id, hit.map((u) => u.id));
    const sender = Users.summaryOf(actor);
    for (const u of hit) this.events.publishToUsers([u.id], { type: 'mention', conversation: ref, message, sender, userId: u.id });
  }

  #committed(result: AppendResult, input: NewMessage, flush: Flush | null) {
    const out = this.#outgoing.get(input);
    if (!out) return;
    this.#outgoing.delete(input);
    this.events.publish({
      type: 'message.created',
      conversation: out.ref,
      message: result.message,
      sender: out.sender,
      localTempId: out.localTempId,
      origin: out.origin,
      sentAt: out.sentAt,
      // A retry is acknowledged to the socket that retried and published again: if the first
      // publish was lost (its process died after the commit), the others get it now; a
      // process that delivered it already drops it (SeqOrderer).
      retry: !result.created,
      flush,
    });
  }

  /** Who deleted the message for themselves, for an event about it (HiddenFrom). */
  async #hiddenFrom(messageId: Id): Promise<HiddenFrom> {
    const users = await this.store.hidersOf(messageId);
    return users.length > 0 ? { hiddenFrom: users } : {};
  }

  /**
   * An event about an older message names its sender (and a direct conversation's other one);
   * their presence is not every follower's to see when the sender has left the group, or a
   * block shuts the direct conversation (PresenceService: who sees whom). From cacheable reads.
   */
  async #presenceHidden(ref: ConversationRef, senderId: Id): Promise<{ presenceHidden?: true }> {
    const hidden = ref.pair ? await this.friends.isBlocked(ref.pair[0].id, ref.pair[1].id) : !(await this.conversations.role(ref.id, senderId));
    return hidden ? { presenceHidden: true } : {};
  }

  /** A block between the two people of a direct conversation stops what either would put in it (a cacheable read). */
  async #refuseBlocked(actor: User, ref: ConversationRef): Promise<void> {
    if (!ref.pair) return;
    const other = ref.pair[0].id === actor.id ? ref.pair[1] : ref.pair[0];
    if (await this.friends.isBlocked(actor.id, other.id)) throw new DomainError('blocked');
  }

  /** A send by someone not in the conversation: `banned` when a ban keeps them out, else `error` as it was. */
  async #bannedOr(error: unknown, actor: User, key: ConversationKey): Promise<never> {
    const ref = error instanceof DomainError && error.code === 'conversation_not_found' ? await this.store.conversationRef(key) : undefined;
    if (ref && ref.tenantId === actor.tenantId) await this.conversations.sanctions.refuseBanned(ref.id, actor.id);
    throw error;
  }

  async #find(key: MessageKey): Promise<Message | undefined> {
    return typeof key === 'number' ? this.store.messageById(key) : this.store.messageByUuid(key);
  }

  /**
   * A message the actor can see, with its conversation and its sender; anything else is
   * `message_not_found`, also a message of another conversation than `in` when a route names
   * both (a message id under the wrong conversation's path is not found, not moved).
   */
  async get(actor: User, key: MessageKey, opts: { in?: ConversationKey } = {}): Promise<NamedMessages & { message: Message; conversation: ConversationRef; sender: UserSummary }> {
    const message = await this.#find(key);
    if (!message) throw new DomainError('message_not_found');
    const conversation = await this.conversations.refById(message.conversationId);
    if (conversation.tenantId !== actor.tenantId || !(await this.conversations.role(message.conversationId, actor.id))) {
      throw new DomainError('message_not_found');
    }
    if (opts.in !== undefined && (typeof opts.in === 'number' ? conversation.id : conversation.uuid) !== opts.in) throw new DomainError('message_not_found');
    const named = await this.named([message]);
    return { ...named, message: named.messages[0], conversation, sender: named.senders.get(message.senderId)! };
  }

  /** The people a rendering of `messages` names (senders, reactors), in one read. */
  async named(read: Message[]): Promise<NamedMessages> {
    const messages = await withRemovals(this.store, read);
    const reactorIds = messages.flatMap((m) => m.reactions.flatMap((r) => r.userIds));
    const found = await this.users.summaries([...messages.map((m) => m.senderId), ...reactorIds]);
    const senders = new Map(messages.map((m) => [m.senderId, found.get(m.senderId) ?? deletedUser(m.senderId)]));
    const reactors = new Map<Id, UserSummary>();
    for (const id of reactorIds) if (found.has(id)) reactors.set(id, found.get(id)!);
    return { messages, senders, reactors };
  }

  /**
   * One page of history, newest first. Page p holds seqs (last − p·size, last − (p−1)·size]:
   * seq is gapless, so a page is an index range, never an OFFSET.
   */
  async page(actor: User, key: ConversationKey, page: number, perPage: number): Promise<HistoryPage> {
    return this.window(actor, key, (page - 1) * perPage, perPage);
  }

  /** The `limit` messages after skipping the newest `skip` (004's skip/limit), newest first: a seq range. */
  async window(actor: User, key: ConversationKey, skip: number, limit: number): Promise<HistoryPage> {
    const { conversation } = await this.conversations.access(actor, key);
    const ref = await this.conversations.ref(conversation);
    const top = conversation.lastSeq - skip;
    // History stops at the retention watermark: nothing below it is left to show.
    const bottom = firstKept(conversation);
    const read = top < bottom ? [] : await this.store.messagesBySeq(conversation.id, Math.max(bottom, top - limit + 1), top);
    // Deleted for the actor only (delete for me): a page may come back shorter than `limit`.
    const messages = await this.#unhidden(actor, read);
    return { ...(await this.named(messages)), conversation: ref, total: conversation.lastSeq, changeSeq: conversation.changeSeq, purgedBeforeSeq: firstKept(conversation) };
  }

  /**
   * The `limit` messages below `beforeSeq` (none given: the newest), newest first: paging back
   * by seq range. Messages the actor deleted for themselves leave a range short, so it reads
   * on further back until the page is full or at seq 1 (a page of only those is never empty
   * while older ones remain).
   */
  async before(actor: User, key: ConversationKey, beforeSeq: number | undefined, limit: number): Promise<HistoryPage> {
    const { conversation } = await this.conversations.access(actor, key);
    const ref = await this.conversations.ref(conversation);
    const messages: Message[] = [];
    const bottom = firstKept(conversation);
    for (let top = beforeSeq === undefined ? conversation.lastSeq : Math.min(conversation.lastSeq, beforeSeq - 1); messages.length < limit && top >= bottom; ) {
      const from = Math.max(bottom, top - (limit - messages.length) + 1);
      messages.push(...(await this.#unhidden(actor, await this.store.messagesBySeq(conversation.id, from, top))));
      top = from - 1;
    }
    return { ...(await this.named(messages)), conversation: ref, total: conversation.lastSeq, changeSeq: conversation.changeSeq, purgedBeforeSeq: firstKept(conversation) };
  }

  /**
   * What a follower that reconnects missed, as events in the order to show them. With only
   * `afterSeq` (the highest seq it saw): the messages after it. With `afterChangeSeq` too (the
   * highest change_seq it saw): also every edit, delete and reaction since, so its copy ends
   * equal to the history. Everything is read from one database snapshot, whose position comes
   * back with the events: the replay holds every change up to it and nothing after it, so a
   * live event is covered by the replay exactly when its change_seq is at most
   * `position.changeSeq`. Past RESUME_MAX_MESSAGES (or from another epoch): SnapshotRequired.
   */
  async resume(
    actor: User,
    key: ConversationKey,
    cursor: { afterSeq: number; afterChangeSeq?: number; epoch?: string },
  ): Promise<Resumed | SnapshotRequired> {
    const { afterSeq, afterChangeSeq } = cursor;
    const read = await this.store.snapshot(async (reads) => {
      const { conversation } = await this.conversations.access(actor, key, reads);
      await this.hooks.catchUp?.(conversation.id);
      const position: Position = { lastSeq: conversation.lastSeq, changeSeq: conversation.changeSeq };
      // A cursor of another epoch (read before the database was restored from a backup)
      // names seqs this history may have given to other messages: it resumes nothing.
      if (this.#foreignEpoch(cursor.epoch)) return { conversation, position, missed: conversation.lastSeq, foreign: true, rows: null };
      // A cursor from below the retention watermark would resume across purged messages.
      if (missesPurged(conversation, afterSeq)) return { conversation, position, missed: conversation.lastSeq - afterSeq, foreign: true, rows: null };
      const missed = afterChangeSeq === undefined ? conversation.lastSeq - afterSeq : conversation.changeSeq - afterChangeSeq;
      if (missed <= 0 || missed > this.config.resumeMaxMessages) return { conversation, position, missed, rows: null };
      const rows =
        afterChangeSeq !== undefined
          ? await this.#readMissed(reads, conversation, afterChangeSeq, conversation.changeSeq, afterSeq + 1)
          : { fresh: (await reads.messagesBySeq(conversation.id, Math.max(1, afterSeq + 1), conversation.lastSeq)).reverse(), older: [], readSeqs: null };
      return { conversation, position, missed, rows };
    });
    if ('foreign' in read || read.missed > this.config.resumeMaxMessages) return snapshotRequired(read.missed, read.position);
    const ref = await this.conversations.ref(read.conversation);
    const events = read.rows ? await this.#missedAsEvents(ref, read.rows, afterChangeSeq !== undefined) : [];
    const hidden = await this.store.hiddenMessageIds(actor.id, events.flatMap((e) => ('message' in e ? [e.message.id] : [])));
    const shown = hidden.size === 0 ? events : events.filter((e) => !('message' in e && hidden.has(e.message.id)));
    return { snapshotRequired: false, conversation: ref, events: shown, position: read.position };
  }

  /** `messages` without those the actor deleted for themselves. */
  async #unhidden(actor: User, messages: Message[]): Promise<Message[]> {
    const hidden = await this.store.hiddenMessageIds(actor.id, messages.map((m) => m.id));
    return hidden.size === 0 ? messages : messages.filter((m) => !hidden.has(m.id));
  }

  /**
   * The changes of a conversation with change_seq in (afterChangeSeq, upToChangeSeq] as events:
   * messages with seq ≥ newFromSeq as `message.created` (their current state, in seq order;
   * a deleted one also as `message.deleted`), then the older messages' changes in change order
   * as `message.updated` (text, reactions) or `message.deleted`. A message changed several
   * times shows once, as it is now. Read from one snapshot.
   */
  async missedEvents(ref: ConversationRef, afterChangeSeq: number, upToChangeSeq: number, newFromSeq: number): Promise<DomainEvent[]> {
    if (upToChangeSeq <= afterChangeSeq) return [];
    const conversation = { id: ref.id, kind: ref.kind };
    const rows = await this.store.snapshot((reads) => this.#readMissed(reads, conversation, afterChangeSeq, upToChangeSeq, newFromSeq));
    return this.#missedAsEvents(ref, rows, true);
  }

  /** The rows behind missedEvents, read through `reads` (a snapshot) only. */
  async #readMissed(
    reads: StoreReads,
    conversation: { id: Id; kind: ConversationRef['kind'] },
    afterChangeSeq: number,
    upToChangeSeq: number,
    newFromSeq: number,
  ): Promise<MissedRows> {
    if (upToChangeSeq <= afterChangeSeq) return { fresh: [], older: [], readSeqs: null };
    const span = upToChangeSeq - afterChangeSeq;
    // The older messages' changes: changesSince holds only messages changed after their append.
    const older = newFromSeq > 1 ? (await reads.changesSince(conversation.id, afterChangeSeq, span, newFromSeq - 1)).filter((m) => m.changeSeq <= upToChangeSeq) : [];
    // New messages are read by seq. Each append in the span took one of its change_seqs, so at
    // most `span` are new; the last in is the newest with change_seq ≤ upToChangeSeq (one
    // changed again after upToChangeSeq is still new here, as are those before it).
    const appended = (await reads.messagesBySeq(conversation.id, newFromSeq, newFromSeq + span - 1)).reverse();
    let newest = newFromSeq - 1;
    for (const m of appended) if (m.changeSeq <= upToChangeSeq && m.seq > newest) newest = m.seq;
    const fresh = appended.filter((m) => m.seq <= newest);
    const readSeqs = conversation.kind === 'direct' ? readSeqsOf(await reads.members([conversation.id])) : null;
    return { fresh, older, readSeqs };
  }

  async #missedAsEvents(ref: ConversationRef, rows: MissedRows, withChanges: boolean): Promise<DomainEvent[]> {
    const fresh = await withRemovals(this.store, rows.fresh);
    const older = await withRemovals(this.store, rows.older);
    const senders = await this.users.summaries([...fresh, ...older].map((m) => m.senderId));
    const readSeqs = ref.pair ? rows.readSeqs : null;
    const events: DomainEvent[] = [];
    for (const m of fresh) {
      const sender = senders.get(m.senderId)!;
      events.push(created(ref, m, sender));
      if (withChanges && m.deletedAt !== null) events.push({ type: 'message.deleted', conversation: ref, message: m, sender, readSeqs, replay: true });
    }
    for (const m of older) {
      events.push({ type: m.deletedAt !== null ? 'message.deleted' : 'message.updated', conversation: ref, message: m, sender: senders.get(m.senderId)!, readSeqs, replay: true });
    }
    return events;
  }

  /**
   * In a channel only admins and moderators post (README "Permissions"). Editing is posting
   * again, so it asks the same of the role the sender has now: a member demoted in a
   * channel cannot rewrite what they posted before. Deleting one's own message is not asked.
   */
  async #requirePost(actor: User, conversation: ConversationRef): Promise<void> {
    if (conversation.kind !== 'channel') return;
    const role = await this.conversations.role(conversation.id, actor.id);
    if (!role || !mayPost(conversation.kind, role)) throw refusal('channel_post_forbidden');
  }

  /**
   * Only the sender edits, and only while they may post in the conversation. `metadata`
   * (Parley's own API): undefined keeps the message's, null clears it.
   */
  async edit(actor: User, key: MessageKey, content: string, metadata?: unknown): Promise<Message> {
    const { message, conversation } = await this.get(actor, key);
    if (message.senderId !== actor.id) throw refusal('edit_own_only');
    await this.#requirePost(actor, conversation);
    await this.conversations.sanctions.refuseMuted(conversation.id, actor.id);
    await this.#refuseBlocked(actor, conversation);
    if (message.deletedAt !== null) throw new DomainError('message_deleted');
    if (message.kind !== 'text' && message.kind !== 'emoji') throw new DomainError('only_text_editable');
    if (content.trim() === '') throw new DomainError('empty_message');
    if (tooLong(content, this.config.maxMessageLength)) {
      throw new DomainError('message_too_long', { params: { max: this.config.maxMessageLength } });
    }
    refuseNul(content);
    const metadataJson = serializeMetadata(metadata);
    const updated = await storeCall(this.store.editMessage(message.id, content, Date.now(), metadataJson));
    this.events.publish({ type: 'message.updated', conversation, message: updated, sender: Users.summaryOf(actor), readSeqs: await this.#readSeqs(conversation), ...(await this.#hiddenFrom(message.id)) });
    return updated;
  }

  /**
   * Soft delete by the sender: the row stays as a tombstone so seq stays gapless. An admin or
   * moderator deleting someone else's message may give a reason, shown to its author.
   */
  async delete(actor: User, key: MessageKey, reason?: string | null): Promise<Message> {
    const { message, conversation } = await this.get(actor, key);
    if (message.senderId !== actor.id) {
      // Admins and moderators of a group or channel delete anyone's message.
      const role = conversation.kind === 'direct' ? undefined : await this.conversations.role(conversation.id, actor.id);
      if (!role || !may(role, 'delete_any_message')) throw refusal('delete_own_only');
    }
    return this.tombstone(actor, message, conversation, message.senderId === actor.id ? null : reason);
  }

  /**
   * Deletes a message for everyone, once; whether the actor may is the caller's to have
   * checked (`delete`, the report queue). A moderator's reason is kept for the author to see.
   * Someone else's message deleted is audited (`message.delete`), in the deletion's
   * transaction, when it changed anything; `also` (the report it resolves) in any case.
   */
  async tombstone(actor: User, message: Message, conversation: ConversationRef, reason?: string | null, also?: AuditEntryInput): Promise<Message> {
    if (message.deletedAt !== null) return message;
    const why = reason?.trim();
    if (why && tooLong(why, MODERATION_REASON_MAX)) throw refusal('moderation_reason_too_long', { max: MODERATION_REASON_MAX });
    const remove = async (tx: Store) => {
      if (why) await tx.recordDeletion(message.id, actor.id, why);
      return tx.deleteMessage(message.id, Date.now());
    };
    const entry: AuditEntryInput = {
      tenantId: actor.tenantId, actorId: actor.id, action: 'message.delete', targetType: 'message', targetId: String(message.id), reason: why || null,
      details: { conversationId: conversation.id, authorId: message.senderId },
    };
    const moderated = message.senderId !== actor.id;
    const { message: tombstone, changed } = await storeCall(
      moderated || also ? this.audit.within(this.store, remove, (r) => [...(moderated && r.changed ? [entry] : []), ...(also ? [also] : [])]) : remove(this.store),
    );
    const removal = why ? (await this.store.deletionsOf([message.id])).get(message.id) : undefined;
    const deleted = removal ? { ...tombstone, removal } : tombstone;
    // Another delete won the race: it told everyone already.
    if (changed) {
      this.events.publish({
        type: 'message.deleted',
        conversation,
        message: deleted,
        sender: (await this.users.named([message.senderId])).get(message.senderId)!,
        readSeqs: await this.#readSeqs(conversation),
        ...(await this.#presenceHidden(conversation, message.senderId)),
        ...(await this.#hiddenFrom(message.id)),
      });
    }
    return deleted;
  }

  /**
   * Erasure's content step (issue 20): every message `userId` sent becomes a tombstone and every
   * reaction they left is removed, each a change of its conversation (a change_seq, an event),
   * so a follower sees it live and a resume from any older cursor replays it; seqs stay as
   * they were. Runs in pages until nothing of theirs is left (a send that was committing as
   * the user was suspended is caught by the next page).
   */
  async eraseContentOf(user: User, pageSize = 200): Promise<{ messages: number; reactions: number }> {
    let messages = 0;
    let reactions = 0;
    for (let ids = await this.store.liveMessagesOf(user.id, pageSize); ids.length > 0; ids = await this.store.liveMessagesOf(user.id, pageSize)) {
      for (const id of ids) {
        const message = await this.store.messageById(id);
        if (!message || message.deletedAt !== null) continue;
        await this.tombstone(user, message, await this.conversations.refById(message.conversationId));
        messages++;
      }
    }
    for (let page = await this.store.reactionsOf(user.id, pageSize); page.length > 0; page = await this.store.reactionsOf(user.id, pageSize)) {
      for (const { messageId, emoji } of page) {
        const message = await this.store.messageById(messageId);
        if (!message) continue;
        try {
          await this.#setReaction(user, await this.conversations.refById(message.conversationId), message, emoji, false);
          reactions++;
        } catch (e) {
          // Deleted meanwhile: the scrub removes what its reactions left.
          if (!(e instanceof DomainError && e.code === 'message_deleted')) throw e;
        }
      }
    }
    return { messages, reactions };
  }

  /** Adds or removes the actor's reaction; doing it twice changes nothing the second time. */
  async react(actor: User, key: MessageKey, emoji: string, on: boolean): Promise<Message> {
    if (!isEmoji(emoji)) throw new DomainError('invalid_emoji');
    const { message, conversation } = await this.get(actor, key);
    await this.#refuseBlocked(actor, conversation);
    await this.conversations.sanctions.refuseMuted(conversation.id, actor.id);
    if (message.deletedAt !== null) throw new DomainError('message_deleted');
    return this.#setReaction(actor, conversation, message, emoji, on);
  }

  async #setReaction(actor: User, conversation: ConversationRef, message: Message, emoji: string, on: boolean): Promise<Message> {
    const at = Date.now();
    const { message: after, changed } = await storeCall(this.store.setReaction(message.id, actor.id, emoji, on, at));
    if (changed) {
      const sender = (await this.users.named([after.senderId])).get(after.senderId)!;
      const readSeqs = await this.#readSeqs(conversation);
      const hidden = await this.#presenceHidden(conversation, after.senderId);
      this.events.publish({ type: on ? 'reaction.added' : 'reaction.removed', conversation, message: after, sender, readSeqs, userId: actor.id, user: Users.summaryOf(actor), emoji, at, ...hidden, ...(await this.#hiddenFrom(message.id)) });
    }
    return after;
  }

  async #readSeqs(conversation: ConversationRef): Promise<ReadSeqs> {
    if (!conversation.pair) return null;
    return readSeqsOf(await this.store.members([conversation.id]));
  }

  /** Marks the actor's conversation read through this message (004's per-message read). */
  async markReadThrough(actor: User, key: MessageKey): Promise<Message> {
    const { message } = await this.get(actor, key);
    if (message.senderId !== actor.id) await this.conversations.markRead(actor, message.conversationId, message.seq);
    return message;
  }

  /** What a reader missed after `cursor`, in entries a page may stop between (catch-up.ts). */
  catchUp(actor: User, key: ConversationKey, cursor: ChangeCursor & { epoch?: string }): Promise<CatchUp | SnapshotRequired> {
    return openCatchUp(this, actor, key, cursor, this.#foreignEpoch(cursor.epoch));
  }

  /**
   * The history's epoch (Store.epoch), set at start; null: unknown (a core made without it),
   * every cursor taken as this history's.
   */
  epoch: string | null = null;

  /** Whether a cursor was read in another epoch than this history's (a client's given one). */
  #foreignEpoch(epoch: string | undefined): boolean {
    return epoch !== undefined && this.epoch !== null && epoch !== this.epoch;
  }

  /** Document 001's like: a 👍 reaction, toggled. */
  async toggleLike(actor: User, key: MessageKey): Promise<Message> {
    const { message } = await this.get(actor, key);
    const liked = message.reactions.some((r) => r.emoji === LIKE_EMOJI && r.userIds.includes(actor.id));
    return this.react(actor, key, LIKE_EMOJI, !liked);
  }
}
