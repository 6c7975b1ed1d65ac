import type { Db } from '../store/db.js';

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
 * The diff between the latest pull (staging) and what the marketplace has
 * acknowledged (snapshot), as SQL over indexed tables: nothing is loaded into
 * memory but the counts and one batch at a time.
 */
export class Diff {
  readonly #connection: string;
  readonly #counts;
  readonly #vanishedCounts;
  readonly #changedPage;
  readonly #allPage;
  readonly #vanishedPage;

  readonly #runId: number;

  /** `runId`: the run whose pull is in staging; rows it did not see are not part of this pull. */
  constructor(db: Db, connection: string, runId: number) {
    this.#connection = connection;
    this.#runId = runId;
    this.#counts = db.prepare(
      `SELECT count(*) FILTER (WHERE p.hash IS NULL) AS new,
              count(*) FILTER (WHERE p.hash IS NOT NULL AND p.hash <> s.hash) AS changed,
              count(*) FILTER (WHERE p.hash = s.hash) AS unchanged
         FROM staging s LEFT JOIN snapshot p ON p.connection = s.connection AND p.barcode = s.barcode
        WHERE s.connection = ? AND s.seen_run = ? AND s.valid = 1`,
    );
    this.#vanishedCounts = db.prepare(
      `SELECT count(*) FILTER (WHERE s.barcode IS NULL) AS vanished, count(*) AS live
         FROM snapshot p LEFT JOIN staging s ON s.connection = p.connection AND s.barcode = p.barcode AND s.seen_run = ?
        WHERE p.connection = ? AND NOT (p.active = 0 AND p.stock = 0)`,
    );
    const columns = `s.barcode, s.sku, s.name, s.price, s.currency, s.vat_rate, s.price_includes_vat, s.stock, s.active, s.hash, p.hash AS prev_hash`;
    const from = `FROM staging s LEFT JOIN snapshot p ON p.connection = s.connection AND p.barcode = s.barcode`;
    this.#changedPage = db.prepare(
      `SELECT ${columns} ${from}
        WHERE s.connection = ? AND s.seen_run = ? AND s.valid = 1 AND s.barcode > ? AND (p.hash IS NULL OR p.hash <> s.hash)
        ORDER BY s.barcode LIMIT ?`,
    );
    this.#allPage = db.prepare(
      `SELECT ${columns} ${from} WHERE s.connection = ? AND s.seen_run = ? AND s.valid = 1 AND s.barcode > ? ORDER BY s.barcode LIMIT ?`,
    );
    this.#vanishedPage = db.prepare(
      `SELECT p.barcode, p.sku, p.name, p.price, p.currency, p.vat_rate, p.price_includes_vat, p.stock, p.active, p.hash
         FROM snapshot p LEFT JOIN staging s ON s.connection = p.connection AND s.barcode = p.barcode AND s.seen_run = ?
        WHERE p.connection = ? AND s.barcode IS NULL AND NOT (p.active = 0 AND p.stock = 0) AND p.barcode > ?
        ORDER BY p.barcode LIMIT ?`,
    );
  }

  counts(): DiffCounts {
    const staged = this.#counts.get(this.#connection, this.#runId) as { new: number; changed: number; unchanged: number };
    const snapshot = this.#vanishedCounts.get(this.#runId, this.#connection) as { vanished: number; live: number };
    return { ...staged, ...snapshot };
  }

  /** New and changed offers after `afterBarcode`, in barcode order; with `all`, every valid one (`--resync`). */
  changedAfter(afterBarcode: string, limit: number, all = false): StagedOfferRow[] {
    return (all ? this.#allPage : this.#changedPage).all(this.#connection, this.#runId, afterBarcode, limit) as StagedOfferRow[];
  }

  /** Acknowledged offers absent from the pull, still live on the marketplace, after `afterBarcode`. */
  vanishedAfter(afterBarcode: string, limit: number): SnapshotOfferRow[] {
    return this.#vanishedPage.all(this.#runId, this.#connection, afterBarcode, limit) as SnapshotOfferRow[];
  }
}
