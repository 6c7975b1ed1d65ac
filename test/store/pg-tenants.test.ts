import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../../src/store/pg-schema.js';
import { PgError } from '../../src/store/pg.js';
import type { PgDatabase } from '../../src/store/pg.js';
import { connectionStatus, explainProduct, failedItems, itemEvents, knownConnections, recentRuns } from '../../src/store/queries.js';
import { freshDatabase, requirePostgres } from '../support/hosted.js';
import { EngineWorld, targetOf } from './support.js';

/**
 * Two merchants (tenants) with the same connection name and the same
 * barcodes, each with its own marketplaces, in one database: every table
 * keeps them apart, and a session of one cannot read or write the other's
 * rows whatever its SQL says.
 */

const PRODUCTS = 12;
const TABLES = ['runs', 'run_targets', 'target_rules', 'staging', 'staging_raw', 'snapshot', 'outbox', 'outbox_items', 'delivery_failures', 'events', 'item_state', 'alerts'];

describe.runIf(requirePostgres())('tenants on PostgreSQL', () => {
  let url: string;
  let acme: PgDatabase;
  let globex: PgDatabase;
  let acmeWorld: EngineWorld;
  let globexWorld: EngineWorld;

  beforeAll(async () => {
    url = freshDatabase('pg_tenants');
    acme = openPgStore(url, 'acme');
    globex = openPgStore(url, 'globex');
    // The same sandbox catalog (same barcodes), each merchant's own marketplaces.
    [acmeWorld, globexWorld] = await Promise.all([EngineWorld.start({ products: PRODUCTS }), EngineWorld.start({ products: PRODUCTS })]);
    expect(acmeWorld.barcode(0)).toBe(globexWorld.barcode(0));
  });
  afterAll(async () => {
    acme?.close();
    globex?.close();
    await Promise.all([acmeWorld?.close(), globexWorld?.close()]);
  });

  it('puts the tenant first in every key and index, and forces row-level security on every table', () => {
    const tables = acme.prepare(
      `SELECT c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'erp_sync_schema' ORDER BY c.relname`,
    ).all() as { name: string; rls: number; forced: number }[];
    expect(tables.map((t) => t.name)).toEqual([...TABLES].sort());
    for (const t of tables) expect(t, t.name).toMatchObject({ rls: 1, forced: 1 });
    const indexes = acme.prepare(
      `SELECT i.indexrelid::regclass::text AS name, a.attname AS first
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE n.nspname = 'public' AND c.relname <> 'erp_sync_schema'`,
    ).all() as { name: string; first: string }[];
    expect(indexes.length).toBeGreaterThan(TABLES.length);
    for (const index of indexes) expect(index.first, index.name).toBe('tenant');
  });

  it('keeps two merchants with the same connection and barcodes apart in every table and read model', async () => {
    acmeWorld.erp.catalog.patch(3, { price: 'bedava' });
    globexWorld.erp.catalog.patch(4, { stock: 'çok' });
    for (let round = 0; round < 2; round++) {
      const [a, g] = [await acmeWorld.run(acme), await globexWorld.run(globex)];
      expect(a.exitCode).toBe(0);
      expect(g.exitCode).toBe(0);
    }
    // Each merchant's marketplaces got that merchant's offers, once.
    expect(acmeWorld.offerApi.stats.offersApplied).toBe(PRODUCTS - 1);
    expect(globexWorld.offerApi.stats.offersApplied).toBe(PRODUCTS - 1);

    // A change of acme's goes to acme's marketplaces only.
    acmeWorld.erp.catalog.patch(0, { stock: 321 });
    const [a, g] = [await acmeWorld.run(acme), await globexWorld.run(globex)];
    expect(targetOf(a, 'marketplace').pushed).toBe(1);
    expect(targetOf(g, 'marketplace').pushed).toBe(0);
    expect(acmeWorld.offerApi.offers.get(acmeWorld.barcode(0))?.stock).toBe(321);
    expect(globexWorld.offerApi.offers.get(globexWorld.barcode(0))?.stock).not.toBe(321);

    // Every table holds rows of both, each session sees its own only.
    for (const table of TABLES) {
      const own = (db: PgDatabase) => db.prepare(`SELECT count(*) AS n, count(*) FILTER (WHERE tenant <> ?) AS others FROM ${table}`).get(db.tenant) as { n: number; others: number };
      expect(own(acme).others, table).toBe(0);
      expect(own(globex).others, table).toBe(0);
    }
    for (const table of ['runs', 'run_targets', 'staging', 'staging_raw', 'snapshot', 'events', 'item_state']) {
      const n = (db: PgDatabase) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      expect(n(acme), table).toBeGreaterThan(0);
      expect(n(globex), table).toBeGreaterThan(0);
    }
    const staged = (db: PgDatabase, index: number) =>
      db.prepare(`SELECT valid, error_code AS code FROM staging WHERE connection = 'shop' AND barcode = ?`).get(acmeWorld.barcode(index));
    expect(staged(acme, 3)).toEqual({ valid: 0, code: 'PRICE_NOT_A_NUMBER' });
    expect(staged(globex, 3)).toMatchObject({ valid: 1 });
    expect(staged(globex, 4)).toEqual({ valid: 0, code: 'STOCK_NOT_A_NUMBER' });
    expect(staged(acme, 4)).toMatchObject({ valid: 1 });

    // The read models: the same connection name, each merchant's own history.
    expect(knownConnections(acme)).toEqual(['shop']);
    expect(recentRuns(acme, { connection: 'shop' })).toHaveLength(3);
    expect(recentRuns(globex, { connection: 'shop' })).toHaveLength(3);
    const globexRuns = new Set(recentRuns(globex).map((r) => r.id));
    expect(recentRuns(acme).filter((r) => globexRuns.has(r.id))).toEqual([]);
    expect(failedItems(acme).map((f) => [f.barcode, f.code])).toEqual([[acmeWorld.barcode(3), 'PRICE_NOT_A_NUMBER']]);
    expect(failedItems(globex).map((f) => [f.barcode, f.code])).toEqual([[globexWorld.barcode(4), 'STOCK_NOT_A_NUMBER']]);
    expect(itemEvents(acme, { search: acmeWorld.barcode(4) }).filter((e) => e.outcome === 'invalid')).toEqual([]);
    const [acmeStatus] = connectionStatus(acme, ['shop']);
    expect(acmeStatus!.failing).toBe(1);
    expect(acmeStatus!.lastRun!.id).toBe(a.runId);
    const offered = (db: PgDatabase) => explainProduct(db, acmeWorld.barcode(0)).acknowledged.find((o) => o.target === 'marketplace')?.stock;
    expect(offered(acme)).toBe(321);
    expect(offered(globex)).toBe(globexWorld.erp.catalog.item(0)!.stock);
  });

  it("refuses a session of one merchant the other's rows, whatever its SQL says", () => {
    const barcode = acmeWorld.barcode(0);
    // Reading: another tenant's rows are not there.
    expect(acme.prepare(`SELECT count(*) FROM snapshot WHERE tenant = 'globex'`).pluck().get()).toBe(0);
    // Writing: updates and deletes reach none of them.
    expect(acme.prepare(`UPDATE snapshot SET stock = 0 WHERE tenant = 'globex'`).run().changes).toBe(0);
    expect(acme.prepare(`DELETE FROM events WHERE tenant = 'globex'`).run().changes).toBe(0);
    expect(acme.prepare(`DELETE FROM staging WHERE barcode = ?`).run(barcode).changes).toBe(1);
    expect(globex.prepare(`SELECT count(*) FROM staging WHERE barcode = ?`).pluck().get(barcode)).toBe(1);
    // Inserting a row for another tenant, or moving one there, is refused.
    expect(() => acme.prepare(`INSERT INTO target_rules (tenant, connection, target, fingerprint) VALUES ('globex', 'shop', 'marketplace', 'forged')`).run())
      .toThrow(PgError);
    expect(() => acme.prepare(`UPDATE runs SET tenant = 'globex'`).run()).toThrow(/row-level security/);
    // Nor does an upsert on the other's key touch its row: it lands in acme's own.
    acme.prepare(`INSERT INTO target_rules (connection, target, fingerprint) VALUES ('shop', 'trendyol', 'x') ON CONFLICT (tenant, connection, target) DO UPDATE SET fingerprint = excluded.fingerprint`).run();
    expect(globex.prepare(`SELECT fingerprint FROM target_rules WHERE connection = 'shop' AND target = 'trendyol'`).pluck().get()).not.toBe('x');
  });

  it('runs a tenant whose session is bound to nothing not at all', () => {
    expect(() => openPgStore(url, '')).toThrow(/tenant/);
  });
});
