import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * Hosted mode's one queue on BullMQ. A job is one run of one connection of
 * one tenant, and its data is only `{ tenant, connection }`: settings and
 * secrets stay in PostgreSQL, where the worker reads them when the run
 * starts. Nothing a job leaves in Redis (its result, its failure text) holds
 * more than a run's counts and its redacted error.
 *
 * - "Sync now" adds a job deduplicated by `<tenant>.<connection>`: while one
 *   is waiting, delayed or running, adding another is a no-op.
 * - Every connection has a job scheduler of the same id, every N minutes
 *   (its `syncEveryMinutes`), shifted by an offset of its own so that a
 *   fleet's connections do not all start on the same minute.
 * - Across the fleet a connection never runs twice at once: its run holds a
 *   PostgreSQL advisory lock (`store/advisory.ts`); a job that finds it held
 *   is retried after a backoff, when the other run is done.
 */
export const QUEUE_NAME = 'runs';
export const QUEUE_PREFIX = 'erp-sync';
export const JOB_NAME = 'sync';

export interface SyncJob {
  tenant: string;
  connection: string;
}

/** What a job leaves in Redis when it completes: counts, never a secret. */
export interface SyncResult {
  runId: number | null;
  status: string;
  exitCode: number;
  pulled: number;
  pushed: number;
  durationMs: number;
}

/** Connection names cannot hold a dot (`checkConnectionName`) and tenant ids neither, so the id is unambiguous. */
const jobKey = (tenant: string, connection: string) => `${tenant}.${connection}`;


/**
 * Retries of a run that ended with a temporary failure (exit 75: the ERP or
 * a marketplace unreachable, offers left undelivered, the connection's lock
 * held by another run): exponential backoff from ERP_SYNC_RETRY_DELAY_SECONDS
 * (30) for ERP_SYNC_RETRY_ATTEMPTS attempts in all (5). Completed jobs are
 * kept a day, failed ones a week, for `hosted status` and the operator.
 */
function jobOptions(env: NodeJS.ProcessEnv = process.env): JobsOptions {
  const attempts = positive(env.ERP_SYNC_RETRY_ATTEMPTS, 5);
  const delay = positive(env.ERP_SYNC_RETRY_DELAY_SECONDS, 30) * 1000;
  return {
    attempts,
    backoff: { type: 'exponential', delay },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

function positive(raw: string | undefined, fallback: number): number {
  const value = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * A Redis connection for each use:
 * - `worker`: BullMQ's, whose commands wait out a reconnect instead of failing;
 * - `command`: a command line's, which gives up after a few seconds, so that
 *   `hosted sync` with Redis down says so instead of hanging;
 * - `limits`: the rate limits', which fail at once while Redis is away, so
 *   that requests go on under each process's own share meanwhile.
 */
export function openRedis(url: string, use: 'worker' | 'command' | 'limits'): Redis {
  switch (use) {
    case 'worker':
      return new Redis(url, { maxRetriesPerRequest: null });
    case 'command':
      return new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: (times) => (times > 3 ? null : 500) });
    case 'limits':
      return new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  }
}

/** Where each connection's last successful run is noted, for every worker's /metrics. */
const LAST_SUCCESS_KEY = `${QUEUE_PREFIX}:last-success`;

export class SyncQueue {
  readonly queue: Queue<SyncJob, SyncResult>;
  readonly #redis: Redis;
  readonly #options: JobsOptions;

  constructor(redis: Redis, env: NodeJS.ProcessEnv = process.env) {
    this.#redis = redis;
    this.#options = jobOptions(env);
    this.queue = new Queue<SyncJob, SyncResult>(QUEUE_NAME, { connection: redis, prefix: QUEUE_PREFIX });
  }

  /** "Sync now": a job unless one for the connection is waiting, delayed or running already. */
  async enqueue(tenant: string, connection: string): Promise<{ id: string; added: boolean }> {
    const key = jobKey(tenant, connection);
    const existing = await this.queue.getDeduplicationJobId(key);
    const job = await this.queue.add(JOB_NAME, { tenant, connection }, { ...this.#options, deduplication: { id: key } });
    return { id: job.id ?? existing ?? '', added: !existing };
  }

  /** Creates or refreshes the connection's schedule; its first run is due within the interval, at the connection's offset. */
  async schedule(tenant: string, connection: string, everyMinutes: number): Promise<void> {
    const key = jobKey(tenant, connection);
    const every = Math.round(everyMinutes * 60_000);
    const offset = createHash('sha256').update(key).digest().readUInt32BE(0) % every;
    await this.queue.upsertJobScheduler(key, { every, offset }, { name: JOB_NAME, data: { tenant, connection }, opts: this.#options });
  }

  async unschedule(tenant: string, connection: string): Promise<boolean> {
    return this.queue.removeJobScheduler(jobKey(tenant, connection));
  }

  /** The tenant's schedules: connection, interval and next run. */
  async schedules(tenant: string): Promise<{ connection: string; everyMinutes: number; next: string | null }[]> {
    const all = await this.queue.getJobSchedulers(0, -1, true);
    return all
      .filter((s) => s.key.startsWith(`${tenant}.`))
      .map((s) => ({ connection: s.key.slice(tenant.length + 1), everyMinutes: (s.every ?? 0) / 60_000, next: s.next ? new Date(s.next).toISOString() : null }))
      .sort((a, b) => a.connection.localeCompare(b.connection));
  }

  /** Jobs by state, for /metrics and `hosted status`. */
  async depth(): Promise<Record<'waiting' | 'active' | 'delayed' | 'failed' | 'prioritized', number>> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    return { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, prioritized: counts.prioritized ?? 0 };
  }

  /** The jobs of one tenant's connection still to run or running, and the latest failed ones, for `hosted status`. */
  async jobsOf(tenant: string): Promise<{ id: string; connection: string; state: string; attempts: number; failedReason: string | null; at: string }[]> {
    const jobs = await this.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'failed'], 0, 999);
    const rows = [];
    for (const job of jobs) {
      if (job?.data?.tenant !== tenant) continue;
      rows.push({
        id: job.id ?? '',
        connection: job.data.connection,
        state: await job.getState(),
        attempts: job.attemptsMade,
        failedReason: job.failedReason || null,
        at: new Date(job.timestamp).toISOString(),
      });
    }
    return rows;
  }

  async recordSuccess(tenant: string, connection: string, at: number): Promise<void> {
    await this.#redis.hset(LAST_SUCCESS_KEY, jobKey(tenant, connection), String(Math.floor(at / 1000)));
  }

  /** Each connection's last successful run (Unix seconds), by tenant and connection. */
  async lastSuccesses(): Promise<{ tenant: string; connection: string; at: number }[]> {
    const all = await this.#redis.hgetall(LAST_SUCCESS_KEY);
    return Object.entries(all).map(([key, at]) => {
      const dot = key.indexOf('.');
      return { tenant: key.slice(0, dot), connection: key.slice(dot + 1), at: Number(at) };
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
