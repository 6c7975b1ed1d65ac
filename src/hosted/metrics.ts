import { labels } from '../web/metrics.js';

/**
 * What a worker's /metrics says, in the Prometheus text format the agent's
 * page uses (`web/metrics.ts`). Two kinds of figures:
 *
 * - the fleet's, the same on every worker: the queue's depth by state, and
 *   each tenant's connections' last successful run (kept in Redis by the
 *   worker that ran it);
 * - this worker's own, summed over workers by whoever scrapes them: how long
 *   its jobs took (a histogram by outcome), its jobs that did not succeed by
 *   the run's error code, its runs in hand and its concurrency.
 */

/** Upper bounds of the duration buckets, in seconds: from a no-change rerun to a first sync of a large catalog. */
const BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

interface FleetFigures {
  depth: Record<string, number>;
  lastSuccesses: readonly { tenant: string; connection: string; at: number }[];
  running: number;
}

export class WorkerMetrics {
  readonly #concurrency: number;
  readonly #durations = new Map<string, Histogram>();
  readonly #failures = new Map<string, number>();

  constructor(concurrency: number) {
    this.#concurrency = concurrency;
  }

  /** A job ended: its outcome, the run's error code unless it succeeded, and how long it took. */
  jobFinished(outcome: string, reason: string | undefined, seconds: number): void {
    let histogram = this.#durations.get(outcome);
    if (!histogram) {
      histogram = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(outcome, histogram);
    }
    BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) histogram.counts[i]!++;
    });
    histogram.sum += seconds;
    histogram.count++;
    if ((outcome === 'retried' || outcome === 'failed') && reason) this.#failures.set(reason, (this.#failures.get(reason) ?? 0) + 1);
  }

  text(fleet: FleetFigures): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family('erp_sync_queue_jobs', 'gauge', 'Jobs in the queue by state, the whole fleet\'s (delayed: waiting out a retry\'s backoff or a schedule).');
    for (const [state, count] of Object.entries(fleet.depth)) lines.push(`erp_sync_queue_jobs${labels({ state })} ${count}`);

    family('erp_sync_worker_running_jobs', 'gauge', 'Connection runs this worker has in hand.');
    lines.push(`erp_sync_worker_running_jobs ${fleet.running}`);
    family('erp_sync_worker_concurrency', 'gauge', 'Connection runs this worker takes at once.');
    lines.push(`erp_sync_worker_concurrency ${this.#concurrency}`);

    family('erp_sync_job_duration_seconds', 'histogram', 'How long this worker\'s jobs took, by outcome (succeeded, retried, failed, handed_back, delayed: its connection was running elsewhere).');
    for (const [outcome, h] of this.#durations) {
      BUCKETS.forEach((bound, i) => lines.push(`erp_sync_job_duration_seconds_bucket${labels({ outcome, le: String(bound) })} ${h.counts[i]}`));
      lines.push(`erp_sync_job_duration_seconds_bucket${labels({ outcome, le: '+Inf' })} ${h.count}`);
      lines.push(`erp_sync_job_duration_seconds_sum${labels({ outcome })} ${h.sum}`);
      lines.push(`erp_sync_job_duration_seconds_count${labels({ outcome })} ${h.count}`);
    }

    family('erp_sync_job_failures_total', 'counter', 'This worker\'s jobs that did not succeed, by the run\'s error code (retried ones included).');
    for (const [reason, count] of this.#failures) lines.push(`erp_sync_job_failures_total${labels({ reason })} ${count}`);

    family('erp_sync_tenant_last_success_timestamp_seconds', 'gauge', 'When each tenant\'s connection last synced successfully (Unix time), on any worker.');
    for (const s of fleet.lastSuccesses) lines.push(`erp_sync_tenant_last_success_timestamp_seconds${labels({ tenant: s.tenant, connection: s.connection })} ${s.at}`);
    return `${lines.join('\n')}\n`;
  }
}
