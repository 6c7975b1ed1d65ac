import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../store/db.js';
import { nowIso } from '../store/db.js';
import { DeliveryStore } from '../store/delivery.js';
import type { StoredBatch } from '../store/delivery.js';
import type { EventLog } from '../store/items.js';
import type { Diff } from '../store/diff.js';
import { HttpError } from '../http/errors.js';
import { defineMessages } from '../i18n/index.js';
import { emptyCounters } from '../model/run.js';
import type { PushCounters } from '../model/run.js';
import type { Offer } from '../model/product.js';
import { SubmitRefused } from '../marketplace/target.js';
import type { CurrentState, ItemOutcome, TargetAdapter, TargetItem, TargetSession } from '../marketplace/target.js';
import { dueOffers, unconfirm } from './shape.js';
import type { Due, OfferMeta, Shaped, Shaper } from './shape.js';
import { failureCode, refused } from './push.js';
import type { PushStop } from './push.js';

export interface DispatchOptions {
  db: Db;
  connection: string;
  target: string;
  runId: number;
  adapter: TargetAdapter;
  session: TargetSession;
  /** The target's item log. */
  events: EventLog;
  diff: Diff;
  shaper: Shaper;
  /** Items per submission: the target's batchSize, never above what the marketplace takes. */
  batchSize: number;
  /** Submissions in a row failing for no one offer's fault before this target stops for the run. */
  maxConsecutiveFailures: number;
  /** How long the run waits for results after its last submission. */
  resultWaitMs: number;
  /** False when the target's minimum interval has not passed: earlier submissions are settled, nothing new is sent. */
  submit: boolean;
  signal?: AbortSignal | undefined;
  lockHeld?(): boolean;
  onBatch?(counters: PushCounters): void;
}

const m = defineMessages({
  en: {
    notTaken: '{target} did not take the request ({error}); nothing was queued, and the offer is sent again next run.',
    unknown: '{target} may or may not have queued this offer ({error}); its values on {target} are checked after {minutes} minutes, and the offer is sent again if they differ.',
    duplicate: '{target} refused the request as one it had already received ({text}); its values on {target} are checked after {minutes} minutes, and the offer is sent again if they differ.',
    refused: '{target} refused this offer: {text}',
    differs: '{target} no longer reports a result for this offer and holds other values; the current offer is sent again.',
    vanished: 'no longer in the ERP: pushed as stock 0',
  },
  tr: {
    notTaken: '{target} isteği almadı ({error}); hiçbir şey kuyruğa alınmadı, teklif sonraki çalışmada yeniden gönderilir.',
    unknown: '{target} bu teklifi kuyruğa almış da olabilir, almamış da ({error}); {minutes} dakika sonra {target} üzerindeki değerlerine bakılır, farklıysa teklif yeniden gönderilir.',
    duplicate: '{target} isteği daha önce aldığı bir istek olarak reddetti ({text}); {minutes} dakika sonra {target} üzerindeki değerlerine bakılır, farklıysa teklif yeniden gönderilir.',
    refused: '{target} bu teklifi reddetti: {text}',
    differs: '{target} bu teklif için artık sonuç vermiyor ve başka değerler tutuyor; güncel teklif yeniden gönderilir.',
    vanished: 'artık ERP\'de yok: stok 0 olarak gönderildi',
  },
});

/** The longest wait between two polls of the same results. */
const MAX_POLL_DELAY_MS = 30_000;

/** A submission of the outbox as the dispatcher reads it back. */
interface Submission {
  id: number;
  batch: StoredBatch;
  offers: Offer[];
  items: TargetItem[];
  meta: OfferMeta[];
}

/**
 * Delivers offers to a marketplace that acknowledges them later (Trendyol,
 * Hepsiburada, N11): an HTTP 200 there only means "queued". Each batch is
 * written to the outbox, then marked as leaving, then submitted; the
 * marketplace's id for it is recorded; the snapshot moves only when the
 * per-item results arrive. While a batch is out, its offers are left out of
 * the diff, so a newer state of an offer is never sent while an older one
 * may still be applied after it.
 *
 * What a crash, a kill -9 or a cut connection leaves is settled by the next
 * run: a batch that never left is dropped (its offers are still due); one
 * with an id is polled again; one whose fate is unknown (it was leaving, and
 * no id was recorded) waits for the marketplace's duplicate window to pass,
 * then the marketplace's current values decide: the same as sent means
 * applied, anything else means the offer is sent again. Results the
 * marketplace no longer keeps are settled the same way. Nothing is sent
 * twice on purpose, and nothing is lost.
 */
export class Dispatcher {
  readonly counters: PushCounters = emptyCounters();
  readonly #o: DispatchOptions;
  readonly #store: DeliveryStore;
  /** Batches with an id and no result yet. */
  readonly #outstanding = new Set<number>();
  #failuresInARow = 0;
  #unconfirmed = 0;

  constructor(options: DispatchOptions) {
    this.#o = options;
    this.#store = new DeliveryStore(options.db, { connection: options.connection, target: options.target });
  }

  /**
   * Settles what earlier runs left out, submits new and changed offers (every
   * valid one with `all`) and, after a complete pull only, vanished ones as
   * stock 0; then waits for results until `resultWaitMs` has passed.
   */
  async push(all: boolean, includeVanished: boolean): Promise<PushStop | undefined> {
    const stop = (await this.#settleEarlier()) ?? (this.#o.submit ? await this.#submitDue(all, includeVanished) : undefined);
    const waited = await this.#awaitResults();
    return stop ?? waited;
  }

  async #settleEarlier(): Promise<PushStop | undefined> {
    for (const { id } of this.#store.waitingBatches()) {
      const submission = this.#load(id);
      if (!submission) continue;
      const { batch } = submission;
      // Written, never sent: its offers are still due, and this run's diff sends them.
      if (batch.submittedAt === null) this.#store.deleteBatch(id);
      else if (batch.ticket !== null) this.#outstanding.add(id);
      else if (Date.now() - Date.parse(batch.submittedAt) >= this.#o.adapter.settleMs) {
        const stop = await this.#reconcile(submission, submission.items);
        if (stop) return stop;
      }
    }
    return this.#pollOnce();
  }

  async #submitDue(all: boolean, includeVanished: boolean): Promise<PushStop | undefined> {
    const { diff, shaper, batchSize } = this.#o;
    let after = '';
    for (;;) {
      const rows = diff.changedAfter(after, batchSize, { all, walk: 'fresh' });
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.barcode;
      const stop = await this.#submitShaped(rows.map((row) => shaper.changed(row, all)));
      if (stop) return stop;
    }
    after = '';
    while (includeVanished) {
      const rows = diff.vanishedAfter(after, batchSize);
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.barcode;
      const stop = await this.#submitShaped(rows.map((row) => shaper.vanished(row)));
      if (stop) return stop;
    }
    return undefined;
  }

  async #submitShaped(shaped: readonly Shaped[]): Promise<PushStop | undefined> {
    const due = dueOffers(shaped, { store: this.#store, events: this.#o.events, runId: this.#o.runId, counters: this.counters });
    this.#warn(due);
    return due.length > 0 ? this.#submit(due) : undefined;
  }

  /** What the marketplace's shape changed about an offer (a stock above its ceiling, a price made VAT-included), logged once. */
  #warn(due: readonly Due[]): void {
    for (const d of due) {
      for (const w of d.warnings) {
        this.#o.events.recordIfChanged({ barcode: d.offer.barcode, sku: d.offer.sku, name: d.offer.name, stage: 'push', outcome: 'warning', code: w.code, message: w.message });
      }
    }
  }

  /** Writes a batch to the outbox, marks it as leaving, submits it, and records the marketplace's id. */
  async #submit(due: readonly Due[]): Promise<PushStop | undefined> {
    const { signal, lockHeld, runId } = this.#o;
    if (signal?.aborted || (lockHeld && !lockHeld())) return { reason: 'interrupted' };
    const items = due.map((d) => d.item!);
    const offers = due.map((d) => d.offer);
    const key = `erp-sync-${randomBytes(18).toString('base64url')}`;
    const id = this.#store.writeBatch(key, runId, nowIso(), due.map((d) => ({ offer: d.offer, ...d.meta })), JSON.stringify({ offers, items }));
    this.#store.submitting(id, nowIso());
    let ticket: string;
    try {
      ticket = await this.#o.session.submit(items);
    } catch (error) {
      return this.#failedSubmission({ id, batch: this.#store.batch(id)!, offers, items, meta: due.map((d) => d.meta) }, error);
    }
    this.#store.submitted(id, ticket);
    this.#outstanding.add(id);
    this.#failuresInARow = 0;
    this.counters.submitted += items.length;
    this.#o.onBatch?.(this.counters);
    return undefined;
  }

  async #failedSubmission(s: Submission, error: unknown): Promise<PushStop | undefined> {
    const target = this.#o.adapter.name;
    const minutes = Math.ceil(this.#o.adapter.settleMs / 60_000);
    if (error instanceof SubmitRefused) {
      if (error.reason === 'duplicate') {
        this.#failed(s, 'DUPLICATE_REQUEST', m('duplicate', { target, text: error.marketplaceText, minutes }));
        return undefined;
      }
      return this.#split(s, error.marketplaceText);
    }
    if (!(error instanceof HttpError)) throw error;
    if (error.status === 401 || error.status === 403) {
      this.#store.deleteBatch(s.id);
      return { reason: 'credentials', error };
    }
    if (refused(error)) return this.#split(s, error.body || error.message);
    if (!queuedMaybe(error)) {
      this.#store.deleteBatch(s.id);
      this.#failed(s, failureCode(error), m('notTaken', { target, error: error.message }));
    } else {
      this.#failed(s, failureCode(error), m('unknown', { target, error: error.message, minutes }));
    }
    return ++this.#failuresInARow >= this.#o.maxConsecutiveFailures ? { reason: 'unavailable', error } : undefined;
  }

  /** The marketplace refused the batch as such: halves are submitted until the offer at fault stands alone, and is recorded as rejected. */
  async #split(s: Submission, text: string): Promise<PushStop | undefined> {
    this.#store.deleteBatch(s.id);
    if (s.offers.length === 1) {
      const outcome: ItemOutcome = { barcode: s.offers[0]!.barcode, status: 'rejected', code: 'MARKETPLACE_REJECTED', message: m('refused', { target: this.#o.adapter.name, text }), marketplaceText: text };
      this.#apply(s, [outcome], new Map());
      return undefined;
    }
    const middle = Math.ceil(s.offers.length / 2);
    for (const [from, to] of [[0, middle], [middle, s.offers.length]] as const) {
      const due = s.offers.slice(from, to).map((offer, i) => ({ offer, meta: s.meta[from + i]!, item: s.items[from + i]!, warnings: [] }));
      const stop = await this.#submit(due);
      if (stop) return stop;
    }
    return undefined;
  }

  /** Offers of a submission that did not reach the marketplace, or may not have: logged, counted, left where they are. */
  #failed(s: Submission, code: string, message: string): void {
    this.#store.transaction(() => {
      for (const offer of s.offers) {
        this.#o.events.record({ barcode: offer.barcode, sku: offer.sku, name: offer.name, stage: 'push', outcome: 'failed', code, message });
      }
    });
    this.counters.failed += s.offers.length;
    this.#o.onBatch?.(this.counters);
  }

  /** Asks once for the results of every batch out; settles those that have them. */
  async #pollOnce(): Promise<PushStop | undefined> {
    for (const id of [...this.#outstanding]) {
      const submission = this.#load(id);
      if (!submission) {
        this.#outstanding.delete(id);
        continue;
      }
      let answer;
      try {
        answer = await this.#o.session.poll(submission.batch.ticket!, submission.items);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        if (error.status === 401 || error.status === 403) return { reason: 'credentials', error };
        // Asked again on the next poll, or by the next run.
        continue;
      }
      const retained = Date.now() - Date.parse(submission.batch.submittedAt!) < this.#o.adapter.resultRetentionMs;
      if (answer.state === 'pending' && retained) continue;
      this.#outstanding.delete(id);
      const outcomes = answer.state === 'done' ? answer.outcomes : [];
      const answered = new Set(outcomes.map((o) => o.barcode));
      const missing = submission.items.filter((item) => !answered.has(item.barcode));
      if (missing.length === 0) {
        this.#apply(submission, outcomes, new Map());
        continue;
      }
      const stop = await this.#reconcile(submission, missing, outcomes);
      if (stop) return stop;
    }
    return undefined;
  }

  /** Polls the batches out, with growing waits, until all are answered or the run's wait for results is over. */
  async #awaitResults(): Promise<PushStop | undefined> {
    const until = Date.now() + this.#o.resultWaitMs;
    let delay = this.#o.adapter.pollIntervalMs;
    while (this.#outstanding.size > 0 && Date.now() < until) {
      try {
        await sleep(Math.min(delay, until - Date.now()), undefined, { signal: this.#o.signal });
      } catch {
        return { reason: 'interrupted' };
      }
      const stop = await this.#pollOnce();
      if (stop) return stop;
      delay = Math.min(delay * 1.5, MAX_POLL_DELAY_MS);
    }
    return undefined;
  }

  /**
   * A submission whose results cannot be had (never recorded, or no longer
   * kept): the marketplace's current values of `items` decide. The same as
   * sent: applied. Not listed: recorded so. Anything else: the snapshot
   * stops claiming either state, and the diff sends the current offer.
   */
  async #reconcile(s: Submission, items: readonly TargetItem[], outcomes: readonly ItemOutcome[] = []): Promise<PushStop | undefined> {
    let current: Map<string, CurrentState>;
    try {
      current = await this.#o.session.current(items);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      // Tried again by the next run; the batch stays as it is.
      return error.status === 401 || error.status === 403 ? { reason: 'credentials', error } : undefined;
    }
    this.#apply(s, outcomes, current);
    return undefined;
  }

  /** Records the results of a submission in one transaction: the snapshot, the item log, and the batch is gone. */
  #apply(s: Submission, outcomes: readonly ItemOutcome[], current: ReadonlyMap<string, CurrentState>): void {
    const byBarcode = new Map(outcomes.map((o) => [o.barcode, o]));
    const { events, runId, adapter } = this.#o;
    const c = this.counters;
    const at = nowIso();
    this.#store.transaction(() => {
      s.offers.forEach((offer, i) => {
        const meta = s.meta[i]!;
        const state = current.get(offer.barcode);
        const outcome: ItemOutcome | undefined = byBarcode.get(offer.barcode)
          ?? (state === 'matches' ? { barcode: offer.barcode, status: 'applied' }
            : state === 'not_listed' ? { barcode: offer.barcode, status: 'not_listed', message: '', marketplaceText: '' }
            : undefined);
        const names = { barcode: offer.barcode, sku: offer.sku, name: offer.name, stage: 'push' as const };
        if (!outcome) {
          if (state === 'differs') {
            unconfirm({ store: this.#store, diff: this.#o.diff }, offer, meta.previous, `${runId.toString(36)}.a${(++this.#unconfirmed).toString(36)}`, runId);
            events.record({ ...names, outcome: 'failed', code: 'RESULT_LOST', message: m('differs', { target: adapter.name }) });
            c.failed++;
          }
          return;
        }
        c.pushed++;
        const detail = { kind: meta.kind, price: offer.price, stock: offer.stock, reconciled: state !== undefined || undefined };
        if (outcome.status === 'applied') {
          c.updated++;
          this.#store.acknowledge(offer, meta, { status: 'updated', offerId: undefined, error: undefined }, at, runId);
          events.record({ ...names, outcome: 'updated', code: meta.kind === 'vanished' ? 'VANISHED' : undefined, message: meta.kind === 'vanished' ? m('vanished') : undefined, detail });
        } else if (outcome.status === 'rejected') {
          c.rejected++;
          this.#store.acknowledge(offer, meta, { status: 'rejected', offerId: undefined, error: { code: outcome.code, message: outcome.message } }, at, runId);
          events.record({ ...names, outcome: 'rejected', code: outcome.code, message: outcome.message, detail: { ...detail, answer: outcome.marketplaceText } });
        } else {
          c.notListed++;
          const message = outcome.message || notListedMessage(adapter);
          this.#store.acknowledge(offer, meta, { status: 'not_listed', offerId: undefined, error: { code: 'NOT_LISTED', message } }, at, runId);
          events.recordIfChanged({ ...names, outcome: 'not_listed', code: 'NOT_LISTED', message, detail: { ...detail, answer: outcome.marketplaceText || undefined } });
        }
      });
      this.#store.deleteBatch(s.id);
    });
    this.#o.onBatch?.(c);
  }

  #load(id: number): Submission | undefined {
    const batch = this.#store.batch(id);
    if (!batch) return undefined;
    const { offers, items } = JSON.parse(batch.body) as { offers: Offer[]; items: TargetItem[] };
    return { id, batch, offers, items, meta: batch.offers.map((o) => ({ kind: o.kind, hash: o.hash, base: o.base, previous: o.previous })) };
  }
}

const notListedText = defineMessages({
  en: { notListed: 'not listed on {target}: the product must be created there (and approved) before erp-sync can update its price and stock; it is sent again when it changes, or with `erp-sync retry`' },
  tr: { notListed: '{target} üzerinde listelenmiyor: erp-sync fiyat ve stoğunu güncelleyebilmeden önce ürün orada oluşturulmalı (ve onaylanmalı); değiştiğinde ya da `erp-sync retry` ile yeniden gönderilir' },
});

function notListedMessage(adapter: TargetAdapter): string {
  return notListedText('notListed', { target: adapter.name });
}

/** Whether the marketplace may have queued a submission that failed this way: an answer that never came whole, or came unreadable. */
function queuedMaybe(error: HttpError): boolean {
  if (error.status !== undefined && error.status >= 400) return false;
  return error.kind === 'timeout' || error.kind === 'reset' || error.kind === 'malformed' || error.kind === 'too-large' || error.status !== undefined;
}
