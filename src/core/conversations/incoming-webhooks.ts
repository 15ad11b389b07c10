import type { AppendResult, Store } from '../../backends/store/store.js';
import { newBot, recordBot, newSecret, sameDigest, secretDigest } from '../accounts/api-keys.js';
import { unrecordedAudit, type AuditRecorder } from '../audit/ports.js';
import { DomainError, refusal } from '../errors.js';
import type { Messages } from '../messages/messages.js';
import type { IncomingWebhook, User } from '../model.js';
import type { ConversationKey, Conversations } from './conversations.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Compared against when the hook does not exist, so an unknown id costs what a wrong secret does.
const NO_DIGEST = secretDigest('parley-no-such-incoming-webhook');

/** A new hook with the secret of its URL: the only time the secret exists outside its holder's hands. */
export interface IssuedIncomingWebhook {
  hook: IncomingWebhook;
  bot: User;
  secret: string;
}

/** What a hook's caller posts, as Slack's and Mattermost's incoming webhooks take it. */
export interface IncomingPost {
  text: string;
}

/**
 * Incoming webhooks (issue 19): a secret URL per conversation that posts as the hook's own
 * bot, through the same send as anyone's (its rate limit, its checks). Made by whoever may add
 * members there (admins and moderators of a group; a channel's admins, since its bot must be
 * able to post there: a moderator); revocable. Only a digest of each secret is stored.
 */
export class IncomingWebhooks {
  constructor(
    readonly store: Store,
    readonly conversations: Conversations,
    readonly messages: Messages,
    readonly audit: AuditRecorder = unrecordedAudit,
  ) {}

  async create(actor: User, key: ConversationKey, input: { name: string }, origin?: string): Promise<IssuedIncomingWebhook> {
    const { conversation } = await this.conversations.requireRole(actor, key, 'add_participant');
    const name = input.name.trim();
    if (name.length === 0 || name.length > 100) throw refusal('invalid_name');
    const bot = await newBot(this.store, actor.tenantId, name, false);
    await recordBot(this.audit, actor, bot, origin);
    // In a channel only admins and moderators post: its bot is a moderator there, which only an admin grants.
    await this.conversations.addParticipant(actor, conversation.id, bot.id, conversation.kind === 'channel' ? 'moderator' : 'member');
    const secret = newSecret('');
    const hook = await this.store.createIncomingWebhook({
      tenantId: actor.tenantId,
      conversationId: conversation.id,
      botUserId: bot.id,
      name,
      secretHash: secretDigest(secret),
      createdBy: actor.id,
      createdAt: Date.now(),
    });
    await this.#record(actor, 'incoming_webhook.create', hook, origin);
    return { hook, bot, secret };
  }

  #record(actor: User, action: string, hook: IncomingWebhook, origin: string | undefined): Promise<void> {
    return this.audit.record({ tenantId: actor.tenantId, actorId: actor.id, action, targetType: 'webhook', targetId: hook.uuid, origin, details: { conversation_id: hook.conversationId, name: hook.name } });
  }

  /** A conversation's hooks, newest first (secrets are never shown again). */
  async list(actor: User, key: ConversationKey): Promise<IncomingWebhook[]> {
    const { conversation } = await this.conversations.requireRole(actor, key, 'add_participant');
    return this.store.incomingWebhooks(conversation.id, 200);
  }

  /** The URL stops working at once; what its bot posted stays. */
  async revoke(actor: User, key: ConversationKey, uuid: string, origin?: string): Promise<IncomingWebhook> {
    const { conversation } = await this.conversations.requireRole(actor, key, 'add_participant');
    const hook = await this.store.revokeIncomingWebhook(conversation.id, uuid, Date.now());
    if (!hook) throw new DomainError('incoming_webhook_not_found');
    await this.#record(actor, 'incoming_webhook.revoke', hook, origin);
    return hook;
  }

  /**
   * Posts as the hook's bot. An unknown hook, a revoked one and a wrong secret are one answer
   * (`incoming_webhook_not_found`), reached through one constant-time comparison of digests.
   */
  async post(uuid: string, secret: string, input: IncomingPost): Promise<{ result: AppendResult; bot: User }> {
    const found = UUID.test(uuid) ? await this.store.incomingWebhookByUuid(uuid.toLowerCase()) : undefined;
    const matches = sameDigest(found?.secretHash ?? NO_DIGEST, secretDigest(secret));
    if (!found || !matches || found.revokedAt !== null) throw new DomainError('incoming_webhook_not_found');
    const bot = await this.store.userById(found.botUserId);
    if (!bot) throw new DomainError('incoming_webhook_not_found');
    const result = await this.messages.send(bot, { conversation: found.conversationId, kind: 'text', content: input.text });
    return { result, bot };
  }
}
