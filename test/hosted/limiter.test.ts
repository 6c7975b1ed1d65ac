import { describe, expect, it } from 'vitest';
import { accountKey, fleetWindow } from '../../src/hosted/limiter.js';
import { busiestWindow } from './support.js';

describe('the fleet\'s windows for an ERP\'s limit', () => {
  it('never let a sliding window of the limit\'s period (and its margin) see more than the limit, however the fixed windows fall', () => {
    for (const limit of [{ requests: 60, perMs: 60_000 }, { requests: 10, perMs: 10_000 }, { requests: 30, perMs: 60_000 }, { requests: 7200, perMs: 3_600_000 }, { requests: 1, perMs: 1000 }, { requests: 120, perMs: 60_000 }]) {
      const { points, seconds } = fleetWindow(limit);
      const span = limit.perMs + Math.max(1000, limit.perMs * 0.02);
      // The worst case: back-to-back windows, each spending its points at once, the first at the end of its window.
      const times: number[] = [];
      for (let w = 0, start = 0; start < 3 * span; w++, start += seconds * 1000) {
        for (let p = 0; p < points; p++) times.push(points === 1 ? start : start + (w === 0 ? seconds * 1000 - 1 : 0));
      }
      expect(busiestWindow(times, span), JSON.stringify(limit)).toBeLessThanOrEqual(limit.requests);
      // And they give most of it: at least half of the limit's rate.
      expect(points / seconds, JSON.stringify(limit)).toBeGreaterThanOrEqual((limit.requests / (limit.perMs / 1000)) * 0.5);
    }
  });
});

describe('whose budget a run takes from', () => {
  const limit = { requests: 10, perMs: 10_000 };
  const owner = { tenant: 'acme', connection: 'shop' };

  it('is the ERP account where the driver names it: the same for two tenants on one company, apart for another company or address', () => {
    const account = { driver: 'parasut', baseUrl: 'https://api.parasut.com/', identity: ['12345'], limit };
    const key = accountKey(owner, account);
    expect(accountKey({ tenant: 'other', connection: 'erp' }, { ...account, baseUrl: 'https://API.parasut.com' })).toBe(key);
    expect(accountKey(owner, { ...account, identity: ['54321'] })).not.toBe(key);
    expect(accountKey(owner, { ...account, baseUrl: 'https://sandbox.parasut.com' })).not.toBe(key);
    // A hash: neither the company nor the address is in the Redis key.
    expect(key).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is the connection alone where the driver names no account', () => {
    const account = { driver: 'bizimhesap', baseUrl: 'https://bizimhesap.com/api/b2b', identity: undefined, limit };
    expect(accountKey(owner, account)).not.toBe(accountKey({ tenant: 'other', connection: 'shop' }, account));
    expect(accountKey(owner, account)).toBe(accountKey(owner, account));
  });
});
