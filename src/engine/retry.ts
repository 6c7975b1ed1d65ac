import type { Db } from '../store/db.js';
import { unconfirmedMarker } from './push.js';

export interface RetryScope {
  /** Only this connection; every connection when undefined. */
  connection?: string | undefined;
  /** Only these barcodes; every offer in scope when empty. */
  barcodes?: readonly string[] | undefined;
}

export interface RetryResult {
  /** Dead letters taken off the shelf: sent again, on their own, by the next run. */
  parked: { connection: string; barcode: string }[];
  /** Offers the marketplace rejected, to be sent again by the next run whatever the snapshot says. */
  rejected: { connection: string; barcode: string }[];
}

/**
 * `erp-sync retry`: offers the marketplace did not take are sent again by
 * the next run. A parked offer starts its attempts over (still alone, so it
 * cannot take a batch down with it); a rejected one has its acknowledgement
 * forgotten (marked unconfirmed), so the diff sends it as if it had changed,
 * a vanished one included.
 */
export function retryOffers(db: Db, scope: RetryScope): RetryResult {
  const where: string[] = [];
  const params: unknown[] = [];
  if (scope.connection !== undefined) {
    where.push('connection = ?');
    params.push(scope.connection);
  }
  if (scope.barcodes && scope.barcodes.length > 0) {
    where.push(`barcode IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(scope.barcodes));
  }
  const and = where.map((w) => ` AND ${w}`).join('');
  return db.transaction(() => ({
    parked: db
      .prepare(`UPDATE delivery_failures SET attempts = 0, parked_at = NULL WHERE parked_at IS NOT NULL${and} RETURNING connection, barcode`)
      .all(...params) as RetryResult['parked'],
    rejected: db
      .prepare(`UPDATE snapshot SET hash = ? WHERE status = 'rejected' AND hash < '~'${and} RETURNING connection, barcode`)
      .all(unconfirmedMarker(`retry.${Date.now().toString(36)}`), ...params) as RetryResult['rejected'],
  }))();
}
