import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db.js';
import type { Db } from '../../src/store/db.js';
import { EventLog } from '../../src/store/items.js';
import {
  connectionStatus, countFailedItems, countItemEvents, countPendingItems, explainProduct, failedCodes, failedItems, foldForSearch, itemEvents, pendingItems, recentRuns,
} from '../../src/store/queries.js';

let dir: string;
let db: Db;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'erp-sync-queries-'));
  db = openDatabase(join(dir, 'erp-sync.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(connection: string, status: string, startedAt: string, dryRun = false): number {
  return Number(
    db.prepare(`INSERT INTO runs (connection, driver, status, dry_run, started_at, finished_at) VALUES (?, 'demo', ?, ?, ?, ?)`)
      .run(connection, status, dryRun ? 1 : 0, startedAt, startedAt).lastInsertRowid,
  );
}

function stage(connection: string, barcode: string, valid: boolean): void {
  db.prepare(`INSERT INTO staging (connection, barcode, sku, name, valid, hash) VALUES (?, ?, ?, ?, ?, ?)`).run(connection, barcode, `SKU-${barcode}`, 'x', valid ? 1 : 0, valid ? 'h' : null);
}

describe('foldForSearch', () => {
  it('matches Turkish capitals both ways and forgives a missing dot or cedilla', () => {
    expect(foldForSearch('İSTANBUL')).toBe(foldForSearch('istanbul'));
    expect(foldForSearch('IŞIK')).toBe(foldForSearch('ışık'));
    expect(foldForSearch('IŞIK')).toBe(foldForSearch('isik'));
    expect(foldForSearch('ÇAYDANLIK')).toBe('caydanlik');
    expect(foldForSearch('Ğ')).toBe('g');
  });
});

describe('read models', () => {
  it('filters runs by connection and time, newest first, leaving dry runs out', () => {
    const a = run('shop', 'succeeded', '2026-11-01T10:00:00.000Z');
    const b = run('shop', 'failed', '2026-11-02T10:00:00.000Z');
    run('shop', 'succeeded', '2026-11-03T10:00:00.000Z', true);
    const c = run('depo', 'succeeded', '2026-11-03T10:00:00.000Z');
    expect(recentRuns(db).map((r) => r.id)).toEqual([c, b, a]);
    expect(recentRuns(db, { connection: 'shop' }).map((r) => r.id)).toEqual([b, a]);
    expect(recentRuns(db, { since: '2026-11-02T00:00:00.000Z', limit: 1 }).map((r) => r.id)).toEqual([c]);
  });

  it('searches events in Turkish and pages through them', () => {
    const runId = run('shop', 'succeeded', '2026-11-01T10:00:00.000Z');
    const log = new EventLog(db, 'shop', runId);
    db.transaction(() => {
      log.record({ barcode: '1', sku: 'A-1', name: 'KIRMIZI Kalem', stage: 'push', outcome: 'created' });
      log.record({ barcode: '2', sku: 'A-2', name: 'İnce Defter', stage: 'push', outcome: 'rejected', code: 'PRICE_TOO_HIGH' });
      log.record({ barcode: '3', sku: 'B-3', name: 'Silgi', stage: 'push', outcome: 'created' });
    })();
    expect(itemEvents(db, { search: 'kırmızı' }).map((e) => e.barcode)).toEqual(['1']);
    expect(itemEvents(db, { search: 'kirmizi' }).map((e) => e.barcode)).toEqual(['1']);
    expect(itemEvents(db, { search: 'ince' }).map((e) => e.barcode)).toEqual(['2']);
    expect(itemEvents(db, { search: 'a-' }).map((e) => e.barcode)).toEqual(['2', '1']);
    expect(itemEvents(db, { outcome: 'rejected' })[0]).toMatchObject({ barcode: '2', code: 'PRICE_TOO_HIGH' });
    expect(itemEvents(db, { code: 'PRICE_TOO_HIGH' }).map((e) => e.barcode)).toEqual(['2']);
    expect(itemEvents(db, { limit: 1, offset: 1 }).map((e) => e.barcode)).toEqual(['2']);
    expect(countItemEvents(db, { search: 'a-' })).toBe(2);
  });

  it('keeps an item failing only while it still is', () => {
    const first = run('shop', 'partial', '2026-11-01T10:00:00.000Z');
    const log = new EventLog(db, 'shop', first);
    db.transaction(() => {
      log.record({ barcode: 'F', stage: 'push', outcome: 'failed', code: 'HTTP_503' });
      log.record({ barcode: 'R', stage: 'push', outcome: 'rejected', code: 'PRICE_TOO_HIGH' });
      log.record({ barcode: 'I', stage: 'validate', outcome: 'invalid', code: 'PRICE_MISSING' });
      log.record({ barcode: 'GONE', stage: 'validate', outcome: 'invalid', code: 'PRICE_MISSING' });
      log.record({ barcode: 'FIXED', stage: 'validate', outcome: 'invalid', code: 'PRICE_MISSING' });
      log.record({ sku: 'NOBARCODE', stage: 'validate', outcome: 'invalid', code: 'BARCODE_MISSING' });
      log.record({ barcode: 'P', stage: 'push', outcome: 'pending_approval' });
    })();
    stage('shop', 'I', false);
    stage('shop', 'FIXED', true);
    expect(failedItems(db).map((i) => i.item).sort()).toEqual(['F', 'I', 'R', 'sku:NOBARCODE']);
    expect(countFailedItems(db, { connection: 'shop' })).toBe(4);
    expect(countFailedItems(db, { connection: 'depo' })).toBe(0);

    new EventLog(db, 'shop', run('shop', 'succeeded', '2026-11-01T10:15:00.000Z')).record({ barcode: 'F', stage: 'push', outcome: 'updated' });
    expect(failedItems(db).map((i) => i.item).sort()).toEqual(['I', 'R', 'sku:NOBARCODE']);
  });

  it('narrows failed items by error code and by when the problem was recorded, in SQL', () => {
    const log = new EventLog(db, 'shop', run('shop', 'partial', '2026-11-01T10:00:00.000Z'));
    db.transaction(() => {
      log.record({ barcode: 'OLD', stage: 'push', outcome: 'failed', code: 'HTTP_503' }, '2026-11-01T10:00:00.000Z');
      log.record({ barcode: 'NEW', stage: 'push', outcome: 'failed', code: 'HTTP_503' }, '2026-11-03T10:00:00.000Z');
      log.record({ barcode: 'R', stage: 'push', outcome: 'rejected', code: 'PRICE_TOO_HIGH' }, '2026-11-03T11:00:00.000Z');
      log.record({ barcode: 'OK', stage: 'push', outcome: 'created' }, '2026-11-03T12:00:00.000Z');
    })();
    expect(failedItems(db, { code: 'HTTP_503' }).map((i) => i.item)).toEqual(['NEW', 'OLD']);
    expect(failedItems(db, { since: '2026-11-02T00:00:00.000Z' }).map((i) => i.item)).toEqual(['R', 'NEW']);
    expect(failedItems(db, { code: 'HTTP_503', since: '2026-11-02T00:00:00.000Z' }).map((i) => i.item)).toEqual(['NEW']);
    expect(countFailedItems(db, { code: 'HTTP_503', since: '2026-11-02T00:00:00.000Z' })).toBe(1);
    expect(countFailedItems(db, { code: 'NO_SUCH_CODE' })).toBe(0);
    // The codes offered for the filter ignore the code chosen, but not the other filters.
    expect(failedCodes(db, { code: 'HTTP_503' })).toEqual(['HTTP_503', 'PRICE_TOO_HIGH']);
    expect(failedCodes(db, { search: 'OLD' })).toEqual(['HTTP_503']);
  });

  it('reads pending offers from the snapshot and sums up each connection', () => {
    const runId = run('shop', 'succeeded', '2026-11-01T10:00:00.000Z');
    const insert = db.prepare(
      `INSERT INTO snapshot (connection, target, barcode, hash, base, status, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, acked_at, run_id)
       VALUES ('shop', 'marketplace', ?, 'h', 'h', ?, 'S', 'N', '1.00', 'TRY', '20', 1, 1, 1, '2026-11-01T10:00:00.000Z', ?)`,
    );
    insert.run('A', 'pending_approval', runId);
    insert.run('B', 'created', runId);
    db.prepare(`INSERT INTO alerts (connection, kind, message, opened_at, last_seen_at) VALUES ('shop', 'failing_runs', 'm', '2026-11-01', '2026-11-01')`).run();
    db.prepare(`INSERT INTO alerts (connection, kind, message, opened_at, last_seen_at, closed_at) VALUES ('shop', 'old', 'm', '2026-10-01', '2026-10-01', '2026-10-02')`).run();
    expect(pendingItems(db).map((p) => p.barcode)).toEqual(['A']);
    expect(pendingItems(db, { since: '2026-11-01T10:00:00.000Z' }).map((p) => p.barcode)).toEqual(['A']);
    expect(countPendingItems(db, { since: '2026-11-01T10:00:00.001Z' })).toBe(0);
    const [shop, never] = connectionStatus(db, ['shop', 'never-ran']);
    expect(shop).toMatchObject({ connection: 'shop', pendingApproval: 1, failing: 0, lastSuccess: { id: runId }, lastRun: { id: runId } });
    expect(shop!.openAlerts.map((a) => a.kind)).toEqual(['failing_runs']);
    expect(never).toMatchObject({ lastRun: null, lastSuccess: null, failing: 0, pendingApproval: 0, openAlerts: [] });
    expect(explainProduct(db, 'S').acknowledged.map((a) => a.barcode).sort()).toEqual(['A', 'B']);
  });

  it('counts a connection\'s problems and unanswered offers from their own indexes, never by reading every offer it has', () => {
    const statements: string[] = [];
    const prepare = db.prepare.bind(db);
    const spied = Object.assign(Object.create(db) as Db, { prepare: (sql: string) => (statements.push(sql), prepare(sql)) });
    connectionStatus(spied, ['shop'], () => [{ name: 'marketplace', kind: 'offer-api' }]);
    const plans = statements
      .filter((sql) => /\b(snapshot|item_state)\b/.test(sql))
      .map((sql) => (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters(sql)) as { detail: string }[]).map((row) => row.detail));
    expect(plans.length).toBeGreaterThanOrEqual(3);
    for (const plan of plans) {
      for (const step of plan) {
        // A step over either table either goes through one of the partial indexes or looks up one product by its barcode.
        if (!/\b(snapshot|item_state|[pi])\b/.test(step) || /\bs USING PRIMARY KEY \(connection=\? AND barcode=\?\)/.test(step)) continue;
        expect(step).toMatch(/USING COVERING INDEX (item_state_problems|snapshot_pending_approval|snapshot_not_listed) /);
      }
    }
    expect(plans.flat().join('\n')).toMatch(/item_state_problems[\s\S]*snapshot_pending_approval[\s\S]*snapshot_not_listed/);
  });
});

/** Placeholder values for a statement's parameters, positional or named, so that its plan can be read. */
function parameters(sql: string): unknown[] {
  const named = [...new Set(sql.match(/:[a-z]+/gi) ?? [])];
  if (named.length > 0) return [Object.fromEntries(named.map((name) => [name.slice(1), 'x']))];
  return Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 'x');
}
