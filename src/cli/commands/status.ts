import chalk from 'chalk';
import { paths } from '../../config/home.js';
import { lockHolder } from '../../lock/lock.js';
import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { openContext } from '../context.js';
import { connectionReports, renderConnections } from '../render-status.js';
import type { ConnectionReport } from '../render-status.js';
import { recordedSchedule } from '../../schedule/installed.js';
import type { InstalledSchedule } from '../../schedule/installed.js';

export interface StatusOptions {
  json?: boolean;
}

const m = defineMessages({
  en: {
    schedule: 'Schedule',
    noSchedule: 'not installed; set one up with: erp-sync schedule --every 15m --install',
    scheduleSystemd: 'systemd timer ({when}), {where}',
    scheduleCron: 'crontab ({when})',
    scheduleWindows: 'Windows Task Scheduler, every {when}',
  },
  tr: {
    schedule: 'Zamanlama',
    noSchedule: 'kurulu değil; kurmak için: erp-sync schedule --every 15m --install',
    scheduleSystemd: 'systemd zamanlayıcısı ({when}), {where}',
    scheduleCron: 'crontab ({when})',
    scheduleWindows: 'Windows Görev Zamanlayıcı, her {when}',
  },
});

export interface StatusReport {
  connections: ConnectionReport[];
  schedule: InstalledSchedule | null;
}

/** `erp-sync status`: each connection's state in a few lines. */
export async function statusCommand(options: StatusOptions): Promise<ExitCode> {
  const ctx = openContext();
  let report: StatusReport;
  try {
    report = {
      connections: connectionReports(ctx.db(), ctx.config, (connection) => lockHolder(paths.locks(ctx.home), connection) ?? null),
      schedule: recordedSchedule(ctx.home) ?? null,
    };
  } finally {
    ctx.close();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${renderStatus(report).join('\n')}\n`);
  return ExitCode.ok;
}

function renderStatus(report: StatusReport): string[] {
  const lines = renderConnections(report.connections, { hints: true });
  const s = report.schedule;
  const scheduled = !s ? chalk.yellow(m('noSchedule')) : s.kind === 'cron' ? m('scheduleCron', { when: s.when }) : s.kind === 'windows' ? m('scheduleWindows', { when: s.when }) : m('scheduleSystemd', { when: s.when, where: s.where });
  lines.push(`${m('schedule')}: ${scheduled}`);
  return lines;
}
