import type { ConnectionView, TargetView } from './status.js';

interface Metric<V> {
  name: string;
  help: string;
  value(view: V): number | undefined;
  /** Labels beside the series' own. */
  labels?(view: V): Record<string, string>;
}

const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
const finished = (view: ConnectionView) => (view.lastRun && view.lastRun.status !== 'running' ? view.lastRun : undefined);
const durationSeconds = (ms: number | null | undefined) => (ms == null ? undefined : ms / 1000);

const metrics: Metric<ConnectionView>[] = [
  { name: 'erp_sync_last_success_timestamp_seconds', help: 'When the connection last synced successfully (Unix time).', value: (v) => seconds(v.lastSuccessAt) },
  { name: 'erp_sync_last_run_duration_seconds', help: 'How long the latest finished run took.', value: (v) => durationSeconds(finished(v)?.durationMs) },
  { name: 'erp_sync_last_run_items_pushed', help: 'Offers the marketplace acknowledged in the latest finished run.', value: (v) => finished(v)?.pushed },
  { name: 'erp_sync_last_run_items_failed', help: 'Offers not delivered in the latest finished run (sent again next run).', value: (v) => finished(v)?.failed },
  { name: 'erp_sync_last_run_items_rejected', help: 'Offers the marketplace rejected in the latest finished run.', value: (v) => finished(v)?.rejected },
  { name: 'erp_sync_last_run_items_invalid', help: 'Invalid products in the latest finished run (not pushed).', value: (v) => finished(v)?.invalid },
  { name: 'erp_sync_parked_offers', help: 'Offers parked as dead letters: the marketplace did not take them in maxAttempts; sent again when they change or on erp-sync retry.', value: (v) => v.parked },
  { name: 'erp_sync_open_alerts', help: 'Alerts not closed yet.', value: (v) => v.alerts.length },
  { name: 'erp_sync_healthy', help: '1 when the latest run succeeded within the freshness window (as /healthz), else 0.', value: (v) => (v.health === 'healthy' ? 1 : 0) },
  { name: 'erp_sync_run_in_progress', help: '1 while a run of the connection holds its lock.', value: (v) => (v.running ? 1 : 0) },
];

/**
 * The same per marketplace target, labelled by connection and target. They
 * are families of their own, not the connection's series with one more label,
 * so a sum over a family never counts a connection's offers twice.
 */
const targetMetrics: Metric<TargetView>[] = [
  { name: 'erp_sync_target_info', help: 'Each marketplace target a connection delivers to, with its kind (offer-api, trendyol, hepsiburada, n11); always 1.', value: () => 1, labels: (t) => ({ kind: t.kind }) },
  { name: 'erp_sync_target_healthy', help: '1 when the target\'s part of its latest run succeeded within the connection\'s freshness window and nothing is parked, else 0.', value: (t) => (t.health === 'healthy' ? 1 : 0) },
  { name: 'erp_sync_target_last_delivery_timestamp_seconds', help: 'When a run last delivered everything due to the target (Unix time).', value: (t) => seconds(t.lastDeliveryAt) },
  { name: 'erp_sync_target_last_run_duration_seconds', help: 'How long delivering to the target took in the latest run that reached it.', value: (t) => durationSeconds(t.lastRun?.durationMs) },
  { name: 'erp_sync_target_last_run_items_submitted', help: 'Offers sent to an asynchronous marketplace in the latest run that reached the target, answered or not.', value: (t) => t.lastRun?.submitted },
  { name: 'erp_sync_target_last_run_items_pushed', help: 'Offers the target answered for in the latest run that reached it.', value: (t) => t.lastRun?.pushed },
  { name: 'erp_sync_target_last_run_items_rejected', help: 'Offers the target rejected in the latest run that reached it.', value: (t) => t.lastRun?.rejected },
  { name: 'erp_sync_target_last_run_items_not_listed', help: 'Offers the target does not list, answered in the latest run that reached it.', value: (t) => t.lastRun?.notListed },
  { name: 'erp_sync_target_last_run_items_failed', help: 'Offers not delivered to the target in the latest run that reached it (sent again next run).', value: (t) => t.lastRun?.failed },
  { name: 'erp_sync_target_last_run_sent_bytes', help: 'Request bytes sent to the target in the latest run that reached it.', value: (t) => t.lastRun?.bytes },
  { name: 'erp_sync_target_failing_offers', help: 'Offers the target rejected or that were not delivered to it, and not delivered since.', value: (t) => t.failingItems },
  { name: 'erp_sync_target_not_listed_offers', help: 'Offers the target does not list: sent again only when they change or on erp-sync retry.', value: (t) => t.notListed },
  { name: 'erp_sync_target_parked_offers', help: 'Offers parked as dead letters for the target.', value: (t) => t.parked },
  { name: 'erp_sync_target_awaiting_offers', help: 'Offers sent to the target whose per-item result has not arrived yet.', value: (t) => t.awaiting },
  { name: 'erp_sync_target_pending_approval_offers', help: 'Offers the target holds for approval.', value: (t) => t.pendingApproval },
];

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** A series' labels as the text format writes them, values escaped: `{connection="shop",target="n11"}`. */
export const labels = (pairs: Record<string, string>) => `{${Object.entries(pairs).map(([name, value]) => `${name}="${label(value)}"`).join(',')}}`;

function family<V>(lines: string[], metric: Metric<V>, series: readonly { labels: Record<string, string>; view: V }[]): void {
  lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} gauge`);
  for (const { labels: pairs, view } of series) {
    const value = metric.value(view);
    if (value !== undefined) lines.push(`${metric.name}${labels({ ...pairs, ...metric.labels?.(view) })} ${value}`);
  }
}

/** Prometheus text exposition format 0.0.4: every metric is a gauge labelled by connection, and by target for a target's. */
export function prometheusText(views: readonly ConnectionView[]): string {
  const lines: string[] = [];
  const connections = views.map((view) => ({ labels: { connection: view.name }, view }));
  for (const metric of metrics) family(lines, metric, connections);
  const targets = views.flatMap((v) => v.targets.map((view) => ({ labels: { connection: v.name, target: view.name }, view })));
  for (const metric of targetMetrics) family(lines, metric, targets);
  return `${lines.join('\n')}\n`;
}
