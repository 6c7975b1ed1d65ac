import { createHash } from 'node:crypto';
import type { PgDatabase } from './pg.js';

/**
 * A run's lock in hosted mode: a PostgreSQL session-level advisory lock on a
 * 64-bit key made from the tenant and the connection. It is held by the
 * session that took it, across the fleet, and released when that session
 * ends however it ends: a worker killed with SIGKILL, or cut off from the
 * database, drops it with its connection.
 */
export interface AdvisoryKey {
  /** The key as PostgreSQL's signed bigint, in text. */
  readonly key: string;
  /** Its two halves as pg_locks shows them (classid, objid). */
  readonly high: number;
  readonly low: number;
}

export function runLockKey(tenant: string, connection: string): AdvisoryKey {
  const digest = createHash('sha256').update(`erp-sync run lock\0${tenant}\0${connection}`).digest();
  return { key: digest.readBigInt64BE(0).toString(), high: digest.readUInt32BE(0), low: digest.readUInt32BE(4) };
}

/** Takes the lock if no session holds it; false when one does. */
export function tryAdvisoryLock(db: PgDatabase, key: AdvisoryKey): boolean {
  return db.prepare(`SELECT pg_try_advisory_lock(?::bigint)`).pluck().get(key.key) === 1;
}

/** Whether this session holds the lock: false once it was released, or the session is gone. */
export function holdsAdvisoryLock(db: PgDatabase, key: AdvisoryKey): boolean {
  return (
    db
      .prepare(
        `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
           AND classid = ?::bigint::oid AND objid = ?::bigint::oid AND objsubid = 1)`,
      )
      .pluck()
      .get(key.high, key.low) === 1
  );
}

export function releaseAdvisoryLock(db: PgDatabase, key: AdvisoryKey): void {
  db.prepare(`SELECT pg_advisory_unlock(?::bigint)`).get(key.key);
}

/** The session holding the lock, as far as PostgreSQL tells: its application name (which names the worker) and since when. */
export function advisoryLockHolder(db: PgDatabase, key: AdvisoryKey): { pid: number; applicationName: string; since: string } | undefined {
  return db
    .prepare(
      `SELECT a.pid, a.application_name AS "applicationName", to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = ?::bigint::oid AND l.objid = ?::bigint::oid AND l.objsubid = 1`,
    )
    .get(key.high, key.low) as { pid: number; applicationName: string; since: string } | undefined;
}
