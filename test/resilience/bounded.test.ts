import { utimesSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { json } from '../support/cli.js';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { configure, expectMarketplaceEqualsErp } from './support.js';

/**
 * Runs that end, whatever the ERP sends: a record nobody can read, pages
 * that never stop, the same page again and again, an answer dripped out a
 * few bytes at a time, text that is not UTF-8; and a lock that outlives the
 * container that took it.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Run {
  status: string;
  pulled: number;
  pushed: number;
  vanished: number;
  error_code: string | null;
  warnings: string | null;
}

const lastRun = (w: World) => w.query<Run>(`SELECT status, pulled, pushed, vanished, error_code, warnings FROM runs ORDER BY id DESC LIMIT 1`)[0]!;

describe('a record that cannot be read is that record\'s problem, never the run\'s', () => {
  it('reports a record nested 20,000 levels deep as RECORD_UNREADABLE with its SKU, and syncs the rest, run after run', async () => {
    world = await createWorld({ products: 120 });
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    world.erp.faults.rawRecord = `{"sku":"DERIN-1","barcode":"8690000000118","name":"Derin İç İçe Kayıt","price":"10.00","stock":1,"currency":"TRY","vatRate":20,"extra":${deep}}`;
    for (let run = 1; run <= 2; run++) {
      const { result, summary } = await world.run();
      expect(result.code, result.stderr).toBe(0);
      expect(summary.pulled).toBe(121);
      expectMarketplaceEqualsErp(world);
    }
    const failed = json<{ failed: { sku: string; barcode: string; code: string; message: string }[] }>(await world.cli('logs', '--failed', '--json')).failed;
    expect(failed).toEqual([expect.objectContaining({ sku: 'DERIN-1', barcode: '8690000000118', code: 'RECORD_UNREADABLE' })]);
    expect(failed[0]!.message).toBe('the ERP record could not be read: it is nested too deeply');
    expect(world.marketplace.offers.has('8690000000118')).toBe(false);
  });
});

describe('a record that cannot be mapped', () => {
  it('leaves the offer of a product already on the marketplace alone: not vanished, reported', async () => {
    world = await createWorld({ products: 100 });
    expect((await world.run()).result.code).toBe(0);
    const barcode = world.erp.catalog.item(5)!.barcode;
    // Its record turns into something the driver cannot map (a variant that is null).
    world.erp.catalog.remove(5);
    world.erp.faults.rawRecord = `{"sku":"SKU-BOZUK","barcode":"${barcode}","name":"Bozuk Kayıt","variants":[null]}`;
    const { result, summary } = await world.run();
    expect(result.code, result.stderr).toBe(0);
    expect(summary.vanished).toBe(0);
    expect(world.marketplace.offers.get(barcode)).toMatchObject({ active: true });
    const failed = json<{ failed: { barcode: string; code: string }[] }>(await world.cli('logs', '--failed', '--json')).failed;
    expect(failed).toEqual([expect.objectContaining({ barcode, code: 'RECORD_UNREADABLE' })]);
  });
});

describe('a pull always ends', () => {
  it('stops an ERP that keeps sending full pages far past the size of the last complete pull, and pushes nothing', async () => {
    world = await createWorld({ products: 200, pageSize: 50 });
    expect((await world.run()).result.code).toBe(0);
    const acknowledged = world.marketplace.stats.offersApplied;
    world.erp.faults.endless = true;
    const { result, summary } = await world.run();
    expect(result.code).toBe(65);
    expect(summary.error?.code).toBe('PULL_RUNAWAY');
    // 200 and 200% more, or 1,000 more when that is larger.
    expect(summary.error?.message).toMatch(/more than 1,200 products \(far more than the 200 of the last complete pull; maxPullGrowthPercent is 200\)/);
    expect(summary.error?.hint).toContain('--set maxPullGrowthPercent=N');
    // The bound is checked page by page: the pull stops within a page of it.
    expect(summary.pulled).toBeGreaterThan(1200);
    expect(summary.pulled).toBeLessThanOrEqual(1200 + 70);
    expect(summary).toMatchObject({ pushed: 0, vanished: 0, pullComplete: false });
    expect(world.marketplace.stats.offersApplied).toBe(acknowledged);
  });

  it('measures a runaway against the catalog, not against an empty export a guard stopped', async () => {
    world = await createWorld({ products: 3000, pageSize: 500 });
    expect((await world.run()).result.code).toBe(0);
    world.erp.catalog.resize(100);
    expect((await world.run()).result.code).toBe(65);
    world.erp.catalog.resize(3000);
    const { result, summary } = await world.run();
    expect(result.code, summary.error?.message).toBe(0);
  });

  it('bounds a first pull by maxProducts', async () => {
    world = await createWorld({ products: 200, pageSize: 50 });
    const reconnect = await world.cli('connect', 'demo', '--name', 'shop', '--base-url', world.erp.url, '--set', 'pageSize=50', '--set', 'maxProducts=500');
    expect(reconnect.code, reconnect.stderr).toBe(0);
    world.erp.faults.endless = true;
    const { result, summary } = await world.run();
    expect(result.code).toBe(65);
    expect(summary.error?.message).toMatch(/more than 500 products \(the most a first pull takes\)/);
    expect(summary.error?.hint).toContain('--set maxProducts=N');
    expect(world.marketplace.offers.size).toBe(0);
  });

  it('stops when the ERP sends the same page twice in a row, without counting anything twice or as vanished', async () => {
    world = await createWorld({ products: 200, pageSize: 50 });
    expect((await world.run()).result.code).toBe(0);
    world.erp.faults.ignorePageNumber = true;
    const { result, summary } = await world.run();
    expect(result.code).toBe(75);
    expect(summary.error?.code).toBe('ERP_SAME_PAGE');
    expect(summary).toMatchObject({ vanished: 0, invalid: 0, pullComplete: false });
    expect(world.query(`SELECT id FROM events WHERE code = 'BARCODE_DUPLICATE'`)).toEqual([]);
    expectMarketplaceEqualsErp(world);
  });

  it('gives up on an answer that arrives a few bytes at a time past timeoutMs, though every piece is on time', async () => {
    world = await createWorld({ products: 40, pageSize: 50 });
    configure(world.home, { connection: { name: 'shop', settings: { timeoutMs: '1500', retries: '0' } } });
    // Ten pieces 400 ms apart: 3.6 s for the page, never more than 0.4 s between two pieces.
    world.erp.faults.dripMs = 400;
    const { result, summary } = await world.run();
    expect(result.code).toBe(75);
    expect(summary.error?.message).toMatch(/did not answer in time/);
    expect(summary.durationMs).toBeLessThan(3600);
  });

  it('ends a run at runTimeoutMinutes like a stop signal: recorded, lock released, exit 75, and counted as failed', async () => {
    world = await createWorld({ products: 400, pageSize: 50 });
    const reconnect = await world.cli('connect', 'demo', '--name', 'shop', '--base-url', world.erp.url, '--set', 'pageSize=50', '--set', 'runTimeoutMinutes=0.03', '--set', 'concurrency=1');
    expect(reconnect.code, reconnect.stderr).toBe(0);
    world.erp.faults.latencyMs = 700;
    const { result, summary } = await world.run();
    expect(result.code).toBe(75);
    expect(summary.error?.code).toBe('RUN_TIMEOUT');
    expect(summary.error?.message).toContain('time limit of 0.03 minutes (runTimeoutMinutes)');
    expect(lastRun(world)).toMatchObject({ status: 'failed', error_code: 'RUN_TIMEOUT' });
    expect(existsSync(join(world.home, 'locks', 'shop.lock'))).toBe(false);
    const bad = await world.cli('connect', 'demo', '--name', 'shop', '--base-url', world.erp.url, '--set', 'runTimeoutMinutes=two');
    expect(bad.code).toBe(64);
  });
});

describe('text that is not UTF-8', () => {
  it('is reported with a count, not replaced silently', async () => {
    world = await createWorld({ products: 60, pageSize: 100 });
    world.erp.faults.latin5 = true;
    const { result, summary } = await world.run();
    expect(result.code, result.stderr).toBe(0);
    // Every letter outside ASCII in the catalog arrived as one byte that is not UTF-8.
    const letters = [...iconv.encode(JSON.stringify(world.erp.catalog.records(0, world.erp.catalog.recordCount)), 'iso-8859-9')].filter((b) => b > 0x7f).length;
    expect(letters).toBeGreaterThan(10);
    expect(summary.warnings).toEqual([expect.stringContaining(`${letters} characters of the ERP's answers were not valid UTF-8`)]);
    expect(result.stderr).toContain('were not valid UTF-8');
    expect(JSON.parse(lastRun(world).warnings!)).toEqual(summary.warnings);
  });
});

describe('the run lock outlives no container', () => {
  const lockOf = (w: World) => join(w.home, 'locks', 'shop.lock');
  function writeLock(w: World, owner: Record<string, unknown>, ageMs: number): void {
    mkdirSync(join(w.home, 'locks'), { recursive: true });
    writeFileSync(lockOf(w), JSON.stringify(owner));
    const at = new Date(Date.now() - ageMs);
    utimesSync(lockOf(w), at, at);
  }

  it('takes over a lock whose heartbeat stopped, whatever host wrote it, and respects one that beats', async () => {
    world = await createWorld({ products: 30 });
    // A container that died under another host name, ten minutes ago.
    writeLock(world, { pid: 4242, host: 'erp-sync-7d9f8c-x2k4q', startedAt: new Date(Date.now() - 900_000).toISOString(), processStart: '123' }, 600_000);
    const status = json<{ connections: { runningNow: unknown }[] }>(await world.cli('status', '--json'));
    expect(status.connections[0]!.runningNow).toBeNull();
    const taken = await world.run();
    expect(taken.result.code, taken.result.stderr).toBe(0);

    // One that beats (touched just now) from another host is held: that run may be going on.
    writeLock(world, { pid: 4242, host: 'erp-sync-7d9f8c-x2k4q', startedAt: new Date().toISOString(), processStart: '123' }, 0);
    const held = await world.run();
    expect(held.result.code).toBe(75);
    expect(held.summary.error?.code).toBe('LOCKED');
  });

  it('does not trust a live pid without its start time once the heartbeat is stale', async () => {
    world = await createWorld({ products: 30 });
    // This very test process is alive, on this host: without a start time its pid alone proves nothing.
    writeLock(world, { pid: process.pid, host: (await import('node:os')).hostname(), startedAt: new Date(Date.now() - 900_000).toISOString() }, 600_000);
    const { result } = await world.run();
    expect(result.code, result.stderr).toBe(0);
  });
});
