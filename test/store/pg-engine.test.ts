import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../../src/store/pg-schema.js';
import type { PgDatabase } from '../../src/store/pg.js';
import { countFailedItems, failedItems, itemEvents, recentRuns } from '../../src/store/queries.js';
import { freshDatabase, requirePostgres } from '../support/hosted.js';
import { EngineWorld, targetOf } from './support.js';

/**
 * The real engine (`runConnection`) on PostgreSQL: one connection feeding
 * the offer API and the sandbox Trendyol (asynchronous), run after run, the
 * sandboxes counting every offer they apply.
 */

const PRODUCTS = 40;
const indices = Array.from({ length: PRODUCTS }, (_, i) => i);

describe.runIf(requirePostgres())('the engine on PostgreSQL', () => {
  let url: string;
  let db: PgDatabase;
  let world: EngineWorld;

  beforeAll(async () => {
    url = freshDatabase('pg_engine');
    db = openPgStore(url, 'acme');
    world = await EngineWorld.start({ products: PRODUCTS, batchSize: 10 });
  });
  afterAll(async () => {
    db?.close();
    await world?.close();
  });

  it('pushes every valid offer on the first run; Trendyol converges when its results are polled; a rerun pushes nothing', async () => {
    const first = await world.run(db);
    expect(first.exitCode, first.error?.message).toBe(0);
    expect(first).toMatchObject({ pulled: PRODUCTS, new: 2 * PRODUCTS, invalid: 0 });
    expect(targetOf(first, 'marketplace')).toMatchObject({ pushed: PRODUCTS, created: PRODUCTS, failed: 0 });
    // Trendyol queued the batch: its answers come with the next run.
    expect(targetOf(first, 'trendyol')).toMatchObject({ submitted: PRODUCTS, awaiting: PRODUCTS });
    for (const i of indices) expect(world.offerApplications(i), `#${i}`).toBe(1);

    const second = await world.run(db);
    expect(second.exitCode, second.error?.message).toBe(0);
    expect(targetOf(second, 'trendyol')).toMatchObject({ submitted: 0, pushed: PRODUCTS, awaiting: 0 });
    expect(targetOf(second, 'marketplace')).toMatchObject({ submitted: 0, pushed: 0 });
    for (const i of indices) expect(world.trendyolApplications(i), `#${i}`).toBe(1);
    expect(db.prepare(`SELECT count(*) FROM outbox`).pluck().get()).toBe(0);

    const submissions = world.trendyol.stats.submissions;
    const batches = world.offerApi.stats.batchRequests;
    const third = await world.run(db);
    expect(third.exitCode).toBe(0);
    expect(third).toMatchObject({ unchanged: 2 * PRODUCTS, new: 0, changed: 0, pushed: 0 });
    expect(world.trendyol.stats.submissions).toBe(submissions);
    expect(world.offerApi.stats.batchRequests).toBe(batches);
  });

  it('sends a changed product alone, to each target', async () => {
    world.erp.catalog.patch(1, { stock: 77 });
    const changed = await world.run(db);
    expect(changed.exitCode).toBe(0);
    expect(targetOf(changed, 'marketplace')).toMatchObject({ changed: 1, pushed: 1 });
    expect(targetOf(changed, 'trendyol')).toMatchObject({ changed: 1, submitted: 1 });
    await world.run(db);
    for (const i of indices) {
      expect(world.offerApplications(i), `#${i}`).toBe(i === 1 ? 2 : 1);
      expect(world.trendyolApplications(i), `#${i}`).toBe(i === 1 ? 2 : 1);
    }
    expect(world.trendyol.listed(world.barcode(1))?.stock).toBe(77);
  });

  it('records an invalid product with its code, shows it in the read models, and pushes the rest', async () => {
    world.erp.catalog.patch(5, { price: 'on iki lira' });
    world.erp.catalog.patch(6, { stock: 12 });
    const run = await world.run(db);
    expect(run.invalid).toBe(1);
    expect(targetOf(run, 'marketplace')).toMatchObject({ pushed: 1 });
    expect(world.offerApplications(6)).toBe(2);
    expect(world.offerApplications(5)).toBe(1);

    const failed = failedItems(db, { connection: 'shop' });
    expect(failed).toMatchObject([{ target: '', barcode: world.barcode(5), outcome: 'invalid', code: 'PRICE_NOT_A_NUMBER', runId: run.runId }]);
    expect(countFailedItems(db, { connection: 'shop' })).toBe(1);
    expect(itemEvents(db, { runId: run.runId!, outcome: 'invalid' })).toMatchObject([{ barcode: world.barcode(5), code: 'PRICE_NOT_A_NUMBER' }]);
    // Still invalid on the next run: logged once, still listed.
    await world.run(db);
    await world.run(db);
    expect(itemEvents(db, { connection: 'shop', outcome: 'invalid' })).toHaveLength(1);
    expect(failedItems(db, { connection: 'shop' })).toHaveLength(1);
    // Fixed: it is sent, and drops out of the failed items.
    world.erp.catalog.patch(5, { price: '12.50' });
    await world.run(db);
    expect(world.offerApplications(5)).toBe(2);
    expect(failedItems(db, { connection: 'shop' })).toEqual([]);
  });

  it('records an offer the marketplace rejects on its own and does not hold the others back', async () => {
    world.offerApi.faults.rejectBarcodes.add(world.barcode(7));
    world.erp.catalog.patch(7, { stock: 70 });
    world.erp.catalog.patch(8, { stock: 80 });
    const run = await world.run(db);
    expect(targetOf(run, 'marketplace')).toMatchObject({ pushed: 2, rejected: 1 });
    expect(world.offerApi.offers.get(world.barcode(8))?.stock).toBe(80);
    expect(failedItems(db, { connection: 'shop', target: 'marketplace', delivery: true }))
      .toMatchObject([{ target: 'marketplace', barcode: world.barcode(7), outcome: 'rejected', code: 'REJECTED_BY_POLICY' }]);
    // Trendyol took both.
    await world.run(db);
    expect(world.trendyol.listed(world.barcode(7))?.stock).toBe(70);
    world.offerApi.faults.rejectBarcodes.clear();
  });

  it('converges after a run stopped in the middle of its push, applying nothing twice', async () => {
    const changed = indices.filter((i) => i >= 10 && i < 40);
    for (const i of changed) world.erp.catalog.patch(i, { stock: 500 + i });
    const before = new Map(indices.map((i) => [i, world.offerApplications(i)]));
    const stop = new AbortController();
    // The second batch is applied but its answer lost; the run is stopped after the first batch's.
    world.offerApi.faults.dropAfterApply = 1;
    const stopped = await world.run(db, {
      signal: stop.signal,
      onProgress: (progress) => {
        if (progress.phase === 'push' && progress.target === 'marketplace') stop.abort();
      },
    });
    expect(stopped.status).not.toBe('succeeded');
    expect(targetOf(stopped, 'marketplace').pushed).toBeLessThan(changed.length);

    for (let attempt = 0; attempt < 3; attempt++) {
      const next = await world.run(db);
      if (next.exitCode === 0 && next.awaiting === 0) break;
    }
    for (const i of indices) expect(world.offerApplications(i), `#${i}`).toBe(before.get(i)! + (changed.includes(i) ? 1 : 0));
    for (const i of changed) {
      expect(world.offerApi.offers.get(world.barcode(i))?.stock).toBe(500 + i);
      expect(world.trendyol.listed(world.barcode(i))?.stock).toBe(500 + i);
    }
    expect(db.prepare(`SELECT count(*) FROM outbox`).pluck().get()).toBe(0);
    expect(recentRuns(db, { connection: 'shop', limit: 50 }).map((r) => r.status)).toContain('interrupted');
  });

  it('converges after its session died in the middle of a push: a new session takes over, nothing applied twice', async () => {
    const changed = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31];
    for (const i of changed) world.erp.catalog.patch(i, { stock: 900 + i });
    const before = new Map(indices.map((i) => [i, { offer: world.offerApplications(i), trendyol: world.trendyolApplications(i) }]));
    const dying = openPgStore(url, 'acme');
    let died = false;
    const outcome = await world
      .run(dying, {
        onProgress: (progress) => {
          if (progress.phase === 'push' && progress.target === 'marketplace' && !died) {
            died = true;
            dying.close();
          }
        },
      })
      .then(() => 'finished', (error: unknown) => error);
    expect(died).toBe(true);
    expect(outcome).toMatchObject({ name: 'PgError' });

    // A Trendyol submission may have left without its id recorded: the engine waits settleMs (20 minutes) before
    // reading Trendyol's values to settle it. Those minutes pass here.
    const converge = async () => {
      for (let attempt = 0; attempt < 4; attempt++) {
        db.prepare(`UPDATE outbox SET submitted_at = '2000-01-01T00:00:00.000Z' WHERE submitted_at IS NOT NULL AND ticket IS NULL`).run();
        const next = await world.run(db);
        if (next.exitCode === 0 && next.awaiting === 0 && next.pushed === 0) return;
      }
      throw new Error('no convergence in four runs');
    };
    await converge();
    for (const i of indices) {
      expect(world.offerApplications(i), `#${i}`).toBe(before.get(i)!.offer + (changed.includes(i) ? 1 : 0));
      expect(world.trendyolApplications(i), `#${i}`).toBe(before.get(i)!.trendyol + (changed.includes(i) ? 1 : 0));
    }
    for (const i of changed) {
      expect(world.offerApi.offers.get(world.barcode(i))?.stock).toBe(900 + i);
      expect(world.trendyol.listed(world.barcode(i))?.stock).toBe(900 + i);
    }
    expect(db.prepare(`SELECT count(*) FROM outbox`).pluck().get()).toBe(0);
    expect(recentRuns(db, { connection: 'shop', limit: 100 }).filter((r) => r.status === 'running')).toEqual([]);
    expect(recentRuns(db, { connection: 'shop', limit: 100 }).map((r) => r.status)).toContain('interrupted');
  });
});
