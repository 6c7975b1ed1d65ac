import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db.js';
import type { Db } from '../../src/store/db.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { rawRecordJson } from '../../src/engine/stage.js';

/**
 * How big the database gets: 50,000 products, a run every 15 minutes, 1% of
 * the catalog changing per day. Each table is filled with a sample of
 * representative rows (sandbox ERP records as `raw`, real-shaped events),
 * bytes per row are measured from the file's pages, and the steady state is
 * extrapolated from the row counts. The README quotes the printed table.
 */
const PRODUCTS = 50_000;
const CHANGES_PER_DAY = PRODUCTS * 0.01;
const RUNS_PER_DAY = 96;
const RETENTION_DAYS = 90;
const SAMPLE = 10_000;

const dir = mkdtempSync(join(tmpdir(), 'erp-sync-size-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bytesPerRow(name: string, fill: (db: Db, n: number) => void): number {
  const db = openDatabase(join(dir, `${name}.db`));
  const size = () => {
    db.pragma('wal_checkpoint(TRUNCATE)');
    return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
  };
  const empty = size();
  db.transaction(() => fill(db, SAMPLE))();
  const perRow = (size() - empty) / SAMPLE;
  db.close();
  return perRow;
}

const catalog = new SandboxCatalog(SAMPLE);
const at = (i: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + i * 900_000).toISOString();
const hash = (i: number) => `h${String(i).padStart(21, '0')}`;

function product(i: number) {
  const item = catalog.item(i)!;
  return { ...item, raw: rawRecordJson(catalog.records(catalog.recordOf(i), 1)[0]) };
}

const fills = {
  staging(db: Db, n: number, rawSize?: number) {
    const insert = db.prepare(
      `INSERT INTO staging (connection, barcode, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, hash, valid, error_code)
       VALUES ('shop', ?, ?, ?, ?, ?, ?, 1, ?, 1, ?, 1, NULL)`,
    );
    const insertRaw = db.prepare(`INSERT INTO staging_raw (connection, barcode, raw) VALUES ('shop', ?, ?)`);
    for (let i = 0; i < n; i++) {
      const p = product(i);
      insert.run(p.barcode, p.sku, p.name, p.price, p.currency, String(p.vatRate), p.stock, hash(i));
      insertRaw.run(p.barcode, rawSize === undefined ? p.raw : p.raw.padEnd(rawSize, ' '));
    }
  },
  snapshot(db: Db, n: number) {
    const insert = db.prepare(
      `INSERT INTO snapshot (connection, barcode, hash, status, offer_id, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, acked_at, run_id)
       VALUES ('shop', ?, ?, 'updated', ?, ?, ?, ?, ?, ?, 1, ?, 1, ?, ?)`,
    );
    for (let i = 0; i < n; i++) {
      const p = product(i);
      insert.run(p.barcode, hash(i), `OF-${String(i).padStart(8, '0')}`, p.sku, p.name, p.price, p.currency, String(p.vatRate), p.stock, at(i), 30_000 + i);
    }
  },
  item_state(db: Db, n: number) {
    const insert = db.prepare(
      `INSERT INTO item_state (connection, item, barcode, sku, name, outcome, code, message, run_id, at) VALUES ('shop', ?, ?, ?, ?, 'updated', NULL, NULL, ?, ?)`,
    );
    for (let i = 0; i < n; i++) {
      const p = product(i);
      insert.run(p.barcode, p.barcode, p.sku, p.name, 30_000 + i, at(i));
    }
  },
  events(db: Db, n: number) {
    const insert = db.prepare(
      `INSERT INTO events (run_id, connection, at, barcode, sku, name, stage, outcome, code, message, detail) VALUES (?, 'shop', ?, ?, ?, ?, 'push', 'updated', NULL, NULL, ?)`,
    );
    for (let i = 0; i < n; i++) {
      const p = product(i);
      insert.run(30_000 + Math.floor(i / 5), at(i), p.barcode, p.sku, p.name, JSON.stringify({ kind: 'changed', price: p.price, stock: p.stock, offerId: `OF-${String(i).padStart(8, '0')}` }));
    }
  },
  runs(db: Db, n: number) {
    const insert = db.prepare(
      `INSERT INTO runs (connection, driver, status, started_at, finished_at, duration_ms, pull_complete, pulled, invalid, new, changed, vanished, unchanged,
         pushed, created, updated, pending_approval, rejected, failed, erp_requests, push_requests, push_bytes, exit_code, pid)
       VALUES ('shop', 'entegra', 'succeeded', ?, ?, 41234, 1, 50000, 12, 0, 5, 0, 49983, 5, 0, 5, 0, 0, 0, 250, 1, 2345, 0, 12345)`,
    );
    for (let i = 0; i < n; i++) insert.run(at(i), at(i));
  },
};

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

describe('database size after a year', () => {
  it('stays in the tens of megabytes for 50,000 products with 90-day retention', () => {
    const perRow = {
      staging: bytesPerRow('staging', (db, n) => fills.staging(db, n)),
      stagingHeavy: bytesPerRow('staging-heavy', (db, n) => fills.staging(db, n, 4000)),
      snapshot: bytesPerRow('snapshot', fills.snapshot),
      item_state: bytesPerRow('item_state', fills.item_state),
      events: bytesPerRow('events', fills.events),
      runs: bytesPerRow('runs', fills.runs),
    };
    // Current state is one row per product; logs grow with changes and runs until retention caps them.
    const rows = (days: number) => ({
      staging: PRODUCTS,
      snapshot: PRODUCTS,
      item_state: PRODUCTS,
      events: CHANGES_PER_DAY * Math.min(days, RETENTION_DAYS) + (days <= RETENTION_DAYS ? PRODUCTS : 0),
      runs: RUNS_PER_DAY * Math.min(days, RETENTION_DAYS),
    });
    const total = (r: ReturnType<typeof rows>, staging: number) =>
      r.staging * staging + r.snapshot * perRow.snapshot + r.item_state * perRow.item_state + r.events * perRow.events + r.runs * perRow.runs;
    const year = rows(365);
    const unpruned = { ...year, events: CHANGES_PER_DAY * 365 + PRODUCTS, runs: RUNS_PER_DAY * 365 };
    const estimate = {
      bytesPerRow: Object.fromEntries(Object.entries(perRow).map(([k, v]) => [k, Math.round(v)])),
      rowsAfterAYear: year,
      afterAYearMB: mb(total(year, perRow.staging)),
      afterAYearWith4KBRawRecordsMB: mb(total(year, perRow.stagingHeavy)),
      afterAYearWithoutRetentionMB: mb(total(unpruned, perRow.staging)),
    };
    process.stdout.write(`database size estimate: ${JSON.stringify(estimate, null, 2)}\n`);
    expect(estimate.afterAYearMB).toBeLessThan(100);
    expect(estimate.afterAYearWith4KBRawRecordsMB).toBeLessThan(400);
  }, 60_000);
});
