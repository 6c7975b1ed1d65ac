import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db.js';
import type { SqliteDb } from '../../src/store/db.js';
import { pruneAfterRun } from '../../src/store/retention.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { rawRecordJson } from '../../src/engine/stage.js';

/**
 * How big the database gets: 50,000 products synced every 15 minutes with 1%
 * of the catalog changing a day. The test writes the file a year of runs
 * leaves before any pruning (current state for every product; 35,040 runs;
 * the first run's 50,000 item events and 500 a day after it), prunes it with
 * the real retention, called again and again as successive runs call it
 * until it has caught up, and measures the file on disk (.db and -wal)
 * before and after; then once more with the ERP's raw records at their
 * 4,000-character limit. The README quotes the printed figures.
 */
const PRODUCTS = 50_000;
const DAYS = 365;
const RUNS_PER_DAY = 96;
const CHANGES_PER_DAY = PRODUCTS / 100;
/** The `retentionDays` setting's default, which `pruneAfterRun` applies when it is not set. */
const RETENTION_DAYS = 90;
/**
 * README, "How big does the database get?": after a year, the same with raw records at their
 * 4,000-character limit, and a year without pruning. It says "about": a file may be up to a
 * tenth over.
 */
const README_MB = { afterAYear: 61, heavyRawRecords: 276, withoutRetention: 122 };
const ABOUT = 1.1;

const RUNS = DAYS * RUNS_PER_DAY;
const DAY_MS = 86_400_000;
const RUN_EVERY_MS = DAY_MS / RUNS_PER_DAY;
const NOW = Date.now();
/**
 * Run `slot` (0 is the oldest) starts half an interval off the quarter hours
 * before NOW, so the retention cutoff (taken when it runs, moments after NOW)
 * falls 7.5 minutes away from any run and exactly 90 days of runs are kept.
 */
const runStart = (slot: number, seconds: number) => new Date(NOW - (RUNS - slot - 0.5) * RUN_EVERY_MS + seconds * 1000).toISOString();

const dir = mkdtempSync(join(tmpdir(), 'erp-sync-size-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'erp-sync.db');

/** The 50,000 products as the sandbox ERP sends them, with their raw record as staging keeps it. */
function products(): string {
  const catalog = new SandboxCatalog(PRODUCTS);
  return JSON.stringify(
    Array.from({ length: PRODUCTS }, (_, i) => {
      const item = catalog.item(i)!;
      return {
        barcode: item.barcode, sku: item.sku, name: item.name, price: item.price, currency: item.currency, vatRate: String(item.vatRate),
        stock: item.stock,
        // As long as the content hash; its value does not matter here.
        hash: createHash('sha1').update(item.barcode).digest('base64url').slice(0, 22),
        raw: rawRecordJson(catalog.records(catalog.recordOf(i), 1)[0]),
      };
    }),
  );
}

/** Current state for every product, and a year of runs with their item events, as the engine writes them. */
function writeAYear(db: SqliteDb): void {
  db.function('run_start', { deterministic: true }, (slot, seconds) => runStart(Number(slot), Number(seconds)));
  db.exec(`CREATE TEMP TABLE product (i INTEGER PRIMARY KEY, barcode, sku, name, price, currency, vat_rate, stock, hash, raw)`);
  db.prepare(
    `INSERT INTO product SELECT key, value ->> 'barcode', value ->> 'sku', value ->> 'name', value ->> 'price', value ->> 'currency',
       value ->> 'vatRate', value ->> 'stock', value ->> 'hash', value ->> 'raw' FROM json_each(?)`,
  ).run(products());
  // Each product was last acknowledged in some run of the year.
  const lastRun = `(i * ${RUNS - 1}) / ${PRODUCTS - 1}`;
  db.transaction(() => {
    db.exec(`
      INSERT INTO staging (connection, barcode, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, hash, valid, error_code)
        SELECT 'shop', barcode, sku, name, price, currency, vat_rate, 1, stock, 1, hash, 1, NULL FROM product;
      INSERT INTO staging_raw (connection, barcode, raw) SELECT 'shop', barcode, raw FROM product;
      INSERT INTO snapshot (connection, target, barcode, hash, base, status, offer_id, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, acked_at, run_id)
        SELECT 'shop', 'marketplace', barcode, hash, hash, 'updated', printf('OF-%08d', i + 1), sku, name, price, currency, vat_rate, 1, stock, 1,
               run_start(${lastRun}, 30), ${lastRun} + 1 FROM product;
      INSERT INTO item_state (connection, target, item, barcode, sku, name, outcome, code, message, run_id, at)
        SELECT 'shop', 'marketplace', barcode, barcode, sku, name, 'updated', NULL, NULL, ${lastRun} + 1, run_start(${lastRun}, 30) FROM product;

      WITH RECURSIVE slot (k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM slot WHERE k + 1 < ${RUNS})
      INSERT INTO runs (id, connection, driver, status, started_at, finished_at, duration_ms, pull_complete, pulled, invalid, new, changed, vanished,
          unchanged, pushed, created, updated, pending_approval, rejected, failed, erp_requests, push_requests, push_bytes, exit_code, pid)
        SELECT k + 1, 'shop', 'entegra', 'succeeded', run_start(k, 0), run_start(k, 41), 41234, 1, 50000, 0, 0, 5, 0, 49995, 5, 0, 5, 0, 0, 0,
               250, 1, 2345, 0, 12345 + k FROM slot;

      INSERT INTO events (run_id, connection, target, at, barcode, sku, name, stage, outcome, code, message, detail)
        SELECT 1, 'shop', 'marketplace', run_start(0, 30), barcode, sku, name, 'push', 'created', NULL, NULL,
               json_object('kind', 'new', 'price', price, 'stock', stock, 'offerId', printf('OF-%08d', i + 1)) FROM product;
      -- Day d's changes go to its 96 runs in turn, each to a product spread over the catalog.
      WITH RECURSIVE change (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM change WHERE n + 1 < ${DAYS * CHANGES_PER_DAY}),
        placed AS (
          SELECT (n / ${CHANGES_PER_DAY}) * ${RUNS_PER_DAY} + (n % ${CHANGES_PER_DAY}) * ${RUNS_PER_DAY} / ${CHANGES_PER_DAY} AS slot,
                 (n * 7919) % ${PRODUCTS} AS i
            FROM change
        )
      INSERT INTO events (run_id, connection, target, at, barcode, sku, name, stage, outcome, code, message, detail)
        SELECT slot + 1, 'shop', 'marketplace', run_start(slot, 30), barcode, sku, name, 'push', 'updated', NULL, NULL,
               json_object('kind', 'changed', 'price', price, 'stock', stock, 'offerId', printf('OF-%08d', i + 1))
          FROM placed JOIN product USING (i) ORDER BY slot;
    `);
  })();
  db.exec(`DROP TABLE product`);
  db.pragma('wal_checkpoint(TRUNCATE)');
}

interface Measure {
  /** The file on disk: the database and its WAL. */
  bytes: number;
  freeBytes: number;
  tables: Record<string, { rows: number; bytes: number }>;
}

const TABLES = ['staging', 'staging_raw', 'snapshot', 'item_state', 'runs', 'events'] as const;

function measure(db: SqliteDb): Measure {
  const wal = `${file}-wal`;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  // Each table with its indexes, from the pages they hold.
  const pages = new Map(
    (db.prepare(`SELECT coalesce(m.tbl_name, d.name) AS name, sum(d.pgsize) AS bytes FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY 1`)
      .all() as { name: string; bytes: number }[]).map((t) => [t.name, t.bytes]),
  );
  return {
    bytes: statSync(file).size + (existsSync(wal) ? statSync(wal).size : 0),
    freeBytes: (db.pragma('freelist_count', { simple: true }) as number) * pageSize,
    tables: Object.fromEntries(
      TABLES.map((name) => [name, { rows: (db.prepare(`SELECT count(*) AS n FROM ${name}`).get() as { n: number }).n, bytes: pages.get(name) ?? 0 }]),
    ),
  };
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

function report(before: Measure, after: Measure, heavy: Measure, retention: string): string {
  const cell = (m: Measure, name: (typeof TABLES)[number]) => `${String(m.tables[name]!.rows).padStart(9)} ${String(mb(m.tables[name]!.bytes)).padStart(7)}`;
  return [
    `database size, ${PRODUCTS} products, a run every 15 minutes for ${DAYS} days, ${CHANGES_PER_DAY} changes a day:`,
    `${''.padEnd(13)}${'before retention'.padStart(17)}${'after retention'.padStart(18)}`,
    `${'table'.padEnd(13)}${'rows'.padStart(9)}${'MB'.padStart(8)}${'rows'.padStart(10)}${'MB'.padStart(8)}`,
    ...TABLES.map((name) => `${name.padEnd(13)}${cell(before, name)} ${cell(after, name)}`),
    `${'free pages'.padEnd(13)}${String(mb(before.freeBytes)).padStart(17)}${String(mb(after.freeBytes)).padStart(18)}`,
    `${'file on disk'.padEnd(13)}${String(mb(before.bytes)).padStart(17)}${String(mb(after.bytes)).padStart(18)}`,
    `retention: ${retention}`,
    `after a year with raw records at 4,000 characters: ${mb(heavy.bytes)} MB (staging_raw ${mb(heavy.tables.staging_raw!.bytes)} MB)`,
    '',
  ].join('\n');
}

describe('database size after a year', () => {
  it('retention brings a year of runs down to 90 days of logs, and the file to the README figure', () => {
    const db = openDatabase(file);
    writeAYear(db);
    const before = measure(db);
    expect(before.tables.runs!.rows).toBe(RUNS);
    expect(before.tables.events!.rows).toBe(PRODUCTS + DAYS * CHANGES_PER_DAY);

    // One prune after each run, as the engine does, until the backlog is gone.
    const started = performance.now();
    const totals = { calls: 0, runsDeleted: 0, eventsDeleted: 0, vacuumed: 0 };
    for (let complete = false; !complete; ) {
      expect(totals.calls, 'retention never caught up').toBeLessThan(200);
      const result = pruneAfterRun(db, 'shop', {});
      totals.calls++;
      totals.runsDeleted += result.runsDeleted;
      totals.eventsDeleted += result.eventsDeleted;
      if (result.vacuumed) totals.vacuumed++;
      complete = result.complete;
    }
    const seconds = Math.round(performance.now() - started) / 1000;
    const after = measure(db);

    const cutoff = new Date(NOW - RETENTION_DAYS * DAY_MS).toISOString();
    const kept = db.prepare(
      `SELECT (SELECT max(id) FROM runs WHERE connection = 'shop') AS latest,
              (SELECT max(id) FROM runs WHERE connection = 'shop' AND status = 'succeeded' AND dry_run = 0) AS latestSuccess`,
    ).get() as { latest: number; latestSuccess: number };
    const count = (sql: string, ...params: unknown[]) => (db.prepare(`SELECT count(*) AS n FROM ${sql}`).get(...params) as { n: number }).n;
    const left = {
      oldRuns: count(`runs WHERE started_at < ? AND id NOT IN (?, ?)`, cutoff, kept.latest, kept.latestSuccess),
      oldEvents: count(`events WHERE at < ? AND run_id NOT IN (?, ?)`, cutoff, kept.latest, kept.latestSuccess),
      orphanEvents: count(`events WHERE run_id NOT IN (SELECT id FROM runs)`),
    };

    // The same file for an ERP whose records are large: each raw record at the 4,000 characters staging keeps, written as a first pull writes them.
    db.transaction(() => {
      db.exec(`CREATE TEMP TABLE raw AS SELECT barcode, raw FROM staging_raw`);
      db.exec(`DELETE FROM staging_raw`);
      db.exec(`INSERT INTO staging_raw (connection, barcode, raw) SELECT 'shop', barcode, substr(raw || printf('%4000s', ''), 1, 4000) FROM raw`);
      db.exec(`DROP TABLE raw`);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const heavy = measure(db);
    db.close();
    process.stdout.write(
      report(before, after, heavy, `${totals.calls} calls of pruneAfterRun in ${seconds} s deleted ${totals.runsDeleted} runs and ${totals.eventsDeleted} events, vacuumed ${totals.vacuumed} time(s)`),
    );

    expect(left).toEqual({ oldRuns: 0, oldEvents: 0, orphanEvents: 0 });
    // Nothing younger went: exactly 90 days of runs and of item events are left, and all of the current state.
    expect(after.tables.runs!.rows).toBe(RETENTION_DAYS * RUNS_PER_DAY);
    expect(after.tables.events!.rows).toBe(RETENTION_DAYS * CHANGES_PER_DAY);
    expect(totals).toMatchObject({ runsDeleted: RUNS - RETENTION_DAYS * RUNS_PER_DAY, eventsDeleted: before.tables.events!.rows - after.tables.events!.rows });
    for (const name of ['staging', 'staging_raw', 'snapshot', 'item_state'] as const) expect(after.tables[name]!.rows, name).toBe(PRODUCTS);

    expect(after.bytes).toBeLessThan(before.bytes);
    expect(mb(after.bytes)).toBeLessThanOrEqual(README_MB.afterAYear * ABOUT);
    expect(mb(heavy.bytes)).toBeLessThanOrEqual(README_MB.heavyRawRecords * ABOUT);
    expect(mb(before.bytes)).toBeLessThanOrEqual(README_MB.withoutRetention * ABOUT);
  }, 120_000);
});
