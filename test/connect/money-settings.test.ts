import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigStore } from '../../src/config/config.js';
import { hasCommands, requireTool } from '../support/requirements.js';
import { MARKET_TOKEN, createShop } from './setup.js';
import type { Shop } from './setup.js';
import { keys, plain, startOnTerminal } from './pty.js';

const runs = requireTool('script (util-linux) for a pseudo-terminal', () => process.platform === 'linux' && hasCommands('script'), 'apt-get install bsdutils');
const DOWN = '\x1b[B';

let shop: Shop;
let file: string;
afterEach(async () => {
  await shop?.close();
});

/** A shop whose ERP exports its products to a CSV file, `file`. */
async function exportingShop(): Promise<Shop> {
  const created = await createShop();
  file = join(created.scratch, 'urunler.csv');
  writeFileSync(file, 'Barkod;Stok Kodu;Ürün Adı;Fiyat;Stok\n8690000000012;A-1;Çaydanlık;99,90;3\n');
  return created;
}

/**
 * Whether an ERP's prices include VAT is documented by none of them: the
 * setting has no default, `connect` asks for it without offering an answer,
 * and without a terminal, or for a connection saved without it, erp-sync
 * refuses (exit 78) and names it.
 */
describe('a money setting with no documented default (priceIncludesVat)', () => {
  it('without a terminal: connect refuses with exit 78 naming the setting, and saves it once given', async () => {
    shop = await exportingShop();
    const refused = await shop.cli(['connect', 'csv', '--name', 'shop', '--set', `path=${file}`]);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain('--set priceIncludesVat=… (Prices include VAT) or the environment variable ERP_SYNC_SHOP_PRICE_INCLUDES_VAT');
    expect(shop.config().connections ?? {}).toEqual({});

    const saved = await shop.cli(['connect', 'csv', '--name', 'shop', '--set', `path=${file}`, '--set', 'priceIncludesVat=false']);
    expect(saved.code, saved.stderr).toBe(0);
    expect(shop.config().connections?.shop?.settings).toMatchObject({ priceIncludesVat: 'false' });
  });

  it('a connection saved without it refuses to run: exit 78, naming the setting and the command that sets it', async () => {
    shop = await exportingShop();
    expect((await shop.cli(['connect', 'marketplace', '--base-url', shop.marketplace.url, '--secret-store', 'file'], { ERP_SYNC_MARKETPLACE_TOKEN: MARKET_TOKEN })).code).toBe(0);
    const now = new Date().toISOString();
    new ConfigStore(shop.home).saveConnection({ name: 'shop', driver: 'csv', settings: { path: file }, secretStore: 'env', createdAt: now, updatedAt: now });
    const run = await shop.cli(['run', '--connection', 'shop']);
    expect(run.code).toBe(78);
    expect(run.stdout).toMatch(/Error: the shop connection does not say whether its prices include VAT \(priceIncludesVat\)/);
    expect(run.stdout).toContain('Try: Run `erp-sync connect shop --set priceIncludesVat=true`');
    expect(shop.marketplace.offers.size).toBe(0);

    // The command works as printed: it updates the saved connection, and the next run goes through.
    const fix = await shop.cli(['connect', 'shop', '--set', 'priceIncludesVat=true', '--yes', '--no-test']);
    expect(fix.code, fix.stderr).toBe(0);
    expect(new ConfigStore(shop.home).connection('shop')).toMatchObject({ driver: 'csv', settings: { path: file, priceIncludesVat: 'true' } });
    expect((await shop.cli(['run', '--connection', 'shop'])).code).toBe(0);
    expect(shop.marketplace.offers.size).toBeGreaterThan(0);
  });

  it.runIf(runs)('at a terminal: asks with no answer chosen, and Enter alone does not choose one', async () => {
    shop = await exportingShop();
    const term = startOnTerminal(['connect', 'csv', '--name', 'shop', '--secret-store', 'file'], shop.env);
    let at = await term.waitFor(/Connect: CSV \/ Excel file → "shop"/);
    at = await term.waitFor(/File/, at);
    await term.type(file);
    await term.type(keys.enter);
    // The column settings, the preset and the VAT rate keep their defaults.
    for (const label of ['Barcode column', 'Stock code \\(SKU\\) column', 'Product name column', 'Price column', 'Stock column', 'VAT column', 'Currency column', 'Export of', 'VAT rate \\(%\\)']) {
      at = await term.waitFor(new RegExp(`\\? ${label}`), at);
      await term.type(keys.enter);
    }
    at = await term.waitFor(/A spreadsheet does not say whether its prices include VAT\. Yes \(true\): KDV dahil, No \(false\): KDV hariç\./, at);
    at = await term.waitFor(/Prices include VAT[\s\S]*\(choose one: this setting has no default\)/, at);
    await term.type(keys.enter);
    at = await term.waitFor(/This setting has no default: choose one of the answers\./, at);
    at = await term.waitFor(/Prices include VAT/, at);
    await term.type(DOWN);
    await term.type(DOWN);
    await term.type(keys.enter);
    at = await term.waitFor(/Currency/, at);
    await term.type(keys.enter);
    await term.waitFor(/Saved connection "shop"/, at);
    expect(await term.exited).toBe(0);
    expect(plain(term.screen)).toMatch(/Prices include VAT No/);
    expect(shop.config().connections?.shop?.settings).toMatchObject({ priceIncludesVat: 'false', path: file });
  });

  it.runIf(runs)('in Turkish the answers read Evet and Hayır, and are saved as true and false', async () => {
    shop = await exportingShop();
    const term = startOnTerminal(['--lang', 'tr', 'connect', 'csv', '--name', 'dukkan', '--secret-store', 'file', '--set', `path=${file}`], shop.env);
    let at = await term.waitFor(/Bağlan: .* → "dukkan"/);
    for (const label of ['Barkod sütunu', 'Stok kodu sütunu', 'Ürün adı sütunu', 'Fiyat sütunu', 'Stok sütunu', 'KDV sütunu', 'Para birimi sütunu', 'Dışa aktaran ERP', 'KDV oranı']) {
      at = await term.waitFor(new RegExp(`\\? ${label}`), at);
      await term.type(keys.enter);
    }
    at = await term.waitFor(/Evet \(true\): KDV dahil, Hayır \(false\): KDV hariç\./, at);
    at = await term.waitFor(/Fiyatlar KDV dahil[\s\S]*Evet[\s\S]*Hayır/, at);
    await term.type(DOWN);
    await term.type(keys.enter);
    at = await term.waitFor(/Para birimi/, at);
    await term.type(keys.enter);
    await term.waitFor(/"dukkan" bağlantısı kaydedildi/, at);
    expect(await term.exited).toBe(0);
    expect(plain(term.screen)).toMatch(/Fiyatlar KDV dahil Evet/);
    expect(shop.config().connections?.dukkan?.settings).toMatchObject({ priceIncludesVat: 'true' });
  });
});
