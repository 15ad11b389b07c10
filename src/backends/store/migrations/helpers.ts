import { sql, type CreateTableBuilder, type Kysely, type RawBuilder } from 'kysely';
import type { SqlDialectName } from './index.js';

/**
 * The column types that differ between the databases. Integer keys render as JSON numbers on
 * both (DESIGN.md, Identifiers): bigint on PostgreSQL, SQLite's integer (64-bit) otherwise.
 */
export function columnTypes(dialect: SqlDialectName) {
  return {
    big: dialect === 'postgres' ? 'bigint' : 'integer',
    /** A table with an autoincrementing integer `id` as its primary key. */
    withId: <T extends string>(t: CreateTableBuilder<T, never>) =>
      dialect === 'postgres'
        ? t.addColumn('id', 'bigserial', (c) => c.primaryKey())
        : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()),
    /** NOT NULL integer columns in order, each with the table.column it references, if any. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration's tables are untyped
    required: (t: CreateTableBuilder<any, any>, columns: readonly [name: string, references?: string][]) =>
      columns.reduce(
        (b, [name, references]) => b.addColumn(name, dialect === 'postgres' ? 'bigint' : 'integer', (c) => (references ? c.notNull().references(references) : c.notNull())),
        t,
      ),
  } as const;
}

/** An index as data; `where` makes it partial: a column that is (or is not) null, or a condition. */
export interface IndexSpec {
  name: string;
  on: string;
  columns: string[];
  unique?: true;
  where?: [column: string, op: 'is' | 'is not'] | RawBuilder<boolean>;
}

/** Creates the indexes in order, the same statement on both databases. */
export async function createIndexes(db: Kysely<any>, specs: readonly IndexSpec[]): Promise<void> {
  for (const s of specs) {
    let b = db.schema.createIndex(s.name).on(s.on).columns(s.columns);
    if (s.unique) b = b.unique();
    if (Array.isArray(s.where)) b = b.where(sql.ref(s.where[0]), s.where[1], null);
    else if (s.where) b = b.where(s.where);
    await b.execute();
  }
}
