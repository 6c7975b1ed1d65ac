import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demo } from '../../drivers/demo.js';
import type { ConnectionConfig, TargetConfig } from '../../src/config/config.js';
import { runConnection } from '../../src/engine/run.js';
import type { RunRequest } from '../../src/engine/run.js';
import type { RunSummary } from '../../src/model/run.js';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { SandboxTrendyol } from '../../src/sandbox/trendyol.js';
import { EnvSecretStore } from '../../src/secrets/store.js';
import type { Db } from '../../src/store/db.js';
import { trendyolAccount } from '../support/target-accounts.js';

const API_KEY = 'sandbox-erp-key-pg';
const TOKEN = 'sandbox-offer-api-token-pg';

/**
 * The engine itself (`runConnection`, as `erp-sync run` calls it) on any
 * store, against the sandbox ERP, the offer API and the sandbox Trendyol
 * (asynchronous: its results arrive at a later run's poll). Each world has
 * its own sandboxes and home (the run's lock and rules), so two worlds (two
 * tenants, or SQLite beside PostgreSQL) count their applications apart.
 */
export class EngineWorld {
  readonly erp: SandboxErp;
  readonly offerApi: SandboxMarketplace;
  readonly trendyol: SandboxTrendyol;
  readonly home: string;
  readonly connection: ConnectionConfig;
  readonly targets: TargetConfig[];
  readonly #secrets: EnvSecretStore;

  private constructor(erp: SandboxErp, offerApi: SandboxMarketplace, trendyol: SandboxTrendyol, options: { connection: string; batchSize: number }) {
    this.erp = erp;
    this.offerApi = offerApi;
    this.trendyol = trendyol;
    this.home = mkdtempSync(join(tmpdir(), 'erp-sync-pg-world-'));
    const at = new Date().toISOString();
    const quick = { retries: '1', retryMinDelayMs: '5' };
    this.connection = {
      name: options.connection, driver: demo.id, baseUrl: erp.url, settings: { pageSize: '10', ...quick }, secretStore: 'env', createdAt: at, updatedAt: at,
    };
    this.targets = [
      { name: 'marketplace', kind: 'offer-api', baseUrl: offerApi.url, settings: { ...quick, batchSize: String(options.batchSize) }, secretStore: 'env' },
      { name: 'trendyol', kind: 'trendyol', baseUrl: trendyol.baseUrl, settings: { ...quick, sellerId: trendyolAccount.sellerId, resultWaitSeconds: '0' }, secretStore: 'env' },
    ];
    const prefix = options.connection.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
    this.#secrets = new EnvSecretStore({
      [`ERP_SYNC_${prefix}_API_KEY`]: API_KEY,
      ERP_SYNC_MARKETPLACE_TOKEN: TOKEN,
      ERP_SYNC_TRENDYOL_API_KEY: trendyolAccount.apiKey,
      ERP_SYNC_TRENDYOL_API_SECRET: trendyolAccount.apiSecret,
    });
  }

  static async start(options: { products: number; connection?: string; batchSize?: number }): Promise<EngineWorld> {
    const erp = await new SandboxErp({ products: options.products, apiKey: API_KEY }).start();
    const offerApi = await new SandboxMarketplace({ token: TOKEN }).start();
    // Every barcode is listed on Trendyol; results show at the first poll.
    const trendyol = await new SandboxTrendyol({ ...trendyolAccount, listed: () => true, pendingPolls: 0 }).start();
    return new EngineWorld(erp, offerApi, trendyol, { connection: options.connection ?? 'shop', batchSize: options.batchSize ?? 10 });
  }

  run(db: Db, extra: Partial<RunRequest> = {}): Promise<RunSummary> {
    return runConnection({
      db, home: this.home, connection: this.connection, driver: demo, targets: this.targets, secretStore: () => this.#secrets, ...extra,
    });
  }

  barcode(index: number): string {
    return this.erp.catalog.item(index)!.barcode;
  }

  /** Times the offer API applied an offer of this product. */
  offerApplications(index: number): number {
    return this.offerApi.stats.applicationsPerBarcode.get(this.barcode(index)) ?? 0;
  }

  /** Times Trendyol applied an update of this product. */
  trendyolApplications(index: number): number {
    return this.trendyol.stats.applicationsPerKey.get(this.barcode(index)) ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all([this.erp.close(), this.offerApi.close(), this.trendyol.close()]);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** A target's part of a run. */
export function targetOf(summary: RunSummary, target: string) {
  const found = summary.targets.find((t) => t.target === target);
  if (!found) throw new Error(`run ${summary.runId} has no target ${target}`);
  return found;
}
