import { join } from 'node:path';
import type { Interval, Invocation } from './plan.js';
import { SCHEDULE_ENV_FILE, envFileArgument, hostOffset } from './plan.js';

/** The crontab line `erp-sync schedule --cron` adds, and reading the crontab. */

/** Marks the crontab line erp-sync manages, so --remove and a reinstall find it. */
export const CRON_MARK = '# erp-sync schedule';

/**
 * The crontab line. No flock: erp-sync locks each connection itself. The
 * minute is the host's own offset into the interval.
 */
export function cronLine(interval: Interval, run: Invocation, environmentFile: boolean): string {
  const offset = hostOffset(60);
  const when = interval.minutes < 60
    ? `${offset % interval.minutes}-59/${interval.minutes} * * * *`
    : `${offset} ${offset % (interval.minutes / 60)}-23/${interval.minutes / 60} * * *`;
  const sh = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  const env = [`ERP_SYNC_HOME=${sh(run.home)}`, ...(run.lang ? [`LANG=${sh(run.lang)}`] : [])].join(' ');
  const node = [sh(run.node), ...(environmentFile ? [sh(envFileArgument(join(run.home, SCHEDULE_ENV_FILE)))] : [])].join(' ');
  return `${when} ${env} ${node} ${sh(run.cli)} run --quiet ${CRON_MARK}`;
}

export function readCrontab(): string | undefined {
  const result = process.getBuiltinModule('node:child_process').spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout : undefined;
}
