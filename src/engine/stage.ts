import { inspect } from 'node:util';
import type { Db } from '../store/db.js';
import type { StageCounts } from '../model/run.js';
import { defineMessages } from '../i18n/index.js';
import { StagingStore } from '../store/staging.js';
import type { StagedLookup } from '../store/staging.js';
import type { EventLog } from '../store/items.js';
import { contentHash } from '../model/product.js';
import type { Validated } from '../model/validated.js';

/** A validated product with the ERP record it came from (kept for `explain`). */
export type StagedItem = Validated & { record: unknown };

/** Raw records longer than this are cut: enough for support, bounded for the database. */
const MAX_RAW = 4000;

const m = defineMessages({
  en: {
    unreadable: 'the ERP record could not be read: {reason}',
    tooDeep: 'it is nested too deeply',
    circular: 'it refers to itself',
  },
  tr: {
    unreadable: 'ERP kaydı okunamadı: {reason}',
    tooDeep: 'kayıt çok derin iç içe geçmiş',
    circular: 'kayıt kendine başvuruyor',
  },
});

export function rawRecordJson(record: unknown): string {
  const json = JSON.stringify(record) ?? 'null';
  return json.length > MAX_RAW ? json.slice(0, MAX_RAW) : json;
}

/** The record as far as it can be shown, whatever it is: for the report of a record that could not be read. */
function shownRecord(record: unknown): string {
  try {
    return rawRecordJson(record);
  } catch {
    return inspect(record, { depth: 4, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 200 }).slice(0, MAX_RAW);
  }
}

function asFields(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function unreadableReason(error: unknown): string {
  if (error instanceof RangeError && /call stack/i.test(error.message)) return m('tooDeep');
  if (error instanceof TypeError && /circular/i.test(error.message)) return m('circular');
  return error instanceof Error ? error.message : String(error);
}

/** Where ERPs keep a record's barcode, stock code and name, for reporting a record that could not be read. */
const REPORT_KEYS = {
  barcode: ['barcode', 'barkod', 'Barkod', 'BARKOD1', 'gtin', 'ean'],
  sku: ['sku', 'stockCode', 'productCode', 'code', 'stok_kodu', 'STOK_KODU', 'CODE'],
  name: ['name', 'title', 'productName', 'urun_adi', 'STOK_ADI', 'NAME'],
} as const;


/**
 * Writes a pull into staging, one transaction per page, so memory holds one
 * page at a time whatever the size of the catalog.
 *
 * Staging keeps the latest pull of each connection; only new, changed and
 * invalid products are written to it (and their raw record to staging_raw), so an unchanged
 * rerun writes almost nothing to disk. The barcodes this pull saw go into a
 * temporary table, `temp.seen`: it detects a barcode seen twice (both
 * occurrences are then invalid: neither is pushed, both are reported), and it
 * is how the diff knows what vanished. Each product is compared with the
 * snapshot of every target as it is staged, so the diff's counts cost nothing more.
 */
export class Stager {
  pulled = 0;
  invalid = 0;
  /** Per target, in the order given: how the pull compares with what that marketplace acknowledged. */
  readonly counts: StageCounts[];
  readonly #store: StagingStore;
  readonly #events: EventLog;
  readonly #newDuplicates = new Set<string>();
  #lastRecord: { record: unknown; json: string } | undefined;

  constructor(db: Db, connection: string, events: EventLog, targets: readonly string[]) {
    this.#store = new StagingStore(db, connection, targets);
    this.#events = events;
    this.counts = targets.map(() => ({ new: 0, changed: 0, unchanged: 0, seenLive: 0 }));
  }

  /**
   * Stages one page of validated products in one transaction. The page's
   * barcodes are looked up (staging, each target's snapshot, seen) and marked as seen in
   * two statements, not two per product.
   */
  addPage(items: readonly StagedItem[]): void {
    const position = new Map<string, number>();
    for (const item of items) {
      const barcode = item.ok ? item.product.barcode : item.barcode;
      if (barcode && !position.has(barcode)) position.set(barcode, position.size);
    }
    // Whether an invalid product or a warning is news is read for the page at once, not product by product.
    const reported = items.filter((item) => !item.ok || item.warnings.length > 0).map((item) => (item.ok ? item.product.barcode : item.barcode));
    try {
      this.#stagePage(items, position, reported.filter((barcode): barcode is string => !!barcode));
    } finally {
      this.#events.forget();
    }
  }

  #stagePage(items: readonly StagedItem[], position: Map<string, number>, reported: string[]): void {
    this.#store.transaction(() => {
      this.#events.prefetch(reported);
      const found = this.#store.lookupAndSee([...position.keys()]);
      const staged = new Set<string>();
      for (const item of items) {
        this.pulled++;
        const barcode = item.ok ? item.product.barcode : item.barcode;
        if (!barcode) {
          if (!item.ok) this.#report(item);
          continue;
        }
        const row = found[position.get(barcode)!]!;
        if (row.seen || staged.has(barcode)) {
          if (!item.ok) this.#report(item);
          this.#duplicate(barcode, item.ok ? item.product.sku : item.sku, item.ok ? item.product.name : item.name, !item.ok);
          continue;
        }
        staged.add(barcode);
        row.live.forEach((live, i) => {
          if (live) this.counts[i]!.seenLive++;
        });
        // Whatever one record does to staging (JSON nested too deep to write, a value SQLite refuses) is that record's problem.
        try {
          if (item.ok) this.#stageValid(item, row);
          else this.#invalid(item);
        } catch (error) {
          this.#unstageable(item, barcode, error);
        }
      }
    });
  }

  /** After a complete pull: products no longer in the ERP leave staging (the snapshot remembers them). */
  dropUnseen(): void {
    this.#store.dropUnseen();
  }

  /**
   * A record the driver could not map at all: reported, and the pull goes on.
   * The barcodes it shows (its own, its variants') count as seen, invalid:
   * an offer the marketplace has must not be withdrawn as vanished because
   * this once its record could not be read.
   */
  addUnreadable(record: unknown, error: unknown): void {
    this.pulled++;
    this.invalid++;
    const fields = asFields(record);
    const pick = (keys: readonly string[], from = fields) => keys.map((k) => from[k]).find((v) => typeof v === 'string' || typeof v === 'number')?.toString();
    const names = { barcode: pick(REPORT_KEYS.barcode), sku: pick(REPORT_KEYS.sku), name: pick(REPORT_KEYS.name) };
    this.#recordUnreadable(names, record, error);
    const variants = Object.values(fields).filter(Array.isArray).flatMap((list: unknown[]) => list.slice(0, 1000).map(asFields));
    const barcodes = [...new Set([names.barcode, ...variants.map((variant) => pick(REPORT_KEYS.barcode, variant))])].filter((b): b is string => !!b);
    if (barcodes.length === 0) return;
    this.#store.transaction(() => {
      for (const row of this.#store.lookupAndSee(barcodes)) {
        if (row.seen) continue;
        row.live.forEach((live, i) => {
          if (live) this.counts[i]!.seenLive++;
        });
      }
      for (const barcode of barcodes) this.#markInvalid(barcode, names.sku, names.name);
    });
  }

  /** A product that mapped but could not be staged: reported like an unreadable record, and its staging row invalid. */
  #unstageable(item: StagedItem, barcode: string, error: unknown): void {
    this.invalid++;
    const sku = item.ok ? item.product.sku : item.sku;
    const name = item.ok ? item.product.name : item.name;
    this.#recordUnreadable({ barcode, sku, name }, item.record, error);
    this.#markInvalid(barcode, sku, name);
  }

  /** The previous pull's row must not be pushed in its place; kept as invalid, it lists the product in `logs --failed`. */
  #markInvalid(barcode: string, sku: string | undefined, name: string | undefined): void {
    try {
      this.#store.stageInvalid(barcode, String(sku ?? ''), String(name ?? '').slice(0, 1000), 'RECORD_UNREADABLE');
    } catch {
      this.#store.forget(barcode);
    }
  }

  #recordUnreadable(names: { barcode: string | undefined; sku: string | undefined; name: string | undefined }, record: unknown, error: unknown): void {
    this.#events.recordIfChanged({
      ...names,
      stage: 'pull',
      outcome: 'invalid',
      code: 'RECORD_UNREADABLE',
      message: m('unreadable', { reason: unreadableReason(error) }),
      detail: { record: shownRecord(record) },
    });
  }

  #report(item: Extract<StagedItem, { ok: false }>): void {
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
  }

  /** The record's JSON, made once for all the variants of one record (they arrive one after another). */
  #raw(record: unknown): string {
    let last = this.#lastRecord;
    if (!last || last.record !== record) this.#lastRecord = last = { record, json: rawRecordJson(record) };
    return last.json;
  }

  /** Everything that can throw comes before anything is counted or written, so a record that cannot be staged leaves no trace but its report. */
  #invalid(item: Extract<StagedItem, { ok: false }>): void {
    const raw = item.barcode ? this.#raw(item.record) : undefined;
    this.#report(item);
    if (!item.barcode) return;
    this.#store.stageInvalid(item.barcode, item.sku, item.name, item.issue.code, raw);
  }

  #stageValid(item: Extract<StagedItem, { ok: true }>, found: StagedLookup): void {
    const p = item.product;
    const hash = contentHash(p);
    const write = found.staged !== hash || found.valid !== 1;
    const raw = write ? this.#raw(item.record) : undefined;
    this.#count(found.acked, hash, 1);
    if (write) this.#store.stageValid(p, hash, raw!);
    for (const warning of item.warnings) {
      this.#events.recordIfChanged({ barcode: p.barcode, sku: p.sku, name: p.name, stage: 'validate', outcome: 'warning', code: warning.code, message: warning.message });
    }
  }

  /** Counts a product (or takes it back out) for each target, against what that target acknowledged. */
  #count(acked: readonly (string | null)[], hash: string, by: 1 | -1): void {
    acked.forEach((base, i) => {
      const counts = this.counts[i]!;
      if (base === null) counts.new += by;
      else if (base === hash) counts.unchanged += by;
      else counts.changed += by;
    });
  }

  /**
   * A barcode seen again in this pull. Its first occurrence is taken out of
   * the push (and out of the counts it was added to); every occurrence is
   * reported, unless an earlier run already reported this duplicate.
   */
  #duplicate(barcode: string, sku: string, name: string, alreadyCounted: boolean): void {
    const first = this.#store.firstOccurrence(barcode);
    const message = `the barcode ${barcode} appears more than once in the ERP (stock codes ${first.sku || '?'} and ${sku || '?'}); neither is pushed until it is unique`;
    if (first.error_code !== 'BARCODE_DUPLICATE') {
      if (first.valid) {
        this.invalid++;
        this.#count(first.acked, first.staged, -1);
      }
      this.#store.markDuplicate(barcode);
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
