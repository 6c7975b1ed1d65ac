import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stager } from '../../src/engine/stage.js';
import type { StagedItem } from '../../src/engine/stage.js';
import type { NormalizedProduct } from '../../src/model/product.js';
import { migratePg, PgDatabase } from '../../src/store/pg.js';
import { pgMigrations } from '../../src/store/pg-schema.js';
import { EventLog } from '../../src/store/items.js';
import { freshDatabase, requirePostgres } from '../support/hosted.js';

/**
 * Staging a page on PostgreSQL is a few statements whatever the page's
 * size: each statement is a round trip to the server, so one per product
 * would make a large catalog's pull as slow as the network. Counted through
 * the session, not timed.
 */

/** A session that counts the statements it sends. */
class CountingPg extends PgDatabase {
  statements = 0;
  override execute(source: string, params: readonly unknown[]) {
    this.statements++;
    return super.execute(source, params);
  }
}

function product(i: number, price: string): NormalizedProduct {
  return {
    barcode: `869${String(i).padStart(10, '0')}`, sku: `SKU-${i}`, name: `Çizgili Gömlek ${i}`, price, currency: 'TRY', vatRate: '20',
    priceIncludesVat: true, stock: i % 50, active: true,
  };
}

/** A page of `size` products, one in ten of them invalid; `round` moves every valid one's price. */
function page(size: number, round: number): StagedItem[] {
  return Array.from({ length: size }, (_, i): StagedItem => {
    const p = product(i, `${100 + round}.50`);
    const record = { ...p, price: i % 10 === 3 ? 'on iki lira' : p.price };
    return i % 10 === 3
      ? { ok: false, issue: { code: 'PRICE_NOT_A_NUMBER', message: 'the price is not a number' }, barcode: p.barcode, sku: p.sku, name: p.name, record }
      : { ok: true, product: p, warnings: [], record };
  });
}

describe.runIf(requirePostgres())('staging a page on PostgreSQL', () => {
  let db: CountingPg;
  let run = 0;

  beforeAll(() => {
    db = new CountingPg(freshDatabase('pg_staging'), 'acme');
    migratePg(db, 'engine', pgMigrations);
  });
  afterAll(() => db?.close());

  /** Stages one page as a pull of `connection` does; returns the statements it took. */
  function stage(connection: string, items: StagedItem[]): { statements: number; stager: Stager } {
    const stager = new Stager(db, connection, new EventLog(db, connection, ++run), ['marketplace', 'trendyol']);
    const before = db.statements;
    stager.addPage(items);
    return { statements: db.statements - before, stager };
  }

  it('takes the same few statements for ten products as for a thousand, new, unchanged or changed', () => {
    const sizes = [10, 200, 1000];
    const counts = sizes.map((size) => {
      const connection = `shop-${size}`;
      const invalid = size / 10;
      const first = stage(connection, page(size, 0));
      expect(first.stager.counts[0]).toEqual({ new: size - invalid, changed: 0, unchanged: 0, seenLive: 0 });
      const again = stage(connection, page(size, 0));
      const changed = stage(connection, page(size, 1));
      const staged = db.prepare(`SELECT count(*) AS n, sum(valid) AS valid, count(DISTINCT price) AS prices FROM staging WHERE connection = ?`).get(connection);
      expect(staged).toEqual({ n: size, valid: size - invalid, prices: 1 });
      expect(db.prepare(`SELECT count(*) FROM staging_raw WHERE connection = ?`).pluck().get(connection)).toBe(size);
      // A new invalid product is news: its event and its state are its own two statements. Once known, it costs nothing.
      return { first: first.statements - 2 * invalid, again: again.statements, changed: changed.statements };
    });
    expect(counts[1]).toEqual(counts[0]);
    expect(counts[2]).toEqual(counts[0]);
    // Looking the page's problems up, looking the page up, marking it seen, writing staging and the raw records.
    expect(counts[0]!.first).toBeLessThanOrEqual(5);
    expect(counts[0]!.again).toBeLessThanOrEqual(5);
    expect(counts[0]!.changed).toBeLessThanOrEqual(5);
    expect(db.prepare(`SELECT count(*) FROM events WHERE outcome = 'invalid'`).pluck().get()).toBe(1 + 20 + 100);
  });

  it('keeps a product PostgreSQL cannot store out of the page alone, and stages the rest', () => {
    const items = page(20, 0).filter((item) => item.ok);
    const bad = items[4]!;
    if (!bad.ok) throw new Error('a valid product expected');
    bad.product = { ...bad.product, name: 'Gömlek\u0000' };
    const { stager } = stage('shop-nul', items);
    expect(stager.invalid).toBe(1);
    expect(db.prepare(`SELECT count(*) FROM staging WHERE connection = 'shop-nul' AND valid = 1`).pluck().get()).toBe(items.length - 1);
    // Not staged (its invalid row could not be written either: the same name), so never pushed; the log has it, the NUL shown as U+FFFD.
    expect(db.prepare(`SELECT count(*) FROM staging WHERE connection = 'shop-nul' AND barcode = ?`).pluck().get(bad.product.barcode)).toBe(0);
    expect(db.prepare(`SELECT code, name FROM events WHERE connection = 'shop-nul' AND barcode = ?`).all(bad.product.barcode))
      .toEqual([{ code: 'RECORD_UNREADABLE', name: 'Gömlek\uFFFD' }]);
  });
});
