import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/backends/store/sqlite-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import { UniqueViolation, isDeferred, type AppendOutcome, type AppendResult } from '../../src/backends/store/store.js';
import { fixtures } from '../contract/store.contract.js';

// SQLITE_WRITER=thread: writes and transactions run on the writer thread's connection, reads
// on the event loop's. What a user relies on: a read never sees a transaction half done, nor
// waits for one; what a transaction committed, the next read sees; a refused write is refused
// as the store's contract words it.
describe('SQLite writer thread', () => {
  const opened: { store: SqlStore; dir: string }[] = [];
  afterEach(async () => {
    for (const { store, dir } of opened.splice(0)) {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function open(): Promise<SqlStore> {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-writer-'));
    const store = createSqliteStore(`sqlite:${path.join(dir, 'parley.db')}`, { writerThread: true });
    await store.migrate();
    opened.push({ store, dir });
    return store;
  }

  it('a read during an open transaction sees the state before it, at once; after the COMMIT it sees the change', async () => {
    const store = await open();
    const tenant = (await store.createTenant(randomUUID(), 'Acme'))!;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const written = new Promise<void>((r) => (inside = r));
    const tx = store.runner.transaction(async (t) => {
      await t.run(raw('UPDATE tenants SET name = ? WHERE id = ?', ['Renamed', tenant.id]));
      inside();
      await held;
    });
    await written;
    // The transaction is open on the writer's connection: this read neither waits for it nor sees it.
    const during = await store.runner.all<{ name: string }>(raw('SELECT name FROM tenants WHERE id = ?', [tenant.id]));
    expect(during[0].name).toBe('Acme');
    release();
    await tx;
    const after = await store.runner.all<{ name: string }>(raw('SELECT name FROM tenants WHERE id = ?', [tenant.id]));
    expect(after[0].name).toBe('Renamed');
  });

  it('a transaction that throws leaves nothing, and the writer goes on', async () => {
    const store = await open();
    const tenant = (await store.createTenant(randomUUID(), 'Acme'))!;
    await expect(
      store.runner.transaction(async (t) => {
        await t.run(raw('UPDATE tenants SET name = ? WHERE id = ?', ['Half', tenant.id]));
        throw new Error('refused midway');
      }),
    ).rejects.toThrow('refused midway');
    expect((await store.tenantById(tenant.id))?.name).toBe('Acme');
    await store.runner.run(raw('UPDATE tenants SET name = ? WHERE id = ?', ['Later', tenant.id]));
    expect((await store.tenantById(tenant.id))?.name).toBe('Later');
  });

  it('a unique violation on the writer thread is the contract UniqueViolation, with the index name', async () => {
    const store = await open();
    const tenant = (await store.createTenant(randomUUID(), 'Acme'))!;
    await store.createUser({ tenantId: tenant.id, email: 'ada@example.com', name: 'Ada' });
    const again = store.createUser({ tenantId: tenant.id, email: 'ada@example.com', name: 'Ada 2' });
    await expect(again).rejects.toBeInstanceOf(UniqueViolation);
    await expect(again).rejects.toMatchObject({ constraint: 'users_tenant_email' });
  });

  // The rule across any sequence: what reads see (during a transaction or after it) is
  // exactly what committed before, never a write of a transaction still open or rolled back.
  it('property: reads see exactly the committed writes, whatever commits, aborts and reads interleave', async () => {
    const store = await open();
    const keys = ['k0', 'k1', 'k2'];
    const step = fc.record({
      writes: fc.array(fc.tuple(fc.constantFrom(...keys), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 3 }),
      commit: fc.boolean(),
      readMidway: fc.boolean(),
    });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const prefix = `p${round++}:`;
        const committed = new Map<string, string>();
        const readAll = async () => {
          const rows = await store.runner.all<{ key: string; value: string }>(raw('SELECT key, value FROM server_state WHERE key LIKE ?', [`${prefix}%`]));
          return new Map(rows.map((r) => [r.key.slice(prefix.length), r.value]));
        };
        for (const s of steps) {
          let midway: Map<string, string> | null = null;
          const tx = store.runner.transaction(async (t) => {
            for (const [k, v] of s.writes) {
              await t.run(raw('INSERT INTO server_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [prefix + k, v]));
            }
            if (s.readMidway) midway = await readAll();
            if (!s.commit) throw new Error('abort');
          });
          if (s.commit) await tx;
          else await expect(tx).rejects.toThrow('abort');
          if (midway) expect(midway).toEqual(committed);
          if (s.commit) for (const [k, v] of s.writes) committed.set(k, v);
          expect(await readAll()).toEqual(committed);
        }
      }),
      { numRuns: 40, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined },
    );
  });
  // An append is one request the thread runs whole, posted without holding the main thread's
  // lock: only the order of posting keeps it out of a transaction driven statement by
  // statement. The rule across any interleaving: every append commits whole and alone (seqs
  // per conversation 1..n without a gap, a retry gets its first message back), and a
  // transaction fired while appends are in flight commits or rolls back exactly its own writes.
  it('property: appends on the thread and transactions fired among them never mix', async () => {
    const store = await open();
    const f = fixtures(() => store);
    const tenant = await f.tenant();
    const [a, b] = await f.users(tenant, 2);
    const conversations = [await f.conversation(tenant, 'group', [a, b]), await f.conversation(tenant, 'group', [a, b])];
    const action = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), sends: fc.array(fc.record({ to: fc.nat(1), by: fc.nat(1), retry: fc.option(fc.nat(3), { nil: null }) }), { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('tx' as const), value: fc.string({ maxLength: 4 }), commit: fc.boolean() }),
    );
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 10 }), async (actions) => {
        const r = round++;
        const key = `w${r}`;
        const before = await Promise.all(conversations.map((c) => store.conversationById(c.id)));
        // Everything fired at once, in order, none awaited before the next is posted.
        const appends: Promise<AppendOutcome[]>[] = [];
        const txs: Promise<unknown>[] = [];
        let committedValue: string | undefined;
        for (const act of actions) {
          if (act.kind === 'append') {
            appends.push(store.appendMessages(act.sends.map((s) => f.msg(conversations[s.to], [a, b][s.by], { clientId: s.retry === null ? null : `r${r}-${s.retry}` }))));
          } else {
            if (act.commit) committedValue = act.value;
            txs.push(
              store.runner
                .transaction(async (t) => {
                  await t.run(raw('INSERT INTO server_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, act.value]));
                  if (!act.commit) throw new Error('abort');
                })
                .catch((e: Error) => expect(e.message).toBe('abort')),
            );
          }
        }
        const outcomes = (await Promise.all(appends)).flat();
        await Promise.all(txs);
        expect(outcomes.some(isDeferred)).toBe(false);
        const results = outcomes.filter((o): o is AppendResult => !isDeferred(o));
        // One message per retry key, whichever append created it.
        const byKey = new Map<string, number>();
        for (const o of results) {
          if (o.message.clientId === null) continue;
          const k = `${o.message.senderId}:${o.message.conversationId}:${o.message.clientId}`;
          expect(byKey.get(k) ?? o.message.id).toBe(o.message.id);
          byKey.set(k, o.message.id);
        }
        // Seqs of each conversation continue from where it stood, 1 by 1, each created once.
        for (const [i, c] of conversations.entries()) {
          const created = results.filter((o) => o.created && o.message.conversationId === c.id).map((o) => o.message.seq);
          const from = before[i]!.lastSeq;
          expect([...created].sort((x, y) => x - y)).toEqual(created.map((_, k) => from + k + 1));
          expect((await store.conversationById(c.id))!.lastSeq).toBe(from + created.length);
        }
        const stored = await store.runner.all<{ value: string }>(raw('SELECT value FROM server_state WHERE key = ?', [key]));
        expect(stored.map((x) => x.value)).toEqual(committedValue === undefined ? [] : [committedValue]);
      }),
      { numRuns: 40, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined },
    );
  });
});
