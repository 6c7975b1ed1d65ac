import { describe, expect, it } from 'vitest';
import type { ConnectionConfig } from '../../src/config/config.js';
import type { ConnectionStatus, RunRow } from '../../src/store/queries.js';
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
  return connectionView({ config, erp: 'Sandbox ERP', status, failingSince: minutesAgo(30), running: false, now: NOW });
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
