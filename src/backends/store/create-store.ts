import { createPostgresStore, type PostgresOptions } from './postgres-store.js';
import { createSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** DATABASE_URL → the store: `sqlite:…` or `postgres://…` / `postgresql://…`. */
export function createStore(url: string, opts: { postgres?: PostgresOptions; searchIndex?: boolean; sqliteWriterThread?: boolean } = {}): Store {
  const store = /^sqlite:/.test(url) ? createSqliteStore(url, { writerThread: opts.sqliteWriterThread }) : /^postgres(ql)?:\/\//.test(url) ? createPostgresStore(url, opts.postgres) : null;
  if (store) {
    // SEARCH_INDEX=off: sends write no index row (and searchRowOf cuts no words).
    store.append.searchIndex = opts.searchIndex ?? true;
    return store;
  }
  throw new Error(`DATABASE_URL must start with sqlite: or postgres://, got "${url.split(':')[0]}:…"`);
}
