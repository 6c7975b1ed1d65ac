import { afterEach, describe, expect, it } from 'vitest';
import { bizimhesap, browserUserAgent, publicKey } from '../../drivers/bizimhesap.js';
import { setLanguage } from '../../src/i18n/index.js';
import { barcodeMultiset, contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import type { ContractConnection, ContractContext } from '../support/driver-contract.js';
import { jsonFixture } from '../fakes/common.js';
import { bizimhesapConnection, bizimhesapToken, startBizimhesapFake } from '../fakes/bizimhesap.js';
import type { BizimhesapFake, BizimhesapKnobs, BizimhesapProduct, InventoryLine } from '../fakes/bizimhesap.js';

const connection = (settings: Record<string, string> = {}, token = bizimhesapToken): ContractConnection => ({ ...bizimhesapConnection(settings), secrets: { token } });

/** The rows and Ana Depo inventory of test/fakes/fixtures/bizimhesap: variant rows sharing an id, each with its own quantity. */
const fixture = {
  catalog: jsonFixture<{ data: { products: BizimhesapProduct[] } }>('bizimhesap/products.json').data.products,
  inventoryLines: { 'w-1': jsonFixture<{ data: { inventory: InventoryLine[] } }>('bizimhesap/inventory-ana-depo.json').data.inventory },
};

describe('bizimhesap driver', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  async function setup(knobs: BizimhesapKnobs, settings: Record<string, string> = {}, token = bizimhesapToken): Promise<{ fake: BizimhesapFake; ctx: ContractContext }> {
    const fake = await startBizimhesapFake(knobs);
    const ctx = contractContext(bizimhesap, fake.baseUrl, connection(settings, token));
    cleanups.push(async () => {
      await ctx.close();
      await fake.close();
    });
    return { fake, ctx };
  }

  it('streams a 100,000-product catalog in pages of 500 without waiting for the whole answer', async () => {
    const { fake, ctx } = await setup({ products: 100_000, chunkProducts: 100 });
    let first: { written: number; finished: boolean } | undefined;
    let count = 0;
    let largest = 0;
    const barcodes = new Set<string>();
    for await (const page of bizimhesap.pullPages(ctx)) {
      first ??= { ...fake.progress };
      count += page.records.length;
      largest = Math.max(largest, page.records.length);
      for (const record of page.records) for (const c of bizimhesap.mapRecord(record, ctx)) barcodes.add(String(c.barcode));
    }
    expect(count).toBe(100_000);
    expect(barcodes.size).toBe(100_000);
    expect(largest).toBe(500);
    expect(first!.finished).toBe(false);
    expect(first!.written).toBeLessThan(50_000);
    expect(fake.progress.finished).toBe(true);
  });

  it('sends the token, the documented public Key and a browser’s User-Agent, or the ones the connection sets', async () => {
    const plain = await setup({ products: 2 });
    await pullAll(bizimhesap, plain.ctx);
    expect(plain.fake.requests.map((r) => [r.url, r.headers.token, r.headers.key, r.headers['user-agent']])).toEqual([['/api/b2b/products', bizimhesapToken, publicKey, browserUserAgent]]);
    const own = await setup({ products: 2 }, { key: 'F-4711', userAgent: 'Dukkan/1.0' });
    await bizimhesap.testConnection(own.ctx);
    await pullAll(bizimhesap, own.ctx);
    expect(own.fake.requests.map((r) => [r.headers.key, r.headers['user-agent']])).toEqual([
      ['F-4711', 'Dukkan/1.0'],
      ['F-4711', 'Dukkan/1.0'],
    ]);
    // A connection saved when the Key header was the firmId setting keeps sending it.
    const older = await setup({ products: 1 }, { firmId: 'F-0042' });
    await pullAll(bizimhesap, older.ctx);
    expect(older.fake.requests.map((r) => r.headers.key)).toEqual(['F-0042']);
  });

  it('says the firewall refused the User-Agent (Cloudflare error 1010), and which setting to change: exit 78', async () => {
    const { fake, ctx } = await setup({ products: 2, firewall: true }, { userAgent: 'erp-sync' });
    for (const failure of [await expectFailure(bizimhesap.testConnection(ctx)), await expectFailure(pullAll(bizimhesap, ctx))]) {
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toMatch(/firewall in front of Bizimhesap \(Cloudflare\) refused .*error 1010/);
      expect(failure.hint).toContain('--set userAgent=');
    }
    expect(fake.requests.map((r) => r.status)).toEqual([403, 403]);
    const browser = await setup({ products: 2, firewall: true });
    expect((await pullAll(bizimhesap, browser.ctx)).candidates).toHaveLength(2);
  });

  it('maps code, title, tax, isActive, variant and price as Bizimhesap writes them', async () => {
    const { fake, ctx } = await setup({ products: 16, variants: true });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(candidates).toHaveLength(16);
    const zero = (value: string | number) => value === '' || Number(value) === 0;
    candidates.forEach((c, i) => {
      const p = fake.product(i);
      expect(c).toMatchObject({ barcode: p.barcode, sku: p.code, currency: 'TL', vatRate: String(p.tax), stock: String(p.quantity), priceIncludesVat: true });
      expect(c.active).toBe(p.isActive === 1);
      expect(c.price).toBe(zero(p.variantPrice) ? String(p.price) : p.variantPrice);
      expect(c.name).toBe(p.variant ? `${p.title} - ${p.variant}` : p.title);
    });
    expect(candidates[9]!.active).toBe(false);
    expect(candidates[3]!.price).toBe('1298.75');
    expect(candidates[1]!.name).toMatch(/ - Kırmızı$/);
    // Variant rows 1 and 2 are one product: one id, and each its own quantity.
    expect(fake.product(1).id).toBe(fake.product(2).id);
    expect([candidates[1]!.stock, candidates[2]!.stock]).toEqual(['1', '2']);
  });

  it('reads variant rows that share an id, each at its own quantity, and a variantPrice of 0, "0" or "" as the product’s price', async () => {
    const { ctx } = await setup(fixture);
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(candidates.map((c) => [c.sku, c.name, c.price, c.stock])).toEqual([
      ['', 'Proje danışmanlık', '15.99', '0'],
      ['TV001', 'LED Televizyon', '1298', '12'],
      ['GML-L-KRM', 'Gömlek - L-KIRMIZI', '299.9', '5'],
      ['GML-L-YSL', 'Gömlek - L-YEŞİL', '299.9', '2'],
      ['GML-XL-KRM', 'GÖMLEK - XL-KIRMIZI', '299.9', '0'],
      ['GML-XXL-SYH', 'Gömlek - XXL-SİYAH', '349.90', '1'],
    ]);
  });

  it('takes each variant row’s stock from its own line of the warehouse’s inventory, matched by title under the shared id', async () => {
    const { fake, ctx } = await setup(fixture, { warehouseId: 'w-1' });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(fake.requests.map((r) => r.url)).toEqual(['/api/b2b/inventory/w-1', '/api/b2b/products']);
    // The XL row has no line in Ana Depo, which lists the other variants: none there. The service is not stocked at all.
    expect(candidates.map((c) => [c.sku, c.stock])).toEqual([
      ['', '0'],
      ['TV001', '9'],
      ['GML-L-KRM', '3'],
      ['GML-L-YSL', '1'],
      ['GML-XL-KRM', '0'],
      ['GML-XXL-SYH', '1'],
    ]);
    expect(ctx.warnings).toEqual([]);
  });

  it('gives a variant row no stock, and warns, when the inventory cannot say which line is its own', async () => {
    const shared = fixture.catalog[2]!.id;
    const productOnly: InventoryLine[] = [
      { id: shared, title: 'Gömlek', qty: '4' },
      { id: shared, title: 'Gömlek', qty: '6' },
    ];
    const { ctx } = await setup({ ...fixture, inventoryLines: { 'w-1': productOnly } }, { warehouseId: 'w-1' });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(candidates.filter((c) => String(c.sku).startsWith('GML-')).map((c) => c.stock)).toEqual([null, null, null, null]);
    expect(ctx.warnings).toEqual([expect.stringMatching(/inventory of warehouse w-1 lists 4 products under an id shared by several rows/)]);
  });

  it('takes stock from the chosen warehouse, fetched once before the catalog, 0 where it lists nothing', async () => {
    const { fake, ctx } = await setup({ products: 12, variants: true }, { warehouseId: 'w-1' });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(fake.requests.map((r) => r.url)).toEqual(['/api/b2b/inventory/w-1', '/api/b2b/products']);
    const lines = fake.inventory.get('w-1')!;
    candidates.forEach((c, i) => {
      const row = fake.product(i);
      const line = lines.find((l) => l.id === row.id && l.title === (row.variant ? `${row.title} ${row.variant}` : row.title));
      expect(c.stock).toBe(String(line?.qty ?? 0));
    });
    expect(candidates[4]!.stock).toBe('0');
    expect(fake.product(4).quantity).not.toBe(0);
    expect(new Set([candidates[1]!.stock, candidates[2]!.stock]).size).toBe(2);
  });

  it('reports an unknown warehouse as a configuration error with Bizimhesap’s words', async () => {
    const { ctx } = await setup({ products: 3 }, { warehouseId: 'w-9' });
    for (const failure of [await expectFailure(bizimhesap.testConnection(ctx)), await expectFailure(pullAll(bizimhesap, ctx))]) {
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toContain('Depo bulunamadı');
    }
  });

  it('fails with the errorText when Bizimhesap answers resultCode 0', async () => {
    const { ctx } = await setup({ products: 3, apiError: 'Firma bilgisi alınamadı' });
    const failure = await expectFailure(pullAll(bizimhesap, ctx));
    expect(failure.code).toBe('ERP_MALFORMED_RESPONSE');
    expect(failure.message).toContain('Firma bilgisi alınamadı');
  });

  it('reads a catalog whose resultCode comes after the products', async () => {
    const { fake, ctx } = await setup({ products: 30, resultCodeLast: true });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
  });

  it('downloads the catalog again after a dropped connection and delivers each product once', async () => {
    const { fake, ctx } = await setup({ products: 3_000, dropAfter: 1_700, dropTimes: 1 });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
    expect(fake.requests.filter((r) => r.kind === 'catalog')).toHaveLength(2);
    expect(ctx.warnings.join('\n')).toMatch(/dropped .* after 1,500 products/);
  });

  it('resumes after an answer cut short on the first request', async () => {
    const { fake, ctx } = await setup({ products: 2_400, faults: [{ from: 1, times: 1, kind: 'truncate' }] });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
  });

  it('never counts a stream that keeps breaking off as complete', async () => {
    const { ctx } = await setup({ products: 3_000, dropAfter: 1_700 });
    const failure = await expectFailure(pullAll(bizimhesap, ctx));
    expect(failure.code).toBe('ERP_INCOMPLETE_PULL');
    expect(failure.exitCode).toBe(75);
    expect(failure.message).toMatch(/dropped/);
  });

  it('refuses to resume when the catalog came back in another order', async () => {
    const { ctx } = await setup({ products: 3_000, dropAfter: 1_700, dropTimes: 1, reorderOnRetry: true });
    const failure = await expectFailure(pullAll(bizimhesap, ctx));
    expect(failure.code).toBe('ERP_INCOMPLETE_PULL');
    expect(failure.message).toMatch(/changed/);
  });

  it('rides out a 429 on the product list itself', async () => {
    const { fake, ctx } = await setup({ products: 5, faults: [{ from: 1, times: 1, kind: 'status', status: 429 }] });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(candidates).toHaveLength(5);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('refuses a token that cannot be sent in a header before sending anything', async () => {
    const { fake, ctx } = await setup({ products: 1 }, {}, 'bh-token-yanlış');
    for (const failure of [await expectFailure(bizimhesap.testConnection(ctx)), await expectFailure(pullAll(bizimhesap, ctx))]) {
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toMatch(/API token contains characters/);
    }
    expect(fake.requests).toHaveLength(0);
    const agent = await setup({ products: 1 }, { userAgent: 'Dükkan Ajanı' });
    const failure = await expectFailure(pullAll(bizimhesap, agent.ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toMatch(/userAgent setting contains characters/);
    expect(agent.fake.requests).toHaveLength(0);
  });

  it('says a wrong token is wrong from testConnection', async () => {
    const { fake, ctx } = await setup({ products: 1 }, {}, 'bh-token-eski');
    const failure = await expectFailure(bizimhesap.testConnection(ctx));
    expect(failure.exitCode).toBe(77);
    expect(failure.message).toMatch(/rejected the API token/);
    expect(fake.requests.map((r) => r.url)).toEqual(['/api/b2b/warehouses']);
  });

  describe('in Turkish', () => {
    it('says a wrong token is wrong, and what to do, in Turkish', async () => {
      const { ctx } = await setup({ products: 1 }, {}, 'bh-token-eski');
      setLanguage('tr');
      const failure = await expectFailure(bizimhesap.testConnection(ctx));
      expect(failure.exitCode).toBe(77);
      expect(failure.message).toMatch(/: Bizimhesap API anahtarını reddetti( \(HTTP 401\)\.| \(.+\))$/);
      expect(failure.hint).toBe('API anahtarını Bizimhesap’tan tekrar kopyalayıp yeniden bağlanın.');
    });

    it('counts the products delivered before a dropped connection with Turkish digit grouping', async () => {
      const { ctx } = await setup({ products: 3_000, dropAfter: 1_700, dropTimes: 1 });
      setLanguage('tr');
      await pullAll(bizimhesap, ctx);
      expect(ctx.warnings.join('\n')).toMatch(/\(1\.500 ürün alındıktan sonra\); katalog yeniden indiriliyor/);
    });
  });
});
