import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { freshDatabase, requirePostgres, requireRedis } from '../support/hosted.js';
import { hostedWorld, provision, startWorker, stopWorker, tenantSession, waitUntil } from './support.js';
import type { Hosted, WorkerProcess } from './support.js';

const ERP_KEY = 'retries-erp-key-c40f2a';

/**
 * What a run's end makes of its job: a temporary failure (exit 75) is
 * retried with backoff within the job's attempts, away from the worker's
 * slots, so one tenant's ERP being down holds nobody else back; a run that
 * needs a person (exit 78) fails at once, its reason in the failure text.
 */
describe.runIf(requirePostgres() && requireRedis())('retries', () => {
  let world: Hosted;
  let worker: WorkerProcess | undefined;
  const servers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    // Three attempts in all, 2 s and then 4 s apart.
    world = await hostedWorld(freshDatabase('hosted_retries'), 3, { ERP_SYNC_RETRY_ATTEMPTS: '3', ERP_SYNC_RETRY_DELAY_SECONDS: '2' });
  });
  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await Promise.all(servers.map((s) => s.close()));
    await world?.close();
  });

  it('retries a tenant whose ERP is down without delaying the others, and fails a misconfigured one at once with its reason', async () => {
    const erp = await new SandboxErp({ products: 40, apiKey: ERP_KEY }).start();
    servers.push(erp);
    const marketplace = async (tenant: string) => {
      const token = `token-${tenant}-retries`;
      const server = await new SandboxMarketplace({ token }).start();
      servers.push(server);
      return { name: 'marketplace', url: server.url, token };
    };
    // Nothing listens on port 1: every attempt is refused at once (and the run's own HTTP retries are off).
    await provision(world, { tenant: 'down', targets: [await marketplace('down')], connections: [{ name: 'shop', erpUrl: 'http://127.0.0.1:1', apiKey: ERP_KEY, settings: { retries: '0' } }] });
    await provision(world, { tenant: 'broken', targets: [await marketplace('broken')], connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }] });
    // Its ERP key is gone from the store: a configuration error, for a person to fix.
    const broken = tenantSession(world, 'broken');
    await broken.secrets.delete('shop', 'apiKey');
    broken.close();
    const good = ['good-1', 'good-2', 'good-3', 'good-4', 'good-5', 'good-6'];
    for (const tenant of good) await provision(world, { tenant, targets: [await marketplace(tenant)], connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }] });

    for (const tenant of ['down', 'broken', ...good]) await world.queue.enqueue(tenant, 'shop');
    worker = startWorker(world, ['--concurrency', '1']);
    const port = await worker.port;
    await waitUntil(async () => (await world.queue.queue.getJobCounts('failed')).failed === 2, 60_000, `both failures to be final:\n${worker!.output()}`, 250);

    const jobs = await world.queue.queue.getJobs(['completed', 'failed'], 0, 100);
    const of = (tenant: string) => jobs.find((j) => j.data.tenant === tenant)!;
    const down = of('down');
    expect(await down.getState()).toBe('failed');
    expect(down.attemptsMade).toBe(3);
    expect(down.failedReason).toMatch(/^SERVICE_UNAVAILABLE: /);
    const misconfigured = of('broken');
    expect(await misconfigured.getState()).toBe('failed');
    expect(misconfigured.attemptsMade).toBe(1);
    expect(misconfigured.failedReason).toMatch(/^SECRETS_MISSING: connection "shop" is missing: apiKey/);
    expect(misconfigured.failedReason).not.toContain(ERP_KEY);

    // With one slot, the good tenants ran in the backoff between the failing tenant's attempts: all done before its last.
    for (const tenant of good) {
      const job = of(tenant);
      expect(await job.getState(), tenant).toBe('completed');
      expect(job.attemptsMade).toBe(1);
      expect(job.finishedOn!).toBeLessThan(down.finishedOn!);
    }
    const goodDone = Math.max(...good.map((t) => of(t).finishedOn!));
    const firstStart = Math.min(...jobs.map((j) => j.processedOn ?? Infinity));
    expect(goodDone - firstStart).toBeLessThan(down.finishedOn! - firstStart);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('erp_sync_job_failures_total{reason="SERVICE_UNAVAILABLE"} 3');
    expect(metrics).toContain('erp_sync_job_failures_total{reason="SECRETS_MISSING"} 1');
    expect(metrics).toContain('erp_sync_queue_jobs{state="failed"} 2');
    expect(metrics).toContain('erp_sync_job_duration_seconds_count{outcome="succeeded"} 6');
    expect(metrics).toContain('erp_sync_job_duration_seconds_count{outcome="retried"} 2');
    expect(metrics).toContain('erp_sync_job_duration_seconds_count{outcome="failed"} 2');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
