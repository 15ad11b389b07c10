import { uuidv7 } from '../uuid7.js';
import type { Attachment, Id } from '../../../core/model.js';
import { raw, type SqlRunner } from '../sql-runner.js';
import { StoreError, NotCommitted, UniqueViolation, type AppendOptions, type AppendOutcome, type AppendResult, type MessageStore, type NewMessage } from '../store.js';
import { SqlAggregate, type SqlContext } from './aggregate.js';
import { insertAttachmentRows, type AttachmentInsert } from './files.js';
import { hydrateMessages } from './messages.js';
import { indexRow } from '../search-text.js';
import { indexMessages } from './search.js';
import { followRepliedThreads } from './threads.js';
import { writeNotificationOutbox } from './notifications.js';
import { logCreatedMessages } from './outbox.js';
import { ATTACHMENT_COLUMNS, MESSAGE_COLUMNS_OF_M, toAttachment, type AttachmentRow, type MessageRow } from './rows.js';

/** The retry key (Store contract): a client id names a send within its conversation only. */
const RETRY_KEY_INDEX = 'messages_sender_conversation_client';
/**
 * After an append met a retry of a stored message, how long the next ones read their retry keys
 * before inserting: retries come in bursts (a client resends what it saw no ack of after a
 * reconnect), and each one met by an insert costs its batch a second transaction.
 */
const RETRY_BURST_MS = 10_000;
const retryKey = (m: { senderId: Id; conversationId: Id; clientId: string | null }) => `${m.senderId}\u0000${m.conversationId}\u0000${m.clientId}`;

/** Which messages of a batch are new, and what the others are. */
interface Triage {
  /** Indexes of the messages to insert. */
  fresh: number[];
  /** A retry of a message already stored: its result. */
  results: (AppendResult | undefined)[];
  /** A second send of one retry key within the batch → the index of the first. */
  duplicateOf: Map<number, number>;
}

/**
 * The append (group commit): a batch of messages in one transaction, in phases —
 * lock the conversations → resolve client ids (retries) → allocate seqs → insert the messages
 * → attach their files → index them for search → count replies → move the senders' watermarks. Each phase is one
 * statement (or one per thousand attachments), whatever the batch holds.
 */
export class SqlAppend extends SqlAggregate implements Pick<MessageStore, 'appendMessages' | 'searchRowOf'> {
  /** Tests only: runs inside the append's transaction once its conversations are locked. */
  afterLock: ((conversationIds: readonly Id[]) => Promise<void>) | null = null;
  /** False: no search index rows are written (SEARCH_INDEX=off; bench/store-append.ts --search-index off). */
  searchIndex = true;
  /** Until then (epoch ms) appends read their retry keys first (RETRY_BURST_MS). */
  #lookUpUntil = 0;

  constructor(
    ctx: SqlContext,
    /** PostgreSQL: how long an append waits for a conversation another transaction holds (PG_LOCK_WAIT_MS). */
    readonly lockWaitMs: number,
  ) {
    super(ctx);
  }

  searchRowOf(m: Pick<NewMessage, 'conversationId' | 'content' | 'attachments'>): string {
    return this.searchIndex ? indexRow(m.conversationId, m.content, m.attachments.map((a) => a.fileName)) : '';
  }

  async appendMessages(batch: readonly NewMessage[], opts: AppendOptions = {}): Promise<AppendOutcome[]> {
    if (batch.length === 0) return [];
    // Most sends are first sends: their retry keys are not read but left to the unique index,
    // which the insert probes anyway. One it finds taken fails the transaction, and the next
    // attempt reads the keys first.
    let lookUp = Date.now() < this.#lookUpUntil;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#append(batch, opts.probe, opts.waitMs ?? this.lockWaitMs, lookUp);
      } catch (e) {
        // A retry of a stored message, or one that raced its original in another transaction
        // (another process, or another pool connection), committed now: the next attempt finds it.
        if (attempt < 5 && e instanceof UniqueViolation && e.constraint === RETRY_KEY_INDEX) {
          lookUp = true;
          this.#lookUpUntil = Date.now() + RETRY_BURST_MS;
          continue;
        }
        // The session died before the commit (this process was stopped past the server's
        // idle timeout): nothing was written, a fresh connection does it.
        if (attempt < 5 && e instanceof NotCommitted) continue;
        throw e;
      }
    }
  }

  #append(all: readonly NewMessage[], probe: ReadonlySet<Id> | undefined, waitMs: number, lookUp: boolean): Promise<AppendOutcome[]> {
    return this.runner.transaction(async (tx) => {
      // 0. The conversations this transaction may write (PostgreSQL: locked, in id order);
      //    the messages of the others come back deferred.
      const conversationIds = [...new Set(all.map((m) => m.conversationId))].sort((a, b) => a - b);
      const left = await this.adapter.lockConversations(tx, conversationIds, probe, waitMs);
      const taken = all.flatMap((m, i) => (left.has(m.conversationId) ? [] : [i]));
      const batch = left.size === 0 ? all : taken.map((i) => all[i]);
      if (this.afterLock) await this.afterLock([...new Set(batch.map((m) => m.conversationId))]);

      const { fresh, results, duplicateOf } = await this.#resolveClientIds(tx, batch, lookUp);
      if (fresh.length > 0) {
        const { seqs, tenantOf } = await this.#allocateSeqs(tx, batch, fresh);
        const rows = await this.#insertMessages(tx, batch, fresh, seqs);
        const attachments = await this.#insertAttachments(tx, batch, fresh, rows);
        // What is acknowledged is searchable: the index rows commit with their messages.
        if (this.searchIndex) {
          // Rows cut into words where each send was handled (searchRow) are only inserted here.
          await indexMessages(tx, this.adapter, fresh.map((i, k) => ({ id: rows[k].id, conversationId: batch[i].conversationId, content: batch[i].content, fileNames: attachments[k].map((a) => a.fileName), row: batch[i].searchRow })));
        }
        const parentUuids = await this.#countReplies(tx, batch, fresh);
        fresh.forEach((i, k) => {
          const m = batch[i];
          results[i] = {
            created: true,
            message: {
              id: rows[k].id,
              uuid: rows[k].uuid,
              conversationId: m.conversationId,
              seq: seqs[i].seq,
              changeSeq: seqs[i].changeSeq,
              senderId: m.senderId,
              kind: m.kind,
              content: m.content,
              replyToId: m.replyToId,
              replyToUuid: m.replyToId === null ? null : (parentUuids.get(m.replyToId) ?? null),
              clientId: m.clientId,
              createdAt: m.createdAt,
              editedAt: null,
              deletedAt: null,
              attachments: attachments[k],
              reactions: [],
              replyCount: 0,
              metadataJson: m.metadataJson ?? null,
            },
          };
        });
        await this.#moveWatermarks(tx, batch, fresh, seqs);
        // The pushes that may be due, committed with their messages (issue 19's outbox).
        await writeNotificationOutbox(tx, this.adapter, fresh.map((i, k) => ({ message: batch[i], id: rows[k].id, seq: seqs[i].seq })));
        const replies = fresh.filter((i) => batch[i].replyToId !== null);
        await followRepliedThreads(tx, this.adapter, replies.map((i) => ({ rootId: batch[i].replyToId!, conversationId: batch[i].conversationId, senderId: batch[i].senderId, seq: seqs[i].seq, at: batch[i].createdAt })));
        // Last: the events log's counter is held from here to the commit.
        await logCreatedMessages(tx, this.ctx, fresh.map((i) => ({ tenantId: tenantOf.get(batch[i].conversationId)!, message: results[i]!.message })));
      }
      for (const [i, first] of duplicateOf) results[i] = { message: results[first]!.message, created: false };
      if (left.size === 0) return results as AppendResult[];
      const outcomes: AppendOutcome[] = all.map(() => ({ deferred: true }));
      taken.forEach((i, k) => (outcomes[i] = results[k]!));
      return outcomes;
    });
  }

  /**
   * 1. Retries: a (sender, conversation, client_id) twice in this batch, and (`lookUp`) one
   *    already stored; without `lookUp` a stored one fails the insert (UniqueViolation).
   */
  async #resolveClientIds(tx: SqlRunner, batch: readonly NewMessage[], lookUp: boolean): Promise<Triage> {
    const results: (AppendResult | undefined)[] = new Array(batch.length);
    const existing = new Map<string, MessageRow>();
    const withClient = lookUp ? batch.filter((m) => m.clientId !== null) : [];
    if (withClient.length > 0) {
      // Exact keys joined to the unique index: one index probe each.
      // (Row-value IN (VALUES …) made SQLite scan the table; IN lists would probe their product.)
      const keys = [...new Map(withClient.map((m) => [retryKey(m), m])).values()];
      const rows = await tx.all<MessageRow>(
        raw(
          `SELECT ${MESSAGE_COLUMNS_OF_M} FROM (VALUES ${new Array(keys.length).fill('(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS VARCHAR(255)))').join(', ')}) AS v
           JOIN messages m ON m.sender_id = v.column1 AND m.conversation_id = v.column2 AND m.client_id = v.column3`,
          keys.flatMap((m) => [m.senderId, m.conversationId, m.clientId]),
        ),
      );
      for (const r of rows) existing.set(retryKey({ senderId: Number(r.sender_id), conversationId: Number(r.conversation_id), clientId: r.client_id }), r);
    }
    const fresh: number[] = [];
    const firstInBatch = new Map<string, number>();
    const duplicateOf = new Map<number, number>();
    batch.forEach((m, i) => {
      if (m.clientId !== null) {
        const key = retryKey(m);
        if (existing.has(key)) return;
        const first = firstInBatch.get(key);
        if (first !== undefined) return void duplicateOf.set(i, first);
        firstInBatch.set(key, i);
      }
      fresh.push(i);
    });
    if (existing.size > 0) {
      const stored = new Map((await hydrateMessages(this.ctx, [...existing.values()], tx)).map((m) => [retryKey(m), m]));
      batch.forEach((m, i) => {
        const message = m.clientId !== null ? stored.get(retryKey(m)) : undefined;
        if (message) results[i] = { message, created: false };
      });
    }
    return { fresh, results, duplicateOf };
  }

  /**
   * 2. Seqs: one UPDATE … RETURNING for every conversation of the batch (taken in id order,
   *    the order the rows were locked in), each conversation's messages numbered in batch order.
   *    A deleted conversation returns no row: nothing of the batch commits.
   */
  async #allocateSeqs(tx: SqlRunner, batch: readonly NewMessage[], fresh: readonly number[]): Promise<{ seqs: { seq: number; changeSeq: number }[]; tenantOf: Map<Id, Id> }> {
    const perConversation = new Map<Id, number[]>();
    for (const i of fresh) {
      const c = batch[i].conversationId;
      let list = perConversation.get(c);
      if (!list) perConversation.set(c, (list = []));
      list.push(i);
    }
    const convIds = [...perConversation.keys()].sort((a, b) => a - b);
    const params = convIds.flatMap((c) => {
      const idx = perConversation.get(c)!;
      return [c, idx.length, batch[idx[idx.length - 1]].createdAt];
    });
    const rows = await tx.all<{ id: number; last_seq: number; change_seq: number; tenant_id: number }>(
      raw(
        `UPDATE conversations SET last_seq = conversations.last_seq + v.column2, change_seq = conversations.change_seq + v.column2, last_message_at = v.column3, updated_at = v.column3
         FROM (VALUES ${this.adapter.valueRows(convIds.length, ['BIGINT', 'INTEGER', 'BIGINT'])}) AS v
         WHERE conversations.id = v.column1 AND conversations.deleted_at IS NULL RETURNING conversations.id, conversations.last_seq, conversations.change_seq, conversations.tenant_id`,
        params,
      ),
    );
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    const seqs: { seq: number; changeSeq: number }[] = new Array(batch.length);
    for (const c of convIds) {
      const row = byId.get(c);
      if (!row) throw new StoreError('conversation_not_found');
      const idx = perConversation.get(c)!;
      let seq = Number(row.last_seq) - idx.length;
      let changeSeq = Number(row.change_seq) - idx.length;
      for (const i of idx) seqs[i] = { seq: ++seq, changeSeq: ++changeSeq };
    }
    return { seqs, tenantOf: new Map(rows.map((r) => [Number(r.id), Number(r.tenant_id)])) };
  }

  /**
   * 3. The messages, in one statement: their ids and uuids, in `fresh` order. `unchanged`
   *    keeps them out of the change index until a change (a resume reads new messages by seq).
   */
  async #insertMessages(
    tx: SqlRunner,
    batch: readonly NewMessage[],
    fresh: readonly number[],
    seqs: readonly { seq: number; changeSeq: number }[],
  ): Promise<{ id: Id; uuid: string }[]> {
    const uuids = fresh.map(() => uuidv7());
    const values = fresh.flatMap((i, k) => {
      const m = batch[i];
      return [uuids[k], m.conversationId, seqs[i].seq, seqs[i].changeSeq, m.senderId, m.kind, m.content, m.replyToId, m.clientId, m.createdAt, m.metadataJson ?? null];
    });
    const inserted = await tx.all<{ id: number; uuid: string }>(
      raw(
        `INSERT INTO messages (uuid, conversation_id, seq, change_seq, sender_id, kind, content, reply_to_id, client_id, created_at, metadata, reply_count, unchanged) VALUES ${new Array(fresh.length).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1)').join(', ')} RETURNING id, uuid`,
        values,
      ),
    );
    const idByUuid = new Map(inserted.map((r) => [r.uuid, r.id]));
    return uuids.map((uuid) => ({ id: idByUuid.get(uuid)!, uuid }));
  }

  /**
   * 4. The attachments of the new messages, in `fresh` order: pending uploads claimed by their
   *    sender, once (Store contract), in one UPDATE; the others in one multi-row INSERT (per
   *    thousand). A pending attachment not the sender's, or claimed already, fails the batch.
   */
  async #insertAttachments(tx: SqlRunner, batch: readonly NewMessage[], fresh: readonly number[], rows: readonly { id: Id }[]): Promise<Attachment[][]> {
    const out: Attachment[][] = fresh.map(() => []);
    const claims: { k: number; position: number; pendingId: Id; messageId: Id; ownerId: Id }[] = [];
    const inserts: (AttachmentInsert & { k: number })[] = [];
    fresh.forEach((i, k) => {
      const m = batch[i];
      m.attachments.forEach(({ pendingId, ...attachment }, position) => {
        if (pendingId !== undefined) return void claims.push({ k, position, pendingId, messageId: rows[k].id, ownerId: m.senderId });
        inserts.push({ k, uuid: uuidv7(), tenantId: null, conversationId: m.conversationId, ownerId: m.senderId, messageId: rows[k].id, position, attachment, createdAt: m.createdAt });
      });
    });
    const placed = new Map<string, Attachment>();
    const at = (k: number, position: number) => `${k}:${position}`;
    if (claims.length > 0) {
      const claimed = await tx.all<AttachmentRow & { message_id: number }>(
        raw(
          `UPDATE attachments SET message_id = v.column2, position = v.column3
           FROM (VALUES ${this.adapter.valueRows(claims.length, ['BIGINT', 'BIGINT', 'INTEGER', 'BIGINT'])}) AS v
           WHERE attachments.id = v.column1 AND attachments.owner_id = v.column4 AND attachments.message_id IS NULL
           RETURNING ${ATTACHMENT_COLUMNS.split(', ').map((c) => 'attachments.' + c).join(', ')}, attachments.message_id`,
          claims.flatMap((c) => [c.pendingId, c.messageId, c.position, c.ownerId]),
        ),
      );
      if (claimed.length !== claims.length) throw new StoreError('upload_not_found');
      const kOf = new Map(fresh.map((_, k) => [rows[k].id, k]));
      for (const r of claimed) placed.set(at(kOf.get(Number(r.message_id))!, r.position), toAttachment(r));
    }
    const idOf = await insertAttachmentRows(tx, inserts);
    for (const a of inserts) placed.set(at(a.k, a.position), { id: idOf.get(a.uuid)!, uuid: a.uuid, position: a.position, ...a.attachment });
    fresh.forEach((i, k) => {
      for (let position = 0; position < batch[i].attachments.length; position++) out[k].push(placed.get(at(k, position))!);
    });
    return out;
  }

  /** 5. Each replied-to message counts its new replies, in one statement; returns the parents' uuids. */
  async #countReplies(tx: SqlRunner, batch: readonly NewMessage[], fresh: readonly number[]): Promise<Map<Id, string>> {
    const replies = new Map<Id, number>();
    for (const i of fresh) {
      const parent = batch[i].replyToId;
      if (parent !== null) replies.set(parent, (replies.get(parent) ?? 0) + 1);
    }
    if (replies.size === 0) return new Map();
    const parents = [...replies.keys()].sort((a, b) => a - b);
    const rows = await tx.all<{ id: number; uuid: string }>(
      raw(
        `UPDATE messages SET reply_count = messages.reply_count + v.column2
         FROM (VALUES ${this.adapter.valueRows(parents.length, ['BIGINT', 'INTEGER'])}) AS v
         WHERE messages.id = v.column1 RETURNING messages.id, messages.uuid`,
        parents.flatMap((p) => [p, replies.get(p)!]),
      ),
    );
    return new Map(rows.map((r) => [Number(r.id), r.uuid]));
  }

  /**
   * 6. Each sender's delivered and sent watermarks move to its newest message. Its read
   *    watermark does not: only reading marks read, or a message that crossed the reply
   *    would show "read" without ever having been seen (004's status). The sender's own place
   *    (seen_seq) moves to its newest message that is not a thread reply, so answering in
   *    the conversation clears its unread count while a reply in a thread leaves it (the
   *    conversation's count does not hold thread replies; the thread's place moves instead).
   */
  async #moveWatermarks(tx: SqlRunner, batch: readonly NewMessage[], fresh: readonly number[], seqs: readonly { seq: number }[]): Promise<void> {
    const senderTop = new Map<string, { c: Id; u: Id; seq: number; seen: number }>();
    for (const i of fresh) {
      const m = batch[i];
      const key = `${m.conversationId}:${m.senderId}`;
      const cur = senderTop.get(key) ?? { c: m.conversationId, u: m.senderId, seq: 0, seen: 0 };
      cur.seq = Math.max(cur.seq, seqs[i].seq);
      if (m.replyToId === null) cur.seen = Math.max(cur.seen, seqs[i].seq);
      senderTop.set(key, cur);
    }
    const watermarks = [...senderTop.values()].sort((a, b) => a.c - b.c || a.u - b.u);
    await this.adapter.lockInOrder(tx, 'participants', 'conversation_id, user_id', watermarks.map((w) => [w.c, w.u]));
    const { greatest } = this.adapter;
    // Only current participants: a sender removed (or gone with a deleted conversation)
    // after the core's cached check commits nothing (Store contract). On PostgreSQL the
    // UPDATE sees a removal committed before it, whatever the snapshot.
    // Counted, not returned: RETURNING cost SQLite a third more for rows nobody reads.
    const moved = await tx.run(
      raw(
        `UPDATE participants SET delivered_seq = ${greatest('participants.delivered_seq', 'v.column3')}, sent_seq = ${greatest('participants.sent_seq', 'v.column3')}, seen_seq = ${greatest('participants.seen_seq', 'v.column4')}
         FROM (VALUES ${this.adapter.valueRows(watermarks.length, ['BIGINT', 'BIGINT', 'BIGINT', 'BIGINT'])}) AS v
         WHERE participants.conversation_id = v.column1 AND participants.user_id = v.column2 AND participants.left_at IS NULL`,
        watermarks.flatMap((w) => [w.c, w.u, w.seq, w.seen]),
      ),
    );
    if (moved < watermarks.length) throw new StoreError('conversation_not_found');
  }
}
