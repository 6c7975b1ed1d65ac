import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionConfig } from '../../src/config/config.js';
import { emptyCounters } from '../../src/model/run.js';
import type { RunSummary, TargetSummary } from '../../src/model/run.js';
import { openDatabase } from '../../src/store/db.js';
import type { Db } from '../../src/store/db.js';
import { EventLog } from '../../src/store/items.js';
import { connectionStatus, countFailedItems } from '../../src/store/queries.js';
import type { ConnectionStatus, ProblemItem, RunRow } from '../../src/store/queries.js';
import { finishRun, recordTarget, startRun } from '../../src/store/runs.js';
import { itemPage } from '../../src/web/data.js';
import { escapeHtml, pickLanguage } from '../../src/web/page.js';
import { isLoopbackBind, isLoopbackHostHeader } from '../../src/web/security.js';
import { connectionView, healthReport } from '../../src/web/status.js';
import { prometheusText } from '../../src/web/metrics.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

function run(overrides: Partial<RunRow>): RunRow {
  return {
    id: 1, connection: 'shop', driver: 'demo', status: 'succeeded', dryRun: false, resync: false, startedAt: minutesAgo(11),
    finishedAt: minutesAgo(10), durationMs: 60_000, pullComplete: true, pulled: 10, invalid: 0, new: 0, changed: 0, vanished: 0,
    unchanged: 10, pushed: 3, created: 1, updated: 2, pendingApproval: 0, rejected: 0, notListed: 0, failed: 0, submitted: 0, awaiting: 0,
    exitCode: 0, errorCode: null,
    errorMessage: null, ...overrides,
  };
}

function view(last: RunRow | null, lastSuccess: RunRow | null, settings: Record<string, string> = {}) {
  const config: ConnectionConfig = { name: 'shop', driver: 'demo', settings, secretStore: 'env', createdAt: '', updatedAt: '' };
  const status: ConnectionStatus = { connection: 'shop', lastSuccess, lastRun: last, lastFinished: last, failing: 0, pendingApproval: 0, parked: 0, openAlerts: [], targets: [] };
  return connectionView({ config, erp: 'Sandbox ERP', status, failingSince: minutesAgo(30), running: false, targetFailing: () => 0, now: NOW });
}

describe('connection health', () => {
  it('is healthy within the freshness window and stale after it, per freshnessMinutes', () => {
    const ok = run({});
    expect(view(ok, ok).health).toBe('healthy');
    const old = run({ finishedAt: minutesAgo(121) });
    expect(view(old, old).health).toBe('stale');
    expect(view(old, old, { freshnessMinutes: '180' }).health).toBe('healthy');
    expect(view(ok, ok, { freshnessMinutes: '5' }).health).toBe('stale');
    expect(view(old, old, { freshnessMinutes: '0' }).health).toBe('healthy');
  });

  it('names rejected credentials, the safety guard and other failures, with when failing began', () => {
    const ok = run({});
    expect(view(run({ id: 2, status: 'failed', exitCode: 77, errorCode: 'ERP_CREDENTIALS_REJECTED' }), ok).health).toBe('credentials');
    expect(view(run({ id: 2, status: 'guarded', exitCode: 65, errorCode: 'MASS_VANISH' }), ok).health).toBe('guarded');
    const failing = view(run({ id: 2, status: 'partial', exitCode: 75, errorCode: 'UNDELIVERED', errorMessage: '3 offers were not delivered' }), ok);
    expect(failing).toMatchObject({ health: 'failing', failingSince: minutesAgo(30), error: { code: 'UNDELIVERED' } });
    expect(view(null, null).health).toBe('never');
  });

  it('makes /healthz unhealthy when any connection is not healthy, or none is configured', () => {
    const ok = run({});
    expect(healthReport([view(ok, ok)]).healthy).toBe(true);
    const report = healthReport([view(ok, ok), { ...view(ok, ok), name: 'depo', health: 'stale' }]);
    expect(report.healthy).toBe(false);
    expect(report.lines[1]).toMatch(/^depo: no successful sync within 120 minutes/);
    expect(healthReport([])).toEqual({ healthy: false, lines: ['no connections are configured'] });
  });

  it('leaves out of /metrics what a connection that never ran does not have', () => {
    const text = prometheusText([view(null, null)]);
    expect(text).not.toContain('erp_sync_last_success_timestamp_seconds{');
    expect(text).toContain('erp_sync_healthy{connection="shop"} 0\n');
  });
});

describe('targets on the page and in /metrics, from a real database', () => {
  let dir: string;
  let db: Db;
  const config: ConnectionConfig = { name: 'shop', driver: 'demo', settings: {}, secretStore: 'env', createdAt: '', updatedAt: '' };
  const configured = [
    { name: 'hepsiburada', kind: 'hepsiburada' },
    { name: 'marketplace', kind: 'offer-api' },
    { name: 'n11', kind: 'n11' },
    { name: 'trendyol', kind: 'trendyol' },
  ];

  function target(name: string, kind: string, overrides: Partial<TargetSummary>): TargetSummary {
    return {
      target: name, kind, ...emptyCounters(), status: 'succeeded', new: 0, changed: 0, vanished: 0, unchanged: 0, awaiting: 0, parked: 0,
      requests: 1, bytes: 100, durationMs: 1500, error: null, ...overrides,
    };
  }

  /** A run as the engine records it: its row, each target's part, the items' outcomes, then how it ended. */
  function recordRun(startedAt: string, finishedAt: string, targets: TargetSummary[], outcomes: { target: string; barcode: string; outcome: 'rejected' | 'not_listed' | 'failed' | 'updated' }[]): void {
    const runId = startRun(db, { connection: 'shop', driver: 'demo', dryRun: false, resync: false, startedAt, at: startedAt });
    for (const t of targets) recordTarget(db, runId, t);
    for (const o of outcomes) new EventLog(db, 'shop', runId, o.target).record({ barcode: o.barcode, stage: 'push', outcome: o.outcome, code: o.outcome.toUpperCase() }, finishedAt);
    const sum = (key: 'pushed' | 'rejected' | 'notListed' | 'failed' | 'submitted' | 'awaiting') => targets.reduce((n, t) => n + t[key], 0);
    const summary: RunSummary = {
      runId, connection: 'shop', driver: 'demo', status: 'partial', dryRun: false, startedAt, finishedAt, durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
      pullMs: 0, pushMs: 0, pullComplete: true, exitCode: 75, error: { code: 'CREDENTIALS_REJECTED', message: 'Trendyol answered 401', hint: undefined },
      peakRssMb: 0, parked: 0, warnings: [], awaiting: sum('awaiting'), targets, pulled: 20, invalid: 0, new: 0, changed: 0, vanished: 0, unchanged: 0,
      ...emptyCounters(), pushed: sum('pushed'), rejected: sum('rejected'), notListed: sum('notListed'), failed: sum('failed'), submitted: sum('submitted'),
    };
    finishRun(db, summary);
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'erp-sync-web-units-'));
    db = openDatabase(join(dir, 'erp-sync.db'));
    // An earlier run delivered to Trendyol; the latest one found its credentials refused.
    recordRun(minutesAgo(60), minutesAgo(59), [target('trendyol', 'trendyol', { pushed: 4, updated: 4, submitted: 4 })], []);
    recordRun(minutesAgo(11), minutesAgo(10), [
      target('marketplace', 'offer-api', { pushed: 6, created: 6 }),
      target('n11', 'n11', { submitted: 9, pushed: 7, updated: 4, rejected: 1, notListed: 2, awaiting: 2, bytes: 2048 }),
      target('trendyol', 'trendyol', { status: 'failed', error: { code: 'CREDENTIALS_REJECTED', message: 'Trendyol answered 401', hint: undefined } }),
    ], [
      { target: 'n11', barcode: '8690000000011', outcome: 'rejected' },
      { target: 'n11', barcode: '8690000000012', outcome: 'not_listed' },
      { target: 'n11', barcode: '8690000000013', outcome: 'not_listed' },
      { target: 'n11', barcode: '8690000000014', outcome: 'updated' },
    ]);
  });

  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const views = () => {
    const [status] = connectionStatus(db, ['shop'], () => configured);
    const targetFailing = (name: string) => countFailedItems(db, { connection: 'shop', target: name, delivery: true, outcomes: ['rejected', 'failed'] });
    return [connectionView({ config, erp: 'Sandbox ERP', status: status!, failingSince: null, running: false, targetFailing, now: NOW })];
  };

  it('gives each configured target its own health, last delivery, last run and open problems', () => {
    const targets = Object.fromEntries(views()[0]!.targets.map((t) => [t.name, t]));
    expect(Object.keys(targets)).toEqual(['hepsiburada', 'marketplace', 'n11', 'trendyol']);
    expect(targets.hepsiburada).toMatchObject({ kind: 'hepsiburada', marketplace: 'Hepsiburada', health: 'never', lastDeliveryAt: null, lastRun: null });
    expect(targets.marketplace).toMatchObject({ marketplace: null, health: 'healthy', lastDeliveryAt: minutesAgo(10), lastRun: { pushed: 6, created: 6 } });
    expect(targets.n11).toMatchObject({
      health: 'healthy', lastDeliveryAt: minutesAgo(10), failingItems: 1, error: null,
      lastRun: { submitted: 9, pushed: 7, rejected: 1, notListed: 2, awaiting: 2, bytes: 2048 },
    });
    expect(targets.trendyol).toMatchObject({
      health: 'credentials', lastDeliveryAt: minutesAgo(59), error: { code: 'CREDENTIALS_REJECTED', message: 'Trendyol answered 401' }, lastRun: { status: 'failed', pushed: 0 },
    });
  });

  it('lists a target\'s failed items, not-listed ones included, and only that target\'s', () => {
    const n11 = itemPage(db, 'failed', { connection: 'shop', target: 'n11' }, 50, 0);
    expect(n11.total).toBe(3);
    expect((n11.items as ProblemItem[]).map((i) => [i.target, i.barcode, i.outcome]).sort()).toEqual([
      ['n11', '8690000000011', 'rejected'], ['n11', '8690000000012', 'not_listed'], ['n11', '8690000000013', 'not_listed'],
    ]);
    expect(itemPage(db, 'failed', { connection: 'shop', target: 'trendyol' }, 50, 0).total).toBe(0);
  });

  it('labels every target series by connection and target, the kind on erp_sync_target_info, and keeps the connection series', () => {
    const text = prometheusText(views());
    const series = (name: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`));
    expect(series('erp_sync_target_info')).toEqual([
      'erp_sync_target_info{connection="shop",target="hepsiburada",kind="hepsiburada"} 1',
      'erp_sync_target_info{connection="shop",target="marketplace",kind="offer-api"} 1',
      'erp_sync_target_info{connection="shop",target="n11",kind="n11"} 1',
      'erp_sync_target_info{connection="shop",target="trendyol",kind="trendyol"} 1',
    ]);
    expect(series('erp_sync_target_healthy')).toEqual([
      'erp_sync_target_healthy{connection="shop",target="hepsiburada"} 0',
      'erp_sync_target_healthy{connection="shop",target="marketplace"} 1',
      'erp_sync_target_healthy{connection="shop",target="n11"} 1',
      'erp_sync_target_healthy{connection="shop",target="trendyol"} 0',
    ]);
    expect(series('erp_sync_target_last_delivery_timestamp_seconds')).toEqual([
      `erp_sync_target_last_delivery_timestamp_seconds{connection="shop",target="marketplace"} ${Date.parse(minutesAgo(10)) / 1000}`,
      `erp_sync_target_last_delivery_timestamp_seconds{connection="shop",target="n11"} ${Date.parse(minutesAgo(10)) / 1000}`,
      `erp_sync_target_last_delivery_timestamp_seconds{connection="shop",target="trendyol"} ${Date.parse(minutesAgo(59)) / 1000}`,
    ]);
    expect(text).toContain('erp_sync_target_last_run_items_pushed{connection="shop",target="n11"} 7\n');
    expect(text).toContain('erp_sync_target_last_run_items_not_listed{connection="shop",target="n11"} 2\n');
    expect(text).toContain('erp_sync_target_last_run_items_submitted{connection="shop",target="n11"} 9\n');
    expect(text).toContain('erp_sync_target_last_run_sent_bytes{connection="shop",target="n11"} 2048\n');
    expect(text).toContain('erp_sync_target_last_run_duration_seconds{connection="shop",target="n11"} 1.5\n');
    expect(text).toContain('erp_sync_target_failing_offers{connection="shop",target="n11"} 1\n');
    expect(text).toContain('erp_sync_target_last_run_items_pushed{connection="shop",target="trendyol"} 0\n');
    expect(series('erp_sync_target_last_run_items_pushed')).toHaveLength(3);
    // Each family once, with its HELP and TYPE, and the connection's own series as before.
    expect(text.match(/^# TYPE erp_sync_target_failing_offers gauge$/gm)).toHaveLength(1);
    expect(text).toContain('erp_sync_last_run_items_pushed{connection="shop"} 13\n');
    expect(text).toContain('erp_sync_healthy{connection="shop"} 0\n');
  });
});

describe('page helpers', () => {
  it('picks the language from the switch, then its cookie, then Accept-Language by weight', () => {
    expect(pickLanguage('en', 'tr', 'tr-TR')).toBe('en');
    expect(pickLanguage(null, 'tr', 'en-US')).toBe('tr');
    expect(pickLanguage(null, undefined, 'de-DE,tr;q=0.8,en;q=0.5')).toBe('tr');
    expect(pickLanguage(null, undefined, 'en;q=0.3,tr-TR;q=0.9')).toBe('tr');
    expect(pickLanguage(null, undefined, 'tr;q=0,en')).toBe('en');
    expect(pickLanguage(null, undefined, undefined)).toBe('en');
  });

  it('escapes everything HTML could read as markup', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('tells loopback binds and Host headers apart from everything else', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) expect(isLoopbackBind(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) expect(isLoopbackBind(host), host).toBe(false);
    for (const host of ['127.0.0.1:7420', 'localhost', 'LOCALHOST:1', '[::1]:7420']) expect(isLoopbackHostHeader(host), host).toBe(true);
    for (const host of ['evil.example', '127.0.0.1.nip.io:7420', 'localhost.evil.example', '[::2]', '127.0.0.1:7420:1', undefined]) {
      expect(isLoopbackHostHeader(host), String(host)).toBe(false);
    }
  });
});
