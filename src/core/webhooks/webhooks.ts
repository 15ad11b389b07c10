import { randomBytes } from 'node:crypto';
import type { Store, WebhookEndpointChanges } from '../../backends/store/store.js';
import { DomainError, refusal } from '../errors.js';
import { deletedUser } from '../users.js';
import { LOGGED_EVENT_TYPES, type Id, type LoggedEvent, type LoggedEventType, type User, type UserSummary, type WebhookEndpoint } from '../model.js';
import { unrecordedAudit, type AuditRecorder } from '../audit/ports.js';
import type { WebhookSender } from './ports.js';

/** Events with everyone they name (senders, members, reactors) resolved once, for a rendering. */
export interface NamedEvents {
  events: LoggedEvent[];
  users: Map<Id, UserSummary>;
}

export interface EndpointInput {
  url: string;
  eventTypes?: string[];
  conversationId?: Id | null;
  mentionUserId?: Id | null;
  description?: string | null;
}

/** Most events one page of the events API returns. */
export const MAX_EVENTS_PAGE = 500;

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
const newSecret = () => 'whsec_' + randomBytes(24).toString('base64');

/**
 * Webhook endpoints and the events log (issue 19). Only a tenant's admins see or change its
 * endpoints (their secrets above all) and read its events; another tenant's endpoint is not
 * found, whoever asks.
 */
export class Webhooks {
  constructor(
    readonly store: Store,
    readonly sender: WebhookSender,
    readonly audit: AuditRecorder = unrecordedAudit,
  ) {}

  #record(actor: User, action: string, uuid: string, origin: string | undefined, details?: Record<string, unknown>): Promise<void> {
    return this.audit.record({ tenantId: actor.tenantId, actorId: actor.id, action, targetType: 'webhook', targetId: uuid, origin, details });
  }

  #admin(actor: User): void {
    if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
  }

  async #checked(actor: User, input: Partial<EndpointInput>): Promise<WebhookEndpointChanges> {
    const out: WebhookEndpointChanges = {};
    if (input.url !== undefined) {
      let url: URL;
      try {
        url = new URL(input.url);
      } catch {
        throw refusal('webhook_url_invalid');
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) throw refusal('webhook_url_invalid');
      if (await this.sender.refusesAddress(url.href)) throw refusal('webhook_url_private');
      out.url = url.href;
    }
    if (input.eventTypes !== undefined) {
      const unknown = input.eventTypes.find((t) => !(LOGGED_EVENT_TYPES as readonly string[]).includes(t));
      if (unknown !== undefined) throw refusal('webhook_event_type_unknown', { type: unknown });
      out.eventTypes = [...new Set(input.eventTypes)] as LoggedEventType[];
    }
    if (input.conversationId != null) {
      const c = await this.store.conversationRef(input.conversationId);
      if (!c || c.tenantId !== actor.tenantId) throw new DomainError('conversation_not_found');
    }
    if (input.conversationId !== undefined) out.conversationId = input.conversationId;
    if (input.mentionUserId != null) {
      const u = await this.store.userById(input.mentionUserId);
      if (!u || u.tenantId !== actor.tenantId) throw new DomainError('user_not_found');
    }
    if (input.mentionUserId !== undefined) out.mentionUserId = input.mentionUserId;
    if (input.description !== undefined) out.description = input.description;
    return out;
  }

  /** A new endpoint with its generated secret: it receives the events logged from now on. */
  async create(actor: User, input: EndpointInput, origin?: string): Promise<WebhookEndpoint> {
    this.#admin(actor);
    const c = await this.#checked(actor, { ...input, eventTypes: input.eventTypes ?? [] });
    const e = await this.store.createWebhookEndpoint(
      { tenantId: actor.tenantId, url: c.url!, secret: newSecret(), eventTypes: c.eventTypes!, conversationId: c.conversationId ?? null, mentionUserId: c.mentionUserId ?? null, description: c.description ?? null, createdBy: actor.id },
      Date.now(),
    );
    await this.#record(actor, 'webhook.create', e.uuid, origin, { url: e.url, event_types: e.eventTypes });
    return e;
  }

  async list(actor: User): Promise<WebhookEndpoint[]> {
    this.#admin(actor);
    return this.store.webhookEndpoints(actor.tenantId);
  }

  async get(actor: User, uuid: string): Promise<WebhookEndpoint> {
    this.#admin(actor);
    const e = await this.store.webhookEndpoint(actor.tenantId, uuid);
    if (!e) throw new DomainError('webhook_not_found');
    return e;
  }

  /** Changes an endpoint; `enabled: true` re-enables one disabled (by an admin or by failing), resuming where it stopped. */
  async update(actor: User, uuid: string, input: Partial<EndpointInput> & { enabled?: boolean }, origin?: string): Promise<WebhookEndpoint> {
    this.#admin(actor);
    const changes = await this.#checked(actor, input);
    if (input.enabled !== undefined) changes.enabled = input.enabled;
    const e = await this.store.updateWebhookEndpoint(actor.tenantId, uuid, changes, Date.now());
    if (!e) throw new DomainError('webhook_not_found');
    // Disabling and enabling are their own actions; any other change is an update.
    const { enabled, ...rest } = changes;
    if (Object.keys(rest).length > 0 || enabled === undefined) await this.#record(actor, 'webhook.update', uuid, origin, { changed: Object.keys(rest) });
    if (enabled !== undefined) await this.#record(actor, enabled ? 'webhook.enable' : 'webhook.disable', uuid, origin);
    return e;
  }

  async remove(actor: User, uuid: string, origin?: string): Promise<void> {
    this.#admin(actor);
    if (!(await this.store.deleteWebhookEndpoint(actor.tenantId, uuid, Date.now()))) throw new DomainError('webhook_not_found');
    await this.#record(actor, 'webhook.delete', uuid, origin);
  }

  /** The tenant's events after the cursor, in order (the catch-up API): the same ids webhooks carry. */
  async events(actor: User, after: number, limit: number): Promise<NamedEvents> {
    this.#admin(actor);
    return this.named(await this.store.eventsAfter(actor.tenantId, after, Math.max(1, Math.min(limit, MAX_EVENTS_PAGE))));
  }

  /** The people `events` name, resolved once. */
  async named(events: LoggedEvent[]): Promise<NamedEvents> {
    const ids = new Set<Id>();
    for (const e of events) {
      if ('message' in e.payload) ids.add(e.payload.message.senderId);
      if ('userId' in e.payload) ids.add(e.payload.userId);
    }
    const users = await this.store.userSummaries([...ids]);
    for (const id of ids) if (!users.has(id)) users.set(id, deletedUser(id));
    return { events, users };
  }
}
