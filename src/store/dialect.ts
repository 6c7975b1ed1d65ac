import type { Db } from './db.js';
import { isPg } from './pg.js';

/**
 * The few pieces of SQL that differ between SQLite and PostgreSQL, named
 * once. Everything else the store modules write is one text for both.
 */
export interface Dialect {
  readonly pg: boolean;
  /** The pull's seen barcodes: a session-local temporary table (a job has its own session on PostgreSQL). */
  readonly seen: string;
  /**
   * The join that walks `seen` first: SQLite's CROSS JOIN pins the order of
   * the loop (a range read of the staging index per batch); PostgreSQL's
   * planner chooses by itself, and its CROSS JOIN takes no ON.
   */
  readonly orderedJoin: string;
  /** A character that joins searched columns and appears in none of them. */
  readonly separator: string;
  /** An ON CONFLICT target: PostgreSQL's unique keys start with the tenant. */
  conflict(columns: string): string;
  /** A JSON array parameter as a table of `value` (text) and `key` (its order), under `alias`. */
  jsonValues(param: string, alias: string): string;
  /** Whether `needle` occurs in `haystack`. */
  contains(haystack: string, needle: string): string;
  /** A column SQLite must not read through its index (its planner would sort the whole range); PostgreSQL's planner needs no hint. */
  notIndexed(column: string): string;
}

const sqlite: Dialect = {
  pg: false,
  seen: 'temp.seen',
  orderedJoin: 'CROSS JOIN',
  separator: 'char(31)',
  conflict: (columns) => `(${columns})`,
  jsonValues: (param, alias) => `json_each(${param}) ${alias}`,
  contains: (haystack, needle) => `instr(${haystack}, ${needle}) > 0`,
  notIndexed: (column) => `+${column}`,
};

const postgres: Dialect = {
  pg: true,
  seen: 'pg_temp.seen',
  orderedJoin: 'JOIN',
  separator: 'chr(31)',
  conflict: (columns) => `(tenant, ${columns})`,
  jsonValues: (param, alias) => `jsonb_array_elements_text(${param}::jsonb) WITH ORDINALITY AS ${alias}(value, key)`,
  contains: (haystack, needle) => `strpos(${haystack}, ${needle}) > 0`,
  notIndexed: (column) => column,
};

export function dialectOf(db: Db): Dialect {
  return isPg(db) ? postgres : sqlite;
}
