import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { json } from '../support/cli.js';
import type { ConnectionListing } from '../../src/cli/commands/connections.js';
import { ERP_KEY, MARKET_TOKEN, PASSPHRASE, createShop } from './setup.js';
import type { Shop } from './setup.js';

let shop: Shop;
afterEach(async () => {
  await shop?.close();
});

const history = ['runs', 'events', 'snapshot', 'staging', 'item_state'] as const;

/** A marketplace and a connection "shop" in the file store, synced once; one invalid product so the item log has rows. */
async function syncedShop(): Promise<Shop> {
  const s = await createShop();
  s.erp.catalog.patch(3, { price: 'yok' });
  for (const args of [
    ['connect', 'marketplace', '--base-url', s.marketplace.url, '--secret-store', 'file', '--secret-file', `token=${s.secretFile('token', MARKET_TOKEN)}`],
    ['connect', 'demo', '--name', 'shop', '--base-url', s.erp.url, '--secret-store', 'file', '--secret-file', `apiKey=${s.secretFile('key', ERP_KEY)}`],
    ['run'],
  ]) {
    const result = await s.cli(args);
    if (result.code !== 0) throw new Error(`${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  }
  return s;
}

describe('erp-sync connections, disconnect', () => {
  it('lists connections with their store and last sync, and never a secret', async () => {
    shop = await syncedShop();
    const dry = await shop.cli(['run', '--dry-run']);
    expect(dry.code).toBe(0);
    const result = await shop.cli(['connections', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const listing = json<ConnectionListing>(result);
    const lastRun = shop.count('runs', 'shop');
    expect(listing).toEqual({
      targets: [{ name: 'marketplace', kind: 'offer-api', title: 'Offer API', baseUrl: shop.marketplace.url, secretStore: 'file', settings: {} }],
      connections: [
        {
          name: 'shop', driver: 'demo', driverName: 'Sandbox ERP', baseUrl: shop.erp.url, secretStore: 'file', settings: {}, targets: ['marketplace'],
          // The dry run after it pushed nothing: the last sync is still the real run.
          lastSync: { runId: lastRun - 1, status: 'succeeded', finishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
        },
      ],
    });
    const human = await shop.cli(['--lang', 'tr', 'connections']);
    expect(human.stdout).toMatch(/shop {2}Sandbox ERP \(demo\) {2}http:\/\/127\.0\.0\.1:\d+ {2}gizli bilgiler: file/);
    expect(human.stdout).toMatch(/Son senkronizasyon: \d\d\.\d\d\.\d{4} \d\d:\d\d \(/);
    for (const secret of [ERP_KEY, MARKET_TOKEN, PASSPHRASE]) {
      expect(result.stdout + result.stderr + human.stdout + human.stderr).not.toContain(secret);
    }
  });

  it('asks for --yes without a terminal, then removes the settings and secrets but keeps the history', async () => {
    shop = await syncedShop();
    const rules = join(shop.home, 'rules', 'shop.yaml');
    expect((await shop.cli(['rules', 'shop', 'set', shop.secretFile('rules.yaml', 'price:\n  markup: 10\n')])).code).toBe(0);
    const counts = Object.fromEntries(history.map((table) => [table, shop.count(table, 'shop')]));
    expect(counts.runs).toBe(1);
    expect(counts.events).toBeGreaterThan(0);

    const unconfirmed = await shop.cli(['disconnect', 'shop']);
    expect(unconfirmed.code).toBe(64);
    expect(unconfirmed.stderr).toContain('Add --yes to confirm.');
    expect(shop.config().connections?.shop).toBeDefined();

    const result = await shop.cli(['disconnect', 'shop', '--yes']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Disconnected "shop".');
    expect(result.stdout).toContain('Its sync history (1 runs) is kept; `erp-sync disconnect shop --purge` deletes it.');
    expect(result.stdout).toContain(`Its rules stay in ${rules}, for a connection made again under this name; \`erp-sync disconnect shop --purge\` deletes them.`);
    expect(existsSync(rules)).toBe(true);
    expect(shop.config().connections?.shop).toBeUndefined();
    expect(await shop.fileSecret('shop', 'apiKey')).toBeUndefined();
    expect(await shop.fileSecret('marketplace', 'token')).toBe(MARKET_TOKEN);
    for (const table of history) expect(shop.count(table, 'shop'), table).toBe(counts[table]);
    expect(json<ConnectionListing>(await shop.cli(['connections', '--json'])).connections).toEqual([]);
    // Its history is still there to read by name.
    const logs = await shop.cli(['logs', '--connection', 'shop', '--json']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(json<{ runs: unknown[] }>(logs).runs).toHaveLength(1);

    const again = await shop.cli(['disconnect', 'shop', '--yes']);
    expect(again.code).toBe(64);
    // The history of a connection already gone can still be purged.
    const purge = await shop.cli(['disconnect', 'shop', '--yes', '--purge']);
    expect(purge.code, purge.stderr).toBe(0);
    for (const table of history) expect(shop.count(table, 'shop'), table).toBe(0);
    expect(purge.stdout).toContain('Deleted its rules.');
    expect(existsSync(rules)).toBe(false);
  });

  it('purges the rules of a connection that never ran, after it was disconnected', async () => {
    shop = await createShop();
    const rules = join(shop.home, 'rules', 'fresh.yaml');
    const connect = await shop.cli(['connect', 'demo', '--name', 'fresh', '--base-url', shop.erp.url, '--secret-store', 'file', '--secret-file', `apiKey=${shop.secretFile('key', ERP_KEY)}`]);
    expect(connect.code, connect.stderr).toBe(0);
    expect((await shop.cli(['rules', 'fresh', 'set', shop.secretFile('rules.yaml', 'stock:\n  reserve: 2\n')])).code).toBe(0);
    expect((await shop.cli(['disconnect', 'fresh', '--yes'])).stdout).toContain(`Its rules stay in ${rules}`);
    const purge = await shop.cli(['disconnect', 'fresh', '--yes', '--purge']);
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toContain('Deleted its rules.');
    expect(existsSync(rules)).toBe(false);
    // Nothing is left of it, so the name is unknown again.
    expect((await shop.cli(['disconnect', 'fresh', '--yes', '--purge'])).code).toBe(64);
  });

  it('disconnects the marketplace: its secrets and settings go, offers waiting to be sent stay until it is back', async () => {
    shop = await syncedShop();
    const hook = await shop.cli(['connect', 'marketplace', '--set', 'retries=0', '--secret-file', `alertWebhook=${shop.secretFile('hook', 'https://hooks.example/T1/B2/Hook-Secret-3')}`]);
    expect(hook.code, hook.stderr).toBe(0);
    expect(await shop.fileSecret('marketplace', 'alertWebhook')).toBe('https://hooks.example/T1/B2/Hook-Secret-3');
    // A batch that fails while the marketplace is down stays in the outbox.
    shop.erp.catalog.change(5);
    shop.marketplace.faults.down = true;
    expect((await shop.cli(['run'])).code).toBe(75);
    const waiting = shop.count('outbox', 'shop');
    expect(waiting).toBeGreaterThan(0);

    expect((await shop.cli(['disconnect', 'marketplace', '--purge', '--yes'])).code).toBe(64);
    const result = await shop.cli(['disconnect', 'marketplace', '--yes']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Disconnected the marketplace target "marketplace". `erp-sync connect marketplace` connects it again.');
    expect(shop.config().targets?.marketplace).toBeUndefined();
    expect(await shop.fileSecret('marketplace', 'token')).toBeUndefined();
    expect(await shop.fileSecret('marketplace', 'alertWebhook')).toBeUndefined();
    expect(await shop.fileSecret('shop', 'apiKey')).toBe(ERP_KEY);
    expect(shop.count('outbox', 'shop')).toBe(waiting);

    const unconnected = await shop.cli(['run']);
    expect(unconnected.code).toBe(78);
    expect(unconnected.stdout + unconnected.stderr).toMatch(/no marketplace is connected/);
    expect((await shop.cli(['disconnect', 'marketplace', '--yes'])).code).toBe(64);

    shop.marketplace.faults.down = false;
    const back = await shop.cli(['connect', 'marketplace', '--base-url', shop.marketplace.url, '--secret-store', 'file', '--secret-file', `token=${shop.secretFile('token', MARKET_TOKEN)}`]);
    expect(back.code, back.stderr).toBe(0);
    expect((await shop.cli(['run'])).code).toBe(0);
    expect(shop.count('outbox', 'shop')).toBe(0);
  });

  it('--purge deletes the connection\'s history and leaves other connections\' alone', async () => {
    shop = await syncedShop();
    const other = await shop.cli(['connect', 'demo', '--name', 'depo', '--base-url', shop.erp.url, '--secret-store', 'file', '--secret-file', `apiKey=${shop.secretFile('key2', ERP_KEY)}`]);
    expect(other.code, other.stderr).toBe(0);
    expect((await shop.cli(['run', '--connection', 'depo'])).code).toBe(0);
    const otherCounts = history.map((table) => shop.count(table, 'depo'));

    const result = await shop.cli(['disconnect', 'shop', '--purge', '--yes']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Deleted its sync history (1 runs).');
    for (const table of [...history, 'outbox', 'alerts']) expect(shop.count(table, 'shop'), table).toBe(0);
    expect(history.map((table) => shop.count(table, 'depo'))).toEqual(otherCounts);
    expect(await shop.fileSecret('depo', 'apiKey')).toBe(ERP_KEY);
  });
});
