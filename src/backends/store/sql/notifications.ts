import { unreadCountOf, unreadStatesSql } from './unread.js';
import type { Id, Millis, NotifyContent } from '../../../core/model.js';
import { prepared, raw, type SqlRunner, type Statement } from '../sql-runner.js';
import type { ClaimedNotification, NewMessage, NotificationLevel, NotificationSetting, NotificationStore, PushSubscription } from '../store.js';
import type { SqlAdapter } from './adapter.js';
import type { PushSubscriptionsTable } from '../schema.js';
import { SqlAggregate } from './aggregate.js';

/** The level in force for participant `p`: the conversation's setting (`cs`), else the user's (`us`), else `mentions`. */
/** A tenants.notify_content value: `full`, `none`, or null (the process default). */
export const notifyContentOf = (v: string | null): NotifyContent | null => (v === 'full' || v === 'none' ? v : null);

export const LEVEL = `COALESCE(cs.level, us.level, 'mentions')`;
/** The settings of participant `p`: its conversation's (`cs`) and the user's own (`us`). */
export const SETTINGS_OF_P = `LEFT JOIN notification_settings cs ON cs.user_id = p.user_id AND cs.conversation_id = p.conversation_id
  LEFT JOIN notification_settings us ON us.user_id = p.user_id AND us.conversation_id = 0`;
/** A message created at `createdAt` (an SQL expression) came when neither setting muted it. */
export const NOT_MUTED_AT = (createdAt: string) => `COALESCE(cs.mute_until, 0) <= ${createdAt} AND COALESCE(us.mute_until, 0) <= ${createdAt}`;

/** participants.push_all as it should be on each row of `participants`: 1 where LEVEL there is `all`. */
const PUSH_ALL_OF_PARTICIPANTS = `CASE WHEN COALESCE(
    (SELECT cs.level FROM notification_settings cs WHERE cs.user_id = participants.user_id AND cs.conversation_id = participants.conversation_id),
    (SELECT us.level FROM notification_settings us WHERE us.user_id = participants.user_id AND us.conversation_id = 0),
    'mentions') = 'all' THEN 1 ELSE 0 END`;

/**
 * Sets `participants.push_all` on these (conversation id, user id) rows from their settings:
 * whatever writes a setting, a membership or an erasure calls it in the same transaction, so
 * the outbox's candidates (below) always hold every member whose level is `all`. The rows
 * are locked in key order first, the order appends and receipts lock them in.
 */
export async function recomputePushAll(tx: SqlRunner, adapter: SqlAdapter, rows: readonly (readonly [Id, Id])[]): Promise<void> {
  const keys = [...rows].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  // In chunks, still in key order: a user in thousands of conversations stays under SQLite's
  // limit of bound values.
  for (let at = 0; at < keys.length; at += RECOMPUTE_CHUNK) {
    const chunk = keys.slice(at, at + RECOMPUTE_CHUNK);
    await adapter.lockInOrder(tx, 'participants', 'conversation_id, user_id', chunk);
    const v = adapter.valueTable(['BIGINT', 'BIGINT'], chunk);
    await tx.run(
      raw(`UPDATE participants SET push_all = ${PUSH_ALL_OF_PARTICIPANTS} FROM ${v.sql} WHERE participants.conversation_id = v.column1 AND participants.user_id = v.column2`, v.parameters),
    );
  }
}
const RECOMPUTE_CHUNK = 1000;

/** recomputePushAll over every membership of `userId` (their own level changed, or was erased). */
export async function recomputeUserPushAll(tx: SqlRunner, adapter: SqlAdapter, userId: Id): Promise<void> {
  const rows = await tx.all<{ conversation_id: number }>(raw('SELECT conversation_id FROM participants WHERE user_id = ?', [userId]));
  await recomputePushAll(tx, adapter, rows.map((r) => [Number(r.conversation_id), userId] as const));
}

/**
 * The append's outbox writes (Store rule of NotificationStore): a row per other participant
 * who has a device to push to and whose setting at the message's time asks for a push. A
 * recipient without a push subscription gets no row: the dispatcher would only have claimed it
 * to find no device and delete it (most recipients: 1.0 → 0 rows per bench DM, ~20 µs of CPU
 * per message written and dispatched, docs/webhooks.md "Figures"). E-mail does not read the
 * outbox. Two INSERT … SELECTs, each for the whole batch (SqlAdapter.valueTable), null when it
 * has no message:
 * - a direct message's or one with mentions: every member is a candidate (mentions travel as
 *   ',3,5,'), the device probe in the participants' join (SQLite tests it before the settings');
 * - any other: only a member whose level is `all` can be due, and `push_all` lists those
 *   (participants_push_all): not a probe per member of the group for each message.
 * The settings decide in both (LEVEL, NOT_MUTED_AT); `push_all` only picks the candidates.
 */
export function notificationOutboxStatements(adapter: SqlAdapter, messages: readonly { message: NewMessage; id: Id; seq: number }[]): (Statement | null)[] {
  const everyone: typeof messages[number][] = [];
  const allOnly: typeof messages[number][] = [];
  for (const m of messages) {
    const notify = m.message.notify;
    if (notify) (notify.direct || notify.mentionIds.length > 0 ? everyone : allOnly).push(m);
  }
  return [membersStatement(adapter, everyone), allLevelStatement(adapter, allOnly)];
}

const OUTBOX_INSERT = 'INSERT INTO notification_outbox (user_id, conversation_id, message_id, seq, due_at, lease_until, attempts)';

function membersStatement(adapter: SqlAdapter, rows: readonly { message: NewMessage; id: Id; seq: number }[]): Statement | null {
  if (rows.length === 0) return null;
  const v = adapter.valueTable(
    ['BIGINT', 'BIGINT', 'BIGINT', 'BIGINT', 'BIGINT', 'BIGINT', 'INTEGER', 'TEXT'],
    rows.map(({ message: m, id, seq }) => [id, m.conversationId, m.senderId, seq, m.notify!.dueAt, m.createdAt, m.notify!.direct ? 1 : 0, `,${m.notify!.mentionIds.join(',')},`]),
  );
  return prepared(outboxInsertSql.everyone(v.sql), v.parameters);
}

function allLevelStatement(adapter: SqlAdapter, rows: readonly { message: NewMessage; id: Id; seq: number }[]): Statement | null {
  if (rows.length === 0) return null;
  const v = adapter.valueTable(
    ['BIGINT', 'BIGINT', 'BIGINT', 'BIGINT', 'BIGINT', 'BIGINT'],
    rows.map(({ message: m, id, seq }) => [id, m.conversationId, m.senderId, seq, m.notify!.dueAt, m.createdAt]),
  );
  return prepared(outboxInsertSql.allLevel(v.sql), v.parameters);
}

/**
 * The two outbox inserts over a FROM item `v` of the messages: column1 the message's id, 2 its
 * conversation, 3 its sender, 4 its seq, 5 when its push is due, 6 when it was created; and
 * for `everyone`, 7 whether it is direct (1) and 8 its mentions as ',3,5,'. The append's one
 * round trip (sql/append.ts) reads them from the messages it inserts in the same statement.
 */
export const outboxInsertSql = {
  everyone: (v: string) => `${OUTBOX_INSERT}
       SELECT p.user_id, p.conversation_id, v.column1, v.column4, v.column5, 0, 0
       FROM ${v}
       JOIN participants p ON p.conversation_id = v.column2 AND p.user_id <> v.column3 AND p.left_at IS NULL
         AND EXISTS (SELECT 1 FROM push_subscriptions d WHERE d.user_id = p.user_id)
       ${SETTINGS_OF_P}
       WHERE ${NOT_MUTED_AT('v.column6')}
         AND (${LEVEL} = 'all' OR (${LEVEL} = 'mentions' AND (v.column7 = 1 OR v.column8 LIKE '%,' || CAST(p.user_id AS TEXT) || ',%')))`,
  allLevel: (v: string) => `${OUTBOX_INSERT}
       SELECT p.user_id, p.conversation_id, v.column1, v.column4, v.column5, 0, 0
       FROM ${v}
       JOIN participants p ON p.conversation_id = v.column2 AND p.push_all = 1 AND p.user_id <> v.column3 AND p.left_at IS NULL
         AND EXISTS (SELECT 1 FROM push_subscriptions d WHERE d.user_id = p.user_id)
       ${SETTINGS_OF_P}
       WHERE ${NOT_MUTED_AT('v.column6')} AND ${LEVEL} = 'all'`,
};

type SubscriptionRow = Omit<PushSubscriptionsTable, 'id' | 'created_at'> & { id: number };

const toSubscription = (r: SubscriptionRow): PushSubscription => ({
  id: Number(r.id),
  userId: Number(r.user_id),
  kind: r.kind as PushSubscription['kind'],
  deviceId: r.device_id,
  endpoint: r.endpoint,
  p256dh: r.p256dh,
  auth: r.auth,
});

/** Notification settings, push subscriptions and the outbox's dispatch side. */
export class SqlNotifications extends SqlAggregate implements NotificationStore {
  async notificationSetting(userId: Id, conversationId: Id): Promise<NotificationSetting> {
    const r = await this.first(this.db.selectFrom('notification_settings').select(['level', 'mute_until']).where('user_id', '=', userId).where('conversation_id', '=', conversationId));
    return { level: (r?.level ?? null) as NotificationLevel | null, muteUntil: Number(r?.mute_until ?? 0) };
  }

  async setNotificationSetting(userId: Id, conversationId: Id, setting: NotificationSetting): Promise<void> {
    const values = { level: setting.level, mute_until: setting.muteUntil };
    await this.runner.transaction(async (tx) => {
      await tx.run(
        this.db
          .insertInto('notification_settings')
          .values({ user_id: userId, conversation_id: conversationId, ...values })
          .onConflict((oc) => oc.columns(['user_id', 'conversation_id']).doUpdateSet(values))
          .compile(),
      );
      // The outbox's candidates follow the level (0: the user's own, for every membership).
      if (conversationId === 0) await recomputeUserPushAll(tx, this.adapter, userId);
      else await recomputePushAll(tx, this.adapter, [[conversationId, userId]]);
    });
  }

  async addPushSubscription(sub: Omit<PushSubscription, 'id'>, at: Millis): Promise<PushSubscription> {
    const values = { user_id: sub.userId, kind: sub.kind, device_id: sub.deviceId, endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth };
    const r = await this.first<SubscriptionRow>(
      this.db
        .insertInto('push_subscriptions')
        .values({ ...values, created_at: at })
        .onConflict((oc) => oc.columns(['kind', 'endpoint']).doUpdateSet(values))
        .returning(['id', 'user_id', 'kind', 'device_id', 'endpoint', 'p256dh', 'auth']),
    );
    return toSubscription(r!);
  }

  async removePushSubscription(userId: Id | null, id: Id): Promise<boolean> {
    let q = this.db.deleteFrom('push_subscriptions').where('id', '=', id);
    if (userId !== null) q = q.where('user_id', '=', userId);
    return (await this.runner.run(q.compile())) > 0;
  }

  async pushSubscriptions(userIds: readonly Id[]): Promise<PushSubscription[]> {
    if (userIds.length === 0) return [];
    const rows = await this.all<SubscriptionRow>(
      this.db.selectFrom('push_subscriptions').select(['id', 'user_id', 'kind', 'device_id', 'endpoint', 'p256dh', 'auth']).where('user_id', 'in', [...userIds]).orderBy('id'),
    );
    return rows.map(toSubscription);
  }

  async claimNotifications(now: Millis, leaseUntil: Millis, limit: number): Promise<ClaimedNotification[]> {
    return this.runner.transaction(async (tx) => {
      const claimed = await tx.all<{ id: number }>(
        raw(
          `UPDATE notification_outbox SET lease_until = ?, attempts = attempts + 1
           WHERE id IN (SELECT id FROM notification_outbox WHERE due_at <= ? AND lease_until <= ? ORDER BY due_at LIMIT ${limit | 0} ${this.adapter.claimRows('notification_outbox')})
           RETURNING id`,
          [leaseUntil, now, now],
        ),
      );
      if (claimed.length === 0) return [];
      const rows = await tx.all<{
        id: number; user_id: number; conversation_id: number; message_id: number; seq: number; attempts: number;
        delivered_seq: number | null; read_seq: number | null; seen_seq: number | null; level: string; mute_until: number; notify_content: string | null;
      }>(
        raw(
          `SELECT o.id, o.user_id, o.conversation_id, o.message_id, o.seq, o.attempts, p.delivered_seq, p.read_seq, p.seen_seq,
                  ${LEVEL} AS level, ${this.adapter.greatest('COALESCE(cs.mute_until, 0)', 'COALESCE(us.mute_until, 0)')} AS mute_until, t.notify_content
           FROM notification_outbox o
           LEFT JOIN users u ON u.id = o.user_id
           LEFT JOIN tenants t ON t.id = u.tenant_id
           LEFT JOIN participants p ON p.conversation_id = o.conversation_id AND p.user_id = o.user_id AND p.left_at IS NULL
           LEFT JOIN notification_settings cs ON cs.user_id = o.user_id AND cs.conversation_id = o.conversation_id
           LEFT JOIN notification_settings us ON us.user_id = o.user_id AND us.conversation_id = 0
           WHERE o.id IN (${claimed.map(() => '?').join(', ')}) ORDER BY o.due_at, o.id`,
          claimed.map((c) => c.id),
        ),
      );
      return rows.map((r) => ({
        id: Number(r.id),
        userId: Number(r.user_id),
        conversationId: Number(r.conversation_id),
        messageId: Number(r.message_id),
        seq: Number(r.seq),
        attempts: Number(r.attempts),
        deliveredSeq: r.delivered_seq === null ? null : Number(r.delivered_seq),
        // Read, or the user's own place past it (a reply from another device moves it too).
        readSeq: r.read_seq === null ? null : Math.max(Number(r.read_seq), Number(r.seen_seq ?? 0)),
        level: r.level as NotificationLevel,
        muteUntil: Number(r.mute_until),
        tenantContent: notifyContentOf(r.notify_content),
      }));
    });
  }

  async finishNotifications(ids: readonly Id[]): Promise<void> {
    if (ids.length === 0) return;
    await this.runner.run(this.db.deleteFrom('notification_outbox').where('id', 'in', [...ids]).compile());
  }

  async retryNotification(id: Id, dueAt: Millis): Promise<void> {
    await this.runner.run(this.db.updateTable('notification_outbox').set({ due_at: dueAt, lease_until: 0 }).where('id', '=', id).compile());
  }

  async unreadTotal(userId: Id): Promise<number> {
    // The room list's counts summed (sql/unread.ts): the badge and the list never disagree.
    const rows = await this.all<{ seen_seq: number; last_seq: number; uncounted_above: number; hidden_above: number }>(raw(unreadStatesSql(), [userId]));
    return rows.reduce((sum, r) => sum + unreadCountOf(r), 0);
  }

  async pendingNotifications(): Promise<number> {
    const r = await this.first(this.db.selectFrom('notification_outbox').select((eb) => eb.fn.countAll<number>().as('n')));
    return Number(r?.n ?? 0);
  }
}
