import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { recentRuns } from '../../src/store/queries.js';
import { expectedOffers } from '../support/world.js';
import { freshDatabase, requirePostgres, requireRedis } from '../support/hosted.js';
import { hostedWorld, provision, redisContents, startWorker, stopWorker, tenantSession, waitUntil } from './support.js';
import type { Hosted, WorkerProcess } from './support.js';

const ERP_KEY = 'fleet-erp-key-5b1d0e';

/** The marketplace holds exactly the sandbox ERP's catalog, no batch applied twice; with `once`, no offer written twice either. */
function expectConverged(marketplace: SandboxMarketplace, erp: SandboxErp, once = true): void {
  const expected = expectedOffers(erp);
  const live = [...marketplace.offers.values()].filter((o) => o.active);
  expect(live.length).toBe(expected.size);
  for (const offer of live) expect({ sku: offer.sku, price: offer.price, stock: offer.stock }).toEqual({ sku: expected.get(offer.barcode)?.sku, price: expected.get(offer.barcode)?.price, stock: expected.get(offer.barcode)?.stock });
  expect(marketplace.maxApplicationsPerKey()).toBe(1);
  if (once) expect(Math.max(...marketplace.stats.applicationsPerBarcode.values())).toBe(1);
}

/**
 * A fleet of `erp-sync worker` processes (the built CLI) on the real Redis
 * and PostgreSQL, against sandbox ERPs and offer APIs on 127.0.0.1.
 */
describe.runIf(requirePostgres() && requireRedis())('a fleet of workers', () => {
  let world: Hosted;
  const workers: WorkerProcess[] = [];
  const servers: { close(): Promise<void> }[] = [];
  const start = (args: string[] = []) => {
    const worker = startWorker(world, args);
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    world = await hostedWorld(freshDatabase('hosted_fleet'), 2);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await world?.close();
  });

  it('runs 50 tenants with 2 connections each on 2 worker processes until every marketplace holds its catalog; no secret reaches Redis', async () => {
    const erp = await new SandboxErp({ products: 30, apiKey: ERP_KEY }).start();
    servers.push(erp);
    const marketplaces = new Map<string, SandboxMarketplace>();
    const secrets = [ERP_KEY, world.masterKey];
    for (let t = 0; t < 50; t++) {
      const tenant = `tenant-${String(t).padStart(2, '0')}`;
      const targets = [];
      for (const name of ['north', 'south']) {
        const token = `token-${tenant}-${name}-${t * 7919}`;
        const marketplace = await new SandboxMarketplace({ token }).start();
        servers.push(marketplace);
        marketplaces.set(`${tenant}/${name}`, marketplace);
        targets.push({ name: `mp-${name}`, url: marketplace.url, token });
        secrets.push(token);
      }
      await provision(world, {
        tenant,
        targets,
        connections: ['north', 'south'].map((name) => ({ name, erpUrl: erp.url, apiKey: ERP_KEY, targets: [`mp-${name}`] })),
      });
      for (const name of ['north', 'south']) await world.queue.enqueue(tenant, name);
    }
    expect(await world.queue.depth()).toMatchObject({ waiting: 100 });

    const [a, b] = [start(['--concurrency', '4']), start(['--concurrency', '4'])];
    await Promise.all([a.port, b.port]);
    await waitUntil(async () => {
      const counts = await world.queue.queue.getJobCounts('completed', 'failed');
      if (counts.failed! > 0) throw new Error(`a job failed:\n${a.output()}\n${b.output()}`);
      return counts.completed === 100;
    }, 90_000, 'every job to complete', 250);

    for (const [key, marketplace] of marketplaces) {
      expect(marketplace.offers.size, key).toBe(30);
      expectConverged(marketplace, erp);
    }
    // Both processes took jobs, and each connection ran exactly once.
    expect(a.output()).toContain('job.done');
    expect(b.output()).toContain('job.done');
    const session = tenantSession(world, 'tenant-07');
    try {
      expect(recentRuns(session.db).map((r) => [r.connection, r.status]).sort()).toEqual([['north', 'succeeded'], ['south', 'succeeded']]);
    } finally {
      session.close();
    }

    // A job's data is its tenant and connection; nothing else, anywhere in Redis, holds a secret.
    const jobs = await world.queue.queue.getJobs(['completed'], 0, 5);
    for (const job of jobs) expect(Object.keys(job.data).sort()).toEqual(['connection', 'tenant']);
    const metrics = await (await fetch(`http://127.0.0.1:${await a.port}/metrics`)).text();
    expect(metrics).toContain('erp_sync_tenant_last_success_timestamp_seconds{tenant="tenant-07",connection="north"}');
    expect(metrics).toMatch(/erp_sync_job_duration_seconds_count\{outcome="succeeded"\} \d+/);
    expect(metrics).toContain('erp_sync_queue_jobs{state="waiting"} 0');
    const contents = (await redisContents(world.redis)).join('\n');
    expect(contents.length).toBeGreaterThan(1000);
    for (const secret of secrets) {
      expect(contents.includes(secret), 'a secret in Redis').toBe(false);
      expect(contents.includes(Buffer.from(secret).toString('base64')), 'a secret in Redis (base64)').toBe(false);
    }
    for (const worker of [a, b]) for (const secret of secrets) expect(worker.output().includes(secret), 'a secret in the worker\'s log').toBe(false);
  });

  it('takes up the job of a worker killed with SIGKILL mid-push: nothing lost, nothing applied twice', async () => {
    const erp = await new SandboxErp({ products: 400, apiKey: ERP_KEY }).start();
    const marketplace = await new SandboxMarketplace({ token: 'kill-token-3c7e' }).start();
    servers.push(erp, marketplace);
    marketplace.faults.latencyMs = 250;
    await provision(world, {
      tenant: 'killed',
      targets: [{ name: 'marketplace', url: marketplace.url, token: 'kill-token-3c7e', settings: { batchSize: '20' } }],
      connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }],
    });
    const completed = async () => (await world.queue.queue.getJobCounts('completed')).completed ?? 0;
    const done = await completed();
    await world.queue.enqueue('killed', 'shop');
    const first = start(['--concurrency', '1']);
    await waitUntil(() => marketplace.stats.batchesApplied >= 3, 30_000, 'the first batches');
    first.child.kill('SIGKILL');
    await first.exited;
    const before = marketplace.stats.batchesApplied;
    expect(before).toBeLessThan(20);

    marketplace.faults.latencyMs = 0;
    const second = start(['--concurrency', '1']);
    await waitUntil(async () => (await completed()) === done + 1, 45_000, `the job to be taken up again:\n${second.output()}`, 250);
    expectConverged(marketplace, erp);
    expect(second.output()).toContain('job.done');
    const session = tenantSession(world, 'killed');
    try {
      const runs = recentRuns(session.db, { connection: 'shop' });
      // The killed run's row is closed by the run that took over, which delivered the rest.
      expect(runs.map((r) => r.status)).toEqual(['succeeded', 'interrupted']);
      expect(runs[0]!.pushed + runs[1]!.pushed).toBeLessThanOrEqual(400);
    } finally {
      session.close();
    }
  });

  it('on SIGTERM lets a run that ends within the grace period finish, and hands back one that does not; another worker finishes it', async () => {
    const erp = await new SandboxErp({ products: 300, apiKey: ERP_KEY }).start();
    const marketplace = await new SandboxMarketplace({ token: 'term-token-91ab' }).start();
    servers.push(erp, marketplace);
    await provision(world, {
      tenant: 'stopped',
      targets: [{ name: 'marketplace', url: marketplace.url, token: 'term-token-91ab', settings: { batchSize: '20' } }],
      connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }],
    });
    const completed = async () => (await world.queue.queue.getJobCounts('completed')).completed ?? 0;
    const done = await completed();

    // Within the grace period: the run finishes, the job completes, the worker exits 0.
    marketplace.faults.latencyMs = 100;
    await world.queue.enqueue('stopped', 'shop');
    const patient = start(['--concurrency', '1', '--grace-seconds', '30']);
    await waitUntil(() => marketplace.stats.batchesApplied >= 1, 30_000, 'the first batch');
    patient.child.kill('SIGTERM');
    expect((await patient.exited).code).toBe(0);
    expect(await completed()).toBe(done + 1);
    expect(marketplace.offers.size).toBe(300);

    // Beyond it: the run stops after the batch in flight, its job goes back to the queue, the worker exits 0.
    erp.catalog.change(50);
    marketplace.faults.latencyMs = 1500;
    const sent = marketplace.stats.batchRequests;
    await world.queue.enqueue('stopped', 'shop');
    const hasty = start(['--concurrency', '1', '--grace-seconds', '1']);
    await waitUntil(() => marketplace.stats.batchRequests > sent, 30_000, 'a batch of the second run in flight');
    hasty.child.kill('SIGTERM');
    const exit = await hasty.exited;
    expect(exit.code, hasty.output()).toBe(0);
    expect(hasty.output()).toContain('job.handed-back');
    expect(await world.queue.depth()).toMatchObject({ waiting: 1, active: 0, failed: 0 });

    marketplace.faults.latencyMs = 0;
    const next = start(['--concurrency', '1']);
    await waitUntil(async () => (await completed()) === done + 2, 30_000, `the handed-back job:\n${next.output()}`, 250);
    // Half the catalog changed between the two runs: those offers were written twice, each batch applied once.
    expectConverged(marketplace, erp, false);
  });
});
