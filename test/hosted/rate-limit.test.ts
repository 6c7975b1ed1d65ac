import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetWindow } from '../../src/hosted/limiter.js';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { freshDatabase, requirePostgres, requireRedis } from '../support/hosted.js';
import { hostedWorld, provision, startWorker, stopWorker, waitUntil } from './support.js';
import type { Hosted, WorkerProcess } from './support.js';

const ERP_KEY = 'rate-erp-key-8e02d6';

/** The most requests in any window of `ms` among these times. */
function busiestWindow(times: readonly number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('the fleet\'s windows for an ERP\'s limit', () => {
  it('never let a sliding window of the limit\'s period (and its margin) see more than the limit, however the fixed windows fall', () => {
    for (const limit of [{ requests: 60, perMs: 60_000 }, { requests: 10, perMs: 10_000 }, { requests: 30, perMs: 60_000 }, { requests: 7200, perMs: 3_600_000 }, { requests: 1, perMs: 1000 }, { requests: 120, perMs: 60_000 }]) {
      const { points, seconds } = fleetWindow(limit);
      const span = limit.perMs + Math.max(1000, limit.perMs * 0.02);
      // The worst case: back-to-back windows, each spending its points at once, the first at the end of its window.
      const times: number[] = [];
      for (let w = 0, start = 0; start < 3 * span; w++, start += seconds * 1000) {
        for (let p = 0; p < points; p++) times.push(points === 1 ? start : start + (w === 0 ? seconds * 1000 - 1 : 0));
      }
      expect(busiestWindow(times, span), JSON.stringify(limit)).toBeLessThanOrEqual(limit.requests);
      // And they give most of it: at least half of the limit's rate.
      expect(points / seconds, JSON.stringify(limit)).toBeGreaterThanOrEqual((limit.requests / (limit.perMs / 1000)) * 0.5);
    }
  });
});

/**
 * Two worker processes pull the same ERP account at once, each for another
 * tenant: together they want more than the ERP's 60 a minute, which each
 * process's own limiter alone would let through. The fake ERP answers 429
 * past 60 in any 60 s; the fleet's budget in Redis keeps them both under it.
 */
describe.runIf(requirePostgres() && requireRedis())('an ERP account\'s rate limit across the fleet', () => {
  let world: Hosted;
  const workers: WorkerProcess[] = [];
  const servers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    world = await hostedWorld(freshDatabase('hosted_rate_limit'), 4);
  });
  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await Promise.all(servers.map((s) => s.close()));
    await world?.close();
  });

  it('keeps two workers pulling one account at 60 a minute under it: no 429, and both pulls complete', async () => {
    // 390 items are 312 records: 32 pages of 10 for each pull, 64 requests for the two.
    const erp = await new SandboxErp({ products: 390, apiKey: ERP_KEY }).start();
    erp.setRateLimit({ requests: 60, perMs: 60_000 });
    servers.push(erp);
    for (const tenant of ['east', 'west']) {
      const token = `token-${tenant}-rate`;
      const marketplace = await new SandboxMarketplace({ token }).start();
      servers.push(marketplace);
      await provision(world, {
        tenant,
        targets: [{ name: 'marketplace', url: marketplace.url, token }],
        connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY, settings: { pageSize: '10', rateLimit: '60/1m' } }],
      });
      await world.queue.enqueue(tenant, 'shop');
    }
    workers.push(startWorker(world, ['--concurrency', '1']), startWorker(world, ['--concurrency', '1']));
    await Promise.all(workers.map((w) => w.port));
    await waitUntil(async () => {
      const counts = await world.queue.queue.getJobCounts('completed', 'failed');
      if (counts.failed! > 0) throw new Error(`a job failed:\n${workers.map((w) => w.output()).join('\n')}`);
      return counts.completed === 2;
    }, 140_000, 'both pulls', 500);

    expect(erp.stats.rateLimited).toBe(0);
    expect(erp.stats.productRequests).toBeGreaterThanOrEqual(64);
    expect(busiestWindow(erp.stats.requestTimes, 60_000)).toBeLessThanOrEqual(60);
    const jobs = await world.queue.queue.getJobs(['completed']);
    expect(jobs.map((j) => j.returnvalue.pulled)).toEqual([390, 390]);
    // The two ran side by side, one in each process.
    const [a, b] = jobs as [typeof jobs[0], typeof jobs[0]];
    expect(Math.max(a.processedOn!, b.processedOn!)).toBeLessThan(Math.min(a.finishedOn!, b.finishedOn!));
    for (const worker of workers) expect(worker.output()).toContain('job.done');
  }, 180_000);
});
