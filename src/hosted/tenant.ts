import { hostname } from 'node:os';
import { LockHeldError } from '../lock/lock.js';
import type { LockOwner, RunLock } from '../lock/lock.js';
import { noRules, parseRulesText } from '../rules/parse.js';
import type { Rules } from '../rules/types.js';
import { DatabaseSecretStore } from '../secrets/database.js';
import type { Envelope } from '../secrets/envelope.js';
import { advisoryLockHolder, holdsAdvisoryLock, releaseAdvisoryLock, runLockKey, tryAdvisoryLock } from '../store/advisory.js';
import type { PgDatabase } from '../store/pg.js';
import { openPgStore } from '../store/pg-schema.js';
import { TenantConfig, migrateHosted } from '../store/tenants.js';

/**
 * One tenant's session on PostgreSQL: the engine's tables and hosted mode's
 * (connections, targets, rules, sealed secrets), all under row-level
 * security for that tenant alone. A job opens one for its run and closes it
 * after; a command opens one for what it reads or writes.
 */
export interface TenantSession {
  readonly tenant: string;
  readonly db: PgDatabase;
  readonly config: TenantConfig;
  readonly secrets: DatabaseSecretStore;
  /** The connection's rules, parsed (a RulesError names every problem). */
  rules(connection: string): Rules;
  /** The run lock for a connection of this tenant, held fleet-wide by this session. */
  lock(connection: string, options: { onLost(): void }): RunLock;
  /** The worker running the connection now, if one holds its lock. */
  runningNow(connection: string): LockOwner | undefined;
  close(): void;
}

/** How the session names itself in pg_stat_activity, so a held lock names the worker holding it. */
const SESSION_NAME = `erp-sync ${hostname()} ${process.pid}`;

/** `reconnect`: see PgSessionOptions; for a tenant's web page, never for a run, whose lock lives in its session. */
export function openTenant(url: string, tenant: string, envelope: Envelope, options: { reconnect?: boolean } = {}): TenantSession {
  const db = openPgStore(url, tenant, { applicationName: SESSION_NAME, reconnect: options.reconnect });
  try {
    migrateHosted(db);
  } catch (error) {
    db.close();
    throw error;
  }
  const config = new TenantConfig(db);
  return {
    tenant,
    db,
    config,
    secrets: new DatabaseSecretStore(db, envelope),
    rules(connection) {
      const text = config.rulesText(connection);
      return text === undefined ? noRules : parseRulesText(text, `rules of "${connection}"`);
    },
    lock: (connection, options) => advisoryLock(db, tenant, connection, options),
    runningNow: (connection) => {
      const holder = advisoryLockHolder(db, runLockKey(tenant, connection));
      return holder && ownerOf(holder);
    },
    close: () => db.close(),
  };
}

/** How often a run checks that its session still holds its lock (the file lock's heartbeat, in PostgreSQL). */
const HEARTBEAT_MS = 15_000;

function advisoryLock(db: PgDatabase, tenant: string, connection: string, options: { onLost(): void }): RunLock {
  const key = runLockKey(tenant, connection);
  if (!tryAdvisoryLock(db, key)) throw new LockHeldError(connection, ownerOf(advisoryLockHolder(db, key)));
  let released = false;
  const held = () => {
    if (released) return false;
    try {
      return holdsAdvisoryLock(db, key);
    } catch {
      // The session is gone, and the lock with it.
      return false;
    }
  };
  const heartbeat = setInterval(() => {
    if (held()) return;
    clearInterval(heartbeat);
    released = true;
    options.onLost();
  }, HEARTBEAT_MS).unref();
  return {
    held,
    release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      try {
        releaseAdvisoryLock(db, key);
      } catch {
        // A session that died released it already.
      }
    },
  };
}

/** A lock's holder as LockHeldError names it: the worker's host and pid, from its session's name. */
function ownerOf(holder: ReturnType<typeof advisoryLockHolder>): LockOwner {
  const named = holder && /^erp-sync (\S+) (\d+)$/.exec(holder.applicationName);
  if (named) return { pid: Number(named[2]), host: named[1]!, startedAt: holder!.since };
  return { pid: holder?.pid ?? 0, host: 'PostgreSQL session', startedAt: holder?.since ?? 'unknown' };
}
