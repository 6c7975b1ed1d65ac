import type { ConnectionConfig } from '../config/config.js';
import { ExitCode } from '../errors/index.js';
import { connectionHealth, isHealthy } from '../model/health.js';
import type { Health } from '../model/health.js';
import { connectionSettings, readSettingsForView } from '../settings/schema.js';
import type { AlertRow, ConnectionStatus, RunRow } from '../store/queries.js';

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
}

export interface ViewInput {
  config: ConnectionConfig;
  erp: string;
  status: ConnectionStatus;
  failingSince: string | null;
  running: boolean;
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
