import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorld, expectedOffers } from '../support/world.js';
import type { World } from '../support/world.js';
import { finished, json } from '../support/cli.js';
import type { RunSummary } from '../../src/model/run.js';

let world: World;
afterEach(async () => {
  await world?.close();
});

/** The marketplace holds exactly the ERP's catalog: same barcodes, prices, stock, and active offers. */
function expectMarketplaceEqualsErp(w: World): void {
  const expected = expectedOffers(w.erp);
  const live = [...w.marketplace.offers.values()].filter((o) => o.active);
  expect(live.length).toBe(expected.size);
  for (const offer of live) {
    const want = expected.get(offer.barcode);
    expect(want, `unexpected offer ${offer.barcode}`).toBeDefined();
    expect({ sku: offer.sku, name: offer.name, price: offer.price, stock: offer.stock, vatRate: offer.vatRate }).toEqual(want);
  }
}

describe('erp-sync run against the sandbox ERP and marketplace', () => {
  it('pushes every product on the first run, nothing on a rerun, and exactly the changed ones after a change', async () => {
    world = await createWorld({ products: 1000 });
    const first = await world.run();
    expect(first.result.code).toBe(0);
    expect(first.summary).toMatchObject({ status: 'succeeded', pulled: 1000, invalid: 0, new: 1000, pushed: 1000, created: 1000, failed: 0 });
    expectMarketplaceEqualsErp(world);
    // Turkish names travel intact.
    expect([...world.marketplace.offers.values()].some((o) => /[çğıİöşü]/.test(o.name))).toBe(true);

    const batchesBefore = world.marketplace.stats.batchRequests;
    const rerun = await world.run();
    expect(rerun.summary).toMatchObject({ status: 'succeeded', pulled: 1000, new: 0, changed: 0, unchanged: 1000, pushed: 0 });
    expect(world.marketplace.stats.batchRequests).toBe(batchesBefore);

    const changed = world.erp.catalog.change(7);
    expect(changed.length).toBe(70);
    const appliedBefore = new Map(world.marketplace.stats.applicationsPerBarcode);
    const after = await world.run();
    expect(after.summary).toMatchObject({ changed: 70, unchanged: 930, pushed: 70, updated: 70 });
    const touched = [...world.marketplace.stats.applicationsPerBarcode].filter(([barcode, n]) => n !== (appliedBefore.get(barcode) ?? 0));
    expect(touched.map(([b]) => b).sort()).toEqual(changed.map((i) => world.erp.catalog.item(i)!.barcode).sort());
    expectMarketplaceEqualsErp(world);
  });

  it('pushes vanished products once as stock 0 and inactive, never deleting them', async () => {
    world = await createWorld({ products: 200 });
    await world.run();
    const gone = [3, 17, 101];
    for (const i of gone) world.erp.catalog.remove(i);
    const { summary } = await world.run();
    expect(summary).toMatchObject({ vanished: 3, pushed: 3, updated: 3 });
    for (const i of gone) {
      const barcode = (await import('../../src/sandbox/catalog.js')).barcodeFor(i);
      expect(world.marketplace.offers.get(barcode)).toMatchObject({ stock: 0, active: false });
    }
    const again = await world.run();
    expect(again.summary).toMatchObject({ vanished: 0, pushed: 0 });
    expectMarketplaceEqualsErp(world);
  });

  it('stops before pushing anything when too much of the catalog vanishes, unless allowed', async () => {
    world = await createWorld({ products: 100 });
    await world.run();
    for (let i = 0; i < 30; i++) world.erp.catalog.remove(i);
    world.erp.catalog.change(10);
    const batches = world.marketplace.stats.batchRequests;
    const guarded = await world.run();
    expect(guarded.result.code).toBe(65);
    expect(guarded.summary.status).toBe('guarded');
    expect(guarded.summary.error?.code).toBe('MASS_VANISH');
    expect(guarded.summary.error?.message).toMatch(/30 of 100 offers/);
    expect(world.marketplace.stats.batchRequests).toBe(batches);

    const human = await world.cli('run', '--connection', 'shop');
    expect(human.code).toBe(65);
    expect(human.stdout).toMatch(/--allow-mass-vanish/);

    const allowed = await world.run('--allow-mass-vanish');
    expect(allowed.result.code).toBe(0);
    expect(allowed.summary.vanished).toBe(30);
    expectMarketplaceEqualsErp(world);
  });

  it('reports every kind of invalid product with its own code and still pushes the rest', async () => {
    world = await createWorld({ products: 100 });
    const { catalog } = world.erp;
    const barcode = (i: number) => catalog.item(i)!.barcode;
    catalog.patch(1, { barcode: '' });
    catalog.patch(2, { barcode: barcode(2).slice(0, 12) + String((Number(barcode(2)[12]) + 1) % 10) });
    catalog.patch(3, { barcode: barcode(4) }); // 3 and 4 share a barcode
    catalog.patch(5, { price: undefined });
    catalog.patch(6, { price: 'on iki lira' });
    catalog.patch(8, { price: '-5.00' });
    catalog.patch(9, { price: '99999999.00' });
    catalog.patch(10, { stock: 'çok' });
    catalog.patch(11, { stock: -4 });
    catalog.patch(12, { stock: '7.8' });
    catalog.patch(13, { name: '   ' });
    catalog.patch(14, { currency: 'XYZ' });
    catalog.patch(15, { currency: 'TL' });
    const { result, summary } = await world.run();
    expect(result.code).toBe(0);
    const invalid = world.query<{ barcode: string | null; sku: string; code: string }>(
      `SELECT barcode, sku, code FROM events WHERE outcome = 'invalid' ORDER BY sku`,
    );
    const codes = invalid.map((e) => e.code);
    for (const code of ['BARCODE_MISSING', 'BARCODE_CHECK_DIGIT', 'PRICE_MISSING', 'PRICE_NOT_A_NUMBER', 'PRICE_NEGATIVE', 'PRICE_ABSURD', 'STOCK_NOT_A_NUMBER', 'NAME_MISSING', 'CURRENCY_UNKNOWN']) {
      expect(codes, code).toContain(code);
    }
    // Both holders of the duplicate barcode are reported, neither is pushed.
    const duplicates = invalid.filter((e) => e.code === 'BARCODE_DUPLICATE');
    expect(duplicates.map((e) => e.sku).sort()).toEqual([catalog.item(3)!.sku, catalog.item(4)!.sku].sort());
    expect(world.marketplace.offers.has(barcode(4))).toBe(false);
    expect(summary.invalid).toBe(11);
    expect(summary.pushed).toBe(100 - 11);
    // Fixed and pushed, with a warning.
    expect(world.marketplace.offers.get(barcode(11))?.stock).toBe(0);
    expect(world.marketplace.offers.get(barcode(12))?.stock).toBe(7);
    expect(world.marketplace.offers.get(barcode(15))?.currency).toBe('TRY');
    const warnings = world.query<{ code: string }>(`SELECT code FROM events WHERE outcome = 'warning'`).map((w) => w.code);
    expect(warnings.sort()).toEqual(['STOCK_FRACTION_FLOORED', 'STOCK_NEGATIVE_CLAMPED']);
    // An invalid product that stays invalid is logged once, not every run.
    await world.run();
    expect(world.query(`SELECT id FROM events WHERE outcome = 'invalid'`)).toHaveLength(invalid.length);
  });

  it('delivers the rest of a batch the marketplace fails over one offer, leaves that offer for the next run, and never re-sends the acknowledged ones', async () => {
    world = await createWorld({ products: 1000, batchSize: 100 });
    const failing = world.erp.catalog.item(450)!.barcode; // in the 5th batch, in barcode order
    world.marketplace.faults.failBarcodes.add(failing);
    const first = await world.run();
    expect(first.result.code).toBe(75);
    expect(first.summary).toMatchObject({ status: 'partial', pushed: 999, failed: 1 });
    expect(first.summary.error?.code).toBe('UNDELIVERED');
    const applied = new Map(world.marketplace.stats.applicationsPerBarcode);
    expect(applied.size).toBe(999);
    expect(applied.has(failing)).toBe(false);

    world.marketplace.faults.failBarcodes.clear();
    const second = await world.run();
    expect(second.result.code).toBe(0);
    expect(second.summary).toMatchObject({ pushed: 1, failed: 0 });
    for (const [barcode, count] of world.marketplace.stats.applicationsPerBarcode) {
      expect(count, barcode).toBe(1);
    }
    expect(world.marketplace.maxApplicationsPerKey()).toBe(1);
    expectMarketplaceEqualsErp(world);
  });

  it('applies a batch once when its answer is lost and it is retried with the same Idempotency-Key', async () => {
    world = await createWorld({ products: 300, batchSize: 100 });
    world.marketplace.faults.dropAfterApply = 2;
    const { result, summary } = await world.run();
    expect(result.code).toBe(0);
    expect(summary.pushed).toBe(300);
    expect(world.marketplace.stats.replays).toBe(2);
    expect(world.marketplace.maxApplicationsPerKey()).toBe(1);
    expect(Math.max(...world.marketplace.stats.applicationsPerBarcode.values())).toBe(1);
  });

  it('asks for the first pages at once, drops those past the end even when they fail, and cancels their retries', async () => {
    world = await createWorld({ products: 100, pageSize: 50 });
    // Retries an hour apart: if the run waited for a dropped page's retry, it would never finish.
    const reconnect = await world.cli('connect', 'demo', '--name', 'shop', '--base-url', world.erp.url, '--set', 'pageSize=50', '--set', 'retries=3', '--set', 'retryMinDelayMs=3600000');
    expect(reconnect.code, reconnect.stderr).toBe(0);
    const pages = Math.ceil(world.erp.catalog.recordCount / 50);
    expect(pages).toBe(2);
    world.erp.faults.failingPages.add(3).add(4);

    const { result, summary } = await world.run();
    expect(result.code, result.stderr).toBe(0);
    expect(summary).toMatchObject({ status: 'succeeded', pullComplete: true, pulled: 100, pushed: 100 });
    expectMarketplaceEqualsErp(world);
    // Pages 1–4 went out together (default concurrency 4); 3 and 4 answered 500 once each and were never retried.
    expect([...world.erp.stats.pages].sort()).toEqual([1, 2, 3, 4]);
  });

  it('lets only one run per connection proceed; the other exits 75 at once', async () => {
    world = await createWorld({ products: 400 });
    // Every page takes 5 s, so the first run holds the lock for ten seconds: time enough for a second CLI to start on a busy machine.
    world.erp.faults.latencyMs = 5000;
    const slow = world.start('run', '--connection', 'shop', '--json');
    const slowDone = finished(slow);
    for (let waited = 0; world.erp.stats.productRequests === 0 && waited < 20_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const second = await world.cli('run', '--connection', 'shop');
    expect(second.code).toBe(75);
    expect(second.stdout + second.stderr).toMatch(/another run of "shop" is in progress/);
    // It did not wait for the lock: the first run is still going.
    expect(slow.exitCode).toBeNull();
    const first = await slowDone;
    expect(first.code).toBe(0);
    expect(json<{ runs: RunSummary[] }>(first).runs[0]!.pushed).toBe(400);
  });

  it('takes over a lock left by a killed process', async () => {
    world = await createWorld({ products: 50 });
    mkdirSync(join(world.home, 'locks'), { recursive: true });
    writeFileSync(join(world.home, 'locks', 'shop.lock'), JSON.stringify({ pid: 2 ** 22 + 11, host: (await import('node:os')).hostname(), startedAt: '2026-01-01T00:00:00Z' }));
    const { result } = await world.run();
    expect(result.code).toBe(0);
  });

  it('--dry-run shows what would be pushed and changes nothing', async () => {
    world = await createWorld({ products: 120 });
    await world.run();
    world.erp.catalog.change(5);
    world.erp.catalog.remove(7);
    const snapshotBefore = world.query(`SELECT * FROM snapshot ORDER BY barcode`);
    const batches = world.marketplace.stats.batchRequests;
    const dry = await world.run('--dry-run');
    expect(dry.result.code).toBe(0);
    expect(dry.summary).toMatchObject({ dryRun: true, changed: 6, vanished: 1, pushed: 0 });
    expect(dry.summary.wouldPush).toHaveLength(7);
    expect(dry.summary.wouldPush!.filter((o) => o.kind === 'vanished')[0]).toMatchObject({ stock: 0, active: false });
    expect(world.marketplace.stats.batchRequests).toBe(batches);
    expect(world.query(`SELECT * FROM snapshot ORDER BY barcode`)).toEqual(snapshotBefore);
    expect(world.query(`SELECT id FROM outbox`)).toHaveLength(0);
    const human = await world.cli('run', '--connection', 'shop', '--dry-run');
    expect(human.stdout).toMatch(/7 offers would be pushed/);
  });

  it('--resync pushes every valid product, whatever the snapshot says', async () => {
    world = await createWorld({ products: 150 });
    await world.run();
    const { summary } = await world.run('--resync');
    expect(summary).toMatchObject({ pushed: 150, unchanged: 150 });
  });

  it('exits 78 naming the missing secret, 77 for a rejected key, 75 when the ERP is unreachable', async () => {
    world = await createWorld({ products: 10 });
    const missing = await world.cli('run');
    expect(missing.code).toBe(0);
    const noKey = await (await import('../support/cli.js')).runCli(['run'], { ...world.env, ERP_SYNC_SHOP_API_KEY: '' });
    expect(noKey.code).toBe(78);
    expect(noKey.stdout).toMatch(/ERP_SYNC_SHOP_API_KEY/);
    const wrongKey = await (await import('../support/cli.js')).runCli(['run', '--json'], { ...world.env, ERP_SYNC_SHOP_API_KEY: 'wrong-key-123' });
    expect(wrongKey.code).toBe(77);
    expect(json<{ runs: RunSummary[] }>(wrongKey).runs[0]!.error?.code).toBe('ERP_CREDENTIALS_REJECTED');
    expect(wrongKey.stdout).not.toContain('wrong-key-123');
    // A key with a letter HTTP headers cannot carry: said so at once, not retried as a dropped connection.
    const turkishKey = await (await import('../support/cli.js')).runCli(['run', '--json'], { ...world.env, ERP_SYNC_SHOP_API_KEY: 'anahtar-şifre-1' });
    expect(turkishKey.code).toBe(78);
    expect(json<{ runs: RunSummary[] }>(turkishKey).runs[0]!.error).toMatchObject({ code: 'REQUEST_INVALID', message: expect.stringMatching(/letters such as ş, ğ or ı/) });
    expect(turkishKey.stdout + turkishKey.stderr).not.toContain('anahtar-şifre-1');
    await world.erp.close();
    const down = await world.run();
    expect(down.result.code).toBe(75);
    expect(down.summary.error?.message).toMatch(/refused|dropped/);
  });

  it('demo --json prints only the two runs, each with what the offer API and Trendyol answered', async () => {
    const { runCli } = await import('../support/cli.js');
    const home = mkdtempSync(join(tmpdir(), 'erp-sync-demo-json-'));
    const result = await runCli(['demo', '--products', '300', '--change-percent', '10', '--json'], { NO_COLOR: '1', ERP_SYNC_HOME: home });
    rmSync(home, { recursive: true, force: true });
    expect(result.code).toBe(0);
    const { runs } = json<{ runs: RunSummary[] }>(result);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({ invalid: 2, awaiting: 0 });
    // One barcode in fifty was never created on Trendyol (7, 57, 107, 157, 207, 257): not listed there, once.
    expect(runs[0]!.targets).toEqual([
      expect.objectContaining({ target: 'marketplace', new: 298, pushed: 298, notListed: 0 }),
      expect.objectContaining({ target: 'trendyol', new: 298, pushed: 298, notListed: 6, awaiting: 0 }),
    ]);
    expect(runs[1]!.targets).toEqual([
      expect.objectContaining({ target: 'marketplace', changed: 30, pushed: 30 }),
      expect.objectContaining({ target: 'trendyol', changed: 30, pushed: 30, awaiting: 0 }),
    ]);
  });
});
