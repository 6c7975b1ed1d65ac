import type { Db } from './db.js';

/** The alerts table: one row per incident, open until the connection recovers, with where its notifications stand. */

export type AlertKind = 'failing' | 'credentials' | 'guarded' | 'stale' | 'parked';

export interface AlertRecord {
  id: number;
  connection: string;
  kind: AlertKind;
  message: string;
  opened_at: string;
  last_seen_at: string;
  closed_at: string | null;
  run_id: number | null;
  notified_open_at: string | null;
  notified_close_at: string | null;
  notify_error: string | null;
  detail: string | null;
}

/** An alert's columns as {@link AlertRecord} names them (PostgreSQL's rows have a tenant besides). */
const ALERT_COLUMNS = `id, connection, kind, message, opened_at, last_seen_at, closed_at, run_id, notified_open_at, notified_close_at, notify_error, detail`;

/** The connection's open incident, if any: a connection has at most one. */
export function openAlert(db: Db, connection: string): AlertRecord | undefined {
  return db.prepare(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE connection = ? AND closed_at IS NULL ORDER BY id LIMIT 1`).get(connection) as AlertRecord | undefined;
}

export function insertAlert(db: Db, alert: { connection: string; kind: AlertKind; message: string; at: string; runId: number | null; detail: unknown }): void {
  db.prepare(`INSERT INTO alerts (connection, kind, message, opened_at, last_seen_at, run_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .run(alert.connection, alert.kind, alert.message, alert.at, alert.at, alert.runId, JSON.stringify(alert.detail));
}

export function closeAlert(db: Db, id: number, at: string): void {
  db.prepare(`UPDATE alerts SET closed_at = ?, last_seen_at = ? WHERE id = ?`).run(at, at, id);
}

export function alertSeen(db: Db, id: number, at: string): void {
  db.prepare(`UPDATE alerts SET last_seen_at = ? WHERE id = ?`).run(at, id);
}

/** The latest runs a person would call attempts: no dry runs, none stopped on purpose or still going; newest first. */
export function recentAttempts(db: Db, connection: string, limit: number): { exit_code: number | null; started_at: string }[] {
  return db.prepare(
    `SELECT exit_code, started_at FROM runs WHERE connection = ? AND dry_run = 0 AND status NOT IN ('running', 'interrupted') ORDER BY id DESC LIMIT ?`,
  ).all(connection, limit) as { exit_code: number | null; started_at: string }[];
}

/** When the connection last synced successfully, dry runs aside. */
export function lastSuccessAt(db: Db, connection: string): string | null {
  return db.prepare(`SELECT max(finished_at) FROM runs WHERE connection = ? AND status = 'succeeded' AND dry_run = 0`).pluck().get(connection) as string | null;
}

/** Alerts whose opening, or whose recovery after an announced opening, has not been sent yet. */
export function alertsToNotify(db: Db, connection: string): AlertRecord[] {
  return db.prepare(
    `SELECT ${ALERT_COLUMNS} FROM alerts WHERE connection = ? AND (
       (closed_at IS NULL AND notified_open_at IS NULL)
       OR (closed_at IS NOT NULL AND notified_open_at IS NOT NULL AND notified_close_at IS NULL)
     ) ORDER BY id`,
  ).all(connection) as AlertRecord[];
}

export function noteNotifyError(db: Db, ids: readonly number[], error: string): void {
  const note = db.prepare(`UPDATE alerts SET notify_error = ? WHERE id = ?`);
  for (const id of ids) note.run(error, id);
}

/** Takes the lease on an alert's notification until `until`; false when another process holds it. */
export function claimNotification(db: Db, id: number, now: string, until: string): boolean {
  return db.prepare(`UPDATE alerts SET notify_lease_until = ? WHERE id = ? AND (notify_lease_until IS NULL OR notify_lease_until < ?)`)
    .run(until, id, now).changes === 1;
}

/** Records a delivery attempt of the opening or the recovery, and lets the lease go. */
export function recordNotification(db: Db, id: number, event: 'opened' | 'closed', sentAt: string | null, error: string | null): void {
  const column = event === 'opened' ? 'notified_open_at' : 'notified_close_at';
  db.prepare(`UPDATE alerts SET ${column} = coalesce(?, ${column}), notify_error = ?, notify_attempts = notify_attempts + 1, notify_lease_until = NULL WHERE id = ?`)
    .run(sentAt, error, id);
}
