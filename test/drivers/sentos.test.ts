import { afterEach, describe, expect, it } from 'vitest';
import { sentos } from '../../drivers/sentos.js';
import { setLanguage } from '../../src/i18n/index.js';
import { barcodeMultiset, contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import type { ContractContext } from '../support/driver-contract.js';
import { jsonFixture } from '../fakes/common.js';
import { money, sentosConnection as connection, sentosCredentials, startSentosFake } from '../fakes/sentos.js';
import type { SentosFake, SentosKnobs, SentosProduct } from '../fakes/sentos.js';

describe('sentos driver', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  async function setup(knobs: SentosKnobs, settings: Record<string, string> = {}, secrets?: Record<string, string>): Promise<{ fake: SentosFake; ctx: ContractContext }> {
    const fake = await startSentosFake(knobs);
    const conn = connection(undefined, settings);
    const ctx = contractContext(sentos, fake.baseUrl, secrets ? { ...conn, secrets } : conn);
    cleanups.push(async () => {
      await ctx.close();
      await fake.close();
    });
    return { fake, ctx };
  }

  it('authenticates with HTTP Basic and sends page, size and pageSize on every request', async () => {
    const { fake, ctx } = await setup({ products: 12 });
    await pullAll(sentos, ctx);
    const expected = `Basic ${Buffer.from(`${sentosCredentials.apiKey}:${sentosCredentials.apiSecret}`).toString('base64')}`;
    expect(fake.requests.length).toBe(3);
    const pages = fake.requests.map((r) => {
      const url = new URL(r.url, 'http://x');
      expect(r.headers.authorization).toBe(expected);
      expect(url.pathname).toBe('/api/products');
      expect(url.searchParams.get('size')).toBe('5');
      expect(url.searchParams.get('pageSize')).toBe('5');
      return Number(url.searchParams.get('page'));
    });
    expect(pages.sort()).toEqual([1, 2, 3]);
  });

  const shapes: Array<[string, SentosKnobs]> = [
    ['the server reads size', { pageSizeParam: 'size' }],
    ['the server reads pageSize', { pageSizeParam: 'pageSize' }],
    ['the list is a bare array without totals', { envelope: 'bare' }],
    ['a bare array, and the server ignores both page-size names', { envelope: 'bare', pageSizeParam: 'none', serverPageSize: 4 }],
    ['only total_pages', { totals: 'pages' }],
    ['only total_elements', { totals: 'elements' }],
    ['{data} without totals', { totals: 'none' }],
  ];
  it.each(shapes)('pulls the whole catalog exactly once when %s', async (_label, knobs) => {
    const { fake, ctx } = await setup({ products: 23, variants: true, ...knobs });
    const result = await pullAll(sentos, ctx);
    expect(barcodeMultiset(result.candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
    expect(result.records).toHaveLength(23);
  });

  it('reads Turkish-formatted and plain decimal prices alike, exactly', async () => {
    for (const decimals of ['tr', 'plain'] as const) {
      const { fake, ctx } = await setup({ products: 20, decimals });
      const { candidates } = await pullAll(sentos, ctx);
      expect(fake.products[9]!.sale_price).toBe(decimals === 'tr' ? '2.110,95' : '2110.95');
      const prices = new Map(candidates.map((c) => [c.sku, c.price]));
      expect(prices).toEqual(new Map(fake.products.map((p, i) => [p.sku, money(99_990 + i * 12_345, 'plain')])));
    }
  });

  it('passes the currency on as Sentos spells it, TL or TRY', async () => {
    for (const currency of ['TL', 'TRY'] as const) {
      const { ctx } = await setup({ products: 3, currency });
      const { candidates } = await pullAll(sentos, ctx);
      expect(candidates.map((c) => c.currency)).toEqual([currency, currency, currency]);
    }
  });

  it('sums stock over all warehouses, whether a warehouse is a number or {id, name}', async () => {
    for (const warehouseShape of ['number', 'object'] as const) {
      const { fake, ctx } = await setup({ products: 9, variants: true, warehouseShape });
      const { candidates } = await pullAll(sentos, ctx);
      expect(typeof fake.products[1]!.stocks[0]!.warehouse).toBe(warehouseShape);
      // Product 1 has 1 + 3; product 3's variants S and M have 1 + 10 and 2 + 20.
      expect(candidates.find((c) => c.sku === 'SNT-2')?.stock).toBe('4');
      expect(candidates.find((c) => c.sku === 'SNT-4-S')?.stock).toBe('11');
      expect(candidates.find((c) => c.sku === 'SNT-4-M')?.stock).toBe('22');
    }
  });

  it('takes stock from the chosen warehouse, by id or by name in any Turkish case', async () => {
    const cases: Array<[SentosKnobs['warehouseShape'], string]> = [
      ['number', '2'],
      ['object', '2'],
      ['object', 'ŞİŞLİ ŞUBE'],
    ];
    for (const [warehouseShape, warehouse] of cases) {
      const { ctx } = await setup({ products: 9, variants: true, warehouseShape }, { warehouse });
      const { candidates } = await pullAll(sentos, ctx);
      expect(candidates.find((c) => c.sku === 'SNT-2')?.stock).toBe('3');
      expect(candidates.find((c) => c.sku === 'SNT-4-M')?.stock).toBe('20');
    }
  });

  it('fails with a configuration error when the chosen warehouse holds no product', async () => {
    const { ctx } = await setup({ products: 9, warehouseShape: 'object' }, { warehouse: 'Ankara Depo' });
    const failure = await expectFailure(pullAll(sentos, ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toContain('Ankara Depo');
  });

  it('makes each variant an offer with its own SKU, barcode and name', async () => {
    const { fake, ctx } = await setup({ products: 4, variants: true });
    const { candidates } = await pullAll(sentos, ctx);
    const parent = fake.products[0]!;
    const variants = candidates.filter((c) => String(c.sku).startsWith('SNT-1-'));
    expect(variants).toEqual([
      expect.objectContaining({ sku: 'SNT-1-S', barcode: parent.variants![0]!.barcode, name: `${parent.name} - Kırmızı / S`, price: '999.90' }),
      expect.objectContaining({ sku: 'SNT-1-M', barcode: parent.variants![1]!.barcode, name: `${parent.name} - Kırmızı / M`, price: '999.90' }),
    ]);
    expect(candidates.some((c) => c.barcode === parent.barcode)).toBe(false);
  });

  it('applies the VAT settings where products carry no rate: 20 % by default, and whether prices include VAT as the connection says', async () => {
    const defaults = await setup({ products: 2 });
    const byDefault = await pullAll(sentos, defaults.ctx);
    expect(byDefault.candidates.map((c) => [c.vatRate, c.priceIncludesVat, c.active])).toEqual([
      ['20', true, undefined],
      ['20', true, undefined],
    ]);
    const custom = await setup({ products: 2 }, { vatRate: '10', priceIncludesVat: 'hayır' });
    const configured = await pullAll(sentos, custom.ctx);
    expect(configured.candidates.map((c) => [c.vatRate, c.priceIncludesVat])).toEqual([
      ['10', false],
      ['10', false],
    ]);
  });

  it('takes a product’s own vat_rate, number or string, over the vatRate setting, for its variants too', async () => {
    const { fake, ctx } = await setup({ products: 7, variants: true, vatRates: true }, { vatRate: '18' });
    const { candidates } = await pullAll(sentos, ctx);
    expect(fake.products.map((p) => p.vat_rate)).toEqual([10, '20', 20, '1', 10, '20', 20]);
    const bySku = new Map(candidates.map((c) => [c.sku, c.vatRate]));
    expect([bySku.get('SNT-1-S'), bySku.get('SNT-1-M'), bySku.get('SNT-2'), bySku.get('SNT-3'), bySku.get('SNT-4-S'), bySku.get('SNT-6')]).toEqual(['10', '10', '20', '20', '1', '20']);
  });

  it('reads a page shaped like Sentos’s answer: Turkish decimals, warehouses as objects, a VAT rate on some products', async () => {
    const fixture = jsonFixture<{ data: SentosProduct[] }>('sentos/products-page.json');
    const { ctx } = await setup({ catalog: fixture.data });
    const { candidates } = await pullAll(sentos, ctx);
    expect(candidates.map((c) => [c.sku, c.price, c.stock, c.vatRate, c.currency])).toEqual([
      ['KZK-01-S', '1299.90', '3', '10', 'TL'],
      ['KZK-01-M', '1299.90', '0', '10', 'TL'],
      ['FNC-6', '849.50', '12', '20', 'TL'],
      ['HVL-2', '249', '7', '20', 'TRY'],
    ]);
  });

  it('refuses a VAT rate that is not a number before asking Sentos anything', async () => {
    const { fake, ctx } = await setup({ products: 2 }, { vatRate: 'yirmi' });
    const failure = await expectFailure(sentos.testConnection(ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toContain('yirmi');
    expect(fake.requests).toHaveLength(0);
  });

  it('uses its default rate limit unless the connection sets one', async () => {
    const { ctx } = await setup({ products: 1 });
    expect(ctx.http.limiter?.limit).toBe(sentos.rateLimit.requests);
    const { ctx: custom } = await setup({ products: 1 }, { rateLimit: '2/1s' });
    expect(custom.http.limiter?.limit).toBe(2);
  });

  it('says which secret is missing', async () => {
    const { ctx } = await setup({ products: 1 }, {}, { apiKey: sentosCredentials.apiKey });
    const failure = await expectFailure(sentos.testConnection(ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toMatch(/API secret/);
  });

  it('points at the API URL when the tenant address answers 404', async () => {
    const { fake } = await setup({ products: 1 });
    const wrong = contractContext(sentos, fake.baseUrl.replace(/\/api$/, '/panel'), connection());
    cleanups.push(() => wrong.close());
    const failure = await expectFailure(sentos.testConnection(wrong));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toMatch(/404/);
    expect(failure.hint).toMatch(/base URL/);
  });

  it('says in Turkish that Sentos rejected the API key or secret, when the process runs in Turkish', async () => {
    const { ctx } = await setup({ products: 1 }, {}, connection('wrong-credentials').secrets);
    setLanguage('tr');
    const failure = await expectFailure(sentos.testConnection(ctx));
    expect(failure.exitCode).toBe(77);
    expect(failure.message).toMatch(/: Sentos API anahtarını ya da API gizli anahtarını reddetti \(HTTP 401\)\.$/);
    expect(failure.hint).toBe('API anahtarını ve API gizli anahtarını Sentos panelinden tekrar kopyalayıp yeniden bağlanın.');
  });

  it('says in Turkish that the chosen warehouse holds no product', async () => {
    const { ctx } = await setup({ products: 9, warehouseShape: 'object' }, { warehouse: 'Ankara Depo' });
    setLanguage('tr');
    const failure = await expectFailure(pullAll(sentos, ctx));
    expect(failure.message).toMatch(/^"Ankara Depo" deposunda stoku olan ürün yok \(\d+ stok satırı okundu\)$/);
    expect(failure.hint).toMatch(/^warehouse ayarına bir Sentos deposunun/);
  });
});
