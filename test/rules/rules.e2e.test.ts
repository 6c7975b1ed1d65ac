import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Big from 'big.js';
import { json, runCli } from '../support/cli.js';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import type { ConnectionPreview } from '../../src/engine/preview.js';

let world: World;
let scratch: string | undefined;
afterEach(async () => {
  await world?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

const setRules = (w: World, text: string) => runCli(['rules', 'shop', 'set'], w.env, { input: text });

/** Every item of the sandbox catalog that is present, with its index. */
function items(w: World) {
  return Array.from({ length: w.erp.catalog.size }, (_, i) => w.erp.catalog.item(i)!).filter(Boolean);
}

/** Barcodes whose offer the marketplace applied since `before`. */
function touchedSince(w: World, before: Map<string, number>): string[] {
  return [...w.marketplace.stats.applicationsPerBarcode].filter(([b, n]) => n !== (before.get(b) ?? 0)).map(([b]) => b).sort();
}

describe('erp-sync rules and preview through the built CLI', () => {
  it('refuses invalid rules with a message naming each rule, and saves nothing', async () => {
    world = await createWorld({ products: 10 });
    const bad = await setRules(world, 'price:\n  margin: 100\n  round: "0.95"\nstock:\n  reserv: 2\n');
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('price.margin: 100% is not a margin between 0 and 100');
    expect(bad.stderr).toContain('price.round: "0.95" must be one of none, whole, 0.90, 0.99, 0.05');
    expect(bad.stderr).toContain('stock.reserv: unknown rule; stock takes warehouses, reserve, zeroBelow, cap');
    expect(existsSync(join(world.home, 'rules', 'shop.yaml'))).toBe(false);
    const shown = await world.cli('rules', 'shop');
    expect(shown.stdout).toMatch(/shop has no rules/);
    const unknown = await world.cli('rules', 'nope', 'show');
    expect(unknown.code).toBe(64);
  });

  it('after a rule change, the next run pushes exactly the affected offers, and --dry-run says how many', async () => {
    world = await createWorld({ products: 200 });
    expect((await world.run()).summary.pushed).toBe(200);
    const all = items(world);
    const fixed = all[5]!;
    const saved = await setRules(world, `# keep the shelves honest\nstock:\n  cap: 150\nprice:\n  overrides:\n    ${fixed.sku}: 42.50\n`);
    expect(saved.code).toBe(0);
    expect(saved.stdout).toMatch(/Saved the rules of shop/);
    expect((await world.cli('rules', 'shop', 'show')).stdout).toContain('# keep the shelves honest');

    const affected = all.filter((i) => i.stock > 150 || i.sku === fixed.sku).map((i) => i.barcode).sort();
    expect(affected.length).toBeGreaterThan(5);
    const dry = await world.run('--dry-run');
    expect(dry.summary).toMatchObject({ changed: affected.length, unchanged: 200 - affected.length, pushed: 0 });
    expect((await world.cli('run', '--connection', 'shop', '--dry-run')).stdout).toContain(`${affected.length} offers would be pushed`);

    const before = new Map(world.marketplace.stats.applicationsPerBarcode);
    const { summary } = await world.run();
    expect(summary).toMatchObject({ changed: affected.length, pushed: affected.length, invalid: 0 });
    expect(touchedSince(world, before)).toEqual(affected);
    expect(world.marketplace.offers.get(fixed.barcode)?.price).toBe('42.50');
    expect(Math.max(...[...world.marketplace.offers.values()].map((o) => o.stock))).toBe(150);
    expect((await world.run()).summary.pushed).toBe(0);
  });

  it('marks up and rounds to .90 in decimal arithmetic, and holds back prices outside min..max', async () => {
    world = await createWorld({ products: 100 });
    await world.run();
    expect((await setRules(world, 'price:\n  markup: 18\n  round: "0.90"\n  max: 3000\n')).code).toBe(0);
    const { summary } = await world.run();
    const all = items(world);
    const expected = (price: string) => new Big(price).times('1.18').minus('0.9').plus('0.5').round(0, Big.roundDown).plus('0.9').toFixed(2);
    const tooDear = all.filter((i) => new Big(expected(i.price)).gt(3000));
    expect(tooDear.length).toBeGreaterThan(0);
    expect(summary).toMatchObject({ invalid: tooDear.length, pushed: 100 - tooDear.length });
    for (const item of all) {
      const offer = world.marketplace.offers.get(item.barcode)!;
      // Held back: the marketplace keeps the last price it accepted.
      expect(offer.price).toBe(tooDear.includes(item) ? item.price : expected(item.price));
    }
    const reported = world.query<{ barcode: string; message: string }>(`SELECT barcode, message FROM events WHERE code = 'PRICE_OUT_OF_RANGE' ORDER BY barcode`);
    expect(reported.map((r) => r.barcode)).toEqual(tooDear.map((i) => i.barcode).sort());
    expect(reported[0]!.message).toMatch(/is above price\.max 3000\.00; the offer is held back/);
  });

  it('pushes products that leave the scope once as stock 0 and inactive, and the mass-vanish guard counts them', async () => {
    world = await createWorld({ products: 200 });
    await world.run();
    expect((await setRules(world, 'scope:\n  exclude:\n    sku: ["SKU-00000*"]\n')).code).toBe(0);
    const guarded = await world.run();
    expect(guarded.result.code).toBe(65);
    expect(guarded.summary.error?.message).toMatch(/100 of 200 offers/);

    expect((await setRules(world, 'scope:\n  exclude:\n    sku: ["SKU-000000?", "SKU-000000?-?"]\n')).code).toBe(0);
    const leavers = items(world).filter((i) => i.index < 10).map((i) => i.barcode).sort();
    const before = new Map(world.marketplace.stats.applicationsPerBarcode);
    const { summary } = await world.run();
    expect(summary).toMatchObject({ vanished: 10, pushed: 10, invalid: 0, pulled: 190 });
    expect(touchedSince(world, before)).toEqual(leavers);
    for (const barcode of leavers) expect(world.marketplace.offers.get(barcode)).toMatchObject({ stock: 0, active: false });
    expect(world.query(`SELECT id FROM events WHERE outcome = 'invalid'`)).toHaveLength(0);
    expect((await world.run()).summary).toMatchObject({ vanished: 0, pushed: 0 });
  });

  it('preview shows raw, normalized and after-rules values from a sample of pages, changing nothing', async () => {
    world = await createWorld({ products: 1000, pageSize: 50 });
    expect((await setRules(world, 'price:\n  markup: 10\n  round: whole\nstock:\n  reserve: 1\n')).code).toBe(0);
    const requests = world.erp.stats.productRequests;
    const result = await world.cli('preview', '--connection', 'shop', '--limit', '3', '--json');
    expect(result.code).toBe(0);
    const [preview] = json<{ previews: ConnectionPreview[] }>(result).previews;
    expect(preview!.items).toHaveLength(3);
    for (const item of preview!.items) {
      const source = items(world).find((i) => i.barcode === item.barcode)!;
      expect(item.erp).toMatchObject({ price: source.price, stock: source.stock });
      expect(item.normalized).toMatchObject({ price: source.price, stock: source.stock });
      expect(item.pushed).toMatchObject({ price: new Big(source.price).times('1.1').round(0).toFixed(2), stock: Math.max(0, source.stock - 1) });
      expect(item.outcome).toBe('push');
    }
    // 16 pages in the catalog; the sample needs the first and whatever was already in flight.
    expect(world.erp.stats.productRequests - requests).toBeLessThan(16);
    expect(world.marketplace.stats.batchRequests).toBe(0);
    expect(existsSync(join(world.home, 'erp-sync.db'))).toBe(false);

    const far = items(world)[990]!;
    const human = await world.cli('preview', '--barcode', far.barcode, '--barcode', '8690000000000');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${far.barcode}  ${far.sku}`);
    expect(human.stdout).toMatch(/^ {11}ERP {17}normalized {10}pushed$/m);
    expect(human.stdout).toContain(`  price    ${far.price.padEnd(20)}${far.price.padEnd(20)}${new Big(far.price).times('1.1').round(0).toFixed(2)}\n`);
    expect(human.stdout).toContain('Not found in the ERP: 8690000000000');
  });

  it('edit validates what the editor saved: invalid edits are kept as a draft and reopened, valid ones saved', async () => {
    world = await createWorld({ products: 10 });
    scratch = mkdtempSync(join(tmpdir(), 'erp-sync-editor-'));
    // A scripted editor: records what it was shown, then writes the next prepared text.
    const editor = join(scratch, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\ncp "$1" "${scratch}/seen.yaml"\ncp "${scratch}/next.yaml" "$1"\n`);
    chmodSync(editor, 0o755);
    const env = { ...world.env, EDITOR: editor };

    writeFileSync(join(scratch, 'next.yaml'), 'stock:\n  reserve: lots\n');
    const bad = await runCli(['rules', 'shop', 'edit'], env);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('stock.reserve: "lots" is not a whole number of units');
    expect(readFileSync(join(scratch, 'seen.yaml'), 'utf8')).toMatch(/^# Rules for shop/);
    expect(existsSync(join(world.home, 'rules', 'shop.yaml'))).toBe(false);

    writeFileSync(join(scratch, 'next.yaml'), 'stock:\n  reserve: 3\n');
    const good = await runCli(['rules', 'shop', 'edit'], env);
    expect(good.code).toBe(0);
    expect(readFileSync(join(scratch, 'seen.yaml'), 'utf8')).toBe('stock:\n  reserve: lots\n');
    expect(readFileSync(join(world.home, 'rules', 'shop.yaml'), 'utf8')).toBe('stock:\n  reserve: 3\n');
    const shown = json<{ rules: unknown }>(await world.cli('rules', 'shop', 'show', '--json'));
    expect(shown.rules).toEqual({ stock: { reserve: '3' } });
  });

  it('a hand-broken rules file stops the run before anything is pulled, with exit 78', async () => {
    world = await createWorld({ products: 10 });
    expect((await setRules(world, 'stock:\n  reserve: 1\n')).code).toBe(0);
    writeFileSync(join(world.home, 'rules', 'shop.yaml'), 'stock:\n  reserve: -1\n');
    const { result, summary } = await world.run();
    expect(result.code).toBe(78);
    expect(summary.error?.code).toBe('INVALID_RULES');
    expect(summary.error?.message).toContain('stock.reserve');
    expect(world.erp.stats.productRequests).toBe(0);
  });
});
