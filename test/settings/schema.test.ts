import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors/index.js';
import {
  connectionSettings, parseRateLimit, readSettings, readSettingsForView, settingProblem, settingsOwner, targetSettings,
} from '../../src/settings/schema.js';

const owner = settingsOwner({ name: 'shop', driver: 'entegra' });

describe('the settings schema', () => {
  it('gives every setting its default when it is unset or empty', () => {
    const settings = readSettings(connectionSettings, { timeoutMs: '' }, owner);
    expect(settings).toMatchObject({
      retries: 4, retryMinDelayMs: 500, timeoutMs: 60_000, massVanishPercent: 20, freshnessMinutes: 120, retentionDays: 90,
      runTimeoutMinutes: 120, maxPullGrowthPercent: 200, maxProducts: 2_000_000,
    });
    // The driver's own limit and concurrency apply when these are unset.
    expect(settings.rateLimit).toBeUndefined();
    expect(settings.concurrency).toBeUndefined();
    expect(readSettings(targetSettings, {}, settingsOwner({ name: 'marketplace', kind: 'offer-api' }))).toMatchObject({
      batchSize: 500, maxConsecutiveFailures: 3, maxAttempts: 5, resultWaitSeconds: 60, minIntervalMinutes: undefined,
    });
  });

  it('reads what --set stored, fractions where a setting takes them', () => {
    const settings = readSettings(connectionSettings, { retentionDays: '30', runTimeoutMinutes: '0.5', rateLimit: '60/1m', concurrency: '2' }, owner);
    expect(settings).toMatchObject({ retentionDays: 30, runTimeoutMinutes: 0.5, rateLimit: { requests: 60, perMs: 60_000 }, concurrency: 2 });
    expect(parseRateLimit('7200/1h')).toEqual({ requests: 7200, perMs: 3_600_000 });
    expect(parseRateLimit('20/s')).toEqual({ requests: 20, perMs: 1000 });
  });

  it('refuses a stored value it cannot read, naming the connection, the setting and what to run', () => {
    const read = () => readSettings(connectionSettings, { retentionDays: 'forever' }, owner);
    expect(read).toThrow(UserError);
    expect(read).toThrow('the connection "shop" setting retentionDays must be a whole number, not "forever"');
    try {
      read();
    } catch (error) {
      expect(error).toMatchObject({ code: 'BAD_SETTING', exitCode: 78, hint: 'Set it again with `erp-sync connect entegra --name shop --set retentionDays=VALUE`.' });
    }
  });

  it('lets views fall back to the default instead of failing on a value only the run acts on', () => {
    expect(readSettingsForView(connectionSettings, { retentionDays: 'forever', freshnessMinutes: '30' })).toMatchObject({ retentionDays: 90, freshnessMinutes: 30 });
  });

  it('says why --set would refuse a value, and nothing of settings it does not know', () => {
    expect(settingProblem(targetSettings, 'batchSize', '2000')).toBe('must be at most 1,000, not 2000');
    expect(settingProblem(targetSettings, 'batchSize', '0')).toBe('must be at least 1, not 0');
    expect(settingProblem(connectionSettings, 'runTimeoutMinutes', 'two')).toBe('must be a number (such as 90 or 0.5), not "two"');
    expect(settingProblem(connectionSettings, 'rateLimit', '60 a minute')).toMatch(/must be requests per window such as 60\/1m/);
    expect(settingProblem(connectionSettings, 'retries', '3')).toBeUndefined();
    expect(settingProblem(connectionSettings, 'priceField', 'price2')).toBeUndefined();
  });
});
