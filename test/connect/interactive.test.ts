import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCommands, requireTool } from '../support/requirements.js';
import { startLogoRestFake } from '../fakes/logo.js';
import { ERP_KEY, MARKET_TOKEN, createShop } from './setup.js';
import type { Shop } from './setup.js';
import { keys, plain, startOnTerminal } from './pty.js';

const runs = requireTool('script (util-linux) for a pseudo-terminal', () => process.platform === 'linux' && hasCommands('script'), 'apt-get install bsdutils');

const WRONG_KEY = 'Wrong-Key-Typed-9931';
const BACKSPACE = '\x7f';

let shop: Shop;
afterEach(async () => {
  await shop?.close();
});

describe.runIf(runs)('erp-sync connect at a terminal', () => {
  it('asks for every field, masks the secret, shows a failed test, lets the person re-enter, and saves only what works', async () => {
    shop = await createShop();
    const term = startOnTerminal(['connect', 'demo', '--name', 'shop'], shop.env);

    let at = await term.waitFor(/Connect: Sandbox ERP → "shop"/);
    // No Secret Service on this bus-less terminal: the person is told, and the file store (its passphrase is set) is offered first.
    at = await term.waitFor(/The system keychain is not available here \(keychain unavailable: no Secret Service .* answers on the D-Bus session bus\); choose another store\./, at);
    at = await term.waitFor(/Where should the secrets be kept\?[\s\S]*Encrypted file/, at);
    await term.type(keys.enter);

    at = await term.waitFor(/API address/, at);
    await term.type('erp.example');
    await term.type(keys.enter);
    at = await term.waitFor(/Give the full address/, at);
    await term.type(BACKSPACE.repeat('erp.example'.length));
    await term.type(shop.erp.url);
    await term.type(keys.enter);

    at = await term.waitFor(/API key/, at);
    await term.type(WRONG_KEY);
    at = await term.waitFor(new RegExp(`API key \\*{${WRONG_KEY.length}}`), at);
    await term.type(keys.enter);

    // A field's help line comes before its prompt, in the language of the prompts.
    at = await term.waitFor(/How many products the ERP sends a page; more a page means fewer requests\./, at);
    at = await term.waitFor(/Products per page.*\(500\)/, at);
    await term.type('many');
    await term.type(keys.enter);
    at = await term.waitFor(/Give a whole number/, at);
    await term.type(BACKSPACE.repeat(4));
    await term.type(keys.enter);

    at = await term.waitFor(/The connection test failed: .*the API key was rejected/, at);
    at = await term.waitFor(/Enter the values again\?/, at);
    expect(existsSync(join(shop.home, 'secrets.enc')), 'nothing is saved while the test fails').toBe(false);
    await term.type(keys.enter);

    at = await term.waitFor(/API address.*\(http:\/\/127\.0\.0\.1:\d+\)/, at);
    await term.type(keys.enter);
    at = await term.waitFor(/API key \(press Enter to keep the current one\)/, at);
    await term.type(ERP_KEY.replace('Ü', 'U'));
    await term.type(BACKSPACE.repeat(ERP_KEY.length));
    await term.type(ERP_KEY);
    await term.type(keys.enter);
    at = await term.waitFor(/Products per page/, at);
    await term.type(keys.enter);

    at = await term.waitFor(/The connection works\./, at);
    await term.waitFor(/Saved connection "shop" \(Sandbox ERP\)\. Secrets are read from: file\./, at);
    expect(await term.exited).toBe(0);

    // What was typed for a secret never reached the screen: the terminal's echo was off and the prompt drew stars.
    expect(term.screen).not.toContain(WRONG_KEY);
    expect(term.screen).not.toContain(ERP_KEY);
    expect(term.screen).not.toContain(ERP_KEY.slice(0, 8));

    expect(shop.config().connections?.shop).toMatchObject({ driver: 'demo', baseUrl: shop.erp.url, secretStore: 'file', settings: {} });
    expect(await shop.fileSecret('shop', 'apiKey')).toBe(ERP_KEY);
    const test = await shop.cli(['test', 'shop']);
    expect(test.code, test.stderr).toBe(0);
  });

  it('with no keychain and no passphrase, offers a key file, says where it is and why to keep it apart, then says what comes next', async () => {
    shop = await createShop();
    const { ERP_SYNC_PASSPHRASE: _passphrase, ...env } = shop.env;
    const keyFile = join(shop.home, 'secrets.key');
    expect((await shop.cli(['connect', 'marketplace', '--base-url', shop.marketplace.url], { ERP_SYNC_MARKETPLACE_TOKEN: MARKET_TOKEN })).code).toBe(0);

    const term = startOnTerminal(['connect', 'demo', '--name', 'shop', '--base-url', shop.erp.url], env);
    let at = await term.waitFor(/The system keychain is not available here/);
    at = await term.waitFor(/Where should the secrets be kept\?[\s\S]*Encrypted file, with a new key file/, at);
    at = await term.waitFor(new RegExp(`unlocked by a random key erp-sync writes to ${keyFile.replace(/[.]/g, '\\.')}`), at);
    expect(existsSync(keyFile), 'the key is made only once it is chosen').toBe(false);
    await term.type(keys.enter);
    at = await term.waitFor(new RegExp(`Created the key file ${keyFile.replace(/[.]/g, '\\.')}: a random key, readable by this user only\. It unlocks secrets\.enc\. Keep a copy apart from the data`), at);
    at = await term.waitFor(/API key/, at);
    await term.type(ERP_KEY);
    await term.type(keys.enter);
    at = await term.waitFor(/Products per page/, at);
    await term.type(keys.enter);
    at = await term.waitFor(/Saved connection "shop" \(Sandbox ERP\)\. Secrets are read from: file\./, at);
    at = await term.waitFor(/Next: see what a run would send, without sending anything: `erp-sync run --dry-run`\./, at);
    await term.waitFor(/Then sync every 15 minutes: `erp-sync schedule --every 15m --install`\./, at);
    expect(await term.exited).toBe(0);

    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(plain(term.screen)).not.toContain(readFileSync(keyFile, 'utf8').trim());
    // Runs find the key in the home by themselves: no variable to set.
    const dryRun = await shop.cli(['run', '--dry-run'], { ERP_SYNC_PASSPHRASE: '' });
    expect(dryRun.code, dryRun.stderr).toBe(0);
  });

  it('speaks Turkish, and saves nothing when the person gives up after a failed test', async () => {
    shop = await createShop();
    const term = startOnTerminal(['--lang', 'tr', 'connect', 'demo', '--name', 'dukkan', '--secret-store', 'file', '--base-url', 'http://127.0.0.1:1'], shop.env);
    let at = await term.waitFor(/Bağlan: Sandbox ERP → "dukkan"/);
    at = await term.waitFor(/API anahtarı/, at);
    await term.type(WRONG_KEY);
    await term.type(keys.enter);
    at = await term.waitFor(/ERP’nin bir sayfada gönderdiği ürün sayısı; sayfa büyüdükçe istek sayısı azalır\./, at);
    at = await term.waitFor(/Sayfa başına ürün/, at);
    await term.type(keys.enter);
    at = await term.waitFor(/Bağlantı testi başarısız/, at);
    at = await term.waitFor(/Deneyin: Adresi ve servisin çalıştığını kontrol edip yeniden deneyin\./, at);
    at = await term.waitFor(/Bilgileri yeniden girmek ister misiniz\? \(E\/h\)/, at);
    await term.type('h');
    await term.type(keys.enter);
    await term.waitFor(/Hiçbir şey kaydedilmedi\./, at);
    expect(await term.exited).toBe(75);
    expect(plain(term.screen)).not.toContain(WRONG_KEY);
    expect(shop.config().connections ?? {}).toEqual({});
    expect(existsSync(join(shop.home, 'secrets.enc'))).toBe(false);
  });

  it('asks only for the fields of the access mode chosen: Logo through its REST service, no SQL Server questions', async () => {
    shop = await createShop();
    const logo = await startLogoRestFake({ products: 3 });
    try {
      const term = startOnTerminal(
        ['connect', 'logo', '--name', 'shop', '--secret-store', 'file', '--base-url', logo.baseUrl, ...['accessMode=rest', 'firm=1', 'period=1', 'warehouse=all', 'cardTypes=1,2,3,12', 'vatColumn=VAT', 'pageSize=10'].flatMap((v) => ['--set', v])],
        shop.env,
      );
      let at = await term.waitFor(/Logo user \(/);
      await term.type(logo.user);
      await term.type(keys.enter);
      at = await term.waitFor(/Logo user password/, at);
      await term.type(logo.password);
      await term.type(keys.enter);
      at = await term.waitFor(/REST client id/, at);
      await term.type(keys.enter);
      at = await term.waitFor(/REST client secret/, at);
      await term.type(keys.enter);
      at = await term.waitFor(/Sales price card code/, at);
      await term.type(keys.enter);
      at = await term.waitFor(/The connection works\./, at);
      expect(await term.exited).toBe(0);
      const screen = plain(term.screen);
      for (const sqlPrompt of ['SQL Server host', 'Named instance', 'TCP port', 'SQL login', 'Encrypt the connection']) expect(screen).not.toContain(sqlPrompt);
      expect(screen).not.toContain(logo.password);
      expect(shop.config().connections?.shop).toMatchObject({ baseUrl: logo.baseUrl, settings: { accessMode: 'rest', restUser: logo.user, firm: '1', period: '1' } });
      expect(await shop.fileSecret('shop', 'restPassword')).toBe(logo.password);
    } finally {
      await logo.close();
    }
  });

  it('asks before overwriting an existing connection', async () => {
    shop = await createShop();
    const first = await shop.cli(['connect', 'demo', '--name', 'shop', '--base-url', shop.erp.url, '--secret-store', 'file'], { ERP_SYNC_SHOP_API_KEY: ERP_KEY });
    expect(first.code, first.stderr).toBe(0);
    const before = shop.config();

    const term = startOnTerminal(['connect', 'demo', '--name', 'shop'], shop.env);
    const at = await term.waitFor(new RegExp(`Connection "shop" already exists \\(Sandbox ERP, ${shop.erp.url.replace(/\./g, '\\.')}\\)\\. Update it\\?`));
    await term.type('n');
    await term.type(keys.enter);
    await term.waitFor(/Nothing changed\./, at);
    expect(await term.exited).toBe(0);
    expect(shop.config()).toEqual(before);
  });

  it('never prompts with --yes, even at a terminal: what is missing is listed and it exits 78', async () => {
    shop = await createShop();
    const term = startOnTerminal(['connect', 'demo', '--name', 'shop', '--yes', '--secret-store', 'file'], shop.env);
    expect(await term.exited).toBe(78);
    const screen = plain(term.screen);
    expect(screen).toMatch(/missing: --base-url URL \(API address\) or the environment variable ERP_SYNC_SHOP_BASE_URL; apiKey \(API key\): in a file given with --secret-file, or in the environment variable ERP_SYNC_SHOP_API_KEY/);
    expect(screen).not.toMatch(/\?/);
  });
});
