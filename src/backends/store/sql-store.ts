import { randomUUID } from 'node:crypto';
import { Migrator, type Kysely } from 'kysely';
import type { Id } from '../../core/model.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import { raw, type SqlRunner } from './sql-runner.js';
import type { AppendOptions, AppendOutcome, NewMessage, ModerationStore, NotificationStore, AccountStore, AdminStore, AttachmentStore, ConversationStore, CurationStore, DirectoryStore, FriendStore, MessageStore, ParticipantStore, ReceiptStore, RetentionStore, SearchStore, Store, StoreReads, AuditAppend, ThreadStore, UnreadStore, WebhookStore, AuditStore } from './store.js';
import type { SqlAdapter } from './sql/adapter.js';
import type { SqlContext } from './sql/aggregate.js';
import type { OutboxSwitch } from './sql/outbox.js';
import { SqlAdmin } from './sql/admin.js';
import { SqlAccounts } from './sql/accounts.js';
import { SqlAppend } from './sql/append.js';
import { SqlConversations } from './sql/conversations.js';
import { SqlDirectory } from './sql/directory.js';
import { SqlCuration } from './sql/curation.js';
import { SqlNotifications } from './sql/notifications.js';
import { SqlFiles } from './sql/files.js';
import { SqlFriends } from './sql/friends.js';
import { SqlMessages } from './sql/messages.js';
import { SqlParticipants } from './sql/participants.js';
import { SqlReceipts } from './sql/receipts.js';
import { SqlThreads } from './sql/threads.js';
import { SqlUnread } from './sql/unread.js';
import { SqlSearch } from './sql/search.js';
import { SqlWebhooks } from './sql/webhooks.js';
import { SqlRetention } from './sql/retention.js';
import { SqlAudit, appendAuditIn } from './sql/audit.js';
import { SqlModeration } from './sql/moderation.js';

/** The sub-stores besides the append, one per aggregate. */
const PARTS = [SqlAccounts, SqlAdmin, SqlFriends, SqlConversations, SqlParticipants, SqlReceipts, SqlMessages, SqlFiles, SqlDirectory, SqlCuration, SqlUnread, SqlThreads, SqlSearch, SqlNotifications, SqlWebhooks, SqlAudit, SqlRetention, SqlModeration];

/** Where a store's own appends run instead of on its runner (SQLite's writer thread). */
export interface AppendElsewhere {
  appendMessages(batch: readonly NewMessage[], opts: AppendOptions, flags: { searchIndex: boolean; outbox: boolean }): Promise<AppendOutcome[]>;
  /** Batches committing at once (Store.appendPipeline). */
  readonly pipeline: number;
}

/** SqlStore answers every sub-store's methods (forwarded to its parts on its prototype). */
export interface SqlStore extends AccountStore, AdminStore, FriendStore, ConversationStore, ParticipantStore, ReceiptStore, UnreadStore, ThreadStore, MessageStore, AttachmentStore, DirectoryStore, CurationStore, SearchStore, NotificationStore, WebhookStore, AuditStore, RetentionStore, ModerationStore {}

/**
 * The Store on SQL through Kysely, shared by SQLite and PostgreSQL: one sub-store per aggregate
 * in `sql/` (accounts, friends, conversations, participants, receipts, messages, the append,
 * files, search), each over the same `SqlContext`. What differs between the databases is the
 * `SqlAdapter`'s (`sql/adapter.ts`) and the `SqlRunner`'s (the drivers); the send path uses
 * fixed statement texts so each driver can reuse its prepared statement.
 */
export class SqlStore implements Store {
  /** The group commit, in phases (tests and the bench switch its search index off). */
  readonly append: SqlAppend;
  /** Whether changes log their events for webhooks and the events API (WEBHOOKS=off: not). */
  readonly outbox: OutboxSwitch;
  readonly #close: () => Promise<void>;
  readonly #ctx: SqlContext;
  /** Each part, made at its first call: a snapshot's store (one per snapshot) uses a few. */
  readonly #parts: (object | undefined)[] = [];
  #elsewhere: AppendElsewhere | null = null;

  constructor(
    readonly adapter: SqlAdapter,
    readonly db: Kysely<Database>,
    readonly runner: SqlRunner,
    close: () => Promise<void>,
    /** PostgreSQL: how long an append waits for a conversation another transaction holds (PG_LOCK_WAIT_MS). */
    readonly lockWaitMs = 200,
    /** A store bound to a transaction (`audited`) shares its parent's switch. */
    outbox: OutboxSwitch = { enabled: true },
  ) {
    this.#close = close;
    this.outbox = outbox;
    // The parts read the runner through this store at each call: a test that wraps its
    // methods (test/contract/store.test.ts) sees every statement of every part.
    this.#ctx = { adapter, db, runner, outbox: this.outbox };
    this.append = new SqlAppend(this.#ctx, lockWaitMs);
  }

  // Every public method of each part is put on the prototype once, calling the part of the
  // store it is called on; a name two parts share is a mistake in the split, caught at load.
  static {
    const answered = new Set<string>();
    const forward = (name: string, partOf: (store: SqlStore) => object) => {
      if (answered.has(name) || name in SqlStore.prototype) throw new Error(`SqlStore: ${name} is answered twice`);
      answered.add(name);
      Object.defineProperty(SqlStore.prototype, name, {
        configurable: true,
        writable: true,
        value: function (this: SqlStore, ...args: unknown[]) {
          return (partOf(this) as Record<string, (...a: unknown[]) => unknown>)[name](...args);
        },
      });
    };
    for (const name of methodNames(SqlAppend.prototype)) forward(name, (store) => store.append);
    PARTS.forEach((Part, k) => {
      for (const name of methodNames(Part.prototype)) forward(name, (store) => (store.#parts[k] ??= new Part(store.#ctx)));
    });
  }

  get dialect(): 'sqlite' | 'postgres' {
    return this.adapter.dialect;
  }

  get appendPipeline(): number {
    return this.#elsewhere?.pipeline ?? this.adapter.appendPipeline;
  }

  get appendsInCallOrder(): boolean {
    return this.adapter.appendsInCallOrder;
  }

  /**
   * This store's appends go to `to`, with the append's switches as they stand at each call;
   * a store bound to a transaction (`audited`) still appends in it, through its runner.
   */
  appendElsewhere(to: AppendElsewhere): void {
    this.#elsewhere = to;
    this.appendMessages = (batch, opts = {}) => to.appendMessages(batch, opts, { searchIndex: this.append.searchIndex, outbox: this.outbox.enabled });
  }

  /** Tests only: runs inside the append's transaction once its conversations are locked. */
  get afterLock(): ((conversationIds: readonly Id[]) => Promise<void>) | null {
    return this.append.afterLock;
  }

  set afterLock(hook: ((conversationIds: readonly Id[]) => Promise<void>) | null) {
    // The hook would never run there: a test relying on it must not pass without it.
    if (hook && this.#elsewhere) throw new Error('afterLock: this store appends elsewhere (SQLite writer thread)');
    this.append.afterLock = hook;
  }

  async migrate(): Promise<void> {
    // On PostgreSQL Kysely's migrator holds an advisory lock, so processes starting
    // together migrate once.
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.adapter.dialect) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
    }
  }

  async epoch(): Promise<string> {
    const r = (await this.runner.all<{ value: string }>(raw("SELECT value FROM server_state WHERE key = 'epoch'", [])))[0];
    if (!r) throw new Error('the database has no epoch: run the migrations');
    return r.value;
  }

  async renewEpoch(): Promise<string> {
    const value = randomUUID();
    await this.runner.run(raw("UPDATE server_state SET value = ? WHERE key = 'epoch'", [value]));
    return value;
  }

  close(): Promise<void> {
    return this.#close();
  }

  snapshot<T>(fn: (reads: StoreReads) => Promise<T>): Promise<T> {
    // The same queries, run on the snapshot's transaction (Kysely here only compiles them).
    return this.runner.snapshot((tx) => fn(new SqlStore(this.adapter, this.db, tx, async () => {})));
  }

  audited<T>(write: (tx: Store) => Promise<T>, audit: (result: T) => AuditAppend | readonly AuditAppend[] | null): Promise<T> {
    return this.runner.transaction(async (tx) => {
      const inner = savepoints(tx);
      const out = await write(new SqlStore(this.adapter, this.db, inner, async () => {}, this.lockWaitMs, this.outbox));
      const entries = audit(out);
      for (const e of entries === null ? [] : 'fields' in entries ? [entries] : entries) await appendAuditIn(inner, e.fields, e.seal);
      return out;
    });
  }
}

/**
 * `tx` with each nested `transaction` as a savepoint: a store write that refuses inside its own
 * transaction (it catches the failure and returns a refusal, like `#keepingAnAdmin`'s
 * `last_admin`) is undone there, not left in the enclosing transaction to commit with it.
 */
function savepoints(tx: SqlRunner): SqlRunner {
  let n = 0;
  const runner: SqlRunner = {
    all: (s) => tx.all(s),
    run: (s) => tx.run(s),
    snapshot: (fn) => fn(runner),
    async transaction(fn) {
      const name = `parley_sp_${++n}`;
      await tx.run(raw(`SAVEPOINT ${name}`, []));
      try {
        const out = await fn(runner);
        await tx.run(raw(`RELEASE SAVEPOINT ${name}`, []));
        return out;
      } catch (e) {
        await tx.run(raw(`ROLLBACK TO SAVEPOINT ${name}`, []));
        await tx.run(raw(`RELEASE SAVEPOINT ${name}`, []));
        throw e;
      }
    },
  };
  return runner;
}

/** A part's public methods (its own, not SqlAggregate's helpers). */
function methodNames(proto: object): string[] {
  return Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, n)?.value === 'function');
}
