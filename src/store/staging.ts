import type { NormalizedProduct } from '../model/product.js';
import type { Db } from './db.js';
import { liveOffer } from './snapshot.js';

/**
 * What the store knows of one barcode of a page: staged before, seen earlier
 * in this pull, and for each target (in the order the store was given them)
 * the staged content its acknowledged offer was made from, and whether that
 * offer is live there.
 */
export interface StagedLookup {
  seen: number;
  staged: string | null;
  valid: number | null;
  acked: (string | null)[];
  live: boolean[];
}

/** The first occurrence of a barcode seen twice, beside what each target has of it. */
export interface StagedFirst {
  sku: string;
  name: string;
  valid: number;
  error_code: string | null;
  staged: string;
  acked: (string | null)[];
}

/** Columns and joins reading each target's snapshot row of `${barcode}`, in the targets' order. */
function perTarget(targets: readonly string[], barcode: string, connection: string): { columns: string; joins: string; params: string[] } {
  const columns = targets.map((_, i) => `, p${i}.base AS acked${i}, (p${i}.barcode IS NOT NULL AND ${liveOffer(`p${i}`)}) AS live${i}`).join('');
  const joins = targets.map((_, i) => ` LEFT JOIN snapshot p${i} ON p${i}.connection = ${connection} AND p${i}.target = ? AND p${i}.barcode = ${barcode}`).join('');
  return { columns, joins, params: [...targets] };
}

function split<T extends { acked: (string | null)[]; live?: boolean[] }>(row: Record<string, unknown>, targets: number): T {
  const acked: (string | null)[] = [];
  const live: boolean[] = [];
  for (let i = 0; i < targets; i++) {
    acked.push(row[`acked${i}`] as string | null);
    live.push(row[`live${i}`] === 1);
    delete row[`acked${i}`];
    delete row[`live${i}`];
  }
  return Object.assign(row, { acked, live }) as unknown as T;
}

/**
 * Staging: the latest pull of each connection, product by product, and
 * `temp.seen`, the barcodes this pull saw (the diff's notion of present).
 * Lookups and marks are made a page at a time through `json_each`, never a
 * statement per product.
 */
export class StagingStore {
  readonly #db: Db;
  readonly #connection: string;
  readonly #targets: readonly string[];
  readonly #s;

  /** Starts a pull for the connection's targets (by name): `temp.seen` is made empty. */
  constructor(db: Db, connection: string, targets: readonly string[]) {
    this.#db = db;
    this.#connection = connection;
    this.#targets = targets;
    db.exec(`DROP TABLE IF EXISTS temp.seen; CREATE TEMP TABLE seen (barcode TEXT PRIMARY KEY) WITHOUT ROWID`);
    const lookup = perTarget(targets, 'j.value', ':connection');
    const first = perTarget(targets, 's.barcode', 's.connection');
    this.#s = {
      see: db.prepare(`INSERT INTO temp.seen (barcode) SELECT value FROM json_each(?) WHERE true ON CONFLICT DO NOTHING`),
      lookup: db.prepare(
        `SELECT k.barcode IS NOT NULL AS seen, s.hash AS staged, s.valid AS valid${lookup.columns}
           FROM json_each(:barcodes) j
           LEFT JOIN temp.seen k ON k.barcode = j.value
           LEFT JOIN staging s ON s.connection = :connection AND s.barcode = j.value${lookup.joins}
          ORDER BY j.key`,
      ),
      lookupParams: lookup.params,
      upsert: db.prepare(
        `INSERT INTO staging (connection, barcode, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, hash, valid, error_code)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (connection, barcode) DO UPDATE SET sku = excluded.sku, name = excluded.name, price = excluded.price,
           currency = excluded.currency, vat_rate = excluded.vat_rate, price_includes_vat = excluded.price_includes_vat,
           stock = excluded.stock, active = excluded.active, hash = excluded.hash, valid = excluded.valid,
           error_code = excluded.error_code`,
      ),
      upsertRaw: db.prepare(
        `INSERT INTO staging_raw (connection, barcode, raw) VALUES (?, ?, ?) ON CONFLICT (connection, barcode) DO UPDATE SET raw = excluded.raw`,
      ),
      first: db.prepare(
        `SELECT s.sku, s.name, s.valid, s.error_code, s.hash AS staged${first.columns}
           FROM staging s${first.joins}
          WHERE s.connection = ? AND s.barcode = ?`,
      ),
      firstParams: first.params,
      markDuplicate: db.prepare(`UPDATE staging SET valid = 0, error_code = 'BARCODE_DUPLICATE' WHERE connection = ? AND barcode = ?`),
      forget: db.prepare(`DELETE FROM staging WHERE connection = ? AND barcode = ?`),
    };
  }

  /** One transaction around `work`: a page is staged whole or not at all. */
  transaction(work: () => void): void {
    this.#db.transaction(work)();
  }

  /** What is known of each barcode, in the order given; then they are all seen. */
  lookupAndSee(barcodes: readonly string[]): StagedLookup[] {
    if (barcodes.length === 0) return [];
    const json = JSON.stringify(barcodes);
    const rows = this.#s.lookup.all(...this.#s.lookupParams, { barcodes: json, connection: this.#connection }) as Record<string, unknown>[];
    this.#s.see.run(json);
    return rows.map((row) => split<StagedLookup>(row, this.#targets.length));
  }

  /** A valid product, with its content hash; `raw` is the ERP's record as written for `explain`. */
  stageValid(p: NormalizedProduct, hash: string, raw: string): void {
    this.#s.upsert.run(
      this.#connection, p.barcode, p.sku, p.name, p.price, p.currency, p.vatRate, p.priceIncludesVat ? 1 : 0, p.stock,
      p.active ? 1 : 0, hash, 1, null,
    );
    this.#s.upsertRaw.run(this.#connection, p.barcode, raw);
  }

  /** A product that is not pushed, with why; `raw` as for a valid one, when there is one to keep. */
  stageInvalid(barcode: string, sku: string, name: string, code: string, raw?: string): void {
    this.#s.upsert.run(this.#connection, barcode, sku, name, null, null, null, null, null, null, null, 0, code);
    if (raw !== undefined) this.#s.upsertRaw.run(this.#connection, barcode, raw);
  }

  /** Takes a product out of staging: the previous pull's row must not stand in for one that could not be staged. */
  forget(barcode: string): void {
    this.#s.forget.run(this.#connection, barcode);
  }

  firstOccurrence(barcode: string): StagedFirst {
    const row = this.#s.first.get(...this.#s.firstParams, this.#connection, barcode) as Record<string, unknown>;
    const first = split<StagedFirst & { live: boolean[] }>(row, this.#targets.length);
    return first;
  }

  markDuplicate(barcode: string): void {
    this.#s.markDuplicate.run(this.#connection, barcode);
  }

  /** After a complete pull: products no longer in the ERP leave staging (the snapshot remembers them). */
  dropUnseen(): void {
    const staged = this.#db.prepare(`SELECT count(*) FROM staging WHERE connection = ?`).pluck().get(this.#connection) as number;
    const seen = this.#db.prepare(`SELECT count(*) FROM temp.seen`).pluck().get() as number;
    if (staged <= seen) return;
    for (const table of ['staging', 'staging_raw']) {
      this.#db.prepare(`DELETE FROM ${table} WHERE connection = ? AND barcode NOT IN (SELECT barcode FROM temp.seen)`).run(this.#connection);
    }
  }
}
