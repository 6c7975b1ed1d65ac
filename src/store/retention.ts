import { connectionSettings, readSettingsForView } from '../settings/schema.js';
import { sqliteOf } from './db.js';
import type { Db, SqliteDb } from './db.js';


export interface RetentionOptions {
  /** Runs and item events older than this are deleted (setting `retentionDays`, default 90). */
  retentionDays: number;
  /** Events deleted per transaction: small, so a run of another connection or the web page never waits long. */
  batchSize?: number;
  /** Time spent pruning after one run; what is left is pruned after the next one. */
  budgetMs?: number;
  /** Free pages reclaimed per run once incremental vacuum is on. */
  vacuumPages?: number;
  now?: number;
}

export interface RetentionResult {
  runsDeleted: number;
  eventsDeleted: number;
  /** False when the time budget ran out with old rows left. */
  complete: boolean;
  /** The database was rebuilt once to turn incremental vacuum on. */
  vacuumed: boolean;
  freePagesReclaimed: number;
}


/**
 * Called at the end of every run of `connection`: deletes its runs older
 * than the retention period with their item events, in small transactions
 * within a time budget, then checkpoints the WAL and reclaims free pages.
 * The latest run and the latest successful run of the connection are always
 * kept, so `status` can still say when it last synced however long ago that
 * was. `item_state`, the snapshot and staging are current state, not logs,
 * and are never pruned here.
 */
export function pruneAfterRun(db: Db, connection: string, settings: Record<string, string>): RetentionResult {
  return pruneLogs(db, connection, { retentionDays: readSettingsForView(connectionSettings, settings).retentionDays });
}

export function pruneLogs(db: Db, connection: string, options: RetentionOptions): RetentionResult {
  const now = options.now ?? Date.now();
  const batchSize = options.batchSize ?? 2000;
  const deadline = performance.now() + (options.budgetMs ?? 1500);
  const cutoff = new Date(now - options.retentionDays * 86_400_000).toISOString();
  const result: RetentionResult = { runsDeleted: 0, eventsDeleted: 0, complete: true, vacuumed: false, freePagesReclaimed: 0 };

  const oldRuns = db.prepare(
    `SELECT id FROM runs
      WHERE connection = ? AND started_at < ? AND status <> 'running'
        AND id <> (SELECT max(id) FROM runs WHERE connection = ?)
        AND id <> coalesce((SELECT max(id) FROM runs WHERE connection = ? AND status = 'succeeded' AND dry_run = 0), -1)
      ORDER BY id LIMIT 100`,
  );
  const deleteEvents = db.prepare(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE run_id = ? LIMIT ?)`);
  const deleteRun = db.prepare(`DELETE FROM runs WHERE id = ?`);
  const deleteTargets = db.prepare(`DELETE FROM run_targets WHERE run_id = ?`);

  // Runs are read a hundred at a time; each one's events go in batches, and the run row goes last.
  outer: for (;;) {
    const runs = oldRuns.all(connection, cutoff, connection, connection) as { id: number }[];
    if (runs.length === 0) break;
    for (const { id } of runs) {
      for (;;) {
        if (performance.now() > deadline) {
          result.complete = false;
          break outer;
        }
        const deleted = db.transaction(() => {
          const events = deleteEvents.run(id, batchSize).changes;
          if (events < batchSize) {
            deleteTargets.run(id);
            result.runsDeleted += deleteRun.run(id).changes;
          }
          return events;
        })();
        result.eventsDeleted += deleted;
        if (deleted < batchSize) break;
      }
    }
  }

  // PostgreSQL's autovacuum gives space back on its own; SQLite's file needs it done here.
  const sqlite = sqliteOf(db);
  if (sqlite && (result.eventsDeleted > 0 || result.runsDeleted > 0)) Object.assign(result, reclaimSpace(sqlite, options.vacuumPages ?? 4096));
  return result;
}

/**
 * Gives deleted pages back to the file system. The database starts without
 * auto-vacuum (a schema setting), so the first time a prune leaves a quarter
 * of the file free it is rebuilt once with incremental vacuum on; from then
 * on each run frees a bounded number of pages, never a full rebuild.
 */
function reclaimSpace(db: SqliteDb, vacuumPages: number): Pick<RetentionResult, 'vacuumed' | 'freePagesReclaimed'> {
  const pragma = (name: string) => db.pragma(name, { simple: true }) as number;
  let vacuumed = false;
  let freePagesReclaimed = 0;
  const free = pragma('freelist_count');
  if (pragma('auto_vacuum') === 0) {
    if (free > 1024 && free * 4 > pragma('page_count')) {
      db.pragma('auto_vacuum = INCREMENTAL');
      vacuumed = whenNotBusy(() => db.exec('VACUUM'));
      if (vacuumed) freePagesReclaimed = free;
    }
  } else if (free > 0) {
    db.pragma(`incremental_vacuum(${Math.floor(vacuumPages)})`);
    freePagesReclaimed = free - pragma('freelist_count');
  }
  // TRUNCATE gives the WAL's space back too; a reader holding an old snapshot just makes it a no-op this time.
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { vacuumed, freePagesReclaimed };
}

/** VACUUM needs the database to itself; when another process is writing, it waits for a later run. */
function whenNotBusy(work: () => void): boolean {
  try {
    work();
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return false;
    throw error;
  }
}
