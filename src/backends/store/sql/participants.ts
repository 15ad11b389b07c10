import { sql } from 'kysely';
import type { Id, Member, Millis, Participant, Role } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import { StoreError, type ActivityCursor, type Membership, type ParticipantStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { recomputePushAll } from './notifications.js';
import { logEvents } from './outbox.js';
import { placeholders, toConversation, toParticipant, toSummary, type ParticipantRow, type SummaryRow } from './rows.js';

const PARTICIPANT_COLUMNS = ['p.conversation_id', 'p.user_id', 'p.role', 'p.joined_at', 'p.read_seq', 'p.delivered_seq', 'p.sent_seq', 'p.seen_seq', 'p.read_at'] as const;

/** Who is in which conversation with which role; membership changes run under the conversation's lock. */
export class SqlParticipants extends SqlAggregate implements ParticipantStore {
  async participant(conversationId: Id, userId: Id): Promise<Participant | undefined> {
    const r = await this.first<ParticipantRow>(
      raw(
        'SELECT conversation_id, user_id, role, joined_at, read_seq, delivered_seq, sent_seq, seen_seq, read_at FROM participants WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL',
        [conversationId, userId],
      ),
    );
    return r && toParticipant(r);
  }

  async memberRole(conversationId: Id, userId: Id): Promise<Role | undefined> {
    const r = await this.first<{ role: Role }>(
      raw(
        'SELECT p.role FROM participants p JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL WHERE p.conversation_id = ? AND p.user_id = ? AND p.left_at IS NULL',
        [conversationId, userId],
      ),
    );
    return r?.role;
  }

  async members(conversationIds: readonly Id[]): Promise<Member[]> {
    if (conversationIds.length === 0) return [];
    const ids = [...conversationIds];
    const rows = await this.all(
      this.fixed(`members:${ids.length}`, ids, () =>
        this.db
          .selectFrom('participants as p')
          .innerJoin('users as u', 'u.id', 'p.user_id')
          .select([...PARTICIPANT_COLUMNS, 'u.id', 'u.uuid', 'u.name', 'u.email', 'u.avatar_url', 'u.is_bot'])
          .where('p.conversation_id', 'in', ids)
          .where('p.left_at', 'is', null)
          .orderBy('p.conversation_id')
          .orderBy('p.joined_at')
          .orderBy('p.user_id'),
      ),
    );
    return rows.map((r) => ({ user: toSummary(r), participant: toParticipant(r) }));
  }

  async memberships(userId: Id, page?: { limit: number; before?: ActivityCursor }): Promise<Membership[]> {
    const activity = sql<number>`coalesce(c.last_message_at, c.created_at)`;
    const build = () => {
      let q = this.db
        .selectFrom('participants as p')
        .innerJoin('conversations as c', 'c.id', 'p.conversation_id')
        .selectAll('c')
        .select(PARTICIPANT_COLUMNS)
        .where('p.user_id', '=', userId)
        .where('p.left_at', 'is', null)
        .where('c.deleted_at', 'is', null);
      const before = page?.before;
      if (before) q = q.where((eb) => eb.or([eb(activity, '<', before.at), eb.and([eb(activity, '=', before.at), eb('c.id', '<', before.id)])]));
      q = q.orderBy(activity, 'desc').orderBy('c.id', 'desc');
      return page ? q.limit(page.limit) : q;
    };
    // The whole list (a socket's follow at connect) has one shape, built once; a page's has others.
    const rows = await this.all(page ? build() : this.fixed('memberships', [userId], build));
    return rows.map((r) => ({ conversation: toConversation(r), me: toParticipant(r) }));
  }

  async memberPreview(conversationIds: readonly Id[], perConversation: number): Promise<Member[]> {
    const ids = [...new Set(conversationIds)];
    if (ids.length === 0 || perConversation <= 0) return [];
    const cols = 'p.conversation_id, p.user_id, p.role, p.joined_at, p.read_seq, p.delivered_seq, p.read_at, u.id, u.uuid, u.name, u.email, u.avatar_url, u.is_bot';
    const out: Member[] = [];
    // One bounded probe of the participants key per conversation: LIMIT inside each, so a
    // group of a thousand costs as much as a pair.
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const rows = await this.all<ParticipantRow & SummaryRow>(raw(this.adapter.memberPreviewSql(chunk.length, cols, perConversation), chunk));
      for (const r of rows) out.push({ user: toSummary(r), participant: toParticipant(r) });
    }
    return out;
  }

  async partnerIds(userId: Id): Promise<Id[]> {
    const rows = await this.all<{ user_id: number }>(
      raw(
        `SELECT DISTINCT o.user_id FROM participants p
         JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
         JOIN participants o ON o.conversation_id = p.conversation_id AND o.user_id <> p.user_id AND o.left_at IS NULL
         WHERE p.user_id = ? AND p.left_at IS NULL`,
        [userId],
      ),
    );
    return rows.map((r) => Number(r.user_id));
  }

  async presencePeers(userId: Id, among?: readonly Id[]): Promise<{ shared: Id[]; direct: Id[]; friends: Id[] }> {
    const out = { shared: [] as Id[], direct: [] as Id[], friends: [] as Id[] };
    const list = among ? [...new Set(among)].filter(Number.isSafeInteger) : undefined;
    if (list && list.length === 0) return out;
    const inList = (col: string) => (list ? ` AND ${col} IN (${placeholders(list.length)})` : '');
    const rows = await this.all<{ id: number; via: string }>(
      raw(
        `SELECT DISTINCT o.user_id AS id, CASE WHEN c.kind = 'direct' THEN 'direct' ELSE 'shared' END AS via FROM participants p
           JOIN conversations c ON c.id = p.conversation_id AND c.deleted_at IS NULL
           JOIN participants o ON o.conversation_id = p.conversation_id AND o.user_id <> p.user_id AND o.left_at IS NULL
          WHERE p.user_id = ? AND p.left_at IS NULL${inList('o.user_id')}
         UNION
         SELECT f.user_b, 'friend' FROM friendships f WHERE f.user_a = ? AND f.status = 'accepted'${inList('f.user_b')}
         UNION
         SELECT f.user_a, 'friend' FROM friendships f WHERE f.user_b = ? AND f.status = 'accepted'${inList('f.user_a')}`,
        [userId, ...(list ?? []), userId, ...(list ?? []), userId, ...(list ?? [])],
      ),
    );
    for (const r of rows) (r.via === 'direct' ? out.direct : r.via === 'friend' ? out.friends : out.shared).push(Number(r.id));
    return out;
  }

  /** Moves member_count by `delta` (under the conversation's lock); returns it. */
  async #countMembers(tx: SqlRunner, conversationId: Id, delta: number): Promise<number> {
    const r = await tx.all<{ member_count: number }>(
      raw('UPDATE conversations SET member_count = member_count + ? WHERE id = ? RETURNING member_count', [delta, conversationId]),
    );
    return Number(r[0]?.member_count ?? 0);
  }

  async addParticipants(conversationId: Id, participants: readonly { userId: Id; role: Role }[], at: Millis, opts: { maxMembers?: number; publicOnly?: boolean } = {}): Promise<Id[]> {
    return this.runner.transaction(async (tx) => {
      // The lock appendMessages takes first too, so the two never deadlock.
      await this.adapter.lockRow(tx, 'conversations', conversationId);
      // A join from the directory: made private or deleted meanwhile, it is not there to join.
      if (opts.publicOnly) {
        const open = await tx.all(raw(`SELECT id FROM conversations WHERE id = ? AND kind = 'channel' AND visibility = 'public' AND deleted_at IS NULL`, [conversationId]));
        if (open.length === 0) throw new StoreError('conversation_not_found');
      }
      // Read under the lock a ban takes effect behind (removeParticipant takes it too): a user
      // banned while this add was on its way is left out, never let back in.
      const banned = new Set(
        (
          await tx.all<{ user_id: number }>(
            raw(`SELECT user_id FROM conversation_sanctions WHERE conversation_id = ? AND kind = 'ban' AND (until IS NULL OR until > ?)`, [conversationId, at]),
          )
        ).map((r) => Number(r.user_id)),
      );
      const added: Id[] = [];
      for (const p of participants) {
        if (banned.has(p.userId)) continue;
        // Insert if absent, or bring back one who left; a current participant is left as they
        // are (Store contract): their role changes through setRole only.
        const rows = await tx.all<{ user_id: number }>(
          raw(
            `INSERT INTO participants (conversation_id, user_id, role, joined_at, left_at, muted, read_seq, delivered_seq, seen_seq, read_at)
             VALUES (?, ?, ?, ?, NULL, 0, (SELECT last_seq FROM conversations WHERE id = ?), (SELECT last_seq FROM conversations WHERE id = ?), (SELECT last_seq FROM conversations WHERE id = ?), NULL)
             ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, left_at = NULL, joined_at = excluded.joined_at
             WHERE participants.left_at IS NOT NULL
             RETURNING user_id`,
            [conversationId, p.userId, p.role, at, conversationId, conversationId, conversationId],
          ),
        );
        if (rows.length > 0) added.push(p.userId);
      }
      // A member back or new is a candidate for every message's push as their settings say.
      await recomputePushAll(tx, this.adapter, added.map((userId) => [conversationId, userId] as const));
      // What member_count gains: who joined now. Rolled back past the cap: two processes adding
      // at once cannot overshoot it (the lock).
      if (added.length > 0) {
        const count = await this.#countMembers(tx, conversationId, added.length);
        if (opts.maxMembers !== undefined && count > opts.maxMembers) throw new StoreError('conversation_full');
      }
      const roleOf = new Map(participants.map((p) => [p.userId, p.role]));
      await logEvents(tx, this.ctx, added.map((userId) => ({ conversationId, type: 'member.joined', payload: { userId, role: roleOf.get(userId)! }, at })));
      return added;
    });
  }

  async removeParticipant(conversationId: Id, userId: Id, at: Millis): Promise<boolean> {
    return this.runner.transaction(async (tx) => {
      const { target, admins, count } = await this.#roles(tx, conversationId, userId);
      if (target === undefined) return false;
      if (target === 'admin' && admins === 1 && count > 1) throw new StoreError('last_admin');
      await tx.run(raw('UPDATE participants SET left_at = ? WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL', [at, conversationId, userId]));
      await this.#countMembers(tx, conversationId, -1);
      await logEvents(tx, this.ctx, [{ conversationId, type: 'member.left', payload: { userId, role: null }, at }]);
      return true;
    });
  }

  async setRole(conversationId: Id, userId: Id, role: Role, at: Millis): Promise<boolean> {
    return this.runner.transaction(async (tx) => {
      const { target, admins } = await this.#roles(tx, conversationId, userId);
      if (target === undefined) return false;
      if (target === 'admin' && role !== 'admin' && admins === 1) throw new StoreError('last_admin');
      await tx.run(raw('UPDATE participants SET role = ? WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL', [role, conversationId, userId]));
      await logEvents(tx, this.ctx, [{ conversationId, type: 'member.role_changed', payload: { userId, role }, at }]);
      return true;
    });
  }

  lockedRole(conversationId: Id, userId: Id): Promise<Role | undefined> {
    return this.runner.transaction(async (tx) => (await this.#roles(tx, conversationId, userId)).target);
  }

  /**
   * The current role of `userId` and the admins and participants of the conversation, read
   * under the conversation's lock: membership changes of one conversation run one at a time,
   * so a check of the last-admin rule still holds when its write commits (two admins
   * demoting each other at once cannot both succeed).
   */
  async #roles(tx: SqlRunner, conversationId: Id, userId: Id): Promise<{ target: Role | undefined; admins: number; count: number }> {
    await this.adapter.lockRow(tx, 'conversations', conversationId);
    const rows = await tx.all<{ user_id: number; role: Role }>(raw('SELECT user_id, role FROM participants WHERE conversation_id = ? AND left_at IS NULL', [conversationId]));
    return {
      target: rows.find((r) => Number(r.user_id) === userId)?.role,
      admins: rows.filter((r) => r.role === 'admin').length,
      count: rows.length,
    };
  }
}
