import type { Dialect } from '../dialect.js';
import { parleyRoutes } from './routes.js';
import { PARLEY_TEXTS } from './codes.js';

/** Parley's own API: /api/parley (REST) and /api/parley/ws, documented at /docs and /docs/asyncapi.json. */
export const parleyDialect: Dialect = { name: 'parley', texts: { parley: PARLEY_TEXTS }, routes: parleyRoutes };
