import { afterEach, describe, expect, it } from 'vitest';
import { describeRunFailure } from '../../src/engine/failure.js';
import { TargetCode } from '../../src/marketplace/codes.js';
import { hepsiburada } from '../../src/marketplace/hepsiburada.js';
import type { TargetItem } from '../../src/marketplace/target.js';
import type { SandboxHepsiburadaOptions } from '../../src/sandbox/hepsiburada.js';
import { SandboxHepsiburada } from '../../src/sandbox/hepsiburada.js';
import { hepsiburadaAccount, hepsiburadaConnection } from '../support/target-accounts.js';
import { offer, openOn, outcomeOf, pollUntilSettled, projected } from '../support/target-contract.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function start(options: Partial<SandboxHepsiburadaOptions> = {}) {
  const fake = await new SandboxHepsiburada({ ...hepsiburadaAccount, keepHistory: true, ...options }).start();
  const target = openOn(hepsiburada, fake, hepsiburadaConnection);
  cleanups.push(target.close);
  return { fake, ...target };
}

/** Products 1..count listed on the sandbox Hepsiburada with stock 1 and price 10.00, and their items (stock 10+, price 149.90). */
function listed(fake: SandboxHepsiburada, count: number): TargetItem[] {
  return Array.from({ length: count }, (_, i) => {
    const o = offer(i + 1, { stock: 10 + i });
    fake.listProduct({ barcode: o.barcode, sku: o.sku, stock: 1, price: '10.00' });
    return projected(hepsiburada, o);
  });
}

const uploads = (fake: SandboxHepsiburada, endpoint: 'price-uploads' | 'stock-uploads') =>
  fake.stats.requests.filter((r) => r.endpoint === endpoint).map((r) => JSON.parse(r.body) as unknown[]);

describe('Hepsiburada: two uploads a submission', () => {
  it('sends the prices and the stock as separate uploads, found by our stock code (merchantSku)', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 2);
    await session.submit(items);
    expect(uploads(fake, 'price-uploads')).toEqual([[{ merchantSku: 'SKU-1', price: 149.9 }, { merchantSku: 'SKU-2', price: 149.9 }]]);
    expect(uploads(fake, 'stock-uploads')).toEqual([[{ merchantSku: 'SKU-1', availableStock: 10 }, { merchantSku: 'SKU-2', availableStock: 11 }]]);
  });

  it('a partial upload: a price outside its band is PRICE_LOCKED, placed by elementNo, the band in the message; the rest applied', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 3);
    fake.priceBands.set('SKU-2', { min: '10.00', max: '120.00' });
    const answer = await pollUntilSettled(session, await session.submit(items), items);
    expect(outcomeOf(answer, items[0]!.barcode)?.status).toBe('applied');
    expect(outcomeOf(answer, items[2]!.barcode)?.status).toBe('applied');
    const locked = outcomeOf(answer, items[1]!.barcode);
    expect(locked).toMatchObject({ status: 'rejected', code: TargetCode.PRICE_LOCKED, marketplaceText: 'Fiyat 10.00 ile 120.00 arasında olmalıdır.' });
    expect(locked?.status === 'rejected' && locked.message).toContain('10.00 TRY – 120.00 TRY');
    expect(locked?.status === 'rejected' && locked.message).toContain('SKU-2');
    expect(fake.listed('SKU-2')).toEqual({ stock: 11, price: '10.00' });
  });

  it('places errors that name no stock code by their elementNo in the stock upload, which leaves out listings Hepsiburada fulfils', async () => {
    const { fake, session } = await start({ errorsNameSku: false });
    const items = listed(fake, 3);
    fake.listProduct({ barcode: items[0]!.barcode, sku: 'SKU-1', stock: 1, price: '10.00', fulfilledByHB: true });
    fake.faults.failItems.set('SKU-3', 'Stok güncellenemedi');
    const answer = await pollUntilSettled(session, await session.submit(items), items);
    // The price upload fails SKU-3 at elementNo 2; the stock upload (SKU-2, SKU-3) at elementNo 1.
    expect(uploads(fake, 'stock-uploads')).toEqual([[{ merchantSku: 'SKU-2', availableStock: 11 }, { merchantSku: 'SKU-3', availableStock: 12 }]]);
    expect(answer).toEqual({
      state: 'done',
      outcomes: [
        { barcode: items[0]!.barcode, status: 'applied' },
        { barcode: items[1]!.barcode, status: 'applied' },
        expect.objectContaining({ barcode: items[2]!.barcode, status: 'rejected', code: TargetCode.MARKETPLACE_REJECTED, marketplaceText: 'Stok güncellenemedi' }),
      ],
    });
  });

  it('keeps Hepsiburada\'s stock of a listing it fulfils: price only, and current() compares the price alone', async () => {
    const { fake, session } = await start();
    const [item] = listed(fake, 1);
    fake.listProduct({ barcode: item!.barcode, sku: item!.key, stock: 40, price: '10.00', fulfilledByHB: true });
    const answer = await pollUntilSettled(session, await session.submit([item!]), [item!]);
    expect(outcomeOf(answer, item!.barcode)?.status).toBe('applied');
    expect(fake.stats.valuesPerKey.get(item!.key)).toEqual([{ price: '149.90' }]);
    expect(fake.listed(item!.key)).toEqual({ stock: 40, price: '149.90' });
    expect(Object.fromEntries(await session.current([item!]))).toEqual({ [item!.barcode]: 'matches' });
  });

  it('a price upload refused whole (400) is SubmitRefused batch and queues no stock', async () => {
    const { fake, session } = await start({ maxItems: 2 });
    const items = listed(fake, 3);
    await expect(session.submit(items)).rejects.toMatchObject({ name: 'SubmitRefused', reason: 'batch' });
    expect(fake.stats.submissions).toBe(0);
    expect(fake.stats.requestsPerEndpoint.get('stock-uploads')).toBeUndefined();
  });

  it('a stock upload that fails after the prices were queued: the ticket says so, the poll leaves the items out, current() says they differ', async () => {
    const { fake, session } = await start();
    const items = listed(fake, 2);
    fake.faults.failEndpoints.add('stock-uploads');
    const ticket = await session.submit(items);
    expect(JSON.parse(ticket)).toMatchObject({ stock: 'failed' });
    expect(await pollUntilSettled(session, ticket, items)).toEqual({ state: 'done', outcomes: [] });
    expect(fake.listed('SKU-1')).toEqual({ stock: 1, price: '149.90' });
    expect([...(await session.current(items)).values()]).toEqual(['differs', 'differs']);
  });
});

describe('Hepsiburada: upload status words it does not document', () => {
  it.each([
    ['InProgress', 'Done'],
    ['PENDING', 'COMPLETED_WITH_ERRORS'],
    ['in-progress', 'finished'],
  ])('reads %s as pending and %s as finished', async (pending, done) => {
    const { fake, session } = await start({ statuses: { pending, done }, pendingPolls: 1 });
    const items = listed(fake, 1);
    const ticket = await session.submit(items);
    expect(await session.poll(ticket, items)).toEqual({ state: 'pending' });
    expect(await session.poll(ticket, items)).toEqual({ state: 'done', outcomes: [{ barcode: items[0]!.barcode, status: 'applied' }] });
  });

  it('reads a word it has never seen as pending, never as done', async () => {
    const { fake, session } = await start({ statuses: { pending: 'Queued', done: 'Tamamlandı' }, pendingPolls: 0 });
    const items = listed(fake, 1);
    const ticket = await session.submit(items);
    for (let i = 0; i < 3; i++) expect(await session.poll(ticket, items)).toEqual({ state: 'pending' });
  });

  it('an upload whose status says it failed, with no entry per item: the items are left out for current() to decide', async () => {
    const { fake, session } = await start({ statuses: { pending: 'PROCESSING', done: 'FAILED' } });
    const items = listed(fake, 2);
    expect(await pollUntilSettled(session, await session.submit(items), items)).toEqual({ state: 'done', outcomes: [] });
  });
});

describe('Hepsiburada: settings and reads', () => {
  it('refuses a User-Agent shaped "merchantId - name", and a merchant ID that is not a GUID, before asking anything: exit 78', async () => {
    const { fake, open } = await start();
    const refused: Array<Record<string, string>> = [{ userAgent: `${hepsiburadaAccount.merchantId} - Mağaza` }, { merchantId: '12345' }];
    for (const settings of refused) {
      let error: unknown;
      try {
        open(settings);
      } catch (e) {
        error = e;
      }
      const failure = describeRunFailure(error);
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toContain(Object.keys(settings)[0]!);
    }
    expect(fake.stats.requests).toEqual([]);
  });

  it('refuses an offer without a stock code: SKU_MISSING, naming the barcode', () => {
    const projection = hepsiburada.project(offer(4, { sku: ' ' }));
    expect(projection.ok).toBe(false);
    expect(!projection.ok && projection.problem).toMatchObject({ code: TargetCode.SKU_MISSING, message: expect.stringContaining(offer(4).barcode) });
  });

  it('reads listings page by page until Hepsiburada\'s count is reached', async () => {
    const { fake, session } = await start({ maxPageSize: 7 });
    const items = listed(fake, 20);
    const states = await session.current(items);
    expect(states.size).toBe(20);
    expect([...states.values()].every((state) => state === 'differs')).toBe(true);
    expect(fake.stats.requestsPerEndpoint.get('listings')).toBe(3);
  });
});
