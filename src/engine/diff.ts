import type { Db } from '../store/db.js';
import type { StageCounts } from './stage.js';

export interface DiffCounts {
  new: number;
  changed: number;
  unchanged: number;
  vanished: number;
  /** Offers the marketplace holds as live (not already pushed as vanished): the mass-vanish guard's base. */
  live: number;
}

export interface StagedOfferRow {
  barcode: string;
  sku: string;
  name: string;
  price: string;
  currency: string;
  vat_rate: string;
  price_includes_vat: number;
  stock: number;
  active: number;
  hash: string;
  prev_hash: string | null;
}

export type SnapshotOfferRow = Omit<StagedOfferRow, 'prev_hash'>;

/**
 * The diff between this run's pull (staging rows whose barcode is in
 * `temp.seen`) and what the marketplace has acknowledged (snapshot), as SQL
 * over indexed tables: nothing is loaded into memory but one batch at a time.
 * The counts come from the stager, which compared every product as it staged
 * it; a query runs only when there is something to find.
 */
export class Diff {
  readonly counts: DiffCounts;
  readonly #connection: string;
  readonly #changedPage;
  readonly #allPage;
  readonly #vanishedPage;

  constructor(db: Db, connection: string, staged: StageCounts) {
    this.#connection = connection;
    const { live } = db
      .prepare(`SELECT count(*) AS live FROM snapshot WHERE connection = ? AND NOT (active = 0 AND stock = 0)`)
      .get(connection) as { live: number };
    this.counts = { new: staged.new, changed: staged.changed, unchanged: staged.unchanged, vanished: live - staged.seenLive, live };
    const columns = `s.barcode, s.sku, s.name, s.price, s.currency, s.vat_rate, s.price_includes_vat, s.stock, s.active, s.hash, p.hash AS prev_hash`;
    // CROSS JOIN pins the order: walk temp.seen by barcode, so each batch is a
    // range read instead of a scan and sort of the whole pull.
    const from = `FROM temp.seen k
      CROSS JOIN staging s ON s.connection = ? AND s.barcode = k.barcode
      LEFT JOIN snapshot p ON p.connection = s.connection AND p.barcode = s.barcode`;
    this.#changedPage = db.prepare(
      `SELECT ${columns} ${from}
        WHERE k.barcode > ? AND s.valid = 1 AND (p.hash IS NULL OR p.hash <> s.hash)
        ORDER BY k.barcode LIMIT ?`,
    );
    this.#allPage = db.prepare(`SELECT ${columns} ${from} WHERE k.barcode > ? AND s.valid = 1 ORDER BY k.barcode LIMIT ?`);
    this.#vanishedPage = db.prepare(
      `SELECT p.barcode, p.sku, p.name, p.price, p.currency, p.vat_rate, p.price_includes_vat, p.stock, p.active, p.hash
         FROM snapshot p
        WHERE p.connection = ? AND p.barcode > ? AND NOT (p.active = 0 AND p.stock = 0)
          AND p.barcode NOT IN (SELECT barcode FROM temp.seen)
        ORDER BY p.barcode LIMIT ?`,
    );
  }

  /** New and changed offers after `afterBarcode`, in barcode order; with `all`, every valid one (`--resync`). */
  changedAfter(afterBarcode: string, limit: number, all = false): StagedOfferRow[] {
    if (all) return this.#allPage.all(this.#connection, afterBarcode, limit) as StagedOfferRow[];
    if (this.counts.new + this.counts.changed === 0) return [];
    return this.#changedPage.all(this.#connection, afterBarcode, limit) as StagedOfferRow[];
  }

  /** Acknowledged offers absent from the pull, still live on the marketplace, after `afterBarcode`. */
  vanishedAfter(afterBarcode: string, limit: number): SnapshotOfferRow[] {
    if (this.counts.vanished === 0) return [];
    return this.#vanishedPage.all(this.#connection, afterBarcode, limit) as SnapshotOfferRow[];
  }
}
