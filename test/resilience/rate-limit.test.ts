import { afterEach, describe, expect, it } from 'vitest';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { WINDOW_SLACK_MS } from '../../src/http/limiter.js';
import { configure, expectMarketplaceEqualsErp } from './support.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The most requests that started within any window of `windowMs`. */
function busiestWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('rate limits', () => {
  it('keeps the ERP at or under its limit across concurrent page fetches, and takes no longer than the limit requires', async () => {
    const limit = 10;
    const windowMs = 2000;
    world = await createWorld({ products: 500, pageSize: 10 });
    configure(world.home, { connection: { name: 'shop', settings: { rateLimit: `${limit}/${windowMs / 1000}s`, concurrency: '4' } } });
    // The ERP enforces the same limit: one request too many would be answered 429.
    world.erp.setRateLimit({ requests: limit, perMs: windowMs });
    // Only the run's requests count, not the connection test's.
    world.erp.stats.requestTimes.length = 0;

    const { result, summary } = await world.run();
    expect(result.code).toBe(0);
    const times = world.erp.stats.requestTimes;
    expect(times).toHaveLength(40);
    expect(world.erp.stats.rateLimited).toBe(0);
    expect(busiestWindow(times, windowMs)).toBeLessThanOrEqual(limit);
    // 40 requests, 10 per window: the first ten at once, the last ten three windows later (plus the limiter's 10 ms slack
    // and an answer's time per window, for which a loaded machine gets 1.5 s; one idle window too many would exceed it).
    const allowedMs = (Math.ceil(times.length / limit) - 1) * (windowMs + WINDOW_SLACK_MS) + 1500;
    expect(times[times.length - 1]! - times[0]!, times.map((t) => t - times[0]!).join(' ')).toBeLessThanOrEqual(allowedMs);
    expect(summary.pulled).toBe(500);
  });

  it('paces the marketplace by its own rateLimit setting, apart from the ERP', async () => {
    world = await createWorld({ products: 400, batchSize: 50 });
    configure(world.home, { marketplace: { rateLimit: '3/1s' } });
    world.marketplace.setRateLimit({ requests: 3, perMs: 1000 });
    const { result, summary } = await world.run();
    expect(result.code).toBe(0);
    // Eight batches, none refused with 429: three, three, then two, each group a window apart.
    expect(world.marketplace.stats.batchRequests).toBe(8);
    expect(summary.pushMs).toBeGreaterThanOrEqual(2000);
    expectMarketplaceEqualsErp(world);
  });

  it('slows down for the rest of the run after a 429 when the configured limit is too generous', async () => {
    world = await createWorld({ products: 300, pageSize: 10 });
    configure(world.home, { connection: { name: 'shop', settings: { rateLimit: '30/1s', retries: '4' } } });
    world.erp.setRateLimit({ requests: 8, perMs: 1000 });
    const { result } = await world.run();
    expect(result.code).toBe(0);
    const refused = world.erp.stats.rateLimited;
    expect(refused).toBeGreaterThan(0);
    // After the first 429s the limiter is down near the ERP's real limit, so 429s stop.
    expect(refused).toBeLessThan(world.erp.stats.productRequests / 2);
    expectMarketplaceEqualsErp(world);
  });
});
