import type { ConnectionConfig } from '../config/config.js';
import { ExitCode } from '../errors/index.js';
import { targetAdapter } from '../marketplace/targets.js';
import { connectionHealth, isHealthy, targetHealth } from '../model/health.js';
import type { Health } from '../model/health.js';
import { connectionSettings, readSettingsForView } from '../settings/schema.js';
import type { AlertRow, ConnectionStatus, RunRow, TargetRunRow, TargetStatus } from '../store/queries.js';

export type { Health } from '../model/health.js';

/** What the page's card and /api/status show for one connection. Nothing secret: no settings, no addresses. */
export interface ConnectionView {
  name: string;
  driver: string;
  /** The ERP's display name: `Entegra`, `Paraşüt`. */
  erp: string;
  health: Health;
  /** For `failing`: when the first failing run after the last success started. */
  failingSince: string | null;
  /** The latest finished run's error, already redacted by the engine. */
  error: { code: string | null; message: string | null } | null;
  running: boolean;
  /** How recent the last success must be; 0 when the connection turned the check off. */
  freshnessMinutes: number;
  lastSuccessAt: string | null;
  lastRun: RunRow | null;
  failingItems: number;
  pendingApproval: number;
  /** Offers parked as dead letters (also among the failing items, with the code DEAD_LETTER). */
  parked: number;
  alerts: AlertRow[];
  /** Each marketplace the connection delivers to, by name. */
  targets: TargetView[];
}

/** What the page's block and /metrics show for one marketplace target of a connection. */
export interface TargetView {
  name: string;
  /** offer-api, trendyol, hepsiburada, n11. */
  kind: string;
  /** The marketplace's display name (`Trendyol`); null for the offer API, which the page names in its language. */
  marketplace: string | null;
  health: Health;
  /** When a run last delivered everything due to this target. */
  lastDeliveryAt: string | null;
  /** The target's part of the latest run that reached it. */
  lastRun: TargetRunRow | null;
  /** That part's error, already redacted by the engine. */
  error: { code: string | null; message: string | null } | null;
  /** Offers this marketplace rejected or that were not delivered to it (not-listed ones are counted apart). */
  failingItems: number;
  pendingApproval: number;
  /** Offers the marketplace does not list: shown, sent again only when they change or on `erp-sync retry`. */
  notListed: number;
  parked: number;
  /** Offers sent and not answered yet. */
  awaiting: number;
}

export interface ViewInput {
  config: ConnectionConfig;
  erp: string;
  status: ConnectionStatus;
  failingSince: string | null;
  running: boolean;
  /** How many offers a target of the connection rejected or did not get, not-listed ones aside. */
  targetFailing(target: string): number;
  now: number;
}

/** How a connection is doing, judged by its latest finished run and how long ago it last succeeded. */
export function connectionView(input: ViewInput): ConnectionView {
  const { config, status, now } = input;
  const { lastFinished } = status;
  // Read as the engine's stale-sync alert reads it, so the page, /healthz and alerts agree.
  const freshness = readSettingsForView(connectionSettings, config.settings).freshnessMinutes;
  const lastSuccessAt = status.lastSuccess?.finishedAt ?? null;
  return {
    name: config.name,
    driver: config.driver,
    erp: input.erp,
    health: connectionHealth({ lastFinished, lastSuccessAt, freshnessMinutes: freshness, parked: status.parked, now }),
    failingSince: lastFinished && lastFinished.exitCode !== ExitCode.ok ? input.failingSince : null,
    error: lastFinished && lastFinished.exitCode !== ExitCode.ok ? { code: lastFinished.errorCode, message: lastFinished.errorMessage } : null,
    running: input.running,
    freshnessMinutes: freshness,
    lastSuccessAt,
    lastRun: status.lastRun,
    failingItems: status.failing,
    pendingApproval: status.pendingApproval,
    parked: status.parked,
    alerts: status.openAlerts,
    targets: status.targets.map((target) => targetView(target, input.targetFailing(target.target), freshness, now)),
  };
}

function targetView(status: TargetStatus, failingItems: number, freshnessMinutes: number, now: number): TargetView {
  const { lastRun } = status;
  return {
    name: status.target,
    kind: status.kind,
    marketplace: targetAdapter(status.kind)?.name ?? null,
    health: targetHealth({ lastRun, lastSuccessAt: status.lastSuccessAt, freshnessMinutes, parked: status.parked, now }),
    lastDeliveryAt: status.lastSuccessAt,
    lastRun,
    error: lastRun && (lastRun.errorCode || lastRun.errorMessage) ? { code: lastRun.errorCode, message: lastRun.errorMessage } : null,
    failingItems,
    pendingApproval: status.pendingApproval,
    notListed: status.notListed,
    parked: status.parked,
    awaiting: status.awaiting,
  };
}

/** /healthz: healthy only when every connection's latest run succeeded within its freshness window. */
export function healthReport(views: readonly ConnectionView[]): { healthy: boolean; lines: string[] } {
  if (views.length === 0) return { healthy: false, lines: ['no connections are configured'] };
  const lines = views.map((v) => `${v.name}: ${healthReason(v)}`);
  return { healthy: views.every((v) => isHealthy(v.health)), lines };
}

function healthReason(view: ConnectionView): string {
  const error = view.error ? ` (${view.error.code ?? 'unknown'}: ${view.error.message ?? ''})` : '';
  switch (view.health) {
    case 'healthy':
      return `ok, last successful sync at ${view.lastSuccessAt}`;
    case 'stale':
      return `no successful sync within ${view.freshnessMinutes} minutes (last at ${view.lastSuccessAt ?? 'never'})`;
    case 'failing':
      return `failing since ${view.failingSince ?? 'unknown'}${error}`;
    case 'credentials':
      return `credentials rejected${error}`;
    case 'guarded':
      return `stopped by the safety guard${error}`;
    case 'parked':
      return `${view.parked} offers parked as dead letters (erp-sync logs --failed --code DEAD_LETTER)`;
    case 'never':
      return 'has never synced';
  }
}
