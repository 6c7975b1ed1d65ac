import { describe, expect, it } from 'vitest';
import { connectionHealth, isHealthy, standingOf } from '../../src/model/health.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
const health = (input: Partial<Parameters<typeof connectionHealth>[0]>) =>
  connectionHealth({ lastFinished: { status: 'succeeded', exitCode: 0 }, lastSuccessAt: ago(5), freshnessMinutes: 120, parked: 0, now: NOW, ...input });

describe('one health for the page, /healthz, status and alerts', () => {
  it('names what a person has to act on first', () => {
    expect(health({ lastFinished: null })).toBe('never');
    expect(health({ lastFinished: { status: 'guarded', exitCode: 65 }, parked: 3 })).toBe('guarded');
    expect(health({ lastFinished: { status: 'failed', exitCode: 77 } })).toBe('credentials');
    expect(health({ lastFinished: { status: 'partial', exitCode: 75 }, parked: 3 })).toBe('failing');
    expect(health({ lastSuccessAt: ago(121), parked: 3 })).toBe('stale');
    expect(health({ lastSuccessAt: ago(121), freshnessMinutes: 0 })).toBe('healthy');
    expect(health({ parked: 1 })).toBe('parked');
    expect(health({})).toBe('healthy');
    expect(isHealthy('parked')).toBe(false);
  });

  it('leads status with not syncing, needs attention, OK or never synced', () => {
    const detail = { openAlerts: 0, failingItems: 0, lastRunStatus: 'succeeded', everSucceeded: true };
    expect(standingOf('never', { ...detail, lastRunStatus: undefined, everSucceeded: false })).toBe('never');
    expect(standingOf('healthy', detail)).toBe('ok');
    expect(standingOf('healthy', { ...detail, failingItems: 2 })).toBe('attention');
    expect(standingOf('failing', { ...detail, lastRunStatus: 'partial' })).toBe('attention');
    expect(standingOf('failing', { ...detail, lastRunStatus: 'failed' })).toBe('broken');
    expect(standingOf('stale', detail)).toBe('attention');
    expect(standingOf('stale', { ...detail, openAlerts: 1 })).toBe('broken');
    expect(standingOf('credentials', detail)).toBe('broken');
    expect(standingOf('never', { ...detail, lastRunStatus: 'running', everSucceeded: false })).toBe('broken');
  });
});
