import { ExitCode } from '../errors/index.js';

/**
 * How a connection is doing, in one vocabulary for the web page's card,
 * /healthz, /metrics, `status` and alerts (an alert's kind is the health
 * that opened it):
 *
 * - `never`: it has not finished a run yet;
 * - `guarded`: a safety guard stopped its latest run;
 * - `credentials`: the ERP or the marketplace refused its credentials;
 * - `failing`: its latest run failed (any other exit but 0);
 * - `stale`: its latest run went well, but its last success is older than its freshness window;
 * - `parked`: it syncs, but offers wait as dead letters;
 * - `healthy`.
 */
export type Health = 'never' | 'guarded' | 'credentials' | 'failing' | 'stale' | 'parked' | 'healthy';

export interface HealthInput {
  /** The latest run that is not running any more. */
  lastFinished: { status: string; exitCode: number | null } | null;
  lastSuccessAt: string | null;
  /** How recent the last success must be; 0 turns the check off. */
  freshnessMinutes: number;
  /** Offers parked as dead letters. */
  parked: number;
  now: number;
}

export function connectionHealth(input: HealthInput): Health {
  const { lastFinished } = input;
  if (!lastFinished) return 'never';
  if (lastFinished.status === 'guarded' || lastFinished.exitCode === ExitCode.safety) return 'guarded';
  if (lastFinished.exitCode === ExitCode.credentials) return 'credentials';
  if (lastFinished.exitCode !== ExitCode.ok) return 'failing';
  return freshOrParked(input);
}

/** What decides once the latest run went well: how long ago the last success was, then the dead letters. */
function freshOrParked(input: Omit<HealthInput, 'lastFinished'>): Health {
  const fresh = !(input.freshnessMinutes > 0) || (input.lastSuccessAt !== null && input.now - Date.parse(input.lastSuccessAt) <= input.freshnessMinutes * 60_000);
  if (!fresh) return 'stale';
  return input.parked > 0 ? 'parked' : 'healthy';
}

export interface TargetHealthInput extends Omit<HealthInput, 'lastFinished'> {
  /** What the latest run that reached the target did there (a run that left it out does not count). */
  lastRun: { status: string; errorCode: string | null } | null;
}

/**
 * How delivery to one marketplace target is doing, in the same words, judged
 * by that target's part of the latest run: a marketplace that is down or
 * refuses the credentials shows on its own target while the others stay
 * healthy. The connection's freshness window applies to each target.
 */
export function targetHealth(input: TargetHealthInput): Health {
  const { lastRun } = input;
  if (!lastRun) return 'never';
  if (lastRun.errorCode === 'CREDENTIALS_REJECTED') return 'credentials';
  if (lastRun.status !== 'succeeded') return 'failing';
  return freshOrParked(input);
}

/** `/healthz` and `erp_sync_healthy`: a monitor pages a person for anything but this. */
export const isHealthy = (health: Health) => health === 'healthy';

/**
 * The one word `status` leads with: not syncing (its latest run failed or
 * was stopped, its credentials were refused, it never synced, or an alert
 * is open), needs attention (it syncs, but not cleanly: a partial run, items
 * failing, a sync overdue), OK, or never synced.
 */
export type Standing = 'ok' | 'attention' | 'broken' | 'never';

export function standingOf(health: Health, detail: { openAlerts: number; failingItems: number; lastRunStatus: string | undefined; everSucceeded: boolean }): Standing {
  if (health === 'never' && detail.lastRunStatus === undefined) return 'never';
  if (detail.openAlerts > 0 || !detail.everSucceeded || health === 'guarded' || health === 'credentials') return 'broken';
  if (detail.lastRunStatus === 'failed' || detail.lastRunStatus === 'guarded') return 'broken';
  return health !== 'healthy' || detail.lastRunStatus !== 'succeeded' || detail.failingItems > 0 ? 'attention' : 'ok';
}
