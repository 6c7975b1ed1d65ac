import { afterEach, describe, expect, it } from 'vitest';
import { json } from '../support/cli.js';
import { createWorld, expectedOffers } from '../support/world.js';
import type { World } from '../support/world.js';
import { http, startServe } from '../web/support.js';
import type { Serving } from '../web/support.js';
import { configure, expectMarketplaceEqualsErp } from './support.js';

/**
 * Delivery when the marketplace misbehaves the way real ones do: an offer it
 * chokes on, batches too large for it, answers it keeps per key even when
 * they are incomplete or unreadable, and an outage in the middle of a change.
 */

let world: World | undefined;
let serving: Serving | undefined;
afterEach(async () => {
  await serving?.stop();
  await world?.close();
  world = serving = undefined;
});

interface FailedItem {
  barcode: string;
  sku: string;
  code: string;
  message: string;
}

interface DeliveryFailure {
  attempts: number;
  parked: number;
}

function failure(w: World, barcode: string): DeliveryFailure | undefined {
  return w.query<DeliveryFailure>(`SELECT attempts, parked_at IS NOT NULL AS parked FROM delivery_failures WHERE barcode = ?`, barcode)[0];
}

/** The marketplace holds the ERP's catalog, except the offers named. */
function expectMarketplaceEqualsErpBut(w: World, except: string): void {
  const expected = expectedOffers(w.erp);
  expected.delete(except);
  for (const [barcode, offer] of expected) {
    const held = w.marketplace.offers.get(barcode);
    expect({ sku: held?.sku, name: held?.name, price: held?.price, stock: held?.stock, vatRate: held?.vatRate }, barcode).toEqual(offer);
  }
}

async function failedItems(w: World, ...args: string[]): Promise<FailedItem[]> {
  return json<{ failed: FailedItem[] }>(await w.cli('logs', '--failed', '--json', '--limit', '1000', ...args)).failed;
}

async function status(w: World) {
  return json<{ connections: { parked: number; openAlerts: { kind: string }[] }[] }>(await w.cli('status', '--json')).connections[0]!;
}

describe('one offer the marketplace fails on never holds back the others', () => {
  it('delivers every other change in the run it was made, sends that offer alone, and parks it after maxAttempts', async () => {
    world = await createWorld({ products: 400, batchSize: 100 });
    const poisonIndex = 150;
    // Patched (to nothing), so the catalog's random changes leave it alone: only unrelated products change.
    world.erp.catalog.patch(poisonIndex, {});
    const poison = world.erp.catalog.item(poisonIndex)!.barcode;
    world.marketplace.faults.failBarcodes.add(poison);

    for (let run = 1; run <= 5; run++) {
      const changed = world.erp.catalog.change(0.75);
      expect(changed).toHaveLength(3);
      const requestsBefore = world.marketplace.stats.batchRequests;
      const { result, summary } = await world.run();
      expect(result.code, result.stderr).toBe(75);
      expect(summary.failed).toBe(1);
      // Every unrelated change of this run is on the marketplace now.
      expectMarketplaceEqualsErpBut(world, poison);
      expect(world.marketplace.offers.has(poison)).toBe(false);
      expect(failure(world, poison)).toEqual({ attempts: run, parked: run === 5 ? 1 : 0 });
      expect(summary.parked).toBe(run === 5 ? 1 : 0);
      // From the second run on: one batch of the three changes, then the known failing offer alone (tried three times: retries=2).
      if (run > 1) expect(world.marketplace.stats.batchRequests - requestsBefore).toBe(1 + 3);
    }

    // Parked: not sent again until it changes or someone asks, and the run is done.
    const requestsBefore = world.marketplace.stats.batchRequests;
    const sixth = await world.run();
    expect(sixth.result.code).toBe(0);
    expect(world.marketplace.stats.batchRequests).toBe(requestsBefore);
    const items = await failedItems(world);
    expect(items).toEqual([expect.objectContaining({ barcode: poison, code: 'DEAD_LETTER' })]);
    expect(items[0]!.message).toContain(`erp-sync retry --connection shop --barcode ${poison}`);
    expect(items[0]!.message).toMatch(/5 attempts \(last: HTTP_503/);
  });

  it('keeps a dead letter visible (logs, status, alert, /metrics) until it changes or erp-sync retry sends it again', async () => {
    world = await createWorld({ products: 200, batchSize: 100 });
    const reconnect = await world.cli('connect', 'marketplace', '--base-url', world.marketplace.url, '--set', 'batchSize=100', '--set', 'retries=2', '--set', 'retryMinDelayMs=5', '--set', 'maxAttempts=2');
    expect(reconnect.code, reconnect.stderr).toBe(0);
    const poisonIndex = 20;
    const poison = world.erp.catalog.item(poisonIndex)!.barcode;
    world.marketplace.faults.failBarcodes.add(poison);

    // Attempts count in runs where the marketplace takes other batches: here, another product changes each time.
    let other = 100;
    const changeAnother = () => world!.erp.catalog.patch(other++, { stock: 1 });
    expect((await world.run()).result.code).toBe(75);
    expect(failure(world, poison)).toEqual({ attempts: 1, parked: 0 });
    changeAnother();
    expect((await world.run()).result.code).toBe(75);
    expect(failure(world, poison)).toEqual({ attempts: 2, parked: 1 });

    const third = await world.run();
    expect(third.result.code).toBe(0);
    const parked = await status(world);
    expect(parked.parked).toBe(1);
    expect(parked.openAlerts.map((a) => a.kind)).toEqual(['parked']);
    expect((await world.cli('status')).stdout).toMatch(/Parked:\s+1 offers\s+see: erp-sync logs --failed --code DEAD_LETTER --connection shop/);
    expect(await failedItems(world, '--code', 'DEAD_LETTER')).toEqual([expect.objectContaining({ barcode: poison })]);
    serving = await startServe(world.env);
    const metrics = await http('127.0.0.1', serving.port, '/metrics', { headers: { host: `127.0.0.1:${serving.port}` } });
    expect(metrics.body).toContain('erp_sync_parked_offers{connection="shop"} 1\n');

    // A change in the ERP is tried again at once, and counts from one again.
    world.erp.catalog.patch(poisonIndex, { stock: 3 });
    changeAnother();
    expect((await world.run()).result.code).toBe(75);
    expect(failure(world, poison)).toEqual({ attempts: 1, parked: 0 });
    changeAnother();
    expect((await world.run()).result.code).toBe(75);
    expect(failure(world, poison)).toEqual({ attempts: 2, parked: 1 });

    // The marketplace is fixed: erp-sync retry takes it off the shelf, and the next run delivers it.
    world.marketplace.faults.failBarcodes.clear();
    const usage = await world.cli('retry');
    expect(usage.code).toBe(64);
    const retry = await world.cli('retry', '--barcode', poison);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain('1 parked and 0 rejected or not listed offers will be sent again by the next run.');
    const delivered = await world.run();
    expect(delivered.result.code).toBe(0);
    expect(delivered.summary).toMatchObject({ pushed: 1, parked: 0 });
    expect(world.marketplace.offers.get(poison)?.stock).toBe(3);
    expect(failure(world, poison)).toBeUndefined();
    expect(await failedItems(world)).toEqual([]);
    expect((await status(world)).openAlerts).toEqual([]);
    expectMarketplaceEqualsErp(world);
  });

  it('splits batches even when the first ones in a row each hold a bad offer, with or without a breaker of one', async () => {
    world = await createWorld({ products: 600, batchSize: 100 });
    // One bad offer in each of the first three batches (in barcode order): three failures in a row, as in an outage.
    const bad = [10, 200, 390].map((index) => world!.erp.catalog.item(index)!.barcode);
    for (const barcode of bad) world.marketplace.faults.failBarcodes.add(barcode);
    const { result, summary } = await world.run();
    expect(result.code).toBe(75);
    expect(summary).toMatchObject({ failed: 3, pushed: world.erp.catalog.size - 3 });
    expect(bad.map((barcode) => failure(world!, barcode))).toEqual(bad.map(() => ({ attempts: 1, parked: 0 })));
    expect(world.query(`SELECT id FROM outbox`)).toEqual([]);

    const strict = await world.cli('connect', 'marketplace', '--base-url', world.marketplace.url, '--set', 'batchSize=100', '--set', 'retries=2', '--set', 'retryMinDelayMs=5', '--set', 'maxConsecutiveFailures=1');
    expect(strict.code, strict.stderr).toBe(0);
    world.erp.catalog.change(1);
    const next = await world.run();
    // Each goes alone, and fails alone: never the breaker's business.
    expect(next.summary.failed).toBe(3);
    expect(bad.map((barcode) => failure(world!, barcode))).toEqual(bad.map(() => ({ attempts: 2, parked: 0 })));
  });

  it('parks nothing while the marketplace takes no batch, though it answers reads, nor for a rate limit', async () => {
    world = await createWorld({ products: 100, batchSize: 100 });
    expect((await world.run()).result.code).toBe(0);
    const index = 42;
    const barcode = world.erp.catalog.item(index)!.barcode;
    world.erp.catalog.patch(index, { stock: 9 });
    world.marketplace.faults.failNext = 1_000_000;
    for (let run = 1; run <= 6; run++) {
      const { result } = await world.run();
      expect(result.code).toBe(75);
      expect(failure(world, barcode)).toBeUndefined();
    }
    // A quota that says to come back in an hour is a marketplace's limit, not the offer's fault either.
    world.marketplace.faults.failNext = 0;
    world.marketplace.faults.rateLimitNext = 1_000_000;
    world.marketplace.faults.retryAfterSeconds = 3600;
    for (let run = 1; run <= 2; run++) expect((await world.run()).result.code).toBe(75);
    expect(failure(world, barcode)).toBeUndefined();

    world.marketplace.faults.rateLimitNext = 0;
    expect((await world.run()).result.code).toBe(0);
    expect(world.marketplace.offers.get(barcode)?.stock).toBe(9);
  });

  it('forgets a dead letter once the ERP sends that product invalid: it is reported as invalid, not parked', async () => {
    world = await createWorld({ products: 100, batchSize: 100 });
    const reconnect = await world.cli('connect', 'marketplace', '--base-url', world.marketplace.url, '--set', 'retries=0', '--set', 'maxAttempts=1');
    expect(reconnect.code, reconnect.stderr).toBe(0);
    const poison = world.erp.catalog.item(7)!.barcode;
    world.marketplace.faults.failBarcodes.add(poison);
    expect((await world.run()).summary.parked).toBe(1);

    world.erp.catalog.patch(7, { price: 'yok' });
    const { result, summary } = await world.run();
    expect(result.code).toBe(0);
    expect(summary.parked).toBe(0);
    expect(await failedItems(world)).toEqual([expect.objectContaining({ barcode: poison, code: 'PRICE_NOT_A_NUMBER' })]);
    expect((await status(world)).openAlerts).toEqual([]);
  });

  it('splits batches the marketplace finds too large (413) and sends the rest of the run in batches it takes', async () => {
    world = await createWorld({ products: 300, batchSize: 100 });
    // About 30 offers of the sandbox catalog fit.
    world.marketplace.faults.maxBodyBytes = 8000;
    const { result, summary } = await world.run();
    expect(result.code, result.stderr).toBe(0);
    expect(summary.pushed).toBe(300);
    expectMarketplaceEqualsErp(world);
    // Halving 100 to 50 to 25 costs three requests for the first batch; the batches after it start at 25.
    expect(world.marketplace.stats.batchRequests).toBeLessThan(20);
    expect(world.marketplace.maxApplicationsPerKey()).toBe(1);
  });
});

describe('the marketplace never goes back to an older state of an offer', () => {
  it('drops a waiting batch whose offer the ERP has changed since, and sends the current one', async () => {
    world = await createWorld({ products: 200, batchSize: 100, keepPriceHistory: true });
    expect((await world.run()).result.code).toBe(0);
    const index = 10;
    const barcode = world.erp.catalog.item(index)!.barcode;
    const original = world.erp.catalog.item(index)!.price;

    // The marketplace is down while the price goes to 111: that batch waits in the outbox.
    world.erp.catalog.patch(index, { price: '111.00' });
    world.marketplace.faults.down = true;
    expect((await world.run()).result.code).toBe(75);
    expect(world.query(`SELECT barcode FROM outbox_items`)).toEqual([{ barcode }]);
    const waiting = json<{ connections: { targets: { target: string; verdict: string; waiting: unknown[] }[] }[] }>(await world.cli('explain', barcode, '--json'));
    expect(waiting.connections[0]!.targets).toMatchObject([{ target: 'marketplace', verdict: 'waiting', waiting: [expect.anything()] }]);

    // It is back, and the ERP says 222 now: 111 must never reach it, not this run and not the next.
    world.marketplace.faults.down = false;
    world.erp.catalog.patch(index, { price: '222.00' });
    const current = await world.run();
    expect(current.result.code).toBe(0);
    expect(world.query(`SELECT id FROM outbox`)).toEqual([]);
    expect((await world.run()).result.code).toBe(0);
    expect(world.marketplace.stats.pricesPerBarcode.get(barcode)).toEqual([original, '222.00']);
    expect(world.marketplace.offers.get(barcode)?.price).toBe('222.00');
  });

  it('sends the current state after a batch whose answer was lost, even when the ERP went back to the acknowledged one', async () => {
    world = await createWorld({ products: 200, batchSize: 100, keepPriceHistory: true });
    expect((await world.run()).result.code).toBe(0);
    const index = 30;
    const barcode = world.erp.catalog.item(index)!.barcode;
    const original = world.erp.catalog.item(index)!.price;

    // Applied, then the connection drops before the answer, with no retry left: nobody knows it took 333.
    configure(world.home, { marketplace: { retries: '0' } });
    world.erp.catalog.patch(index, { price: '333.00' });
    world.marketplace.faults.dropAfterApply = 1;
    expect((await world.run()).result.code).toBe(75);
    expect(world.marketplace.offers.get(barcode)?.price).toBe('333.00');

    // The ERP goes back to the price the marketplace acknowledged last: the marketplace must get it again.
    world.erp.catalog.restore(index);
    expect((await world.run()).result.code).toBe(0);
    expect(world.marketplace.offers.get(barcode)?.price).toBe(original);
    expect(world.marketplace.stats.pricesPerBarcode.get(barcode)).toEqual([original, '333.00', original]);
    expectMarketplaceEqualsErp(world);
  });
});

describe('an offer whose fate is unknown is settled whatever it last was', () => {
  it('withdraws a product that vanished again after coming back in a batch whose answer was lost', async () => {
    world = await createWorld({ products: 100, batchSize: 100 });
    expect((await world.run()).result.code).toBe(0);
    const index = 3;
    const barcode = world.erp.catalog.item(index)!.barcode;
    world.erp.catalog.remove(index);
    expect((await world.run()).summary.vanished).toBe(1);
    expect(world.marketplace.offers.get(barcode)).toMatchObject({ active: false, stock: 0 });

    // Back in the ERP; the marketplace lists it again, but the answer never arrives.
    configure(world.home, { marketplace: { retries: '0' } });
    world.erp.catalog.restore(index);
    world.marketplace.faults.dropAfterApply = 1;
    expect((await world.run()).result.code).toBe(75);
    expect(world.marketplace.offers.get(barcode)).toMatchObject({ active: true });

    // Gone again: it must be withdrawn, though the last acknowledged state was already a withdrawal.
    world.erp.catalog.remove(index);
    const gone = await world.run();
    expect(gone.result.code).toBe(0);
    expect(gone.summary.vanished).toBe(1);
    expect(world.marketplace.offers.get(barcode)).toMatchObject({ active: false, stock: 0 });
  });

  it('sends a rejected withdrawal again on erp-sync retry', async () => {
    world = await createWorld({ products: 100, batchSize: 100 });
    expect((await world.run()).result.code).toBe(0);
    const index = 8;
    const barcode = world.erp.catalog.item(index)!.barcode;
    world.erp.catalog.remove(index);
    world.marketplace.faults.rejectBarcodes.add(barcode);
    expect((await world.run()).summary.rejected).toBe(1);
    expect(world.marketplace.offers.get(barcode)).toMatchObject({ active: true });

    world.marketplace.faults.rejectBarcodes.clear();
    expect((await world.cli('retry', '--barcode', barcode)).stdout).toContain('0 parked and 1 rejected or not listed offers');
    const { summary } = await world.run();
    expect(summary).toMatchObject({ vanished: 1, pushed: 1 });
    expect(world.marketplace.offers.get(barcode)).toMatchObject({ active: false, stock: 0 });
  });
});

describe('an answer the marketplace keeps for a key is never asked for again when it was bad', () => {
  it('sends the offers an answer left out in a new batch under a new key', async () => {
    world = await createWorld({ products: 400, batchSize: 100 });
    world.marketplace.faults.answerHalf = 1;
    const first = await world.run();
    expect(first.result.code).toBe(75);
    expect(first.summary).toMatchObject({ pushed: 350, failed: 50 });
    const second = await world.run();
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(second.summary.pushed).toBe(50);
    expect(world.marketplace.stats.replays).toBe(0);
    expectMarketplaceEqualsErp(world);
    expect((await world.run()).summary.pushed).toBe(0);

    // A batch of one whose answer left it out: the same batch again would be the same key, and the same empty answer.
    world.erp.catalog.change(0.25);
    world.marketplace.faults.answerHalf = 1;
    expect((await world.run()).result.code).toBe(75);
    const again = await world.run();
    expect(again.result.code, again.result.stderr).toBe(0);
    expect(world.marketplace.stats.replays).toBe(0);
    expectMarketplaceEqualsErp(world);
  });

  it('sends the offers of an unreadable answer in a new batch under a new key', async () => {
    world = await createWorld({ products: 400, batchSize: 100 });
    world.marketplace.faults.answerUnreadable = 1;
    const first = await world.run();
    expect(first.result.code).toBe(75);
    expect(first.summary).toMatchObject({ pushed: 300, failed: 100 });
    const unreadable = await failedItems(world, '--code', 'ANSWER_UNREADABLE');
    expect(unreadable).toHaveLength(100);
    expect(unreadable[0]!.message).toMatch(/could not be read .*new batch, under a new key/);
    const second = await world.run();
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(world.marketplace.stats.replays).toBe(0);
    expectMarketplaceEqualsErp(world);
  });
});
