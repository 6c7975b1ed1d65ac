import type { FieldSpec, RateLimit } from '../driver/contract.js';
import type { HttpClient } from '../http/client.js';
import type { Offer } from '../model/product.js';

/**
 * The contract between the engine and a marketplace target whose writes are
 * acknowledged later: Trendyol, Hepsiburada, N11.
 *
 * An adapter is one object that `satisfies TargetAdapter`. It knows one
 * marketplace's API and nothing else: no SQLite, no terminal. The engine
 * decides what changed, writes each batch to the outbox before it is sent,
 * and moves the target's snapshot only when the marketplace's per-item
 * result arrives. The adapter maps an offer to what the marketplace takes,
 * submits a batch (an HTTP 200 there means "queued"), reads the per-item
 * results of a submission, and reads the marketplace's current values when a
 * result can no longer be had.
 *
 * The offer API of docs/offer-api.openapi.yaml answers each batch at once,
 * under an Idempotency-Key; it is the `offer-api` target, delivered by
 * `engine/push.ts`, not through this contract.
 */
export interface TargetAdapter {
  /** Stable identifier on the command line and in the config: `trendyol`. */
  readonly kind: AsyncTargetKind;
  /** Display name: `Trendyol`. */
  readonly name: string;
  /** Credentials and settings `connect <kind>` asks for; secrets flagged. `baseUrl` is implied. */
  readonly fields: readonly FieldSpec[];
  /** The production API address; a target may override it (the marketplace's test host, tests). */
  readonly defaultBaseUrl: string;
  /** The most items one submission takes. */
  readonly maxBatch: number;
  /** The documented write limit, used unless the target sets `rateLimit`. */
  readonly rateLimit: RateLimit;
  /** How long the marketplace keeps a submission's results; after that the engine reconciles. */
  readonly resultRetentionMs: number;
  /**
   * How long to wait, after a submission whose fate is unknown (a crash or a
   * cut connection before its id was recorded, or a request the marketplace
   * refused as a duplicate), before the marketplace's current values decide
   * whether it was applied. At least the marketplace's duplicate window.
   */
  readonly settleMs: number;
  /** The first wait before asking for results; later waits grow. */
  readonly pollIntervalMs: number;
  /**
   * What this marketplace gets for one offer, or why it cannot take it (a
   * currency it does not sell in, a missing SKU). Pure: no I/O. `settings`
   * are the target's own (`--set`).
   */
  project(offer: Offer, settings: Readonly<Record<string, string>>): Projection;
  /** A session for one run: the HTTP client is bound to the target's address, rate limit and retries. */
  open(ctx: TargetContext): TargetSession;
}

export type AsyncTargetKind = 'trendyol' | 'hepsiburada' | 'n11';
export type TargetKind = 'offer-api' | AsyncTargetKind;

export interface TargetContext {
  /** The target's name, for messages: `trendyol`. */
  readonly target: string;
  /** Non-secret settings, as strings (`sellerId`, `merchantId`). */
  readonly settings: Readonly<Record<string, string>>;
  /** Secret values from the target's secret store. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Bound to the target's base URL: keep-alive, rate limit, retries for transient failures. */
  readonly http: HttpClient;
}

/**
 * One offer as this marketplace takes it. `fields` are exactly what is sent
 * for it, in a fixed order: the hash of their JSON is what the target's
 * snapshot records, so a change the marketplace never sees (a name, for a
 * price-and-stock API) sends nothing.
 */
export interface TargetItem {
  /** Our barcode: results and reconciliation come back to it. */
  readonly barcode: string;
  /** The marketplace's key for the offer when it is not the barcode (Hepsiburada's merchantSku, N11's stockCode). */
  readonly key: string;
  readonly fields: Readonly<Record<string, string | number | boolean>>;
}

/** Why an item is not sent, or what was changed to send it: a code of ours and a sentence a merchant can act on. */
export interface ItemProblem {
  readonly code: string;
  readonly message: string;
}

export type Projection =
  | { readonly ok: true; readonly item: TargetItem; readonly warnings: readonly ItemProblem[] }
  | { readonly ok: false; readonly problem: ItemProblem };

/**
 * The marketplace's result for one item. `rejected` and `not_listed` keep
 * the marketplace's own words in `message`, after our explanation.
 */
export type ItemOutcome =
  | { readonly barcode: string; readonly status: 'applied' }
  | { readonly barcode: string; readonly status: 'rejected'; readonly code: string; readonly message: string; readonly marketplaceText: string }
  | { readonly barcode: string; readonly status: 'not_listed'; readonly message: string; readonly marketplaceText: string };

/**
 * What a poll found. `done` may leave items out (the engine then reads their
 * current values); `expired`: the marketplace no longer keeps the result.
 */
export type PollAnswer =
  | { readonly state: 'pending' }
  | { readonly state: 'done'; readonly outcomes: readonly ItemOutcome[] }
  | { readonly state: 'expired' };

/** The marketplace's current values of an item, against what was submitted. */
export type CurrentState = 'matches' | 'differs' | 'not_listed';

/**
 * The marketplace refused a submission as a whole and queued nothing:
 * `duplicate` (Trendyol refuses an identical body within 15 minutes: the
 * first one was received) or `batch` (the body was refused: split it to find
 * the item at fault).
 */
export class SubmitRefused extends Error {
  readonly reason: 'duplicate' | 'batch';
  /** The marketplace's own words. */
  readonly marketplaceText: string;
  constructor(reason: 'duplicate' | 'batch', message: string, marketplaceText: string) {
    super(message);
    this.name = 'SubmitRefused';
    this.reason = reason;
    this.marketplaceText = marketplaceText;
  }
}

export interface TargetSession {
  /** Checks the address and the credentials with one cheap read; throws the HttpError (401/403 for credentials). */
  test(): Promise<void>;
  /**
   * Submits one batch (at most `maxBatch` items) and returns the
   * marketplace's id for it, as a string the adapter can poll with. Throws an
   * HttpError for a failed request, or SubmitRefused.
   */
  submit(items: readonly TargetItem[]): Promise<string>;
  /** The results of a submission; `items` are the ones submitted, in order. */
  poll(ticket: string, items: readonly TargetItem[]): Promise<PollAnswer>;
  /** The marketplace's current values of these items, by barcode: every barcode given has an entry. */
  current(items: readonly TargetItem[]): Promise<Map<string, CurrentState>>;
}
