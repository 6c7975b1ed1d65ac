import type { Offer } from '../model/product.js';
import type { Db } from './db.js';
import { dialectOf } from './dialect.js';
import { unconfirmedMarker } from './snapshot.js';

/**
 * Delivery state, per connection and target: the outbox (batches written
 * before they are sent, with one row per offer in outbox_items), the
 * snapshot of what the target acknowledged, and the offers that failed on
 * their own (delivery_failures, dead letters once parked).
 */

/** Which connection's offers, to which target. */
export interface DeliveryScope {
  connection: string;
  target: string;
}

/** An offer of a waiting batch beside what is newer for its barcode: the snapshot, the latest pull, a delivery failure. */
export interface WaitingOffer {
  barcode: string;
  kind: 'new' | 'changed' | 'vanished' | 'resync';
  /** The content the batch carries (its hash for this target, and the staged content it was made from), and the acknowledged state it replaces. */
  hash: string;
  base: string | null;
  previous: string | null;
  acked: string | null;
  staged: string | null;
  valid: number | null;
  in_staging: number;
  failed_hash: string | null;
  parked: number;
  /** The newest batch holding this barcode. */
  newest: number;
}

/** How a batch's offers travel: what each carries and replaces. */
export interface BatchOffer {
  offer: Offer;
  kind: WaitingOffer['kind'];
  hash: string;
  /** The staged content the offer was made from; none for a withdrawal. */
  base: string | null;
  previous: string | null;
}

/** A batch of the outbox as stored: its key, its body as sent, where its submission stands. */
export interface StoredBatch {
  key: string;
  body: string;
  /** When the request was about to leave (asynchronous targets); with no ticket, its fate is unknown. */
  submittedAt: string | null;
  /** The marketplace's id for the submission, once it answered. */
  ticket: string | null;
  offers: WaitingOffer[];
}

/** What the marketplace answered for one offer, as the snapshot records it. */
export interface Acknowledgement {
  status: string;
  offerId: string | undefined;
  error: { code: string; message: string } | undefined;
}

export class DeliveryStore {
  readonly #db: Db;
  readonly #scope: DeliveryScope;
  readonly #s;

  constructor(db: Db, scope: DeliveryScope) {
    this.#db = db;
    this.#scope = scope;
    const sql = dialectOf(db);
    this.#s = {
      batches: db.prepare(`SELECT id, attempts FROM outbox WHERE connection = :connection AND target = :target ORDER BY id`),
      batch: db.prepare(`SELECT idempotency_key AS "key", body, submitted_at AS "submittedAt", ticket FROM outbox WHERE id = ?`),
      waiting: db.prepare(
        `SELECT i.barcode, i.kind, i.hash, i.base, i.previous, p.hash AS acked, s.hash AS staged, s.valid, s.barcode IS NOT NULL AS in_staging,
                f.hash AS failed_hash, f.parked_at IS NOT NULL AS parked,
                (SELECT max(o.outbox_id) FROM outbox_items o WHERE o.connection = i.connection AND o.target = i.target AND o.barcode = i.barcode) AS newest
           FROM outbox_items i
           LEFT JOIN snapshot p ON p.connection = i.connection AND p.target = i.target AND p.barcode = i.barcode
           LEFT JOIN staging s ON s.connection = i.connection AND s.barcode = i.barcode
           LEFT JOIN delivery_failures f ON f.connection = i.connection AND f.target = i.target AND f.barcode = i.barcode
          WHERE i.outbox_id = ? ORDER BY i.position`,
      ),
      insertBatch: db.prepare(
        `INSERT INTO outbox (connection, target, idempotency_key, run_id, created_at, offers, body) VALUES (:connection, :target, ?, ?, ?, ?, ?) RETURNING id`,
      ),
      insertOffer: db.prepare(
        `INSERT INTO outbox_items (outbox_id, position, connection, target, barcode, kind, hash, base, previous)
         VALUES (?, ?, :connection, :target, ?, ?, ?, ?, ?)`,
      ),
      deleteBatch: db.prepare(`DELETE FROM outbox WHERE id = ?`),
      batchFailed: db.prepare(`UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?`),
      submitting: db.prepare(`UPDATE outbox SET submitted_at = ? WHERE id = ?`),
      submitted: db.prepare(`UPDATE outbox SET ticket = ? WHERE id = ?`),
      acknowledge: db.prepare(
        `INSERT INTO snapshot (connection, target, barcode, base, hash, status, offer_id, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, error_code, error_message, acked_at, run_id)
         VALUES (:connection, :target, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT ${sql.conflict('connection, target, barcode')} DO UPDATE SET base = excluded.base, hash = excluded.hash, status = excluded.status,
           offer_id = coalesce(excluded.offer_id, snapshot.offer_id), sku = excluded.sku, name = excluded.name, price = excluded.price,
           currency = excluded.currency, vat_rate = excluded.vat_rate, price_includes_vat = excluded.price_includes_vat,
           stock = excluded.stock, active = excluded.active, error_code = excluded.error_code, error_message = excluded.error_message,
           acked_at = excluded.acked_at, run_id = excluded.run_id`,
      ),
      rebase: db.prepare(
        `UPDATE snapshot SET base = ?, sku = ?, name = ?, price = ?, currency = ?, vat_rate = ?, price_includes_vat = ?, stock = ?, active = ?
          WHERE connection = :connection AND target = :target AND barcode = ? AND hash = ?`,
      ),
      delivered: db.prepare(`DELETE FROM delivery_failures WHERE connection = :connection AND target = :target AND barcode = ?`),
      unconfirm: db.prepare(
        `UPDATE snapshot SET base = :marker, hash = :marker, status = 'unconfirmed', acked_at = ?, run_id = ?
          WHERE connection = :connection AND target = :target AND barcode = ? AND hash IS NOT DISTINCT FROM ?`,
      ),
      unconfirmNew: db.prepare(
        `INSERT INTO snapshot (connection, target, barcode, base, hash, status, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, acked_at, run_id)
         VALUES (:connection, :target, ?, :marker, :marker, 'unconfirmed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      overtaken: db.prepare(
        `DELETE FROM delivery_failures WHERE connection = :connection AND target = :target AND barcode IN (SELECT barcode FROM ${sql.seen})
           AND NOT EXISTS (SELECT 1 FROM staging s WHERE s.connection = delivery_failures.connection
                             AND s.barcode = delivery_failures.barcode AND s.valid = 1 AND s.hash = delivery_failures.base)`,
      ),
      failedAlone: db.prepare(
        `INSERT INTO delivery_failures (connection, target, barcode, hash, base, attempts, code, message, first_failed_at, last_failed_at, parked_at, run_id)
         VALUES (:connection, :target, :barcode, :hash, :base, 1, :code, :message, :now, :now, CASE WHEN :max <= 1 THEN :now END, :run)
         ON CONFLICT ${sql.conflict('connection, target, barcode')} DO UPDATE SET
           attempts = CASE WHEN delivery_failures.hash = excluded.hash THEN delivery_failures.attempts + 1 ELSE 1 END,
           first_failed_at = CASE WHEN delivery_failures.hash = excluded.hash THEN delivery_failures.first_failed_at ELSE excluded.first_failed_at END,
           parked_at = CASE WHEN (CASE WHEN delivery_failures.hash = excluded.hash THEN delivery_failures.attempts + 1 ELSE 1 END) >= :max THEN :now END,
           hash = excluded.hash, base = excluded.base, code = excluded.code, message = excluded.message, last_failed_at = excluded.last_failed_at,
           run_id = excluded.run_id
         RETURNING attempts, parked_at IS NOT NULL AS parked`,
      ),
    };
  }

  transaction<T>(work: () => T): T {
    return this.#db.transaction(work)();
  }

  /** The batches waiting in the outbox, oldest first, with how often each failed whole. */
  waitingBatches(): { id: number; attempts: number }[] {
    return this.#s.batches.all(this.#scope) as { id: number; attempts: number }[];
  }

  /** One waiting batch: its key, its body as sent, where its submission stands, and each offer beside what is newer for its barcode. */
  batch(id: number): StoredBatch | undefined {
    const row = this.#s.batch.get(id) as Omit<StoredBatch, 'offers'> | undefined;
    return row && { ...row, offers: this.waitingOffers(id) };
  }

  waitingOffers(id: number): WaitingOffer[] {
    return this.#s.waiting.all(id) as WaitingOffer[];
  }

  /** Writes a batch to the outbox, before anything of it is sent; returns its id. `body` is what is sent, as sent. */
  writeBatch(key: string, runId: number, at: string, offers: readonly BatchOffer[], body: string): number {
    return this.transaction(() => {
      const { id } = this.#s.insertBatch.get(key, runId, at, offers.length, body, this.#scope) as { id: number };
      offers.forEach((o, i) => this.#s.insertOffer.run(id, i, o.offer.barcode, o.kind, o.hash, o.base, o.previous, this.#scope));
      return id;
    });
  }

  deleteBatch(id: number): void {
    this.#s.deleteBatch.run(id);
  }

  batchFailed(id: number, error: string): void {
    this.#s.batchFailed.run(error, id);
  }

  /** The request for this batch is about to leave: from now on, its fate is unknown until the marketplace's id is recorded. */
  submitting(id: number, at: string): void {
    this.#s.submitting.run(at, id);
  }

  /** The marketplace queued the batch under this id. */
  submitted(id: number, ticket: string): void {
    this.#s.submitted.run(ticket, id);
  }

  /** The snapshot moves to what the marketplace answered, and the offer's delivery failures are over. */
  acknowledge(offer: Offer, content: { hash: string; base: string | null }, answer: Acknowledgement, at: string, runId: number): void {
    this.#s.acknowledge.run(
      offer.barcode, content.base, content.hash, answer.status, answer.offerId ?? null, offer.sku, offer.name, offer.price,
      offer.currency, String(offer.vatRate), offer.priceIncludesVat ? 1 : 0, offer.stock, offer.active ? 1 : 0,
      answer.error?.code ?? null, answer.error?.message ?? null, at, runId, this.#scope,
    );
    this.#s.delivered.run(offer.barcode, this.#scope);
  }

  /**
   * The staged product changed in a way this target never sees (its name,
   * for a price-and-stock API): what it holds is still current, so the
   * snapshot takes the new content as its base without anything sent.
   */
  rebase(offer: Offer, content: { hash: string; base: string }): void {
    this.#s.rebase.run(
      content.base, offer.sku, offer.name, offer.price, offer.currency, String(offer.vatRate), offer.priceIncludesVat ? 1 : 0, offer.stock,
      offer.active ? 1 : 0, offer.barcode, content.hash, this.#scope,
    );
  }

  /**
   * The marketplace may hold this offer or the state it replaced: the
   * snapshot stops claiming either (`marker` is never a content hash), so the
   * diff sends the current one. A new offer is remembered as maybe sent.
   */
  unconfirm(offer: Offer, previous: string | null, marker: string, at: string, runId: number): void {
    const named = { ...this.#scope, marker };
    if (previous === null) {
      this.#s.unconfirmNew.run(
        offer.barcode, offer.sku, offer.name, offer.price, offer.currency, String(offer.vatRate),
        offer.priceIncludesVat ? 1 : 0, offer.stock, offer.active ? 1 : 0, at, runId, named,
      );
    } else {
      this.#s.unconfirm.run(at, runId, offer.barcode, previous, named);
    }
  }

  /** Failures of content the latest pull no longer has (it changed, or it is invalid now) are over. */
  forgetOvertakenFailures(): void {
    this.#s.overtaken.run(this.#scope);
  }

  /** Counts a failed attempt of the offer's own content; parks it once `max` are reached. */
  countFailure(failure: { barcode: string; hash: string; base: string | null; code: string; message: string; at: string; max: number; runId: number }): { attempts: number; parked: boolean } {
    const { attempts, parked } = this.#s.failedAlone.get({
      ...this.#scope, barcode: failure.barcode, hash: failure.hash, base: failure.base, code: failure.code, message: failure.message,
      now: failure.at, max: failure.max, run: failure.runId,
    }) as { attempts: number; parked: number };
    return { attempts, parked: parked === 1 };
  }
}

/** How many offers of a connection are parked as dead letters, for one target or all of them. */
export function parkedOffers(db: Db, connection: string, target?: string): number {
  return target === undefined
    ? (db.prepare(`SELECT count(*) FROM delivery_failures WHERE connection = ? AND parked_at IS NOT NULL`).pluck().get(connection) as number)
    : (db.prepare(`SELECT count(*) FROM delivery_failures WHERE connection = ? AND target = ? AND parked_at IS NOT NULL`).pluck().get(connection, target) as number);
}

/** The offers of a target's outbox sent and not yet answered by an asynchronous marketplace. */
export function awaitingOffers(db: Db, connection: string, target: string): number {
  return db.prepare(`SELECT coalesce(sum(offers), 0) FROM outbox WHERE connection = ? AND target = ? AND submitted_at IS NOT NULL`).pluck().get(connection, target) as number;
}

export interface RetryScope {
  /** Only this connection; every connection when undefined. */
  connection?: string | undefined;
  /** Only this target; every target when undefined. */
  target?: string | undefined;
  /** Only these barcodes; every offer in scope when empty. */
  barcodes?: readonly string[] | undefined;
}

export interface RetryResult {
  /** Dead letters taken off the shelf: sent again, on their own, by the next run. */
  parked: { connection: string; target: string; barcode: string }[];
  /** Offers the marketplace rejected or does not list, to be sent again by the next run whatever the snapshot says. */
  rejected: { connection: string; target: string; barcode: string }[];
}

/**
 * `erp-sync retry`: offers the marketplace did not take are sent again by
 * the next run. A parked offer starts its attempts over (still alone, so it
 * cannot take a batch down with it); a rejected one, or one the marketplace
 * does not list, has its acknowledgement forgotten (marked unconfirmed), so
 * the diff sends it as if it had changed, a vanished one included.
 */
export function retryOffers(db: Db, scope: RetryScope): RetryResult {
  const where: string[] = [];
  const params: unknown[] = [];
  if (scope.connection !== undefined) {
    where.push('connection = ?');
    params.push(scope.connection);
  }
  if (scope.target !== undefined) {
    where.push('target = ?');
    params.push(scope.target);
  }
  if (scope.barcodes && scope.barcodes.length > 0) {
    where.push(`barcode IN (SELECT value FROM ${dialectOf(db).jsonValues('?', 'j')})`);
    params.push(JSON.stringify(scope.barcodes));
  }
  const and = where.map((w) => ` AND ${w}`).join('');
  return db.transaction(() => ({
    parked: db
      .prepare(`UPDATE delivery_failures SET attempts = 0, parked_at = NULL WHERE parked_at IS NOT NULL${and} RETURNING connection, target, barcode`)
      .all(...params) as RetryResult['parked'],
    rejected: db
      .prepare(`UPDATE snapshot SET base = :marker, hash = :marker WHERE status IN ('rejected', 'not_listed') AND hash < '~'${and} RETURNING connection, target, barcode`)
      .all(...params, { marker: unconfirmedMarker(`retry.${Date.now().toString(36)}`) }) as RetryResult['rejected'],
  }))();
}
