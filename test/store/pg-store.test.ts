import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alertSeen, alertsToNotify, claimNotification, closeAlert, insertAlert, lastSuccessAt, noteNotifyError, openAlert, recentAttempts, recordNotification,
} from '../../src/store/alerts.js';
import { purgeConnection } from '../../src/store/db.js';
import { retryOffers } from '../../src/store/delivery.js';
import { openPgStore } from '../../src/store/pg-schema.js';
import type { PgDatabase } from '../../src/store/pg.js';
import { pruneLogs } from '../../src/store/retention.js';
import { finishRun, startRun } from '../../src/store/runs.js';
import { EventLog } from '../../src/store/items.js';
import { freshDatabase, requirePostgres } from '../support/hosted.js';

/** What the engine's runs do not reach in the other PostgreSQL tests: alerts and their webhooks' leases, retention, retry, purge. */

const DAY = 86_400_000;

describe.runIf(requirePostgres())('the rest of the store on PostgreSQL', () => {
  let db: PgDatabase;

  beforeAll(() => {
    db = openPgStore(freshDatabase('pg_store'), 'acme');
  });
  afterAll(() => db?.close());

  it('keeps an alert, its lease and its notifications', () => {
    const at = '2026-11-01T10:00:00.000Z';
    insertAlert(db, { connection: 'shop', kind: 'failing', message: 'three runs failed', at, runId: null, detail: { runs: 3 } });
    const alert = openAlert(db, 'shop')!;
    expect(alert).toMatchObject({ connection: 'shop', kind: 'failing', closed_at: null, detail: '{"runs":3}' });
    expect(alert).not.toHaveProperty('tenant');
    expect(alertsToNotify(db, 'shop').map((a) => a.id)).toEqual([alert.id]);
    expect(claimNotification(db, alert.id, at, '2026-11-01T10:05:00.000Z')).toBe(true);
    expect(claimNotification(db, alert.id, at, '2026-11-01T10:05:00.000Z')).toBe(false);
    noteNotifyError(db, [alert.id], 'webhook down');
    recordNotification(db, alert.id, 'opened', '2026-11-01T10:01:00.000Z', null);
    expect(alertsToNotify(db, 'shop')).toEqual([]);
    alertSeen(db, alert.id, '2026-11-01T11:00:00.000Z');
    closeAlert(db, alert.id, '2026-11-01T12:00:00.000Z');
    expect(openAlert(db, 'shop')).toBeUndefined();
    expect(alertsToNotify(db, 'shop').map((a) => a.id)).toEqual([alert.id]);
  });

  it('prunes old runs with their events, keeping the latest and the latest success', () => {
    const now = Date.parse('2026-11-22T12:00:00.000Z');
    const ids: number[] = [];
    for (let day = 200; day >= 0; day -= 20) {
      const startedAt = new Date(now - day * DAY).toISOString();
      const id = startRun(db, { connection: 'old', driver: 'demo', dryRun: false, resync: false, startedAt, at: startedAt });
      ids.push(id);
      const log = new EventLog(db, 'old', id);
      for (let i = 0; i < 5; i++) log.record({ barcode: `b${i}`, stage: 'validate', outcome: 'invalid', code: 'PRICE_MISSING' }, startedAt);
      finishRun(db, {
        runId: id, connection: 'old', status: day === 200 ? 'succeeded' : 'failed', finishedAt: startedAt, durationMs: 1, pulled: 0, invalid: 0, new: 0,
        changed: 0, vanished: 0, unchanged: 0, pushed: 0, created: 0, updated: 0, pendingApproval: 0, rejected: 0, notListed: 0, failed: 0,
        awaiting: 0, exitCode: 0, error: null, parked: 0, warnings: [],
      } as never);
    }
    expect(recentAttempts(db, 'old', 3)).toHaveLength(3);
    expect(lastSuccessAt(db, 'old')).toBe(new Date(now - 200 * DAY).toISOString());
    const result = pruneLogs(db, 'old', { retentionDays: 90, batchSize: 2, now });
    expect(result).toMatchObject({ complete: true, vacuumed: false, freePagesReclaimed: 0 });
    // Runs of days 200 (the latest success) and 80…0 stay; 180…100 go, with their events.
    expect(result.runsDeleted).toBe(5);
    expect(result.eventsDeleted).toBe(25);
    expect(db.prepare(`SELECT count(*) FROM runs WHERE connection = 'old'`).pluck().get()).toBe(ids.length - 5);
    expect(db.prepare(`SELECT count(*) FROM events WHERE connection = 'old'`).pluck().get()).toBe((ids.length - 5) * 5);
  });

  it('retries rejected and parked offers by scope, and purges a connection', () => {
    const insertSnapshot = db.prepare(
      `INSERT INTO snapshot (connection, target, barcode, base, hash, status, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, acked_at)
       VALUES ('shop', ?, ?, 'h', 'h', ?, 's', 'n', '1.00', 'TRY', '20', 1, 1, 1, 'x')`,
    );
    insertSnapshot.run('marketplace', '1', 'rejected');
    insertSnapshot.run('marketplace', '2', 'created');
    insertSnapshot.run('trendyol', '1', 'not_listed');
    db.prepare(
      `INSERT INTO delivery_failures (connection, target, barcode, hash, attempts, first_failed_at, last_failed_at, parked_at) VALUES ('shop', 'marketplace', '2', 'h', 5, 'x', 'x', 'x')`,
    ).run();
    expect(retryOffers(db, { connection: 'shop', target: 'trendyol', barcodes: ['1', '2'] })).toEqual({
      parked: [], rejected: [{ connection: 'shop', target: 'trendyol', barcode: '1' }],
    });
    expect(retryOffers(db, { connection: 'shop' })).toEqual({
      parked: [{ connection: 'shop', target: 'marketplace', barcode: '2' }], rejected: [{ connection: 'shop', target: 'marketplace', barcode: '1' }],
    });
    purgeConnection(db, 'shop');
    for (const table of ['snapshot', 'delivery_failures', 'alerts']) {
      expect(db.prepare(`SELECT count(*) FROM ${table} WHERE connection = 'shop'`).pluck().get(), table).toBe(0);
    }
  });
});
