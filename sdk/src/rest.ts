import { AdminApi } from './admin.js';
import { ParleyError, codeForStatus } from './errors.js';
import type {
  ApiKey,
  ApiKeyScope,
  ConversationNotificationSettings,
  NotificationSettings,
  TenantNotifyContent,
  PushSubscriptionInfo,
  PushSubscriptionInput,
  Block,
  IssuedApiKey,
  IncomingWebhook,
  IssuedIncomingWebhook,
  Conversation,
  ConversationKind,
  CreatedWebhook,
  EventsPage,
  AuditExportLine,
  AuditPage,
  AuditQuery,
  RetentionSettings,
  ConversationRetention,
  Webhook,
  DirectoryPage,
  HistoryResponse,
  Member,
  Message,
  MessageChangedFrame,
  MessageFrame,
  Pin,
  Presence,
  PresenceStatus,
  Revisions,
  Role,
  SavedPage,
  SearchHit,
  SearchResponse,
  SendKind,
  Session,
  Thread,
  ThreadReplies,
  UnreadState,
  UploadedFile,
  User,
  Me,
  Visibility,
  Sanction,
  SanctionInput,
  Report,
  ReportPage,
  ReportResolution,
} from './types.js';
import { fetchUpload, toParts, xhrUpload, type RawResponse, type UploadInput, type UploadOptions, type XhrConstructor } from './upload.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;
/** The server's address: a string, or a function asked before every request and connection. */
export type BaseUrl = string | (() => string | Promise<string>);

export interface RestOptions {
  /** http(s)://host:port of the server; '' means the page's own origin (browsers). */
  baseUrl: BaseUrl;
  token?: string | null;
  /** Default: globalThis.fetch. */
  fetch?: FetchLike;
  /** Default: globalThis.XMLHttpRequest when there is one (uploads with progress in browsers). */
  XMLHttpRequest?: XhrConstructor;
}

export interface RegisterInput {
  email: string;
  password: string;
  name: string;
  tenantId?: string;
}

export interface LoginInput {
  email: string;
  password: string;
  tenantId?: string;
}

export interface CreateConversationInput {
  kind: ConversationKind;
  /** direct: the other user. */
  userId?: number;
  /** group / channel: the first members (the creator is added as admin). */
  memberIds?: number[];
  title?: string | null;
  /** A channel: public (in the tenant's directory) or private (the default). */
  visibility?: Visibility;
  /** Your integration's own JSON object (at most 4096 bytes serialized, 5 levels deep). */
  metadata?: Record<string, unknown>;
}

export interface SendInput {
  content?: string | null;
  /** Default: `file` when there are attachments, else `text`. */
  kind?: SendKind;
  replyToId?: number | null;
  /** Keys returned by upload(). */
  attachments?: string[];
  /** Your integration's own JSON object (at most 4096 bytes serialized, 5 levels deep). */
  metadata?: Record<string, unknown>;
}

export interface HistoryOptions {
  /** Only messages with a smaller seq (older); omitted: the newest page. */
  beforeSeq?: number;
  /** 1‥100, default 50. */
  limit?: number;
}

/** What `search` looks for: every word must begin a word of the message or of a file's name. */
export interface SearchOptions {
  conversationId?: number;
  senderId?: number;
  /** Only messages with an attachment of this kind. */
  has?: 'file' | 'image' | 'voice';
  /** Sent before / after this time (ISO 8601). */
  before?: string;
  after?: string;
  /** A thread's first message: it and its replies. */
  threadId?: number;
  /** Default newest. */
  order?: 'newest' | 'relevance';
  /** The previous page's `next`. */
  cursor?: string;
  /** 1‥50, default 20. */
  limit?: number;
}

export interface SearchPage {
  /** Each message with the words that matched: `highlight.text` is plain text, escape it when showing it. */
  results: SearchHit[];
  /** The next page's cursor; null on the last. */
  next: string | null;
}

export interface HistoryPage {
  /** Oldest first. */
  messages: Message[];
  /** Older messages exist: ask again with beforeSeq = messages[0].seq. */
  hasMore: boolean;
  /** The conversation's newest seq and change_seq when the page was read. */
  lastSeq: number;
  changeSeq: number;
}

/** What GET …/changes returns: the frames a resume would replay. */
export type ChangeFrame = MessageFrame | MessageChangedFrame;

/** Where a reader of a conversation stands: its highest seq and change_seq. */
export interface ChangeCursor {
  afterSeq: number;
  afterChangeSeq?: number;
}

/** One page of GET …/changes: the server stops at a count or a size and says where to go on. */
export interface ChangesPage {
  frames: ChangeFrame[];
  hasMore: boolean;
  /** Ask again from here while hasMore; once it is false, where the reader stands. */
  next: ChangeCursor;
}

interface RequestOptions {
  json?: unknown;
  query?: Record<string, string | number | undefined>;
  auth?: boolean;
  signal?: AbortSignal;
  /** Shown the response headers of a successful answer (paging cursors). */
  onResponse?: (headers: { get(name: string): string | null }) => void;
}

/**
 * Parley's REST API (/api/parley), one method per endpoint. Stateless apart from the token:
 * ParleyClient builds its state on top of it.
 */
export class ParleyRest {
  /** Administration (issue 20): tenant admins and server operators. */
  readonly admin: AdminApi = new AdminApi(this);
  token: string | null;
  readonly #baseUrl: BaseUrl;
  readonly #fetch: FetchLike;
  readonly #xhr: XhrConstructor | undefined;

  constructor(opts: RestOptions) {
    this.#baseUrl = opts.baseUrl;
    this.token = opts.token ?? null;
    const f = opts.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (!f) throw new Error('ParleyRest: no fetch on this platform; pass one as the `fetch` option');
    // Called unbound: a browser's fetch throws "Illegal invocation" when `this` is another object.
    this.#fetch = (input, init) => f(input, init);
    this.#xhr = opts.XMLHttpRequest ?? (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest;
  }

  /** The base URL without a trailing slash (resolving a function base URL). */
  async baseUrl(): Promise<string> {
    const b = typeof this.#baseUrl === 'function' ? await this.#baseUrl() : this.#baseUrl;
    return b.replace(/\/+$/, '');
  }

  // ------------------------------------------------------------ accounts and people

  async register(input: RegisterInput): Promise<Session> {
    const s = await this.request<Session>('POST', '/auth/register', {
      auth: false,
      json: { email: input.email, password: input.password, name: input.name, ...(input.tenantId ? { tenant_id: input.tenantId } : {}) },
    });
    this.token = s.token;
    return s;
  }

  async login(input: LoginInput): Promise<Session> {
    const s = await this.request<Session>('POST', '/auth/login', {
      auth: false,
      json: { email: input.email, password: input.password, ...(input.tenantId ? { tenant_id: input.tenantId } : {}) },
    });
    this.token = s.token;
    return s;
  }

  /** Revokes the token on the server (every socket of it closes with 4001). */
  async logout(): Promise<void> {
    await this.request<void>('POST', '/auth/logout');
    this.token = null;
  }

  me(): Promise<Me> {
    return this.request('GET', '/me');
  }

  /** Tenant admins: a new API key and its bot; the secret is in the answer only. */
  createApiKey(input: { name: string; scopes: ApiKeyScope[] }): Promise<IssuedApiKey> {
    return this.request('POST', '/api-keys', { json: input });
  }

  /** Tenant admins: the tenant's API keys, without secrets. */
  listApiKeys(): Promise<ApiKey[]> {
    return this.request('GET', '/api-keys');
  }

  /** Tenant admins: the key stops working at once. */
  async revokeApiKey(id: string): Promise<void> {
    await this.request<void>('DELETE', `/api-keys/${encodeURIComponent(id)}`);
  }

  /** Who may add members to the conversation: a new incoming webhook (its bot joins); the URL is in the answer only. */
  createIncomingWebhook(conversationId: number, name: string): Promise<IssuedIncomingWebhook> {
    return this.request('POST', `/conversations/${conversationId}/incoming-webhooks`, { json: { name } });
  }

  listIncomingWebhooks(conversationId: number): Promise<IncomingWebhook[]> {
    return this.request('GET', `/conversations/${conversationId}/incoming-webhooks`);
  }

  async revokeIncomingWebhook(conversationId: number, id: string): Promise<void> {
    await this.request<void>('DELETE', `/conversations/${conversationId}/incoming-webhooks/${encodeURIComponent(id)}`);
  }

  /** Users of your tenant by name or email. */
  searchUsers(q: string, opts: { limit?: number } = {}): Promise<User[]> {
    return this.request('GET', '/users', { query: { q, limit: opts.limit } });
  }

  /** Messages of my conversations holding these words (any script; case and accents ignored). */
  async search(q: string, opts: SearchOptions = {}): Promise<SearchPage> {
    const r = await this.request<SearchResponse>('GET', '/search', {
      query: {
        q,
        conversation_id: opts.conversationId,
        sender_id: opts.senderId,
        has: opts.has,
        before: opts.before,
        after: opts.after,
        thread_id: opts.threadId,
        order: opts.order,
        cursor: opts.cursor,
        limit: opts.limit,
      },
    });
    return { results: r.results, next: r.next_cursor };
  }

  presence(userIds: readonly number[]): Promise<Presence[]> {
    return this.request('GET', '/presence', { query: { user_ids: userIds.join(',') } });
  }

  async setPresence(status: PresenceStatus): Promise<void> {
    await this.request<void>('PUT', '/presence', { json: { status } });
  }

  /** The people you block, newest first. */
  blocks(): Promise<Block[]> {
    return this.request('GET', '/blocks');
  }

  /** Blocks a user: no direct messages either way, they cannot add you anywhere, a friendship ends. */
  block(userId: number): Promise<Block> {
    return this.request('PUT', `/blocks/${userId}`);
  }

  async unblock(userId: number): Promise<void> {
    await this.request<void>('DELETE', `/blocks/${userId}`);
  }

  // ------------------------------------------------------------ conversations

  /** Every conversation of yours, most recent activity first, following the server's pages. */
  async listConversations(): Promise<Conversation[]> {
    const all: Conversation[] = [];
    let before: string | undefined;
    do {
      const page = await this.listConversationsPage({ limit: 200, before });
      all.push(...page.conversations);
      before = page.next ?? undefined;
    } while (before);
    return all;
  }

  /** One page of your conversations; `next` is where the following page starts (null: none). */
  async listConversationsPage(opts: { limit?: number; before?: string } = {}): Promise<{ conversations: Conversation[]; next: string | null }> {
    let next: string | null = null;
    const conversations = await this.request<Conversation[]>('GET', '/conversations', {
      query: { limit: opts.limit, before: opts.before },
      onResponse: (h) => (next = h.get('parley-next-cursor')),
    });
    return { conversations, next };
  }

  getConversation(id: number): Promise<Conversation> {
    return this.request('GET', `/conversations/${id}`);
  }

  /** A direct conversation is opened once: asking again returns the same one. */
  createConversation(input: CreateConversationInput): Promise<Conversation> {
    const json: Record<string, unknown> = { kind: input.kind };
    if (input.userId !== undefined) json.user_id = input.userId;
    if (input.memberIds !== undefined) json.member_ids = input.memberIds;
    if (input.title !== undefined) json.title = input.title;
    if (input.visibility !== undefined) json.visibility = input.visibility;
    if (input.metadata !== undefined) json.metadata = input.metadata;
    return this.request('POST', '/conversations', { json });
  }

  /** A page of my tenant's public channels by name; `q`: a part of the name; `cursor`: the previous page's next_cursor. */
  listChannels(opts: { q?: string; cursor?: string; limit?: number } = {}): Promise<DirectoryPage> {
    return this.request('GET', '/channels', { query: { q: opts.q, cursor: opts.cursor, limit: opts.limit } });
  }

  /** Joins a public channel (a member already: nothing changes). */
  joinChannel(id: number): Promise<Conversation> {
    return this.request('POST', `/channels/${id}/join`);
  }

  /** A channel's admins: list it in the directory (public) or take it out (private). */
  setVisibility(id: number, visibility: Visibility): Promise<Conversation> {
    return this.request('PUT', `/conversations/${id}/visibility`, { json: { visibility } });
  }

  renameConversation(id: number, title: string | null): Promise<Conversation> {
    return this.request('PATCH', `/conversations/${id}`, { json: { title } });
  }

  async deleteConversation(id: number): Promise<void> {
    await this.request<void>('DELETE', `/conversations/${id}`);
  }

  // ------------------------------------------------------------ participants

  participants(conversationId: number): Promise<Member[]> {
    return this.request('GET', `/conversations/${conversationId}/participants`);
  }

  addParticipant(conversationId: number, userId: number, role?: Role): Promise<Member> {
    return this.request('POST', `/conversations/${conversationId}/participants`, { json: { user_id: userId, ...(role ? { role } : {}) } });
  }

  setRole(conversationId: number, userId: number, role: Role): Promise<Member> {
    return this.request('PATCH', `/conversations/${conversationId}/participants/${userId}`, { json: { role } });
  }

  /** Removes someone, or leaves (your own id). */
  async removeParticipant(conversationId: number, userId: number): Promise<void> {
    await this.request<void>('DELETE', `/conversations/${conversationId}/participants/${userId}`);
  }

  // ------------------------------------------------------------ messages

  async history(conversationId: number, opts: HistoryOptions = {}): Promise<HistoryPage> {
    const r = await this.request<HistoryResponse>('GET', `/conversations/${conversationId}/messages`, {
      query: { before_seq: opts.beforeSeq, limit: opts.limit },
    });
    return { messages: r.messages, hasMore: r.has_more, lastSeq: r.last_seq, changeSeq: r.change_seq };
  }

  /**
   * One page of what a resume from this cursor would replay: the older messages' changes,
   * then the new messages (ParleyError `snapshot_required` when too much was missed).
   */
  async changesPage(conversationId: number, cursor: ChangeCursor, opts: { limit?: number } = {}): Promise<ChangesPage> {
    const r = await this.request<{ frames: ChangeFrame[]; has_more: boolean; next: { after_seq: number; after_change_seq?: number } }>(
      'GET',
      `/conversations/${conversationId}/changes`,
      { query: { after_seq: cursor.afterSeq, after_change_seq: cursor.afterChangeSeq, limit: opts.limit } },
    );
    return { frames: r.frames, hasMore: r.has_more, next: { afterSeq: r.next.after_seq, afterChangeSeq: r.next.after_change_seq } };
  }

  /** Every page of changesPage from this cursor, in order (each page is one request). */
  async changes(conversationId: number, cursor: ChangeCursor): Promise<ChangeFrame[]> {
    const frames: ChangeFrame[] = [];
    for (let at = cursor; ; ) {
      const page = await this.changesPage(conversationId, at);
      frames.push(...page.frames);
      if (!page.hasMore) return frames;
      at = page.next;
    }
  }

  /** Sends over REST; a retry with the same localTempId returns the stored message. */
  sendMessage(conversationId: number, input: SendInput & { localTempId?: string }): Promise<Message> {
    const json: Record<string, unknown> = {};
    if (input.kind !== undefined) json.kind = input.kind;
    if (input.content !== undefined) json.content = input.content;
    if (input.localTempId !== undefined) json.local_temp_id = input.localTempId;
    if (input.replyToId !== undefined) json.reply_to_id = input.replyToId;
    if (input.attachments !== undefined) json.attachments = input.attachments;
    if (input.metadata !== undefined) json.metadata = input.metadata;
    return this.request('POST', `/conversations/${conversationId}/messages`, { json });
  }

  getMessage(id: number): Promise<Message> {
    return this.request('GET', `/messages/${id}`);
  }

  /** `metadata`: undefined keeps the message's, null clears it. */
  editMessage(id: number, content: string, metadata?: Record<string, unknown> | null): Promise<Message> {
    return this.request('PATCH', `/messages/${id}`, { json: metadata === undefined ? { content } : { content, metadata } });
  }

  /** `reason`: an admin or moderator deleting someone else's message says why (shown with the tombstone). */
  deleteMessage(id: number, reason?: string): Promise<Message> {
    return this.request('DELETE', `/messages/${id}`, reason ? { query: { reason } } : undefined);
  }

  react(id: number, emoji: string): Promise<Message> {
    return this.request('PUT', `/messages/${id}/reactions/${encodeURIComponent(emoji)}`);
  }

  unreact(id: number, emoji: string): Promise<Message> {
    return this.request('DELETE', `/messages/${id}/reactions/${encodeURIComponent(emoji)}`);
  }

  // ------------------------------------------------------------ history and curation (issue 18)

  /** A message's earlier texts, oldest first (none once it is deleted). */
  revisions(id: number): Promise<Revisions> {
    return this.request('GET', `/messages/${id}/revisions`);
  }

  /** Deletes a message for me only (the others keep it); my devices get `message_hidden`. */
  async deleteMessageForMe(id: number): Promise<void> {
    await this.request<void>('DELETE', `/messages/${id}/for-me`);
  }

  async pin(id: number): Promise<void> {
    await this.request<void>('PUT', `/messages/${id}/pin`);
  }

  async unpin(id: number): Promise<void> {
    await this.request<void>('DELETE', `/messages/${id}/pin`);
  }

  /** The conversation's pinned messages, newest pin first. */
  pins(conversationId: number): Promise<Pin[]> {
    return this.request('GET', `/conversations/${conversationId}/pins`);
  }

  async save(id: number): Promise<void> {
    await this.request<void>('PUT', `/messages/${id}/saved`);
  }

  async unsave(id: number): Promise<void> {
    await this.request<void>('DELETE', `/messages/${id}/saved`);
  }

  // ------------------------------------------------------------ moderation (issue 20)

  /** Bans someone from a group or channel (admins, moderators, tenant admins): removed, and kept out until `until`. */
  ban(conversationId: number, userId: number, input: SanctionInput = {}): Promise<Sanction> {
    return this.request('PUT', `/conversations/${conversationId}/bans/${userId}`, { json: input });
  }

  async unban(conversationId: number, userId: number): Promise<void> {
    await this.request<void>('DELETE', `/conversations/${conversationId}/bans/${userId}`);
  }

  /** Mutes someone in a group or channel: they read but cannot post or react until `until`. */
  mute(conversationId: number, userId: number, input: SanctionInput = {}): Promise<Sanction> {
    return this.request('PUT', `/conversations/${conversationId}/mutes/${userId}`, { json: input });
  }

  async unmute(conversationId: number, userId: number): Promise<void> {
    await this.request<void>('DELETE', `/conversations/${conversationId}/mutes/${userId}`);
  }

  /** The bans and mutes in force in a conversation, newest first. */
  sanctions(conversationId: number): Promise<Sanction[]> {
    return this.request('GET', `/conversations/${conversationId}/sanctions`);
  }

  /** Reports someone else's message to the conversation's moderators, once. */
  reportMessage(messageId: number, reason: string): Promise<Report> {
    return this.request('POST', `/messages/${messageId}/reports`, { json: { reason } });
  }

  /** Open reports, oldest first: of one conversation, or of every one I moderate (a tenant admin: the tenant's). */
  reports(opts: { conversationId?: number; after?: number; limit?: number } = {}): Promise<ReportPage> {
    return this.request('GET', '/reports', { query: { conversation_id: opts.conversationId, after: opts.after, limit: opts.limit } });
  }

  /** My own reports, newest first, each with its outcome. */
  myReports(opts: { before?: number; limit?: number } = {}): Promise<ReportPage> {
    return this.request('GET', '/reports/mine', { query: { before: opts.before, limit: opts.limit } });
  }

  /** Dismisses a report, deletes its message, or mutes or bans its author; the reporter is told. */
  resolveReport(reportId: number, resolution: ReportResolution): Promise<Report> {
    return this.request('POST', `/reports/${reportId}/resolve`, { json: resolution });
  }

  // ------------------------------------------------------------ webhooks and the events log (issue 19; tenant admins)

  /** Registers an endpoint; the answer carries its `secret` (whsec_…), shown this once. */
  createWebhook(input: { url: string; event_types?: string[]; conversation_id?: number | null; mention_user_id?: number | null; description?: string | null }): Promise<CreatedWebhook> {
    return this.request('POST', '/webhooks', { json: input });
  }

  listWebhooks(): Promise<Webhook[]> {
    return this.request('GET', '/webhooks');
  }

  getWebhook(id: string): Promise<Webhook> {
    return this.request('GET', `/webhooks/${encodeURIComponent(id)}`);
  }

  /** Changes an endpoint; `enabled: true` resumes one disabled (by an admin or after failing) where it stopped. */
  updateWebhook(id: string, changes: { url?: string; event_types?: string[]; conversation_id?: number | null; mention_user_id?: number | null; description?: string | null; enabled?: boolean }): Promise<Webhook> {
    return this.request('PATCH', `/webhooks/${encodeURIComponent(id)}`, { json: changes });
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.request<void>('DELETE', `/webhooks/${encodeURIComponent(id)}`);
  }

  /** My tenant's events after `after` (a cursor; 0: the start), in order: catch up from the last cursor you have. */
  events(after = 0, opts: { limit?: number } = {}): Promise<EventsPage> {
    return this.request('GET', '/events', { query: { after, limit: opts.limit } });
  }

  /** A page of my tenant's audit log, newest first (tenant admins only); pass `next` as `before` for the one after. */
  auditLog(query: AuditQuery = {}): Promise<AuditPage> {
    return this.request('GET', '/admin/audit', { query: { ...query } });
  }

  /** My tenant's audit log after seq `after`, oldest first, from its JSON-lines export (tenant admins only). */
  async auditExport(after = 0): Promise<AuditExportLine[]> {
    const body = await this.request<unknown>('GET', '/admin/audit/export', { query: { after } });
    // One line parses as JSON by itself; several are the text.
    if (body === undefined) return [];
    if (typeof body !== 'string') return [body as AuditExportLine];
    return body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditExportLine);
  }

  // ------------------------------------------------------------ retention, legal holds, exports (issue 20)

  /** My tenant's "keep N days" and its legal holds (tenant admins). */
  getRetention(): Promise<RetentionSettings> {
    return this.request('GET', '/retention');
  }

  /** My tenant's "keep N days" (null: forever; tenant admins). */
  async setRetention(days: number | null): Promise<void> {
    await this.request<void>('PUT', '/retention', { json: { days } });
  }

  /** A conversation's own "keep N days" (null: its tenant's); its admins or a tenant admin. */
  setConversationRetention(conversationId: number, days: number | null): Promise<ConversationRetention> {
    return this.request('PUT', `/conversations/${conversationId}/retention`, { json: { days } });
  }

  /** Places (or with `on` false lifts) a legal hold on a conversation or a user (tenant admins). */
  async setLegalHold(targetType: 'conversation' | 'user', targetId: number, on = true): Promise<void> {
    await this.request<void>(on ? 'PUT' : 'DELETE', `/legal-holds/${targetType}/${targetId}`);
  }

  /**
   * An export as one tar, streamed: the Response whose body is the archive (a ParleyError when
   * refused). `after`: the `cursor` of the last JSON line received, to resume.
   */
  async exportArchive(target: { user: true } | { conversationId: number } | { tenant: true }, opts: { after?: string; signal?: AbortSignal } = {}): Promise<Response> {
    const path = 'conversationId' in target ? `/conversations/${target.conversationId}/export` : 'tenant' in target ? '/tenant/export' : '/export';
    const base = await this.baseUrl();
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    const qs = opts.after ? `?after=${encodeURIComponent(opts.after)}` : '';
    const res = await this.#fetch(`${base}/api/parley${path}${qs}`, { headers, signal: opts.signal });
    if (res.ok) return res;
    return parseRaw<never>({ status: res.status, text: await res.text().catch(() => ''), retryAfter: res.headers.get('retry-after') });
  }

  /** One page of my saved messages, newest first; `next` is the following page's `before` (null: none). */
  savedPage(opts: { limit?: number; before?: string } = {}): Promise<SavedPage> {
    return this.request('GET', '/saved', { query: { limit: opts.limit, before: opts.before } });
  }

  /** Marks read up to seq (default: everything); returns the read watermark. */
  async markRead(conversationId: number, seq?: number): Promise<number> {
    const r = await this.request<{ read_seq: number }>('POST', `/conversations/${conversationId}/read`, { json: seq === undefined ? {} : { seq } });
    return r.read_seq;
  }

  /** This device holds every message up to seq (the socket acknowledges by itself; this is for a client without one). */
  async markDelivered(conversationId: number, seq: number): Promise<void> {
    await this.request('POST', `/conversations/${conversationId}/delivered`, { json: { seq } });
  }

  /** My notification settings: level (all, mentions, none) and mute_until, for every conversation. */
  notificationSettings(): Promise<NotificationSettings> {
    return this.request('GET', '/me/notification-settings');
  }

  /** Changes my notification settings; what is left out stays. */
  setNotificationSettings(change: Partial<NotificationSettings>): Promise<NotificationSettings> {
    return this.request('PUT', '/me/notification-settings', { json: change });
  }

  /** One conversation's notification settings (level null: as mine). */
  conversationNotificationSettings(conversationId: number): Promise<ConversationNotificationSettings> {
    return this.request('GET', `/conversations/${conversationId}/notification-settings`);
  }

  setConversationNotificationSettings(conversationId: number, change: Partial<ConversationNotificationSettings>): Promise<ConversationNotificationSettings> {
    return this.request('PUT', `/conversations/${conversationId}/notification-settings`, { json: change });
  }

  /** Tenant admins: whether the tenant's pushes and e-mails say who wrote what (full) or only "New message" (none). */
  tenantNotifyContent(): Promise<TenantNotifyContent> {
    return this.request('GET', '/tenant/notify-content');
  }

  /** Tenant admins: sets the tenant's notification content (null: the server's default). */
  setTenantNotifyContent(content: TenantNotifyContent['content']): Promise<TenantNotifyContent> {
    return this.request('PUT', '/tenant/notify-content', { json: { content } });
  }

  /** The server's VAPID public key (PushManager.subscribe's applicationServerKey). */
  async vapidKey(): Promise<string> {
    return (await this.request<{ public_key: string }>('GET', '/push/vapid-key')).public_key;
  }

  /** Registers this device for pushes: a Web Push subscription (PushSubscription.toJSON()) or an FCM/APNs token. */
  addPushSubscription(subscription: PushSubscriptionInput): Promise<PushSubscriptionInfo> {
    return this.request('POST', '/push/subscriptions', { json: subscription });
  }

  async removePushSubscription(id: number): Promise<void> {
    await this.request('DELETE', `/push/subscriptions/${id}`);
  }

  /** Marks message seq and what follows unread again (my place only; my read receipt stays). */
  markUnread(conversationId: number, seq: number): Promise<UnreadState> {
    return this.request('POST', `/conversations/${conversationId}/unread`, { json: { seq } });
  }

  // ------------------------------------------------------------ threads

  /** The threads I follow, latest reply first, with their unread replies. */
  listThreads(limit?: number): Promise<Thread[]> {
    return this.request('GET', `/threads${limit === undefined ? '' : `?limit=${limit}`}`);
  }

  getThread(rootId: number): Promise<Thread> {
    return this.request('GET', `/messages/${rootId}/thread`);
  }

  /** Replies oldest first after afterSeq; reply with send(conversationId, { replyToId: rootId }). */
  getThreadReplies(rootId: number, opts: { afterSeq?: number; limit?: number } = {}): Promise<ThreadReplies> {
    const q = new URLSearchParams();
    if (opts.afterSeq !== undefined) q.set('after_seq', String(opts.afterSeq));
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    const s = q.toString();
    return this.request('GET', `/messages/${rootId}/thread/replies${s ? `?${s}` : ''}`);
  }

  /** Moves my place in the thread up to seq (default: its last reply). */
  markThreadRead(rootId: number, seq?: number): Promise<Thread> {
    return this.request('POST', `/messages/${rootId}/thread/read`, { json: seq === undefined ? {} : { seq } });
  }

  followThread(rootId: number): Promise<Thread> {
    return this.request('PUT', `/messages/${rootId}/thread/follow`);
  }

  unfollowThread(rootId: number): Promise<Thread> {
    return this.request('DELETE', `/messages/${rootId}/thread/follow`);
  }

  // ------------------------------------------------------------ files

  /**
   * Uploads files (multipart, field `file`) for a later send: name their `key`s in
   * send({ attachments }). Progress: XMLHttpRequest's upload.onprogress in browsers, a
   * counted ReadableStream body under fetch elsewhere.
   */
  async upload(files: readonly UploadInput[], opts: UploadOptions = {}): Promise<UploadedFile[]> {
    const url = `${await this.baseUrl()}/api/parley/files`;
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    const parts = toParts(files);
    const transport = opts.transport ?? 'auto';
    let raw: RawResponse;
    if (transport === 'xhr' || (transport === 'auto' && this.#xhr)) {
      if (!this.#xhr) throw new Error('ParleyRest.upload: no XMLHttpRequest on this platform');
      raw = await xhrUpload(this.#xhr, url, headers, parts, opts);
    } else {
      raw = await fetchUpload(this.#fetch, url, headers, parts, opts);
    }
    return (parseRaw<{ files: UploadedFile[] }>(raw)).files;
  }

  // ------------------------------------------------------------ plumbing

  /** One request to /api/parley + path: JSON in, JSON out, a ParleyError for any failure. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const base = await this.baseUrl();
    const headers: Record<string, string> = {};
    if (opts.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    let qs = '';
    if (opts.query) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) p.set(k, String(v));
      const s = p.toString();
      if (s) qs = `?${s}`;
    }
    let res: Response;
    try {
      res = await this.#fetch(`${base}/api/parley${path}${qs}`, { method, headers, body, signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? e;
      throw new ParleyError('network_error', `${method} ${path}: ${(e as Error)?.message ?? e}`);
    }
    const text = await res.text().catch(() => '');
    const out = parseRaw<T>({ status: res.status, text, retryAfter: res.headers.get('retry-after') });
    opts.onResponse?.(res.headers);
    return out;
  }
}

function parseRaw<T>(raw: RawResponse): T {
  let body: unknown = undefined;
  if (raw.text) {
    try {
      body = JSON.parse(raw.text);
    } catch {
      body = raw.text;
    }
  }
  if (raw.status >= 200 && raw.status < 300) return body as T;
  const b = (typeof body === 'object' && body !== null ? body : {}) as { detail?: unknown; code?: unknown };
  const detail = typeof b.detail === 'string' ? b.detail : typeof body === 'string' && body ? body : `HTTP ${raw.status}`;
  const code = typeof b.code === 'string' ? b.code : codeForStatus(raw.status);
  const retry = raw.retryAfter !== null ? Number(raw.retryAfter) * 1000 : undefined;
  throw new ParleyError(code, detail, raw.status, Number.isFinite(retry) ? retry : undefined);
}
