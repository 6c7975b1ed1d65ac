import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db.js';
import type { SqliteDb } from '../../src/store/db.js';
import { pruneLogs } from '../../src/store/retention.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-22T12:00:00.000Z');
let dir: string;
let db: SqliteDb;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'erp-sync-retention-'));
  db = openDatabase(join(dir, 'erp-sync.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A run `daysAgo` with `events` item events. */
function run(connection: string, daysAgo: number, status: string, events: number): number {
  const at = new Date(NOW - daysAgo * DAY).toISOString();
  const id = Number(db.prepare(`INSERT INTO runs (connection, driver, status, started_at) VALUES (?, 'demo', ?, ?)`).run(connection, status, at).lastInsertRowid);
  const insert = db.prepare(`INSERT INTO events (run_id, connection, at, barcode, stage, outcome, message, detail) VALUES (?, ?, ?, ?, 'push', 'rejected', ?, ?)`);
  const message = 'The marketplace refused the offer: the price is more than twice the category average. '.repeat(2);
  db.transaction(() => {
    for (let i = 0; i < events; i++) insert.run(id, connection, at, String(i), message, JSON.stringify({ kind: 'changed', price: '10.00', stock: i }));
  })();
  return id;
}

const runIds = () => (db.prepare(`SELECT id FROM runs ORDER BY id`).all() as { id: number }[]).map((r) => r.id);
const eventCount = (runId: number) => (db.prepare(`SELECT count(*) AS n FROM events WHERE run_id = ?`).get(runId) as { n: number }).n;

describe('pruneLogs', () => {
  it('deletes old runs of the connection with their events, keeping its latest run and latest success', () => {
    const oldSuccess = run('shop', 200, 'succeeded', 5);
    const oldFailure = run('shop', 150, 'failed', 5);
    const lastSuccess = run('shop', 120, 'succeeded', 5);
    const recent = run('shop', 30, 'failed', 5);
    const otherOld = run('depo', 200, 'succeeded', 5);
    run('depo', 1, 'succeeded', 1);

    const result = pruneLogs(db, 'shop', { retentionDays: 90, now: NOW, batchSize: 2 });
    expect(result).toMatchObject({ runsDeleted: 2, eventsDeleted: 10, complete: true });
    expect(runIds()).toEqual([lastSuccess, recent, otherOld, otherOld + 1]);
    expect([oldSuccess, oldFailure].map(eventCount)).toEqual([0, 0]);
    expect([lastSuccess, recent, otherOld].map(eventCount)).toEqual([5, 5, 5]);
  });

  it('stops when its time is up and carries on after the next run', () => {
    for (let i = 0; i < 5; i++) run('shop', 100 + i, 'failed', 3000);
    run('shop', 0, 'succeeded', 0);
    const first = pruneLogs(db, 'shop', { retentionDays: 90, now: NOW, batchSize: 500, budgetMs: 0 });
    expect(first.complete).toBe(false);
    expect(first.eventsDeleted).toBeLessThan(15_000);
    const second = pruneLogs(db, 'shop', { retentionDays: 90, now: NOW });
    expect(second.complete).toBe(true);
    expect(first.eventsDeleted + second.eventsDeleted).toBe(15_000);
    expect(runIds()).toHaveLength(1);
  });

  it('turns on incremental vacuum once a prune frees a quarter of the file, then frees pages a run at a time', () => {
    for (let i = 0; i < 4; i++) run('shop', 100 + i, 'failed', 5000);
    run('shop', 0, 'succeeded', 100);
    const pages = () => db.pragma('page_count', { simple: true }) as number;
    const before = pages();
    const result = pruneLogs(db, 'shop', { retentionDays: 90, now: NOW });
    expect(result.vacuumed).toBe(true);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect(pages()).toBeLessThan(before / 2);

    for (let i = 0; i < 2; i++) run('shop', 100 + i, 'failed', 5000);
    run('shop', 0, 'succeeded', 0);
    const again = pruneLogs(db, 'shop', { retentionDays: 90, now: NOW, vacuumPages: 10 });
    expect(again).toMatchObject({ vacuumed: false, freePagesReclaimed: 10 });
  });
});
