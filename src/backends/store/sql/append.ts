import { uuidv7 } from '../uuid7.js';
import type { Attachment, Id, Message } from '../../../core/model.js';
import { prepared, raw, type SqlRunner, type Statement } from '../sql-runner.js';
import { StoreError, NotCommitted, UniqueViolation, type AppendOptions, type AppendOutcome, type AppendResult, type MessageStore, type NewMessage } from '../store.js';
import { SqlAggregate, type SqlContext } from './aggregate.js';
import type { ConversationPosition } from './adapter.js';
import { insertAttachmentRows, type AttachmentInsert } from './files.js';
import { hydrateMessages } from './messages.js';
import { indexRow } from '../search-text.js';
import { indexInsertSql, indexStatement } from './search.js';
import { followRepliedThreads } from './threads.js';
import { notificationOutboxStatements, outboxInsertSql } from './notifications.js';
import { createdMessagesLog, eventsInsertSql, newEventUuid } from './outbox.js';
import { ATTACHMENT_COLUMNS, MESSAGE_COLUMNS_OF_M, toAttachment, type AttachmentRow, type MessageRow } from './rows.js';

/** An event's body, `{"message":…}`, as JSON.stringify writes it, up to its id's value, and around its change seq's. */
const EVENT_ID = '{"message":{"id":';
const EVENT_CHANGE_SEQ = ',"changeSeq":';
/** The outbox inserts' rows (outboxInsertSql) read from the one round trip's inserted messages, `got`. */
const OUTBOX_ROWS = 'SELECT got.id AS column1, got.column3 AS column2, got.column5 AS column3, got.seq AS column4, got.column13 AS column5, got.column9 AS column6, got.column14 AS column7, got.column15 AS column8';

/** See SqlAppend.retryLookupWindowMs: a client resending after a reconnect sends its retries together. */
const RETRY_LOOKUP_WINDOW_MS = 10_000;
const NONE_STORED: ReadonlyMap<string, Message> = new Map();

/** The retry key (Store contract): a client id names a send within its conversation only. */
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

/** Which sends of `batch` are new: not stored already (`stored`, by retryKey) nor a second send of one key in the batch. */
function triage(batch: readonly NewMessage[], stored: ReadonlyMap<string, Message>): Triage {
  const results: (AppendResult | undefined)[] = new Array(batch.length);
  const fresh: number[] = [];
  const firstInBatch = new Map<string, number>();
  const duplicateOf = new Map<number, number>();
  batch.forEach((m, i) => {
    if (m.clientId !== null) {
      const key = retryKey(m);
      const message = stored.get(key);
      if (message) return void (results[i] = { message, created: false });
      const first = firstInBatch.get(key);
      if (first !== undefined) return void duplicateOf.set(i, first);
      firstInBatch.set(key, i);
    }
    fresh.push(i);
  });
  return { fresh, results, duplicateOf };
}

/** A message as `appendMessages` stored it (its fields in this order: the events' bodies are spliced from it, SqlAppend.#oneTrip). */
function newMessage(m: NewMessage, id: Id, uuid: string, at: { seq: number; changeSeq: number }, attachments: Attachment[], replyToUuid: string | null): Message {
  return {
    id,
    uuid,
    conversationId: m.conversationId,
    seq: at.seq,
    changeSeq: at.changeSeq,
    senderId: m.senderId,
    kind: m.kind,
    content: m.content,
    replyToId: m.replyToId,
    replyToUuid,
    clientId: m.clientId,
    createdAt: m.createdAt,
    editedAt: null,
    deletedAt: null,
    attachments,
    reactions: [],
    replyCount: 0,
    metadataJson: m.metadataJson ?? null,
  };
}

/** A row of the one round trip's statement: a new message's place in `fresh`, and what the statement gave it. */
interface OneTripRow {
  k: number;
  id: number;
  seq: number;
  change_seq: number;
}

/**
 * The append (group commit): a batch of messages in one transaction, in phases —
 * resolve client ids (retries, before the transaction) → lock the conversations (and the senders' participant rows) → allocate seqs
 * → insert the messages → attach their files → count replies → move the senders' watermarks, index
 * the messages for search, write the push outbox and the events log. Each phase is one
 * statement (or one per thousand attachments), whatever the batch holds, and its text does
 * not change with the batch's size (SqlAdapter.valueTable; PostgreSQL prepares it once per
 * connection). On PostgreSQL the lock rides with the BEGIN, reads where the conversations
 * stand and draws the messages' ids, so a batch with no file to attach and no reply to count
 * writes everything in one statement (SqlAdapter.allWith), and its COMMIT goes with that
 * statement when the lock found every sender a current participant (Statement.commits): two
 * round trips hold the conversations' rows, which the other processes' appends wait for.
 * Such a batch on PostgreSQL goes further where it can: every phase after the lock in one
 * statement that reads the locked rows itself, run in the lock's round trip (#oneTrip).
 */
export class SqlAppend extends SqlAggregate implements Pick<MessageStore, 'appendMessages' | 'searchRowOf'> {
  /** Tests only: runs inside the append's transaction once its conversations are locked. */
  afterLock: ((conversationIds: readonly Id[]) => Promise<void>) | null = null;
  /** False: the writes go after the locks' round trip even where one statement could do them in it (#oneTrip): tests of that path, what-ifs. */
  oneTrip = true;
  /** False: no search index rows are written (SEARCH_INDEX=off; bench/store-append.ts --search-index off). */
  searchIndex = true;
  /**
   * How long after a stored retry turned up every append looks its client ids up first. Outside
   * it an append skips the lookup (a round trip on PostgreSQL, a join on SQLite, for sends that
   * are almost never retries): a retry then fails the insert on the unique key, the transaction
   * rolls back whole, and the next attempt looks up. Tests set 0 (first only in the very
   * moment of one) or Infinity (always first: never-met is -Infinity, and ∞ ≤ ∞).
   */
  retryLookupWindowMs = RETRY_LOOKUP_WINDOW_MS;
  /** When an append last met a stored retry (-Infinity: never). */
  #retrySeenAt = -Infinity;

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
    for (let attempt = 1; ; attempt++) {
      try {
        const lookUp = attempt > 1 || performance.now() - this.#retrySeenAt <= this.retryLookupWindowMs;
        return await this.#append(batch, lookUp, opts.probe, opts.waitMs ?? this.lockWaitMs, opts.onCommit);
      } catch (e) {
        // A retry of a stored send, not looked up (retryLookupWindowMs), or one that raced its
        // original in another transaction (another process, or another pool connection): the
        // original has committed now, so the next attempt, which looks up, finds it.
        if (attempt < 5 && e instanceof UniqueViolation && e.constraint === 'messages_sender_conversation_client') {
          this.#retrySeenAt = performance.now();
          continue;
        }
        // The session died before the commit (this process was stopped past the server's
        // idle timeout): nothing was written, a fresh connection does it.
        if (attempt < 5 && e instanceof NotCommitted) continue;
        throw e;
      }
    }
  }

  async #append(all: readonly NewMessage[], lookUp: boolean, probe: ReadonlySet<Id> | undefined, waitMs: number, onCommit: AppendOptions['onCommit']): Promise<AppendOutcome[]> {
    // 1. Read before the transaction, so not inside the conversations' locks: an original
    //    that commits after this read (or one not looked up) makes the insert fail on the
    //    unique key, and the next attempt (appendMessages) finds it.
    const stored = lookUp ? await this.#storedRetries(all) : NONE_STORED;
    if (stored.size > 0) this.#retrySeenAt = performance.now();
    return this.runner.transaction(async (tx) => {
      // 0. The conversations this transaction may write (PostgreSQL: locked, in id order);
      //    the messages of the others come back deferred.
      const conversationIds = [...new Set(all.map((m) => m.conversationId))].sort((a, b) => a - b);
      // The senders' participant rows too (their watermarks move), in the same round trip.
      const senders = [...new Map(all.map((m) => [`${m.conversationId}:${m.senderId}`, [m.conversationId, m.senderId] as const])).values()];
      // PostgreSQL: the whole append in the locks' round trip, its COMMIT with it, when it can.
      const oneTrip = this.#oneTrip(all, stored, probe, conversationIds);
      // Else PostgreSQL draws the new messages' ids with the locks: the writes then need no id back.
      const { left, positions, messageIds, currentParticipants, then } = await this.adapter.lockConversations(tx, conversationIds, probe, waitMs, senders, all.length, oneTrip?.statement);
      if (then !== null) return oneTrip!.results(then as OneTripRow[]);
      // Every sender is a current participant, its row locked until the commit: the watermarks'
      // UPDATE, the last statement, moves each one's row, so its COMMIT may go with it.
      const lastCommits = currentParticipants === senders.length;
      const taken = all.flatMap((m, i) => (left.has(m.conversationId) ? [] : [i]));
      const batch = left.size === 0 ? all : taken.map((i) => all[i]);
      if (this.afterLock) await this.afterLock([...new Set(batch.map((m) => m.conversationId))]);

      const { fresh, results, duplicateOf } = triage(batch, stored);
      if (fresh.length > 0) {
        const { seqs, tenantOf, advance } = await this.#allocateSeqs(tx, batch, fresh, positions);
        const uuids = fresh.map(() => uuidv7());
        // With the ids drawn and nothing that must find the messages stored first (attachments
        // to claim, replies to count), the insert goes with the last writes: one round trip
        // fewer holding the conversations' rows.
        const withLast = messageIds !== null && advance !== null && fresh.every((i) => batch[i].attachments.length === 0 && batch[i].replyToId === null);
        const insert = this.#insertStatement(batch, fresh, seqs, uuids, withLast ? messageIds : null);
        const rows = withLast ? uuids.map((uuid, k) => ({ id: messageIds[k], uuid })) : await this.#inserted(tx, insert, uuids, advance);
        const attachments = await this.#insertAttachments(tx, batch, fresh, rows);
        const parentUuids = await this.#countReplies(tx, batch, fresh);
        fresh.forEach((i, k) => {
          const m = batch[i];
          const replyToUuid = m.replyToId === null ? null : (parentUuids.get(m.replyToId) ?? null);
          results[i] = { created: true, message: newMessage(m, rows[k].id, rows[k].uuid, seqs[i], attachments[k], replyToUuid) };
        });
        const replies = fresh.filter((i) => batch[i].replyToId !== null);
        await followRepliedThreads(tx, this.adapter, replies.map((i) => ({ rootId: batch[i].replyToId!, conversationId: batch[i].conversationId, senderId: batch[i].senderId, seq: seqs[i].seq, at: batch[i].createdAt })));
        // The last writes go in one round trip with the watermarks' (PostgreSQL): each round
        // trip holds the conversations' rows, which the other processes' appends wait for.
        await this.#moveWatermarks(tx, batch, fresh, seqs, lastCommits, [
          ...(withLast ? [advance, insert] : []),
          // What is acknowledged is searchable: the index rows commit with their messages.
          // Rows cut into words where each send was handled (searchRow) are only inserted here.
          this.searchIndex
            ? indexStatement(this.adapter, fresh.map((i, k) => ({ id: rows[k].id, conversationId: batch[i].conversationId, content: batch[i].content, fileNames: attachments[k].map((a) => a.fileName), row: batch[i].searchRow })))
            : null,
          // The pushes that may be due, committed with their messages (issue 19's outbox).
          ...notificationOutboxStatements(this.adapter, fresh.map((i, k) => ({ message: batch[i], id: rows[k].id, seq: seqs[i].seq }))),
          // Last: the events log's counter is held from here to the commit.
          createdMessagesLog(this.ctx, fresh.map((i) => ({ tenantId: tenantOf.get(batch[i].conversationId)!, message: results[i]!.message }))),
        ]);
      }
      for (const [i, first] of duplicateOf) results[i] = { message: results[first]!.message, created: false };
      if (left.size === 0) return results as AppendResult[];
      const outcomes: AppendOutcome[] = all.map(() => ({ deferred: true }));
      taken.forEach((i, k) => (outcomes[i] = results[k]!));
      return outcomes;
    }, onCommit);
  }

  /**
   * The append in one statement that reads the locked rows itself, for lockConversations to
   * run in the locks' round trip with the COMMIT after it (SqlAdapter.writesWithLock): no turn
   * of this process's event loop then falls inside the locks, which another process's appends
   * wait for (a third of a cluster batch's hold was that turn, bench/README sixth). Each
   * conversation's seqs are counted back from its advanced `last_seq`, the ids drawn by the
   * insert in the batch's order, and the events' bodies spliced from the JSON of the messages
   * built here (JSON.stringify's text, byte for byte); a deleted conversation or a sender no
   * longer a member fails the statement (parley_refuse_unless), so the COMMIT is skipped and
   * nothing of the batch is stored. Null where the steps above are needed: files to claim,
   * replies to count, a conversation only probed, no new message, or a test's afterLock.
   */
  #oneTrip(
    all: readonly NewMessage[],
    stored: ReadonlyMap<string, Message>,
    probe: ReadonlySet<Id> | undefined,
    conversationIds: readonly Id[],
  ): { statement: Statement; results(rows: readonly OneTripRow[]): AppendResult[] } | null {
    if (!this.oneTrip || !this.adapter.writesWithLock || this.afterLock !== null) return null;
    if (probe && conversationIds.some((c) => probe.has(c))) return null;
    const { fresh, results, duplicateOf } = triage(all, stored);
    if (fresh.length === 0 || fresh.some((i) => all[i].attachments.length > 0 || all[i].replyToId !== null)) return null;
    const inConversation = new Map<Id, { n: number; lastAt: number }>();
    const senders = new Set<string>();
    const place = fresh.map((i) => {
      const m = all[i];
      let c = inConversation.get(m.conversationId);
      if (!c) inConversation.set(m.conversationId, (c = { n: 0, lastAt: 0 }));
      c.n++;
      c.lastAt = m.createdAt;
      senders.add(`${m.conversationId}:${m.senderId}`);
      return c.n;
    });
    const events = this.ctx.outbox?.enabled !== false;
    const messages = fresh.map((i) => newMessage(all[i], 0, uuidv7(), { seq: 0, changeSeq: 0 }, [], null));
    const vm = this.adapter.valueTable(
      ['INTEGER', 'TEXT', 'BIGINT', 'INTEGER', 'BIGINT', 'TEXT', 'TEXT', 'TEXT', 'BIGINT', 'TEXT', 'TEXT', 'INTEGER', 'BIGINT', 'INTEGER', 'TEXT', 'TEXT', 'TEXT', 'TEXT'],
      fresh.map((i, k) => {
        const m = all[i];
        const message = messages[k];
        // Counted back from the conversation's last seq once this batch's are added.
        const fromLast = inConversation.get(m.conversationId)!.n - place[k];
        const search = this.searchIndex ? (m.searchRow ?? indexRow(m.conversationId, m.content, [])) : '';
        const notify = m.notify;
        const kind = !notify ? 0 : notify.direct || notify.mentionIds.length > 0 ? 1 : 2;
        // The event's body around the values the statement gives: '{"message":{"id":' id, `head`, seq, ',"changeSeq":' change seq, `tail`.
        let head = '';
        let tail = '';
        if (events) {
          const body = JSON.stringify({ message });
          head = `,"uuid":${JSON.stringify(message.uuid)},"conversationId":${m.conversationId},"seq":`;
          tail = body.slice(`${EVENT_ID}0${head}0${EVENT_CHANGE_SEQ}0`.length);
        }
        return [k, message.uuid, m.conversationId, fromLast, m.senderId, m.kind, m.content, m.clientId, m.createdAt, m.metadataJson ?? null, search, kind, notify?.dueAt ?? 0, notify?.direct ? 1 : 0, notify ? `,${notify.mentionIds.join(',')},` : '', events ? newEventUuid() : '', head, tail];
      }),
    );
    const convs = [...inConversation.keys()].sort((a, b) => a - b);
    const cv = this.adapter.valueTable(['BIGINT', 'INTEGER', 'BIGINT'], convs.map((c) => [c, inConversation.get(c)!.n, inConversation.get(c)!.lastAt]));
    const { greatest } = this.adapter;
    // `got`: each inserted message with its row of `vm` (column1 its place in `fresh`, 3 its
    // conversation, 5 its sender, 9 its time, 11 its index text, 12 its outbox statement,
    // 13–15 its push's due time, direct, mentions, 16 its event's uuid, 17–18 its body's parts).
    const writes = [
      this.searchIndex ? `s AS (${indexInsertSql(this.adapter, "(SELECT got.id AS column1, got.column11 AS column2 FROM got WHERE got.column11 <> '') AS v")})` : null,
      `o1 AS (${outboxInsertSql.everyone(`(${OUTBOX_ROWS} FROM got WHERE got.column12 = 1) AS v`)})`,
      `o2 AS (${outboxInsertSql.allLevel(`(${OUTBOX_ROWS} FROM got WHERE got.column12 = 2) AS v`)})`,
      events
        ? `e AS (${eventsInsertSql(
            `(SELECT got.tenant_id AS column1, got.column16 AS column2, 'message.created' AS column3, got.column3 AS column4, got.column9 AS column5,
                '${EVENT_ID}' || got.id || got.column17 || got.seq || '${EVENT_CHANGE_SEQ}' || got.change_seq || got.column18 AS column6 FROM got ORDER BY got.column1) AS v`,
          )})`
        : null,
    ].filter((w) => w !== null);
    const statement: Statement = {
      sql: `WITH vm AS (SELECT * FROM ${vm.sql}),
        adv AS (UPDATE conversations SET last_seq = conversations.last_seq + v.column2, change_seq = conversations.change_seq + v.column2, last_message_at = v.column3, updated_at = v.column3
          FROM ${cv.sql} WHERE conversations.id = v.column1 AND conversations.deleted_at IS NULL
          RETURNING conversations.id, conversations.last_seq, conversations.change_seq, conversations.tenant_id),
        ins AS (INSERT INTO messages (uuid, conversation_id, seq, change_seq, sender_id, kind, content, reply_to_id, client_id, created_at, metadata, reply_count, unchanged)
          SELECT vm.column2, vm.column3, adv.last_seq - vm.column4, adv.change_seq - vm.column4, vm.column5, vm.column6, vm.column7, CAST(NULL AS BIGINT), vm.column8, vm.column9, vm.column10, 0, 1
          FROM vm JOIN adv ON adv.id = vm.column3 ORDER BY vm.column1
          RETURNING id, uuid, seq, change_seq),
        got AS (SELECT vm.*, ins.id, ins.seq, ins.change_seq, adv.tenant_id FROM ins JOIN vm ON vm.column2 = ins.uuid JOIN adv ON adv.id = vm.column3),
        ${writes.map((w) => w + ',').join('\n')}
        wm AS (UPDATE participants SET delivered_seq = ${greatest('participants.delivered_seq', 'w.top')}, sent_seq = ${greatest('participants.sent_seq', 'w.top')}, seen_seq = ${greatest('participants.seen_seq', 'w.top')}
          FROM (SELECT got.column3 AS c, got.column5 AS u, max(got.seq) AS top FROM got GROUP BY got.column3, got.column5) w
          WHERE participants.conversation_id = w.c AND participants.user_id = w.u AND participants.left_at IS NULL RETURNING 1)
        SELECT got.column1 AS k, got.id, got.seq, got.change_seq FROM got
        WHERE parley_refuse_unless((SELECT count(*) FROM wm) = CAST(? AS INTEGER) AND (SELECT count(*) FROM adv) = CAST(? AS INTEGER), 'conversation_not_found')`,
      parameters: [...vm.parameters, ...cv.parameters, senders.size, convs.length],
      prepared: true,
      commits: true,
    };
    return {
      statement,
      results(rows) {
        // Every conversation deleted: the check had no row to run on, and nothing was written.
        if (rows.length !== fresh.length) throw new StoreError('conversation_not_found');
        for (const r of rows) {
          const message = messages[r.k];
          message.id = Number(r.id);
          message.seq = Number(r.seq);
          message.changeSeq = Number(r.change_seq);
          results[fresh[r.k]] = { created: true, message };
        }
        for (const [i, first] of duplicateOf) results[i] = { message: results[first]!.message, created: false };
        return results as AppendResult[];
      },
    };
  }

  /** 1. Retries: the sends whose (sender, conversation, client_id) is stored already, by retryKey. */
  async #storedRetries(batch: readonly NewMessage[]): Promise<Map<string, Message>> {
    const withClient = batch.filter((m) => m.clientId !== null);
    if (withClient.length === 0) return new Map();
    // Exact keys joined to the unique index: one index probe each.
    // (Row-value IN (VALUES …) made SQLite scan the table; IN lists would probe their product.)
    const keys = [...new Map(withClient.map((m) => [retryKey(m), m])).values()];
    const v = this.adapter.valueTable(['BIGINT', 'BIGINT', 'VARCHAR(255)'], keys.map((m) => [m.senderId, m.conversationId, m.clientId]));
    // Not prepared: planned at each run, so it probes the index however few messages there
    // were when a generic plan would have been made (a hash join over a scan of them all
    // stays until PostgreSQL next analyzes the table: 1.2 ms a batch after 20k messages).
    const rows = await this.runner.all<MessageRow>(
      raw(`SELECT ${MESSAGE_COLUMNS_OF_M} FROM ${v.sql} JOIN messages m ON m.sender_id = v.column1 AND m.conversation_id = v.column2 AND m.client_id = v.column3`, v.parameters),
    );
    if (rows.length === 0) return new Map();
    return new Map((await hydrateMessages(this.ctx, rows)).map((m) => [retryKey(m), m]));
  }

  /**
   * 2. Seqs: one UPDATE … RETURNING for every conversation of the batch (taken in id order,
   *    the order the rows were locked in), each conversation's messages numbered in batch order.
   *    A deleted conversation returns no row: nothing of the batch commits.
   *    When the lock read where the conversations stand (`positions`, PostgreSQL), the seqs
   *    are counted from there and the UPDATE is returned (`advance`) to go with the insert.
   */
  async #allocateSeqs(
    tx: SqlRunner,
    batch: readonly NewMessage[],
    fresh: readonly number[],
    positions: ReadonlyMap<Id, ConversationPosition> | null,
  ): Promise<{ seqs: { seq: number; changeSeq: number }[]; tenantOf: Map<Id, Id>; advance: Statement | null }> {
    const perConversation = new Map<Id, number[]>();
    for (const i of fresh) {
      const c = batch[i].conversationId;
      let list = perConversation.get(c);
      if (!list) perConversation.set(c, (list = []));
      list.push(i);
    }
    const convIds = [...perConversation.keys()].sort((a, b) => a - b);
    const v = this.adapter.valueTable(
      ['BIGINT', 'INTEGER', 'BIGINT'],
      convIds.map((c) => {
        const idx = perConversation.get(c)!;
        return [c, idx.length, batch[idx[idx.length - 1]].createdAt];
      }),
    );
    const update = prepared(
      `UPDATE conversations SET last_seq = conversations.last_seq + v.column2, change_seq = conversations.change_seq + v.column2, last_message_at = v.column3, updated_at = v.column3
         FROM ${v.sql}
         WHERE conversations.id = v.column1 AND conversations.deleted_at IS NULL RETURNING conversations.id, conversations.last_seq, conversations.change_seq, conversations.tenant_id`,
      v.parameters,
    );
    // Where each conversation stood before this batch.
    const before = new Map<Id, { lastSeq: number; changeSeq: number; tenantId: Id }>();
    if (positions) {
      for (const c of convIds) {
        const p = positions.get(c);
        if (p && !p.deleted) before.set(c, p);
      }
    } else {
      for (const r of await tx.all<{ id: number; last_seq: number; change_seq: number; tenant_id: number }>(update)) {
        const n = perConversation.get(Number(r.id))!.length;
        before.set(Number(r.id), { lastSeq: Number(r.last_seq) - n, changeSeq: Number(r.change_seq) - n, tenantId: Number(r.tenant_id) });
      }
    }
    const seqs: { seq: number; changeSeq: number }[] = new Array(batch.length);
    const tenantOf = new Map<Id, Id>();
    for (const c of convIds) {
      const row = before.get(c);
      if (!row) throw new StoreError('conversation_not_found');
      tenantOf.set(c, row.tenantId);
      let { lastSeq: seq, changeSeq } = row;
      for (const i of perConversation.get(c)!) seqs[i] = { seq: ++seq, changeSeq: ++changeSeq };
    }
    return { seqs, tenantOf, advance: positions ? update : null };
  }

  /**
   * 3. The messages, in one statement, in `fresh` order, with their `ids` when drawn already
   *    (else the insert returns them, #inserted). `unchanged` keeps them out of the change
   *    index until a change (a resume reads new messages by seq).
   */
  #insertStatement(batch: readonly NewMessage[], fresh: readonly number[], seqs: readonly { seq: number; changeSeq: number }[], uuids: readonly string[], ids: readonly Id[] | null): Statement {
    const types = ['TEXT', 'BIGINT', 'BIGINT', 'BIGINT', 'BIGINT', 'TEXT', 'TEXT', 'BIGINT', 'TEXT', 'BIGINT', 'TEXT'];
    const v = this.adapter.valueTable(
      ids === null ? types : [...types, 'BIGINT'],
      fresh.map((i, k) => {
        const m = batch[i];
        const row: unknown[] = [uuids[k], m.conversationId, seqs[i].seq, seqs[i].changeSeq, m.senderId, m.kind, m.content, m.replyToId, m.clientId, m.createdAt, m.metadataJson ?? null];
        if (ids !== null) row.push(ids[k]);
        return row;
      }),
    );
    const [id, idValue, returning] = ids === null ? ['', '', ' RETURNING id, uuid'] : ['id, ', 'v.column12, ', ''];
    return prepared(
      `INSERT INTO messages (${id}uuid, conversation_id, seq, change_seq, sender_id, kind, content, reply_to_id, client_id, created_at, metadata, reply_count, unchanged)
         SELECT ${idValue}v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9, v.column10, v.column11, 0, 1 FROM ${v.sql}${returning}`,
      v.parameters,
    );
  }

  /** Runs the insert (with the seqs' UPDATE when not run yet); the ids it gave, in `uuids`' order. */
  async #inserted(tx: SqlRunner, insert: Statement, uuids: readonly string[], advance: Statement | null): Promise<{ id: Id; uuid: string }[]> {
    const inserted = await this.adapter.allWith<{ id: number; uuid: string }>(tx, insert, [advance]);
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
      const v = this.adapter.valueTable(
        ['BIGINT', 'BIGINT', 'INTEGER', 'BIGINT'],
        claims.map((c) => [c.pendingId, c.messageId, c.position, c.ownerId]),
      );
      const claimed = await tx.all<AttachmentRow & { message_id: number }>(
        prepared(
          `UPDATE attachments SET message_id = v.column2, position = v.column3
           FROM ${v.sql}
           WHERE attachments.id = v.column1 AND attachments.owner_id = v.column4 AND attachments.message_id IS NULL
           RETURNING ${ATTACHMENT_COLUMNS.split(', ').map((c) => 'attachments.' + c).join(', ')}, attachments.message_id`,
          v.parameters,
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
    const v = this.adapter.valueTable(['BIGINT', 'INTEGER'], parents.map((p) => [p, replies.get(p)!]));
    // Not prepared, as the retries' lookup: the messages' ids are probed one by one at any size.
    const rows = await tx.all<{ id: number; uuid: string }>(
      raw(`UPDATE messages SET reply_count = messages.reply_count + v.column2 FROM ${v.sql} WHERE messages.id = v.column1 RETURNING messages.id, messages.uuid`, v.parameters),
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
  async #moveWatermarks(tx: SqlRunner, batch: readonly NewMessage[], fresh: readonly number[], seqs: readonly { seq: number }[], commits: boolean, alongside: readonly (Statement | null)[]): Promise<void> {
    const senderTop = new Map<string, { c: Id; u: Id; seq: number; seen: number }>();
    for (const i of fresh) {
      const m = batch[i];
      const key = `${m.conversationId}:${m.senderId}`;
      const cur = senderTop.get(key) ?? { c: m.conversationId, u: m.senderId, seq: 0, seen: 0 };
      cur.seq = Math.max(cur.seq, seqs[i].seq);
      if (m.replyToId === null) cur.seen = Math.max(cur.seen, seqs[i].seq);
      senderTop.set(key, cur);
    }
    // Their rows were locked with the conversations (lockConversations), in order.
    const watermarks = [...senderTop.values()].sort((a, b) => a.c - b.c || a.u - b.u);
    const { greatest } = this.adapter;
    // Only current participants: a sender removed (or gone with a deleted conversation)
    // after the core's cached check commits nothing (Store contract). On PostgreSQL the
    // UPDATE sees a removal committed before it, whatever the snapshot.
    const v = this.adapter.valueTable(['BIGINT', 'BIGINT', 'BIGINT', 'BIGINT'], watermarks.map((w) => [w.c, w.u, w.seq, w.seen]));
    const moved = await this.adapter.allWith<{ conversation_id: number }>(
      tx,
      {
        ...prepared(
          `UPDATE participants SET delivered_seq = ${greatest('participants.delivered_seq', 'v.column3')}, sent_seq = ${greatest('participants.sent_seq', 'v.column3')}, seen_seq = ${greatest('participants.seen_seq', 'v.column4')}
         FROM ${v.sql}
         WHERE participants.conversation_id = v.column1 AND participants.user_id = v.column2 AND participants.left_at IS NULL
         RETURNING participants.conversation_id`,
          v.parameters,
        ),
        commits,
      },
      alongside,
    );
    // (With `commits` it has committed: every row was current and locked, so this holds.)
    if (moved.length < watermarks.length) throw new StoreError('conversation_not_found');
  }
}
