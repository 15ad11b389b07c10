import type { FriendStatus, Id, Millis } from '../../../core/model.js';
import { raw } from '../sql-runner.js';
import type { FriendshipRow, FriendStore } from '../store.js';
import { SqlAggregate } from './aggregate.js';
import { pair, toFriendship } from './rows.js';

/** Friendships (one row per pair, user_a < user_b) and blocks (one row per direction). */
export class SqlFriends extends SqlAggregate implements FriendStore {
  async friendship(a: Id, b: Id): Promise<FriendshipRow | undefined> {
    const [x, y] = pair(a, b);
    const r = await this.first(this.db.selectFrom('friendships').selectAll().where('user_a', '=', x).where('user_b', '=', y));
    return r && toFriendship(r);
  }

  async putFriendship(a: Id, b: Id, status: FriendStatus, requestedBy: Id, at: Millis): Promise<void> {
    const [x, y] = pair(a, b);
    await this.runner.run(
      this.db
        .insertInto('friendships')
        .values({ user_a: x, user_b: y, status, requested_by: requestedBy, created_at: at, updated_at: at })
        .onConflict((oc) => oc.columns(['user_a', 'user_b']).doUpdateSet({ status, requested_by: requestedBy, updated_at: at }))
        .compile(),
    );
  }

  async requestFriendship(from: Id, to: Id, at: Millis): Promise<FriendStatus> {
    const [x, y] = pair(from, to);
    // One statement, so a concurrent request of the other side is seen (PostgreSQL waits for
    // the conflicting row; SQLite runs statements one at a time).
    const accept = `friendships.status = 'pending' AND friendships.requested_by <> excluded.requested_by`;
    const r = await this.first<{ status: FriendStatus }>(
      raw(
        `INSERT INTO friendships (user_a, user_b, status, requested_by, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?)
         ON CONFLICT (user_a, user_b) DO UPDATE SET
           status = CASE WHEN ${accept} THEN 'accepted' ELSE friendships.status END,
           updated_at = CASE WHEN ${accept} THEN excluded.updated_at ELSE friendships.updated_at END
         RETURNING status`,
        [x, y, from, at, at],
      ),
    );
    return r!.status;
  }

  async deleteFriendship(a: Id, b: Id): Promise<boolean> {
    const [x, y] = pair(a, b);
    return (await this.runner.run(this.db.deleteFrom('friendships').where('user_a', '=', x).where('user_b', '=', y).compile())) > 0;
  }

  async friendships(userId: Id): Promise<FriendshipRow[]> {
    const rows = await this.all(
      this.db
        .selectFrom('friendships')
        .selectAll()
        .where((eb) => eb.or([eb('user_a', '=', userId), eb('user_b', '=', userId)]))
        .orderBy('updated_at', 'desc'),
    );
    return rows.map(toFriendship);
  }

  async block(blocker: Id, blocked: Id, at: Millis): Promise<boolean> {
    const [x, y] = pair(blocker, blocked);
    return this.runner.transaction(async (tx) => {
      const added = await tx.run(
        this.db
          .insertInto('blocks')
          .values({ blocker_id: blocker, blocked_id: blocked, created_at: at })
          .onConflict((oc) => oc.columns(['blocker_id', 'blocked_id']).doNothing())
          .compile(),
      );
      await tx.run(this.db.deleteFrom('friendships').where('user_a', '=', x).where('user_b', '=', y).compile());
      return added > 0;
    });
  }

  async unblock(blocker: Id, blocked: Id): Promise<boolean> {
    return (await this.runner.run(this.db.deleteFrom('blocks').where('blocker_id', '=', blocker).where('blocked_id', '=', blocked).compile())) > 0;
  }

  async blocksBy(blocker: Id): Promise<{ userId: Id; at: Millis }[]> {
    const rows = await this.all(
      this.db
        .selectFrom('blocks')
        .select(['blocked_id', 'created_at'])
        .where('blocker_id', '=', blocker)
        .orderBy('created_at', 'desc')
        .orderBy('blocked_id', 'desc'),
    );
    return rows.map((r) => ({ userId: Number(r.blocked_id), at: Number(r.created_at) }));
  }

  async blocksBetween(a: Id, b: Id): Promise<{ blocker: Id; blocked: Id }[]> {
    const rows = await this.all<{ blocker_id: number; blocked_id: number }>(
      raw('SELECT blocker_id, blocked_id FROM blocks WHERE (blocker_id = ? AND blocked_id = ?) OR (blocker_id = ? AND blocked_id = ?)', [a, b, b, a]),
    );
    return rows.map((r) => ({ blocker: Number(r.blocker_id), blocked: Number(r.blocked_id) }));
  }

  async blockedEitherWay(userId: Id): Promise<Id[]> {
    const rows = await this.all<{ id: number }>(
      raw('SELECT blocked_id AS id FROM blocks WHERE blocker_id = ? UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?', [userId, userId]),
    );
    return rows.map((r) => Number(r.id));
  }
}
