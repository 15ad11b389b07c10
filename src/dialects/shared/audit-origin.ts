import type { FastifyRequest } from 'fastify';

/** Where an audited action came from, as the audit log keeps it (issue 20): the API and the client's address. */
export const auditOrigin = (req: FastifyRequest) => `api ${req.ip}`;
