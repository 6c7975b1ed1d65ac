import type { Db, SqlStatement } from './db.js';
import { dialectOf } from './dialect.js';
import type { DiffCounts, StageCounts } from '../model/run.js';
import type { OfferRow } from '../model/product.js';
import { liveOffer, liveOffers } from './snapshot.js';

/**
 * A staged product that differs from what the target acknowledged (or any,
 * for --resync), with the state it replaces: the hash of what the target
 * holds, and the staged content that was made from.
 */
export interface StagedOfferRow extends OfferRow {
  prev_hash: string | null;
}


/** A live offer missing from the pull, with what its last delivery failure was about, if it failed. */
export interface VanishedRow extends OfferRow {
  /** The content hash of the offer that failed to be delivered, whether it is parked, and whether it failed in this run. */
  failed_hash: string | null;
  parked: number;
  failed_now: number;
}

/**
 * Which offers a walk returns. Offers still in a batch of the outbox are
 * never returned: that batch settles them. `fresh` leaves out offers whose
 * current content already failed on its own (they go alone, later:
 * `quarantined`, once a run: not when they failed in this one), and dead
 * letters (parked) are in neither.
 */
export type Walk = 'fresh' | 'quarantined';

/**
 * The diff between this run's pull (staging rows whose barcode is in
 * `seen`) and what one target has acknowledged (its snapshot), as SQL
 * over indexed tables: nothing is loaded into memory but one batch at a time.
 * The counts come from the stager, which compared every product as it staged
 * it; a query runs only when there is something to find, or once the
 * snapshot was marked unconfirmed during the push (`markUnconfirmed`).
 */
export class Diff {
  readonly counts: DiffCounts;
  readonly #scope: { connection: string; target: string };
  readonly #runId: number;
  readonly #pages: Record<'changed' | 'all', Record<Walk, SqlStatement>>;
  readonly #vanishedPage;
  #unconfirmed = false;

  constructor(db: Db, scope: { connection: string; target: string }, staged: StageCounts, runId: number) {
    this.#scope = scope;
    this.#runId = runId;
    const live = liveOffers(db, scope.connection, scope.target);
    const sql = dialectOf(db);
    this.counts = { new: staged.new, changed: staged.changed, unchanged: staged.unchanged, vanished: live - staged.seenLive, live };
    const columns = `s.barcode, s.sku, s.name, s.price, s.currency, s.vat_rate, s.price_includes_vat, s.stock, s.active, s.hash,
      p.hash AS prev_hash`;
    // SQLite's CROSS JOIN pins the order: walk seen by barcode, so each batch is a
    // range read instead of a scan and sort of the whole pull.
    const from = `FROM ${sql.seen} k
      ${sql.orderedJoin} staging s ON s.connection = :connection AND s.barcode = k.barcode
      LEFT JOIN snapshot p ON p.connection = s.connection AND p.target = :target AND p.barcode = s.barcode
      LEFT JOIN delivery_failures f ON f.connection = s.connection AND f.target = :target AND f.barcode = s.barcode AND f.base = s.hash`;
    const notInOutbox = (alias: string) =>
      `NOT EXISTS (SELECT 1 FROM outbox_items o WHERE o.connection = ${alias}.connection AND o.target = :target AND o.barcode = ${alias}.barcode)`;
    const walks: Record<Walk, string> = { fresh: 'f.barcode IS NULL', quarantined: 'f.barcode IS NOT NULL AND f.parked_at IS NULL AND f.run_id IS DISTINCT FROM :run' };
    const page = (changedOnly: boolean, walk: Walk) =>
      db.prepare(
        `SELECT ${columns} ${from}
          WHERE k.barcode > :after AND s.valid = 1 ${changedOnly ? 'AND (p.base IS NULL OR p.base <> s.hash)' : ''}
            AND ${walks[walk]} AND ${notInOutbox('s')}
          ORDER BY k.barcode LIMIT :limit`,
      );
    this.#pages = {
      changed: { fresh: page(true, 'fresh'), quarantined: page(true, 'quarantined') },
      all: { fresh: page(false, 'fresh'), quarantined: page(false, 'quarantined') },
    };
    this.#vanishedPage = db.prepare(
      `SELECT p.barcode, p.sku, p.name, p.price, p.currency, p.vat_rate, p.price_includes_vat, p.stock, p.active, p.hash,
              f.hash AS failed_hash, f.parked_at IS NOT NULL AS parked, f.run_id IS NOT DISTINCT FROM :run AS failed_now
         FROM snapshot p
         LEFT JOIN delivery_failures f ON f.connection = p.connection AND f.target = p.target AND f.barcode = p.barcode
        WHERE p.connection = :connection AND p.target = :target AND p.barcode > :after AND ${liveOffer('p')}
          AND NOT EXISTS (SELECT 1 FROM ${sql.seen} k WHERE k.barcode = p.barcode) AND ${notInOutbox('p')}
        ORDER BY p.barcode LIMIT :limit`,
    );
  }

  /** The push marked offers of the snapshot unconfirmed: the stager's counts no longer tell whether anything differs. */
  markUnconfirmed(): void {
    this.#unconfirmed = true;
  }

  /**
   * New and changed offers after `afterBarcode`, in barcode order; with `all`,
   * every valid one (`--resync`).
   */
  changedAfter(afterBarcode: string, limit: number, options: { all?: boolean; walk?: Walk } = {}): StagedOfferRow[] {
    const walk = options.walk ?? 'fresh';
    if (!options.all && !this.#unconfirmed && this.counts.new + this.counts.changed === 0) return [];
    const statement = this.#pages[options.all ? 'all' : 'changed'][walk];
    const params = { ...this.#scope, after: afterBarcode, limit, ...(walk === 'quarantined' ? { run: this.#runId } : {}) };
    return statement.all(params) as StagedOfferRow[];
  }

  /** Acknowledged offers absent from the pull, still live on the marketplace, after `afterBarcode`. */
  vanishedAfter(afterBarcode: string, limit: number): VanishedRow[] {
    if (this.counts.vanished === 0) return [];
    return this.#vanishedPage.all({ ...this.#scope, after: afterBarcode, limit, run: this.#runId }) as VanishedRow[];
  }
}
