import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { recentRuns } from '../../src/store/queries.js';
import { releaseAdvisoryLock, runLockKey, tryAdvisoryLock } from '../../src/store/advisory.js';
import { expectedOffers } from '../support/world.js';
import { freshDatabase, requirePostgres, requireRedis } from '../support/hosted.js';
import { busiestWindow, hostedWorld, provision, redisContents, startWorker, stopWorker, tenantSession, waitUntil } from './support.js';
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

/** One scenario's world: its own Redis database (its own queue), its workers and sandboxes, all stopped when it ends. */
interface Scene {
  world: Hosted;
  servers: { close(): Promise<void> }[];
  start(args?: string[]): WorkerProcess;
}

/**
 * A fleet of `erp-sync worker` processes (the built CLI) on the real Redis
 * and PostgreSQL, against sandbox ERPs and offer APIs on 127.0.0.1. The
 * scenarios run side by side, each on a Redis database of its own (one
 * PostgreSQL database, tenants apart): the rate limit's waits most of its
 * 70 s on the ERP's minute, and the others fit in it.
 */
describe.runIf(requirePostgres() && requireRedis())('a fleet of workers', () => {
  let databaseUrl: string;
  const scenes: Scene[] = [];

  beforeAll(() => {
    databaseUrl = freshDatabase('hosted_fleet');
  });
  afterAll(async () => {
    for (const scene of scenes) {
      await Promise.all(scene.servers.map((s) => s.close()));
      await scene.world.close();
    }
  });

  async function newScene(redisDb: number, env: NodeJS.ProcessEnv = {}): Promise<Scene & { stop(): Promise<void> }> {
    const world = await hostedWorld(databaseUrl, redisDb, env);
    const workers: WorkerProcess[] = [];
    const made: Scene = {
      world,
      servers: [],
      start(args = []) {
        const worker = startWorker(world, args);
        workers.push(worker);
        return worker;
      },
    };
    scenes.push(made);
    return { ...made, stop: () => Promise.all(workers.map(stopWorker)).then(() => undefined) };
  }

  it.concurrent('runs 50 tenants with 2 connections each on 2 worker processes until every marketplace holds its catalog; no secret reaches Redis', async () => {
    const scene = await newScene(2);
    try {
      const erp = await new SandboxErp({ products: 30, apiKey: ERP_KEY }).start();
      scene.servers.push(erp);
      const marketplaces = new Map<string, SandboxMarketplace>();
      const secrets = [ERP_KEY, scene.world.masterKey];
      for (let t = 0; t < 50; t++) {
        const tenant = `tenant-${String(t).padStart(2, '0')}`;
        const targets = [];
        for (const name of ['north', 'south']) {
          const token = `token-${tenant}-${name}-${t * 7919}`;
          const marketplace = await new SandboxMarketplace({ token }).start();
          scene.servers.push(marketplace);
          marketplaces.set(`${tenant}/${name}`, marketplace);
          targets.push({ name: `mp-${name}`, url: marketplace.url, token });
          secrets.push(token);
        }
        await provision(scene.world, {
          tenant,
          targets,
          connections: ['north', 'south'].map((name) => ({ name, erpUrl: erp.url, apiKey: ERP_KEY, targets: [`mp-${name}`] })),
        });
        for (const name of ['north', 'south']) await scene.world.queue.enqueue(tenant, name);
      }
      expect(await scene.world.queue.depth()).toMatchObject({ waiting: 100 });

      const [a, b] = [scene.start(['--concurrency', '4']), scene.start(['--concurrency', '4'])];
      await Promise.all([a.port, b.port]);
      await waitUntil(async () => {
        const counts = await scene.world.queue.queue.getJobCounts('completed', 'failed');
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
      const session = tenantSession(scene.world, 'tenant-07');
      try {
        expect(recentRuns(session.db).map((r) => [r.connection, r.status]).sort()).toEqual([['north', 'succeeded'], ['south', 'succeeded']]);
    } finally {
      session.close();
    }

    // A job's data is its tenant and connection; nothing else, anywhere in Redis, holds a secret.
    const jobs = await scene.world.queue.queue.getJobs(['completed'], 0, 5);
    for (const job of jobs) expect(Object.keys(job.data).sort()).toEqual(['connection', 'tenant']);
    const metrics = await (await fetch(`http://127.0.0.1:${await a.port}/metrics`)).text();
    expect(metrics).toContain('erp_sync_tenant_last_success_timestamp_seconds{tenant="tenant-07",connection="north"}');
    expect(metrics).toMatch(/erp_sync_job_duration_seconds_count\{outcome="succeeded"\} \d+/);
    expect(metrics).toContain('erp_sync_queue_jobs{state="waiting"} 0');
    const contents = (await redisContents(scene.world.redis)).join('\n');
    expect(contents.length).toBeGreaterThan(1000);
    for (const secret of secrets) {
      expect(contents.includes(secret), 'a secret in Redis').toBe(false);
      expect(contents.includes(Buffer.from(secret).toString('base64')), 'a secret in Redis (base64)').toBe(false);
    }
    for (const worker of [a, b]) for (const secret of secrets) expect(worker.output().includes(secret), 'a secret in the worker\'s log').toBe(false);
      } finally {
      await scene.stop();
    }
  }, 120_000);

  it.concurrent('takes up the job of a worker killed with SIGKILL mid-push: nothing lost, nothing applied twice', async () => {
    const scene = await newScene(5);
    try {
      const erp = await new SandboxErp({ products: 400, apiKey: ERP_KEY }).start();
      const marketplace = await new SandboxMarketplace({ token: 'kill-token-3c7e' }).start();
      scene.servers.push(erp, marketplace);
      marketplace.faults.latencyMs = 250;
      await provision(scene.world, {
        tenant: 'killed',
        targets: [{ name: 'marketplace', url: marketplace.url, token: 'kill-token-3c7e', settings: { batchSize: '20' } }],
        connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }],
      });
      const completed = async () => (await scene.world.queue.queue.getJobCounts('completed')).completed ?? 0;
      const done = await completed();
      await scene.world.queue.enqueue('killed', 'shop');
      const first = scene.start(['--concurrency', '1']);
      await waitUntil(() => marketplace.stats.batchesApplied >= 3, 30_000, 'the first batches');
      first.child.kill('SIGKILL');
      await first.exited;
      const before = marketplace.stats.batchesApplied;
      expect(before).toBeLessThan(20);

      marketplace.faults.latencyMs = 0;
      const second = scene.start(['--concurrency', '1']);
      await waitUntil(async () => (await completed()) === done + 1, 45_000, `the job to be taken up again:\n${second.output()}`, 250);
      expectConverged(marketplace, erp);
      expect(second.output()).toContain('job.done');
      const session = tenantSession(scene.world, 'killed');
      try {
        const runs = recentRuns(session.db, { connection: 'shop' });
        // The killed run's row is closed by the run that took over, which delivered the rest.
        expect(runs.map((r) => r.status)).toEqual(['succeeded', 'interrupted']);
        expect(runs[0]!.pushed + runs[1]!.pushed).toBeLessThanOrEqual(400);
      } finally {
        session.close();
      }
    } finally {
      await scene.stop();
    }
  }, 120_000);

  it.concurrent('on SIGTERM lets a run that ends within the grace period finish, and hands back one that does not; another worker finishes it', async () => {
    const scene = await newScene(6);
    try {
      const erp = await new SandboxErp({ products: 300, apiKey: ERP_KEY }).start();
      const marketplace = await new SandboxMarketplace({ token: 'term-token-91ab' }).start();
      scene.servers.push(erp, marketplace);
      await provision(scene.world, {
        tenant: 'stopped',
        targets: [{ name: 'marketplace', url: marketplace.url, token: 'term-token-91ab', settings: { batchSize: '20' } }],
        connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }],
      });
      const completed = async () => (await scene.world.queue.queue.getJobCounts('completed')).completed ?? 0;
      const done = await completed();

      // Within the grace period: the run finishes, the job completes, the worker exits 0.
      marketplace.faults.latencyMs = 100;
      await scene.world.queue.enqueue('stopped', 'shop');
      const patient = scene.start(['--concurrency', '1', '--grace-seconds', '30']);
      await waitUntil(() => marketplace.stats.batchesApplied >= 1, 30_000, 'the first batch');
      patient.child.kill('SIGTERM');
      expect((await patient.exited).code).toBe(0);
      expect(await completed()).toBe(done + 1);
      expect(marketplace.offers.size).toBe(300);

      // Beyond it: the run stops after the batch in flight, its job goes back to the queue, the worker exits 0.
      erp.catalog.change(50);
      marketplace.faults.latencyMs = 1500;
      const sent = marketplace.stats.batchRequests;
      await scene.world.queue.enqueue('stopped', 'shop');
      const hasty = scene.start(['--concurrency', '1', '--grace-seconds', '1']);
      await waitUntil(() => marketplace.stats.batchRequests > sent, 30_000, 'a batch of the second run in flight');
      hasty.child.kill('SIGTERM');
      const exit = await hasty.exited;
      expect(exit.code, hasty.output()).toBe(0);
      expect(hasty.output()).toContain('job.handed-back');
      expect(await scene.world.queue.depth()).toMatchObject({ waiting: 1, active: 0, failed: 0 });

      marketplace.faults.latencyMs = 0;
      const next = scene.start(['--concurrency', '1']);
      await waitUntil(async () => (await completed()) === done + 2, 30_000, `the handed-back job:\n${next.output()}`, 250);
      // Half the catalog changed between the two runs: those offers were written twice, each batch applied once.
      expectConverged(marketplace, erp, false);
    } finally {
      await scene.stop();
    }
  }, 120_000);

  it.concurrent('retries a tenant whose ERP is down with backoff, holding nobody else back, and fails a misconfigured one at once with its reason', async () => {
    // Three attempts in all, 4 s and then 8 s apart.
    const scene = await newScene(3, { ERP_SYNC_RETRY_ATTEMPTS: '3', ERP_SYNC_RETRY_DELAY_SECONDS: '4' });
    try {
      const erp = await new SandboxErp({ products: 40, apiKey: ERP_KEY }).start();
      scene.servers.push(erp);
      const marketplace = async (tenant: string) => {
        const token = `token-${tenant}-retries`;
        const server = await new SandboxMarketplace({ token }).start();
        scene.servers.push(server);
        return { name: 'marketplace', url: server.url, token };
      };
      // Nothing listens on port 1: every attempt is refused at once (and the run's own HTTP retries are off).
      await provision(scene.world, { tenant: 'down', targets: [await marketplace('down')], connections: [{ name: 'shop', erpUrl: 'http://127.0.0.1:1', apiKey: ERP_KEY, settings: { retries: '0' } }] });
      await provision(scene.world, { tenant: 'broken', targets: [await marketplace('broken')], connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }] });
      // Its ERP key is gone from the store: a configuration error, for a person to fix.
      const broken = tenantSession(scene.world, 'broken');
      await broken.secrets.delete('shop', 'apiKey');
      broken.close();
      const good = ['good-1', 'good-2', 'good-3', 'good-4', 'good-5', 'good-6'];
      for (const tenant of good) await provision(scene.world, { tenant, targets: [await marketplace(tenant)], connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }] });

      for (const tenant of ['down', 'broken', ...good]) await scene.world.queue.enqueue(tenant, 'shop');
      const worker = scene.start(['--concurrency', '1']);
      const port = await worker.port;
      await waitUntil(async () => (await scene.world.queue.queue.getJobCounts('failed')).failed === 2, 60_000, `both failures to be final:\n${worker.output()}`, 250);

      const jobs = await scene.world.queue.queue.getJobs(['completed', 'failed'], 0, 100);
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
    } finally {
      await scene.stop();
    }
  }, 120_000);

  it.concurrent('puts off a job whose connection another run holds, spending none of its attempts, and runs it once that run is done', async () => {
    const scene = await newScene(8);
    try {
      const erp = await new SandboxErp({ products: 40, apiKey: ERP_KEY }).start();
      const token = 'token-busy-locked';
      const marketplace = await new SandboxMarketplace({ token }).start();
      scene.servers.push(erp, marketplace);
      await provision(scene.world, { tenant: 'busy', targets: [{ name: 'marketplace', url: marketplace.url, token }], connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY }] });
      // Another run of the connection, as a worker elsewhere holds it: its run lock.
      const other = tenantSession(scene.world, 'busy');
      const key = runLockKey('busy', 'shop');
      expect(tryAdvisoryLock(other.db, key)).toBe(true);
      try {
        const { id } = await scene.world.queue.enqueue('busy', 'shop');
        const worker = scene.start(['--concurrency', '1']);
        await worker.port;
        const job = async () => (await scene.world.queue.queue.getJob(id))!;
        await waitUntil(async () => (await (await job()).getState()) === 'delayed', 30_000, `the job to be put off:\n${worker.output()}`, 100);
        expect((await job()).attemptsMade).toBe(0);
        expect(marketplace.stats.batchesApplied).toBe(0);
        releaseAdvisoryLock(other.db, key);
        // Its 30 s are not waited out here: promoted, it runs now.
        await (await job()).promote();
        await waitUntil(async () => (await (await job()).getState()) === 'completed', 30_000, `the job to run once the lock is free:\n${worker.output()}`, 100);
        expect((await job()).attemptsMade).toBe(1);
        expect(marketplace.stats.batchesApplied).toBeGreaterThan(0);
      } finally {
        other.close();
      }
    } finally {
      await scene.stop();
    }
  }, 90_000);

  it.concurrent('keeps two workers pulling one ERP account at 60 a minute under it: no 429, and both pulls complete', async () => {
    const scene = await newScene(4);
    try {
      // 390 items are 312 records: 32 pages of 10 for each pull, 64 requests for the two.
      const erp = await new SandboxErp({ products: 390, apiKey: ERP_KEY }).start();
      erp.setRateLimit({ requests: 60, perMs: 60_000 });
      scene.servers.push(erp);
      for (const tenant of ['east', 'west']) {
        const token = `token-${tenant}-rate`;
        const marketplace = await new SandboxMarketplace({ token }).start();
        scene.servers.push(marketplace);
        await provision(scene.world, {
          tenant,
          targets: [{ name: 'marketplace', url: marketplace.url, token }],
          connections: [{ name: 'shop', erpUrl: erp.url, apiKey: ERP_KEY, settings: { pageSize: '10', rateLimit: '60/1m' } }],
        });
        await scene.world.queue.enqueue(tenant, 'shop');
      }
      const workers = [scene.start(['--concurrency', '1']), scene.start(['--concurrency', '1'])];
      await Promise.all(workers.map((w) => w.port));
      await waitUntil(async () => {
        const counts = await scene.world.queue.queue.getJobCounts('completed', 'failed');
        if (counts.failed! > 0) throw new Error(`a job failed:\n${workers.map((w) => w.output()).join('\n')}`);
        return counts.completed === 2;
      }, 140_000, 'both pulls', 500);

      expect(erp.stats.rateLimited).toBe(0);
      expect(erp.stats.productRequests).toBeGreaterThanOrEqual(64);
      expect(busiestWindow(erp.stats.requestTimes, 60_000)).toBeLessThanOrEqual(60);
      const jobs = await scene.world.queue.queue.getJobs(['completed']);
      expect(jobs.map((j) => j.returnvalue.pulled)).toEqual([390, 390]);
      // The two ran side by side, one in each process.
      const [a, b] = jobs as [typeof jobs[0], typeof jobs[0]];
      expect(Math.max(a.processedOn!, b.processedOn!)).toBeLessThan(Math.min(a.finishedOn!, b.finishedOn!));
      for (const worker of workers) expect(worker.output()).toContain('job.done');
    } finally {
      await scene.stop();
    }
  }, 180_000);
});
