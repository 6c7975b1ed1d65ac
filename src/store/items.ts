import type { Db } from './db.js';
import { dialectOf } from './dialect.js';
import { redact } from '../secrets/redact.js';

export type Stage = 'pull' | 'validate' | 'push';
export type Outcome =
  | 'invalid'
  | 'warning'
  | 'created'
  | 'updated'
  | 'unchanged'
  | 'pending_approval'
  | 'rejected'
  | 'not_listed'
  | 'failed';

export interface ItemEvent {
  barcode?: string | undefined;
  sku?: string | undefined;
  name?: string | undefined;
  stage: Stage;
  outcome: Outcome;
  code?: string | undefined;
  message?: string | undefined;
  /** The relevant part of the ERP's or marketplace's answer; redacted before it is stored. */
  detail?: unknown;
}

/**
 * Writes item events and keeps `item_state`, the latest outcome of each item.
 * Callers run it inside their own transaction, so an event is stored with the
 * acknowledgement it describes. The log of a delivery names its target: an
 * offer has an outcome per marketplace. The pull's log (target '') holds what
 * is true of the product itself: invalid, warnings.
 */
type ItemState = { outcome: string; code: string | null; warning: string | null };

export class EventLog {
  readonly #insertEvent;
  readonly #readState;
  readonly #readStates;
  /** The states of a page's items, read at once by {@link prefetch}: null for an item with none. */
  #known: Map<string, ItemState | null> | undefined;
  readonly #writeState;
  readonly #writeWarning;
  readonly #connection: string;
  readonly #target: string;
  readonly #runId: number;
  readonly #withoutNul: boolean;

  constructor(db: Db, connection: string, runId: number, target = '') {
    this.#connection = connection;
    this.#target = target;
    this.#runId = runId;
    // PostgreSQL's text cannot hold NUL: the log shows one as U+FFFD rather than lose the event (and the page with it).
    this.#withoutNul = dialectOf(db).pg;
    const key = dialectOf(db).conflict('connection, target, item');
    this.#insertEvent = db.prepare(
      `INSERT INTO events (run_id, connection, target, at, barcode, sku, name, stage, outcome, code, message, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#readState = db.prepare(`SELECT outcome, code, warning FROM item_state WHERE connection = ? AND target = ? AND item = ?`);
    this.#readStates = db.prepare(
      `SELECT item, outcome, code, warning FROM item_state WHERE connection = ? AND target = ? AND item IN (SELECT value FROM ${dialectOf(db).jsonValues('?', 'j')})`,
    );
    this.#writeWarning = db.prepare(
      `INSERT INTO item_state (connection, target, item, barcode, sku, name, outcome, code, message, run_id, at, warning)
       VALUES (?, ?, ?, ?, ?, ?, 'warning', NULL, NULL, ?, ?, ?)
       ON CONFLICT ${key} DO UPDATE SET warning = excluded.warning`,
    );
    this.#writeState = db.prepare(
      `INSERT INTO item_state (connection, target, item, barcode, sku, name, outcome, code, message, run_id, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT ${key} DO UPDATE SET barcode = excluded.barcode, sku = excluded.sku, name = excluded.name,
         outcome = excluded.outcome, code = excluded.code, message = excluded.message, run_id = excluded.run_id, at = excluded.at`,
    );
  }

  /** Records an event and makes it the item's latest state. */
  record(logged: ItemEvent, at = new Date().toISOString()): void {
    const event = this.#withoutNul ? withoutNul(logged) : logged;
    const message = event.message === undefined ? null : redact(event.message);
    const detail = event.detail === undefined ? null : redact(JSON.stringify(event.detail)).slice(0, 4000);
    this.#insertEvent.run(
      this.#runId,
      this.#connection,
      this.#target,
      at,
      event.barcode ?? null,
      event.sku ?? null,
      event.name ?? null,
      event.stage,
      event.outcome,
      event.code ?? null,
      message,
      detail,
    );
    const item = itemKey(event);
    if (!item) return;
    if (event.outcome === 'warning') {
      // A warning is remembered beside the outcome, never in its place.
      this.#writeWarning.run(this.#connection, this.#target, item, event.barcode ?? null, event.sku ?? null, event.name ?? null, this.#runId, at, event.code ?? null);
    } else {
      this.#writeState.run(this.#connection, this.#target, item, event.barcode ?? null, event.sku ?? null, event.name ?? null, event.outcome, event.code ?? null, message, this.#runId, at);
    }
    // What prefetch read follows the write, as the table did.
    if (this.#known?.has(item)) {
      const known = this.#known.get(item) ?? null;
      this.#known.set(item, event.outcome === 'warning'
        ? { outcome: known?.outcome ?? 'warning', code: known ? known.code : null, warning: event.code ?? null }
        : { outcome: event.outcome, code: event.code ?? null, warning: known?.warning ?? null });
    }
  }

  /**
   * Records a problem only when it is news for the item: an invalid product
   * that stays invalid is logged once, not every fifteen minutes.
   */
  recordIfChanged(event: ItemEvent): void {
    const item = itemKey(event);
    if (item && !this.isNews(item, event.outcome, event.code)) return;
    this.record(event);
  }

  /**
   * Reads the latest states of these items (a page's) in one statement, so
   * whether each is news asks no statement of its own; until `forget`.
   */
  prefetch(items: readonly string[]): void {
    this.#known = new Map(items.map((item) => [item, null]));
    if (items.length === 0) return;
    for (const row of this.#readStates.all(this.#connection, this.#target, JSON.stringify(items)) as (ItemState & { item: string })[]) {
      this.#known.set(row.item, { outcome: row.outcome, code: row.code, warning: row.warning });
    }
  }

  /** Drops what {@link prefetch} read: states are read one by one again. */
  forget(): void {
    this.#known = undefined;
  }

  /** Whether an item's latest state differs from this outcome and code. */
  isNews(item: string, outcome: Outcome, code: string | undefined): boolean {
    const state = this.#known?.has(item)
      ? (this.#known.get(item) ?? undefined)
      : (this.#readState.get(this.#connection, this.#target, item) as ItemState | undefined);
    if (!state) return true;
    if (outcome === 'warning') return state.warning !== (code ?? null);
    return state.outcome !== outcome || state.code !== (code ?? null);
  }
}

/** Items are known by barcode; one without a barcode by its SKU or, failing that, its name. */
function itemKey(event: ItemEvent): string | undefined {
  if (event.barcode) return event.barcode;
  if (event.sku) return `sku:${event.sku}`;
  if (event.name) return `name:${event.name}`;
  return undefined;
}

function withoutNul(event: ItemEvent): ItemEvent {
  const text = (value: string | undefined) => value?.replaceAll('\u0000', '\uFFFD');
  return { ...event, barcode: text(event.barcode), sku: text(event.sku), name: text(event.name), message: text(event.message) };
}
