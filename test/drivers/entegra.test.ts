import { afterEach, describe, expect, it } from 'vitest';
import { entegra } from '../../drivers/entegra.js';
import { setLanguage } from '../../src/i18n/index.js';
import { createDriverContext } from '../../src/driver/context.js';
import { barcodeMultiset, contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import type { ConnectionMistake } from '../support/driver-contract.js';
import { jsonFixture } from '../fakes/common.js';
import { entegraConnection as connect, startEntegraFake } from '../fakes/entegra.js';
import type { EntegraKnobs } from '../fakes/entegra.js';

describe('entegra driver', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  async function run(knobs: EntegraKnobs, settings: Record<string, string> = {}, mistake?: ConnectionMistake) {
    const fake = await startEntegraFake(knobs);
    const ctx = contractContext(entegra, fake.baseUrl, connect(fake, mistake), settings);
    cleanups.push(async () => {
      await ctx.close();
      await fake.close();
    });
    return { fake, ctx };
  }

  it.each(['productList', 'porductList'] as const)('reads the product list under %s', async (listKey) => {
    const { fake, ctx } = await run({ products: 23, listKey });
    const { candidates } = await pullAll(entegra, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
  });

  it.each(['TRL', 'TL'] as const)('leaves the currency %s as sent, for the validator to map', async (currency) => {
    const { ctx } = await run({ products: 4, currency });
    const { candidates } = await pullAll(entegra, ctx);
    expect(new Set(candidates.map((c) => c.currency))).toEqual(new Set([currency]));
  });

  it('reads values that all arrive as strings, totalProduct included', async () => {
    const { ctx } = await run({ products: 8, totalAsString: true, pageSize: 3 });
    const { records, candidates } = await pullAll(entegra, ctx);
    expect(records).toHaveLength(8);
    for (const record of records as Array<Record<string, unknown>>) {
      for (const key of ['id', 'quantity', 'kdv_id', 'price1', 'status']) expect(typeof record[key]).toBe('string');
    }
    const seventh = candidates[6]!;
    expect(seventh).toMatchObject({ sku: 'ENT-7', price: '106.90', vatRate: '20', stock: '9', active: false, priceIncludesVat: false, currency: 'TRL' });
    expect(candidates[3]).toMatchObject({ sku: 'ENT-4', vatRate: '10', stock: '6', active: true });
  });

  it('sells at the chosen price slot and says whether it includes VAT', async () => {
    const { ctx } = await run({ products: 2 }, { priceField: 'price3', priceIncludesVat: 'true' });
    const { candidates } = await pullAll(entegra, ctx);
    expect(candidates.map((c) => [c.price, c.priceIncludesVat])).toEqual([
      ['90.25', true],
      ['91.25', true],
    ]);
  });

  it('makes each entry of variatios an offer with its own barcode, stock and price, and drops the parent', async () => {
    const { fake, ctx } = await run({ products: 4, variants: true });
    const { records, candidates } = await pullAll(entegra, ctx);
    const parent = (records as Array<Record<string, unknown>>).find((r) => r.productCode === 'ENT-1')!;
    expect(candidates.map((c) => c.barcode)).not.toContain(parent.barcode);
    const variants = candidates.filter((c) => c.sku?.toString().startsWith('ENT-1-'));
    // The product sells at 100.90; its second variant's price of 10.0000 is a difference from that.
    expect(variants).toEqual([
      expect.objectContaining({ sku: 'ENT-1-1', barcode: '8690000010103', stock: '2', price: '100.90', name: 'Büyük Çaydanlık 1 (Yeşil, M)' }),
      expect.objectContaining({ sku: 'ENT-1-2', barcode: '8690000010202', stock: '4', price: '110.9', name: 'Büyük Çaydanlık 1 (Gümüş Gri, L)' }),
    ]);
    expect(candidates).toHaveLength(fake.expectedBarcodes.length);
  });

  it('prices a variant at its own price slot, else at the product price adjusted by price and price_prefix, never at the difference alone', async () => {
    const { ctx } = await run({ catalog: jsonFixture('entegra/variant-prices.json'), pageSize: 2 });
    const { candidates } = await pullAll(entegra, ctx);
    expect(new Map(candidates.map((c) => [c.sku, c.price]))).toEqual(
      new Map([
        ['TSH-100-KRM-S', '110'], // 100.0000 + 10.0000
        ['TSH-100-KRM-M', '100.0000'], // a difference of 0.0000: the product's price, not a zero price
        ['TSH-100-KRM-XS', '95'], // price_prefix '-'
        ['TSH-100-SYH-XL', '149.9000'], // its own price1
        ['TSH-100-SYH-L', '100.0000'], // empty price and slots
        ['KUP-7', '59.9000'],
        ['SAL-3', '450.0000'],
      ]),
    );
    const other = await run({ catalog: jsonFixture('entegra/variant-prices.json') }, { priceField: 'price2' });
    const bySlot = new Map((await pullAll(entegra, other.ctx)).candidates.map((c) => [c.sku, c.price]));
    expect(bySlot.get('TSH-100-KRM-S')).toBe('130');
    expect(bySlot.get('TSH-100-SYH-XL')).toBe('130');
  });

  it('hands an unreadable variant price difference on for the validator to report', () => {
    const record = { name: 'Kupa', price1: '50.00', currencyType: 'TRL', kdv_id: '20', status: '1', variatios: [{ barcode: '8690000000012', price: 'on lira', quantity: '1' }] };
    expect(entegra.mapRecord(record, { settings: { priceIncludesVat: 'true' } })[0]).toMatchObject({ price: 'on lira', priceIncludesVat: true });
  });

  it('accepts a login answered 200 as well as 201', async () => {
    const { fake, ctx } = await run({ products: 3, loginStatus: 200 });
    const { candidates } = await pullAll(entegra, ctx);
    expect(candidates).toHaveLength(3);
    expect(fake.requests.find((r) => r.kind === 'auth')?.status).toBe(200);
  });

  it('reports a login rejected with 400 as wrong credentials (exit 77)', async () => {
    const { ctx } = await run({ wrongLoginStatus: 400 }, {}, 'wrong-credentials');
    const failure = await expectFailure(entegra.testConnection(ctx));
    expect(failure.exitCode).toBe(77);
    expect(failure.message).toMatch(/wrong e-mail or password/);
  });

  it('reports rejected credentials in Turkish when the process runs in Turkish', async () => {
    const { fake, ctx } = await run({ wrongLoginStatus: 401 }, {}, 'wrong-credentials');
    setLanguage('tr');
    const failure = await expectFailure(entegra.testConnection(ctx));
    expect(failure.exitCode).toBe(77);
    expect(failure.message).toBe(`Entegra ${fake.email} e-posta adresini bu şifreyle kabul etmedi (e-posta ya da şifre yanlış)`);
    expect(failure.hint).toMatch(/^Entegra’ya giriş yaparak bilgileri kontrol edin, ardından `erp-sync connect .+` komutunu yeniden çalıştırın\.$/);
  });

  it('sends the token as "JWT <access>" and logs in with e-mail and password as JSON', async () => {
    const { fake, ctx } = await run({ products: 3 });
    await pullAll(entegra, ctx);
    const login = fake.requests.find((r) => r.kind === 'auth')!;
    expect(JSON.parse(login.body)).toEqual({ email: fake.email, password: fake.password });
    const catalog = fake.requests.filter((r) => r.kind === 'catalog');
    expect(catalog.map((r) => r.url)).toContain('/product/page=1/');
    for (const request of catalog) expect(request.headers.authorization).toMatch(/^JWT jwt-1-/);
  });

  it('logs in again when the refresh token is refused mid-run', async () => {
    const { fake, ctx } = await run({ products: 35, tokenExpiresAfter: 1, rejectRefresh: true });
    const { candidates } = await pullAll(entegra, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
    expect(fake.requests.filter((r) => r.kind === 'auth').map((r) => [r.url, r.status])).toEqual([
      ['/api/user/token/obtain/', 201],
      ['/api/user/token/refresh/', 401],
      ['/api/user/token/obtain/', 201],
    ]);
  });

  it.each(['404', 'empty', 'noList'] as const)('without totalProduct, ends the pull as complete when the page past the last answers %s', async (pastEnd) => {
    const { fake, ctx } = await run({ products: 20, omitTotal: true, pageSize: 5, pastEnd });
    const { candidates, pages } = await pullAll(entegra, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
    expect(pages).toBe(4);
    // Pages are taken in order up to the first one past the end (page 5), after the first wave of pages asked at once.
    const asked = fake.requests.filter((r) => r.kind === 'catalog').map((r) => Number(/page=(\d+)/.exec(r.url)![1]));
    expect(asked.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    if (pastEnd === '404') expect(fake.requests.find((r) => r.url === '/product/page=5/')?.status).toBe(404);
  });

  it('pulls a catalog that fits one page, with no total and a 404 for every page after it', async () => {
    const { fake, ctx } = await run({ products: 3, omitTotal: true, pageSize: 10 });
    const { candidates } = await pullAll(entegra, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
  });

  it('still fails on a 404 for the first page: there is no catalog at that address (exit 78)', async () => {
    const { ctx } = await run({ products: 3, omitTotal: true, faults: [{ from: 1, times: Infinity, kind: 'status', status: 404 }] });
    const failure = await expectFailure(pullAll(entegra, ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toMatch(/404/);
  });

  it('fails, past the first page too, on an answer that has other content but no product list', async () => {
    const { ctx } = await run({ products: 12, omitTotal: true, pageSize: 5, faults: [{ from: 2, times: Infinity, kind: 'malformed' }] });
    const failure = await expectFailure(pullAll(entegra, ctx));
    expect(failure.code).toBe('ERP_MALFORMED_RESPONSE');
  });

  it('defaults to the 7200 requests an hour one client documents', () => {
    const ctx = createDriverContext({ driver: entegra, connection: 'default' });
    cleanups.push(() => ctx.close());
    expect(ctx.baseUrl).toBe('https://apiv2.entegrabilisim.com');
    expect(ctx.http.limiter?.limit).toBe(7200);
    expect(entegra.rateLimit).toEqual({ requests: 7200, perMs: 3_600_000 });
  });
});
