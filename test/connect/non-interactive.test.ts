import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { json } from '../support/cli.js';
import { MIKRO_LOGIN, startMikroSqlFake } from '../fakes/mikro.js';
import { startTdsServer } from '../fakes/tds.js';
import { ERP_KEY, MARKET_TOKEN, createShop } from './setup.js';
import type { Shop } from './setup.js';

let shop: Shop;
afterEach(async () => {
  await shop?.close();
});

const WRONG = 'wrong-Key-0000-abc';

describe('erp-sync connect without a terminal', () => {
  it('lists everything missing at once and exits 78, saving nothing', async () => {
    shop = await createShop();
    const result = await shop.cli(['connect', 'demo', '--name', 'shop', '--secret-store', 'file']);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('--base-url URL (API address) or the environment variable ERP_SYNC_SHOP_BASE_URL');
    expect(result.stderr).toContain('apiKey (API key): in a file given with --secret-file, or in the environment variable ERP_SYNC_SHOP_API_KEY');
    expect(shop.config().connections ?? {}).toEqual({});

    const market = await shop.cli(['connect', 'marketplace', '--secret-store', 'file']);
    expect(market.code).toBe(78);
    expect(market.stderr).toMatch(/--base-url URL .*; token \(API token\)/);
    expect(shop.config().targets?.marketplace).toBeUndefined();
  });

  it('an on-premise ERP\'s SQL login: a wrong password exits 77 naming the login and saves nothing; the right one is tested and kept in the store', async () => {
    shop = await createShop();
    const fake = startMikroSqlFake({ products: 3 });
    const tds = await startTdsServer(fake);
    try {
      const wrong = 'Yanlis-Sifre-12345';
      const args = [
        'connect', 'mikro', '--name', 'shop', '--secret-store', 'file', '--set', 'server=127.0.0.1', '--set', `port=${tds.port}`, '--set', 'encrypt=false',
        '--set', `database=${MIKRO_LOGIN.database}`, '--set', `user=${MIKRO_LOGIN.user}`,
      ];
      const refused = await shop.cli(args, { ERP_SYNC_SHOP_PASSWORD: wrong });
      expect(refused.code).toBe(77);
      expect(refused.stderr).toContain(`SQL Server 127.0.0.1:${tds.port} did not accept the login "${MIKRO_LOGIN.user}"`);
      expect(refused.stdout + refused.stderr).not.toContain(wrong);
      expect(shop.config().connections ?? {}).toEqual({});

      const saved = await shop.cli([...args, '--json'], { ERP_SYNC_SHOP_PASSWORD: MIKRO_LOGIN.password });
      expect(saved.code, saved.stderr).toBe(0);
      expect(json(saved)).toMatchObject({ tested: true, connection: { settings: { server: '127.0.0.1', port: String(tds.port), encrypt: 'false', user: MIKRO_LOGIN.user } } });
      expect(JSON.stringify(shop.config())).not.toContain(MIKRO_LOGIN.password);
      expect(await shop.fileSecret('shop', 'password')).toBe(MIKRO_LOGIN.password);
    } finally {
      await tds.close();
    }
  });

  it('an on-premise ERP\'s SQL Server that answers it does not encrypt: exit 78 before the password is sent, in English and Turkish, nothing saved', async () => {
    shop = await createShop();
    const fake = startMikroSqlFake({ products: 3 });
    const tds = await startTdsServer(fake);
    try {
      // encrypt is left at its default, true.
      const args = [
        'connect', 'mikro', '--name', 'shop', '--secret-store', 'file', '--set', 'server=127.0.0.1', '--set', `port=${tds.port}`,
        '--set', `database=${MIKRO_LOGIN.database}`, '--set', `user=${MIKRO_LOGIN.user}`,
      ];
      const refused = await shop.cli(args, { ERP_SYNC_SHOP_PASSWORD: MIKRO_LOGIN.password });
      expect(refused.code).toBe(78);
      expect(refused.stderr).toContain(`SQL Server 127.0.0.1:${tds.port} answered that it does not encrypt, and the shop connection requires encryption (encrypt=true): erp-sync closed the connection before sending the login and its password`);
      expect(refused.stderr).toContain(`check that 127.0.0.1:${tds.port} is really the ERP's SQL Server`);
      const turkish = await shop.cli(args, { ERP_SYNC_SHOP_PASSWORD: MIKRO_LOGIN.password, LANG: 'tr_TR.UTF-8' });
      expect(turkish.code).toBe(78);
      expect(turkish.stderr).toContain(`SQL Server 127.0.0.1:${tds.port} şifreleme yapmadığını bildirdi, shop bağlantısı ise şifreleme istiyor`);
      for (const output of [refused, turkish]) expect(output.stdout + output.stderr).not.toContain(MIKRO_LOGIN.password);
      expect(tds.packets).toContain('prelogin');
      expect(tds.packets).not.toContain('login7');
      expect(shop.config().connections ?? {}).toEqual({});
    } finally {
      await tds.close();
    }
  });

  it('never repeats what follows a mistyped --set, where a secret may be', async () => {
    shop = await createShop();
    const result = await shop.cli(['connect', 'marketplace', '--base-url', shop.marketplace.url, '--set', `token:${MARKET_TOKEN}`, '--no-test']);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('--set "token…" is not of the form field=value');
    expect(result.stdout + result.stderr).not.toContain(MARKET_TOKEN);
    // A bare value with no name before it is not repeated either.
    const bare = await shop.cli(['connect', 'marketplace', '--base-url', shop.marketplace.url, '--set', 'Tok3nSECRETvalue_abc-123', '--no-test']);
    expect(bare.code).toBe(64);
    expect(bare.stdout + bare.stderr).not.toContain('Tok3nSECRET');
  });

  it('reads a secret from --secret-file, tests it, and writes it into the file store', async () => {
    shop = await createShop();
    const keyFile = shop.secretFile('erp-key', ERP_KEY);
    const result = await shop.cli(['connect', 'demo', '--name', 'shop', '--base-url', `${shop.erp.url}/`, '--secret-store', 'file', '--secret-file', `apiKey=${keyFile}`, '--set', 'pageSize=10', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const saved = json<{ connection: { baseUrl: string; settings: Record<string, string>; secretStore: string }; tested: boolean }>(result);
    expect(saved).toMatchObject({ tested: true, connection: { baseUrl: shop.erp.url, settings: { pageSize: '10' }, secretStore: 'file' } });
    expect(shop.erp.stats.requests).toBe(1);
    expect(await shop.fileSecret('shop', 'apiKey')).toBe(ERP_KEY);
    expect(result.stdout + result.stderr).not.toContain(ERP_KEY);
  });

  it('writes secrets given as environment variables into a writable store, so runs no longer need them', async () => {
    shop = await createShop();
    const market = await shop.cli(['connect', 'marketplace', '--base-url', shop.marketplace.url, '--secret-store', 'file'], { ERP_SYNC_MARKETPLACE_TOKEN: MARKET_TOKEN });
    expect(market.code, market.stderr).toBe(0);
    expect(market.stdout).toContain('Its token is read from: file');
    const erp = await shop.cli(['connect', 'demo', '--name', 'shop', '--secret-store', 'file'], { ERP_SYNC_SHOP_API_KEY: ERP_KEY, ERP_SYNC_SHOP_BASE_URL: shop.erp.url });
    expect(erp.code, erp.stderr).toBe(0);
    expect(await shop.fileSecret('marketplace', 'token')).toBe(MARKET_TOKEN);

    const run = await shop.cli(['run', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(json<{ runs: Array<{ pushed: number }> }>(run).runs[0]!.pushed).toBeGreaterThan(0);
  });

  it('saves nothing when the test fails, and exits with the failure\'s code', async () => {
    shop = await createShop();
    const wrongFile = shop.secretFile('wrong', WRONG);
    const fresh = await shop.cli(['connect', 'demo', '--name', 'shop', '--base-url', shop.erp.url, '--secret-store', 'file', '--secret-file', `apiKey=${wrongFile}`]);
    expect(fresh.code).toBe(77);
    expect(fresh.stderr).toContain('the connection test of "shop" failed: Sandbox ERP (shop): the API key was rejected');
    expect(fresh.stderr).toContain('Try: Check the API key.');
    expect(shop.config().connections ?? {}).toEqual({});
    expect(existsSync(join(shop.home, 'secrets.enc'))).toBe(false);

    // An update that fails its test leaves the working connection as it was.
    const good = await shop.cli(['connect', 'demo', '--name', 'shop', '--base-url', shop.erp.url, '--secret-store', 'file'], { ERP_SYNC_SHOP_API_KEY: ERP_KEY });
    expect(good.code, good.stderr).toBe(0);
    const before = shop.config();
    const update = await shop.cli(['connect', 'demo', '--name', 'shop', '--set', 'pageSize=5', '--secret-file', `apiKey=${wrongFile}`]);
    expect(update.code).toBe(77);
    expect(shop.config()).toEqual(before);
    expect(await shop.fileSecret('shop', 'apiKey')).toBe(ERP_KEY);

    const unreachable = await shop.cli(['connect', 'marketplace', '--base-url', 'http://127.0.0.1:1', '--secret-store', 'file'], { ERP_SYNC_MARKETPLACE_TOKEN: MARKET_TOKEN });
    expect(unreachable.code).toBe(75);
    expect(shop.config().targets?.marketplace).toBeUndefined();
  });

  it('--no-test saves without testing; `erp-sync test` then reports the failure', async () => {
    shop = await createShop();
    const saved = await shop.cli(['connect', 'demo', '--name', 'shop', '--base-url', shop.erp.url, '--secret-store', 'file', '--no-test'], { ERP_SYNC_SHOP_API_KEY: WRONG });
    expect(saved.code, saved.stderr).toBe(0);
    expect(shop.erp.stats.requests).toBe(0);
    expect(saved.stdout).toContain('Not tested');
    const test = await shop.cli(['test', 'shop']);
    expect(test.code).toBe(77);
    expect(test.stderr).toContain('the API key was rejected');
    expect(test.stderr).not.toContain(WRONG);

    const fixed = await shop.cli(['connect', 'demo', '--name', 'shop', '--secret-file', `apiKey=${shop.secretFile('key', ERP_KEY)}`]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((await shop.cli(['test', 'shop'])).code).toBe(0);
  });

  it('keeps secrets out of the config with the env store, and tests only when they are at hand', async () => {
    shop = await createShop();
    const without = await shop.cli(['connect', 'demo', '--name', 'shop', '--base-url', shop.erp.url]);
    expect(without.code, without.stderr).toBe(0);
    expect(without.stdout).toContain('environment variables ERP_SYNC_SHOP_API_KEY');
    expect(shop.erp.stats.requests).toBe(0);

    const failing = await shop.cli(['connect', 'demo', '--name', 'shop'], { ERP_SYNC_SHOP_API_KEY: WRONG });
    expect(failing.code).toBe(77);

    const refused = await shop.cli(['connect', 'demo', '--name', 'shop', '--secret-file', `apiKey=${shop.secretFile('key', ERP_KEY)}`]);
    expect(refused.code).toBe(64);
    expect(refused.stderr).toContain('--secret-file needs a secret store erp-sync can write to, not env');
  });

  it('refuses malformed values before anything else', async () => {
    shop = await createShop();
    const cases: Array<[string[], RegExp]> = [
      [['--base-url', 'erp.example.com'], /baseUrl: Give the full address/],
      [['--base-url', 'http://u:p@erp.example.com'], /must not contain a user name or password/],
      [['--base-url', shop.erp.url, '--set', 'pageSize=lots'], /pageSize: Give a whole number/],
      [['--base-url', shop.erp.url, '--set', 'apiKey=x'], /"apiKey" is a secret and is never stored in the config/],
      [['--base-url', shop.erp.url, '--secret-file', 'pageSize=/etc/hostname'], /driver demo has no secret field "pageSize"/],
      [['--base-url', shop.erp.url, '--secret-store', 'vault'], /unknown secret store "vault"/],
    ];
    for (const [args, message] of cases) {
      const result = await shop.cli(['connect', 'demo', '--name', 'shop', ...args]);
      expect(result.code, args.join(' ')).toBe(64);
      expect(result.stderr).toMatch(message);
    }
    expect(shop.config().connections ?? {}).toEqual({});
  });
});
