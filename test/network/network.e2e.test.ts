import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import type { RunSummary } from '../../src/model/run.js';
import { json, runCli } from '../support/cli.js';
import type { CliResult } from '../support/cli.js';
import { createAuthority, hasOpenssl } from '../support/certificates.js';
import { startProxy } from '../support/proxy.js';
import type { CountingProxy } from '../support/proxy.js';
import { requireTool } from '../support/requirements.js';

/**
 * The networks shops have: an on-premise ERP that speaks HTTPS with a
 * certificate from its own authority, and a corporate proxy in front of
 * everything. Real TLS servers on 127.0.0.1 with a CA made for the run, a
 * real proxy that counts its tunnels, the built CLI as its own process.
 */

const API_KEY = 'network-erp-key-31';
const TOKEN = 'network-marketplace-token-77';
const PROXY_PASSWORD = 'Proxy-Secret-9';
/** A name only the proxy resolves: a request that reaches the ERP by it went through the proxy. */
const ERP_HOST = 'erp.shop.test';

const runs = requireTool('openssl', hasOpenssl, 'apt-get install openssl');

let dir: string;
let caFile: string;
let erp: SandboxErp;
let marketplace: SandboxMarketplace;
let proxy: CountingProxy;
const outputs: string[] = [];

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const result = await runCli(args, { LANG: 'C', NO_COLOR: '1', ERP_SYNC_SHOP_API_KEY: API_KEY, ERP_SYNC_MARKETPLACE_TOKEN: TOKEN, ...env });
  outputs.push(result.stdout, result.stderr);
  return result;
}

const newHome = () => mkdtempSync(join(dir, 'home-'));
const erpPort = () => new URL(erp.url).port;

beforeAll(async () => {
  if (!runs) return;
  dir = mkdtempSync(join(tmpdir(), 'erp-sync-network-'));
  const authority = createAuthority(dir);
  caFile = authority.caFile;
  erp = await new SandboxErp({ products: 60, apiKey: API_KEY, tls: authority.issue(ERP_HOST, [ERP_HOST, '127.0.0.1']) }).start();
  marketplace = await new SandboxMarketplace({ token: TOKEN, tls: authority.issue('marketplace.test', ['127.0.0.1']) }).start();
  proxy = await startProxy({ credentials: `shop:${PROXY_PASSWORD}`, hosts: { [ERP_HOST]: '127.0.0.1' } });
});

afterAll(async () => {
  if (!runs) return;
  await Promise.all([erp.close(), marketplace.close(), proxy.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(runs)('a connection\'s own certificate authority', () => {
  it('is trusted for that connection only, and a refused certificate is named with what to do', async () => {
    const home = newHome();
    const env = { ERP_SYNC_HOME: home };
    const refused = await cli(['connect', 'demo', '--name', 'shop', '--base-url', erp.url, '--set', 'pageSize=20'], env);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(
      `the TLS certificate of 127.0.0.1:${erpPort()} was refused: its certificate authority "erp-sync Test Root CA" is not one this machine trusts. It is issued to "${ERP_HOST}" by "erp-sync Test Root CA", valid from`,
    );
    expect(refused.stderr).toMatch(/\(SHA-256 [0-9A-F]{2}(:[0-9A-F]{2}){31}\)/);
    expect(refused.stderr).toContain('Try: If "erp-sync Test Root CA" is your company\'s or the ERP\'s own certificate authority');
    expect(refused.stderr).toContain('`erp-sync connect demo --name shop --set caFile=PATH`');

    // Given relative to where connect runs, kept absolute: the scheduled runs start elsewhere.
    const connected = await cli(['connect', 'demo', '--name', 'shop', '--base-url', erp.url, '--set', 'pageSize=20', '--set', `caFile=${relative(process.cwd(), caFile)}`], env);
    expect(connected.code, connected.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).connections.shop.settings.caFile).toBe(caFile);

    // The ERP's authority is the ERP connection's: the marketplace, signed by the same one, is not trusted through it.
    const marketplaceRefused = await cli(['connect', 'marketplace', '--base-url', marketplace.url], env);
    expect(marketplaceRefused.code).toBe(78);
    expect(marketplaceRefused.stderr).toContain('`erp-sync connect marketplace --set caFile=PATH`');
    expect((await cli(['connect', 'marketplace', '--base-url', marketplace.url, '--set', `caFile=${caFile}`], env)).code).toBe(0);

    const run = await cli(['run', '--json'], env);
    expect(json<{ runs: RunSummary[] }>(run).runs[0]).toMatchObject({ status: 'succeeded', pulled: 60 });

    const test = await cli(['test', 'shop'], env);
    expect(test.code).toBe(0);
    expect(test.stdout).toMatch(new RegExp(`^Network: direct \\(no proxy is set\\); trusting the system's certificate authorities and ${caFile.replace(/[.]/g, '\\.')} \\("erp-sync Test Root CA" ≤ \\d{4}-\\d\\d-\\d\\d\\)$`, 'm'));
  });

  it('refuses a caFile that is not there or holds no certificate, and names it when it goes missing later', async () => {
    const home = newHome();
    const env = { ERP_SYNC_HOME: home };
    const missing = await cli(['connect', 'demo', '--name', 'shop', '--base-url', erp.url, '--set', `caFile=${join(dir, 'nope.pem')}`], env);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain(`setting caFile cannot read ${join(dir, 'nope.pem')}: ENOENT`);
    const notACertificate = await cli(['connect', 'demo', '--name', 'shop', '--base-url', erp.url, '--set', `caFile=${join(dir, 'ca.key')}`], env);
    expect(notACertificate.code).toBe(64);
    expect(notACertificate.stderr).toContain(`${join(dir, 'ca.key')} holds no certificate`);

    const copy = join(dir, 'moved-ca.pem');
    copyFileSync(caFile, copy);
    expect((await cli(['connect', 'demo', '--name', 'shop', '--base-url', erp.url, '--set', `caFile=${copy}`], env)).code).toBe(0);
    rmSync(copy);
    const test = await cli(['test', 'shop'], env);
    expect(test.code).toBe(78);
    expect(test.stderr).toContain(`the connection "shop" setting caFile cannot read ${copy}: ENOENT`);
    const doctor = json<{ checks: { id: string; status: string; message: string }[] }>(await cli(['doctor', '--json'], env));
    expect(doctor.checks.find((c) => c.id === 'network:shop')).toMatchObject({ status: 'fail', message: expect.stringContaining('setting caFile cannot read') });
  });
});

describe.runIf(runs)('a proxy', () => {
  const proxied = (home: string, extra: NodeJS.ProcessEnv = {}) => ({
    ERP_SYNC_HOME: home, HTTPS_PROXY: `http://shop:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`, ...extra,
  });

  it('carries every ERP and marketplace request, NO_PROXY sends a service around it, and its password is never shown', async () => {
    const home = newHome();
    const env = proxied(home);
    const erpUrl = `https://${ERP_HOST}:${erpPort()}`;
    const tunnelsBefore = proxy.tunnels.length;
    expect((await cli(['connect', 'marketplace', '--base-url', marketplace.url, '--set', `caFile=${caFile}`], env)).code).toBe(0);
    const connected = await cli(['connect', 'demo', '--name', 'shop', '--base-url', erpUrl, '--set', 'pageSize=20', '--set', `caFile=${caFile}`], env);
    expect(connected.code, connected.stderr).toBe(0);

    const erpRequests = erp.stats.requests;
    const run = json<{ runs: RunSummary[] }>(await cli(['run', '--json'], env)).runs[0]!;
    expect(run).toMatchObject({ status: 'succeeded', pulled: 60, pushed: 60 });
    expect(erp.stats.requests).toBeGreaterThan(erpRequests);
    const tunnels = proxy.tunnels.slice(tunnelsBefore);
    expect(tunnels).toContain(`${ERP_HOST}:${erpPort()}`);
    expect(tunnels).toContain(`127.0.0.1:${new URL(marketplace.url).port}`);
    expect(new Set(proxy.authorizations.slice(tunnelsBefore))).toEqual(new Set([`Basic ${Buffer.from(`shop:${PROXY_PASSWORD}`).toString('base64')}`]));

    const doctor = json<{ checks: { id: string; status: string; message: string }[] }>(await cli(['doctor', '--json'], env));
    const byId = Object.fromEntries(doctor.checks.map((c) => [c.id, c]));
    expect(byId['network:shop']).toMatchObject({ status: 'ok', message: expect.stringMatching(new RegExp(`^through the proxy http://shop:\\*\\*\\*@127\\.0\\.0\\.1:${proxy.port} \\(HTTPS_PROXY\\); trusting the system's certificate authorities and `)) });
    expect(byId['connection:shop']).toMatchObject({ status: 'ok' });
    expect(byId['clock:shop']).toMatchObject({ status: 'ok' });

    // The marketplace around the proxy: its tunnels stop, the ERP's go on.
    erp.catalog.change(10);
    const around = proxied(home, { NO_PROXY: 'localhost,127.0.0.1' });
    const since = proxy.tunnels.length;
    const test = await cli(['test', 'marketplace'], around);
    expect(test.stdout).toContain('Network: direct: NO_PROXY lists 127.0.0.1; trusting');
    expect(json<{ runs: RunSummary[] }>(await cli(['run', '--json'], around)).runs[0]).toMatchObject({ status: 'succeeded', pushed: 6 });
    expect(proxy.tunnels.slice(since).every((t) => t.startsWith(`${ERP_HOST}:`))).toBe(true);
    expect(proxy.tunnels.length).toBeGreaterThan(since);

    expect(outputs.join('\n')).not.toContain(PROXY_PASSWORD);
    for (const file of readdirSync(home).filter((f) => !f.includes('lock'))) {
      if (file !== 'locks') expect(readFileSync(join(home, file)).toString('latin1'), file).not.toContain(PROXY_PASSWORD);
    }
  });

  it('says what the proxy refused: its password, a service it cannot reach, itself unreachable', async () => {
    const home = newHome();
    const erpUrl = `https://${ERP_HOST}:${erpPort()}`;
    const settings = ['--set', `caFile=${caFile}`, '--no-test'];
    expect((await cli(['connect', 'demo', '--name', 'shop', '--base-url', erpUrl, ...settings], proxied(home))).code).toBe(0);

    const wrong = await cli(['test', 'shop'], { ERP_SYNC_HOME: home, HTTPS_PROXY: `http://shop:wrong-pass-1@127.0.0.1:${proxy.port}` });
    expect(wrong.code).toBe(78);
    expect(wrong.stderr).toContain(`the proxy http://shop:***@127.0.0.1:${proxy.port} (HTTPS_PROXY) wants a user name and password (407 Proxy Authentication Required)`);
    expect(wrong.stderr).toContain('Try: Put them in HTTPS_PROXY, as USER:PASSWORD@ in front of the proxy\'s host and port');
    expect(wrong.stderr).not.toContain('wrong-pass-1');

    // A name the proxy cannot resolve either: it answers 502, a failure worth trying again.
    expect((await cli(['connect', 'demo', '--name', 'far', '--base-url', `https://nowhere.shop.test:${erpPort()}`, ...settings], proxied(home))).code).toBe(0);
    const unreachable = await cli(['test', 'far'], { ...proxied(home), ERP_SYNC_FAR_API_KEY: API_KEY });
    expect(unreachable.code).toBe(75);
    expect(unreachable.stderr).toContain(`could not reach nowhere.shop.test:${erpPort()} (HTTP 502)`);

    const down = await cli(['test', 'shop'], { ERP_SYNC_HOME: home, HTTPS_PROXY: 'http://127.0.0.1:1' });
    expect(down.code).toBe(75);
    expect(down.stderr).toContain('the proxy http://127.0.0.1:1 (HTTPS_PROXY) refused the connection');

    const noScheme = await cli(['test', 'shop'], { ERP_SYNC_HOME: home, https_proxy: `127.0.0.1:${proxy.port}` });
    expect(noScheme.stdout).toContain(`Network: through the proxy http://127.0.0.1:${proxy.port} (https_proxy)`);
  });

  it('shows the certificate it refuses through the proxy too', async () => {
    const home = newHome();
    const refused = await cli(['connect', 'demo', '--name', 'shop', '--base-url', `https://${ERP_HOST}:${erpPort()}`], proxied(home));
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(`the TLS certificate of ${ERP_HOST}:${erpPort()} was refused: its certificate authority "erp-sync Test Root CA" is not one this machine trusts. It is issued to "${ERP_HOST}"`);
  });
});
