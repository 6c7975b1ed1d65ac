import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What erp-sync installs to run unattended, and finding it again (`schedule`, `status`, `doctor`). */

export const UNIT = 'erp-sync';
/** Marks the crontab line erp-sync manages, so --remove and a reinstall find it. */
export const CRON_MARK = '# erp-sync schedule';

export function unitDirectory(user: boolean, env: NodeJS.ProcessEnv = process.env): string {
  return user ? join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user') : '/etc/systemd/system';
}

/** The schedule in place, if any. */
export interface InstalledSchedule {
  kind: 'systemd' | 'systemd-user' | 'cron';
  /** The timer file or the crontab line. */
  where: string;
  /** OnCalendar= or the cron expression. */
  when: string;
}

export function installedSchedule(): InstalledSchedule | undefined {
  for (const user of [false, true]) {
    const timer = join(unitDirectory(user), `${UNIT}.timer`);
    if (!existsSync(timer)) continue;
    const when = /^OnCalendar=(.*)$/m.exec(readFileSync(timer, 'utf8'))?.[1] ?? '';
    return { kind: user ? 'systemd-user' : 'systemd', where: timer, when };
  }
  const line = readCrontab()?.split('\n').find((l) => l.includes(CRON_MARK));
  return line ? { kind: 'cron', where: line, when: line.split(/\s+/).slice(0, 5).join(' ') } : undefined;
}

export function readCrontab(): string | undefined {
  const result = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout : undefined;
}
