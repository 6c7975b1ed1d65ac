import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import type { RunSummary } from '../../src/model/run.js';
import { json, runCli, startCli } from './cli.js';
import type { CliResult } from './cli.js';

export const API_KEY = 'sandbox-erp-key-Ünïque-1';
export const TOKEN = 'sandbox-marketplace-token-42';

export interface World {
  home: string;
  erp: SandboxErp;
  marketplace: SandboxMarketplace;
  env: NodeJS.ProcessEnv;
  cli(...args: string[]): Promise<CliResult>;
  start(...args: string[]): ReturnType<typeof startCli>;
  /** `erp-sync run --json` for the shop connection, returning the one run. */
  run(...args: string[]): Promise<{ result: CliResult; summary: RunSummary }>;
  /** Read-only queries on the agent's real database file. */
  query<T>(sql: string, ...params: unknown[]): T[];
  close(): Promise<void>;
}

export interface WorldOptions {
  products: number;
  /** Marketplace batch size (smaller makes batch-level tests short). */
  batchSize?: number;
  inMasterCatalog?: (barcode: string) => boolean;
  pageSize?: number;
  /** The marketplace keeps every price each offer was written with (stats.pricesPerBarcode). */
  keepPriceHistory?: boolean;
}

/**
 * A sandbox ERP and marketplace on 127.0.0.1, an empty ERP_SYNC_HOME, and a
 * connection "shop" set up through the real CLI. Retries are shortened so
 * fault tests stay quick.
 */
export async function createWorld(options: WorldOptions): Promise<World> {
  const home = mkdtempSync(join(tmpdir(), 'erp-sync-test-'));
  const erp = await new SandboxErp({ products: options.products, apiKey: API_KEY }).start();
  const marketplace = await new SandboxMarketplace({
    token: TOKEN,
    ...(options.inMasterCatalog ? { inMasterCatalog: options.inMasterCatalog } : {}),
    keepPriceHistory: !!options.keepPriceHistory,
  }).start();
  const env = { ERP_SYNC_HOME: home, ERP_SYNC_SHOP_API_KEY: API_KEY, ERP_SYNC_MARKETPLACE_TOKEN: TOKEN, NO_COLOR: '1', LANG: 'C' };
  const cli = (...args: string[]) => runCli(args, env);
  const setup = [
    await cli('connect', 'marketplace', '--base-url', marketplace.url, '--set', `batchSize=${options.batchSize ?? 100}`, '--set', 'retries=2', '--set', 'retryMinDelayMs=5'),
    await cli('connect', 'demo', '--name', 'shop', '--base-url', erp.url, '--set', `pageSize=${options.pageSize ?? 50}`, '--set', 'retries=1', '--set', 'retryMinDelayMs=5'),
  ];
  for (const result of setup) if (result.code !== 0) throw new Error(`setup failed: ${result.stderr}`);
  let db: Database.Database | undefined;
  return {
    home,
    erp,
    marketplace,
    env,
    cli,
    start: (...args) => startCli(args, env),
    async run(...args) {
      const result = await cli('run', '--connection', 'shop', '--json', ...args);
      const summary = json<{ runs: RunSummary[] }>(result).runs[0]!;
      return { result, summary };
    },
    query<T>(sql: string, ...params: unknown[]) {
      db ??= new Database(join(home, 'erp-sync.db'), { readonly: true, fileMustExist: true });
      return db.prepare(sql).all(...params) as T[];
    },
    async close() {
      db?.close();
      await Promise.all([erp.close(), marketplace.close()]);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The offers the ERP's catalog should produce: every present item, as the marketplace should hold it. */
export function expectedOffers(erp: SandboxErp): Map<string, { sku: string; name: string; price: string; stock: number; vatRate: number }> {
  const map = new Map<string, { sku: string; name: string; price: string; stock: number; vatRate: number }>();
  for (let i = 0; i < erp.catalog.size; i++) {
    const item = erp.catalog.item(i);
    if (item) map.set(item.barcode, { sku: item.sku, name: item.name, price: item.price, stock: item.stock, vatRate: item.vatRate });
  }
  return map;
}
