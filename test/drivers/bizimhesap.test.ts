import { afterEach, describe, expect, it } from 'vitest';
import { bizimhesap } from '../../drivers/bizimhesap.js';
import { setLanguage } from '../../src/i18n/index.js';
import { barcodeMultiset, contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import type { ContractConnection, ContractContext } from '../support/driver-contract.js';
import { bizimhesapConnection, bizimhesapToken, productId, startBizimhesapFake } from '../fakes/bizimhesap.js';
import type { BizimhesapFake, BizimhesapKnobs } from '../fakes/bizimhesap.js';

const connection = (settings: Record<string, string> = {}, token = bizimhesapToken): ContractConnection => ({ ...bizimhesapConnection(settings), secrets: { token } });

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

  it('sends the token header, and the firm id as Key when one is set', async () => {
    const plain = await setup({ products: 2 });
    await pullAll(bizimhesap, plain.ctx);
    expect(plain.fake.requests.map((r) => [r.url, r.headers.token, r.headers.key])).toEqual([['/api/b2b/products', bizimhesapToken, undefined]]);
    const firm = await setup({ products: 2 }, { firmId: 'F-4711' });
    await bizimhesap.testConnection(firm.ctx);
    await pullAll(bizimhesap, firm.ctx);
    expect(firm.fake.requests.map((r) => r.headers.key)).toEqual(['F-4711', 'F-4711']);
  });

  it('maps code, title, tax, isActive, variant and price as Bizimhesap writes them', async () => {
    const { fake, ctx } = await setup({ products: 12, variants: true });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(candidates).toHaveLength(12);
    candidates.forEach((c, i) => {
      const p = fake.product(i);
      expect(c).toMatchObject({ barcode: p.barcode, sku: p.code, currency: 'TL', vatRate: String(p.tax), stock: String(p.quantity), priceIncludesVat: true });
      expect(c.active).toBe(p.isActive === 1);
      expect(c.price).toBe(p.variantPrice !== '' ? p.variantPrice : String(p.price));
      expect(c.name).toBe(p.variant ? `${p.title} - ${p.variant}` : p.title);
    });
    expect(candidates[9]!.active).toBe(false);
    expect(candidates[2]!.price).toBe('1298.5');
    expect(candidates[1]!.name).toMatch(/ - Kırmızı$/);
  });

  it('takes stock from the chosen warehouse, fetched once before the catalog, 0 where it lists nothing', async () => {
    const { fake, ctx } = await setup({ products: 10 }, { warehouseId: 'w-1' });
    const { candidates } = await pullAll(bizimhesap, ctx);
    expect(fake.requests.map((r) => r.url)).toEqual(['/api/b2b/inventory/w-1', '/api/b2b/products']);
    const stocked = fake.inventory.get('w-1')!;
    candidates.forEach((c, i) => expect(c.stock).toBe(String(stocked.get(productId(i)) ?? 0)));
    expect(candidates[4]!.stock).toBe('0');
    expect(fake.product(4).quantity).not.toBe(0);
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
