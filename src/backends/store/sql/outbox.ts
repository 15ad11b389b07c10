import { uuidv7 } from '../uuid7.js';
import type { Id, LoggedEventType, LoggedPayload, Message, Millis } from '../../../core/model.js';
import { prepared, raw, type SqlRunner, type Statement } from '../sql-runner.js';
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

export const newEventUuid = () => 'evt_' + uuidv7(Date.now(), '');

/**
 * Logs `events` in `tx`, in their order, in one statement. Each row draws its `seq` from the
 * log's one sequence at insert: no row is shared between transactions, so a process stopped
 * inside its commit holds nobody else's. Seqs can then commit out of order; the readers stop
 * below any seq that may still commit (SqlWebhooks' committed bound). Called last in each
 * transaction, after the change it logs and the locks that order it (a conversation's row):
 * a conversation's events draw their seqs in the order they commit.
 */
export async function logEvents(tx: SqlRunner, ctx: SqlContext, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0 || ctx.outbox?.enabled === false) return;
  const unknown = [...new Set(events.filter((e) => e.tenantId === undefined).map((e) => e.conversationId))];
  const tenantOf = new Map<Id, Id>();
  if (unknown.length > 0) {
    const rows = await tx.all<{ id: number; tenant_id: number }>(raw(`SELECT id, tenant_id FROM conversations WHERE id IN (${unknown.map(() => '?').join(', ')})`, unknown));
    for (const r of rows) tenantOf.set(Number(r.id), Number(r.tenant_id));
  }
  await tx.run(insertEvents(ctx, events, (e) => e.tenantId ?? tenantOf.get(e.conversationId)!));
}

function insertEvents(ctx: SqlContext, events: readonly OutboxEvent[], tenantOf: (e: OutboxEvent) => Id): Statement {
  const v = ctx.adapter.valueTable(
    ['BIGINT', 'TEXT', 'TEXT', 'BIGINT', 'BIGINT', 'TEXT'],
    events.map((e) => [tenantOf(e), newEventUuid(), e.type, e.conversationId, e.at, JSON.stringify(e.payload)]),
  );
  return prepared(eventsInsertSql(v.sql), v.parameters);
}

/**
 * The events' insert over a FROM item `v`: column1 the tenant, 2 the event's uuid, 3 its type,
 * 4 its conversation, 5 its time, 6 its payload (JSON text); in `v`'s order, which draws their seqs.
 */
export const eventsInsertSql = (v: string) => `INSERT INTO events (tenant_id, uuid, type, conversation_id, created_at, payload) SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 FROM ${v}`;

/**
 * The append's part: one `message.created` per new message, as a statement the append sends
 * with its last ones (logEvents' rule: after the conversations' locks); null: nothing to log.
 */
export function createdMessagesLog(ctx: SqlContext, created: readonly { tenantId: Id; message: Message }[]): Statement | null {
  if (created.length === 0 || ctx.outbox?.enabled === false) return null;
  const events = created.map(({ tenantId, message }): OutboxEvent => ({ tenantId, conversationId: message.conversationId, type: 'message.created', payload: { message }, at: message.createdAt }));
  return insertEvents(ctx, events, (e) => e.tenantId!);
}
