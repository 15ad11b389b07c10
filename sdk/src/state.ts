import type {
  Conversation,
  ConversationChangedFrame,
  Member,
  Message,
  ParticipantChangedFrame,
  PendingMessage,
  PresenceFrame,
  PresenceStatus,
  TypingFrame,
  UnreadFrame,
  User,
} from './types.js';

/** The delivery state of one of your own messages. */
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read';

export interface PresenceInfo {
  user_id: number;
  online: boolean;
  status: PresenceStatus;
  last_seen: string | null;
}

/** One conversation as ChatState keeps it. */
interface Rec {
  id: number;
  /** The REST shape it was last loaded as (title, kind, members, role); null until loaded. */
  base: Conversation | null;
  /** The clock when the request that gave `base` started. */
  baseAt: number;
  /** The clock of the latest event that changed title, members or roles. */
  metaAt: number;
  /** The latest rename event (it wins over a base whose request started before it). */
  title: { value: string | null; at: number } | null;
  /** The latest visibility change (public or private), like `title`. */
  visibility: { value: Conversation['visibility']; at: number } | null;
  createdAt: number;
  lastSeq: number;
  changeSeq: number;
  lastMessage: Message | null;
  myReadSeq: number;
  /** The seq of my newest message: unread counts start above the newer of this and myReadSeq. */
  mySentSeq: number;
  /** My place as the server last told it (conversation or `unread` frame), and when (last_seq and change_seq then). */
  place: { seen: number; unread: number; first: number | null; asOf: number; asOfChange: number } | null;
  /** Messages in (place.seen, place.asOf] deleted since (not thread replies, which never counted): no longer unread. */
  deletedSince: Set<number>;
  /** The furthest my own reads and sends moved my place since the server last told it. */
  ownSince: number;
  reads: Map<number, number>;
  delivered: Map<number, number>;
  /** Messages by seq, and the seq of each message id. */
  messages: Map<number, Message>;
  seqOf: Map<number, number>;
  /**
   * Reply counts told by reply frames, by parent id: the reply's change_seq → +1 (new) or −1
   * (deleted). A parent read at change_seq P counts exactly the replies changed before P (the
   * server reads it under the conversation's change_seq lock), so a parent frame adds those
   * after P and a reply frame older than the parent as known adds nothing.
   */
  replyDeltas: Map<number, Map<number, number>>;
  /** Parents a resume's replay brought (read at the resume: they count every reply it replays). */
  replayedParents: Set<number>;
  pending: Map<string, PendingMessage>;
  /** Who is typing: user id → when the indicator expires locally (ms since epoch; Infinity: when the server says). */
  typing: Map<number, number>;
  view: Conversation | null;
  messageList: Message[] | null;
  pendingList: PendingMessage[] | null;
  typingList: number[] | null;
}

const EMPTY: never[] = [];

/**
 * What a chat page renders from: conversations (last message, unread count, members and
 * their read/delivered watermarks), messages by seq, pending sends, typing users, presence.
 * ParleyClient feeds it every REST answer and socket event; it only ever moves forward
 * (watermarks and change_seqs are merged by maximum), so events arriving in any order
 * against a REST load end up where a fresh REST load would be.
 *
 * Reading methods return the same (frozen-by-convention) objects until something in them
 * changes, so they can be compared by reference; subscribe() tells when anything changed.
 */
export class ChatState {
  /** You (set from login/register/me or the socket's `ready`). */
  me: User | null = null;
  /** A local cap on a typing indicator (ms), or null: it lasts until the server says the user stopped. */
  readonly typingTtlMs: number | null;
  #clock = 0;
  readonly #recs = new Map<number, Rec>();
  readonly #removed = new Map<number, number>();
  readonly #presence = new Map<number, PresenceInfo & { at: number }>();
  readonly #tempIds = new Map<number, string>();
  readonly #listeners = new Set<() => void>();
  #version = 0;
  #notifyQueued = false;
  #list: Conversation[] | null = null;
  #typingTimer: ReturnType<typeof setTimeout> | null = null;
  #typingTimerAt = 0;

  constructor(opts: { typingTtlMs?: number } = {}) {
    // The server tells each start and each stop once (a stop, the user's message, the mark's
    // expiry), and not the renewals between: a local expiry would drop a long typist.
    this.typingTtlMs = opts.typingTtlMs ?? null;
  }

  // ================================================================ reading

  /** Bumped on every change. */
  get version(): number {
    return this.#version;
  }

  /** Called (once per microtask at most) after changes; returns an unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Loaded conversations, the most recently active first. */
  conversations(): Conversation[] {
    if (this.#list) return this.#list;
    const out: Conversation[] = [];
    for (const rec of this.#recs.values()) {
      const v = this.#view(rec);
      if (v) out.push(v);
    }
    const at = (c: Conversation) => Date.parse(c.last_message_at ?? c.created_at);
    out.sort((a, b) => at(b) - at(a) || b.id - a.id);
    return (this.#list = out);
  }

  conversation(id: number): Conversation | undefined {
    const rec = this.#recs.get(id);
    return rec ? this.#view(rec) : undefined;
  }

  /** The messages known of a conversation, by seq (oldest first), without pending sends. */
  messages(conversationId: number): Message[] {
    const rec = this.#recs.get(conversationId);
    if (!rec) return EMPTY;
    return (rec.messageList ??= [...rec.messages.values()].sort((a, b) => a.seq - b.seq));
  }

  /** A known message by id. */
  message(id: number): Message | undefined {
    for (const rec of this.#recs.values()) {
      const seq = rec.seqOf.get(id);
      if (seq !== undefined) return rec.messages.get(seq);
    }
    return undefined;
  }

  /** Sends of this client not acknowledged yet, in the order they were made. */
  pending(conversationId: number): PendingMessage[] {
    const rec = this.#recs.get(conversationId);
    if (!rec || rec.pending.size === 0) return EMPTY;
    return (rec.pendingList ??= [...rec.pending.values()]);
  }

  /** Whether older messages than the oldest known exist (load them with client.loadOlder). */
  hasMore(conversationId: number): boolean {
    const rec = this.#recs.get(conversationId);
    if (!rec) return false;
    const list = this.messages(conversationId);
    return list.length === 0 ? rec.lastSeq > 0 : list[0].seq > 1;
  }

  /** Who is typing in a conversation now (not you), by user id. */
  typing(conversationId: number): number[] {
    const rec = this.#recs.get(conversationId);
    if (!rec || rec.typing.size === 0) return EMPTY;
    return (rec.typingList ??= [...rec.typing.keys()]);
  }

  /** Presence of a user as last told by the server (undefined: nothing heard yet). */
  presence(userId: number): PresenceInfo | undefined {
    const p = this.#presence.get(userId);
    if (!p) return undefined;
    const { at: _at, ...info } = p;
    return info;
  }

  /** The local_temp_id this message was sent with, when it was sent by you. */
  localTempIdOf(messageId: number): string | undefined {
    return this.#tempIds.get(messageId);
  }

  /** Sum of the unread counts. */
  unreadTotal(): number {
    let n = 0;
    for (const c of this.conversations()) n += c.unread_count;
    return n;
  }

  /**
   * The status of your own message: `pending` until acked, `sent`, `delivered` once every
   * other member who was there when it was sent has received it on a device, `read` once
   * every one of them has read it. Null for other people's messages.
   */
  statusOf(m: Message | PendingMessage): MessageStatus | null {
    if ('status' in m && m.status === 'pending') return 'pending';
    const msg = m as Message;
    if (!this.me || msg.sender.id !== this.me.id) return null;
    const conv = this.conversation(msg.conversation_id);
    if (!conv) return 'sent';
    const sentAt = Date.parse(msg.created_at);
    const others = conv.members.filter((x) => x.user.id !== this.me!.id && Date.parse(x.joined_at) <= sentAt);
    if (others.length === 0) return 'sent';
    if (others.every((x) => x.read_seq >= msg.seq)) return 'read';
    if (others.every((x) => Math.max(x.read_seq, x.delivered_seq) >= msg.seq)) return 'delivered';
    return 'sent';
  }

  // ================================================================ writing (ParleyClient calls these)

  /** A point in the state's history: take one before a REST request whose answer you merge. */
  tick(): number {
    return ++this.#clock;
  }

  /** Merges a conversation from REST. Returns true when an event raced the request (fetch again). */
  mergeConversation(c: Conversation, startedAt: number): boolean {
    const removedAt = this.#removed.get(c.id);
    if (removedAt !== undefined) {
      if (removedAt > startedAt) return false;
      this.#removed.delete(c.id);
    }
    const rec = this.#rec(c.id);
    rec.lastSeq = Math.max(rec.lastSeq, c.last_seq);
    rec.changeSeq = Math.max(rec.changeSeq, c.change_seq);
    if (c.last_message) rec.lastMessage = pickLast(rec.lastMessage, strip(c.last_message));
    rec.myReadSeq = Math.max(rec.myReadSeq, c.my_read_seq);
    rec.mySentSeq = Math.max(rec.mySentSeq, c.my_sent_seq);
    if (!rec.place || c.last_seq >= rec.place.asOf) this.#place(rec, c.my_seen_seq, c.unread_count, c.first_unread_seq, c.last_seq, c.change_seq);
    let raced = false;
    if (rec.metaAt > startedAt) raced = true;
    if (!rec.base || !raced) {
      const { last_message: _lm, ...rest } = c;
      // The list carries a few members of a big group; a complete member list loaded before
      // (GET /conversations/{id}) and kept by the participant events is not traded for it.
      const partial = c.members.length < c.member_count;
      const kept = partial && rec.base && rec.base.members.length > c.members.length ? rec.base.members : rest.members;
      rec.base = { ...rest, members: kept, last_message: null };
      rec.baseAt = startedAt;
    }
    this.#changed(rec);
    return raced;
  }

  /**
   * Merges the full list from REST: conversations known before the request started and
   * absent from it are gone. Returns the ids an event raced (fetch them again).
   */
  mergeConversationList(list: readonly Conversation[], startedAt: number): number[] {
    const raced: number[] = [];
    const ids = new Set<number>();
    for (const c of list) {
      ids.add(c.id);
      if (this.mergeConversation(c, startedAt)) raced.push(c.id);
    }
    for (const rec of [...this.#recs.values()]) {
      if (!ids.has(rec.id) && rec.createdAt < startedAt && rec.metaAt < startedAt) this.removeConversation(rec.id);
    }
    return raced;
  }

  /** Forgets a conversation (deleted, or you left or were removed). */
  removeConversation(id: number): void {
    const rec = this.#recs.get(id);
    this.#removed.set(id, this.tick());
    if (!rec) return;
    this.#recs.delete(id);
    this.#list = null;
    this.#touch();
  }

  /** Whether the conversation was removed (and not seen again since). */
  isRemoved(id: number): boolean {
    return this.#removed.has(id) && !this.#recs.has(id);
  }

  /** Messages deleted for me (delete for me): never merged again, whatever frame or page brings them. */
  readonly #hidden = new Set<number>();

  /** Drops a message deleted for me from this state, for good. */
  hideMessage(conversationId: number, messageId: number): void {
    this.#hidden.add(messageId);
    const rec = this.#recs.get(conversationId);
    const seq = rec?.seqOf.get(messageId);
    if (!rec || seq === undefined) return;
    rec.messages.delete(seq);
    rec.seqOf.delete(messageId);
    rec.messageList = null;
    if (rec.lastMessage?.id === messageId) rec.lastMessage = [...rec.messages.values()].reduce<Message | null>((a, b) => pickLast(a, b), null);
    this.#changed(rec);
  }

  /**
   * Adds or updates a message (an older change_seq than known is ignored). `from`: `event`
   * (a live frame, read when it changed), `replay` (a frame of a resume's replay, read at the
   * resume, as every message of that replay) or `history` (a REST page, whose parents' reply
   * counts already count it).
   */
  mergeMessage(m: Message, from: 'event' | 'replay' | 'history' = 'event'): void {
    if (this.#removed.has(m.conversation_id) || this.#hidden.has(m.id)) return;
    const msg = strip(m);
    if (m.local_temp_id) this.#tempIds.set(m.id, m.local_temp_id);
    const rec = this.#rec(m.conversation_id);
    const knownSeq = rec.seqOf.get(msg.id);
    const old = knownSeq === undefined ? undefined : rec.messages.get(knownSeq);
    // The same change_seq again replaces it too: a fresh read carries fresh signed file URLs.
    if (!old || old.change_seq <= msg.change_seq) {
      const p = rec.place;
      // Deleted since my place was told: a deletion at or before its change_seq is out of its
      // count already (a history page after the row shows it deleted, and new to this state).
      if (msg.deleted_at && !old?.deleted_at && msg.reply_to_id === null && p && msg.seq > p.seen && msg.seq <= p.asOf && msg.change_seq > p.asOfChange) rec.deletedSince.add(msg.seq);
      // A new reply counts on its parent at once (the server sends no change of the parent for
      // it); one from a history page is in its parent's count already, even one newer than
      // the conversation's last_seq as known (sent between the two reads).
      const replyDelta = msg.reply_to_id === null || from === 'history' ? 0 : !old && !msg.deleted_at && msg.seq > rec.lastSeq ? 1 : msg.deleted_at && old && !old.deleted_at ? -1 : 0;
      if (replyDelta !== 0 && !(from === 'replay' && rec.replayedParents.has(msg.reply_to_id!))) this.#countReply(rec, msg, replyDelta);
      if (from === 'replay') rec.replayedParents.add(msg.id);
      const counted = from === 'event' ? this.#withLaterReplies(rec, msg) : msg;
      rec.messages.set(msg.seq, counted);
      rec.seqOf.set(msg.id, msg.seq);
      rec.messageList = null;
    }
    rec.lastSeq = Math.max(rec.lastSeq, msg.seq);
    rec.changeSeq = Math.max(rec.changeSeq, msg.change_seq);
    rec.lastMessage = pickLast(rec.lastMessage, msg);
    // The server moves a sender's delivered watermark to each message they send; only
    // reading moves a read watermark.
    raise(rec.delivered, msg.sender.id, msg.seq);
    if (msg.sender.id === this.me?.id) {
      rec.mySentSeq = Math.max(rec.mySentSeq, msg.seq);
      // A thread reply of mine leaves my place in the conversation (it moves my place in its thread).
      if (msg.seq > (rec.place?.asOf ?? 0) && msg.reply_to_id === null) rec.ownSince = Math.max(rec.ownSince, msg.seq);
    }
    if (rec.typing.delete(msg.sender.id)) rec.typingList = null;
    this.#changed(rec);
  }

  /** A resume's replay is over: what comes next was read when it changed (mergeMessage's `event`). */
  replayDone(): void {
    for (const rec of this.#recs.values()) rec.replayedParents.clear();
  }

  /** Drops the known messages of a conversation (a snapshot reload merges the newest page next). */
  clearMessages(conversationId: number): void {
    const rec = this.#recs.get(conversationId);
    if (!rec || rec.messages.size === 0) return;
    rec.messages.clear();
    rec.seqOf.clear();
    rec.replyDeltas.clear();
    rec.messageList = null;
    this.#changed(rec);
  }

  addPending(p: PendingMessage): void {
    const rec = this.#rec(p.conversation_id);
    rec.pending.set(p.local_temp_id, p);
    rec.pendingList = null;
    this.#changed(rec);
  }

  removePending(conversationId: number, localTempId: string): void {
    const rec = this.#recs.get(conversationId);
    if (!rec || !rec.pending.delete(localTempId)) return;
    rec.pendingList = null;
    this.#changed(rec);
  }

  applyRead(conversationId: number, userId: number, readSeq: number): void {
    if (this.#removed.has(conversationId)) return;
    const rec = this.#rec(conversationId);
    raise(rec.reads, userId, readSeq);
    // The server's read watermark carries the delivered one along.
    raise(rec.delivered, userId, readSeq);
    if (userId === this.me?.id) {
      rec.myReadSeq = Math.max(rec.myReadSeq, readSeq);
      rec.ownSince = Math.max(rec.ownSince, readSeq);
    }
    this.#changed(rec);
  }

  /** My place moved (a read or mark-unread on one of my devices): the server's unread state. */
  applyUnread(f: UnreadFrame): void {
    if (this.#removed.has(f.conversation_id)) return;
    const rec = this.#rec(f.conversation_id);
    this.#place(rec, f.seen_seq, f.unread_count, f.first_unread_seq, rec.lastSeq, rec.changeSeq);
    this.#changed(rec);
  }

  #place(rec: Rec, seen: number, unread: number, first: number | null, asOf: number, asOfChange: number): void {
    rec.place = { seen, unread, first, asOf, asOfChange };
    rec.deletedSince.clear();
    rec.ownSince = 0;
  }

  /**
   * Unread count and first unread seq from the server's last word, plus what came since: new
   * messages above it, deletions, and my own sends (which move my place to them). A thread
   * reply never counts in the conversation (it counts in its thread), nor a deleted message.
   */
  #unread(rec: Rec, lastSeq: number, myRead: number, mySent: number): { count: number; first: number | null } {
    const p = rec.place;
    const uncounted = (m: Message | undefined) => !!m && (m.deleted_at !== null || m.reply_to_id !== null);
    const deletedIn = (from: number) => {
      let n = 0;
      for (const [seq, m] of rec.messages) if (seq > from && seq <= lastSeq && uncounted(m)) n++;
      return n;
    };
    const firstAbove = (from: number) => {
      for (let seq = from + 1; seq <= lastSeq; seq++) if (!uncounted(rec.messages.get(seq))) return seq;
      return null;
    };
    if (!p) return { count: Math.max(0, lastSeq - Math.max(myRead, mySent)), first: null };
    // A read or a send of mine since: my place is there now (the server's `unread` frame follows).
    if (rec.ownSince > p.seen) {
      const own = Math.min(rec.ownSince, lastSeq);
      const count = Math.max(0, lastSeq - own - deletedIn(own));
      return { count, first: count > 0 ? firstAbove(own) : null };
    }
    const above = Math.max(p.asOf, p.seen);
    const count = Math.max(0, p.unread - rec.deletedSince.size + (lastSeq - above) - deletedIn(above));
    const first = count === 0 ? null : p.first !== null && !rec.deletedSince.has(p.first) ? p.first : firstAbove(p.seen);
    return { count, first };
  }

  applyDelivered(conversationId: number, userId: number, deliveredSeq: number): void {
    if (this.#removed.has(conversationId)) return;
    const rec = this.#rec(conversationId);
    raise(rec.delivered, userId, deliveredSeq);
    this.#changed(rec);
  }

  applyTyping(f: TypingFrame): void {
    const rec = this.#recs.get(f.conversation_id);
    if (!rec) return;
    const now = Date.now();
    const me = this.me?.id;
    const typing = new Set(f.typing_user_ids.filter((id) => id !== me));
    if (f.is_typing && f.user_id !== me) typing.add(f.user_id);
    else typing.delete(f.user_id);
    for (const id of [...rec.typing.keys()]) if (!typing.has(id)) rec.typing.delete(id);
    const until = this.typingTtlMs === null ? Infinity : now + this.typingTtlMs;
    for (const id of typing) if (!rec.typing.has(id) || id === f.user_id) rec.typing.set(id, until);
    rec.typingList = null;
    this.#scheduleTypingExpiry();
    this.#touch();
  }

  /** Nobody is typing any more (the socket closed: nobody would tell us they stopped). */
  clearTyping(): void {
    let any = false;
    for (const rec of this.#recs.values()) {
      if (rec.typing.size === 0) continue;
      rec.typing.clear();
      rec.typingList = null;
      any = true;
    }
    if (any) this.#touch();
  }

  applyPresence(f: PresenceFrame | PresenceInfo): void {
    this.#presence.set(f.user_id, { user_id: f.user_id, online: f.online, status: f.status, last_seen: f.last_seen, at: this.tick() });
    for (const rec of this.#recs.values()) if (rec.base?.members.some((m) => m.user.id === f.user_id)) this.#changed(rec);
    this.#touch();
  }

  applyConversationChanged(f: ConversationChangedFrame): void {
    const id = f.conversation.id;
    if (f.change === 'deleted') return this.removeConversation(id);
    if (f.change === 'created') {
      this.#removed.delete(id);
      const rec = this.#rec(id);
      rec.metaAt = this.tick();
      return;
    }
    const rec = this.#recs.get(id);
    if (!rec) return;
    rec.metaAt = this.tick();
    if (f.title !== undefined) rec.title = { value: f.title, at: rec.metaAt };
    if (f.visibility !== undefined) rec.visibility = { value: f.visibility, at: rec.metaAt };
    this.#changed(rec);
  }

  /** Returns true when the conversation must be fetched again (someone joined: their member row). */
  applyParticipantChanged(f: ParticipantChangedFrame): boolean {
    const me = this.me?.id;
    if (f.change === 'removed' && f.user.id === me) {
      this.removeConversation(f.conversation_id);
      return false;
    }
    const rec = this.#recs.get(f.conversation_id);
    if (!rec) return false;
    rec.metaAt = this.tick();
    const base = rec.base;
    if (f.change === 'added' || !base) {
      this.#changed(rec);
      return true;
    }
    if (f.change === 'removed') {
      const members = base.members.filter((m) => m.user.id !== f.user.id);
      rec.base = { ...base, members, member_count: Math.max(members.length, base.member_count - 1) };
    } else if (f.role) {
      const role = f.role;
      rec.base = {
        ...base,
        my_role: f.user.id === me ? role : base.my_role,
        members: base.members.map((m): Member => (m.user.id === f.user.id ? { ...m, role } : m)),
      };
    }
    this.#changed(rec);
    return false;
  }

  // ================================================================ internals

  /** A reply frame's +1/−1 on its parent, unless the parent as known was read after it. */
  #countReply(rec: Rec, reply: Message, delta: number): void {
    const parentId = reply.reply_to_id!;
    const parentSeq = rec.seqOf.get(parentId);
    const parent = parentSeq === undefined ? undefined : rec.messages.get(parentSeq);
    if (parent && parent.change_seq > reply.change_seq) return;
    const deltas = rec.replyDeltas.get(parentId) ?? new Map<number, number>();
    deltas.set(reply.change_seq, delta);
    rec.replyDeltas.set(parentId, deltas);
    if (parent) rec.messages.set(parent.seq, { ...parent, reply_count: Math.max(0, parent.reply_count + delta) });
  }

  /** A parent from a frame: its count plus the replies told since it was read (those before are in it, and forgotten). */
  #withLaterReplies(rec: Rec, parent: Message): Message {
    const deltas = rec.replyDeltas.get(parent.id);
    if (!deltas) return parent;
    let later = 0;
    for (const [changeSeq, delta] of deltas) {
      if (changeSeq > parent.change_seq) later += delta;
      else deltas.delete(changeSeq);
    }
    if (deltas.size === 0) rec.replyDeltas.delete(parent.id);
    return later === 0 ? parent : { ...parent, reply_count: Math.max(0, parent.reply_count + later) };
  }

  #rec(id: number): Rec {
    let rec = this.#recs.get(id);
    if (!rec) {
      rec = {
        id,
        base: null,
        baseAt: 0,
        metaAt: 0,
        title: null,
        visibility: null,
        createdAt: this.tick(),
        lastSeq: 0,
        changeSeq: 0,
        lastMessage: null,
        myReadSeq: 0,
        mySentSeq: 0,
        place: null,
        deletedSince: new Set(),
        ownSince: 0,
        reads: new Map(),
        delivered: new Map(),
        messages: new Map(),
        seqOf: new Map(),
        replyDeltas: new Map(),
        replayedParents: new Set(),
        pending: new Map(),
        typing: new Map(),
        view: null,
        messageList: null,
        pendingList: null,
        typingList: null,
      };
      this.#recs.set(id, rec);
    }
    return rec;
  }

  #view(rec: Rec): Conversation | undefined {
    const b = rec.base;
    if (!b) return undefined;
    if (rec.view) return rec.view;
    const lastSeq = Math.max(b.last_seq, rec.lastSeq);
    const myRead = Math.max(b.my_read_seq, rec.myReadSeq);
    const members = b.members.map((m): Member => {
      const p = this.#presence.get(m.user.id);
      return {
        ...m,
        read_seq: Math.max(m.read_seq, rec.reads.get(m.user.id) ?? 0),
        delivered_seq: Math.max(m.delivered_seq, rec.delivered.get(m.user.id) ?? 0),
        online: p && p.at > rec.baseAt ? p.online : m.online,
      };
    });
    const mySent = Math.max(b.my_sent_seq, rec.mySentSeq);
    const unread = this.#unread(rec, lastSeq, myRead, mySent);
    rec.view = {
      ...b,
      title: rec.title && rec.title.at > rec.baseAt ? rec.title.value : b.title,
      visibility: rec.visibility && rec.visibility.at > rec.baseAt ? rec.visibility.value : b.visibility,
      last_seq: lastSeq,
      change_seq: Math.max(b.change_seq, rec.changeSeq),
      last_message: rec.lastMessage,
      last_message_at: rec.lastMessage ? rec.lastMessage.created_at : b.last_message_at,
      unread_count: unread.count,
      first_unread_seq: unread.first,
      my_seen_seq: Math.max(rec.ownSince, rec.place?.seen ?? b.my_seen_seq),
      my_read_seq: myRead,
      my_sent_seq: mySent,
      members,
    };
    return rec.view;
  }

  #changed(rec: Rec): void {
    rec.view = null;
    this.#list = null;
    this.#touch();
  }

  #touch(): void {
    this.#version++;
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      for (const l of [...this.#listeners]) l();
    });
  }

  #scheduleTypingExpiry(): void {
    let next = Infinity;
    for (const rec of this.#recs.values()) for (const at of rec.typing.values()) next = Math.min(next, at);
    if (next === Infinity) return;
    if (this.#typingTimer && this.#typingTimerAt <= next) return;
    if (this.#typingTimer) clearTimeout(this.#typingTimer);
    this.#typingTimerAt = next;
    this.#typingTimer = setTimeout(() => {
      this.#typingTimer = null;
      const now = Date.now();
      let any = false;
      for (const rec of this.#recs.values()) {
        for (const [id, at] of rec.typing) {
          if (at <= now) {
            rec.typing.delete(id);
            rec.typingList = null;
            any = true;
          }
        }
      }
      if (any) this.#touch();
      this.#scheduleTypingExpiry();
    }, Math.max(0, next - Date.now()) + 5);
    (this.#typingTimer as { unref?: () => void }).unref?.();
  }
}

/** The server's message shape without local_temp_id (only the sender's copies carry one). */
function strip(m: Message): Message {
  if (!('local_temp_id' in m)) return m;
  const { local_temp_id: _t, ...rest } = m;
  return rest;
}

/** The newer of two candidates for a conversation's last message. */
function pickLast(cur: Message | null, cand: Message): Message {
  if (!cur || cand.seq > cur.seq) return cand;
  if (cand.id === cur.id && cand.change_seq > cur.change_seq) return cand;
  return cur;
}

function raise(map: Map<number, number>, key: number, value: number): void {
  if ((map.get(key) ?? -1) < value) map.set(key, value);
}
