import { Readable } from 'node:stream';
import type { AuditEntry } from '../../core/audit/ports.js';
import { auditExportLine, auditRecord } from '../../core/audit/audit.js';
import { example, shown } from '../../http/api-docs.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { iso } from '../shared/time.js';
import { docs, errors } from './routes.js';
import { AuditExportQuery, AuditPageOut, AuditQuery } from './schemas.js';

/** An entry as tenant admins read it: `details` as an object (the export keeps the hashed text). */
export const renderAuditEntry = (e: AuditEntry) => ({
  ...auditRecord(e),
  at: iso(e.at),
  details: e.details === null ? null : (JSON.parse(e.details) as Record<string, unknown>),
});

const EXAMPLE_ENTRY: AuditEntry = {
  tenantId: 1,
  seq: 12,
  at: Date.parse('2024-01-01T12:00:00.000Z'),
  actorId: 2,
  action: 'participant.role',
  targetType: 'conversation',
  targetId: '7',
  reason: null,
  origin: 'api 203.0.113.5',
  details: '{"user_id":3,"from":"member","to":"moderator"}',
  prevHash: '9f2c4e0a6d1b3f5e7a9c0b2d4f6e8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d2f',
  hash: '1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a6c8e0b1d3f5a7c9e2b4d',
};

/** Issue 20: the tenant's audit log, for its admins: pages newest first, and the export as JSON lines. */
export function auditRoutes(ctx: DialectContext, authed: DialectScope) {
  const { core } = ctx;
  const admins = 'Tenant admins only.';

  authed.get('/admin/audit', { schema: {
    ...docs('listAuditLog', "Read my tenant's audit log", `${admins} Every administrative and moderation action, newest first, filtered by actor, action, target and time; page with next as before.`),
    querystring: AuditQuery,
    response: { 200: example(AuditPageOut, 'A page of the audit log', { entries: [renderAuditEntry(EXAMPLE_ENTRY)], next: 12 }), ...errors },
  } }, async (req) => {
    const q = req.query;
    const page = await core.audit.list(req.user, {
      before: q.before,
      limit: q.limit,
      actorId: q.actor_id,
      action: q.action,
      targetType: q.target_type,
      targetId: q.target_id,
      from: q.from === undefined ? undefined : Date.parse(q.from),
      to: q.to === undefined ? undefined : Date.parse(q.to),
    });
    return { entries: page.entries.map(renderAuditEntry), next: page.next };
  });

  authed.get('/admin/audit/export', { schema: {
    ...docs('exportAuditLog', "Export my tenant's audit log", `${admins} The whole log after a seq as JSON lines (application/x-ndjson), oldest first, streamed: each line carries every hashed field, so the chain can be checked outside Parley (docs/audit.md).`),
    querystring: AuditExportQuery,
    response: { 200: shown('JSON lines, one entry each', auditExportLine(EXAMPLE_ENTRY) + '\n'), ...errors },
  } }, async (req, reply) => {
    const entries = core.audit.exportFor(req.user, req.query.after ?? 0);
    const lines = async function* () {
      for await (const e of entries) yield auditExportLine(e) + '\n';
    };
    return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines()));
  });
}
