import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { createSqliteStore } from '../../src/backends/store/sqlite-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { raw } from '../../src/backends/store/sql-runner.js';
import { Audit, auditExportLine, auditHash, type AuditVerdict } from '../../src/core/audit/audit.js';
import type { Id } from '../../src/core/model.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';

/** One tampering of the stored log, as someone with the database in hand would do it. */
type Tampering = { kind: 'change'; seq: number; column: 'reason' | 'action' | 'at' | 'details' | 'prev_hash' | 'hash' } | { kind: 'remove'; seq: number } | { kind: 'swap'; seq: number; with: number };

/** What verify must say of it: the first seq that is not as appended. */
const expectedVerdict = (t: Tampering): AuditVerdict['firstBad'] =>
  t.kind === 'change' ? { seq: t.seq, problem: 'changed' } : t.kind === 'remove' ? { seq: t.seq, problem: 'removed' } : { seq: Math.min(t.seq, t.with), problem: 'reordered' };

function auditSuite(open: () => Promise<{ store: SqlStore; close: () => Promise<void> }>) {
  let store: SqlStore;
  let close: () => Promise<void>;
  let audit: Audit;
  beforeAll(async () => {
    ({ store, close } = await open());
    audit = new Audit(store);
  });
  afterAll(() => close?.());

  const sql = (text: string, params: unknown[]) => store.runner.run(raw(text, params));

  async function tenantWith(n: number): Promise<Id> {
    const t = await store.ensureTenant(randomUUID(), 'audited');
    for (let i = 0; i < n; i++) {
      await audit.append({
        tenantId: t.id,
        actorId: null,
        action: ['invite.create', 'api_key.revoke', 'participant.role'][i % 3],
        targetType: 'invite',
        targetId: `inv${i}`,
        reason: `because ${i}`,
        origin: 'cli',
        details: i % 2 ? { role: { from: 'member', to: 'admin' }, n: i, text: 'é "quoted"\n' } : null,
      });
    }
    return t.id;
  }

  async function tamper(tenantId: Id, t: Tampering): Promise<void> {
    if (t.kind === 'remove') return void (await sql('DELETE FROM audit_log WHERE tenant_id = ? AND seq = ?', [tenantId, t.seq]));
    if (t.kind === 'swap') {
      // Through a free seq, as the (tenant, seq) index is unique.
      await sql('UPDATE audit_log SET seq = -1 WHERE tenant_id = ? AND seq = ?', [tenantId, t.seq]);
      await sql('UPDATE audit_log SET seq = ? WHERE tenant_id = ? AND seq = ?', [t.seq, tenantId, t.with]);
      return void (await sql('UPDATE audit_log SET seq = ? WHERE tenant_id = ? AND seq = -1', [t.with, tenantId]));
    }
    const value = { reason: 'nothing happened', action: 'invite.revoke', at: 1, details: '{"n":0}', prev_hash: 'f'.repeat(64), hash: 'e'.repeat(64) }[t.column];
    await sql(`UPDATE audit_log SET ${t.column} = ? WHERE tenant_id = ? AND seq = ?`, [value, tenantId, t.seq]);
  }

  it('an untouched log verifies, and each line of its export gives back its hash', async () => {
    const tenantId = await tenantWith(5);
    expect(await audit.verify(tenantId)).toEqual({ ok: true, checked: 5 });
    const lines: string[] = [];
    for await (const e of audit.entries(tenantId)) lines.push(auditExportLine(e));
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    // What docs/audit.md tells an outsider to compute, from the line alone.
    for (const e of parsed) {
      const { seq, at, actor_id, action, target_type, target_id, reason, origin, details, prev_hash } = e;
      expect(auditHash({ seq, at, actorId: actor_id, action, targetType: target_type, targetId: target_id, reason, origin, details, prevHash: prev_hash })).toBe(e.hash);
    }
    expect(await audit.verify((await store.ensureTenant(randomUUID(), 'empty')).id)).toEqual({ ok: true, checked: 0 });
  });

  it("a row's reason changed through SQL is reported changed at its seq", async () => {
    const tenantId = await tenantWith(6);
    await sql('UPDATE audit_log SET reason = ? WHERE tenant_id = ? AND seq = 4', ['routine', tenantId]);
    expect(await audit.verify(tenantId)).toEqual({ ok: false, checked: 3, firstBad: { seq: 4, problem: 'changed' } });
  });

  it('a rewritten row rehashed to match is still caught: the next one no longer links to it', async () => {
    const tenantId = await tenantWith(6);
    const [e] = await store.auditEntries(tenantId, { afterSeq: 2, order: 'asc', limit: 1 });
    const forged = { ...e, reason: 'routine' };
    await sql('UPDATE audit_log SET reason = ?, hash = ? WHERE tenant_id = ? AND seq = 3', ['routine', auditHash(forged), tenantId]);
    expect((await audit.verify(tenantId)).firstBad).toEqual({ seq: 3, problem: 'changed' });
  });

  it('a deleted row is reported removed at its seq, the last one too', async () => {
    const tenantId = await tenantWith(5);
    await sql('DELETE FROM audit_log WHERE tenant_id = ? AND seq = 2', [tenantId]);
    expect((await audit.verify(tenantId)).firstBad).toEqual({ seq: 2, problem: 'removed' });
    const other = await tenantWith(5);
    await sql('DELETE FROM audit_log WHERE tenant_id = ? AND seq = 5', [other]);
    expect(await audit.verify(other)).toEqual({ ok: false, checked: 4, firstBad: { seq: 5, problem: 'removed' } });
  });

  it('two rows swapped are reported reordered at the first of them', async () => {
    const tenantId = await tenantWith(6);
    await tamper(tenantId, { kind: 'swap', seq: 2, with: 5 });
    expect((await audit.verify(tenantId)).firstBad).toEqual({ seq: 2, problem: 'reordered' });
  });

  it('after any sequence of recorded actions and any single tampering, verify names exactly that seq', async () => {
    const tampering = (n: number): fc.Arbitrary<Tampering> =>
      fc.oneof(
        fc.record({ kind: fc.constant('change' as const), seq: fc.integer({ min: 1, max: n }), column: fc.constantFrom('reason' as const, 'action' as const, 'at' as const, 'details' as const, 'prev_hash' as const, 'hash' as const) }),
        fc.record({ kind: fc.constant('remove' as const), seq: fc.integer({ min: 1, max: n }) }),
        ...(n >= 2 ? [fc.tuple(fc.integer({ min: 1, max: n }), fc.integer({ min: 1, max: n })).filter(([a, b]) => a !== b).map(([seq, other]): Tampering => ({ kind: 'swap', seq, with: other }))] : []),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 9 }).chain((n) => fc.tuple(fc.constant(n), tampering(n))),
        async ([n, t]) => {
          const tenantId = await tenantWith(n);
          expect(await audit.verify(tenantId)).toEqual({ ok: true, checked: n });
          await tamper(tenantId, t);
          const verdict = await audit.verify(tenantId);
          expect(verdict.ok).toBe(false);
          expect(verdict.firstBad).toEqual(expectedVerdict(t));
        },
      ),
      { numRuns: 40 },
    );
  });
}

describe('audit log on SQLite', () => {
  auditSuite(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-audit-'));
    const store = createSqliteStore(`sqlite:${path.join(dir, 'parley.db')}`);
    await store.migrate();
    return { store, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
  });
});

describe.skipIf(!hasPostgres)('audit log on PostgreSQL', () => {
  auditSuite(async () => {
    const db = await newPostgresDatabase();
    const store = createPostgresStore(db.url);
    await store.migrate();
    return { store, close: async () => (await store.close(), await db.drop()) };
  });
});
