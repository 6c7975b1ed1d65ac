import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isPg } from './pg.js';
import { migrations } from './schema.js';

/** SQLite itself, for what only SQLite has (pragmas, integrity check, functions written in JavaScript). */
export type SqliteDb = Database.Database;

/** One prepared statement, as both stores offer it (better-sqlite3's own shape). */
export interface SqlStatement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Rows become their first column's value. */
  pluck(toggle?: boolean): this;
}

/**
 * The database every store module writes to: SQLite for the agent and the
 * demo (better-sqlite3 satisfies it as it is), PostgreSQL for hosted mode
 * (`store/pg.ts`). Synchronous on both: a page is staged, diffed and
 * recorded in a few statements either way.
 */
export interface Db {
  prepare(source: string): SqlStatement;
  exec(source: string): unknown;
  /** A function run inside one transaction (`.immediate` to take the write lock first); nested calls become savepoints. */
  transaction: SqliteDb['transaction'];
  readonly inTransaction: boolean;
  close(): unknown;
}

/** The SQLite database behind `db`, or undefined on PostgreSQL. */
export function sqliteOf(db: Db): SqliteDb | undefined {
  return !isPg(db) && db instanceof Database ? db : undefined;
}

/**
 * better-sqlite3's native addon, by its path in the installed package. The
 * build bundles better-sqlite3's JavaScript (tsup.config.ts), so its own
 * search for the addon, which starts from the calling file, would look in
 * dist/; package.json pins its exact version, so the bundled JavaScript and
 * the addon npm builds are always the same release. The addon loads when the
 * first database opens: a command that opens none never loads it.
 */
const addon = () => createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');

/**
 * Opens (creating if needed) the database with mode 0600, in WAL mode so the
 * web page and `logs` can read while a run writes, and brings the schema up
 * to date.
 */
export function openDatabase(file: string): SqliteDb {
  closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file, { nativeBinding: addon() });
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA busy_timeout = 5000;
    PRAGMA foreign_keys = ON;
    PRAGMA cache_size = -16000;
    -- The run's temporary table of seen barcodes spills to a file beyond this, so memory stays flat.
    PRAGMA temp_store = FILE;
    PRAGMA temp.cache_size = -4000;
    -- Temporary tables need no rollback file: a journal in memory holds only the pages one transaction touches.
    PRAGMA temp.journal_mode = MEMORY;
  `);
  migrate(db);
  return db;
}

function migrate(db: SqliteDb): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

export const nowIso = () => new Date().toISOString();

/** What SQLite's integrity check finds wrong with the file; empty when it is sound. */
export function integrityProblems(db: SqliteDb): string[] {
  return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((r) => r !== 'ok');
}

/** Every table that keeps a connection's sync history, by its `connection` column. */
const HISTORY_TABLES = ['runs', 'events', 'snapshot', 'staging', 'staging_raw', 'item_state', 'outbox', 'outbox_items', 'delivery_failures', 'alerts'] as const;

/** Deletes everything the database keeps of a connection, in one transaction. */
export function purgeConnection(db: Db, connection: string): void {
  db.transaction(() => {
    db.prepare(`DELETE FROM run_targets WHERE run_id IN (SELECT id FROM runs WHERE connection = ?)`).run(connection);
    for (const table of HISTORY_TABLES) db.prepare(`DELETE FROM ${table} WHERE connection = ?`).run(connection);
    db.prepare(`DELETE FROM target_rules WHERE connection = ?`).run(connection);
  }).immediate();
}
