import type { PushCounters, RunSummary, TargetSummary } from '../model/run.js';
import type { Db } from './db.js';
import { dialectOf } from './dialect.js';

/** The runs table: one row per run, written as the run goes, so a killed run leaves its trace. */

/** Starts a run's row. Any run of the connection still marked running holds no lock any more: it was killed. */
export function startRun(db: Db, run: { connection: string; driver: string; dryRun: boolean; resync: boolean; startedAt: string; at: string }): number {
  return db.transaction(() => {
    db.prepare(
      `UPDATE runs SET status = 'interrupted', error_code = 'INTERRUPTED', error_message = 'the process ended before the run finished', finished_at = ?
        WHERE connection = ? AND status = 'running'`,
    ).run(run.at, run.connection);
    const { id } = db.prepare(`INSERT INTO runs (connection, driver, status, dry_run, resync, started_at, pid) VALUES (?, ?, 'running', ?, ?, ?, ?) RETURNING id`)
      .get(run.connection, run.driver, run.dryRun ? 1 : 0, run.resync ? 1 : 0, run.startedAt, process.pid) as { id: number };
    return id;
  })();
}

export function recordPull(db: Db, runId: number, pull: { pulled: number; invalid: number; complete: boolean; requests: number }): void {
  db.prepare(`UPDATE runs SET pulled = ?, invalid = ?, pull_complete = ?, erp_requests = ? WHERE id = ?`)
    .run(pull.pulled, pull.invalid, pull.complete ? 1 : 0, pull.requests, runId);
}

/** A statement that records the push's counts after each batch, prepared once for the run. */
export function pushRecorder(db: Db, runId: number): (counters: PushCounters) => void {
  const update = db.prepare(`UPDATE runs SET pushed = ?, created = ?, updated = ?, pending_approval = ?, rejected = ?, not_listed = ?, failed = ? WHERE id = ?`);
  return (c) => update.run(c.pushed, c.created, c.updated, c.pendingApproval, c.rejected, c.notListed, c.failed, runId);
}

export function recordPushTraffic(db: Db, runId: number, traffic: { requests: number; bytesSent: number }): void {
  db.prepare(`UPDATE runs SET push_requests = ?, push_bytes = ? WHERE id = ?`).run(traffic.requests, traffic.bytesSent, runId);
}

/** Records how the run ended, with everything it counted. */
export function finishRun(db: Db, summary: RunSummary): void {
  db.prepare(
    `UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, pulled = ?, invalid = ?, new = ?, changed = ?, vanished = ?, unchanged = ?,
       pushed = ?, created = ?, updated = ?, pending_approval = ?, rejected = ?, not_listed = ?, failed = ?, awaiting = ?, exit_code = ?,
       error_code = ?, error_message = ?, parked = ?, warnings = ?
     WHERE id = ?`,
  ).run(
    summary.status, summary.finishedAt, summary.durationMs, summary.pulled, summary.invalid, summary.new, summary.changed, summary.vanished,
    summary.unchanged, summary.pushed, summary.created, summary.updated, summary.pendingApproval, summary.rejected, summary.notListed,
    summary.failed, summary.awaiting, summary.exitCode, summary.error?.code ?? null, summary.error?.message ?? null, summary.parked,
    summary.warnings.length > 0 ? JSON.stringify(summary.warnings) : null, summary.runId,
  );
}

/**
 * The size of the last complete pull that measured the catalog: not a dry
 * run, nor one a guard stopped (an empty export). Undefined before the first.
 */
export function lastCompletePull(db: Db, connection: string): number | undefined {
  return db.prepare(`SELECT pulled FROM runs WHERE connection = ? AND pull_complete = 1 AND dry_run = 0 AND status <> 'guarded' ORDER BY id DESC LIMIT 1`)
    .pluck().get(connection) as number | undefined;
}

/** What a run did for one target. */
export function recordTarget(db: Db, runId: number, t: TargetSummary): void {
  db.prepare(
    `INSERT INTO run_targets (run_id, target, kind, status, new, changed, vanished, unchanged, submitted, pushed, created, updated,
       pending_approval, rejected, not_listed, failed, awaiting, parked, requests, bytes, duration_ms, error_code, error_message)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  ).run(
    runId, t.target, t.kind, t.status, t.new, t.changed, t.vanished, t.unchanged, t.submitted, t.pushed, t.created, t.updated,
    t.pendingApproval, t.rejected, t.notListed, t.failed, t.awaiting, t.parked, t.requests, t.bytes, t.durationMs,
    t.error?.code ?? null, t.error?.message ?? null,
  );
}

/** When the connection last sent anything to a target: the start of that run. */
export function lastDelivery(db: Db, connection: string, target: string): string | undefined {
  return (db.prepare(
    `SELECT max(r.started_at) FROM run_targets t JOIN runs r ON r.id = t.run_id WHERE r.connection = ? AND t.target = ? AND t.submitted > 0`,
  ).pluck().get(connection, target) as string | null) ?? undefined;
}

/**
 * The rules a target had when its offers were last compared. Rules that
 * changed since make every offer of the target due for comparison again
 * (its base forgotten): only offers whose shape really changed are sent.
 */
export function applyTargetRules(db: Db, connection: string, target: string, fingerprint: string): boolean {
  return db.transaction(() => {
    // No row yet: the target never had rules of its own, and what it holds was made without any.
    const before = (db.prepare(`SELECT fingerprint FROM target_rules WHERE connection = ? AND target = ?`).pluck().get(connection, target) as string | undefined) ?? '';
    if (before === fingerprint) return false;
    db.prepare(`INSERT INTO target_rules (connection, target, fingerprint) VALUES (?, ?, ?) ON CONFLICT ${dialectOf(db).conflict('connection, target')} DO UPDATE SET fingerprint = excluded.fingerprint`)
      .run(connection, target, fingerprint);
    db.prepare(`UPDATE snapshot SET base = '' WHERE connection = ? AND target = ? AND base IS NOT NULL AND hash < '~'`).run(connection, target);
    return true;
  })();
}
