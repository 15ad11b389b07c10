import { createPostgresStore, type PostgresOptions } from './postgres-store.js';
import { createSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** DATABASE_URL → the store: `sqlite:…` or `postgres://…` / `postgresql://…`. */
export function createStore(url: string, opts: { postgres?: PostgresOptions } = {}): Store {
  if (/^sqlite:/.test(url)) return createSqliteStore(url);
  if (/^postgres(ql)?:\/\//.test(url)) return createPostgresStore(url, opts.postgres);
  throw new Error(`DATABASE_URL must start with sqlite: or postgres://, got "${url.split(':')[0]}:…"`);
}
