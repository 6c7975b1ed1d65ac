import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import type { Db, SqliteDb } from '../../src/store/db.js';
import { retryOffers } from '../../src/store/delivery.js';
import { openPgStore } from '../../src/store/pg-schema.js';
import type { PgDatabase } from '../../src/store/pg.js';
import {
  connectionStatus, countFailedItems, countItemEvents, countPendingItems, countRuns, countTargetRuns, explainProduct, failedCodes, failedItems,
  failingSince, foldForSearch, getRun, itemEvents, knownConnections, lastSyncs, openAlerts, pendingItems, recentRuns, targetRuns, targetStatus,
} from '../../src/store/queries.js';
import { freshDatabase, requirePostgres } from '../support/hosted.js';
import { EngineWorld } from './support.js';

/**
 * The read models `status`, `logs`, `explain` and the web page use give the
 * same answers on PostgreSQL as on SQLite, for the same runs: two identical
 * worlds (sandbox ERP, offer API, Trendyol), one run on each store, step by
 * step. Times differ between the two, so they are compared as present or
 * not, and so do the sandboxes' ports; everything else must be equal.
 */

const PRODUCTS = 30;
const TURKISH = ['KİLİM', 'kilim', 'ışık', 'IŞIK', 'Çaydanlık', 'CAYDANLIK', 'gömlek', 'GOMLEK', 'Şık', 'sik', 'ığdır', 'IGDIR', 'Öztürk', 'ozturk', 'Ünlü', 'Éclair', 'ÂLÂ', 'çiğ köfte'];

/** Times (and how long things took) differ between the two runs: kept only as there or not. */
function timeless(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(timeless);
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [k, timeless(v)]);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [key, /(At|_at|^at|since|Since|durationMs|duration_ms)$/.test(key) ? v !== null && v !== undefined : timeless(v)]),
    );
  }
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(value)) return 'a time';
  // Each world's sandboxes listen on ports of their own.
  if (typeof value === 'string') return value.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:port');
  return value;
}

describe.runIf(requirePostgres())('the read models on PostgreSQL and SQLite', () => {
  let dir: string;
  let sqlite: SqliteDb;
  let pg: PgDatabase;
  let worlds: { db: Db; world: EngineWorld }[];
  let vanished: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'erp-sync-parity-'));
    sqlite = openDatabase(join(dir, 'erp-sync.db'));
    pg = openPgStore(freshDatabase('pg_parity'), 'acme');
    const [a, b] = await Promise.all([EngineWorld.start({ products: PRODUCTS, batchSize: 8 }), EngineWorld.start({ products: PRODUCTS, batchSize: 8 })]);
    worlds = [{ db: sqlite, world: a }, { db: pg, world: b }];
    vanished = a.barcode(9);

    // The same history on both: a first run, Trendyol's results, an invalid product, a rejected offer, a change, a vanished product, the offer API down once, a retry.
    const step = async (change: (world: EngineWorld, db: Db) => void) => {
      for (const { db, world } of worlds) {
        change(world, db);
        await world.run(db);
      }
    };
    await step(() => {});
    await step(() => {});
    await step((w) => {
      w.erp.catalog.patch(2, { price: 'on iki lira' });
      w.erp.catalog.patch(3, { stock: 33 });
      w.offerApi.faults.rejectBarcodes.add(w.barcode(3));
    });
    await step((w) => w.erp.catalog.remove(9));
    await step((w) => {
      w.offerApi.faults.down = true;
      w.erp.catalog.patch(4, { stock: 44 });
    });
    await step((w, db) => {
      w.offerApi.faults.down = false;
      w.offerApi.faults.rejectBarcodes.clear();
      retryOffers(db, { connection: 'shop', target: 'marketplace', barcodes: [w.barcode(3)] });
    });
    await step(() => {});
  }, 120_000);
  afterAll(async () => {
    sqlite?.close();
    pg?.close();
    await Promise.all((worlds ?? []).map(({ world }) => world.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const both = <T>(read: (db: Db, world: EngineWorld) => T): [unknown, unknown] => {
    const [a, b] = worlds.map(({ db, world }) => timeless(read(db, world)));
    return [a, b];
  };

  it('ran the same history on both', () => {
    const [a, b] = both((db) => recentRuns(db, { limit: 50 }).map((r) => [r.status, r.exitCode, r.errorCode]));
    expect(b).toEqual(a);
    expect(a).toContainEqual(['partial', expect.any(Number), expect.any(String)]);
    // Each sandbox applied the same offers.
    expect([...worlds[1]!.world.offerApi.stats.applicationsPerBarcode]).toEqual([...worlds[0]!.world.offerApi.stats.applicationsPerBarcode]);
  });

  it('answers status and runs the same', () => {
    const targets = (world: EngineWorld) => () => world.targets.map((t) => ({ name: t.name, kind: t.kind }));
    const reads: Record<string, (db: Db, world: EngineWorld) => unknown> = {
      connectionStatus: (db, world) => connectionStatus(db, ['shop', 'never-ran'], targets(world)),
      knownConnections: (db) => knownConnections(db),
      targetStatus: (db) => targetStatus(db, 'shop'),
      recentRuns: (db) => recentRuns(db, { connection: 'shop', limit: 50 }),
      dryRunsToo: (db) => recentRuns(db, { includeDryRuns: true, since: '2000-01-01' }),
      getRun: (db) => getRun(db, 3),
      countRuns: (db) => countRuns(db, 'shop'),
      countTargetRuns: (db) => countTargetRuns(db, 'trendyol'),
      targetRuns: (db) => targetRuns(db, [1, 2, 3, 4, 5, 6, 7]),
      lastSyncs: (db) => lastSyncs(db),
      failingSince: (db) => failingSince(db, 'shop', 2),
      openAlerts: (db) => openAlerts(db),
    };
    for (const [name, read] of Object.entries(reads)) {
      const [a, b] = both(read);
      expect(b, name).toEqual(a);
    }
  });

  it('answers logs the same: events, failed and pending items, codes, with and without filters', () => {
    const reads: Record<string, (db: Db, world: EngineWorld) => unknown> = {
      events: (db) => itemEvents(db, { limit: 500 }),
      eventsOfRun: (db) => itemEvents(db, { runId: 3 }),
      eventsOfTarget: (db) => itemEvents(db, { connection: 'shop', target: 'marketplace', outcome: ['rejected', 'invalid', 'failed'] }),
      eventsByCode: (db) => itemEvents(db, { code: 'PRICE_NOT_A_NUMBER', since: '2000-01-01' }),
      eventsPaged: (db) => itemEvents(db, { limit: 5, offset: 5 }),
      countEvents: (db) => countItemEvents(db, { connection: 'shop' }),
      failed: (db) => failedItems(db),
      failedOfTarget: (db) => failedItems(db, { target: 'marketplace', delivery: true }),
      countFailed: (db) => countFailedItems(db, { connection: 'shop' }),
      codes: (db) => failedCodes(db),
      pending: (db) => pendingItems(db),
      countPending: (db) => countPendingItems(db),
      searchBarcode: (db, world) => itemEvents(db, { search: world.barcode(3).slice(4, 10) }),
    };
    for (const [name, read] of Object.entries(reads)) {
      const [a, b] = both(read);
      expect(b, name).toEqual(a);
    }
  });

  it('searches the same, Turkish letters folded', () => {
    const names = new Set<string>();
    for (const { world } of worlds.slice(0, 1)) for (let i = 0; i < PRODUCTS; i++) names.add(world.erp.catalog.item(i)?.name ?? '');
    const words = [...new Set([...names].flatMap((n) => n.split(' ')))].filter((w) => w.length > 2);
    const needles = [...words, ...words.map((w) => w.toLocaleUpperCase('tr')), ...words.map((w) => w.toUpperCase()), ...words.map(foldForSearch), ...TURKISH];
    expect(needles.length).toBeGreaterThan(40);
    let found = 0;
    for (const search of needles) {
      const [a, b] = both((db) => ({ events: itemEvents(db, { search, limit: 500 }).map((e) => e.id), count: countItemEvents(db, { search }), failed: failedItems(db, { search }) }));
      expect(b, search).toEqual(a);
      found += (a as { count: number }).count;
    }
    expect(found).toBeGreaterThan(0);
  });

  it('folds Turkish and accented text in SQL as foldForSearch does', () => {
    const samples = [...TURKISH, 'İSTANBUL', 'ıIiİ', 'Ağır Çizgili Şemsiye', 'Iğdır Kayısısı', 'ÇĞİÖŞÜ çğıöşü', 'Crème Brûlée', 'Ñandú', 'Straße', 'ΟΔΟΣ', 'ǅemal', 'e\u0301', '', 'ASCII only 123'];
    itemEvents(sqlite, { search: 'registers the function on SQLite' });
    const sql = (db: Db, text: string) => db.prepare(`SELECT erp_sync_fold(?)`).pluck().get(text);
    for (const text of samples) {
      expect(sql(pg, text), text).toBe(foldForSearch(text));
      expect(sql(pg, text), text).toBe(sql(sqlite, text));
    }
  });

  it('explains a product the same', () => {
    for (const index of [0, 2, 3, 4, 9]) {
      const [a, b] = both((db, world) => explainProduct(db, world.erp.catalog.item(index)?.barcode ?? vanished));
      expect(b, `#${index}`).toEqual(a);
    }
    const [a, b] = both((db, world) => explainProduct(db, world.erp.catalog.item(5)!.sku, { connection: 'shop', historyLimit: 3 }));
    expect(b).toEqual(a);
  });
});
