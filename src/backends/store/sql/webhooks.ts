import { v7 as uuidv7 } from 'uuid';
import type { Id, LoggedEvent, LoggedEventType, Millis, WebhookEndpoint } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import type { ClaimedDelivery, NewWebhookEndpoint, WebhookEndpointChanges, WebhookStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';

interface EventRow {
  tenant_id: number;
  seq: number;
  uuid: string;
  type: string;
  conversation_id: number;
  created_at: number;
  payload: string;
}

interface EndpointRow {
  id: number;
  uuid: string;
  tenant_id: number;
  url: string;
  secret: string;
  event_types: string;
  conversation_id: number | null;
  mention_user_id: number | null;
  description: string | null;
  disabled_reason: 'admin' | 'failing' | null;
  disabled_at: number | null;
  fanned_seq: number;
  created_by: number;
  created_at: number;
  updated_at: number;
  last_success_at: number | null;
  last_failure_at: number | null;
  failing_since: number | null;
  last_error: string | null;
  pending?: number;
}

const EVENT_COLUMNS = 'tenant_id, seq, uuid, type, conversation_id, created_at, payload';
const ENDPOINT_COLUMNS =
  'id, uuid, tenant_id, url, secret, event_types, conversation_id, mention_user_id, description, disabled_reason, disabled_at, fanned_seq, created_by, created_at, updated_at, last_success_at, last_failure_at, failing_since, last_error';

/** How long after a message its mentions are surely stored (they are written right after its commit). */
const MENTIONS_SETTLE_MS = 1000;

/** How long a read of the log waits, at most, for the transactions that may still commit below its bound. */
const HORIZON_WAIT_MS = 64;

const num = (v: number | null) => (v === null ? null : Number(v));

export const toLoggedEvent = (r: EventRow): LoggedEvent => ({
  tenantId: Number(r.tenant_id),
  seq: Number(r.seq),
  uuid: r.uuid,
  type: r.type as LoggedEventType,
  conversationId: Number(r.conversation_id),
  createdAt: Number(r.created_at),
  payload: JSON.parse(r.payload),
});

const toEndpoint = (r: EndpointRow): WebhookEndpoint => ({
  id: Number(r.id),
  uuid: r.uuid,
  tenantId: Number(r.tenant_id),
  url: r.url,
  secret: r.secret,
  eventTypes: JSON.parse(r.event_types),
  conversationId: num(r.conversation_id),
  mentionUserId: num(r.mention_user_id),
  description: r.description,
  disabledReason: r.disabled_reason,
  disabledAt: num(r.disabled_at),
  createdBy: Number(r.created_by),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  lastSuccessAt: num(r.last_success_at),
  lastFailureAt: num(r.last_failure_at),
  failingSince: num(r.failing_since),
  lastError: r.last_error,
  pending: Number(r.pending ?? 0),
});

/** The events log's reads, the endpoints, and the deliveries the dispatcher fans out, leases and settles. */
export class SqlWebhooks extends SqlAggregate implements WebhookStore {
  /** The highest committed bound found so far: still true when the running transactions outlast a wait. */
  #bound = 0;

  async eventsAfter(tenantId: Id, afterSeq: number, limit: number): Promise<LoggedEvent[]> {
    return this.#eventsAfter(this.runner, tenantId, afterSeq, await this.#committedBound(), limit);
  }

  /**
   * A seq at or below which every event has committed or rolled back: the last seq drawn, once
   * the transactions running when it was read have ended (adapter.eventsHorizon). They are
   * waited for a little (a send commits in milliseconds); one that outlasts the wait (a
   * stopped process) keeps the readers at the last bound found, and holds no writer.
   * Read outside any transaction: a transaction's own id would hold the horizon back.
   */
  async #committedBound(): Promise<number> {
    const horizon = await this.adapter.eventsHorizon(this.runner);
    if (!horizon) return Number.MAX_SAFE_INTEGER;
    for (let wait = 1, running = horizon.running; running.length > 0; wait *= 2) {
      if (wait > HORIZON_WAIT_MS) return this.#bound;
      await new Promise((resolve) => setTimeout(resolve, wait));
      running = await this.adapter.stillRunning(this.runner, running);
    }
    this.#bound = Math.max(this.#bound, horizon.lastSeq);
    return this.#bound;
  }

  async #eventsAfter(r: SqlRunner, tenantId: Id, afterSeq: number, bound: number, limit: number): Promise<LoggedEvent[]> {
    const rows = await r.all<EventRow>(raw(`SELECT ${EVENT_COLUMNS} FROM events WHERE tenant_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, [tenantId, afterSeq, bound, limit]));
    return rows.map(toLoggedEvent);
  }

  async createWebhookEndpoint(e: NewWebhookEndpoint, at: Millis): Promise<WebhookEndpoint> {
    const uuid = 'we_' + uuidv7().replaceAll('-', '');
    // A new endpoint starts at the log's end: it receives what happens from now on.
    await this.runner.run(
      raw(
        `INSERT INTO webhook_endpoints (uuid, tenant_id, url, secret, event_types, conversation_id, mention_user_id, description, fanned_seq, created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = ?), ?, ?, ?)`,
        [uuid, e.tenantId, e.url, e.secret, JSON.stringify(e.eventTypes), e.conversationId, e.mentionUserId, e.description, e.tenantId, e.createdBy, at, at],
      ),
    );
    return (await this.webhookEndpoint(e.tenantId, uuid))!;
  }

  async webhookEndpoints(tenantId: Id): Promise<WebhookEndpoint[]> {
    return (await this.#endpoints('e.tenant_id = ?', [tenantId])).map(toEndpoint);
  }

  async webhookEndpoint(tenantId: Id, uuid: string): Promise<WebhookEndpoint | undefined> {
    const r = (await this.#endpoints('e.tenant_id = ? AND e.uuid = ?', [tenantId, uuid]))[0];
    return r && toEndpoint(r);
  }

  #endpoints(where: string, params: unknown[]): Promise<EndpointRow[]> {
    const columns = ENDPOINT_COLUMNS.split(', ').map((c) => 'e.' + c).join(', ');
    return this.runner.all<EndpointRow>(
      raw(
        `SELECT ${columns}, (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.delivered_at IS NULL) AS pending
         FROM webhook_endpoints e WHERE ${where} AND e.deleted_at IS NULL ORDER BY e.id`,
        params,
      ),
    );
  }

  async updateWebhookEndpoint(tenantId: Id, uuid: string, c: WebhookEndpointChanges, at: Millis): Promise<WebhookEndpoint | undefined> {
    const sets: string[] = ['updated_at = ?'];
    const params: unknown[] = [at];
    const set = (column: string, value: unknown) => (sets.push(`${column} = ?`), params.push(value));
    if (c.url !== undefined) set('url', c.url);
    if (c.eventTypes !== undefined) set('event_types', JSON.stringify(c.eventTypes));
    if (c.conversationId !== undefined) set('conversation_id', c.conversationId);
    if (c.mentionUserId !== undefined) set('mention_user_id', c.mentionUserId);
    if (c.description !== undefined) set('description', c.description);
    if (c.enabled === false) sets.push("disabled_reason = COALESCE(disabled_reason, 'admin'), disabled_at = COALESCE(disabled_at, ?)"), params.push(at);
    // Enabled again: its failing streak starts afresh, its deliveries resume where they stopped.
    if (c.enabled === true) sets.push('disabled_reason = NULL, disabled_at = NULL, failing_since = NULL');
    await this.runner.run(raw(`UPDATE webhook_endpoints SET ${sets.join(', ')} WHERE tenant_id = ? AND uuid = ? AND deleted_at IS NULL`, [...params, tenantId, uuid]));
    return this.webhookEndpoint(tenantId, uuid);
  }

  async deleteWebhookEndpoint(tenantId: Id, uuid: string, at: Millis): Promise<boolean> {
    return this.runner.transaction(async (tx) => {
      const rows = await tx.all<{ id: number }>(raw('UPDATE webhook_endpoints SET deleted_at = ?, updated_at = ? WHERE tenant_id = ? AND uuid = ? AND deleted_at IS NULL RETURNING id', [at, at, tenantId, uuid]));
      if (rows.length === 0) return false;
      await tx.run(raw('DELETE FROM webhook_deliveries WHERE endpoint_id = ?', [rows[0].id]));
      return true;
    });
  }

  async fanOutWebhooks(limit: number, at: Millis): Promise<number> {
    const ids = await this.runner.all<{ id: number }>(raw("SELECT id FROM webhook_endpoints WHERE disabled_reason IS NULL AND deleted_at IS NULL ORDER BY id", []));
    if (ids.length === 0) return 0;
    const bound = await this.#committedBound();
    let made = 0;
    for (const { id } of ids) made += await this.runner.transaction((tx) => this.#fanOut(tx, Number(id), bound, limit, at));
    return made;
  }

  /** One endpoint's new events → its deliveries, and its place in the log moved past them, in one transaction. */
  async #fanOut(tx: SqlRunner, endpointId: Id, bound: number, limit: number, at: Millis): Promise<number> {
    const e = (
      await tx.all<EndpointRow>(raw(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE id = ? AND disabled_reason IS NULL AND deleted_at IS NULL ${this.adapter.claimRows('e')}`, [endpointId]))
    )[0];
    if (!e) return 0;
    const endpoint = toEndpoint(e);
    let events = await this.#eventsAfter(tx, endpoint.tenantId, Number(e.fanned_seq), bound, limit);
    // A message's mentions are stored just after it commits (Messages.send): an endpoint that
    // filters by mention waits that long before deciding on an event.
    if (endpoint.mentionUserId !== null) {
      const young = events.findIndex((ev) => ev.createdAt > at - MENTIONS_SETTLE_MS);
      if (young >= 0) events = events.slice(0, young);
    }
    if (events.length === 0) return 0;
    const taken = await this.#filter(tx, endpoint, events);
    if (taken.length > 0) {
      await tx.run(
        raw(
          `INSERT INTO webhook_deliveries (endpoint_id, tenant_id, event_seq, conversation_id, next_attempt_at, created_at) VALUES ${taken.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
          taken.flatMap((ev) => [endpointId, ev.tenantId, ev.seq, ev.conversationId, at, at]),
        ),
      );
    }
    await tx.run(raw('UPDATE webhook_endpoints SET fanned_seq = ? WHERE id = ?', [events[events.length - 1].seq, endpointId]));
    return taken.length;
  }

  /** The events an endpoint's filters take: its types, its conversation, the user it watches for. */
  async #filter(tx: SqlRunner, e: WebhookEndpoint, events: LoggedEvent[]): Promise<LoggedEvent[]> {
    let taken = events.filter((ev) => (e.eventTypes.length === 0 || e.eventTypes.includes(ev.type)) && (e.conversationId === null || ev.conversationId === e.conversationId));
    if (e.mentionUserId === null || taken.length === 0) return taken;
    // A bot's endpoint: messages that mention its user, or are in a direct conversation with it.
    taken = taken.filter((ev) => ev.type === 'message.created');
    if (taken.length === 0) return taken;
    const conversations = [...new Set(taken.map((ev) => ev.conversationId))];
    const direct = new Set(
      (
        await tx.all<{ conversation_id: number }>(
          raw(
            `SELECT p.conversation_id FROM participants p JOIN conversations c ON c.id = p.conversation_id AND c.kind = 'direct'
             WHERE p.user_id = ? AND p.conversation_id IN (${conversations.map(() => '?').join(', ')})`,
            [e.mentionUserId, ...conversations],
          ),
        )
      ).map((r) => Number(r.conversation_id)),
    );
    const messageIds = taken.map((ev) => ('message' in ev.payload ? ev.payload.message.id : 0));
    const mentioned = new Set(
      (
        await tx.all<{ message_id: number }>(
          raw(`SELECT message_id FROM mentions WHERE user_id = ? AND message_id IN (${messageIds.map(() => '?').join(', ')})`, [e.mentionUserId, ...messageIds]),
        )
      ).map((r) => Number(r.message_id)),
    );
    return taken.filter((ev, i) => direct.has(ev.conversationId) || mentioned.has(messageIds[i]));
  }

  async claimWebhookDeliveries(limit: number, at: Millis, leaseUntil: Millis): Promise<ClaimedDelivery[]> {
    return this.runner.transaction(async (tx) => {
      const rows = await tx.all<{ id: number; attempts: number; endpoint_id: number; url: string; secret: string } & EventRow>(
        raw(
          `SELECT d.id, d.attempts, d.endpoint_id, e.url, e.secret, ev.tenant_id, ev.seq, ev.uuid, ev.type, ev.conversation_id, ev.created_at, ev.payload
           FROM webhook_deliveries d
           JOIN webhook_endpoints e ON e.id = d.endpoint_id
           JOIN events ev ON ev.tenant_id = d.tenant_id AND ev.seq = d.event_seq
           WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until < ?)
             AND e.disabled_reason IS NULL AND e.deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.conversation_id = d.conversation_id AND p.delivered_at IS NULL AND p.event_seq < d.event_seq)
           ORDER BY d.next_attempt_at, d.id LIMIT ? ${this.adapter.claimRows('d')}`,
          [at, at, limit],
        ),
      );
      if (rows.length === 0) return [];
      await tx.run(raw(`UPDATE webhook_deliveries SET lease_until = ?, attempts = attempts + 1 WHERE id IN (${rows.map(() => '?').join(', ')})`, [leaseUntil, ...rows.map((r) => r.id)]));
      return rows.map((r) => ({
        id: Number(r.id),
        attempts: Number(r.attempts) + 1,
        endpoint: { id: Number(r.endpoint_id), url: r.url, secret: r.secret },
        event: toLoggedEvent(r),
      }));
    });
  }

  async webhookDelivered(deliveryId: Id, at: Millis): Promise<void> {
    await this.runner.transaction(async (tx) => {
      const rows = await tx.all<{ endpoint_id: number }>(raw('UPDATE webhook_deliveries SET delivered_at = ?, lease_until = NULL, last_error = NULL WHERE id = ? RETURNING endpoint_id', [at, deliveryId]));
      if (rows.length === 0) return;
      await tx.run(raw('UPDATE webhook_endpoints SET last_success_at = ?, failing_since = NULL WHERE id = ?', [at, rows[0].endpoint_id]));
    });
  }

  async webhookFailed(deliveryId: Id, error: string, at: Millis, retryAt: Millis, disableIfFailingSince: Millis): Promise<void> {
    await this.runner.transaction(async (tx) => {
      const rows = await tx.all<{ endpoint_id: number }>(
        raw('UPDATE webhook_deliveries SET next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND delivered_at IS NULL RETURNING endpoint_id', [retryAt, error, deliveryId]),
      );
      if (rows.length === 0) return;
      await tx.run(
        raw(
          `UPDATE webhook_endpoints SET last_failure_at = ?, last_error = ?, failing_since = COALESCE(failing_since, ?),
             disabled_reason = CASE WHEN disabled_reason IS NULL AND COALESCE(failing_since, ?) <= ? THEN 'failing' ELSE disabled_reason END,
             disabled_at = CASE WHEN disabled_reason IS NULL AND COALESCE(failing_since, ?) <= ? THEN ? ELSE disabled_at END
           WHERE id = ?`,
          [at, error, at, at, disableIfFailingSince, at, disableIfFailingSince, at, rows[0].endpoint_id],
        ),
      );
    });
  }

  async pruneWebhookEvents(before: Millis, limit: number): Promise<number> {
    const deliveries = await this.runner.all<{ id: number }>(
      raw(`DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE delivered_at < ? ORDER BY delivered_at LIMIT ?) RETURNING id`, [before, limit]),
    );
    // Oldest seqs first: the log's front, where old events are.
    const events = await this.runner.all<{ seq: number }>(
      raw(
        `DELETE FROM events WHERE seq IN (
           SELECT ev.seq FROM events ev
           WHERE ev.created_at < ?
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = ev.seq AND d.delivered_at IS NULL)
             AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = ev.tenant_id AND e.deleted_at IS NULL AND e.fanned_seq < ev.seq)
           ORDER BY ev.seq LIMIT ?) RETURNING seq`,
        [before, limit],
      ),
    );
    return deliveries.length + events.length;
  }
}
