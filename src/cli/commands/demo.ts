import { rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { demo as demoDriver } from '../../../drivers/demo.js';
import { ConfigStore, MARKETPLACE } from '../../config/config.js';
import { DEMO_KEYS, demoEnvironment, demoHome, ensureHome } from '../../config/home.js';
import { ExitCode, UserError, worstExitCode } from '../../errors/index.js';
import type { RunSummary } from '../../model/run.js';
import { defineMessages, language, setCommandName, t } from '../../i18n/index.js';
import { DemoWorld } from '../../sandbox/world.js';
import { createOutput } from '../output.js';
import type { Output } from '../output.js';
import { renderRun } from '../render-run.js';

export interface DemoOptions {
  products: number;
  changePercent: number;
  json?: boolean;
  serve?: boolean;
  port: number;
}

const m = defineMessages({
  en: {
    outro: 'The marketplace now holds {offers} offers, and Trendyol the stock and price of {listed} products.',
    kept: 'The demo\'s world stays in {home}, apart from your own connections (`erp-sync demo` starts it over). Look around it: --demo works on it.',
    serveHint: 'See it on the web page, with the sandbox ERP and marketplaces running: erp-sync demo --serve',
    ownHint: 'To sync your own ERP: erp-sync drivers, then erp-sync connect <driver> --name shop',
    serving: 'The sandbox ERP ({erp}), marketplace ({marketplace}) and Trendyol ({trendyol}) are running on the demo\'s world.',
    changeHint: 'Type c and Enter to change {count} products in the sandbox ERP, then press "Sync now" on the page (or run `erp-sync --demo run`): only those are pushed, to each marketplace. Ctrl-C stops; the world is kept.',
    changed: 'Changed in the sandbox ERP: {barcodes}',
    stopped: 'Stopped; the demo\'s world is kept in {home}.',
    outdated: 'The demo\'s world in {home} was made by an earlier erp-sync, before the demo delivered to Trendyol: starting it over.',
  },
  tr: {
    outro: 'Pazaryerinde artık {offers} teklif var; Trendyol da {listed} ürünün stokunu ve fiyatını aldı.',
    kept: 'Demonun dünyası kendi bağlantılarınızdan ayrı olarak {home} klasöründe kalır (`erp-sync demo` baştan kurar). İçinde gezinin: --demo onun üzerinde çalışır.',
    serveHint: 'Deneme ERP’si ve pazaryerleri çalışırken web sayfasında görün: erp-sync demo --serve',
    ownHint: 'Kendi ERP’nizi senkronize etmek için: erp-sync drivers, ardından erp-sync connect <sürücü> --name magaza',
    serving: 'Deneme ERP’si ({erp}), pazaryeri ({marketplace}) ve Trendyol ({trendyol}) demonun dünyasında çalışıyor.',
    changeHint: 'Deneme ERP’sinde {count} ürünü değiştirmek için c yazıp Enter’a basın, sonra sayfada "Şimdi senkronize et"e basın (ya da `erp-sync --demo run` çalıştırın): yalnızca bunlar, her pazaryerine gönderilir. Ctrl-C durdurur; dünya saklanır.',
    changed: 'Deneme ERP’sinde değişenler: {barcodes}',
    stopped: 'Durduruldu; demonun dünyası {home} klasöründe saklanıyor.',
    outdated: 'Demonun {home} klasöründeki dünyası, demo Trendyol’a teslim etmeden önceki bir erp-sync sürümüyle kurulmuş: baştan kuruluyor.',
  },
});

/** The built CLI beside this chunk in dist/: the demo syncs with the very command cron would run. */
const cli = fileURLToPath(new URL('../bin/erp-sync.js', import.meta.url));

/** How many products one "c" changes under --serve. */
const CHANGE_COUNT = 5;

/**
 * `erp-sync demo`: a whole sync twice, against a sandbox ERP and two sandbox
 * marketplaces (the offer API and Trendyol) on 127.0.0.1, in the demo's own
 * home; each run waits for Trendyol's results, read at its first poll. Needs no account and no
 * network, and never touches the merchant's own configuration. Each sync is
 * a separate `erp-sync run`, so its memory is the agent's alone. The world
 * stays: every command it suggests works on it with `--demo`, and
 * `demo --serve` brings its sandboxes back with the web page.
 */
export async function demoCommand(options: DemoOptions): Promise<ExitCode> {
  if (!Number.isInteger(options.products) || options.products < 1 || options.products > 10_000_000) {
    throw new UserError(t('demo.badProducts'), { code: 'BAD_OPTION', exitCode: ExitCode.usage });
  }
  if (!(options.changePercent >= 0 && options.changePercent <= 100)) {
    throw new UserError(t('demo.badChangePercent'), { code: 'BAD_OPTION', exitCode: ExitCode.usage });
  }
  const out = createOutput(!!options.json && !options.serve);
  const home = demoHome();
  const env = { ...process.env, ...demoEnvironment() };
  if (options.serve) {
    const kept = DemoWorld.load(home, DEMO_KEYS);
    if (kept.state === 'kept') return serve(out, home, kept.world, env, options.port);
    if (kept.state === 'outdated') out.line(m('outdated', { home }));
  }

  rmSync(home, { recursive: true, force: true });
  ensureHome(home);
  const world = await DemoWorld.create(home, DEMO_KEYS, options.products).start();
  let exitCode: ExitCode;
  try {
    configure(home, world);
    out.line(t('demo.intro', { products: options.products }));
    out.line();
    out.line(t('demo.first'));
    const first = await syncOnce(env);
    printRun(out, first);
    const changed = world.erp.catalog.change(options.changePercent);
    out.line(t('demo.change', { percent: options.changePercent, count: changed.length }));
    out.line();
    out.line(t('demo.second'));
    const second = await syncOnce(env);
    printRun(out, second);
    world.save();
    out.line(m('outro', { offers: world.marketplace.offers.size, listed: world.trendyol.catalog.size }));
    if (!options.serve) {
      out.line();
      out.line(m('kept', { home }));
      for (const command of suggestedCommands(world)) out.line(`  ${command}`);
      out.line(m('serveHint'));
      out.line(m('ownHint'));
    }
    if (out.json) out.document({ runs: [first, second] });
    exitCode = worstExitCode([first.exitCode, second.exitCode]);
  } finally {
    await world.close();
  }
  if (!options.serve) return exitCode;
  out.line();
  return serve(out, home, world, env, options.port);
}

/** What the demo suggests after its runs, each as it can be typed: a product it names is one of the demo's own. */
function suggestedCommands(world: DemoWorld): string[] {
  const failed = world.flawedBarcode;
  return [
    'erp-sync --demo status',
    'erp-sync --demo logs --failed',
    'erp-sync --demo logs --failed --target trendyol',
    ...(failed ? [`erp-sync --demo explain ${failed}`] : []),
  ];
}

/** The demo's connection and its two targets, at the addresses its sandboxes listen on now. */
function configure(home: string, world: DemoWorld): void {
  const config = new ConfigStore(home);
  const now = new Date().toISOString();
  config.saveTarget({ name: MARKETPLACE, kind: 'offer-api', baseUrl: world.marketplace.url, settings: {}, secretStore: 'env' });
  // Its API key and secret come from the demo's environment (demoEnvironment).
  config.saveTarget({ name: 'trendyol', kind: 'trendyol', baseUrl: world.trendyol.baseUrl, settings: { sellerId: DEMO_KEYS.trendyol.sellerId }, secretStore: 'env' });
  const existing = config.connection('demo');
  config.saveConnection({ name: 'demo', driver: demoDriver.id, baseUrl: world.erp.url, settings: { pageSize: '1000' }, secretStore: 'env', createdAt: existing?.createdAt ?? now, updatedAt: now });
}

/**
 * The sandboxes on the kept world and the web page on the demo's home (the
 * very `erp-sync serve`, as its own process), until Ctrl-C. "c" changes a
 * few products in the sandbox ERP. What the marketplaces take is written
 * back to the world as runs push it.
 */
async function serve(out: Output, home: string, world: DemoWorld, env: NodeJS.ProcessEnv, port: number): Promise<ExitCode> {
  await world.start();
  configure(home, world);
  let applied = world.applications;
  const saver = setInterval(() => {
    if (world.applications === applied) return;
    applied = world.applications;
    world.save();
  }, 1000);
  out.line(m('serving', { erp: world.erp.url, marketplace: world.marketplace.url, trendyol: world.trendyol.url }));
  out.line(m('changeHint', { count: CHANGE_COUNT }));
  const server = spawn(process.execPath, [cli, '--lang', language(), 'serve', '--port', String(port)], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim().toLowerCase() !== 'c') return;
    const catalog = world.erp.catalog;
    const changed = catalog.change((CHANGE_COUNT / catalog.size) * 100);
    world.save();
    out.line(m('changed', { barcodes: changed.map((index) => catalog.item(index)!.barcode).join(', ') }));
  });
  const stop = () => server.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await new Promise<number | null>((resolve) => server.once('close', resolve));
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  lines.close();
  clearInterval(saver);
  world.save();
  await world.close();
  out.line(m('stopped', { home }));
  return code === 0 || code === null ? ExitCode.ok : (code as ExitCode);
}

/** Runs `erp-sync run --json` as a child process and returns its one run. */
function syncOnce(env: NodeJS.ProcessEnv): Promise<RunSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, '--lang', language(), '--quiet', '--demo', 'run', '--connection', 'demo', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
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

/** A run as `erp-sync run` shows it, with every command it suggests pointed at the demo's world. */
function printRun(out: Output, run: RunSummary): void {
  setCommandName('erp-sync --demo');
  try {
    for (const line of renderRun(run)) out.line(line);
  } finally {
    setCommandName('erp-sync');
  }
  out.line(`  ${t('demo.memory', { mb: run.peakRssMb })}`);
  out.line();
}
