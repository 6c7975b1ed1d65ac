import { createHash } from 'node:crypto';
import type { Db } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { MarketplaceClient } from '../marketplace/client.js';
import type { Offer, OfferResult } from '../marketplace/types.js';
import { HttpError } from '../http/errors.js';
import type { PushCounters } from './counts.js';
import type { EventLog } from './events.js';
import type { Diff, SnapshotOfferRow, StagedOfferRow } from './diff.js';
import { contentHash } from './hash.js';

export type OfferKind = 'new' | 'changed' | 'vanished' | 'resync';

/** What travels with each offer of a batch, beside the offer itself. */
interface OfferMeta {
  kind: OfferKind;
  /** Content hash of the offer: what the snapshot records once it is acknowledged. */
  hash: string;
  /** The snapshot hash it replaces: part of the Idempotency-Key, so A→B→A is never mistaken for a repeat. */
  previous: string | null;
}

export type { PushCounters } from './counts.js';

export interface PushOptions {
  db: Db;
  connection: string;
  runId: number;
  client: MarketplaceClient;
  events: EventLog;
  diff: Diff;
  batchSize: number;
  /** Consecutive batches failing transiently before pushing stops for this run. */
  maxConsecutiveFailures: number;
  signal?: AbortSignal | undefined;
  onBatch?(counters: PushCounters): void;
}

/** Why pushing stopped early; the rest waits for the next run. */
export type PushStop =
  | { reason: 'unavailable'; error: HttpError }
  | { reason: 'credentials' | 'refused'; error: HttpError }
  | { reason: 'interrupted' };

/**
 * Pushes offers through a transactional outbox: a batch is written to the
 * outbox before it is sent and removed in the transaction that records its
 * answer (snapshot rows and item events together). A crash at any point
 * leaves either nothing sent, or a batch in the outbox that the next run
 * sends again with the same Idempotency-Key, which the marketplace applies once.
 */
export class Pusher {
  readonly counters: PushCounters = { pushed: 0, created: 0, updated: 0, pendingApproval: 0, rejected: 0, failed: 0 };
  readonly #o: PushOptions;
  readonly #insertOutbox;
  readonly #deleteOutbox;
  readonly #failOutbox;
  readonly #upsertSnapshot;
  #consecutiveFailures = 0;

  constructor(options: PushOptions) {
    this.#o = options;
    const db = options.db;
    this.#insertOutbox = db.prepare(
      `INSERT INTO outbox (connection, idempotency_key, run_id, created_at, offers, body, kinds) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#deleteOutbox = db.prepare(`DELETE FROM outbox WHERE id = ?`);
    this.#failOutbox = db.prepare(`UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?`);
    this.#upsertSnapshot = db.prepare(
      `INSERT INTO snapshot (connection, barcode, hash, status, offer_id, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, error_code, error_message, acked_at, run_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (connection, barcode) DO UPDATE SET hash = excluded.hash, status = excluded.status,
         offer_id = coalesce(excluded.offer_id, snapshot.offer_id), sku = excluded.sku, name = excluded.name, price = excluded.price,
         currency = excluded.currency, vat_rate = excluded.vat_rate, price_includes_vat = excluded.price_includes_vat,
         stock = excluded.stock, active = excluded.active, error_code = excluded.error_code, error_message = excluded.error_message,
         acked_at = excluded.acked_at, run_id = excluded.run_id`,
    );
  }

  /** Batches a previous run wrote but never got an answer for: sent first, exactly as they were. */
  async replayOutbox(): Promise<PushStop | undefined> {
    const pending = this.#o.db
      .prepare(`SELECT id, idempotency_key, body, kinds FROM outbox WHERE connection = ? ORDER BY id`)
      .all(this.#o.connection) as { id: number; idempotency_key: string; body: string; kinds: string }[];
    for (const row of pending) {
      if (this.#o.signal?.aborted) return { reason: 'interrupted' };
      const offers = (JSON.parse(row.body) as { offers: Offer[] }).offers;
      const stop = await this.#deliver(row.id, row.idempotency_key, offers, JSON.parse(row.kinds) as OfferMeta[], row.body);
      if (stop) return stop;
    }
    return undefined;
  }

  /**
   * New and changed offers (every valid one with `all`), then, after a
   * complete pull only, vanished ones as stock 0 and inactive.
   */
  async pushDiff(all: boolean, includeVanished: boolean): Promise<PushStop | undefined> {
    const { diff, batchSize } = this.#o;
    let after = '';
    for (;;) {
      const rows = diff.changedAfter(after, batchSize, all);
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.barcode;
      const stop = await this.#send(rows.map(toOffer), rows.map((r) => ({ kind: all ? 'resync' : r.prev_hash ? 'changed' : 'new', hash: r.hash, previous: r.prev_hash })));
      if (stop) return stop;
    }
    after = '';
    while (includeVanished) {
      const rows = diff.vanishedAfter(after, batchSize);
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.barcode;
      const offers = rows.map(toVanishedOffer);
      const stop = await this.#send(offers, rows.map((r, i) => ({ kind: 'vanished', hash: hashOffer(offers[i]!), previous: r.hash })));
      if (stop) return stop;
    }
    return undefined;
  }

  async #send(offers: Offer[], meta: OfferMeta[]): Promise<PushStop | undefined> {
    if (this.#o.signal?.aborted) return { reason: 'interrupted' };
    const body = JSON.stringify({ offers });
    const key = idempotencyKey(this.#o.connection, body, meta);
    const info = this.#insertOutbox.run(this.#o.connection, key, this.#o.runId, nowIso(), offers.length, body, JSON.stringify(meta));
    return this.#deliver(Number(info.lastInsertRowid), key, offers, meta, body);
  }

  async #deliver(outboxId: number, key: string, offers: Offer[], meta: OfferMeta[], body: string): Promise<PushStop | undefined> {
    let results: OfferResult[];
    try {
      results = await this.#answersFor(offers, meta, key, body);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      return this.#failed(outboxId, offers, error);
    }
    this.#consecutiveFailures = 0;
    this.#acknowledge(outboxId, offers, meta, results);
    return undefined;
  }

  /**
   * Sends a batch and returns one answer per offer. A batch the marketplace
   * refuses as a whole (400, 422) is split in halves until the offending
   * offers stand alone; those are recorded as rejected with the marketplace's
   * words. Halves get keys derived from their own content, so a replay after
   * a crash splits the same way and is still applied once.
   */
  async #answersFor(offers: Offer[], meta: OfferMeta[], key: string, body: string): Promise<OfferResult[]> {
    try {
      return await this.#o.client.pushBatch(body, key);
    } catch (error) {
      if (!(error instanceof HttpError) || (error.status !== 400 && error.status !== 422)) throw error;
      if (offers.length === 1) {
        return [{ barcode: offers[0]!.barcode, status: 'rejected', error: { code: `HTTP_${error.status}`, message: error.body || error.message } }];
      }
      const middle = Math.ceil(offers.length / 2);
      const halves: [Offer[], OfferMeta[]][] = [
        [offers.slice(0, middle), meta.slice(0, middle)],
        [offers.slice(middle), meta.slice(middle)],
      ];
      const answers: OfferResult[] = [];
      for (const [part, partMeta] of halves) {
        const partBody = JSON.stringify({ offers: part });
        answers.push(...(await this.#answersFor(part, partMeta, idempotencyKey(this.#o.connection, partBody, partMeta), partBody)));
      }
      return answers;
    }
  }

  #acknowledge(outboxId: number, offers: Offer[], meta: OfferMeta[], results: OfferResult[]): void {
    const { db, connection, runId, events } = this.#o;
    const answers = new Map(results.map((r) => [r.barcode, r]));
    const at = nowIso();
    const c = this.counters;
    db.transaction(() => {
      offers.forEach((offer, i) => {
        const answer = answers.get(offer.barcode);
        const kind = meta[i]!.kind;
        if (!answer) {
          c.failed++;
          events.record({
            barcode: offer.barcode, sku: offer.sku, name: offer.name, stage: 'push', outcome: 'failed', code: 'NO_ANSWER',
            message: 'the marketplace answered the batch without a result for this offer; it is sent again next run',
            detail: { kind },
          });
          return;
        }
        c.pushed++;
        if (answer.status === 'created') c.created++;
        else if (answer.status === 'updated') c.updated++;
        else if (answer.status === 'pending_approval') c.pendingApproval++;
        else if (answer.status === 'rejected') c.rejected++;
        this.#upsertSnapshot.run(
          connection, offer.barcode, meta[i]!.hash, answer.status, answer.offerId ?? null, offer.sku, offer.name, offer.price,
          offer.currency, String(offer.vatRate), offer.priceIncludesVat ? 1 : 0, offer.stock, offer.active ? 1 : 0,
          answer.error?.code ?? null, answer.error?.message ?? null, at, runId,
        );
        events.record(
          {
            barcode: offer.barcode, sku: offer.sku, name: offer.name, stage: 'push', outcome: answer.status,
            code: answer.error?.code ?? (kind === 'vanished' ? 'VANISHED' : undefined),
            message: answer.error?.message ?? (kind === 'vanished' ? 'no longer in the ERP: pushed as stock 0 and inactive' : undefined),
            detail: { kind, price: offer.price, stock: offer.stock, offerId: answer.offerId },
          },
          at,
        );
      });
      this.#deleteOutbox.run(outboxId);
      this.#o.onBatch?.(c);
    })();
  }

  #failed(outboxId: number, offers: Offer[], error: HttpError): PushStop | undefined {
    const { db, events } = this.#o;
    db.transaction(() => {
      this.#failOutbox.run(error.message, outboxId);
      for (const offer of offers) {
        events.record({
          barcode: offer.barcode, sku: offer.sku, name: offer.name, stage: 'push', outcome: 'failed',
          code: error.status ? `HTTP_${error.status}` : `NETWORK_${error.kind.toUpperCase().replace('-', '_')}`,
          message: `${error.message} The offer is sent again next run.`,
          detail: error.body ? { answer: error.body } : undefined,
        });
      }
    })();
    this.counters.failed += offers.length;
    this.#o.onBatch?.(this.counters);
    if (error.status === 401 || error.status === 403) return { reason: 'credentials', error };
    if (!error.transient) return { reason: 'refused', error };
    this.#consecutiveFailures++;
    return this.#consecutiveFailures >= this.#o.maxConsecutiveFailures ? { reason: 'unavailable', error } : undefined;
  }
}

function toOffer(row: StagedOfferRow | SnapshotOfferRow): Offer {
  return {
    barcode: row.barcode,
    sku: row.sku,
    name: row.name,
    price: row.price,
    currency: row.currency,
    vatRate: Number(row.vat_rate),
    priceIncludesVat: row.price_includes_vat === 1,
    stock: row.stock,
    active: row.active === 1,
  };
}

function toVanishedOffer(row: SnapshotOfferRow): Offer {
  return { ...toOffer(row), stock: 0, active: false };
}

function hashOffer(offer: Offer): string {
  return contentHash({ ...offer, vatRate: String(offer.vatRate) });
}

/** Derived from the batch's content and the states it replaces: the same batch always gets the same key. */
function idempotencyKey(connection: string, body: string, meta: readonly OfferMeta[]): string {
  const hash = createHash('sha256').update(connection).update('\n').update(body).update('\n');
  for (const m of meta) hash.update(m.previous ?? '-').update(',');
  return `erp-sync-${hash.digest('base64url').slice(0, 32)}`;
}
