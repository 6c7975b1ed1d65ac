import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_KEYS } from '../../src/config/home.js';
import { DemoWorld } from '../../src/sandbox/world.js';

/** The demo's world file: what `demo --serve` brings back, and what it does with one an earlier erp-sync wrote. */

let home: string;
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('the demo world file', () => {
  it('brings back what the sandbox Trendyol lists, values and all', () => {
    home = mkdtempSync(join(tmpdir(), 'erp-sync-demo-world-'));
    const world = DemoWorld.create(home, DEMO_KEYS, 60);
    world.trendyol.listProduct({ barcode: '8690000000013', sku: 'SKU-0000001', stock: 7, price: '149.90', listPrice: '199.90' });
    world.save();

    const kept = DemoWorld.load(home, DEMO_KEYS);
    expect(kept.state).toBe('kept');
    const trendyol = kept.state === 'kept' ? kept.world.trendyol : undefined;
    expect(trendyol?.listed('8690000000013')).toEqual({ stock: 7, price: '149.90' });
    expect(trendyol?.catalog.get('8690000000013')).toEqual(world.trendyol.catalog.get('8690000000013'));
  });

  it('tells a file from before the demo delivered to Trendyol apart from a missing one', () => {
    home = mkdtempSync(join(tmpdir(), 'erp-sync-demo-world-'));
    expect(DemoWorld.load(home, DEMO_KEYS).state).toBe('none');
    DemoWorld.create(home, DEMO_KEYS, 60).save();
    const file = JSON.parse(readFileSync(join(home, 'sandbox-world.json'), 'utf8')) as Record<string, unknown>;
    delete file.trendyol;
    writeFileSync(join(home, 'sandbox-world.json'), JSON.stringify({ ...file, version: 1 }));
    expect(DemoWorld.load(home, DEMO_KEYS).state).toBe('outdated');
  });
});
