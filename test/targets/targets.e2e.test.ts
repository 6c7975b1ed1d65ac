import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/model/run.js';
import type { AsyncTargetSandbox } from '../../src/sandbox/async-target.js';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxHepsiburada } from '../../src/sandbox/hepsiburada.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { SandboxN11 } from '../../src/sandbox/n11.js';
import { SandboxTrendyol } from '../../src/sandbox/trendyol.js';
import type { ProblemItem } from '../../src/store/queries.js';
import { finished, json, runCli, startCli } from '../support/cli.js';
import { hepsiburadaAccount, n11Account, trendyolAccount } from '../support/target-accounts.js';

/**
 * One ERP connection feeding four targets, through the built CLI: the offer
 * API and sandboxes of Trendyol, Hepsiburada and N11 that queue writes and
 * report per-item results only when polled. Runs do not wait for results
 * (`resultWaitSeconds=0`), so a result always arrives in a later run, the way
 * a run after a crash finds it.
 */

const API_KEY = 'sandbox-erp-key-targets';
const TOKEN = 'sandbox-offer-api-token';
const PRODUCTS = 30;
/** This product is on none of the three marketplaces: "not listed" there. */
const UNLISTED = 4;

type Market = 'trendyol' | 'hepsiburada' | 'n11';
const MARKETS: readonly Market[] = ['trendyol', 'hepsiburada', 'n11'];

let home: string;
let erp: SandboxErp;
let offerApi: SandboxMarketplace;
let sandboxes: Record<Market, AsyncTargetSandbox & { listed(key: string): { stock: number; price: string } | undefined }>;
let env: NodeJS.ProcessEnv;
let database: Database.Database | undefined;
/** The agent's real database file, read only; it exists once the first run made it. */
const db = () => (database ??= new Database(join(home, 'erp-sync.db'), { readonly: true, fileMustExist: true }));

const cli = (...args: string[]) => runCli(args, env);

async function run(): Promise<RunSummary> {
  const result = await cli('run', '--connection', 'shop', '--json');
  return json<{ runs: RunSummary[] }>(result).runs[0]!;
}

/** The key each marketplace files a product under: Trendyol the barcode, Hepsiburada and N11 the stock code. */
function keyOf(market: Market, index: number): string {
  const item = erp.catalog.item(index)!;
  return market === 'trendyol' ? item.barcode : item.sku;
}

function applications(market: Market, index: number): number {
  return sandboxes[market].stats.applicationsPerKey.get(keyOf(market, index)) ?? 0;
}

/** Valid products of the catalog, by index (the sandbox ERP makes none invalid unless a test patches one). */
const indices = Array.from({ length: PRODUCTS }, (_, i) => i);
const listedIndices = indices.filter((i) => i !== UNLISTED);

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'erp-sync-targets-'));
  erp = await new SandboxErp({ products: PRODUCTS, apiKey: API_KEY }).start();
  const unlisted = erp.catalog.item(UNLISTED)!;
  const listed = (key: string) => key !== unlisted.barcode && key !== unlisted.sku;
  offerApi = await new SandboxMarketplace({ token: TOKEN }).start();
  sandboxes = {
    trendyol: await new SandboxTrendyol({ ...trendyolAccount, listed, pendingPolls: 0 }).start(),
    hepsiburada: await new SandboxHepsiburada({ ...hepsiburadaAccount, listed, pendingPolls: 0 }).start(),
    n11: await new SandboxN11({ ...n11Account, listed, pendingPolls: 0 }).start(),
  };
  env = {
    ERP_SYNC_HOME: home, NO_COLOR: '1', LANG: 'C',
    ERP_SYNC_SHOP_API_KEY: API_KEY,
    ERP_SYNC_MARKETPLACE_TOKEN: TOKEN,
    ERP_SYNC_TRENDYOL_API_KEY: trendyolAccount.apiKey,
    ERP_SYNC_TRENDYOL_API_SECRET: trendyolAccount.apiSecret,
    ERP_SYNC_HEPSIBURADA_SERVICE_KEY: hepsiburadaAccount.serviceKey,
    ERP_SYNC_N11_APP_KEY: n11Account.appKey,
    ERP_SYNC_N11_APP_SECRET: n11Account.appSecret,
  };
  const quick = ['--set', 'retries=1', '--set', 'retryMinDelayMs=5'];
  const async = [...quick, '--set', 'resultWaitSeconds=0', '--yes'];
  const setup = [
    await cli('connect', 'marketplace', '--base-url', offerApi.url, ...quick),
    await cli('connect', 'trendyol', '--base-url', sandboxes.trendyol.baseUrl, '--set', `sellerId=${trendyolAccount.sellerId}`, ...async),
    await cli('connect', 'hepsiburada', '--base-url', sandboxes.hepsiburada.baseUrl, '--set', `merchantId=${hepsiburadaAccount.merchantId}`,
      '--set', `userAgent=${hepsiburadaAccount.userAgent}`, '--set', 'minIntervalMinutes=0', ...async),
    await cli('connect', 'n11', '--base-url', sandboxes.n11.baseUrl, ...async),
    await cli('connect', 'demo', '--name', 'shop', '--base-url', erp.url, '--set', 'pageSize=10', ...quick),
  ];
  for (const result of setup) expect(result.code, result.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  database?.close();
  await Promise.all([erp?.close(), offerApi?.close(), ...Object.values(sandboxes ?? {}).map((s) => s.close())]);
  rmSync(home, { recursive: true, force: true });
});

/** How many times one delivery writes a key there (Hepsiburada's price and stock may be separate uploads), learnt from the first delivery. */
const perDelivery: Partial<Record<Market, number>> = {};

describe('one ERP connection, four targets', () => {
  it('sends every product once to each target, and takes each one\'s results in the next run', async () => {
    const first = await run();
    expect(first.exitCode).toBe(0);
    expect(first.targets.map((t) => t.target).sort()).toEqual(['hepsiburada', 'marketplace', 'n11', 'trendyol']);
    // The offer API answers at once; the three marketplaces only queued the batch.
    expect(first.targets.find((t) => t.target === 'marketplace')).toMatchObject({ pushed: PRODUCTS });
    for (const market of MARKETS) expect(first.targets.find((t) => t.target === market)).toMatchObject({ submitted: PRODUCTS, awaiting: PRODUCTS });
    expect(db().prepare(`SELECT target, count(*) AS n FROM outbox WHERE submitted_at IS NOT NULL AND ticket IS NOT NULL GROUP BY target ORDER BY target`).all())
      .toEqual(MARKETS.map((target) => ({ target, n: 1 })).sort((a, b) => a.target.localeCompare(b.target)));

    const second = await run();
    expect(second.exitCode).toBe(0);
    for (const market of MARKETS) {
      expect(second.targets.find((t) => t.target === market)).toMatchObject({ submitted: 0, pushed: PRODUCTS, updated: PRODUCTS - 1, notListed: 1, awaiting: 0 });
      perDelivery[market] = applications(market, 0);
      expect(perDelivery[market]).toBeGreaterThan(0);
      for (const index of listedIndices) expect(applications(market, index), `${market} #${index}`).toBe(perDelivery[market]);
      expect(applications(market, UNLISTED)).toBe(0);
    }
    expect(db().prepare(`SELECT count(*) FROM outbox`).pluck().get()).toBe(0);
    // Each marketplace holds what the ERP says, with the KDV-included price.
    const item = erp.catalog.item(0)!;
    expect(sandboxes.trendyol.listed(item.barcode)).toMatchObject({ stock: item.stock, price: Number(item.price).toFixed(2) });
    expect(sandboxes.n11.listed(item.sku)).toMatchObject({ stock: item.stock });
  });

  it('records an unknown barcode as not listed once, shows it per target, and does not send it again until it changes', async () => {
    const unlisted = erp.catalog.item(UNLISTED)!;
    const before = MARKETS.map((m) => sandboxes[m].stats.submissions);
    const quiet = await run();
    expect(quiet.exitCode).toBe(0);
    expect(MARKETS.map((m) => sandboxes[m].stats.submissions)).toEqual(before);
    expect(quiet.targets.every((t) => t.submitted === 0 && t.pushed === 0)).toBe(true);

    const events = db().prepare(`SELECT target, count(*) AS n FROM events WHERE barcode = ? AND outcome = 'not_listed' GROUP BY target ORDER BY target`).all(unlisted.barcode);
    expect(events).toEqual([{ target: 'hepsiburada', n: 1 }, { target: 'n11', n: 1 }, { target: 'trendyol', n: 1 }]);

    const failed = json<{ failed: ProblemItem[] }>(await cli('logs', '--failed', '--target', 'trendyol', '--json')).failed;
    expect(failed).toMatchObject([{ target: 'trendyol', barcode: unlisted.barcode, outcome: 'not_listed' }]);
    const text = (await cli('logs', '--failed')).stdout;
    for (const market of MARKETS) expect(text).toContain(`shop → ${market}  ${unlisted.barcode}`);

    const status = (await cli('status')).stdout;
    expect(status).toMatch(/trendyol \(trendyol\): last delivered/);
    expect(status).toMatch(/not listed 1/);

    type Explained = { connections: { targets: { target: string; verdict: string }[] }[] };
    const explained = json<Explained>(await cli('explain', unlisted.barcode, '--json'));
    expect(Object.fromEntries(explained.connections[0]!.targets.map((t) => [t.target, t.verdict])))
      .toEqual({ hepsiburada: 'not_listed', marketplace: 'in_sync', n11: 'not_listed', trendyol: 'not_listed' });

    // The merchant lists it on Trendyol, and asks for it to be sent there again.
    const retry = await cli('retry', '--target', 'trendyol', '--barcode', unlisted.barcode);
    expect(retry.stdout).toContain('0 parked and 1 rejected or not listed offers will be sent again');
    (sandboxes.trendyol as SandboxTrendyol).listProduct({ barcode: unlisted.barcode, sku: unlisted.sku });
    await run();
    await run();
    expect(applications('trendyol', UNLISTED)).toBe(perDelivery.trendyol);
    expect(applications('n11', UNLISTED)).toBe(0);
  });

  it('sends a change to every target that receives it, and a Trendyol-only rule to Trendyol only', async () => {
    erp.catalog.patch(1, { stock: 77 });
    await run();
    await run();
    for (const market of MARKETS) {
      expect(applications(market, 1)).toBe(2 * perDelivery[market]!);
      expect(applications(market, 2)).toBe(perDelivery[market]);
    }
    expect(sandboxes.trendyol.listed(keyOf('trendyol', 1))?.stock).toBe(77);

    const offerWrites = offerApi.stats.offersApplied;
    const others = { hepsiburada: sandboxes.hepsiburada.stats.submissions, n11: sandboxes.n11.stats.submissions };
    const rules = join(home, 'rules.yaml');
    writeFileSync(rules, 'targets:\n  trendyol:\n    price:\n      markup: 10\n');
    expect((await cli('rules', 'shop', 'set', rules)).code).toBe(0);

    const preview = json<{ previews: { items: { barcode: string; targets: { target: string; offer: { price: string } | null }[] }[] }[] }>(
      await cli('preview', '--connection', 'shop', '--barcode', erp.catalog.item(2)!.barcode, '--json'),
    );
    const prices = Object.fromEntries(preview.previews[0]!.items[0]!.targets.map((t) => [t.target, t.offer?.price]));
    const base = Number(erp.catalog.item(2)!.price);
    expect(prices).toEqual({ hepsiburada: base.toFixed(2), marketplace: base.toFixed(2), n11: base.toFixed(2), trendyol: (base * 1.1).toFixed(2) });

    await run();
    await run();
    for (const index of listedIndices) expect(applications('trendyol', index), `trendyol #${index}`).toBeGreaterThanOrEqual(2 * perDelivery.trendyol!);
    expect(sandboxes.trendyol.listed(keyOf('trendyol', 2))?.price).toBe((base * 1.1).toFixed(2));
    expect(offerApi.stats.offersApplied).toBe(offerWrites);
    expect({ hepsiburada: sandboxes.hepsiburada.stats.submissions, n11: sandboxes.n11.stats.submissions }).toEqual(others);
  });

  it('lets a target that is down delay only itself', async () => {
    sandboxes.n11.faults.down = true;
    erp.catalog.patch(3, { stock: 55 });
    const down = await run();
    expect(down.exitCode).toBe(75);
    expect(down.targets.find((t) => t.target === 'n11')!.error?.message).toMatch(/n11/i);
    expect(down.targets.find((t) => t.target === 'marketplace')).toMatchObject({ pushed: 1 });
    await run();
    for (const market of ['trendyol', 'hepsiburada'] as const) expect(sandboxes[market].listed(keyOf(market, 3))?.stock).toBe(55);
    expect(sandboxes.n11.listed(keyOf('n11', 3))?.stock).not.toBe(55);

    sandboxes.n11.faults.down = false;
    await run();
    await run();
    expect(sandboxes.n11.listed(keyOf('n11', 3))?.stock).toBe(55);
    expect(applications('n11', 3)).toBe(2 * perDelivery.n11!);
  });

  it('converges with no double application after a kill -9 between submit and result, and after a submit whose answer was lost', async () => {
    // Results wait for this run: it is killed once Trendyol holds the batch and its id is recorded.
    expect((await cli('connect', 'trendyol', '--set', 'resultWaitSeconds=120', '--yes', '--no-test')).code).toBe(0);
    const applied5 = applications('trendyol', 5);
    erp.catalog.patch(5, { stock: 41 });
    const child = startCli(['run', '--connection', 'shop'], env);
    const ended = finished(child);
    const ticketed = db().prepare(`SELECT count(*) FROM outbox WHERE target = 'trendyol' AND ticket IS NOT NULL`).pluck();
    await until(() => (ticketed.get() as number) > 0);
    child.kill('SIGKILL');
    expect((await ended).signal).toBe('SIGKILL');

    // The next run takes the result of the batch the killed one sent, and sends nothing again.
    const submissions = sandboxes.trendyol.stats.submissions;
    await run();
    expect(sandboxes.trendyol.stats.submissions).toBe(submissions);
    expect(applications('trendyol', 5)).toBe(applied5 + perDelivery.trendyol!);
    expect(sandboxes.trendyol.listed(keyOf('trendyol', 5))?.stock).toBe(41);
    expect(db().prepare(`SELECT count(*) FROM outbox WHERE target = 'trendyol'`).pluck().get()).toBe(0);

    // Trendyol queues the batch, but the answer with its id never arrives: its fate is unknown.
    expect((await cli('connect', 'trendyol', '--set', 'resultWaitSeconds=0', '--yes', '--no-test')).code).toBe(0);
    sandboxes.trendyol.faults.dropAfterAccept = 1;
    const applied6 = applications('trendyol', 6);
    erp.catalog.patch(6, { stock: 42 });
    await run();
    expect(db().prepare(`SELECT count(*) FROM outbox WHERE target = 'trendyol' AND submitted_at IS NOT NULL AND ticket IS NULL`).pluck().get()).toBe(1);
    // Until the marketplace has surely applied what it queued, nothing is sent again.
    const queued = sandboxes.trendyol.stats.submissions;
    await run();
    expect(sandboxes.trendyol.stats.submissions).toBe(queued);
    // Twenty minutes later the engine reads what Trendyol holds: the batch was applied, so it is acknowledged, not resent.
    backdateOutbox('trendyol', 21 * 60_000);
    await run();
    expect(sandboxes.trendyol.stats.submissions).toBe(queued);
    expect(applications('trendyol', 6)).toBe(applied6 + perDelivery.trendyol!);
    expect(db().prepare(`SELECT count(*) FROM outbox WHERE target = 'trendyol'`).pluck().get()).toBe(0);
    expect(db().prepare(`SELECT stock FROM snapshot WHERE target = 'trendyol' AND barcode = ?`).pluck().get(erp.catalog.item(6)!.barcode)).toBe(42);

    // The killed run may have left another marketplace's batch of unknown fate too; once the same time has passed, every one ends where the ERP is.
    backdateOutbox(undefined, 21 * 60_000);
    await run();
    await run();
    expect(db().prepare(`SELECT count(*) FROM outbox`).pluck().get()).toBe(0);
    for (const market of MARKETS) {
      expect(sandboxes[market].listed(keyOf(market, 5))?.stock, market).toBe(41);
      expect(sandboxes[market].listed(keyOf(market, 6))?.stock, market).toBe(42);
    }
  });
});

/** Moves outbox batches' submit time into the past (one target's, or all), as if the time the engine waits for a batch of unknown fate had passed. */
function backdateOutbox(target: string | undefined, ms: number): void {
  const writable = new Database(join(home, 'erp-sync.db'));
  try {
    writable.prepare(`UPDATE outbox SET submitted_at = ? WHERE submitted_at IS NOT NULL AND target = coalesce(?, target)`).run(new Date(Date.now() - ms).toISOString(), target ?? null);
  } finally {
    writable.close();
  }
}

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
