import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { json, runCli, startCli } from '../support/cli.js';
import { freshDatabase, requirePostgres, requireRedis } from '../support/hosted.js';
import { PgDatabase } from '../../src/store/pg.js';
import { hostedWorld, startWorker, stopWorker, waitUntil } from './support.js';
import type { Hosted, WorkerProcess } from './support.js';

const API_KEY = 'cli-erp-key-0f3c9a';
const TOKEN = 'cli-offer-token-77d2e1';
const WEB_TOKEN = 'web-token-for-acme-0123456789abcdef0123';

/**
 * The hosted commands through the built CLI, as an operator runs them:
 * tenants, connections validated like `connect` with secrets never on the
 * command line, "sync now" deduplicated, status and history from
 * PostgreSQL, and one tenant's page behind its token.
 */
describe.runIf(requirePostgres() && requireRedis())('erp-sync hosted, through the built CLI', () => {
  let world: Hosted;
  let erp: SandboxErp;
  let marketplace: SandboxMarketplace;
  let worker: WorkerProcess | undefined;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) => runCli(args, { ...world.env, ...env }, input === undefined ? {} : { input });

  beforeAll(async () => {
    world = await hostedWorld(freshDatabase('hosted_cli'), 1);
    erp = await new SandboxErp({ products: 120, apiKey: API_KEY }).start();
    marketplace = await new SandboxMarketplace({ token: TOKEN }).start();
  });
  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await world?.close();
    await erp?.close();
    await marketplace?.close();
  });

  it('adds a tenant, and names one that was never added', async () => {
    const added = await cli(['hosted', 'tenant', 'add', 'acme', '--name', 'Acme Ticaret', '--json']);
    expect(added.code, added.stderr).toBe(0);
    expect(json(added)).toMatchObject({ tenant: { tenant: 'acme', name: 'Acme Ticaret' }, added: true });
    expect((await cli(['hosted', 'tenant', 'add', 'Bad Id'])).code).toBe(64);
    const unknown = await cli(['hosted', 'status', '--tenant', 'nobody']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('there is no tenant "nobody"');
    expect(unknown.stderr).toContain('erp-sync hosted tenant add nobody');
  });

  it('connects a marketplace and an ERP with secrets from the environment or stdin, tested, and never takes one on the command line', async () => {
    const target = await cli(['hosted', 'connect', 'marketplace', '--tenant', 'acme', '--base-url', marketplace.url, '--json'], { ERP_SYNC_MARKETPLACE_TOKEN: TOKEN });
    expect(target.code, target.stderr).toBe(0);
    expect(json(target)).toMatchObject({ tenant: 'acme', target: { name: 'marketplace', kind: 'offer-api', secretStore: 'database' }, tested: true });

    const inArgv = await cli(['hosted', 'connect', 'demo', '--tenant', 'acme', '--name', 'shop', '--base-url', erp.url, '--set', `apiKey=${API_KEY}`]);
    expect(inArgv.code).toBe(64);
    expect(inArgv.stderr).toContain('"apiKey" is a secret');
    expect(inArgv.stderr).not.toContain(API_KEY);

    const missing = await cli(['hosted', 'connect', 'demo', '--tenant', 'acme', '--name', 'shop', '--base-url', erp.url]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain('ERP_SYNC_SHOP_API_KEY');

    const badSetting = await cli(['hosted', 'connect', 'demo', '--tenant', 'acme', '--name', 'shop', '--base-url', erp.url, '--set', 'syncEveryMinutes=0'], {}, `apiKey=${API_KEY}\n`);
    expect(badSetting.code).toBe(64);
    expect(badSetting.stderr).toContain('syncEveryMinutes');

    const wrongKey = await cli(['hosted', 'connect', 'demo', '--tenant', 'acme', '--name', 'shop', '--base-url', erp.url, '--secrets-stdin'], {}, 'apiKey=not-the-key\n');
    expect(wrongKey.code).toBe(77);

    const saved = await cli(['hosted', 'connect', 'demo', '--tenant', 'acme', '--name', 'shop', '--base-url', erp.url, '--set', 'pageSize=20', '--set', 'syncEveryMinutes=5', '--secrets-stdin', '--json'], {}, `apiKey=${API_KEY}\n`);
    expect(saved.code, saved.stderr).toBe(0);
    expect(json(saved)).toMatchObject({ connection: { name: 'shop', driver: 'demo', settings: { pageSize: '20', syncEveryMinutes: '5' }, secretStore: 'database' }, tested: true });
    expect(saved.stdout + saved.stderr).not.toContain(API_KEY);

    // Connected again without secrets: the sealed ones stay, the settings given change.
    const again = await cli(['hosted', 'connect', 'shop', '--tenant', 'acme', '--set', 'pageSize=30', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(json(again)).toMatchObject({ connection: { settings: { pageSize: '30', syncEveryMinutes: '5' } }, tested: true });
  });

  it('queues one run however often "sync now" is asked while it waits, and shows it in status and history', async () => {
    const first = await cli(['hosted', 'sync', '--tenant', 'acme', '--json']);
    const second = await cli(['hosted', 'sync', '--tenant', 'acme', 'shop', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(json<{ jobs: { added: boolean; id: string }[] }>(first).jobs).toEqual([expect.objectContaining({ connection: 'shop', added: true })]);
    expect(json<{ jobs: { added: boolean; id: string }[] }>(second).jobs).toEqual([expect.objectContaining({ connection: 'shop', added: false })]);
    expect(await world.queue.depth()).toMatchObject({ waiting: 1 });

    worker = startWorker(world);
    await worker.port;
    await waitUntil(async () => (await world.queue.queue.getJobCounts('completed')).completed === 1, 30_000, 'the run to complete');
    const history = await cli(['hosted', 'history', '--tenant', 'acme', '--json']);
    expect(history.code, history.stderr).toBe(0);
    const runs = json<{ runs: { connection: string; status: string; pushed: number }[] }>(history).runs;
    expect(runs).toEqual([expect.objectContaining({ connection: 'shop', status: 'succeeded', pushed: 120 })]);
    expect(marketplace.maxApplicationsPerKey()).toBe(1);

    const schedule = await cli(['hosted', 'schedule', '--tenant', 'acme', '--json']);
    expect(schedule.code, schedule.stderr).toBe(0);
    expect(json(schedule)).toMatchObject({ schedules: [{ connection: 'shop', everyMinutes: 5 }], removed: [] });

    const status = await cli(['hosted', 'status', '--tenant', 'acme', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const report = json<{ tenant: { tenant: string }; connections: { connection: string; health: string; lastSuccess: unknown; queue: { schedule: { everyMinutes: number } } }[] }>(status);
    expect(report.tenant.tenant).toBe('acme');
    expect(report.connections).toEqual([expect.objectContaining({ connection: 'shop', health: 'ok', queue: expect.objectContaining({ schedule: expect.objectContaining({ everyMinutes: 5 }) }) })]);
    const text = await cli(['hosted', 'status', '--tenant', 'acme']);
    expect(text.stdout).toContain('Tenant acme (Acme Ticaret)');
    expect(text.stdout).toContain('Schedule: every 5 minutes');
    expect(text.stdout).not.toContain('erp-sync logs');
    // The first scheduled run is due within the interval, at the connection's own offset.
    const [scheduled] = await world.queue.schedules('acme');
    expect(Date.parse(scheduled!.next!) - Date.now()).toBeLessThanOrEqual(5 * 60_000);
  });

  it('serves one tenant\'s page only behind ERP_SYNC_WEB_ACCESS_TOKEN, from its rows alone; its "sync now" queues a job; it outlives its session', async () => {
    const refused = await cli(['serve', '--tenant', 'acme', '--port', '0']);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain('ERP_SYNC_WEB_ACCESS_TOKEN');

    const child = startCli(['serve', '--tenant', 'acme', '--port', '0'], { ...world.env, ERP_SYNC_WEB_ACCESS_TOKEN: WEB_TOKEN });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    try {
      const url = await waitUntil(() => /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1], 15_000, `serve to listen:\n${output}`, 50);
      expect((await fetch(`${url}api/status`)).status).toBe(401);
      expect((await fetch(`${url}api/status`, { headers: { authorization: 'Bearer wrong-token-wrong-token-wrong-token' } })).status).toBe(401);
      const status = await fetch(`${url}api/status`, { headers: { authorization: `Bearer ${WEB_TOKEN}` } });
      expect(status.status).toBe(200);
      const body = (await status.json()) as { connections: { name: string; health: string }[] };
      expect(body.connections.map((c) => c.name)).toEqual(['shop']);
      const metrics = await (await fetch(`${url}metrics`, { headers: { authorization: `Bearer ${WEB_TOKEN}` } })).text();
      expect(metrics).toContain('erp_sync_last_success_timestamp_seconds{connection="shop"}');

      // A person signs in with the token, and "sync now" queues a job that a worker runs.
      const login = await (await fetch(url)).text();
      const form = new URLSearchParams({ token: WEB_TOKEN, csrf: /name="csrf" value="([^"]+)"/.exec(login)![1]! });
      const signedIn = await fetch(`${url}login`, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
      expect(signedIn.status).toBe(303);
      const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
      const page = await (await fetch(url, { headers: { cookie } })).text();
      const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
      const done = (await world.queue.queue.getJobCounts('completed')).completed ?? 0;
      const sync = await fetch(`${url}api/connections/shop/sync`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
      expect(sync.status).toBe(202);
      await waitUntil(async () => (await world.queue.queue.getJobCounts('completed')).completed === done + 1, 30_000, 'the page\'s run');
      expect((await fetch(`${url}api/connections/nothere/sync`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(404);

      // PostgreSQL drops the page's session (a restart or a failover does that to every session): the next request opens a new one.
      const admin = new PgDatabase(world.env.ERP_SYNC_DATABASE_URL!, 'admin');
      try {
        const dropped = admin
          .prepare(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?`)
          .pluck()
          .get(`erp-sync ${hostname()} ${child.pid}`);
        expect(dropped).toBe(1);
      } finally {
        admin.close();
      }
      const again = await fetch(`${url}api/status`, { headers: { authorization: `Bearer ${WEB_TOKEN}` } });
      expect(again.status).toBe(200);
      expect(((await again.json()) as { connections: { name: string }[] }).connections.map((c) => c.name)).toEqual(['shop']);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
    }
    expect(output).not.toContain(WEB_TOKEN);
  });

  it('answers /healthz 503 naming what the worker cannot reach', async () => {
    const cut = startWorker({ ...world, env: { ...world.env, ERP_SYNC_REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const health = await fetch(`http://127.0.0.1:${await cut.port}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.text()).toMatch(/^unhealthy\nredis: /);
    } finally {
      await stopWorker(cut);
    }
  });
});
