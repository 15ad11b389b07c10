import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, type AuditFields } from '../../src/core/audit/ports.js';
import type { Id } from '../../src/core/model.js';
import type { AuditAppend, Store } from '../../src/backends/store/store.js';
import { Audit } from '../../src/core/audit/audit.js';
import { fixtures, T0 } from './store.contract.js';

/** A stand-in for the core's hash: the store only keeps what `seal` returns. */
const seal = (link: { seq: number; prevHash: string }) => createHash('sha256').update(`${link.seq}:${link.prevHash}`).digest('hex');

export const auditFields = (tenantId: Id, i: number, over: Partial<AuditFields> = {}): AuditFields => ({
  tenantId,
  at: T0 + i,
  actorId: null,
  action: i % 2 ? 'invite.create' : 'api_key.revoke',
  targetType: i % 2 ? 'invite' : 'api_key',
  targetId: `t${i % 3}`,
  reason: i % 4 ? null : `reason ${i}`,
  origin: 'cli',
  details: i % 5 ? null : JSON.stringify({ i }),
  ...over,
});

/** The AuditStore's rules (store.ts): one gapless chain per tenant, filtered pages, the head. */
export function auditContract(get: () => Store): void {
  const f = fixtures(get);

  describe('audit log (issue 20)', () => {
    it('appends number each tenant from 1 and link each entry to the hash before it', async () => {
      const [t, u] = [await f.tenant(), await f.tenant()];
      const links: { seq: number; prevHash: string }[] = [];
      for (let i = 0; i < 3; i++) {
        const e = await get().appendAudit(auditFields(t.id, i), (link) => (links.push(link), seal(link)));
        expect(e).toMatchObject({ tenantId: t.id, seq: i + 1, hash: seal(links[i]), at: T0 + i });
      }
      expect(links.map((l) => l.seq)).toEqual([1, 2, 3]);
      expect(links[0].prevHash).toBe(AUDIT_GENESIS);
      expect(links[1].prevHash).toBe(seal(links[0]));
      expect((await get().appendAudit(auditFields(u.id, 0), seal)).seq).toBe(1);
      const stored = await get().auditEntries(t.id, { order: 'asc', limit: 10 });
      expect(stored.map((e) => [e.seq, e.prevHash, e.hash])).toEqual(links.map((l) => [l.seq, l.prevHash, seal(l)]));
      expect(stored[0]).toEqual({ ...auditFields(t.id, 0), seq: 1, prevHash: AUDIT_GENESIS, hash: seal(links[0]) });
      expect(await get().auditHead(t.id)).toEqual({ lastSeq: 3, lastHash: seal(links[2]) });
      expect(await get().auditSeqOfHash(t.id, seal(links[1]))).toBe(2);
      expect(await get().auditSeqOfHash(u.id, seal(links[1]))).toBeUndefined();
      expect(await get().auditTenants()).toEqual(expect.arrayContaining([t.id, u.id]));
      expect(await get().auditHead((await f.tenant()).id)).toBeUndefined();
    });

    it('appends made at once still take every seq once, each linked to the one before', async () => {
      const t = await f.tenant();
      await Promise.all(Array.from({ length: 20 }, (_, i) => get().appendAudit(auditFields(t.id, i), seal)));
      const stored = await get().auditEntries(t.id, { order: 'asc', limit: 100 });
      expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      stored.forEach((e, i) => expect(e.prevHash).toBe(i === 0 ? AUDIT_GENESIS : stored[i - 1].hash));
    });

    it('pages in either order, filtered by every field together, return each matching entry once', async () => {
      const t = await f.tenant();
      const [actor] = await f.users(t, 1);
      const n = 30;
      for (let i = 0; i < n; i++) await get().appendAudit(auditFields(t.id, i, { actorId: i % 2 ? actor.id : null }), seal);
      const all = await get().auditEntries(t.id, { order: 'asc', limit: 1000 });
      type Filter = { actorId?: Id; action?: string; targetType?: string; targetId?: string; from?: number; to?: number };
      await fc.assert(
        fc.asyncProperty(
          fc.record(
            {
              actorId: fc.constant(actor.id),
              action: fc.constantFrom('invite.create', 'api_key.revoke'),
              targetType: fc.constantFrom('invite', 'api_key'),
              targetId: fc.constantFrom('t0', 't1', 't2'),
              from: fc.integer({ min: T0, max: T0 + n }),
              to: fc.integer({ min: T0, max: T0 + n }),
            },
            { requiredKeys: [] },
          ),
          fc.integer({ min: 1, max: 7 }),
          fc.boolean(),
          async (filter: Filter, limit, desc) => {
            const expected = all.filter(
              (e) =>
                (filter.actorId === undefined || e.actorId === filter.actorId) &&
                (filter.action === undefined || e.action === filter.action) &&
                (filter.targetType === undefined || e.targetType === filter.targetType) &&
                (filter.targetId === undefined || e.targetId === filter.targetId) &&
                (filter.from === undefined || e.at >= filter.from) &&
                (filter.to === undefined || e.at < filter.to),
            );
            const seen: number[] = [];
            for (let cursor: number | undefined; ; ) {
              const page = await get().auditEntries(t.id, { ...filter, order: desc ? 'desc' : 'asc', limit, ...(desc ? { beforeSeq: cursor } : { afterSeq: cursor }) });
              seen.push(...page.map((e) => e.seq));
              if (page.length < limit) break;
              cursor = page[page.length - 1].seq;
            }
            expect(seen).toEqual((desc ? [...expected].reverse() : expected).map((e) => e.seq));
          },
        ),
        { numRuns: 25 },
      );
    });
    describe('an entry appended in its action\'s transaction (Store.audited)', () => {
      const entry = (tenantId: Id, i: number): AuditAppend => ({ fields: auditFields(tenantId, i), seal });
      const entriesOf = (tenantId: Id) => get().auditEntries(tenantId, { order: 'asc', limit: 1000 });

      it('commits with the write; a write refused in its own transaction (last_admin) commits nothing, and appends nothing', async () => {
        const t = await f.tenant();
        const [a, b] = await f.users(t, 2);
        // The write's result decides whether there is an entry.
        expect(await get().audited((tx) => tx.setTenantRole(b.id, 'admin', T0), (o) => (o === 'changed' ? entry(t.id, 0) : null))).toBe('changed');
        expect((await entriesOf(t.id)).map((e) => e.seq)).toEqual([1]);
        expect((await get().userById(b.id))!.tenantRole).toBe('admin');
        // Both admins demoted in one transaction: the second refuses (last_admin) and is undone
        // (a savepoint), the first commits with its entry.
        const [first, second] = await get().audited(
          async (tx) => [await tx.setTenantRole(a.id, 'member', T0), await tx.setTenantRole(b.id, 'member', T0)] as const,
          ([x]) => (x === 'changed' ? entry(t.id, 1) : null),
        );
        expect([first, second]).toEqual(['changed', 'last_admin']);
        expect((await get().userById(a.id))!.tenantRole).toBe('member');
        expect((await get().userById(b.id))!.tenantRole).toBe('admin');
        // Refused: no entry.
        expect(await get().audited((tx) => tx.setTenantRole(b.id, 'member', T0), (o) => (o === 'changed' ? entry(t.id, 2) : null))).toBe('last_admin');
        expect((await get().userById(b.id))!.tenantRole).toBe('admin');
        expect((await entriesOf(t.id)).map((e) => e.seq)).toEqual([1, 2]);
      });

      it('a write that throws rolls back every write before it, and appends nothing', async () => {
        const t = await f.tenant();
        const [a, b, c] = await f.users(t, 3);
        const g = await f.conversation(t, 'group', [a, b, c]);
        await expect(
          get().audited(
            async (tx) => {
              await tx.setRole(g.id, b.id, 'moderator', T0);
              await tx.setRole(g.id, a.id, 'member', T0); // the last admin: StoreError last_admin
            },
            () => entry(t.id, 0),
          ),
        ).rejects.toMatchObject({ code: 'last_admin' });
        expect(await get().memberRole(g.id, b.id)).toBe('member');
        expect(await entriesOf(t.id)).toEqual([]);
        expect(await get().auditHead(t.id)).toBeUndefined();
      });

      it('an append that fails inside the transaction takes the action with it (the crash between them, made to happen)', async () => {
        const t = await f.tenant();
        const [, b] = await f.users(t, 2);
        await get().appendAudit(auditFields(t.id, 0), seal);
        const broken = { fields: auditFields(t.id, 1), seal: () => { throw new Error('the audit log is down'); } };
        await expect(get().audited((tx) => tx.setTenantRole(b.id, 'admin', T0), () => broken)).rejects.toThrow('the audit log is down');
        expect((await get().userById(b.id))!.tenantRole).toBe('member');
        expect(await get().auditHead(t.id)).toEqual({ lastSeq: 1, lastHash: expect.any(String) });
        expect((await entriesOf(t.id)).map((e) => e.seq)).toEqual([1]);
      });

      it('a cached read made before the write is not served after it (evicted once the transaction committed)', async () => {
        const t = await f.tenant();
        const [a, b] = await f.users(t, 2);
        const g = await f.conversation(t, 'group', [a, b]);
        expect(await get().memberRole(g.id, b.id)).toBe('member');
        await get().audited((tx) => tx.setRole(g.id, b.id, 'moderator', T0), () => entry(t.id, 0));
        expect(await get().memberRole(g.id, b.id)).toBe('moderator');
      });

      it('entries appended with their actions and alone, any mix, some refused, make one gapless chain that verifies', async () => {
        const audit = new Audit(get());
        await fc.assert(
          fc.asyncProperty(fc.array(fc.record({ audited: fc.boolean(), demote: fc.nat(2) }), { minLength: 1, maxLength: 8 }), async (steps) => {
            const t = await f.tenant();
            const users = await f.users(t, 3);
            await get().setTenantRole(users[1].id, 'admin', T0);
            let committed = 0;
            for (const s of steps) {
              if (!s.audited) {
                await audit.append({ tenantId: t.id, actorId: null, action: 'invite.create', targetType: 'invite', targetId: 'x', origin: 'cli' });
                committed++;
                continue;
              }
              const o = await audit.within(get(), (tx) => tx.setTenantRole(users[s.demote].id, 'member', T0), (r) =>
                r === 'changed' ? { tenantId: t.id, actorId: null, action: 'user.role', targetType: 'user', targetId: String(users[s.demote].id), origin: 'cli' } : null,
              );
              if (o === 'changed') committed++;
            }
            expect((await entriesOf(t.id)).map((e) => e.seq)).toEqual(Array.from({ length: committed }, (_, i) => i + 1));
            expect(await audit.verify(t.id)).toEqual({ ok: true, checked: committed });
          }),
          { numRuns: 10 },
        );
      });

      it("two tenants' actions do not wait on each other's head", async () => {
        if (get().dialect === 'sqlite') return; // one writer: every transaction waits for the one before
        const [t, u] = [await f.tenant(), await f.tenant()];
        const [tb] = await f.users(t, 1);
        const [ub] = await f.users(u, 1);
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let holding!: () => void;
        const held = new Promise<void>((r) => (holding = r));
        // t's head is taken (an append in the transaction) and held open.
        const first = get().audited(
          async (tx) => {
            await tx.appendAudit(auditFields(t.id, 0), seal);
            holding();
            await gate;
            return tx.setTenantRole(tb.id, 'admin', T0);
          },
          () => entry(t.id, 1),
        );
        await held;
        // u's action commits with its entry while t's transaction still holds t's head.
        const other = await Promise.race([
          get().audited((tx) => tx.setTenantRole(ub.id, 'admin', T0), () => entry(u.id, 0)).then(() => 'done'),
          new Promise((r) => setTimeout(() => r('waited'), 5000)),
        ]);
        release();
        await first;
        expect(other).toBe('done');
        expect((await entriesOf(t.id)).map((e) => e.seq)).toEqual([1, 2]);
        expect((await entriesOf(u.id)).map((e) => e.seq)).toEqual([1]);
      });
    });
  });
}
