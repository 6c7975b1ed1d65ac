import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/schema.js';
import { json } from '../support/cli.js';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const SNAPSHOT_V4 = `connection, barcode, hash, status, offer_id, sku, name, price, currency, vat_rate, price_includes_vat, stock, active,
  error_code, error_message, acked_at, run_id`;

/**
 * Rewrites the agent's home as the release before targets left it: the
 * database at schema version 4 (one snapshot per connection, no target
 * column) holding what the marketplace acknowledged, and the offer API under
 * `marketplace` in config.json.
 */
function downgradeHome(home: string): void {
  const file = join(home, 'erp-sync.db');
  const current = new Database(file, { readonly: true });
  const snapshot = current.prepare(`SELECT ${SNAPSHOT_V4} FROM snapshot WHERE target = 'marketplace'`).all() as Record<string, unknown>[];
  const staging = current.prepare(`SELECT * FROM staging`).all() as Record<string, unknown>[];
  const runs = current.prepare(`SELECT id, connection, driver, status, started_at, finished_at, pull_complete, pulled FROM runs`).all() as Record<string, unknown>[];
  current.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });

  const old = new Database(file);
  for (const migration of migrations.slice(0, 4)) old.exec(migration);
  old.pragma('user_version = 4');
  const insertRun = old.prepare(
    `INSERT INTO runs (id, connection, driver, status, started_at, finished_at, pull_complete, pulled) VALUES (:id, :connection, :driver, :status, :started_at, :finished_at, :pull_complete, :pulled)`,
  );
  for (const run of runs) insertRun.run(run);
  const columns = Object.keys(staging[0]!);
  const stage = old.prepare(`INSERT INTO staging (${columns.join(', ')}) VALUES (${columns.map((c) => `:${c}`).join(', ')})`);
  for (const row of staging) stage.run(row);
  const insert = old.prepare(`INSERT INTO snapshot (${SNAPSHOT_V4}) VALUES (${SNAPSHOT_V4.split(',').map((c) => `:${c.trim()}`).join(', ')})`);
  for (const row of snapshot) insert.run(row);
  // A rejection and a dead letter of the old shape: both must still be listed, now under the offer API's target.
  const [first, second] = snapshot as { barcode: string; sku: string; name: string; hash: string }[];
  old.prepare(`UPDATE snapshot SET status = 'rejected', error_code = 'PRICE_TOO_LOW', error_message = 'below the floor' WHERE barcode = ?`).run(first!.barcode);
  old.prepare(
    `INSERT INTO item_state (connection, item, barcode, sku, name, outcome, code, message, run_id, at) VALUES ('shop', ?, ?, ?, ?, 'rejected', 'PRICE_TOO_LOW', 'below the floor', 1, ?)`,
  ).run(first!.barcode, first!.barcode, first!.sku, first!.name, new Date().toISOString());
  old.prepare(
    `INSERT INTO delivery_failures (connection, barcode, hash, attempts, code, message, first_failed_at, last_failed_at, parked_at, run_id)
     VALUES ('shop', :barcode, :hash, 5, 'HTTP_503', 'down', :at, :at, :at, 1)`,
  ).run({ barcode: second!.barcode, hash: second!.hash, at: new Date().toISOString() });
  old.close();

  const configFile = join(home, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { targets: Record<string, { name?: string; kind?: string }>; marketplace?: unknown };
  const { name: _name, kind: _kind, ...legacy } = config.targets.marketplace!;
  config.marketplace = legacy;
  config.targets = {};
  writeFileSync(configFile, JSON.stringify(config));
}

describe('a home from before targets', () => {
  it('becomes the offer API target "marketplace" without sending anything again', async () => {
    world = await createWorld({ products: 120 });
    const first = await world.run();
    expect(first.summary.pushed).toBe(120);
    downgradeHome(world.home);
    const before = world.marketplace.stats.batchRequests;

    const { result, summary } = await world.run();
    expect(result.code, result.stderr).toBe(0);
    expect(world.marketplace.stats.batchRequests).toBe(before);
    expect(summary).toMatchObject({ pushed: 0, new: 0, changed: 0, unchanged: 120 });
    expect(summary.targets).toEqual([expect.objectContaining({ target: 'marketplace', kind: 'offer-api', status: 'succeeded', submitted: 0, pushed: 0 })]);

    const listing = json<{ targets: { name: string; kind: string }[] }>(await world.cli('connections', '--json'));
    expect(listing.targets).toEqual([expect.objectContaining({ name: 'marketplace', kind: 'offer-api' })]);
    const config = JSON.parse(readFileSync(join(world.home, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).not.toHaveProperty('marketplace');

    const failed = json<{ failed: { barcode: string; target: string; code: string }[] }>(await world.cli('logs', '--failed', '--json'));
    expect(failed.failed.map((i) => [i.target, i.code])).toEqual([['marketplace', 'PRICE_TOO_LOW']]);
    expect(world.query<{ target: string; parked: number }>(`SELECT target, parked_at IS NOT NULL AS parked FROM delivery_failures`)).toEqual([{ target: 'marketplace', parked: 1 }]);
  });
});
