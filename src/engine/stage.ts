import type { Db } from '../store/db.js';
import type { EventLog } from './events.js';
import { contentHash } from './hash.js';
import type { Validated } from './validate.js';

/** A validated product with the ERP record it came from (kept for `explain`). */
export type StagedItem = Validated & { record: unknown };

/** Raw records longer than this are cut: enough for support, bounded for the database. */
const MAX_RAW = 4000;

export function rawRecordJson(record: unknown): string {
  const json = JSON.stringify(record) ?? 'null';
  return json.length > MAX_RAW ? json.slice(0, MAX_RAW) : json;
}

interface StagedRow {
  sku: string;
  name: string;
  valid: number;
  error_code: string | null;
}

/**
 * Writes a pull into the staging table, one transaction per page, so memory
 * holds one page at a time whatever the size of the catalog.
 *
 * Staging keeps the latest pull of each connection. A product whose content
 * did not change since the last pull is only marked as seen by this run (a
 * small in-place update); new and changed products are written whole, with
 * their raw record. A barcode seen twice in one pull makes both occurrences
 * invalid: neither is pushed, both are reported. Invalid products stay in
 * staging (marked) so they are never mistaken for vanished ones.
 */
export class Stager {
  pulled = 0;
  invalid = 0;
  readonly #db: Db;
  readonly #connection: string;
  readonly #runId: number;
  readonly #events: EventLog;
  readonly #markSeen;
  readonly #upsert;
  readonly #existing;
  readonly #markDuplicate;
  readonly #newDuplicates = new Set<string>();

  constructor(db: Db, connection: string, runId: number, events: EventLog) {
    this.#db = db;
    this.#connection = connection;
    this.#runId = runId;
    this.#events = events;
    this.#markSeen = db.prepare(
      `UPDATE staging SET seen_run = ? WHERE connection = ? AND barcode = ? AND hash = ? AND valid = 1 AND seen_run <> ?`,
    );
    // The WHERE makes a second occurrence in the same run change nothing: that is how a duplicate shows.
    this.#upsert = db.prepare(
      `INSERT INTO staging (connection, barcode, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, hash, valid, error_code, raw, seen_run)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (connection, barcode) DO UPDATE SET sku = excluded.sku, name = excluded.name, price = excluded.price,
         currency = excluded.currency, vat_rate = excluded.vat_rate, price_includes_vat = excluded.price_includes_vat,
         stock = excluded.stock, active = excluded.active, hash = excluded.hash, valid = excluded.valid,
         error_code = excluded.error_code, raw = excluded.raw, seen_run = excluded.seen_run
       WHERE staging.seen_run <> excluded.seen_run`,
    );
    this.#existing = db.prepare(`SELECT sku, name, valid, error_code FROM staging WHERE connection = ? AND barcode = ?`);
    this.#markDuplicate = db.prepare(
      `UPDATE staging SET valid = 0, error_code = 'BARCODE_DUPLICATE' WHERE connection = ? AND barcode = ?`,
    );
  }

  /** Stages one page of validated products in one transaction. */
  addPage(items: readonly StagedItem[]): void {
    this.#db.transaction(() => {
      for (const item of items) this.#stage(item);
    })();
  }

  /** After a complete pull: products no longer in the ERP leave staging (the snapshot remembers them). */
  dropUnseen(): void {
    this.#db.prepare(`DELETE FROM staging WHERE connection = ? AND seen_run <> ?`).run(this.#connection, this.#runId);
  }

  /** A record the driver could not map at all: reported, and the pull goes on. */
  addUnreadable(record: unknown, error: unknown): void {
    this.pulled++;
    this.invalid++;
    const fields = (record ?? {}) as Record<string, unknown>;
    const pick = (...keys: string[]) => keys.map((k) => fields[k]).find((v) => typeof v === 'string' || typeof v === 'number');
    this.#events.recordIfChanged({
      barcode: pick('barcode')?.toString(),
      sku: pick('sku', 'code', 'productCode')?.toString(),
      name: pick('name', 'title')?.toString(),
      stage: 'pull',
      outcome: 'invalid',
      code: 'RECORD_UNREADABLE',
      message: `the ERP record could not be read: ${error instanceof Error ? error.message : String(error)}`,
      detail: { record: rawRecordJson(record) },
    });
  }

  #stage(item: StagedItem): void {
    this.pulled++;
    const connection = this.#connection;
    const run = this.#runId;
    if (!item.ok) {
      this.invalid++;
      this.#events.recordIfChanged({
        barcode: item.barcode,
        sku: item.sku,
        name: item.name,
        stage: 'validate',
        outcome: 'invalid',
        code: item.issue.code,
        message: item.issue.message,
      });
      if (item.barcode) {
        const info = this.#upsert.run(connection, item.barcode, item.sku, item.name, null, null, null, null, null, null, null, 0, item.issue.code, rawRecordJson(item.record), run);
        if (info.changes === 0) this.#duplicate(item.barcode, item.sku, item.name, true);
      }
      return;
    }
    const p = item.product;
    const hash = contentHash(p);
    if (this.#markSeen.run(run, connection, p.barcode, hash, run).changes === 0) {
      const info = this.#upsert.run(
        connection, p.barcode, p.sku, p.name, p.price, p.currency, p.vatRate, p.priceIncludesVat ? 1 : 0, p.stock,
        p.active ? 1 : 0, hash, 1, null, rawRecordJson(item.record), run,
      );
      if (info.changes === 0) {
        this.#duplicate(p.barcode, p.sku, p.name, false);
        return;
      }
    }
    for (const warning of item.warnings) {
      this.#events.recordIfChanged({ barcode: p.barcode, sku: p.sku, name: p.name, stage: 'validate', outcome: 'warning', code: warning.code, message: warning.message });
    }
  }

  #duplicate(barcode: string, sku: string, name: string, alreadyCounted: boolean): void {
    const first = this.#existing.get(this.#connection, barcode) as StagedRow;
    const message = `the barcode ${barcode} appears more than once in the ERP (stock codes ${first.sku || '?'} and ${sku || '?'}); neither is pushed until it is unique`;
    if (first.error_code !== 'BARCODE_DUPLICATE') {
      // The first occurrence looked fine until now: take it out of the push, and
      // report every occurrence, unless this duplicate was already reported by an earlier run.
      if (first.valid) this.invalid++;
      this.#markDuplicate.run(this.#connection, barcode);
      if (this.#events.isNews(barcode, 'invalid', 'BARCODE_DUPLICATE')) this.#newDuplicates.add(barcode);
      if (this.#newDuplicates.has(barcode)) {
        this.#events.record({ barcode, sku: first.sku, name: first.name, stage: 'validate', outcome: 'invalid', code: 'BARCODE_DUPLICATE', message });
      }
    }
    if (!alreadyCounted) this.invalid++;
    if (this.#newDuplicates.has(barcode)) {
      this.#events.record({ barcode, sku, name, stage: 'validate', outcome: 'invalid', code: 'BARCODE_DUPLICATE', message });
    }
  }
}
