import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredOffer } from '../../src/marketplace/types.js';
import { hasValidCheckDigit } from '../../src/model/barcode.js';
import type { RunSummary } from '../../src/model/run.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import type { CatalogState } from '../../src/sandbox/catalog.js';
import type { TrendyolVariant } from '../../src/sandbox/trendyol.js';
import { notOnTrendyol } from '../../src/sandbox/world.js';
import { CLI, json, runCli } from '../support/cli.js';

/**
 * The demo a newcomer tries first: its world stays, every command it
 * suggests works as printed, it delivers to the offer API and to a sandbox
 * Trendyol, and `demo --serve` brings the world back with its sandboxes and
 * the web page. The built CLI, as its own process.
 */

const home = mkdtempSync(join(tmpdir(), 'erp-sync-demo-'));
const env = { ERP_SYNC_HOME: home, NO_COLOR: '1', LANG: 'C' };
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The sandboxes' data as the demo keeps it in its home. */
const keptWorld = () =>
  JSON.parse(readFileSync(join(home, 'demo', 'sandbox-world.json'), 'utf8')) as { catalog: CatalogState; offers: StoredOffer[]; trendyol: TrendyolVariant[] };

/**
 * The products of the kept ERP catalog the demo sends (a valid barcode and a
 * price that is a number), with what Trendyol must hold for each: the ERP's
 * KDV-included price, and its stock at most 20,000 (0 for a product not active).
 */
function sentToTrendyol(): Map<string, { quantity: number; salePrice: string }> {
  const catalog = SandboxCatalog.fromState(keptWorld().catalog);
  const sent = new Map<string, { quantity: number; salePrice: string }>();
  for (let index = 0; index < catalog.size; index++) {
    const item = catalog.item(index);
    if (!item || !hasValidCheckDigit(item.barcode) || !/^\d+(\.\d+)?$/.test(String(item.price))) continue;
    sent.set(item.barcode, { quantity: item.active ? Math.min(item.stock, 20_000) : 0, salePrice: Number(item.price).toFixed(2) });
  }
  return sent;
}

/** The commands a text tells the reader to run: `erp-sync …` in backticks, indented on a line of its own, or after a colon; none with a placeholder. */
function suggested(text: string): string[] {
  const quoted = [...text.matchAll(/`(erp-sync [^`]+)`/g)].map((match) => match[1]!);
  const lines = [...text.matchAll(/^ {2}(erp-sync [^\n]+?)\s*$/gm)].map((match) => match[1]!);
  const trailing = [...text.matchAll(/: (erp-sync [^,\n]+?)(?:,|$)/gm)].map((match) => match[1]!.trim());
  return [...new Set([...quoted, ...lines, ...trailing])].filter((command) => !/[<>]/.test(command));
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('erp-sync demo', () => {
  let printed: string[] = [];

  it('keeps its world in its own home, apart from the merchant\'s connections, and says how to look around it', async () => {
    const demo = await runCli(['demo', '--products', '200'], env);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain(`The demo's world stays in ${join(home, 'demo')}`);
    expect(existsSync(join(home, 'demo', 'erp-sync.db'))).toBe(true);
    expect(existsSync(join(home, 'demo', 'sandbox-world.json'))).toBe(true);
    // The merchant's own home has no connection from the demo.
    expect(existsSync(join(home, 'config.json'))).toBe(false);
    expect((await runCli(['status'], env)).stdout).toContain('No connections yet');

    printed = suggested(demo.stdout);
    expect(printed).toEqual(expect.arrayContaining([
      'erp-sync --demo logs --failed', 'erp-sync --demo logs --failed --target trendyol', 'erp-sync --demo status', 'erp-sync --demo explain 8690000000234',
      'erp-sync demo --serve', 'erp-sync demo', 'erp-sync drivers',
    ]));
    // Each run, per target: four of the products sent are not on Trendyol, told once, in the first run only.
    expect(demo.stdout).toContain('→ marketplace: new 198 · changed 0 · vanished 0 · pushed 198 · not listed 0 · rejected 1 · failed 0 · awaiting an answer 0');
    expect(demo.stdout).toContain('→ trendyol: new 198 · changed 0 · vanished 0 · pushed 198 · not listed 4 · rejected 0 · failed 0 · awaiting an answer 0');
    expect(demo.stdout).toContain('→ marketplace: new 0 · changed 10 · vanished 0 · pushed 10 · not listed 0 · rejected 0 · failed 0 · awaiting an answer 0');
    expect(demo.stdout).toContain('→ trendyol: new 0 · changed 10 · vanished 0 · pushed 10 · not listed 0 · rejected 0 · failed 0 · awaiting an answer 0');
    expect(demo.stdout).toContain('The marketplace now holds 197 offers, and Trendyol the stock and price of 194 products.');
  });

  it('delivers the ERP\'s products to Trendyol, and says once which of them Trendyol does not list', async () => {
    const sent = sentToTrendyol();
    expect(sent.size).toBe(198);
    const notListed = [...sent.keys()].filter(notOnTrendyol).sort();
    expect(notListed).toEqual(['8690000000074', '8690000000579', '8690000001071', '8690000001576']);

    // What the sandbox Trendyol holds: every other product sent, at the ERP's current price and stock (after the change).
    const listings = new Map(keptWorld().trendyol.map((v) => [v.barcode, { quantity: v.quantity, salePrice: v.salePrice }]));
    expect(listings).toEqual(new Map([...sent].filter(([barcode]) => !notOnTrendyol(barcode))));

    // Trendyol's own problems (the products no marketplace is sent, invalid in the ERP, are listed with them).
    const failed = json<{ failed: Array<{ target: string; barcode: string; code: string; runId: number }> }>(await runCli(['--demo', 'logs', '--failed', '--target', 'trendyol', '--json'], env)).failed
      .filter((f) => f.target === 'trendyol');
    expect(failed.map((f) => f.barcode).sort()).toEqual(notListed);
    expect(failed.every((f) => f.code === 'NOT_LISTED' && f.runId === 1)).toBe(true);

    const status = json<{ connections: Array<{ targets: Array<{ target: string; kind: string; notListed: number; awaiting: number }> }> }>(await runCli(['--demo', 'status', '--json'], env));
    expect(status.connections[0]!.targets).toEqual([
      expect.objectContaining({ target: 'marketplace', kind: 'offer-api', notListed: 0, awaiting: 0 }),
      expect.objectContaining({ target: 'trendyol', kind: 'trendyol', notListed: 4, awaiting: 0 }),
    ]);
  });

  it('every command it suggests works as printed', async () => {
    // `erp-sync demo` (which starts the world over) is the one tested above; --serve is tested below.
    for (const command of printed.filter((c) => !c.startsWith('erp-sync demo'))) {
      const result = await runCli(command.split(' ').slice(1), env);
      expect(result.code, `${command}\n${result.stderr}`).toBe(0);
      expect(result.stdout.length, command).toBeGreaterThan(0);
    }
    const failed = await runCli(['--demo', 'logs', '--failed'], env);
    expect(failed.stdout).toContain('PRICE_NOT_A_NUMBER');
    expect(failed.stdout).toContain('BARCODE_CHECK_DIGIT');
    expect((await runCli(['--demo', 'explain', '8690000000234'], env)).stdout).toContain('the price "yok" is not a number');
  });

  it('the commands a --demo command points to are written with --demo, and work as printed', async () => {
    const status = await runCli(['--demo', 'status'], env);
    const hints = [...status.stdout.matchAll(/(?:see|send again): (erp-sync [^·\n]+?)\s*(?:·|\n)/g)].map((m) => m[1]!.trim());
    expect(hints).toContain('erp-sync --demo logs --failed --connection demo');
    for (const hint of hints) {
      expect(hint).toMatch(/^erp-sync --demo /);
      const result = await runCli(hint.split(' ').slice(1), env);
      expect(result.code, `${hint}\n${result.stderr}`).toBe(0);
    }
    // Without --demo the same words send a person to their own connections.
    expect((await runCli(['status'], env)).stdout).not.toContain('--demo');
  });

  it('--serve brings the world back with its sandboxes and the web page; a change made in the sandbox is all the next run pushes', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'demo', '--serve', '--port', String(port)], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let changed: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const appears = async (pattern: RegExp) => {
      for (let waited = 0; !pattern.test(screen); waited += 50) {
        if (waited > 20_000) throw new Error(`${pattern} did not appear:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return pattern.exec(screen)!;
    };
    try {
      await appears(new RegExp(`serving its page at http://127\\.0\\.0\\.1:${port}/`));
      expect(screen).toMatch(/The sandbox ERP \(http:\/\/127\.0\.0\.1:\d+\), marketplace \(http:\/\/127\.0\.0\.1:\d+\) and Trendyol \(http:\/\/127\.0\.0\.1:\d+\) are running/);
      expect(screen).toContain('Type c and Enter to change 5 products in the sandbox ERP');
      for (const command of suggested(screen)) expect(['erp-sync --demo run']).toContain(command);

      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      const status = await (await fetch(`http://127.0.0.1:${port}/api/status`)).text();
      expect(status).toContain('"demo"');

      // Nothing changed since the demo: nothing to push, to either target (the products Trendyol does not list included).
      const idle = json<{ runs: RunSummary[] }>(await runCli(['--demo', 'run', '--json'], env)).runs[0]!;
      expect(idle).toMatchObject({ status: 'succeeded', pushed: 0 });
      expect(idle.targets.map((t) => [t.target, t.pushed, t.requests])).toEqual([['marketplace', 0, 0], ['trendyol', 0, 0]]);

      child.stdin.write('c\n');
      changed = (await appears(/Changed in the sandbox ERP: ([\d, ]+)\n/))[1]!.split(', ');
      expect(changed).toHaveLength(5);
      const run = json<{ runs: RunSummary[] }>(await runCli(['--demo', 'run', '--json'], env)).runs[0]!;
      expect(run).toMatchObject({ status: 'succeeded', exitCode: 0, awaiting: 0 });
      // The change, and only it, to each target; Trendyol answers a changed product it does not list as not listed again.
      expect(run.targets).toEqual([
        expect.objectContaining({ target: 'marketplace', status: 'succeeded', changed: 5, pushed: 5 }),
        expect.objectContaining({ target: 'trendyol', status: 'succeeded', changed: 5, submitted: 5, pushed: 5, notListed: changed.filter(notOnTrendyol).length }),
      ]);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(screen).toContain(`Stopped; the demo's world is kept in ${join(home, 'demo')}`);
    // What the marketplaces took is kept with the world: a run on the kept world has nothing to send again.
    const world = keptWorld();
    expect(world.offers.length).toBe(197);
    expect(world.trendyol.length).toBe(194);
    // The changed products reached both at their new values.
    const sent = sentToTrendyol();
    const offers = new Map(world.offers.map((o) => [o.barcode, o]));
    const listings = new Map(world.trendyol.map((v) => [v.barcode, v]));
    for (const barcode of changed) {
      expect(Number(offers.get(barcode)?.price).toFixed(2), barcode).toBe(sent.get(barcode)!.salePrice);
      if (notOnTrendyol(barcode)) continue;
      expect({ quantity: listings.get(barcode)?.quantity, salePrice: listings.get(barcode)?.salePrice }, barcode).toEqual(sent.get(barcode));
    }
  });
});
