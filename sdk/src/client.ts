import type { AdminApi } from './admin.js';
import { Emitter } from './emitter.js';
import { ParleyError } from './errors.js';
import { Realtime, type HeartbeatOptions, type Mark, type ReconnectOptions, type WebSocketConstructor } from './realtime.js';
import {
  ParleyRest,
  type BaseUrl,
  type CreateConversationInput,
  type FetchLike,
  type HistoryOptions,
  type HistoryPage,
  type LoginInput,
  type RegisterInput,
  type SearchOptions,
  type SearchPage,
  type SendInput,
} from './rest.js';
import { ChatState } from './state.js';
import type {
  ApiKey,
  ApiKeyScope,
  IssuedApiKey,
  ClientFrame,
  ConnectionStatus,
  Conversation,
  DirectoryPage,
  ErrorFrame,
  Member,
  Message,
  MessageChangedFrame,
  MessageFrame,
  ParleyEventMap,
  PendingMessage,
  Pin,
  Presence,
  PresenceStatus,
  Revisions,
  Role,
  SavedPage,
  ServerFrame,
  Session,
  UploadedFile,
  User,
  Me,
  Visibility,
} from './types.js';
import type { UploadInput, UploadOptions, XhrConstructor } from './upload.js';

export interface ParleyClientOptions {
  /**
   * The server: `http(s)://host:port`, '' for the page's own origin, or a function asked
   * before every request and every (re)connection (a server that moved).
   */
  baseUrl: BaseUrl;
  /** A token you already have (else register() or login()). */
  token?: string | null;
  /**
   * Server mode: an API key (`pk_…`) instead of a user's token; the client acts as the key's
   * bot, within its scopes. Keep it on a server: it does not expire.
   */
  apiKey?: string;
  /** Default globalThis.WebSocket. Node 20 has none: pass the `ws` package's WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Default globalThis.fetch. */
  fetch?: FetchLike;
  /** Default globalThis.XMLHttpRequest (uploads with progress); absent in Node, where fetch streams. */
  XMLHttpRequest?: XhrConstructor;
  /** Backoff between reconnect attempts; false: never reconnect. */
  reconnect?: ReconnectOptions | false;
  /** Pings that find a dead socket; false: none. */
  heartbeat?: HeartbeatOptions | false;
  /**
   * A subscribe with no frame in answer for this long (ms, default 20000; 0: wait forever)
   * is given up: the socket is replaced and subscribes again. Replay frames count as answers.
   */
  subscribeTimeoutMs?: number;
  /**
   * A typing indicator disappears when the server says the user stopped (their stop, their
   * message, or the expiry of their typing mark; it does not forward each renewal); with this
   * (ms), also after this long since it was shown, whatever the server says. Default: none.
   */
  typingTtlMs?: number;
  /** Messages per history page the client asks for itself (reloads, new conversations). Default 50. */
  pageSize?: number;
}

export interface SendOptions {
  /** Default: the socket once connect() was called (queued while offline), else REST. */
  via?: 'socket' | 'rest';
  /** Your own id for this send (default: a random UUID). A retry with it stores nothing new. */
  localTempId?: string;
}

export interface SendHandle {
  localTempId: string;
  /** The optimistic message, in state.pending() until the ack. */
  pending: PendingMessage;
  /** The stored message (the ack); rejects with a ParleyError carrying the server's code. */
  promise: Promise<Message>;
}

interface OutboxEntry {
  localTempId: string;
  conversationId: number;
  frame: ClientFrame<'send'>;
  input: SendInput;
  via: 'socket' | 'rest';
  resolve: (m: Message) => void;
  reject: (e: unknown) => void;
}

const CHANGE_OF = { edit: 'edited', delete: 'deleted', react: 'reaction_added', unreact: 'reaction_removed' } as const;

/**
 * A typed client of Parley's own API (/api/parley): REST for everything, one socket for
 * live events, sends and presence, and a ChatState kept in step with both. Works in
 * browsers and in Node 20 (pass `ws`'s WebSocket); no runtime dependencies.
 */
export class ParleyClient {
  readonly rest: ParleyRest;
  readonly state: ChatState;
  readonly #emitter = new Emitter<ParleyEventMap>();
  readonly #opts: ParleyClientOptions;
  #rt: Realtime | null = null;
  /** The resume cursors (shared with the Realtime, which moves them as the socket delivers). */
  readonly #cursors = new Map<number, Mark>();
  readonly #outbox = new Map<string, OutboxEntry>();
  /** Every message id emitted to the app, with the change_seq it was emitted at. */
  readonly #emitted = new Map<number, number>();
  readonly #tasks = new Set<Promise<unknown>>();
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly #typingSent = new Map<number, number>();
  #onlineListener: (() => void) | null = null;
  #offlineListener: (() => void) | null = null;

  constructor(opts: ParleyClientOptions) {
    this.#opts = opts;
    this.rest = new ParleyRest({ baseUrl: opts.baseUrl, token: opts.apiKey ?? opts.token, fetch: opts.fetch, XMLHttpRequest: opts.XMLHttpRequest });
    this.state = new ChatState({ typingTtlMs: opts.typingTtlMs });
  }

  // ================================================================ basics

  get token(): string | null {
    return this.rest.token;
  }

  set token(t: string | null) {
    this.rest.token = t;
  }

  /** You, once known (login, register, me(), or the socket's `ready`). */
  get user(): User | null {
    return this.state.me;
  }

  /** The socket: 'connecting' | 'online' | 'offline'. */
  get status(): ConnectionStatus {
    return this.#rt?.status ?? 'offline';
  }

  on<K extends keyof ParleyEventMap>(event: K, handler: (payload: ParleyEventMap[K]) => void): () => void {
    return this.#emitter.on(event, handler);
  }

  once<K extends keyof ParleyEventMap>(event: K, handler: (payload: ParleyEventMap[K]) => void): () => void {
    return this.#emitter.once(event, handler);
  }

  off<K extends keyof ParleyEventMap>(event: K, handler: (payload: ParleyEventMap[K]) => void): void {
    this.#emitter.off(event, handler);
  }

  /** Resolves when every background load the client started (refreshes, reloads) has finished. */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  // ================================================================ accounts and people

  async register(input: RegisterInput): Promise<Session> {
    const s = await this.rest.register(input);
    this.state.me = s.user;
    return s;
  }

  async login(input: LoginInput): Promise<Session> {
    const s = await this.rest.login(input);
    this.state.me = s.user;
    return s;
  }

  /** Revokes the token and closes the socket. */
  async logout(): Promise<void> {
    this.disconnect();
    await this.rest.logout();
  }

  /** Me, with what I administer (`tenant_role`, `is_operator`), read from the server. */
  async me(): Promise<Me> {
    const u = await this.rest.me();
    this.state.me = u;
    return u;
  }

  searchUsers(q: string, opts: { limit?: number } = {}): Promise<User[]> {
    return this.rest.searchUsers(q, opts);
  }

  /** Tenant admins: a new API key and its bot; the secret is in the answer only. */
  createApiKey(input: { name: string; scopes: ApiKeyScope[] }): Promise<IssuedApiKey> {
    return this.rest.createApiKey(input);
  }

  listApiKeys(): Promise<ApiKey[]> {
    return this.rest.listApiKeys();
  }

  revokeApiKey(id: string): Promise<void> {
    return this.rest.revokeApiKey(id);
  }

  /** Administration (issue 20): users, conversations and tenant settings, for admins and operators. */
  get admin(): AdminApi {
    return this.rest.admin;
  }

  /** Full-text search over the messages of my conversations (GET /api/parley/search). */
  search(q: string, opts: SearchOptions = {}): Promise<SearchPage> {
    return this.rest.search(q, opts);
  }

  /** Presence of users (also merged into the state). */
  async presence(userIds: readonly number[]): Promise<Presence[]> {
    const list = await this.rest.presence(userIds);
    for (const p of list) this.state.applyPresence(p);
    return list;
  }

  /** Your status: over the socket when live, else REST. */
  async setPresence(status: PresenceStatus): Promise<void> {
    if (this.#rt?.send({ type: 'presence', status })) return;
    await this.rest.setPresence(status);
  }

  // ================================================================ conversations

  /** Every conversation of yours, from REST, merged into the state. */
  async listConversations(): Promise<Conversation[]> {
    await this.#ensureMe();
    const t = this.state.tick();
    const list = await this.rest.listConversations();
    const raced = this.state.mergeConversationList(list, t);
    // Offline, a fresh load is a valid resume point; live, only the socket's stream is.
    if (!this.#rt?.session) for (const c of list) this.#seedCursor(c.id, c.last_seq, c.change_seq);
    for (const id of raced) this.#background(this.getConversation(id));
    return list;
  }

  async getConversation(id: number): Promise<Conversation> {
    await this.#ensureMe();
    for (let i = 0; ; i++) {
      const t = this.state.tick();
      const c = await this.rest.getConversation(id);
      // An event changed it while the request ran: ask again (a few times at most).
      if (!this.state.mergeConversation(c, t) || i >= 2) return c;
    }
  }

  async createConversation(input: CreateConversationInput): Promise<Conversation> {
    await this.#ensureMe();
    const t = this.state.tick();
    const c = await this.rest.createConversation(input);
    this.state.mergeConversation(c, t);
    return c;
  }

  /** Opens (or finds) the direct conversation with a user. */
  createDirect(userId: number): Promise<Conversation> {
    return this.createConversation({ kind: 'direct', userId });
  }

  createGroup(title: string | null, memberIds: number[] = []): Promise<Conversation> {
    return this.createConversation({ kind: 'group', title, memberIds });
  }

  createChannel(title: string | null, memberIds: number[] = [], visibility?: Visibility): Promise<Conversation> {
    return this.createConversation({ kind: 'channel', title, memberIds, visibility });
  }

  /** A page of my tenant's public channels (see RestClient.listChannels). */
  listChannels(opts: { q?: string; cursor?: string; limit?: number } = {}): Promise<DirectoryPage> {
    return this.rest.listChannels(opts);
  }

  /** Joins a public channel; it is then in the conversation list like any other. */
  async joinChannel(id: number): Promise<Conversation> {
    await this.#ensureMe();
    const t = this.state.tick();
    const c = await this.rest.joinChannel(id);
    this.state.mergeConversation(c, t);
    return c;
  }

  async setVisibility(id: number, visibility: Visibility): Promise<Conversation> {
    const t = this.state.tick();
    const c = await this.rest.setVisibility(id, visibility);
    this.state.mergeConversation(c, t);
    return c;
  }

  async renameConversation(id: number, title: string | null): Promise<Conversation> {
    const t = this.state.tick();
    const c = await this.rest.renameConversation(id, title);
    this.state.mergeConversation(c, t);
    return c;
  }

  async deleteConversation(id: number): Promise<void> {
    await this.rest.deleteConversation(id);
    this.#forget(id);
  }

  participants(conversationId: number): Promise<Member[]> {
    return this.rest.participants(conversationId);
  }

  async addParticipant(conversationId: number, userId: number, role?: Role): Promise<Member> {
    const m = await this.rest.addParticipant(conversationId, userId, role);
    await this.getConversation(conversationId);
    return m;
  }

  async setRole(conversationId: number, userId: number, role: Role): Promise<Member> {
    const m = await this.rest.setRole(conversationId, userId, role);
    await this.getConversation(conversationId);
    return m;
  }

  /** Removes someone, or (your own id) leaves. */
  async removeParticipant(conversationId: number, userId: number): Promise<void> {
    await this.rest.removeParticipant(conversationId, userId);
    if (userId === this.state.me?.id) this.#forget(conversationId);
    else await this.getConversation(conversationId);
  }

  async leaveConversation(conversationId: number): Promise<void> {
    const me = await this.#ensureMe();
    await this.removeParticipant(conversationId, me.id);
  }

  // ================================================================ messages

  /**
   * A page of history (oldest first), merged into the state: the newest page without
   * beforeSeq; older ones with beforeSeq = the first seq of the page before.
   */
  async history(conversationId: number, opts: HistoryOptions = {}): Promise<HistoryPage> {
    await this.#ensureMe();
    const page = await this.rest.history(conversationId, opts);
    for (const m of page.messages) this.state.mergeMessage(m, 'history');
    // The newest page holds everything up to lastSeq: a resume point if there is none yet.
    if (opts.beforeSeq === undefined) this.#seedCursor(conversationId, page.lastSeq, page.changeSeq);
    return page;
  }

  /** The page before the oldest message the state holds (the newest page if it holds none). */
  loadOlder(conversationId: number, limit?: number): Promise<HistoryPage> {
    const first = this.state.messages(conversationId)[0];
    return this.history(conversationId, { beforeSeq: first?.seq, limit: limit ?? this.#opts.pageSize });
  }

  /**
   * Sends a message. Synchronously adds an optimistic entry to state.pending() and emits
   * `pending`; the promise resolves with the stored message once acknowledged (the entry is
   * then replaced by the message), or rejects with the server's code (the entry is removed).
   * Over the socket, a send made while offline, or not acknowledged when the socket dropped,
   * is sent again after reconnecting with the same local_temp_id: the server stores it once.
   */
  send(conversationId: number, input: SendInput, opts: SendOptions = {}): SendHandle {
    const localTempId = opts.localTempId ?? newTempId();
    const attachments = input.attachments ?? [];
    const kind = input.kind ?? (attachments.length > 0 ? 'file' : 'text');
    const pending: PendingMessage = {
      local_temp_id: localTempId,
      conversation_id: conversationId,
      kind,
      content: input.content ?? null,
      reply_to_id: input.replyToId ?? null,
      attachments,
      created_at: new Date().toISOString(),
      sender_id: this.state.me?.id ?? null,
      status: 'pending',
    };
    const frame: ClientFrame<'send'> = { type: 'send', conversation_id: conversationId, local_temp_id: localTempId, kind };
    if (input.content !== undefined) frame.content = input.content;
    if (input.replyToId !== undefined) frame.reply_to_id = input.replyToId;
    if (attachments.length > 0) frame.attachments = attachments;
    if (input.metadata !== undefined) frame.metadata = input.metadata;
    let resolve!: (m: Message) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<Message>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // The caller may only watch the state: an unobserved refusal is not an unhandled rejection.
    promise.catch(() => {});
    const via = opts.via ?? (this.#rt?.wanted ? 'socket' : 'rest');
    const entry: OutboxEntry = { localTempId, conversationId, frame, input: { ...input, kind }, via, resolve, reject };
    this.#outbox.set(localTempId, entry);
    this.state.addPending(pending);
    this.#emitter.emit('pending', pending);
    if (via === 'rest') this.#sendRest(entry);
    else this.#rt?.send(frame);
    return { localTempId, pending, promise };
  }

  /** Sends not acknowledged yet (queued or in flight), oldest first. */
  unacknowledged(): { localTempId: string; conversationId: number; via: 'socket' | 'rest' }[] {
    return [...this.#outbox.values()].map((e) => ({ localTempId: e.localTempId, conversationId: e.conversationId, via: e.via }));
  }

  edit(messageId: number, content: string): Promise<Message> {
    return this.#change('edit', this.rest.editMessage(messageId, content));
  }

  deleteMessage(messageId: number): Promise<Message> {
    return this.#change('delete', this.rest.deleteMessage(messageId));
  }

  react(messageId: number, emoji: string): Promise<Message> {
    return this.#change('react', this.rest.react(messageId, emoji), emoji);
  }

  unreact(messageId: number, emoji: string): Promise<Message> {
    return this.#change('unreact', this.rest.unreact(messageId, emoji), emoji);
  }

  getMessage(id: number): Promise<Message> {
    return this.rest.getMessage(id);
  }

  /** A message's earlier texts, oldest first: what "edited" opens. */
  revisions(messageId: number): Promise<Revisions> {
    return this.rest.revisions(messageId);
  }

  /** Deletes a message for me only: gone from this state now, from my other devices by `message_hidden`. */
  async deleteMessageForMe(conversationId: number, messageId: number): Promise<void> {
    await this.rest.deleteMessageForMe(messageId);
    this.state.hideMessage(conversationId, messageId);
  }

  pin(messageId: number): Promise<void> {
    return this.rest.pin(messageId);
  }

  unpin(messageId: number): Promise<void> {
    return this.rest.unpin(messageId);
  }

  pins(conversationId: number): Promise<Pin[]> {
    return this.rest.pins(conversationId);
  }

  save(messageId: number): Promise<void> {
    return this.rest.save(messageId);
  }

  unsave(messageId: number): Promise<void> {
    return this.rest.unsave(messageId);
  }

  /** A page of my saved messages, newest first (`next`: the following page's `before`). */
  saved(opts: { limit?: number; before?: string } = {}): Promise<SavedPage> {
    return this.rest.savedPage(opts);
  }

  /**
   * Marks read up to seq (default: the newest message the state knows of). Over the socket
   * when live (the state moves when the server's `read` event comes back), else REST.
   */
  async markRead(conversationId: number, seq?: number): Promise<void> {
    const target = seq ?? this.state.conversation(conversationId)?.last_seq;
    if (this.#rt?.send(target === undefined ? { type: 'read', conversation_id: conversationId } : { type: 'read', conversation_id: conversationId, seq: target })) return;
    const readSeq = await this.rest.markRead(conversationId, target);
    const me = await this.#ensureMe();
    this.state.applyRead(conversationId, me.id, readSeq);
  }

  /** "Mark as unread" from message seq: my unread count (here and on my other devices) follows. */
  async markUnread(conversationId: number, seq: number): Promise<void> {
    const s = await this.rest.markUnread(conversationId, seq);
    this.state.applyUnread({ type: 'unread', conversation_id: conversationId, ...s });
  }

  /**
   * Typing started or stopped (socket only: nothing happens offline). Call it on every
   * keystroke: a start is sent at most every 3 s, a stop only after a start.
   */
  typing(conversationId: number, isTyping: boolean): boolean {
    const last = this.#typingSent.get(conversationId);
    const now = Date.now();
    if (isTyping && last !== undefined && now - last < 3000) return false;
    if (!isTyping && last === undefined) return false;
    if (!this.#rt?.send({ type: 'typing', conversation_id: conversationId, is_typing: isTyping })) return false;
    if (isTyping) this.#typingSent.set(conversationId, now);
    else this.#typingSent.delete(conversationId);
    return true;
  }

  /** Uploads files for a send: pass the returned `key`s as send({ attachments }). */
  upload(files: readonly UploadInput[], opts: UploadOptions = {}): Promise<UploadedFile[]> {
    return this.rest.upload(files, opts);
  }

  // ================================================================ realtime

  /**
   * Opens the socket and keeps it open (reconnecting with backoff) until disconnect().
   * Resolves once live (subscribed); rejects if the token is refused or disconnect() is
   * called first. Sends queued meanwhile go out as soon as it is live.
   */
  connect(): Promise<void> {
    const rt = this.#realtime();
    if (rt.online) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    rt.start();
    this.#watchBrowserOnline();
    return p;
  }

  /** Closes the socket for good (until connect()). Unacknowledged sends stay queued. */
  disconnect(): void {
    this.#rt?.stop();
    this.state.clearTyping();
    this.#typingSent.clear();
    if (this.#onlineListener) {
      const g = globalThis as { removeEventListener?: (t: string, l: () => void) => void };
      g.removeEventListener?.('online', this.#onlineListener);
      if (this.#offlineListener) g.removeEventListener?.('offline', this.#offlineListener);
      this.#onlineListener = null;
      this.#offlineListener = null;
    }
    this.#settleWaiters(new ParleyError('disconnected', 'disconnect() was called'));
  }

  /** Skips the backoff wait and tries to reconnect now. */
  reconnectNow(): void {
    this.#rt?.retryNow();
  }

  /** Drops the socket as if the network had (it reconnects and resumes). */
  dropConnection(): void {
    this.#rt?.drop();
  }

  // ================================================================ internals

  #realtime(): Realtime {
    if (this.#rt) return this.#rt;
    const WS = this.#opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new Error('ParleyClient: no WebSocket on this platform; pass one as the `WebSocket` option (in Node: the ws package)');
    this.#rt = new Realtime(
      WS,
      {
        url: async () => {
          if (!this.token) throw new ParleyError('not_authenticated', 'No token: log in first');
          return `${wsBase(await this.rest.baseUrl())}/api/parley/ws?token=${encodeURIComponent(this.token)}`;
        },
        onReady: (f) => {
          this.state.me = f.user;
        },
        onOnline: (f) => {
          // Deleted, or you were removed, while away (or while subscribing).
          for (const id of f.gone ?? []) this.#forget(id);
          this.state.replayDone();
          this.#online();
        },
        onFrame: (f) => this.#frame(f),
        onStatus: (e) => {
          if (e.status !== 'online') {
            this.state.clearTyping();
            this.#typingSent.clear();
          }
          this.#emitter.emit('status', e);
        },
        onFatal: (e) => this.#ended(e),
        networkDown: () => (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false,
      },
      { reconnect: this.#opts.reconnect, heartbeat: this.#opts.heartbeat, cursors: this.#cursors, subscribeTimeoutMs: this.#opts.subscribeTimeoutMs },
    );
    return this.#rt;
  }

  #online(): void {
    const rt = this.#rt!;
    // Queued and unacknowledged sends, in the order they were made, with their own ids.
    for (const e of this.#outbox.values()) if (e.via === 'socket') rt.send(e.frame);
    // What the socket does not replay (titles, members, receipts, conversations gone or new).
    this.#background(this.listConversations());
    this.#settleWaiters();
  }

  /**
   * The server refused the socket for good (4000/4001/4003: the token revoked, as by a logout
   * or a password change elsewhere): nothing queued will ever be acknowledged, so every send
   * in flight fails now (send_failed), and the dead token is dropped.
   */
  #ended(error: ParleyError): void {
    this.#settleWaiters(error);
    for (const entry of [...this.#outbox.values()]) this.#fail(entry, error);
    this.token = null;
  }

  #settleWaiters(error?: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) if (error) w.reject(error);
    else w.resolve();
  }

  #frame(f: ServerFrame): void {
    switch (f.type) {
      case 'message': {
        const m = f.message;
        const entry = m.local_temp_id ? this.#outbox.get(m.local_temp_id) : undefined;
        if (entry && entry.conversationId === m.conversation_id) this.#ack(entry, m);
        this.#take(m, f, this.#replayOrEvent());
        return;
      }
      case 'message_changed':
        this.#take(f.message, f, this.#replayOrEvent());
        return;
      case 'read':
        this.state.applyRead(f.conversation_id, f.user_id, f.read_seq);
        break;
      case 'unread':
        this.state.applyUnread(f);
        break;
      case 'thread':
        break;
      case 'delivered':
        this.state.applyDelivered(f.conversation_id, f.user_id, f.delivered_seq);
        break;
      case 'typing':
        this.state.applyTyping(f);
        break;
      case 'presence':
        this.state.applyPresence(f);
        break;
      case 'mention':
      case 'pin_changed':
      case 'report_resolved':
        break;
      case 'message_hidden':
        this.state.hideMessage(f.conversation_id, f.message_id);
        break;
      case 'conversation_changed': {
        const id = f.conversation.id;
        this.state.applyConversationChanged(f);
        if (f.change === 'deleted') this.#dropCursor(id);
        if (f.change === 'created') this.#background(this.#loadNew(id));
        break;
      }
      case 'participant_changed': {
        const refetch = this.state.applyParticipantChanged(f);
        if (f.change === 'removed' && f.user.id === this.state.me?.id) this.#dropCursor(f.conversation_id);
        if (refetch) this.#background(this.getConversation(f.conversation_id));
        break;
      }
      case 'snapshot_required':
        // What the state held may have changed unseen: it goes, the newest page comes.
        // (Live events after this are newer than anything dropped.)
        this.state.clearMessages(f.conversation_id);
        this.#emitter.emit('snapshot_required', f);
        this.#background(this.#reload(f.conversation_id));
        return;
      case 'error': {
        this.#refused(f);
        return;
      }
      default:
        return;
    }
    this.#emitter.emit(f.type, f as never);
  }

  /** A message frame now is of the resume's replay (read at the resume) or live (read when it changed). */
  #replayOrEvent(): 'event' | 'replay' {
    return this.#rt?.replaying ? 'replay' : 'event';
  }

  /** Into the state; to the app once per (id, change_seq), as a new message the first time. */
  #take(m: Message, f: MessageFrame | MessageChangedFrame, from: 'event' | 'replay' = 'event'): void {
    this.state.mergeMessage(m, from);
    const known = this.#emitted.get(m.id);
    if (known !== undefined && known >= m.change_seq) return;
    this.#emitted.set(m.id, m.change_seq);
    if (f.type === 'message' && known !== undefined) {
      // Seen before, changed since (a resume shows messages as they are now).
      this.#emitter.emit('message_changed', { type: 'message_changed', conversation_id: m.conversation_id, change: 'replayed', message: m });
    } else if (f.type === 'message') this.#emitter.emit('message', f);
    else this.#emitter.emit('message_changed', f);
  }

  #ack(entry: OutboxEntry, m: Message): void {
    if (this.#outbox.get(entry.localTempId) !== entry) return;
    this.#outbox.delete(entry.localTempId);
    this.state.removePending(entry.conversationId, entry.localTempId);
    entry.resolve(m);
  }

  #fail(entry: OutboxEntry, error: ParleyError): void {
    if (this.#outbox.get(entry.localTempId) !== entry) return;
    this.#outbox.delete(entry.localTempId);
    this.state.removePending(entry.conversationId, entry.localTempId);
    this.#emitter.emit('send_failed', { local_temp_id: entry.localTempId, conversation_id: entry.conversationId, code: error.code, message: error.message });
    entry.reject(error);
  }

  #sendRest(entry: OutboxEntry): void {
    this.rest.sendMessage(entry.conversationId, { ...entry.input, localTempId: entry.localTempId }).then(
      (m) => {
        this.#ack(entry, m);
        this.#take(m, { type: 'message', conversation_id: m.conversation_id, message: m });
      },
      (e: unknown) => {
        const err = e instanceof ParleyError ? e : new ParleyError('network_error', String((e as Error)?.message ?? e));
        // Unreachable but the socket is wanted: it goes out over the socket when that is live.
        if (err.code === 'network_error' && this.#rt?.wanted) {
          entry.via = 'socket';
          this.#rt.send(entry.frame);
          return;
        }
        this.#fail(entry, err);
      },
    );
  }

  /** An error frame: the refused send it names, or an `error` event. */
  #refused(f: ErrorFrame): void {
    const id = f.local_temp_id === undefined || f.local_temp_id === null ? undefined : String(f.local_temp_id);
    const entry = id === undefined ? undefined : this.#outbox.get(id);
    if (!entry) {
      this.#emitter.emit('error', f);
      return;
    }
    if (f.code === 'rate_limited') {
      // Not refused, only early: the same send again after the wait.
      const wait = Number((f as { retry_after_ms?: unknown }).retry_after_ms) || 1000;
      setTimeout(() => {
        if (this.#outbox.get(entry.localTempId) === entry) this.#rt?.send(entry.frame);
      }, wait);
      return;
    }
    this.#fail(entry, new ParleyError(f.code, f.message));
  }

  async #change(kind: keyof typeof CHANGE_OF, request: Promise<Message>, emoji?: string): Promise<Message> {
    const m = await request;
    const f: MessageChangedFrame = { type: 'message_changed', conversation_id: m.conversation_id, change: CHANGE_OF[kind], message: m };
    if (emoji !== undefined && this.state.me) {
      f.user_id = this.state.me.id;
      f.emoji = emoji;
    }
    this.#take(m, f);
    return m;
  }

  /** A conversation that appeared (created, or you were added): its row and newest page. */
  async #loadNew(id: number): Promise<void> {
    await Promise.all([this.getConversation(id), this.history(id, { limit: this.#opts.pageSize })]);
  }

  /** After snapshot_required: the conversation's row and newest page. */
  async #reload(id: number): Promise<void> {
    await Promise.all([this.history(id, { limit: this.#opts.pageSize }), this.getConversation(id)]);
  }

  #forget(id: number): void {
    this.state.removeConversation(id);
    this.#dropCursor(id);
  }

  #seedCursor(id: number, seq: number, change: number): void {
    if (!this.#cursors.has(id)) this.#cursors.set(id, { seq, change });
  }

  #dropCursor(id: number): void {
    this.#cursors.delete(id);
    this.#rt?.dropCursor(id);
  }

  async #ensureMe(): Promise<User> {
    return this.state.me ?? (await this.me());
  }

  #background(p: Promise<unknown>): void {
    const task = p.catch((e: unknown) => {
      const err = e instanceof ParleyError ? e : new ParleyError('internal', String((e as Error)?.message ?? e));
      // A conversation gone meanwhile is not worth an error.
      if (err.status === 404) return;
      this.#emitter.emit('error', { type: 'error', code: err.code, message: err.message });
    });
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  #watchBrowserOnline(): void {
    const g = globalThis as { addEventListener?: (t: string, l: () => void) => void };
    if (this.#onlineListener || typeof g.addEventListener !== 'function') return;
    this.#onlineListener = () => this.reconnectNow();
    // The browser knows at once that the network is gone; the heartbeat would take a minute.
    this.#offlineListener = () => this.dropConnection();
    g.addEventListener('online', this.#onlineListener);
    g.addEventListener('offline', this.#offlineListener);
  }
}

/** ws(s)://host of an http(s) base URL; '' (same origin) uses the page's location. */
function wsBase(base: string): string {
  if (/^https?:\/\//i.test(base)) return base.replace(/^http/i, 'ws');
  if (/^wss?:\/\//i.test(base)) return base;
  const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!loc) throw new Error(`ParleyClient: baseUrl "${base}" is not absolute and there is no page location to resolve it`);
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${base}`;
}

function newTempId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `t-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}
