import type { Id } from '../../../core/model.js';
import { LockNotAvailable } from '../store.js';
import { prepared, raw, type SqlRunner, type Statement } from '../sql-runner.js';

/**
 * How search reads an index that cannot stop a word's matches at the page's end (PostgreSQL's
 * GIN; sql/search.ts `SortedSearch`, docs/search.md "The plans").
 */
export interface SortedSearchPlan {
  /** Newest first: the newest index rows below the cursor are tested one by one, this many deep after each stage, before the word index is asked. */
  readonly walks: readonly number[];
  /** The same over one conversation's messages (each row an index lookup more). */
  readonly walksInConversation: readonly number[];
  /**
   * The first stage's rows are a sample of the newest: from how many of them hold each word,
   * the word index's matches below them are estimated (a word in s of n rows: (s + 1) / (n + 1)
   * of the ids below), and from how many hold all the words, the rows the walk would still read.
   * When the rarest word's matches cost less than those rows (one match `ginCost` rows), the
   * later stages are skipped and the word index asked at once: a word nobody wrote costs nothing.
   */
  readonly ginCost: number;
  /**
   * The word index is asked only for the words held by at most `rareRatio` × (s + 1) of the
   * sampled rows, s the rarest word's: GIN collects every match of a prefix before anything
   * else, so a common word beside a rare one is tested on the rare one's matches instead.
   */
  readonly rareRatio: number;
}

/** A conversation's counters as its row lock was taken; `deleted`: it has deleted_at set. */
export interface ConversationPosition {
  lastSeq: number;
  changeSeq: number;
  tenantId: Id;
  deleted: boolean;
}

/**
 * Everything that differs between SQLite and PostgreSQL, for the sub-stores of `sql/`: they
 * write one SQL text for both and ask this for the pieces that differ (function names, typed
 * VALUES lists, row locks, "the first N per key"). Nothing outside this file branches on the
 * database or rewrites a statement.
 */
export interface SqlAdapter {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * How many appends may run at once (Store.appendPipeline). SQLite runs one transaction at a
   * time, in the order they were asked for: a batch can commit while the one before waits for
   * its flush. PostgreSQL could run them side by side, each on a connection of its own (they
   * could take a conversation's row lock out of order, so no two of them would share a
   * conversation: `appendsInCallOrder` false, MessageWriter keeps them apart), but runs one:
   * the sends that arrive meanwhile make one larger batch, and a commit costs ~1.2 ms of this
   * process's CPU and ~1.3 ms of PostgreSQL's whatever it holds. Two processes on 2 cores
   * delivered 1.19x and 1.22x with one batch at a time than with three (bench/README, fifth).
   */
  readonly appendPipeline: number;
  /** Store.appendsInCallOrder. */
  readonly appendsInCallOrder: boolean;
  /**
   * Ends a SELECT whose rows one transaction claims (`alias`: the table claimed, by its alias
   * or its name): PostgreSQL
   * locks them and passes over those another transaction holds; SQLite has one writer anyway.
   */
  claimRows(alias: string): string;
  /** Two-argument max and min: SQLite's scalar max()/min(), PostgreSQL's GREATEST()/LEAST(). */
  greatest(a: string, b: string): string;
  least(a: string, b: string): string;
  /** `(?, ?), (?, ?)…` for a VALUES list whose columns are `column1…`; PostgreSQL is told each column's type. */
  valueRows(rows: number, types: readonly string[]): string;
  /**
   * `rows` (each one value per type) as a FROM item `v` with columns `column1…`, and its
   * parameters. SQLite: a VALUES list. PostgreSQL: one JSON parameter holding them all, so the
   * statement's text is the same for any number of rows and can be prepared once per
   * connection (Statement.prepared): parsing and planning a VALUES list of a batch's rows
   * cost 43% of the append's time inside PostgreSQL, while its rows were locked.
   */
  valueTable(types: readonly string[], rows: readonly (readonly unknown[])[]): { sql: string; parameters: unknown[] };
  /**
   * Locks the rows of `table` with these keys in the given (sorted) order, so concurrent
   * transactions that touch several of them queue instead of deadlocking.
   */
  lockInOrder(tx: SqlRunner, table: string, keyColumns: string, keys: readonly (readonly number[])[]): Promise<void>;
  /** Takes one row's lock (`table.id = id`) for the rest of the transaction. */
  lockRow(tx: SqlRunner, table: 'conversations' | 'users' | 'tenants', id: Id): Promise<void>;
  /**
   * Locks the conversations' rows in id order, waiting at most `waitMs` for the ones another
   * transaction holds; `probe` ones are only taken if free. Returns the conversations left out.
   * Then locks the `participants` rows (conversation id, user id; sorted) of the conversations
   * it took, as lockInOrder does: in the same round trip when it can (the append's watermarks).
   * `positions`: where the locked conversations stand (read under their locks, so current until
   * the commit) when that came in the same round trip too; null otherwise. `messageIds`: that
   * many new messages' ids drawn in the same round trip with the positions (ascending, after
   * every id drawn before the locks), or null when not drawn. `currentParticipants`: how many
   * of `participants` are current (left_at null) when their rows were locked in the same round
   * trip (so current until the commit); null otherwise.
   * `then`: a statement to run once every row is locked, in the same round trip (with its
   * COMMIT if it `commits`) where the adapter can (`writesWithLock`) and every conversation was
   * waited for and taken; its rows come back as `then`, or null when it did not run (the caller
   * runs its writes after the locks instead). Nothing of the batch's is drawn then (`messageIds`).
   */
  lockConversations(
    tx: SqlRunner,
    ids: readonly Id[],
    probe: ReadonlySet<Id> | undefined,
    waitMs: number,
    participants?: readonly (readonly [Id, Id])[],
    messageIds?: number,
    then?: Statement,
  ): Promise<{ left: Set<Id>; positions: Map<Id, ConversationPosition> | null; messageIds: Id[] | null; currentParticipants: number | null; then: unknown[] | null }>;
  /**
   * lockConversations can run a statement after the locks in their round trip (`then`), and
   * that statement may be one whose WITH clauses write and read each other's RETURNING
   * (PostgreSQL). SQLite: no (one writer, no round trips: it checks between statements).
   */
  readonly writesWithLock: boolean;
  /**
   * Runs `main` and returns its rows, and runs the `alongside` statements (null: none) in the
   * same transaction. PostgreSQL: in one round trip, `alongside` as data-modifying WITH clauses
   * of `main`, so all of them see one snapshot and none may read what another writes. SQLite:
   * `main` first, then the others in order.
   */
  allWith<T>(tx: SqlRunner, main: Statement, alongside: readonly (Statement | null)[]): Promise<T[]>;
  /**
   * The newest message of each of `n` conversations, given as `(conversation id, last_seq)`
   * pairs: one bounded probe of (conversation_id, seq) per conversation.
   */
  lastMessagesSql(n: number, columns: readonly string[]): string;
  /**
   * At most `limit` current participants (lowest user ids first) of each of `n` conversations
   * with their users' `columns` (`p.`, `u.`): one bounded probe of the participants key each.
   */
  memberPreviewSql(n: number, columns: string, limit: number): string;
  /**
   * Search (sql/search.ts, docs/search.md): the value of `message_search.terms` for `text`, an
   * SQL expression of type text holding the index text (folded words separated by spaces).
   * SQLite: FTS5 splits it; PostgreSQL: a tsvector of exactly those words (no parser, no stemming).
   */
  searchTerms(text: string): string;
  /** A condition on `message_search` true when its terms begin with every one of `prefixes` and hold every one of `exact`. */
  searchMatch(prefixes: readonly string[], exact: readonly string[]): { sql: string; params: unknown[] };
  /** A relevance score of `message_search` for `words`, lower is better (a double). */
  searchScore(words: readonly string[]): { sql: string; params: unknown[] };
  /**
   * How search reads the index when the database cannot stop a word's matches at the page's end
   * (sql/search.ts, docs/search.md); null: in one statement, the index in id order under the LIMIT.
   * - `walks`: newest first, the newest rows of the index below the cursor are read along their
   *   key and each one tested, this many deep after each stage until the page is full; the word
   *   index is asked for the older matches only then. `walksInConversation`: the same over one
   *   conversation's messages (each one an index lookup more).
   * - The matches are sorted alone (newest first or by score) and joined to their messages and
   *   the membership in that order until the page is full.
   * - `ginCost`, `rareRatio`: what the first stage's rows (a sample of the newest) decide, see
   *   SortedSearchPlan.
   */
  readonly searchSorted: SortedSearchPlan | null;
  /**
   * The events log's horizon (sql/webhooks.ts): the last seq drawn, then the transactions of
   * this database running after that read. Every transaction that drew a seq up to `lastSeq`
   * had its id before it drew (`events_next_seq()`), so once those `running` have ended,
   * every seq up to `lastSeq` has committed or rolled back. (This database's only: the
   * cluster's oldest transaction, pg_snapshot_xmin, may be anyone's long report.) null on
   * SQLite: one writer, so a seq drawn has committed when anyone else reads.
   */
  eventsHorizon(r: SqlRunner): Promise<{ lastSeq: number; running: string[] } | null>;
  /** Those of `transactions` (ids from eventsHorizon) still running. */
  stillRunning(r: SqlRunner, transactions: readonly string[]): Promise<string[]>;
}

/** The SQL words that differ: the two-argument max and min, and a VALUES placeholder of a type. */
abstract class SqlWords {
  constructor(
    readonly maxFn: string,
    readonly minFn: string,
    readonly placeholder: (type: string) => string,
  ) {}
  greatest = (a: string, b: string) => `${this.maxFn}(${a}, ${b})`;
  least = (a: string, b: string) => `${this.minFn}(${a}, ${b})`;
  valueRows(rows: number, types: readonly string[]): string {
    return new Array(rows).fill('(' + types.map(this.placeholder).join(', ') + ')').join(', ');
  }
}

/** SQLite: one writer at a time holds the whole database, so there is nothing to lock. */
class SqliteAdapter extends SqlWords implements SqlAdapter {
  readonly dialect = 'sqlite';
  readonly appendPipeline = 2;
  readonly appendsInCallOrder = true;
  claimRows(): string {
    return '';
  }
  constructor() {
    super('max', 'min', () => '?');
  }
  async lockInOrder(): Promise<void> {}
  async lockRow(): Promise<void> {}
  async eventsHorizon(): Promise<null> {
    return null;
  }
  async stillRunning(): Promise<string[]> {
    return [];
  }
  readonly writesWithLock = false;
  async lockConversations() {
    return { left: new Set<Id>(), positions: null, messageIds: null, currentParticipants: null, then: null };
  }
  /** `(VALUES (?, …), …) AS v` by rows and columns (a placeholder here has no type): the append's statements are built for every batch. */
  readonly #valueTables = new Map<number, string>();
  valueTable(types: readonly string[], rows: readonly (readonly unknown[])[]) {
    const columns = types.length;
    const key = rows.length * 1024 + columns;
    let sql = this.#valueTables.get(key);
    if (sql === undefined) {
      sql = `(VALUES ${this.valueRows(rows.length, types)}) AS v`;
      if (columns < 1024 && this.#valueTables.size < 4096) this.#valueTables.set(key, sql);
    }
    // A loop, not rows.flat(): flat was most of this function's time, per value of every batch.
    const parameters: unknown[] = new Array(rows.length * columns);
    let k = 0;
    for (const row of rows) for (let j = 0; j < columns; j++) parameters[k++] = row[j];
    return { sql, parameters };
  }
  async allWith<T>(tx: SqlRunner, main: Statement, alongside: readonly (Statement | null)[]): Promise<T[]> {
    const rows = await tx.all<T>(main);
    for (const s of alongside) if (s) await tx.run(s);
    return rows;
  }
  lastMessagesSql(n: number, columns: readonly string[]): string {
    return `SELECT ${columns.map((c) => 'm.' + c).join(', ')} FROM (VALUES ${this.valueRows(n, ['BIGINT', 'BIGINT'])}) AS v
             JOIN messages m ON m.conversation_id = v.column1 AND m.seq = v.column2`;
  }
  memberPreviewSql(n: number, columns: string, limit: number): string {
    return new Array(n)
      .fill(`SELECT * FROM (SELECT ${columns} FROM participants p JOIN users u ON u.id = p.user_id WHERE p.conversation_id = ? AND p.left_at IS NULL ORDER BY p.user_id LIMIT ${limit | 0})`)
      .join(' UNION ALL ');
  }
  searchTerms = (text: string) => text;
  searchMatch(prefixes: readonly string[], exact: readonly string[]) {
    // Each word a quoted FTS5 string (nothing in it is syntax); all of them must be there.
    const quoted = (w: string) => `"${w.replace(/"/g, '""')}"`;
    return { sql: 'message_search MATCH ?', params: [[...prefixes.map((w) => quoted(w) + '*'), ...exact.map(quoted)].join(' ')] };
  }
  searchScore() {
    return { sql: 'bm25(message_search)', params: [] };
  }
  // FTS5 reads a word's matches in rowid order and stops at the LIMIT, and ranks inside its
  // own scan: sorted alone under a LIMIT, relevance at 1M went from 12 ms to 2 s (bench:scale).
  readonly searchSorted = null;
}

class PostgresAdapter extends SqlWords implements SqlAdapter {
  readonly dialect = 'postgres';
  readonly appendPipeline = 1;
  readonly appendsInCallOrder = false;
  readonly writesWithLock = true;
  claimRows(alias: string): string {
    return `FOR UPDATE OF ${alias} SKIP LOCKED`;
  }
  constructor() {
    super('greatest', 'least', (t) => `CAST(? AS ${t})`);
  }

  async eventsHorizon(r: SqlRunner) {
    // Two statements: the running transactions are read after the sequence.
    const [{ last }] = await r.all<{ last: string }>(raw("SELECT COALESCE(pg_sequence_last_value('events_seq'), 0) AS last", []));
    const rows = await r.all<{ xid: string }>(raw('SELECT CAST(backend_xid AS text) AS xid FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL', []));
    return { lastSeq: Number(last), running: rows.map((x) => x.xid) };
  }
  async stillRunning(r: SqlRunner, transactions: readonly string[]): Promise<string[]> {
    if (transactions.length === 0) return [];
    const rows = await r.all<{ xid: string }>(
      raw(`SELECT CAST(backend_xid AS text) AS xid FROM pg_stat_activity WHERE CAST(backend_xid AS text) IN (${transactions.map(() => '?').join(', ')})`, [...transactions]),
    );
    return rows.map((x) => x.xid);
  }

  async lockInOrder(tx: SqlRunner, table: string, keyColumns: string, keys: readonly (readonly number[])[]): Promise<void> {
    if (keys.length < 2) return;
    await tx.all(raw(`SELECT 1 FROM ${table} WHERE (${keyColumns}) IN (${keyRows(keys)}) ORDER BY ${keyColumns} FOR UPDATE`, []));
  }

  async lockRow(tx: SqlRunner, table: 'conversations' | 'users' | 'tenants', id: Id): Promise<void> {
    await tx.all(raw(`SELECT id FROM ${table} WHERE id = ? FOR UPDATE`, [id]));
  }

  async lockConversations(
    tx: SqlRunner,
    ids: readonly Id[],
    probe: ReadonlySet<Id> | undefined,
    waitMs: number,
    participants: readonly (readonly [Id, Id])[] = [],
    messageIds = 0,
    then?: Statement,
  ): Promise<{ left: Set<Id>; positions: Map<Id, ConversationPosition> | null; messageIds: Id[] | null; currentParticipants: number | null; then: unknown[] | null }> {
    const out = new Set<Id>();
    let positions: Map<Id, ConversationPosition> | null = null;
    let drawn: Id[] | null = null;
    let currentParticipants: number | null = null;
    let thenRows: unknown[] | null = null;
    if (ids.length === 0) return { left: out, positions, messageIds: drawn, currentParticipants, then: thenRows };
    const waitFor = ids.filter((id) => !probe?.has(id));
    const tryOnly = ids.filter((id) => probe?.has(id));
    // Ids are integers from our own rows, written inline where a list's text varies anyway.
    const list = (xs: readonly Id[]) => xs.map(int).join(', ');
    // The participants' rows are taken after every conversation's: each transaction takes them in
    // that order, so none waits for a participant row while holding a conversation another wants.
    let participantsLocked = false;
    const skipLocked = async (xs: readonly Id[]) => {
      const got = await tx.all<{ id: number }>(raw(`SELECT id FROM conversations WHERE id IN (${list(xs)}) ORDER BY id FOR UPDATE SKIP LOCKED`, []));
      const have = new Set(got.map((r) => Number(r.id)));
      for (const x of xs) if (!have.has(x)) out.add(x);
    };
    if (waitFor.length > 0) {
      // One round trip, of statements prepared once per connection (their texts do not vary
      // with the batch: the ids go as arrays): planning the lists anew was about 0.5 ms of
      // PostgreSQL's CPU a batch. The conversations' rows, locked in id order, answer with
      // their counters; the wait for them is bounded (the savepoint undoes a wait given up).
      const steps: Statement[] = [
        raw('SAVEPOINT lock_wait', []),
        raw(`SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(waitMs))}`, []),
        prepared('SELECT id, last_seq, change_seq, tenant_id, deleted_at IS NOT NULL AS deleted FROM conversations WHERE id = ANY(CAST(? AS BIGINT[])) ORDER BY id FOR UPDATE', [idArray(waitFor)]),
        raw('SET LOCAL lock_timeout = DEFAULT', []),
      ];
      // With no row to take only if free, the participants' rows go in the same round trip,
      // counted current as they are locked (they stay so until the commit), and the new
      // messages' ids are drawn, under the conversations' locks: a conversation's ids then
      // grow with its seqs, as when the insert drew them.
      if (tryOnly.length === 0) {
        steps.push(
          prepared(
            `SELECT count(*) FILTER (WHERE p.left_at IS NULL) AS current_participants, (SELECT array_agg(nextval('messages_id_seq')) FROM generate_series(1, CAST(? AS INTEGER))) AS message_ids
               FROM (SELECT left_at FROM participants WHERE (conversation_id, user_id) IN (SELECT * FROM unnest(CAST(? AS BIGINT[]), CAST(? AS BIGINT[]))) ORDER BY conversation_id, user_id FOR UPDATE) p`,
            [then ? 0 : Math.max(0, Math.trunc(messageIds)), idArray(participants.map(([c]) => c)), idArray(participants.map(([, u]) => u))],
          ),
        );
        // The writes, read from the locked rows by the statement itself: no turn of this
        // process's event loop falls between the locks and the COMMIT.
        if (then) steps.push(then);
      }
      try {
        const answers = tx.steps ? await tx.steps(steps) : await inTurn(tx, steps);
        // `then` was the last step when pushed (only with every conversation waited for).
        if (then && tryOnly.length === 0) thenRows = answers[steps.length - 1];
        const rows = answers[2] as { id: number; last_seq: number; change_seq: number; tenant_id: number; deleted: boolean }[];
        if (tryOnly.length === 0) {
          positions = new Map(rows.map((r) => [Number(r.id), { lastSeq: Number(r.last_seq), changeSeq: Number(r.change_seq), tenantId: Number(r.tenant_id), deleted: r.deleted }]));
          const [drawnRow] = answers[4] as { current_participants: string | number; message_ids: (string | number)[] | null }[];
          participantsLocked = true;
          if (participants.length > 0) currentParticipants = Number(drawnRow.current_participants);
          if (drawnRow.message_ids) drawn = drawnRow.message_ids.map(Number);
        }
      } catch (e) {
        if (!(e instanceof LockNotAvailable)) throw e;
        // Some row is held: keep what is free now, leave the rest for a later batch.
        await tx.run(raw('ROLLBACK TO SAVEPOINT lock_wait; SET LOCAL lock_timeout = DEFAULT', []));
        await skipLocked(waitFor);
      }
    }
    if (tryOnly.length > 0) await skipLocked(tryOnly);
    if (!participantsLocked) {
      // One row: the statement that writes it takes its lock (lockInOrder takes none).
      await this.lockInOrder(tx, 'participants', 'conversation_id, user_id', participants.filter(([c]) => !out.has(c)));
    }
    return { left: out, positions, messageIds: drawn, currentParticipants, then: thenRows };
  }
  valueTable(types: readonly string[], rows: readonly (readonly unknown[])[]) {
    // One JSON parameter, the rows as objects: JSON.stringify escapes the texts natively, where
    // pg's arrays escaped each element with regular expressions (10% of a server's CPU on pairs).
    const names = types.map((_, i) => `column${i + 1}`);
    const objects = rows.map((r) => {
      const o: Record<string, unknown> = {};
      for (let j = 0; j < names.length; j++) o[names[j]] = r[j];
      return o;
    });
    // The LIMIT (all of them) is the planner's count: it takes json_to_recordset for 100 rows,
    // and hash-joined a whole table rather than probe its index 100 times (1.4 ms a batch at
    // 20k messages); a LIMIT it cannot see (a generic plan) it takes for a tenth of them.
    return {
      sql: `(SELECT * FROM json_to_recordset(CAST(? AS json)) AS r(${names.map((n, i) => `${n} ${types[i]}`).join(', ')}) LIMIT CAST(? AS INTEGER)) AS v`,
      parameters: [JSON.stringify(objects), rows.length],
    };
  }
  async allWith<T>(tx: SqlRunner, main: Statement, alongside: readonly (Statement | null)[]): Promise<T[]> {
    const others = alongside.filter((s): s is Statement => s !== null);
    if (others.length === 0) return tx.all<T>(main);
    const clauses = others.map((s, i) => `w${i} AS (${s.sql})`).join(', ');
    // Of prepared parts, the whole is as constant as they are; it commits if `main` does.
    return tx.all<T>({
      sql: `WITH ${clauses} ${main.sql}`,
      parameters: [...others.flatMap((s) => s.parameters), ...main.parameters],
      prepared: main.prepared === true && others.every((s) => s.prepared),
      commits: main.commits,
    });
  }

  // PostgreSQL is asked for the newest seq up to last_seq, which only (conversation_id, seq)
  // serves without a sort: asked for seq = last_seq it could pick (conversation_id, change_seq)
  // and filter a whole conversation's messages. LATERAL runs the inner query once per row.
  lastMessagesSql(n: number, columns: readonly string[]): string {
    return `SELECT m.* FROM (VALUES ${this.valueRows(n, ['BIGINT', 'BIGINT'])}) AS v CROSS JOIN LATERAL
               (SELECT ${columns.join(', ')} FROM messages WHERE conversation_id = v.column1 AND seq <= v.column2 ORDER BY seq DESC LIMIT 1) AS m`;
  }
  memberPreviewSql(n: number, columns: string, limit: number): string {
    // The LIMIT's order does not survive the join to users (a hash join hands rows back as it
    // likes: CI saw 194, 192, 195): the contract's "lowest ids first" is ordered here.
    return `SELECT ${columns} FROM (VALUES ${this.valueRows(n, ['BIGINT'])}) AS v CROSS JOIN LATERAL
                 (SELECT * FROM participants WHERE conversation_id = v.column1 AND left_at IS NULL ORDER BY user_id LIMIT ${limit | 0}) AS p
               JOIN users u ON u.id = p.user_id
               ORDER BY p.conversation_id, p.user_id`;
  }
  searchTerms = (text: string) => `array_to_tsvector(string_to_array(CAST(${text} AS text), ' '))`;
  searchMatch(prefixes: readonly string[], exact: readonly string[]) {
    return { sql: 'message_search.terms @@ CAST(? AS tsquery)', params: [tsquery(prefixes, exact)] };
  }
  searchScore(words: readonly string[]) {
    // A double, so the score read back as a cursor compares equal to itself.
    return { sql: '-CAST(ts_rank(message_search.terms, CAST(? AS tsquery)) AS DOUBLE PRECISION)', params: [tsquery(words, [])] };
  }
  // GIN answers a prefix (`'c3':*`) by collecting every match of every word it begins into a
  // bitmap before anything else, whatever the other words or the id range: 111k matches of a
  // common word cost 40 ms at 1M, for any page. Testing the newest rows one by one costs ~1 µs
  // each: 20k rows fill a page of any query matching one message in 1,000, at any size. A first
  // short stage is read in key order (the planner sorts a whole walk it thinks the conversation
  // holds: 5k lookups for a common word 200 rows fill). In one conversation one stage: each row
  // is a lookup more, 20k of them cost more than GIN's matches of a rare word. Sorted alone: a
  // rare word's thousand matches are not each joined before the sort (ranked: 55 → 14 ms).
  // A match of GIN (bitmap, then a heap page of its own) cost 3 walked rows at a quiet moment
  // at 1M, 10 on a loaded machine whose buffers other databases share: 10, the walk's cost does
  // not grow with the table. A common word's prefix costs ~0.3 µs a match to collect, its heap
  // row 3–10 µs: asked beside a word 8× rarer it costs more than the rows it would spare.
  readonly searchSorted: SortedSearchPlan = { walks: [1_000, 20_000], walksInConversation: [1_000], ginCost: 10, rareRatio: 8 };
}

/** A whole number from our own rows, written inline (it can hold nothing but digits). */
const int = (x: number) => String(Math.trunc(x));
/** Ids as one array parameter (a PostgreSQL array literal of integers: nothing to escape). */
const idArray = (ids: readonly number[]) => `{${ids.map(int).join(',')}}`;
/** SqlRunner.steps where the runner has none: one statement after the other. */
async function inTurn(tx: SqlRunner, statements: readonly Statement[]): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (const s of statements) out.push(await tx.all(s));
  return out;
}

/**
 * Keys (whole numbers, one or more columns) as a VALUES list, for `(a, b) IN (…)`: PostgreSQL
 * plans a list of row values as one OR of every pair (0.56 ms to plan 48 of them, then a filter
 * on each row read), and VALUES as a join: 222 against 348 µs for the append's 48 participants' rows.
 */
const keyRows = (keys: readonly (readonly number[])[]) => `VALUES ${keys.map((k) => `(${k.map(int).join(', ')})`).join(', ')}`;

/** Each word a quoted lexeme (taken as it is, no parser), a prefix or exact; all of them. */
const tsquery = (prefixes: readonly string[], exact: readonly string[]) => {
  const lexeme = (w: string) => `'${w.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  return [...prefixes.map((w) => lexeme(w) + ':*'), ...exact.map(lexeme)].join(' & ');
};

export const sqliteAdapter: SqlAdapter = new SqliteAdapter();
export const postgresAdapter: SqlAdapter = new PostgresAdapter();
