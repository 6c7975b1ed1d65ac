import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { demo as demoDriver } from '../../../drivers/demo.js';
import { ConfigStore, MARKETPLACE } from '../../config/config.js';
import { ExitCode, UserError, worstExitCode } from '../../errors/index.js';
import type { RunSummary } from '../../model/run.js';
import { language, t } from '../../i18n/index.js';
import { SandboxErp } from '../../sandbox/erp.js';
import { SandboxMarketplace } from '../../sandbox/marketplace.js';
import { envVarName } from '../../secrets/store.js';
import { createOutput } from '../output.js';
import { renderRun } from '../render-run.js';

export interface DemoOptions {
  products: number;
  changePercent: number;
  json?: boolean;
}

/** The built CLI beside this chunk in dist/: the demo syncs with the very command cron would run. */
const cli = fileURLToPath(new URL('../bin/erp-sync.js', import.meta.url));

/**
 * `erp-sync demo`: a whole sync twice, against a sandbox ERP and a sandbox
 * marketplace on 127.0.0.1, in a throwaway home directory. Needs no account
 * and no network, and never touches the merchant's own configuration. The
 * sandboxes live in this process; each sync is a separate `erp-sync run`, so
 * its memory is the agent's alone.
 */
export async function demoCommand(options: DemoOptions): Promise<ExitCode> {
  if (!Number.isInteger(options.products) || options.products < 1 || options.products > 10_000_000) {
    throw new UserError(t('demo.badProducts'), { code: 'BAD_OPTION', exitCode: ExitCode.usage });
  }
  if (!(options.changePercent >= 0 && options.changePercent <= 100)) {
    throw new UserError(t('demo.badChangePercent'), { code: 'BAD_OPTION', exitCode: ExitCode.usage });
  }
  const out = createOutput(!!options.json);
  const home = mkdtempSync(join(tmpdir(), 'erp-sync-demo-'));
  const apiKey = randomBytes(16).toString('hex');
  const token = randomBytes(16).toString('hex');
  const erp = await new SandboxErp({ products: options.products, apiKey, maxPageSize: 1000 }).start();
  // One barcode in forty is not in the marketplace's master catalog yet: those wait for approval.
  const marketplace = await new SandboxMarketplace({ token, inMasterCatalog: (barcode) => Number(barcode.slice(3, 12)) % 40 !== 39 }).start();
  addDemoFlaws(erp, options.products);
  try {
    const config = new ConfigStore(home);
    const now = new Date().toISOString();
    config.saveTarget({ name: MARKETPLACE, kind: 'offer-api', baseUrl: marketplace.url, settings: {}, secretStore: 'env' });
    config.saveConnection({ name: 'demo', driver: demoDriver.id, baseUrl: erp.url, settings: { pageSize: '1000' }, secretStore: 'env', createdAt: now, updatedAt: now });
    const env = {
      ...process.env,
      ERP_SYNC_HOME: home,
      [envVarName('demo', 'apiKey')]: apiKey,
      [envVarName(MARKETPLACE, 'token')]: token,
    };

    out.line(t('demo.intro', { products: options.products }));
    out.line();
    out.line(t('demo.first'));
    const first = await syncOnce(env);
    printRun(out, first);
    const changed = erp.catalog.change(options.changePercent);
    out.line(t('demo.change', { percent: options.changePercent, count: changed.length }));
    out.line();
    out.line(t('demo.second'));
    const second = await syncOnce(env);
    printRun(out, second);
    out.line(t('demo.outro', { offers: marketplace.offers.size }));
    if (out.json) out.document({ runs: [first, second] });
    return worstExitCode([first.exitCode, second.exitCode]);
  } finally {
    await Promise.all([erp.close(), marketplace.close()]);
    rmSync(home, { recursive: true, force: true });
  }
}

/** Runs `erp-sync run --json` as a child process and returns its one run. */
function syncOnce(env: NodeJS.ProcessEnv): Promise<RunSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, '--lang', language(), '--quiet', 'run', '--connection', 'demo', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve((JSON.parse(stdout) as { runs: RunSummary[] }).runs[0]!);
      } catch {
        reject(new Error(`the demo sync ended with exit ${code} and no summary`));
      }
    });
  });
}

function printRun(out: ReturnType<typeof createOutput>, run: RunSummary): void {
  for (const line of renderRun(run)) out.line(line);
  out.line(`  ${t('demo.memory', { mb: run.peakRssMb })}`);
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
