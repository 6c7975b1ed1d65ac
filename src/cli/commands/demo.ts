import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { demo as demoDriver } from '../../../drivers/demo.js';
import type { ConnectionConfig, MarketplaceConfig } from '../../config/config.js';
import { MARKETPLACE } from '../../config/config.js';
import { paths } from '../../config/home.js';
import { ExitCode, UserError, worstExitCode } from '../../errors/index.js';
import { runConnection } from '../../engine/run.js';
import type { RunSummary } from '../../engine/run.js';
import { t } from '../../i18n/index.js';
import { SandboxErp } from '../../sandbox/erp.js';
import { SandboxMarketplace } from '../../sandbox/marketplace.js';
import { EnvSecretStore, envVarName } from '../../secrets/store.js';
import { openDatabase } from '../../store/db.js';
import { createOutput } from '../output.js';
import { renderRun } from '../render-run.js';

export interface DemoOptions {
  products: number;
  changePercent: number;
  json?: boolean;
}

/**
 * `erp-sync demo`: a whole sync twice, against a sandbox ERP and a sandbox
 * marketplace on 127.0.0.1, in a throwaway home directory. Needs no account
 * and no network, and never touches the merchant's own configuration.
 */
export async function demoCommand(options: DemoOptions): Promise<ExitCode> {
  if (!Number.isInteger(options.products) || options.products < 1 || options.products > 10_000_000) {
    throw new UserError('--products must be a whole number from 1 to 10,000,000', { code: 'BAD_OPTION', exitCode: ExitCode.usage });
  }
  if (!(options.changePercent >= 0 && options.changePercent <= 100)) {
    throw new UserError('--change-percent must be between 0 and 100', { code: 'BAD_OPTION', exitCode: ExitCode.usage });
  }
  const out = createOutput(!!options.json);
  const home = mkdtempSync(join(tmpdir(), 'erp-sync-demo-'));
  const apiKey = randomBytes(16).toString('hex');
  const token = randomBytes(16).toString('hex');
  const erp = await new SandboxErp({ products: options.products, apiKey }).start();
  // One barcode in forty is not in the marketplace's master catalog yet: those wait for approval.
  const marketplace = await new SandboxMarketplace({ token, inMasterCatalog: (barcode) => Number(barcode.slice(3, 12)) % 40 !== 39 }).start();
  addDemoFlaws(erp, options.products);
  const db = openDatabase(paths.database(home));
  try {
    const connection: ConnectionConfig = {
      name: 'demo', driver: demoDriver.id, baseUrl: erp.url, settings: {}, secretStore: 'env',
      createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(),
    };
    const marketplaceConfig: MarketplaceConfig = { baseUrl: marketplace.url, settings: {}, secretStore: 'env' };
    const store = new EnvSecretStore({ [envVarName('demo', 'apiKey')]: apiKey, [envVarName(MARKETPLACE, 'token')]: token });
    const run = () =>
      runConnection({ db, home, connection, driver: demoDriver, marketplace: marketplaceConfig, secretStore: () => store, onWarning: (m) => out.warn(m) });

    out.line(t('demo.intro', { products: options.products }));
    out.line();
    out.line(t('demo.first'));
    const first = await run();
    printRun(out, first);
    const changed = erp.catalog.change(options.changePercent);
    out.line(t('demo.change', { percent: options.changePercent, count: changed.length }));
    out.line();
    out.line(t('demo.second'));
    const second = await run();
    printRun(out, second);
    out.line(t('demo.outro', { offers: marketplace.offers.size }));
    if (out.json) out.document({ runs: [first, second] });
    return worstExitCode([first.exitCode, second.exitCode]);
  } finally {
    db.close();
    await Promise.all([erp.close(), marketplace.close()]);
    rmSync(home, { recursive: true, force: true });
  }
}

function printRun(out: ReturnType<typeof createOutput>, run: RunSummary): void {
  for (const line of renderRun(run)) out.line(line);
  out.line();
}

/**
 * A real catalog is never clean: one barcode with a wrong check digit, one
 * price typed as text, and one stock the marketplace refuses, so the demo
 * shows how each is reported while everything else goes through.
 */
function addDemoFlaws(erp: SandboxErp, products: number): void {
  if (products < 50) return;
  const wrongCheckDigit = erp.catalog.item(11)!.barcode;
  erp.catalog.patch(11, { barcode: wrongCheckDigit.slice(0, 12) + String((Number(wrongCheckDigit[12]) + 1) % 10) });
  erp.catalog.patch(23, { price: 'yok' });
  erp.catalog.patch(42, { stock: 25_000 });
}
