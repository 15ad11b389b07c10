import type { Config } from '../config/config.js';
import type { Presence } from '../backends/presence/presence.js';
import type { RateLimiter } from '../backends/ratelimit/rate-limiter.js';
import { RateLimits } from './rate-limits.js';
import type { Store } from '../backends/store/store.js';
import type { FileStore } from '../backends/files/file-store.js';
import { Accounts, type AccountLibraries } from './accounts/accounts.js';
import { Invites } from './accounts/invites.js';
import { Administration } from './accounts/administration.js';
import { ApiKeys } from './accounts/api-keys.js';
import { Conversations } from './conversations/conversations.js';
import { ChannelDirectory } from './conversations/directory.js';
import { IncomingWebhooks } from './conversations/incoming-webhooks.js';
import type { EventPublisher } from './events.js';
import type { RaceHooks } from './hooks.js';
import { Files, type MediaLibraries } from './files/files.js';
import { Friends } from './friends/friends.js';
import { Messages } from './messages/messages.js';
import { Curation } from './messages/curation.js';
import { DeliveryReceipts } from './messages/receipts.js';
import { PresenceService } from './presence/presence-service.js';
import { Threads } from './threads/threads.js';
import { Search } from './search/search.js';
import { Users } from './users.js';
import { Notifications } from './notifications/notifications.js';
import type { PushProvider } from './notifications/ports.js';
import { Webhooks } from './webhooks/webhooks.js';
import type { WebhookSender } from './webhooks/ports.js';
import type { EmailDigestStore } from './notifications/email/ports.js';
import { EmailUnsubscribe } from './notifications/email/unsubscribe.js';
import { Audit } from './audit/audit.js';
import { Retention } from './retention/retention.js';
import { Moderation } from './moderation/moderation.js';
import { Exports } from './export/export.js';
import type { ArchivePacker } from './export/ports.js';

export interface CoreDeps {
  config: Config;
  store: Store;
  presence: Presence;
  rateLimiter: RateLimiter;
  events: EventPublisher;
  fileStore: FileStore;
  /** The image, audio, hashing and token libraries, behind the core's ports (src/app/libraries.ts builds them). */
  libraries: CoreLibraries;
  /** The history's epoch (Store.epoch), read at start: a cursor of another epoch resumes nothing. */
  epoch?: string;
  /** Where webhooks are POSTed (src/backends/webhooks/http-sender.ts). */
  webhookSender: WebhookSender;
  /** Where the e-mail unsubscribe link turns e-mail off, and the public URL its links start with (issue 19). */
  email?: { optOuts: Pick<EmailDigestStore, 'optOutOfEmail'>; publicUrl: () => string };
}

/** Every library the core calls, each through a port of the core (accounts/ports.ts, files/ports.ts). */
export type CoreLibraries = AccountLibraries & MediaLibraries & { pushProviders?: readonly PushProvider[]; archive: ArchivePacker };

/** The domain: every dialect calls these, and only these. */
export class Core {
  readonly users: Users;
  readonly accounts: Accounts;
  readonly invites: Invites;
  /** Tenant admins' and operators' administration (issue 20). */
  readonly admin: Administration;
  readonly apiKeys: ApiKeys;
  readonly friends: Friends;
  readonly conversations: Conversations;
  readonly directory: ChannelDirectory;
  readonly messages: Messages;
  readonly curation: Curation;
  readonly incomingWebhooks: IncomingWebhooks;
  readonly threads: Threads;
  readonly presence: PresenceService;
  readonly receipts: DeliveryReceipts;
  readonly rateLimits: RateLimits;
  readonly files: Files;
  readonly search: Search;
  readonly notifications: Notifications;
  readonly webhooks: Webhooks;
  /** Retention, legal holds and the purge (issue 20). */
  readonly retention: Retention;
  readonly moderation: Moderation;
  /** Exports of one's own data, a conversation, a tenant (issue 20). */
  readonly exports: Exports;
  /** The signed unsubscribe links of e-mails (null without an e-mail store). */
  readonly emailUnsubscribe: EmailUnsubscribe | null;
  /** Every administrative and moderation action is appended here (issue 20). */
  readonly audit: Audit;
  /** Set by tests only (see RaceHooks). */
  readonly hooks: RaceHooks = {};

  constructor(readonly deps: CoreDeps) {
    const { config, store, presence, events } = deps;
    this.audit = new Audit(store);
    this.rateLimits = new RateLimits(deps.rateLimiter, config);
    this.users = new Users(store);
    this.accounts = new Accounts(store, events, config, deps.rateLimiter, deps.libraries);
    this.accounts.audit = this.audit;
    this.invites = new Invites(store, config, this.audit);
    this.apiKeys = new ApiKeys(store, events, this.audit);
    this.friends = new Friends(store, this.users);
    this.conversations = new Conversations(store, this.users, this.friends, events, {
      maxMembers: config.maxConversationMembers,
      maxPerAdd: config.maxMembersPerAdd,
    });
    this.conversations.audit = this.audit;
    this.directory = new ChannelDirectory(store, this.conversations, events, config.maxConversationMembers);
    this.messages = new Messages(store, this.conversations, this.users, this.friends, this.rateLimits, events, config, this.hooks);
    this.messages.epoch = deps.epoch ?? null;
    this.messages.audit = this.audit;
    this.incomingWebhooks = new IncomingWebhooks(store, this.conversations, this.messages, this.audit);
    this.threads = new Threads(store, this.messages, events);
    this.curation = new Curation(store, this.messages, this.conversations, this.threads, this.users, events);
    this.presence = new PresenceService(presence, store, this.users, this.conversations, events);
    this.messages.onSent = (sender, conversation) => void this.presence.sent(sender, conversation).catch(() => {});
    this.receipts = new DeliveryReceipts(store, this.conversations, events);
    this.files = new Files(store, deps.fileStore, this.conversations, config, deps.libraries);
    this.search = new Search(store, this.conversations, this.messages, this.users, config.searchIndex);
    this.notifications = new Notifications(store, this.conversations, this.users, config.notify, deps.libraries.pushProviders ?? []);
    this.messages.notifications = this.notifications;
    this.notifications.audit = this.audit;
    // Reading on one device clears the conversation's push on the others.
    this.conversations.onRead = (userId, conversationId) => void this.notifications.read(userId, conversationId).catch((e) => this.notifications.onError(e));
    this.webhooks = new Webhooks(store, deps.webhookSender, this.audit);
    this.retention = new Retention(store, this.conversations, deps.fileStore, this.audit);
    this.admin = new Administration(store, this.accounts, this.conversations, this.messages, deps.fileStore, presence, events, config);
    this.admin.audit = this.audit;
    this.moderation = new Moderation(store, this.conversations, this.messages, this.users, events, this.rateLimits, this.audit, this.accounts);
    this.moderation.hooks = this.hooks;
    this.exports = new Exports(store, this.conversations, deps.fileStore, this.rateLimits, deps.libraries.archive, this.audit);
    this.emailUnsubscribe = deps.email ? new EmailUnsubscribe(deps.email.optOuts, config.jwtSecret, deps.email.publicUrl) : null;
  }

  /** Waits for every accepted send to commit and every receipt to be written. */
  async drain(): Promise<void> {
    await this.messages.writer.drained();
    await this.receipts.flush();
  }
}
