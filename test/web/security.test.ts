import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, API_KEY, TOKEN } from '../support/world.js';
import type { World } from '../support/world.js';
import { runCli } from '../support/cli.js';
import { requireTool } from '../support/requirements.js';
import { http, nonLoopbackAddress, startServe } from './support.js';
import type { Serving } from './support.js';

const csrfOf = (html: string) => /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1];

let world: World;
beforeAll(async () => {
  world = await createWorld({ products: 20 });
  const { result } = await world.run();
  expect(result.code).toBe(0);
});
afterAll(async () => {
  await world?.close();
});

describe('serve on loopback (the default)', () => {
  let serving: Serving;
  beforeAll(async () => {
    serving = await startServe(world.env);
  });
  afterAll(async () => {
    await serving?.stop();
  });
  const get = (path: string, host: string) => http('127.0.0.1', serving.port, path, { headers: { host } });

  it('answers requests naming this machine and refuses any other Host header (DNS rebinding)', async () => {
    for (const host of [`127.0.0.1:${serving.port}`, `localhost:${serving.port}`, 'localhost']) {
      expect((await get('/api/status', host)).status, host).toBe(200);
    }
    for (const host of [`evil.example:${serving.port}`, 'evil.example', `127.0.0.1.evil.example:${serving.port}`, `[::2]:${serving.port}`]) {
      const answer = await get('/api/status', host);
      expect(answer.status, host).toBe(403);
      expect(answer.body).not.toContain('"connections"');
    }
  });

  it('refuses a POST without the right CSRF token or from another origin, and accepts the page\'s own', async () => {
    const host = `127.0.0.1:${serving.port}`;
    const csrf = csrfOf((await get('/', host)).body)!;
    expect(csrf).toBeTruthy();
    const post = (headers: Record<string, string>) => http('127.0.0.1', serving.port, '/api/connections/shop/sync', { method: 'POST', headers: { host, ...headers } });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-csrf-token': `${csrf}x` })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrf, origin: 'http://evil.example' })).status).toBe(403);
    expect(world.query(`SELECT id FROM runs`)).toHaveLength(1);

    const accepted = await post({ 'x-csrf-token': csrf, origin: `http://${host}` });
    expect(accepted.status).toBe(202);
    expect(JSON.parse(accepted.body)).toEqual({ queued: true, message: 'Queued: your products are being synced in the background' });
    await expect.poll(async () => JSON.parse((await get('/api/status', host)).body).connections[0].running, { timeout: 30_000 }).toBe(false);
    expect(world.query<{ status: string }>(`SELECT status FROM runs ORDER BY id`).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('sends every answer with a strict Content-Security-Policy and never a secret', async () => {
    const host = `127.0.0.1:${serving.port}`;
    const page = await get('/', host);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(page.body).not.toMatch(/<script>|<script type="module">|\son\w+=/);
    for (const path of ['/', '/api/status', '/api/runs', '/api/events?failed=1', '/api/runs/1/events', '/metrics', '/healthz']) {
      const answer = await get(path, host);
      expect(answer.status, path).toBeLessThan(500);
      expect(answer.body, path).not.toContain(API_KEY);
      expect(answer.body, path).not.toContain(TOKEN);
    }
  });

  it('reports health and Prometheus metrics from the runs', async () => {
    const host = `127.0.0.1:${serving.port}`;
    const healthy = await get('/healthz', host);
    expect(healthy.status).toBe(200);
    expect(healthy.body).toMatch(/^ok\nshop: ok, last successful sync at /);
    const metrics = (await get('/metrics', host)).body;
    const last = world.query<{ finished_at: string; pushed: number }>(`SELECT finished_at, pushed FROM runs ORDER BY id DESC LIMIT 1`)[0]!;
    expect(metrics).toContain(`erp_sync_last_success_timestamp_seconds{connection="shop"} ${Date.parse(last.finished_at) / 1000}\n`);
    expect(metrics).toContain(`erp_sync_last_run_items_pushed{connection="shop"} ${last.pushed}\n`);
    expect(metrics).toContain('erp_sync_open_alerts{connection="shop"} 0\n');
    expect(metrics).toMatch(/# TYPE erp_sync_last_run_duration_seconds gauge\nerp_sync_last_run_duration_seconds\{connection="shop"\} [\d.]+\n/);

    world.erp.faults.failNext = 1000;
    const down = await world.run();
    world.erp.faults.failNext = 0;
    expect(down.result.code).toBe(75);
    const failing = await get('/healthz', host);
    expect(failing.status).toBe(503);
    const since = world.query<{ started_at: string }>(`SELECT started_at FROM runs ORDER BY id DESC LIMIT 1`)[0]!.started_at;
    expect(failing.body).toMatch(new RegExp(`^unhealthy\nshop: failing since ${since} \\(${down.summary.error!.code}: `));
    expect(await get('/metrics', host).then((m) => m.body)).toContain('erp_sync_healthy{connection="shop"} 0\n');
  });
});

describe.runIf(requireTool('a non-loopback IPv4 address', () => nonLoopbackAddress() !== undefined, 'a network interface with an IPv4 address (any container has one)'))(
  'serve on a network address',
  () => {
    const address = nonLoopbackAddress()!;
    const env = () => ({ ...world.env, ERP_SYNC_PASSPHRASE: 'web page test passphrase' });
    let serving: Serving | undefined;
    afterEach(async () => {
      await serving?.stop();
      serving = undefined;
    });

    it('generates an access token once, shows it once, and refuses other machines without it', async () => {
      serving = await startServe(env(), '--host', '0.0.0.0', '--secret-store', 'file');
      const token = /web\/accessToken\):\n(\S+)\n/.exec(serving.stdout())?.[1];
      expect(token, serving.stdout()).toMatch(/^[\w-]{32}$/);
      const port = serving.port;
      const from = (path: string, options: Parameters<typeof http>[3] = {}) =>
        http(address, port, path, { ...options, headers: { host: `${address}:${port}`, ...options.headers } });

      for (const path of ['/api/status', '/api/events?failed=1', '/metrics', '/healthz']) {
        const refused = await from(path);
        expect(refused.status, path).toBe(401);
        expect(refused.body, path).not.toContain('shop');
      }
      const login = await from('/');
      expect(login.status).toBe(401);
      expect(login.body).toContain('name="token"');
      expect((await from('/api/status', { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
      expect((await from('/api/status', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

      const csrf = /name="csrf" value="([^"]+)"/.exec(login.body)![1]!;
      const form = (body: string) => from('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect((await form(`csrf=${csrf}&token=wrong`)).status).toBe(401);
      expect((await form(`token=${token}`)).status).toBe(403);
      const signedIn = await form(`csrf=${csrf}&token=${token}`);
      expect(signedIn.status).toBe(303);
      const cookie = String(signedIn.headers['set-cookie']);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      const session = cookie.split(';')[0]!;
      const page = await from('/', { headers: { cookie: session } });
      expect(page.status).toBe(200);
      expect(page.body).not.toContain(token!);
      const sync = (headers: Record<string, string>) => from('/api/connections/shop/sync', { method: 'POST', headers: { cookie: session, ...headers } });
      expect((await sync({})).status).toBe(403);
      expect((await sync({ authorization: `Bearer ${token}` })).status).toBe(403);

      // This machine too: a reverse proxy on it must not let the network in without the token.
      expect((await http('127.0.0.1', port, '/api/status', { headers: { host: `127.0.0.1:${port}` } })).status).toBe(401);

      await serving.stop();
      serving = await startServe(env(), '--host', '0.0.0.0', '--secret-store', 'file');
      expect(serving.stdout()).not.toContain(token);
      expect((await http(address, serving.port, '/api/status', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    });

    it('is not reachable from the network at all when it serves on 127.0.0.1', async () => {
      serving = await startServe(world.env);
      await expect(http(address, serving.port, '/api/status')).rejects.toThrow(/ECONNREFUSED/);
    });

    it('will not serve on a network address with an access token short enough to guess', async () => {
      const short = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--secret-store', 'env'], { ...world.env, ERP_SYNC_WEB_ACCESS_TOKEN: 'letmein-2026' });
      expect(short.code).toBe(78);
      expect(short.stderr).toMatch(/access token in the env secret store has 12 characters; on the network it needs at least 32/);
      expect(short.stderr).not.toContain('letmein-2026');
    });

    it('will not serve on a network address when the token cannot be stored', async () => {
      const result = await world.cli('serve', '--host', '0.0.0.0', '--port', '0');
      expect(result.code).toBe(78);
      expect(result.stderr).toMatch(/could not store the web page's access token/);
      expect(result.stderr).toMatch(/--secret-store file/);
    });
  },
);
