import { writeFileSync } from 'atomically';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CRON_MARK, readCrontab } from './cron.js';
import { UNIT, unitDirectory } from './systemd.js';
import { decodeSchtasksOutput, intervalOf, schtasksQuery } from './windows.js';

/**
 * The schedule erp-sync installed for a home, and finding it again. `schedule
 * --install` records what it installed in the home; `status` reads that
 * record, which costs nothing (asking cron or Task Scheduler means starting a
 * process); `doctor` asks the system itself and says when the two differ.
 */

export type ScheduleKind = 'systemd' | 'systemd-user' | 'cron' | 'windows';

export interface InstalledSchedule {
  kind: ScheduleKind;
  /** The timer file, the crontab line, or the task's name. */
  where: string;
  /** OnCalendar=, the cron expression, or the task's interval. */
  when: string;
}

const RECORD = 'schedule.json';

export function recordSchedule(home: string, schedule: InstalledSchedule): void {
  writeFileSync(join(home, RECORD), `${JSON.stringify(schedule, null, '\t')}\n`, { mode: 0o600 });
}

export function forgetSchedule(home: string): void {
  rmSync(join(home, RECORD), { force: true });
}

/** What `schedule --install` recorded for this home; a record that cannot be read counts as none. */
export function recordedSchedule(home: string): InstalledSchedule | undefined {
  try {
    const record = JSON.parse(readFileSync(join(home, RECORD), 'utf8')) as Partial<InstalledSchedule>;
    return record.kind && record.where !== undefined && record.when !== undefined ? (record as InstalledSchedule) : undefined;
  } catch {
    return undefined;
  }
}

/** The schedule the system has: a Task Scheduler task on Windows, elsewhere a systemd timer or the marked crontab line. */
export function installedSchedule(platform: NodeJS.Platform = process.platform): InstalledSchedule | undefined {
  if (platform === 'win32') {
    const query = process.getBuiltinModule('node:child_process').spawnSync('schtasks', schtasksQuery(), { windowsHide: true });
    if (query.status !== 0 || !query.stdout) return undefined;
    const xml = decodeSchtasksOutput(query.stdout);
    return { kind: 'windows', where: `Task Scheduler \\${UNIT}`, when: intervalOf(xml) ?? '' };
  }
  for (const user of [false, true]) {
    const timer = join(unitDirectory(user), `${UNIT}.timer`);
    if (!existsSync(timer)) continue;
    const when = /^OnCalendar=(.*)$/m.exec(readFileSync(timer, 'utf8'))?.[1] ?? '';
    return { kind: user ? 'systemd-user' : 'systemd', where: timer, when };
  }
  const line = readCrontab()?.split('\n').find((l) => l.includes(CRON_MARK));
  return line ? { kind: 'cron', where: line, when: line.split(/\s+/).slice(0, 5).join(' ') } : undefined;
}
