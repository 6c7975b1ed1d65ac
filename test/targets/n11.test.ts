import { afterEach, describe, expect, it } from 'vitest';
import { n11 } from '../../src/marketplace/n11.js';
import { SubmitRefused } from '../../src/marketplace/target.js';
import type { TargetItem } from '../../src/marketplace/target.js';
import type { SandboxN11Options } from '../../src/sandbox/n11.js';
import { SandboxN11 } from '../../src/sandbox/n11.js';
import { n11Account, n11Connection } from '../support/target-accounts.js';
import { offer, openOn, outcomeOf, pollUntilSettled, projected } from '../support/target-contract.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function start(options: Partial<SandboxN11Options> = {}, settings: Record<string, string> = {}) {
  const fake = await new SandboxN11({ ...n11Account, keepHistory: true, ...options }).start();
  const target = openOn(n11, fake, n11Connection, settings);
  cleanups.push(target.close);
  return { fake, ...target };
}

function listed(fake: SandboxN11, count: number, settings: Record<string, string> = {}): TargetItem[] {
  return Array.from({ length: count }, (_, i) => {
    const o = offer(i + 1, { stock: 10 + i });
    fake.listProduct({ barcode: o.barcode, sku: o.sku, stock: 1, price: '10.00' });
    return projected(n11, o, settings);
  });
}

describe('N11: the body', () => {
  it('writes prices with a dot and exactly two decimals, list and sale price together, byte for byte', async () => {
    const { fake, session } = await start();
    const items = [
      projected(n11, offer(1, { price: '12.50' })),
      projected(n11, offer(2, { price: '7.00', stock: 0 })),
      projected(n11, offer(3, { price: '1249.90', priceIncludesVat: false, vatRate: 10 })),
    ];
    for (const o of [offer(1), offer(2), offer(3)]) fake.listProduct({ barcode: o.barcode, sku: o.sku });
    await session.submit(items);
    expect(fake.stats.requests.at(-1)!.body).toBe(
      '{"payload":{"integrator":"erp-sync","skus":[' +
        '{"stockCode":"SKU-1","listPrice":12.50,"salePrice":12.50,"quantity":5,"currencyType":"TL"},' +
        '{"stockCode":"SKU-2","listPrice":7.00,"salePrice":7.00,"quantity":0,"currencyType":"TL"},' +
        '{"stockCode":"SKU-3","listPrice":1374.89,"salePrice":1374.89,"quantity":5,"currencyType":"TL"}]}}',
    );
  });

  it('sends the integrator and the currency code set', async () => {
    const { fake, session } = await start({ currencyTypes: ['TRY'] }, { integrator: 'MagazaYazilim', currencyType: 'TRY' });
    const items = listed(fake, 1, { currencyType: 'TRY' });
    await session.submit(items);
    expect(JSON.parse(fake.stats.requests.at(-1)!.body)).toMatchObject({ payload: { integrator: 'MagazaYazilim', skus: [{ currencyType: 'TRY' }] } });
    expect(() => n11.project(offer(1), { currencyType: 'USD' })).toThrow(/currencyType/);
  });

  it('a task N11 REJECTs is SubmitRefused batch, with its reasons: here a currency code it does not take', async () => {
    const { fake, session } = await start({ currencyTypes: ['TRY'] });
    const items = listed(fake, 2);
    const refused = await session.submit(items).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SubmitRefused);
    expect(refused).toMatchObject({ reason: 'batch', marketplaceText: 'currencyType TL is not valid' });
    expect((refused as Error).message).toContain('REJECT');
    expect(fake.stats.submissions).toBe(0);
  });
});

describe('N11: results', () => {
  it('reads a task\'s result page by page', async () => {
    const { fake, session } = await start({ maxDetailPageSize: 40 });
    const items = listed(fake, 250);
    fake.faults.failItems.set('SKU-201', 'Ürün satışa kapalı');
    const answer = await pollUntilSettled(session, await session.submit(items), items);
    expect(answer.state === 'done' && answer.outcomes).toHaveLength(250);
    expect(outcomeOf(answer, items[200]!.barcode)).toMatchObject({ status: 'rejected', marketplaceText: 'Ürün satışa kapalı' });
    expect(outcomeOf(answer, items[249]!.barcode)).toEqual({ barcode: items[249]!.barcode, status: 'applied' });
    // One pending poll, then 7 pages of 40.
    expect(fake.stats.requestsPerEndpoint.get('task-details')).toBe(8);
  });

  it('answers expired for a task N11 no longer knows', async () => {
    const { fake, session } = await start();
    expect(await session.poll('880999999', listed(fake, 1))).toEqual({ state: 'expired' });
  });

  it('refuses an offer without a stock code: SKU_MISSING', () => {
    const projection = n11.project(offer(4, { sku: '' }), {});
    expect(!projection.ok && projection.problem.code).toBe('SKU_MISSING');
  });
});

describe('N11: current values', () => {
  it('reads a small catalog whole', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 12);
    const states = await session.current(items.slice(0, 3));
    expect([...states.values()]).toEqual(['differs', 'differs', 'differs']);
    expect(fake.stats.requestsPerEndpoint.get('product-query')).toBe(1);
  });

  it('asks for each stock code when reading the catalog would take more requests', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 1000);
    const wanted = [items[600]!, projected(n11, offer(5000))];
    fake.listProduct({ barcode: wanted[0]!.barcode, sku: wanted[0]!.key, stock: 610, price: '149.90' });
    const states = await session.current(wanted);
    expect(Object.fromEntries(states)).toEqual({ [wanted[0]!.barcode]: 'matches', [wanted[1]!.barcode]: 'not_listed' });
    const queries = fake.stats.requests.filter((r) => r.endpoint === 'product-query').map((r) => new URL(r.url, 'http://n11').searchParams.get('stockCode'));
    expect(queries.sort()).toEqual(['SKU-5000', 'SKU-601', null].sort());
  });

  it('reads the catalog when that takes no more requests than asking for each', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 1000);
    const states = await session.current([items[300]!, items[600]!, items[900]!]);
    expect([...states.values()]).toEqual(['differs', 'differs', 'differs']);
    const queries = fake.stats.requests.filter((r) => r.endpoint === 'product-query').map((r) => new URL(r.url, 'http://n11').searchParams.get('page'));
    expect(queries.sort()).toEqual(['0', '1', '2', '3']);
  });
});
