import { afterEach, describe, expect, it } from 'vitest';
import { describeRunFailure } from '../../src/engine/failure.js';
import { TargetCode } from '../../src/marketplace/codes.js';
import { SubmitRefused } from '../../src/marketplace/target.js';
import type { TargetItem } from '../../src/marketplace/target.js';
import { trendyol } from '../../src/marketplace/trendyol.js';
import type { SandboxTrendyolOptions } from '../../src/sandbox/trendyol.js';
import { SandboxTrendyol, TRENDYOL_DUPLICATE_TEXT } from '../../src/sandbox/trendyol.js';
import { trendyolAccount, trendyolConnection } from '../support/target-accounts.js';
import { offer, openOn, outcomeOf, pollUntilSettled, projected } from '../support/target-contract.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function start(options: Partial<SandboxTrendyolOptions> = {}, settings: Record<string, string> = {}) {
  const fake = await new SandboxTrendyol({ ...trendyolAccount, keepHistory: true, ...options }).start();
  const target = openOn(trendyol, fake, trendyolConnection, settings);
  cleanups.push(target.close);
  return { fake, ...target };
}

/** Products 1..count listed on the sandbox Trendyol, and their items. */
function listed(fake: SandboxTrendyol, count: number, settings: Record<string, string> = {}): TargetItem[] {
  return Array.from({ length: count }, (_, i) => {
    const o = offer(i + 1, { stock: 10 + i });
    fake.listProduct({ barcode: o.barcode, sku: o.sku, stock: 1, price: '149.90', listPrice: '199.90' });
    return projected(trendyol, o, settings);
  });
}

describe('Trendyol: the 15-minute rule for an identical body', () => {
  it('refuses the same body within 15 minutes as SubmitRefused duplicate, in Trendyol\'s words; takes it again after', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 3);
    await session.submit(items);
    const refused = await session.submit(items).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SubmitRefused);
    expect(refused).toMatchObject({ reason: 'duplicate', marketplaceText: TRENDYOL_DUPLICATE_TEXT });
    expect((refused as Error).message).toContain('15');
    fake.advance(14 * 60_000);
    await expect(session.submit(items)).rejects.toMatchObject({ reason: 'duplicate' });
    fake.advance(60_000);
    await expect(session.submit(items)).resolves.toMatch(/^[0-9a-f-]+-\d+$/);
    expect(fake.stats.submissions).toBe(2);
  });

  it('takes a body with any value changed at once', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 2);
    await session.submit(items);
    const changed = [items[0]!, projected(trendyol, offer(2, { stock: 99 }))];
    await expect(session.submit(changed)).resolves.toBeTruthy();
  });

  it('waits at least the 15 minutes before deciding a refused submission from current values', () => {
    expect(trendyol.settleMs).toBeGreaterThanOrEqual(15 * 60_000);
  });
});

describe('Trendyol: what is sent', () => {
  it('sends User-Agent "{sellerId} - SelfIntegration", or the integrator set', async () => {
    const { fake, session, open } = await start();
    await session.test();
    await open({ integrator: 'AcmeSoft2' }).test();
    expect(fake.stats.requests.map((r) => r.headers['user-agent'])).toEqual([`${trendyolAccount.sellerId} - SelfIntegration`, `${trendyolAccount.sellerId} - AcmeSoft2`]);
  });

  it('refuses an integrator name Trendyol does not take, and a seller ID that is not a number, before asking anything: exit 78', async () => {
    const { fake, open } = await start();
    const refused: Array<Record<string, string>> = [{ integrator: 'Acme Soft' }, { integrator: 'x'.repeat(31) }, { integrator: 'Entegratör' }, { sellerId: 'abc' }];
    for (const settings of refused) {
      const failure = describeRunFailure((() => {
        try {
          open(settings);
        } catch (error) {
          return error;
        }
        throw new Error(`${JSON.stringify(settings)} was taken`);
      })());
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toContain(Object.keys(settings)[0]!);
      expect(failure.hint).toContain('--set');
    }
    expect(fake.stats.requests).toEqual([]);
  });

  it('sends at most 20,000 in stock, with a warning naming the barcode', () => {
    const projection = trendyol.project(offer(1, { stock: 25_000 }), {});
    expect(projection.ok && projection.item.fields.quantity).toBe(20_000);
    expect(projection.ok && projection.warnings).toEqual([expect.objectContaining({ code: TargetCode.STOCK_CLAMPED, message: expect.stringContaining(offer(1).barcode) })]);
  });

  it('sends the sale price as the list price too, unless listPrice=keep, which sends the sale price alone', async () => {
    const { fake, session } = await start();
    const items = [projected(trendyol, offer(1)), projected(trendyol, offer(2), { listPrice: 'keep' })];
    expect(items.map((item) => Object.keys(item.fields))).toEqual([['barcode', 'quantity', 'salePrice', 'listPrice'], ['barcode', 'quantity', 'salePrice']]);
    fake.listProduct({ barcode: offer(1).barcode, sku: 'SKU-1' });
    fake.listProduct({ barcode: offer(2).barcode, sku: 'SKU-2', listPrice: '199.90' });
    await session.submit(items);
    expect(JSON.parse(fake.stats.requests.at(-1)!.body)).toEqual({
      items: [
        { barcode: offer(1).barcode, quantity: 5, salePrice: 149.9, listPrice: 149.9 },
        { barcode: offer(2).barcode, quantity: 5, salePrice: 149.9 },
      ],
    });
    expect(() => trendyol.project(offer(1), { listPrice: 'rrp' })).toThrow(/listPrice/);
  });

  it('keeps the list price Trendyol holds with listPrice=keep: a sale price above it is LIST_PRICE_BELOW_SALE, with Trendyol\'s words', async () => {
    const { fake, session } = await start();
    fake.listProduct({ barcode: offer(1).barcode, sku: 'SKU-1', listPrice: '120.00', price: '100.00' });
    const items = [projected(trendyol, offer(1), { listPrice: 'keep' })];
    const answer = await pollUntilSettled(session, await session.submit(items), items);
    expect(outcomeOf(answer, offer(1).barcode)).toMatchObject({ status: 'rejected', code: TargetCode.LIST_PRICE_BELOW_SALE, marketplaceText: 'listPrice cannot be lower than salePrice' });
    expect(fake.catalog.get(offer(1).barcode)).toMatchObject({ salePrice: '100.00', listPrice: '120.00' });
  });
});

describe('Trendyol: results', () => {
  it('reads a batch with no status of its own: pending while an item has none, done when every item has one', async () => {
    const { fake, http, session } = await start({ pendingPolls: 1 });
    const items = listed(fake, 2);
    const ticket = await session.submit(items);
    const path = `/product/sellers/${trendyolAccount.sellerId}/products/batch-requests/${ticket}`;
    const headers = { authorization: `Basic ${Buffer.from(`${trendyolAccount.apiKey}:${trendyolAccount.apiSecret}`).toString('base64')}`, 'user-agent': `${trendyolAccount.sellerId} - SelfIntegration` };
    const raw = await http.request<Record<string, unknown>>({ path, headers });
    expect(raw.data).not.toHaveProperty('status');
    expect(raw.data.items).toEqual(items.map(() => expect.not.objectContaining({ status: expect.anything() })));
    const answer = await session.poll(ticket, items);
    expect(answer).toEqual({ state: 'done', outcomes: items.map((item) => ({ barcode: item.barcode, status: 'applied' })) });
  });

  it('reads "not found" in English or Turkish as not listed, with what to do on Trendyol', async () => {
    for (const reason of ['not found', 'Ürün bulunamadı']) {
      const { session } = await start({ unknownBarcodeReason: reason });
      const items = [projected(trendyol, offer(7))];
      const outcome = outcomeOf(await pollUntilSettled(session, await session.submit(items), items), offer(7).barcode);
      expect(outcome).toMatchObject({ status: 'not_listed', marketplaceText: reason });
      expect(outcome?.status === 'not_listed' && outcome.message).toMatch(/approv/);
    }
  });

  it('answers expired for a batch id Trendyol no longer knows (404)', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 1);
    expect(await session.poll('f8b1c1e2-0000-4000-8000-000000000000-1700000000', items)).toEqual({ state: 'expired' });
  });

  it('refuses a body Trendyol refuses whole (400) as SubmitRefused batch: split to find the item at fault', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 1001);
    await expect(session.submit(items)).rejects.toMatchObject({ name: 'SubmitRefused', reason: 'batch' });
    expect(fake.stats.submissions).toBe(0);
  });
});

describe('Trendyol: current values', () => {
  it('reads 50 barcodes a request, variants of one product included, every page', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 120);
    fake.listProduct({ barcode: offer(121).barcode, sku: 'SKU-121', stock: 5, price: '149.90', contentId: 'content-8690000000001' });
    fake.listProduct({ barcode: offer(1).barcode, sku: 'SKU-1', stock: 10, price: '149.90', contentId: 'content-8690000000001' });
    const states = await session.current([...items, projected(trendyol, offer(121))]);
    expect(states.size).toBe(121);
    expect(states.get(offer(1).barcode)).toBe('matches');
    expect(states.get(offer(121).barcode)).toBe('matches');
    expect(states.get(offer(2).barcode)).toBe('differs');
    expect(fake.stats.requestsPerEndpoint.get('inventory-and-price')).toBe(3);
  });
});
