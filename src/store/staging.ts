import type { NormalizedProduct } from '../model/product.js';
import type { Db, SqlStatement } from './db.js';
import { dialectOf } from './dialect.js';
import { refuseNul } from './pg.js';
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

/** A staging row's columns after the connection, in the order of the upsert's VALUES. */
const STAGING_COLUMNS = ['barcode', 'sku', 'name', 'price', 'currency', 'vat_rate', 'price_includes_vat', 'stock', 'active', 'hash', 'valid', 'error_code'] as const;
type StagingRow = unknown[];

/**
 * PostgreSQL's writes of a page, made at once: rows arrive as one JSON
 * parameter, so a page is two statements whatever its size (each statement
 * is a round trip to the server; SQLite's are calls within the process).
 */
function pgPageWrites(db: Db): { staging: SqlStatement; raw: SqlStatement } {
  const types: Record<(typeof STAGING_COLUMNS)[number], string> = {
    barcode: 'text', sku: 'text', name: 'text', price: 'text', currency: 'text', vat_rate: 'text', price_includes_vat: 'integer',
    stock: 'bigint', active: 'integer', hash: 'text', valid: 'integer', error_code: 'text',
  };
  const columns = STAGING_COLUMNS.join(', ');
  return {
    staging: db.prepare(
      `INSERT INTO staging (connection, ${columns})
       SELECT :connection, ${columns} FROM json_to_recordset(:rows::json) AS r(${STAGING_COLUMNS.map((c) => `${c} ${types[c]}`).join(', ')})
       ON CONFLICT (tenant, connection, barcode) DO UPDATE SET ${STAGING_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
    ),
    raw: db.prepare(
      `INSERT INTO staging_raw (connection, barcode, raw)
       SELECT :connection, barcode, raw FROM json_to_recordset(:rows::json) AS r(barcode text, raw text)
       ON CONFLICT (tenant, connection, barcode) DO UPDATE SET raw = excluded.raw`,
    ),
  };
}

/**
 * Staging: the latest pull of each connection, product by product, and
 * `seen`, the barcodes this pull saw (the diff's notion of present), a
 * temporary table of the session. Lookups and marks are made a page at a
 * time through a JSON array of barcodes, never a statement per product. On
 * PostgreSQL the rows a page writes wait until the page's end (or the next
 * read) and go in two statements; SQLite writes each as it comes.
 */
export class StagingStore {
  readonly #db: Db;
  readonly #connection: string;
  readonly #targets: readonly string[];
  readonly #s;
  /** PostgreSQL only: the page's rows not written yet, by barcode (a later write of one replaces an earlier one, as an upsert would). */
  readonly #pending: { writes: { staging: SqlStatement; raw: SqlStatement }; rows: Map<string, StagingRow>; raw: Map<string, string> } | undefined;

  /** Starts a pull for the connection's targets (by name): `seen` is made empty. */
  constructor(db: Db, connection: string, targets: readonly string[]) {
    this.#db = db;
    this.#connection = connection;
    this.#targets = targets;
    const sql = dialectOf(db);
    db.exec(
      sql.pg
        ? `DROP TABLE IF EXISTS pg_temp.seen; CREATE TEMP TABLE seen (barcode text COLLATE "C" PRIMARY KEY)`
        : `DROP TABLE IF EXISTS temp.seen; CREATE TEMP TABLE seen (barcode TEXT PRIMARY KEY) WITHOUT ROWID`,
    );
    this.#pending = sql.pg ? { writes: pgPageWrites(db), rows: new Map(), raw: new Map() } : undefined;
    const lookup = perTarget(targets, 'j.value', ':connection');
    const first = perTarget(targets, 's.barcode', 's.connection');
    this.#s = {
      see: db.prepare(`INSERT INTO ${sql.seen} (barcode) SELECT value FROM ${sql.jsonValues('?', 'j')} WHERE true ON CONFLICT DO NOTHING`),
      lookup: db.prepare(
        `SELECT k.barcode IS NOT NULL AS seen, s.hash AS staged, s.valid AS valid${lookup.columns}
           FROM ${sql.jsonValues(':barcodes', 'j')}
           LEFT JOIN ${sql.seen} k ON k.barcode = j.value
           LEFT JOIN staging s ON s.connection = :connection AND s.barcode = j.value${lookup.joins}
          ORDER BY j.key`,
      ),
      lookupParams: lookup.params,
      upsert: db.prepare(
        `INSERT INTO staging (connection, barcode, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, hash, valid, error_code)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT ${sql.conflict('connection, barcode')} DO UPDATE SET sku = excluded.sku, name = excluded.name, price = excluded.price,
           currency = excluded.currency, vat_rate = excluded.vat_rate, price_includes_vat = excluded.price_includes_vat,
           stock = excluded.stock, active = excluded.active, hash = excluded.hash, valid = excluded.valid,
           error_code = excluded.error_code`,
      ),
      upsertRaw: db.prepare(
        `INSERT INTO staging_raw (connection, barcode, raw) VALUES (?, ?, ?) ON CONFLICT ${sql.conflict('connection, barcode')} DO UPDATE SET raw = excluded.raw`,
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
    try {
      this.#db.transaction(() => {
        work();
        this.#flush();
      })();
    } catch (error) {
      // Rolled back: what the page had not written yet goes with it.
      this.#pending?.rows.clear();
      this.#pending?.raw.clear();
      throw error;
    }
  }

  /** What is known of each barcode, in the order given; then they are all seen. */
  lookupAndSee(barcodes: readonly string[]): StagedLookup[] {
    if (barcodes.length === 0) return [];
    this.#flush();
    const json = JSON.stringify(barcodes);
    const rows = this.#s.lookup.all(...this.#s.lookupParams, { barcodes: json, connection: this.#connection }) as Record<string, unknown>[];
    this.#s.see.run(json);
    return rows.map((row) => split<StagedLookup>(row, this.#targets.length));
  }

  /** A valid product, with its content hash; `raw` is the ERP's record as written for `explain`. */
  stageValid(p: NormalizedProduct, hash: string, raw: string): void {
    this.#write(
      [p.barcode, p.sku, p.name, p.price, p.currency, p.vatRate, p.priceIncludesVat ? 1 : 0, p.stock, p.active ? 1 : 0, hash, 1, null],
      raw,
    );
  }

  /** A product that is not pushed, with why; `raw` as for a valid one, when there is one to keep. */
  stageInvalid(barcode: string, sku: string, name: string, code: string, raw?: string): void {
    this.#write([barcode, sku, name, null, null, null, null, null, null, null, 0, code], raw);
  }

  /** Writes a staging row (and the raw record, when given) now on SQLite, with the page on PostgreSQL. */
  #write(row: StagingRow, raw: string | undefined): void {
    const pending = this.#pending;
    if (!pending) {
      this.#s.upsert.run(this.#connection, ...row);
      if (raw !== undefined) this.#s.upsertRaw.run(this.#connection, row[0], raw);
      return;
    }
    // What the server would refuse is refused now, for this product alone (a refused statement would abort the page's transaction).
    for (const value of row) if (typeof value === 'string') refuseNul(value);
    if (raw !== undefined) refuseNul(raw);
    const barcode = row[0] as string;
    pending.rows.set(barcode, row);
    if (raw !== undefined) pending.raw.set(barcode, raw);
  }

  /** PostgreSQL: the rows waiting for the page's end, written in one statement per table; before anything reads staging. */
  #flush(): void {
    const pending = this.#pending;
    if (!pending || (pending.rows.size === 0 && pending.raw.size === 0)) return;
    if (pending.rows.size > 0) {
      const rows = [...pending.rows.values()].map((row) => Object.fromEntries(STAGING_COLUMNS.map((c, i) => [c, row[i]])));
      pending.writes.staging.run({ connection: this.#connection, rows: JSON.stringify(rows) });
    }
    if (pending.raw.size > 0) {
      const rows = [...pending.raw].map(([barcode, raw]) => ({ barcode, raw }));
      pending.writes.raw.run({ connection: this.#connection, rows: JSON.stringify(rows) });
    }
    pending.rows.clear();
    pending.raw.clear();
  }

  /** Takes a product out of staging: the previous pull's row must not stand in for one that could not be staged. */
  forget(barcode: string): void {
    this.#pending?.rows.delete(barcode);
    this.#pending?.raw.delete(barcode);
    this.#s.forget.run(this.#connection, barcode);
  }

  firstOccurrence(barcode: string): StagedFirst {
    this.#flush();
    const row = this.#s.first.get(...this.#s.firstParams, this.#connection, barcode) as Record<string, unknown>;
    const first = split<StagedFirst & { live: boolean[] }>(row, this.#targets.length);
    return first;
  }

  markDuplicate(barcode: string): void {
    this.#flush();
    this.#s.markDuplicate.run(this.#connection, barcode);
  }

  /** After a complete pull: products no longer in the ERP leave staging (the snapshot remembers them). */
  dropUnseen(): void {
    this.#flush();
    const { seen: table } = dialectOf(this.#db);
    const staged = this.#db.prepare(`SELECT count(*) FROM staging WHERE connection = ?`).pluck().get(this.#connection) as number;
    const seen = this.#db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    if (staged <= seen) return;
    // NOT EXISTS, not NOT IN: past work_mem PostgreSQL plans NOT IN as a scan of the seen table per row.
    for (const from of ['staging', 'staging_raw']) {
      this.#db.prepare(`DELETE FROM ${from} WHERE connection = ? AND NOT EXISTS (SELECT 1 FROM ${table} k WHERE k.barcode = ${from}.barcode)`).run(this.#connection);
    }
  }
}
