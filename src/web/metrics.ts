import type { ConnectionView } from './status.js';

interface Metric {
  name: string;
  help: string;
  value(view: ConnectionView): number | undefined;
}

const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
const finished = (view: ConnectionView) => (view.lastRun && view.lastRun.status !== 'running' ? view.lastRun : undefined);

const metrics: Metric[] = [
  { name: 'erp_sync_last_success_timestamp_seconds', help: 'When the connection last synced successfully (Unix time).', value: (v) => seconds(v.lastSuccessAt) },
  { name: 'erp_sync_last_run_duration_seconds', help: 'How long the latest finished run took.', value: (v) => { const ms = finished(v)?.durationMs; return ms == null ? undefined : ms / 1000; } },
  { name: 'erp_sync_last_run_items_pushed', help: 'Offers the marketplace acknowledged in the latest finished run.', value: (v) => finished(v)?.pushed },
  { name: 'erp_sync_last_run_items_failed', help: 'Offers not delivered in the latest finished run (sent again next run).', value: (v) => finished(v)?.failed },
  { name: 'erp_sync_last_run_items_rejected', help: 'Offers the marketplace rejected in the latest finished run.', value: (v) => finished(v)?.rejected },
  { name: 'erp_sync_last_run_items_invalid', help: 'Invalid products in the latest finished run (not pushed).', value: (v) => finished(v)?.invalid },
  { name: 'erp_sync_parked_offers', help: 'Offers parked as dead letters: the marketplace did not take them in maxAttempts; sent again when they change or on erp-sync retry.', value: (v) => v.parked },
  { name: 'erp_sync_open_alerts', help: 'Alerts not closed yet.', value: (v) => v.alerts.length },
  { name: 'erp_sync_healthy', help: '1 when the latest run succeeded within the freshness window (as /healthz), else 0.', value: (v) => (v.health === 'healthy' ? 1 : 0) },
  { name: 'erp_sync_run_in_progress', help: '1 while a run of the connection holds its lock.', value: (v) => (v.running ? 1 : 0) },
];

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition format 0.0.4: every metric is a gauge labelled by connection. */
export function prometheusText(views: readonly ConnectionView[]): string {
  const lines: string[] = [];
  for (const metric of metrics) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} gauge`);
    for (const view of views) {
      const value = metric.value(view);
      if (value !== undefined) lines.push(`${metric.name}{connection="${label(view.name)}"} ${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
