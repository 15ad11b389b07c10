import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, type AuditFields } from '../../src/core/audit/ports.js';
import type { Id } from '../../src/core/model.js';
import type { Store } from '../../src/backends/store/store.js';
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
  });
}
