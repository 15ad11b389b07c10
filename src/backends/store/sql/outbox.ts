import { v7 as uuidv7 } from 'uuid';
import type { Id, LoggedEventType, LoggedPayload, Message, Millis } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import type { SqlContext } from './aggregate.js';

/** An event to log in the transaction of its change; `tenantId` when the caller has it already. */
export interface OutboxEvent {
  conversationId: Id;
  tenantId?: Id;
  type: LoggedEventType;
  payload: LoggedPayload;
  at: Millis;
}

/** Whether the store logs events (WEBHOOKS=off: it does not, for the send benchmark's comparison). */
export interface OutboxSwitch {
  enabled: boolean;
}

export const newEventUuid = () => 'evt_' + uuidv7().replaceAll('-', '');

/**
 * Logs `events` in `tx`, in their order: two statements whatever their number. The tenant's
 * counter is taken by the first and held until the commit, so each tenant's events commit in
 * seq order (a reader paging by cursor never passes one that commits later). Called last in
 * each transaction, so the counter is held only for the commit.
 */
export async function logEvents(tx: SqlRunner, ctx: SqlContext, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0 || ctx.outbox?.enabled === false) return;
  const unknown = [...new Set(events.filter((e) => e.tenantId === undefined).map((e) => e.conversationId))];
  const tenantOf = new Map<Id, Id>();
  if (unknown.length > 0) {
    const rows = await tx.all<{ id: number; tenant_id: number }>(raw(`SELECT id, tenant_id FROM conversations WHERE id IN (${unknown.map(() => '?').join(', ')})`, unknown));
    for (const r of rows) tenantOf.set(Number(r.id), Number(r.tenant_id));
  }
  const tenants = events.map((e) => e.tenantId ?? tenantOf.get(e.conversationId)!);
  const counts = new Map<Id, number>();
  for (const t of tenants) counts.set(t, (counts.get(t) ?? 0) + 1);
  // In tenant order: two transactions logging for the same tenants take their counters alike.
  const order = [...counts.keys()].sort((a, b) => a - b);
  const tops = await tx.all<{ tenant_id: number; last_seq: number }>(
    raw(
      `INSERT INTO event_counters (tenant_id, last_seq) VALUES ${order.map(() => '(?, ?)').join(', ')}
       ON CONFLICT (tenant_id) DO UPDATE SET last_seq = event_counters.last_seq + excluded.last_seq RETURNING tenant_id, last_seq`,
      order.flatMap((t) => [t, counts.get(t)!]),
    ),
  );
  const next = new Map(tops.map((r) => [Number(r.tenant_id), Number(r.last_seq) - counts.get(Number(r.tenant_id))!]));
  const values = events.flatMap((e, i) => {
    const seq = next.get(tenants[i])! + 1;
    next.set(tenants[i], seq);
    return [tenants[i], seq, newEventUuid(), e.type, e.conversationId, e.at, JSON.stringify(e.payload)];
  });
  await tx.run(
    raw(`INSERT INTO events (tenant_id, seq, uuid, type, conversation_id, created_at, payload) VALUES ${events.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`, values),
  );
}

/** The append's part: one `message.created` per new message (a small function, so the append stays its phases). */
export function logCreatedMessages(tx: SqlRunner, ctx: SqlContext, created: readonly { tenantId: Id; message: Message }[]): Promise<void> {
  return logEvents(tx, ctx, created.map(({ tenantId, message }) => ({ tenantId, conversationId: message.conversationId, type: 'message.created', payload: { message }, at: message.createdAt })));
}
