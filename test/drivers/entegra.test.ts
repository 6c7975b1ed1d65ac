import { afterEach, describe, expect, it } from 'vitest';
import { entegra } from '../../drivers/entegra.js';
import { setLanguage } from '../../src/i18n/index.js';
import { createDriverContext } from '../../src/driver/context.js';
import { barcodeMultiset, contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import type { ConnectionMistake } from '../support/driver-contract.js';
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
    expect(variants).toEqual([
      expect.objectContaining({ sku: 'ENT-1-1', barcode: '8690000010103', stock: '2', price: '100.90', name: 'Büyük Çaydanlık 1 (Yeşil, M)' }),
      expect.objectContaining({ sku: 'ENT-1-2', barcode: '8690000010202', stock: '4', price: '150.50', name: 'Büyük Çaydanlık 1 (Gümüş Gri, L)' }),
    ]);
    expect(candidates).toHaveLength(fake.expectedBarcodes.length);
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

  it('pages until an empty page when totalProduct is missing', async () => {
    const { fake, ctx } = await run({ products: 20, omitTotal: true, pageSize: 5 });
    const { candidates, pages } = await pullAll(entegra, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
    expect(pages).toBe(4);
    // Pages are taken in order up to the first empty one (page 5), after the first wave of pages asked at once.
    const asked = fake.requests.filter((r) => r.kind === 'catalog').map((r) => Number(/page=(\d+)/.exec(r.url)![1]));
    expect(asked.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  });

  it('defaults to the 7200 requests an hour one client documents', () => {
    const ctx = createDriverContext({ driver: entegra, connection: 'default' });
    cleanups.push(() => ctx.close());
    expect(ctx.baseUrl).toBe('https://apiv2.entegrabilisim.com');
    expect(ctx.http.limiter?.limit).toBe(7200);
    expect(entegra.rateLimit).toEqual({ requests: 7200, perMs: 3_600_000 });
  });
});
