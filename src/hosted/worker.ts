import { tmpdir } from 'node:os';
import { DelayedError, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { findDriver } from '../../drivers/index.js';
import { checkConnectionName } from '../config/config.js';
import { runConnection } from '../engine/run.js';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import type { RunSummary } from '../model/run.js';
import type { Envelope } from '../secrets/envelope.js';
import { redact, withSecretScope } from '../secrets/redact.js';
import { isTenantId } from './env.js';
import { FleetLimits } from './limiter.js';
import { WorkerMetrics } from './metrics.js';
import { JOB_NAME, QUEUE_NAME, QUEUE_PREFIX, SyncQueue } from './queue.js';
import type { SyncJob, SyncResult } from './queue.js';
import { openTenant } from './tenant.js';

const m = defineMessages({
  en: {
    unknownConnection: 'tenant "{tenant}" has no connection named "{connection}"',
    unknownDriver: 'connection "{connection}" of tenant "{tenant}" uses driver "{driver}", which this erp-sync does not have',
    badJob: 'a job of the queue is not one erp-sync added: {reason}',
    notHosted: 'connection "{connection}" keeps its secrets in the {store} store; hosted connections keep theirs in the database',
  },
  tr: {
    unknownConnection: '"{tenant}" kiracısının "{connection}" adında bir bağlantısı yok',
    unknownDriver: '"{tenant}" kiracısının "{connection}" bağlantısı "{driver}" sürücüsünü kullanıyor; bu erp-sync sürümünde böyle bir sürücü yok',
    badJob: 'kuyruktaki bir iş erp-sync tarafından eklenmemiş: {reason}',
    notHosted: '"{connection}" bağlantısı gizli bilgilerini {store} deposunda tutuyor; barındırılan bağlantılar onları veritabanında tutar',
  },
});

interface HostedWorkerOptions {
  databaseUrl: string;
  /** Two connections: BullMQ's (commands wait out a reconnect), and the rate limits' (fail fast, fall back to memory). */
  redis: { queue: Redis; limits: Redis };
  envelope: Envelope;
  /** Connection runs at once in this process. */
  concurrency: number;
  /**
   * How long a job's lock in Redis lasts without being renewed (BullMQ renews
   * it every half of it while the run goes on). A worker that dies leaves its
   * job's lock to expire; the stalled check, every half of it too, then hands
   * the job to another worker. Default 30 s: a killed worker's job runs again
   * within 30-45 s.
   */
  lockMs: number;
  /** How long a graceful stop lets the runs in hand go on before it stops them. */
  graceMs: number;
  log(level: 'info' | 'warn' | 'error', event: string, message: string, fields?: Record<string, unknown>): void;
}

type Outcome = 'succeeded' | 'retried' | 'failed' | 'handed_back' | 'delayed';

/** How a job ended, for the metrics: the run's error code as the reason of a failure. */
interface Ending {
  outcome: Outcome;
  reason?: string;
}

/**
 * `erp-sync worker`: takes jobs off the queue, up to `concurrency` at once,
 * and runs each as `erp-sync run` would (`runConnection`), on its tenant's
 * session in PostgreSQL, its lock an advisory lock there, its ERP requests
 * counted against the account's fleet-wide budget in Redis.
 *
 * How a run's end becomes the job's: success completes it; a temporary
 * failure (exit 75) throws, and BullMQ retries it with backoff within the
 * job's attempts; a run that needs a person (bad settings or missing
 * secrets 78, rejected credentials 77, a safety guard 65) fails at once with
 * its code and redacted message as the failure text. A run stopped by this
 * worker's own shutdown goes back to the queue as it was.
 */
export class HostedWorker {
  readonly metrics: WorkerMetrics;
  readonly queue: SyncQueue;
  readonly #options: HostedWorkerOptions;
  readonly #limits: FleetLimits;
  readonly #running = new Set<AbortController>();
  #worker: Worker<SyncJob, SyncResult> | undefined;
  #stopping = false;

  constructor(options: HostedWorkerOptions) {
    this.#options = options;
    this.queue = new SyncQueue(options.redis.queue);
    this.#limits = new FleetLimits(options.redis.limits);
    this.metrics = new WorkerMetrics(options.concurrency);
  }

  get active(): number {
    return this.#running.size;
  }

  start(): this {
    const { lockMs } = this.#options;
    // Each job in a secret scope of its own: what it reads is masked in what it prints, then forgotten.
    this.#worker = new Worker<SyncJob, SyncResult>(QUEUE_NAME, (job, token) => withSecretScope(() => this.#process(job, token)), {
      connection: this.#options.redis.queue,
      prefix: QUEUE_PREFIX,
      concurrency: this.#options.concurrency,
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.round(lockMs / 2)),
      // A job whose worker died twice is failed rather than tried forever; its schedule goes on.
      maxStalledCount: 2,
      autorun: true,
    });
    this.#worker.on('error', (error) => this.#options.log('error', 'worker.error', redact(errorMessage(error))));
    this.#worker.on('stalled', (id) => this.#options.log('warn', 'job.stalled', `job ${id} was left by a worker that stopped answering; it runs again`, { job: id }));
    return this;
  }

  /**
   * Stops taking jobs; lets the runs in hand finish for up to `graceMs`,
   * then stops them as a signal stops `erp-sync run` (the batch in flight is
   * answered and recorded) and hands their jobs back to the queue.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const closing = this.#worker?.close() ?? Promise.resolve();
    const timer = setTimeout(() => {
      for (const run of this.#running) run.abort();
    }, this.#options.graceMs);
    try {
      await closing;
    } finally {
      clearTimeout(timer);
      await this.queue.close();
    }
  }

  async #process(job: Job<SyncJob, SyncResult>, token: string | undefined): Promise<SyncResult> {
    const started = performance.now();
    const stop = new AbortController();
    this.#running.add(stop);
    let ending: Ending = { outcome: 'failed', reason: 'BAD_JOB' };
    try {
      const { tenant, connection } = checkJob(job);
      ending = { outcome: 'failed', reason: 'INTERNAL' };
      let summary: RunSummary;
      try {
        summary = await this.#run(tenant, connection, stop.signal);
      } catch (error) {
        // Not a run's end: the connection or its driver unknown, PostgreSQL unreachable, a bug.
        const code = error instanceof UserError ? error.code : 'INTERNAL';
        const text = `${code}: ${redact(errorMessage(error))}`;
        const again = !(error instanceof UserError) || retryable(error.exitCode);
        ending = { outcome: again && attemptsLeft(job) ? 'retried' : 'failed', reason: code };
        this.#options.log('error', again ? 'job.error' : 'job.failed', `${tenant}/${connection}: ${text}`, { job: job.id, tenant, connection });
        throw again ? new Error(text) : new UnrecoverableError(text);
      }
      const code = summary.error?.code ?? 'RUN_FAILED';
      if (summary.exitCode === ExitCode.ok) {
        ending = { outcome: 'succeeded' };
        await this.queue.recordSuccess(tenant, connection, Date.parse(summary.finishedAt));
        this.#options.log('info', 'job.done', `${tenant}/${connection}: run #${summary.runId} ${summary.status}, pushed ${summary.pushed}`, fields(job, summary));
        return resultOf(summary);
      }
      if (stop.signal.aborted && this.#stopping && token) {
        // Stopped by this worker's shutdown: back to the queue as it was, no attempt spent.
        ending = { outcome: 'handed_back' };
        await job.moveToWait(token);
        this.#options.log('info', 'job.handed-back', `${tenant}/${connection}: stopped for shutdown, back in the queue`, fields(job, summary));
        throw new WaitingError();
      }
      if (code === 'LOCKED' && token) {
        // Another run has the connection (a long first sync, "sync now" beside a scheduled run): wait for it, no attempt spent.
        ending = { outcome: 'delayed' };
        await job.moveToDelayed(Date.now() + LOCKED_DELAY_MS, token);
        this.#options.log('info', 'job.delayed', `${tenant}/${connection}: another run is syncing it; again in ${LOCKED_DELAY_MS / 1000} s`, fields(job, summary));
        throw new DelayedError();
      }
      const text = `${code}: ${redact(summary.error?.message ?? summary.status)}`;
      if (retryable(summary.exitCode)) {
        // BullMQ tries it again after its backoff, unless this was the last attempt.
        ending = { outcome: attemptsLeft(job) ? 'retried' : 'failed', reason: code };
        this.#options.log(ending.outcome === 'retried' ? 'warn' : 'error', ending.outcome === 'retried' ? 'job.retry' : 'job.failed', `${tenant}/${connection}: ${text}`, fields(job, summary));
        throw new Error(text);
      }
      ending = { outcome: 'failed', reason: code };
      this.#options.log('error', 'job.failed', `${tenant}/${connection}: ${text}`, fields(job, summary));
      throw new UnrecoverableError(text);
    } finally {
      this.#running.delete(stop);
      this.metrics.jobFinished(ending.outcome, ending.reason, (performance.now() - started) / 1000);
    }
  }

  async #run(tenant: string, name: string, signal: AbortSignal): Promise<RunSummary> {
    const session = openTenant(this.#options.databaseUrl, tenant, this.#options.envelope);
    try {
      const connection = session.config.connection(name);
      if (!connection) throw new UserError(m('unknownConnection', { tenant, connection: name }), { code: 'CONNECTION_UNKNOWN', exitCode: ExitCode.config });
      const driver = findDriver(connection.driver);
      if (!driver) throw new UserError(m('unknownDriver', { tenant, connection: name, driver: connection.driver }), { code: 'UNKNOWN_DRIVER', exitCode: ExitCode.config });
      return await runConnection({
        db: session.db,
        // Never read: the lock and the rules come from PostgreSQL.
        home: tmpdir(),
        connection,
        driver,
        targets: session.config.targetsOf(connection),
        secretStore: (kind) => {
          if (kind !== 'database') throw new UserError(m('notHosted', { connection: name, store: kind }), { code: 'SECRETS_NOT_HOSTED', exitCode: ExitCode.config });
          return session.secrets;
        },
        signal,
        lock: (connection, options) => session.lock(connection, options),
        rules: () => session.rules(name),
        sharedLimit: (account) => this.#limits.limitFor({ tenant, connection: name }, account),
      });
    } finally {
      session.close();
    }
  }
}

/** How long a job waits when its connection's run lock is held elsewhere, before it looks again. */
const LOCKED_DELAY_MS = 30_000;

/** Whether BullMQ tries the job again after this attempt fails. */
function attemptsLeft(job: Job<SyncJob, SyncResult>): boolean {
  return job.attemptsMade + 1 < (job.opts.attempts ?? 1);
}

/** Exit 75 (and a crash, 1) is worth another try; 65, 77 and 78 wait for a person. */
function retryable(exitCode: number): boolean {
  return exitCode === ExitCode.tempFail || exitCode === ExitCode.internal;
}

/** The job's tenant and connection, as erp-sync adds them; anything else fails at once. */
function checkJob(job: Job<SyncJob, SyncResult>): SyncJob {
  const { tenant, connection } = (job.data ?? {}) as Partial<SyncJob>;
  if (job.name !== JOB_NAME || typeof tenant !== 'string' || typeof connection !== 'string') {
    throw new UnrecoverableError(`BAD_JOB: ${m('badJob', { reason: `"${job.name}" without a tenant and a connection` })}`);
  }
  const problem = isTenantId(tenant) ? checkConnectionName(connection) : `tenant "${tenant}"`;
  if (problem) throw new UnrecoverableError(`BAD_JOB: ${m('badJob', { reason: problem })}`);
  return { tenant, connection };
}

function resultOf(summary: RunSummary): SyncResult {
  return { runId: summary.runId, status: summary.status, exitCode: summary.exitCode, pulled: summary.pulled, pushed: summary.pushed, durationMs: summary.durationMs };
}

function fields(job: Job<SyncJob>, summary: RunSummary): Record<string, unknown> {
  return {
    job: job.id, tenant: job.data.tenant, connection: job.data.connection, attempt: job.attemptsMade + 1,
    runId: summary.runId, status: summary.status, exitCode: summary.exitCode, code: summary.error?.code ?? null, pulled: summary.pulled, pushed: summary.pushed, durationMs: summary.durationMs,
  };
}
