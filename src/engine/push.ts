import { randomBytes } from 'node:crypto';
import type { Db } from '../store/db.js';
import { DeliveryStore } from '../store/delivery.js';
import type { WaitingOffer } from '../store/delivery.js';
import { nowIso } from '../store/db.js';
import type { MarketplaceClient } from '../marketplace/client.js';
import type { Offer, OfferResult } from '../marketplace/types.js';
import { HttpError } from '../http/errors.js';
import { defineMessages } from '../i18n/index.js';
import { emptyCounters } from '../model/run.js';
import type { PushCounters } from '../model/run.js';
import type { EventLog } from '../store/items.js';
import type { Diff, Walk } from '../store/diff.js';
import { dueOffers, unconfirm } from './shape.js';
import type { OfferMeta, Shaped, Shaper } from './shape.js';

/** Offers sent in one request: a batch of the outbox, or a part of one after a split. */
interface Part {
  rowId: number;
  key: string;
  offers: Offer[];
  meta: OfferMeta[];
  /** The whole batch: settling it settles its outbox row. */
  whole: boolean;
  /** Where its offers stand in the batch. */
  from: number;
  to: number;
}


export interface PushOptions {
  db: Db;
  connection: string;
  /** The target's name: the offer API's own snapshot, outbox and failures. */
  target: string;
  runId: number;
  client: MarketplaceClient;
  /** The target's item log. */
  events: EventLog;
  diff: Diff;
  /** The target's rules on each offer. */
  shaper: Shaper;
  batchSize: number;
  /** Failures in a row that no single offer explains before pushing stops for this run. */
  maxConsecutiveFailures: number;
  /** Failed deliveries of one offer, on its own, before it is parked as a dead letter. */
  maxAttempts: number;
  signal?: AbortSignal | undefined;
  /** Whether the run still holds its lock: asked before every request, so a run that lost it sends nothing more. */
  lockHeld?(): boolean;
  onBatch?(counters: PushCounters): void;
}

/** Why pushing stopped early; the rest waits for the next run. */
export type PushStop =
  | { reason: 'unavailable'; error: HttpError }
  | { reason: 'credentials' | 'refused'; error: HttpError }
  | { reason: 'interrupted' };

const m = defineMessages({
  en: {
    again: '{error} The offer is sent again next run.',
    attempt: '{error} Attempt {attempt} of {max}: the offer is sent again next run, on its own.',
    parked: 'the marketplace did not take this offer in {attempts} attempts (last: {error}); it is parked as a dead letter and sent again when it changes in the ERP, or with `erp-sync retry --connection {connection} --barcode {barcode}`',
    noAnswer: 'the marketplace answered the batch without a result for this offer.',
    unreadable: 'the marketplace\'s answer to the batch could not be read ({error}); the offer goes again in a new batch, under a new key.',
    vanished: 'no longer in the ERP: pushed as stock 0 and inactive',
  },
  tr: {
    again: '{error} Teklif sonraki çalışmada yeniden gönderilir.',
    attempt: '{error} Deneme {attempt}/{max}: teklif sonraki çalışmada tek başına yeniden gönderilir.',
    parked: 'pazaryeri bu teklifi {attempts} denemede almadı (son hata: {error}); teklif bekletmeye alındı ve ERP\'de değiştiğinde ya da `erp-sync retry --connection {connection} --barcode {barcode}` ile yeniden gönderilir',
    noAnswer: 'pazaryeri paketi yanıtladı ama bu teklif için sonuç vermedi.',
    unreadable: 'pazaryerinin pakete verdiği yanıt okunamadı ({error}); teklif yeni bir anahtarla yeni bir pakette yeniden gönderilir.',
    vanished: 'artık ERP\'de yok: stok 0 ve pasif olarak gönderildi',
  },
});

/** Offers that failed alone before, failing again in a row, before the rest of them wait for the next run. */
const QUARANTINE_PATIENCE = 10;

/** Positions [from, to) of a batch still unsettled, with what the marketplace said to them. */
interface Pending {
  from: number;
  to: number;
  error: HttpError;
}

/** A batch that failed whole in this run: split once everything else is sent. */
interface FailedBatch {
  rowId: number;
  /** How many batch requests the marketplace had taken when it failed. */
  acceptedBefore: number;
  pending: Pending[];
}

/**
 * Pushes offers through a transactional outbox. A batch is written to the
 * outbox, with a new random Idempotency-Key, before it is sent, and removed
 * in the transaction that records its answer (snapshot rows and item events
 * together). A crash at any point leaves either nothing sent, or a batch in
 * the outbox that the next run settles.
 *
 * What the rules promise:
 * - Never an older state. A batch from an earlier run is sent again, byte for
 *   byte under its key, only while every offer in it is still what the ERP
 *   says and the snapshot still holds the state it replaces. Otherwise it is
 *   dropped: its superseded offers are never sent, and the rest go in new
 *   batches built from the current content, while their snapshot rows are
 *   marked unconfirmed (the marketplace may hold either state), so the diff
 *   sends them whatever the ERP says.
 * - One bad offer never holds back the others. A batch that fails after its
 *   retries (5xx, timeouts) is split once the rest of the run is sent, until
 *   each failing offer stands alone; a batch refused as such (400, 413, 422)
 *   is split at once. An offer that failed alone goes alone, after the rest,
 *   in later runs.
 * - An outage is nobody's fault. A failure is an offer's own attempt only
 *   when the marketplace took another batch after the batch holding it
 *   failed (a read answering proves nothing about writes), and never a 429.
 *   Failures in a row that no offer explains stop the push, once a split of
 *   the latest failed batch confirms that the marketplace takes nothing.
 *   After `maxAttempts` attempts of its own an offer is parked (a dead
 *   letter), until it changes or `erp-sync retry` asks.
 * - A key whose answer was unreadable, or left offers out, is never sent again.
 */
export class Pusher {
  readonly counters: PushCounters = emptyCounters();
  readonly #o: PushOptions;
  readonly #store: DeliveryStore;
  /** Batch requests the marketplace took in this run: answered 2xx, or refused as a batch. */
  #accepted = 0;
  /** Failures in a row that no single offer explains: a whole batch, both halves of a split, an unreadable answer. */
  #failuresInARow = 0;
  /** A stop an unreadable answer decided while its offers were being settled. */
  #pendingStop: PushStop | undefined;
  /** While batches of earlier runs are settled: what fails then is sent again by this run's diff. */
  #replaying = false;
  /** After a 413, new batches are at most half the size the marketplace refused. */
  #maxOffers: number;
  #unconfirmed = 0;
  readonly #failedBatches: FailedBatch[] = [];

  constructor(options: PushOptions) {
    this.#o = options;
    this.#maxOffers = options.batchSize;
    this.#store = new DeliveryStore(options.db, { connection: options.connection, target: options.target });
  }

  /**
   * Settles the batches earlier runs left in the outbox, pushes new and
   * changed offers (every valid one with `all`) and, after a complete pull
   * only, vanished ones as stock 0 and inactive; then sends again the
   * batches that failed in earlier runs, splits what failed whole, and sends
   * the offers that failed alone before, one by one.
   */
  async push(all: boolean, includeVanished: boolean): Promise<PushStop | undefined> {
    // A product that changed starts its attempts over; one that is invalid now is reported as such, not as a dead letter.
    this.#store.forgetOvertakenFailures();
    let failedBefore: Part[] = [];
    const stop =
      (await this.#replay((parts) => (failedBefore = parts))) ??
      (await this.#pushFresh(all, includeVanished)) ??
      (await this.#sendAll(failedBefore)) ??
      (await this.#splitFailedBatches()) ??
      (await this.#pushQuarantined(all, includeVanished));
    if (stop) {
      // What failed whole and was not split stays in the outbox, as it is, for the next run.
      for (const failed of this.#failedBatches.splice(0)) this.#giveUp(failed);
    }
    return stop;
  }

  /**
   * Batches a previous run wrote but never settled. One that anything newer
   * has overtaken is dropped now, before this run's diff, which then sends
   * its offers from the current content. One cut short by a crash is sent
   * again at once, exactly as it was; one that already failed waits until the
   * diff's batches have shown whether the marketplace takes anything.
   */
  async #replay(later: (parts: Part[]) => void): Promise<PushStop | undefined> {
    this.#replaying = true;
    const failedBefore: Part[] = [];
    try {
      for (const { id, attempts } of this.#store.waitingBatches()) {
        if (this.#o.signal?.aborted) return { reason: 'interrupted' };
        const part = this.#load(id);
        if (!part) continue;
        const items = this.#store.waitingOffers(id);
        const quarantined = items.filter(isQuarantined).length;
        // A batch holding an offer that failed alone since would fail with it: rebuilt without it.
        if (!items.every((item) => isCurrent(item, id)) || (quarantined > 0 && quarantined < items.length)) {
          this.#retire(part, items);
          continue;
        }
        // Offers that failed alone go alone, after the others: see #pushQuarantined.
        if (quarantined > 0) continue;
        if (attempts > 0) {
          failedBefore.push(part);
          continue;
        }
        const stop = await this.#sendBatch(part);
        if (stop) return stop;
      }
    } finally {
      this.#replaying = false;
    }
    later(failedBefore);
    return undefined;
  }

  /** Drops a batch something newer has overtaken; the offers still due go in new batches, from the current content. */
  #retire(part: Part, items: readonly WaitingOffer[]): void {
    this.#store.transaction(() => {
      part.offers.forEach((offer, i) => {
        if (items[i]!.acked === items[i]!.previous) this.#unconfirm(offer, part.meta[i]!);
      });
      this.#store.deleteBatch(part.rowId);
    });
  }

  async #pushFresh(all: boolean, includeVanished: boolean): Promise<PushStop | undefined> {
    const { diff, shaper } = this.#o;
    let after = '';
    for (;;) {
      const rows = diff.changedAfter(after, this.#maxOffers, { all, walk: 'fresh' });
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.barcode;
      const due = this.#due(rows.map((row) => shaper.changed(row, all)));
      const stop = due.offers.length > 0 ? await this.#sendNew(due.offers, due.meta) : undefined;
      if (stop) return stop;
    }
    after = '';
    while (includeVanished) {
      const rows = diff.vanishedAfter(after, this.#maxOffers);
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.barcode;
      const shaped = rows.map((row) => ({ row, shaped: shaper.vanished(row) }));
      // A withdrawal that failed on its own before goes alone, later (#pushQuarantined).
      const due = this.#due(shaped.filter(({ row, shaped: s }) => !(s.to === 'send' && row.failed_hash === s.due.meta.hash)).map((s) => s.shaped));
      const stop = due.offers.length > 0 ? await this.#sendNew(due.offers, due.meta) : undefined;
      if (stop) return stop;
    }
    return undefined;
  }

  async #sendAll(parts: readonly Part[]): Promise<PushStop | undefined> {
    for (const part of parts) {
      if (this.#o.signal?.aborted) return { reason: 'interrupted' };
      const stop = await this.#sendBatch(part);
      if (stop) return stop;
    }
    return undefined;
  }

  /** Splits each batch that failed whole, now that everything else was sent and the marketplace had its chance to take it. */
  async #splitFailedBatches(): Promise<PushStop | undefined> {
    while (this.#failedBatches.length > 0) {
      if (this.#o.signal?.aborted) return { reason: 'interrupted' };
      const failed = this.#failedBatches[0]!;
      // Nothing taken since it failed, and no answer to a read either: the marketplace is down, and splitting cannot help.
      if (failed.pending.length > 0 && this.#accepted === failed.acceptedBefore) {
        const down = await this.#o.client.probe();
        if (down) return { reason: 'unavailable', error: failed.pending[0]!.error };
      }
      this.#failedBatches.shift();
      const row = this.#load(failed.rowId);
      if (!row) continue;
      while (failed.pending.length > 0) {
        const { from, to, error } = failed.pending.shift()!;
        const stop = await this.#settle(slice(row, from, to), error, failed.acceptedBefore);
        if (stop) {
          this.#giveUp(failed);
          return stop;
        }
      }
      this.#store.deleteBatch(row.rowId);
    }
    return undefined;
  }

  /**
   * Offers that failed on their own before: one per request, after the rest,
   * so they never take a batch down with them, and their failures never stop
   * the push. A failure counts as another attempt only when the marketplace
   * took a batch in this run; after QUARANTINE_PATIENCE of them failed in a
   * row (the marketplace may have gone down since), the rest wait for the
   * next run, uncounted.
   */
  async #pushQuarantined(all: boolean, includeVanished: boolean): Promise<PushStop | undefined> {
    const parts = this.#quarantinedParts(all, includeVanished);
    let missed = 0;
    for (let next = await parts.next(); !next.done; next = await parts.next()) {
      if (this.#o.signal?.aborted) return { reason: 'interrupted' };
      const part = next.value;
      const accepted = this.#accepted;
      const outcome = await this.#request(part);
      if (outcome === 'settled') {
        missed = 0;
        const stop = this.#takePendingStop();
        if (stop) return stop;
        continue;
      }
      if (!(outcome instanceof HttpError)) {
        this.#notDelivered(part, stopError(outcome));
        return outcome;
      }
      const stop = await this.#settle(part, outcome, accepted > 0 ? accepted - 1 : accepted);
      if (stop) return stop;
      this.#store.deleteBatch(part.rowId);
      if (!refused(outcome) && ++missed >= QUARANTINE_PATIENCE) return undefined;
    }
    return undefined;
  }

  async *#quarantinedParts(all: boolean, includeVanished: boolean): AsyncGenerator<Part> {
    for (const { id } of this.#store.waitingBatches()) {
      const part = this.#load(id);
      if (part && this.#store.waitingOffers(id).every(isQuarantined)) yield part;
    }
    const walk: Walk = 'quarantined';
    let after = '';
    for (;;) {
      const rows = this.#o.diff.changedAfter(after, 100, { all, walk });
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.barcode;
      const due = this.#due(rows.map((row) => this.#o.shaper.changed(row, all)));
      for (const [i, offer] of due.offers.entries()) yield this.#write([offer], [due.meta[i]!]);
    }
    after = '';
    while (includeVanished) {
      const rows = this.#o.diff.vanishedAfter(after, 100);
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.barcode;
      for (const row of rows) {
        const shaped = this.#o.shaper.vanished(row);
        if (shaped.to !== 'send' || row.failed_hash !== shaped.due.meta.hash || row.parked || row.failed_now) continue;
        yield this.#write([shaped.due.offer], [shaped.due.meta]);
      }
    }
  }

  /** The offers of a walk this target gets; what needs no request (an unchanged shape, an offer it cannot take) is settled at once. */
  #due(shaped: readonly Shaped[]): { offers: Offer[]; meta: OfferMeta[] } {
    const due = dueOffers(shaped, { store: this.#store, events: this.#o.events, runId: this.#o.runId, counters: this.counters });
    return { offers: due.map((d) => d.offer), meta: due.map((d) => d.meta) };
  }

  async #sendNew(offers: Offer[], meta: OfferMeta[]): Promise<PushStop | undefined> {
    if (this.#o.signal?.aborted) return { reason: 'interrupted' };
    return this.#sendBatch(this.#write(offers, meta));
  }

  /** Writes a batch to the outbox under a new key, before anything is sent. */
  #write(offers: Offer[], meta: OfferMeta[]): Part {
    const key = `erp-sync-${randomBytes(24).toString('base64url')}`;
    const rowId = this.#store.writeBatch(key, this.#o.runId, nowIso(), offers.map((offer, i) => ({ offer, ...meta[i]! })), JSON.stringify({ offers }));
    return { rowId, key, offers, meta, whole: true, from: 0, to: offers.length };
  }

  /** Sends a whole batch; one that fails for no reason the answer gives waits to be split. */
  async #sendBatch(part: Part): Promise<PushStop | undefined> {
    const acceptedBefore = this.#accepted;
    const outcome = await this.#request(part);
    if (outcome === 'settled') return this.#takePendingStop();
    if (!(outcome instanceof HttpError)) {
      this.#notDelivered(part, stopError(outcome));
      return outcome;
    }
    if (refused(outcome)) {
      const stop = await this.#settle(part, outcome, acceptedBefore);
      if (!stop) this.#store.deleteBatch(part.rowId);
      return stop;
    }
    this.#store.batchFailed(part.rowId, outcome.message);
    this.#failedBatches.push({ rowId: part.rowId, acceptedBefore, pending: [{ from: 0, to: part.offers.length, error: outcome }] });
    this.#failuresInARow++;
    return this.#failuresInARow >= this.#o.maxConsecutiveFailures ? this.#confirmDown(outcome) : undefined;
  }

  /**
   * `maxConsecutiveFailures` batches failed in a row: the marketplace down,
   * or a bad offer in each of them? The latest one is split once, its halves
   * sent without retries: a half taken means the marketplace works, and the
   * push goes on (the halves that failed are split later with the rest).
   */
  async #confirmDown(error: HttpError): Promise<PushStop | undefined> {
    const failed = this.#failedBatches.at(-1)!;
    const whole = failed.pending[0]!;
    const row = this.#load(failed.rowId);
    if (!row || whole.to - whole.from < 2) return { reason: 'unavailable', error };
    const accepted = this.#accepted;
    const halves = halve(slice(row, whole.from, whole.to));
    failed.pending = [];
    for (const [i, half] of halves.entries()) {
      const outcome = await this.#request(half);
      if (outcome instanceof HttpError) failed.pending.push({ from: half.from, to: half.to, error: outcome });
      else if (outcome !== 'settled') {
        for (const rest of halves.slice(i)) failed.pending.push({ from: rest.from, to: rest.to, error: stopError(outcome) ?? error });
        return outcome;
      }
    }
    if (this.#accepted > accepted) {
      this.#failuresInARow = 0;
      return this.#takePendingStop();
    }
    return this.#takePendingStop() ?? { reason: 'unavailable', error };
  }

  /**
   * One request. Whatever its answer settles is recorded before it returns:
   * acknowledgements, offers left out of the answer, an unreadable answer.
   * Returns the error of a batch the marketplace refused or failed as such.
   * Parts of a split go without retries (a failing one is split further);
   * whole batches and lone offers get them.
   */
  async #request(part: Part): Promise<'settled' | HttpError | PushStop> {
    if (this.#o.lockHeld && !this.#o.lockHeld()) return { reason: 'interrupted' };
    let results: OfferResult[];
    try {
      results = await this.#o.client.pushBatch(JSON.stringify({ offers: part.offers }), part.key, { retry: part.whole || part.offers.length === 1 ? undefined : false });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (error.status === 401 || error.status === 403) return { reason: 'credentials', error };
      if (!error.retry) {
        this.#accepted++;
        this.#unreadable(part, error);
        return 'settled';
      }
      if (refused(error)) {
        this.#taken();
        return error;
      }
      return error.transient ? error : { reason: 'refused', error };
    }
    this.#taken();
    this.#acknowledge(part, results);
    return 'settled';
  }

  #taken(): void {
    this.#accepted++;
    this.#failuresInARow = 0;
  }

  #takePendingStop(): PushStop | undefined {
    const stop = this.#pendingStop;
    this.#pendingStop = undefined;
    return stop;
  }

  /**
   * A part that failed with `error`, settled offer by offer: split in halves
   * until what the marketplace refuses or fails stands alone.
   * `acceptedBefore` is how many batches the marketplace had taken when the
   * batch holding it first failed: a lone offer's failure is its own only if
   * it took one since.
   */
  async #settle(part: Part, error: HttpError, acceptedBefore: number): Promise<PushStop | undefined> {
    if (error.status === 413) this.#maxOffers = Math.max(1, Math.min(this.#maxOffers, Math.floor(part.offers.length / 2)));
    if (part.offers.length === 1) {
      if (refused(error)) this.#reject(part, error);
      else this.#failedAlone(part, error, acceptedBefore);
      return undefined;
    }
    const halves = halve(part);
    const outcomes: ('settled' | HttpError)[] = [];
    // Everything of this part not settled yet, when the run has to stop: it waits for the next run.
    const giveUp = (stop: PushStop, from: number): PushStop => {
      halves.forEach((half, i) => {
        if (i >= from || outcomes[i] instanceof HttpError) this.#notDelivered(half, outcomes[i] instanceof HttpError ? (outcomes[i] as HttpError) : stopError(stop));
      });
      return stop;
    };
    for (const half of halves) {
      if (this.#o.signal?.aborted) return giveUp({ reason: 'interrupted' }, outcomes.length);
      const outcome = await this.#request(half);
      if (outcome !== 'settled' && !(outcome instanceof HttpError)) return giveUp(outcome, outcomes.length);
      outcomes.push(outcome);
      const stop = this.#takePendingStop();
      if (stop) return giveUp(stop, outcomes.length);
    }
    if (outcomes.every((o) => o instanceof HttpError && !refused(o))) {
      this.#failuresInARow++;
      if (this.#failuresInARow >= this.#o.maxConsecutiveFailures) return giveUp({ reason: 'unavailable', error: outcomes[0] as HttpError }, halves.length);
    }
    for (const [i, half] of halves.entries()) {
      const outcome = outcomes[i]!;
      if (outcome === 'settled') continue;
      outcomes[i] = 'settled';
      const stop = await this.#settle(half, outcome, acceptedBefore);
      if (stop) return giveUp(stop, halves.length);
    }
    return undefined;
  }

  #acknowledge(part: Part, results: readonly OfferResult[]): void {
    const { events } = this.#o;
    const answers = new Map(results.map((r) => [r.barcode, r]));
    const at = nowIso();
    const c = this.counters;
    const missing: number[] = [];
    this.#store.transaction(() => {
      part.offers.forEach((offer, i) => {
        const answer = answers.get(offer.barcode);
        const { kind, hash, base } = part.meta[i]!;
        if (!answer) {
          missing.push(i);
          return;
        }
        c.pushed++;
        if (answer.status === 'created') c.created++;
        else if (answer.status === 'updated') c.updated++;
        else if (answer.status === 'pending_approval') c.pendingApproval++;
        else if (answer.status === 'rejected') c.rejected++;
        this.#record(offer, { hash, base }, answer, at);
        events.record(
          {
            barcode: offer.barcode, sku: offer.sku, name: offer.name, stage: 'push', outcome: answer.status,
            code: answer.error?.code ?? (kind === 'vanished' ? 'VANISHED' : undefined),
            message: answer.error?.message ?? (kind === 'vanished' ? m('vanished') : undefined),
            detail: { kind, price: offer.price, stock: offer.stock, offerId: answer.offerId },
          },
          at,
        );
      });
      // Left out of an answer the marketplace keeps for this key: theirs, sent again under a new one.
      for (const i of missing) this.#countAttempt(part.offers[i]!, part.meta[i]!, 'NO_ANSWER', m('noAnswer'), undefined);
      if (part.whole) this.#store.deleteBatch(part.rowId);
    });
    this.#o.onBatch?.(c);
  }

  /** The snapshot moves to what the marketplace answered, and the offer's delivery failures are over. */
  #record(offer: Offer, content: { hash: string; base: string | null }, answer: OfferResult, at: string): void {
    this.#store.acknowledge(offer, content, { status: answer.status, offerId: answer.offerId, error: answer.error }, at, this.#o.runId);
  }

  /** One offer the marketplace refuses on its own (a 4xx for it alone): recorded as rejected, with its words. */
  #reject(part: Part, error: HttpError): void {
    const offer = part.offers[0]!;
    this.#acknowledge(part, [{ barcode: offer.barcode, status: 'rejected', error: { code: `HTTP_${error.status}`, message: error.body || error.message } }]);
  }

  /**
   * The answer to this key was unreadable: the key is spent, and the offers go
   * in new batches. Failures no offer explains, so it counts toward stopping
   * the push; while batches of earlier runs are settled, this run's diff
   * sends the offers again, so they are not counted as undelivered.
   */
  #unreadable(part: Part, error: HttpError): void {
    const message = m('unreadable', { error: error.message });
    this.#store.transaction(() => {
      part.offers.forEach((offer, i) => {
        this.#unconfirm(offer, part.meta[i]!);
        this.#failedEvent(offer, 'ANSWER_UNREADABLE', message, error.body ? { answer: error.body } : undefined);
      });
      if (part.whole) this.#store.deleteBatch(part.rowId);
    });
    if (!this.#replaying) this.counters.failed += part.offers.length;
    this.#o.onBatch?.(this.counters);
    if (++this.#failuresInARow >= this.#o.maxConsecutiveFailures) this.#pendingStop ??= { reason: 'unavailable', error };
  }

  /**
   * A lone offer that failed after its retries: an attempt of its own when
   * the marketplace took a batch since the one holding it failed, and the
   * failure is not a rate limit.
   */
  #failedAlone(part: Part, error: HttpError, acceptedBefore: number): void {
    const own = this.#accepted > acceptedBefore && error.status !== 429 && error.retryAfterMs === undefined;
    const offer = part.offers[0]!;
    const code = failureCode(error);
    this.#store.transaction(() => {
      if (own) this.#countAttempt(offer, part.meta[0]!, code, error.message, error.body);
      else {
        this.#unconfirm(offer, part.meta[0]!);
        this.#failedEvent(offer, code, m('again', { error: error.message }), error.body ? { answer: error.body } : undefined);
        this.counters.failed++;
      }
    });
    this.#o.onBatch?.(this.counters);
  }

  /** Counts a failed delivery against the offer; parks it as a dead letter after `maxAttempts`. Runs inside a transaction. */
  #countAttempt(offer: Offer, meta: OfferMeta, code: string, message: string, body: string | undefined): void {
    const { connection, runId, maxAttempts } = this.#o;
    const now = nowIso();
    this.#unconfirm(offer, meta);
    const { attempts, parked } = this.#store.countFailure({ barcode: offer.barcode, hash: meta.hash, base: meta.base, code, message, at: now, max: maxAttempts, runId });
    const detail = { attempts, maxAttempts, ...(body ? { answer: body } : {}) };
    if (parked) {
      this.#failedEvent(offer, 'DEAD_LETTER', m('parked', { attempts, error: `${code}: ${message}`, connection, barcode: offer.barcode }), { ...detail, lastCode: code });
    } else {
      this.#failedEvent(offer, code, m('attempt', { error: message, attempt: attempts, max: maxAttempts }), detail);
    }
    this.counters.failed++;
  }

  /** Offers the run could not settle: they stay where they are (the outbox, the diff) for the next run. */
  #notDelivered(part: Part, error: HttpError | undefined): void {
    this.#store.transaction(() => {
      for (const offer of part.offers) {
        this.#failedEvent(offer, error ? failureCode(error) : 'INTERRUPTED', m('again', { error: error?.message ?? '' }).trim(), error?.body ? { answer: error.body } : undefined);
      }
    });
    this.counters.failed += part.offers.length;
    this.#o.onBatch?.(this.counters);
  }

  /** A batch that failed whole and was never split: what is still pending of it is not delivered in this run. */
  #giveUp(failed: FailedBatch): void {
    const row = this.#load(failed.rowId);
    if (!row) return;
    for (const { from, to, error } of failed.pending) this.#notDelivered(slice(row, from, to), error);
  }

  #failedEvent(offer: Offer, code: string, message: string, detail: unknown): void {
    this.#o.events.record({ barcode: offer.barcode, sku: offer.sku, name: offer.name, stage: 'push', outcome: 'failed', code, message, detail });
  }

  #unconfirm(offer: Offer, meta: OfferMeta): void {
    const { runId } = this.#o;
    unconfirm({ store: this.#store, diff: this.#o.diff }, offer, meta.previous, `${runId.toString(36)}.${(++this.#unconfirmed).toString(36)}`, runId);
  }

  #load(rowId: number): Part | undefined {
    const batch = this.#store.batch(rowId);
    if (!batch) return undefined;
    const offers = (JSON.parse(batch.body) as { offers: Offer[] }).offers;
    return { rowId, key: batch.key, offers, meta: batch.offers.map((i) => ({ kind: i.kind, hash: i.hash, base: i.base, previous: i.previous })), whole: true, from: 0, to: offers.length };
  }
}


/**
 * Whether an offer of a waiting batch is still due exactly as the batch has
 * it: the batch is the newest holding its barcode, the snapshot still holds
 * the state it replaces, the latest pull still says the same (or, for a
 * vanished offer, still lacks the product), and it is not parked.
 */
function isCurrent(item: WaitingOffer, rowId: number): boolean {
  if (item.newest !== rowId || item.acked !== item.previous) return false;
  if (item.parked && item.failed_hash === item.hash) return false;
  return item.kind === 'vanished' ? !item.in_staging : item.valid === 1 && item.staged === item.base;
}

function isQuarantined(item: WaitingOffer): boolean {
  return item.failed_hash === item.hash && !item.parked;
}

/**
 * A 4xx other than the token's (401, 403), the address's (404), a timeout
 * (408) or a rate limit (429) refuses the batch as such (400, 409, 413,
 * 422...): the marketplace is up, and a smaller batch may pass.
 */
export function refused(error: HttpError): boolean {
  const status = error.status ?? 0;
  return status >= 400 && status < 500 && ![401, 403, 404, 408, 429].includes(status);
}

function stopError(stop: PushStop): HttpError | undefined {
  return stop.reason === 'interrupted' ? undefined : stop.error;
}


export function failureCode(error: HttpError): string {
  return error.status ? `HTTP_${error.status}` : `NETWORK_${error.kind.toUpperCase().replace('-', '_')}`;
}

/** Halves keep a key derived from their batch's: the same split of the same batch always sends the same key. */
function halve(part: Part): [Part, Part] {
  const middle = Math.ceil(part.offers.length / 2);
  const piece = (from: number, to: number): Part => ({
    rowId: part.rowId,
    key: `${part.key}.${from}-${to}`,
    offers: part.offers.slice(from, to),
    meta: part.meta.slice(from, to),
    whole: false,
    from: part.from + from,
    to: part.from + to,
  });
  return [piece(0, middle), piece(middle, part.offers.length)];
}

/** Offers [from, to) of a whole batch, under the key its halving gives them. */
function slice(row: Part, from: number, to: number): Part {
  if (from === 0 && to === row.offers.length) return row;
  let part = row;
  while (part.from !== from || part.to !== to) {
    if (part.offers.length < 2) throw new Error(`offers ${from}-${to} are not a half of batch ${row.rowId}`);
    const [left, right] = halve(part);
    part = to <= left.to ? left : right;
  }
  return part;
}
