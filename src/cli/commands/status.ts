import chalk from 'chalk';
import { paths } from '../../config/home.js';
import { lockHolder } from '../../lock/lock.js';
import type { LockOwner } from '../../lock/lock.js';
import { ExitCode } from '../../errors/index.js';
import { connectionHealth, standingOf } from '../../model/health.js';
import type { Standing } from '../../model/health.js';
import { connectionSettings, readSettingsForView } from '../../settings/schema.js';
import { defineMessages } from '../../i18n/index.js';
import { connectionStatus, knownConnections } from '../../store/queries.js';
import type { ConnectionStatus } from '../../store/queries.js';
import { openContext } from '../context.js';
import { statusLabel } from '../../report/labels.js';
import { statusColour } from '../output.js';
import { showsTargets } from '../render-run.js';
import { formatAgo, formatTime } from '../when.js';
import { recordedSchedule } from '../../schedule/installed.js';
import type { InstalledSchedule } from '../../schedule/installed.js';

export interface StatusOptions {
  json?: boolean;
}

const m = defineMessages({
  en: {
    ok: 'OK',
    attention: 'needs attention',
    broken: 'not syncing',
    never: 'never synced',
    running: 'syncing now (pid {pid}, since {time})',
    lastSync: 'Last sync',
    lastRun: 'Last run',
    failing: 'Failing',
    pending: 'Pending approval',
    parked: 'Parked',
    alerts: 'Open alerts',
    targets: 'Targets',
    targetLine: '{target} ({kind}): last delivered {when}',
    targetRun: '#{id} {status} · pushed {pushed} · rejected {rejected} · failed {failed}',
    targetOpen: 'awaiting an answer {awaiting} · not listed {notListed} · failing {failing} · parked {parked}',
    seeTarget: 'see: erp-sync logs --failed --target {target}',
    schedule: 'Schedule',
    noSync: 'never',
    runLine: '#{id} {status}, {ago} · pulled {pulled} · pushed {pushed} · rejected {rejected} · failed {failed}',
    items: '{count} items',
    offers: '{count} offers',
    seeFailed: 'see: erp-sync logs --failed --connection {connection}',
    seePending: 'see: erp-sync logs --pending --connection {connection}',
    seeParked: 'see: erp-sync logs --failed --code DEAD_LETTER --connection {connection} · send again: erp-sync retry --connection {connection}',
    none: 'none',
    alert: '{kind}: {message} (since {time})',
    alertNotSent: 'the webhook notification is not sent yet: {error}',
    noSchedule: 'not installed; set one up with: erp-sync schedule --every 15m --install',
    scheduleSystemd: 'systemd timer ({when}), {where}',
    scheduleCron: 'crontab ({when})',
    scheduleWindows: 'Windows Task Scheduler, every {when}',
    noConnections: 'No connections yet. Connect an ERP with `erp-sync connect <driver> --name NAME`.',
  },
  tr: {
    ok: 'SORUN YOK',
    attention: 'ilgilenilmeli',
    broken: 'senkronize olmuyor',
    never: 'hiç senkronize edilmedi',
    running: 'şu anda senkronize ediliyor (pid {pid}, {time} itibarıyla)',
    lastSync: 'Son senkronizasyon',
    lastRun: 'Son çalışma',
    failing: 'Başarısız',
    pending: 'Onay bekliyor',
    parked: 'Bekletmede',
    alerts: 'Açık uyarılar',
    targets: 'Hedefler',
    targetLine: '{target} ({kind}): son teslim {when}',
    targetRun: '#{id} {status} · gönderilen {pushed} · reddedilen {rejected} · başarısız {failed}',
    targetOpen: 'yanıt beklenen {awaiting} · listede olmayan {notListed} · başarısız {failing} · bekletmede {parked}',
    seeTarget: 'bakın: erp-sync logs --failed --target {target}',
    schedule: 'Zamanlama',
    noSync: 'hiç',
    runLine: '#{id} {status}, {ago} · getirilen {pulled} · gönderilen {pushed} · reddedilen {rejected} · başarısız {failed}',
    items: '{count} ürün',
    offers: '{count} teklif',
    seeFailed: 'bakın: erp-sync logs --failed --connection {connection}',
    seePending: 'bakın: erp-sync logs --pending --connection {connection}',
    seeParked: 'bakın: erp-sync logs --failed --code DEAD_LETTER --connection {connection} · yeniden göndermek için: erp-sync retry --connection {connection}',
    none: 'yok',
    alert: '{kind}: {message} ({time} tarihinden beri)',
    alertNotSent: 'webhook bildirimi henüz gönderilemedi: {error}',
    noSchedule: 'kurulu değil; kurmak için: erp-sync schedule --every 15m --install',
    scheduleSystemd: 'systemd zamanlayıcısı ({when}), {where}',
    scheduleCron: 'crontab ({when})',
    scheduleWindows: 'Windows Görev Zamanlayıcı, her {when}',
    noConnections: 'Henüz bağlantı yok. Bir ERP bağlamak için: `erp-sync connect <sürücü> --name AD`.',
  },
});

export interface ConnectionReport extends ConnectionStatus {
  driver: string | null;
  /** The one word the connection's block leads with. */
  health: Standing;
  runningNow: LockOwner | null;
}

export interface StatusReport {
  connections: ConnectionReport[];
  schedule: InstalledSchedule | null;
}

/** `erp-sync status`: each connection's state in a few lines. */
export async function statusCommand(options: StatusOptions): Promise<ExitCode> {
  const ctx = openContext();
  let report: StatusReport;
  try {
    const db = ctx.db();
    const configured = ctx.config.connections();
    const targets = ctx.config.targets();
    const names = [...new Set([...configured.map((c) => c.name), ...knownConnections(db)])];
    report = {
      connections: connectionStatus(db, names, (name) => {
        const connection = configured.find((c) => c.name === name);
        return connection ? ctx.config.targetsOf(connection, targets).map((t) => ({ name: t.name, kind: t.kind })) : [];
      }).map((status) => ({
        ...status,
        driver: configured.find((c) => c.name === status.connection)?.driver ?? status.lastRun?.driver ?? null,
        health: standingOf(
          connectionHealth({
            lastFinished: status.lastFinished,
            lastSuccessAt: status.lastSuccess?.finishedAt ?? null,
            freshnessMinutes: readSettingsForView(connectionSettings, configured.find((c) => c.name === status.connection)?.settings ?? {}).freshnessMinutes,
            parked: status.parked,
            now: Date.now(),
          }),
          { openAlerts: status.openAlerts.length, failingItems: status.failing, lastRunStatus: status.lastRun?.status, everSucceeded: !!status.lastSuccess },
        ),
        runningNow: lockHolder(paths.locks(ctx.home), status.connection) ?? null,
      })),
      schedule: recordedSchedule(ctx.home) ?? null,
    };
  } finally {
    ctx.close();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${renderStatus(report).join('\n')}\n`);
  return ExitCode.ok;
}

const healthColour = { ok: chalk.green, attention: chalk.yellow, broken: chalk.red, never: chalk.dim } as const;

/** A line or two per marketplace, once there is more than the offer API alone to tell apart. */
function targetLines(c: ConnectionReport, row: (label: string, value: string) => string): string[] {
  if (!showsTargets(c.targets)) return [];
  const lines: string[] = [];
  for (const [i, t] of c.targets.entries()) {
    const when = t.lastSuccessAt ? `${formatAgo(t.lastSuccessAt)} (${formatTime(t.lastSuccessAt)})` : m('noSync');
    lines.push(row(i === 0 ? m('targets') : '', chalk.bold(m('targetLine', { target: t.target, kind: t.kind, when }))));
    if (t.lastRun) {
      const r = t.lastRun;
      lines.push(row('', `  ${m('targetRun', { id: String(r.runId), status: statusColour(r.status)(statusLabel(r.status)), pushed: r.pushed, rejected: r.rejected, failed: r.failed })}`));
      if (r.errorMessage) lines.push(row('', `  ${chalk.red(r.errorMessage)}`));
    }
    const open = t.awaiting + t.notListed + t.failing + t.parked;
    lines.push(row('', `  ${m('targetOpen', { awaiting: t.awaiting, notListed: t.notListed, failing: t.failing, parked: t.parked })}${open - t.awaiting > 0 ? `  ${chalk.dim(m('seeTarget', { target: t.target }))}` : ''}`));
  }
  return lines;
}

function renderStatus(report: StatusReport): string[] {
  const lines: string[] = [];
  const labels = [m('lastSync'), m('lastRun'), m('targets'), m('failing'), m('pending'), m('parked'), m('alerts'), m('schedule')];
  const width = Math.max(...labels.map((l) => l.length)) + 2;
  const row = (label: string, value: string) => `  ${(label ? `${label}:` : '').padEnd(width)}${value}`;
  if (report.connections.length === 0) lines.push(m('noConnections'));
  for (const c of report.connections) {
    lines.push(`${chalk.bold(c.connection)}${c.driver ? ` (${c.driver})` : ''}  ${healthColour[c.health](`● ${m(c.health)}`)}`);
    if (c.runningNow) lines.push(`  ${chalk.cyan(m('running', { pid: String(c.runningNow.pid), time: formatTime(c.runningNow.startedAt) }))}`);
    const success = c.lastSuccess?.finishedAt;
    lines.push(row(m('lastSync'), success ? `${formatAgo(success)} (${formatTime(success)})` : m('noSync')));
    if (c.lastRun) {
      const r = c.lastRun;
      lines.push(row(m('lastRun'), m('runLine', {
        id: String(r.id), status: statusColour(r.status)(statusLabel(r.status)), ago: formatAgo(r.finishedAt ?? r.startedAt),
        pulled: r.pulled, pushed: r.pushed, rejected: r.rejected, failed: r.failed,
      })));
      if (r.errorMessage) lines.push(row('', chalk.red(r.errorMessage)));
    }
    lines.push(...targetLines(c, row));
    lines.push(row(m('failing'), c.failing > 0 ? `${chalk.red(m('items', { count: c.failing }))}  ${chalk.dim(m('seeFailed', { connection: c.connection }))}` : m('none')));
    lines.push(row(m('pending'), c.pendingApproval > 0 ? `${chalk.yellow(m('offers', { count: c.pendingApproval }))}  ${chalk.dim(m('seePending', { connection: c.connection }))}` : m('none')));
    lines.push(row(m('parked'), c.parked > 0 ? `${chalk.red(m('offers', { count: c.parked }))}  ${chalk.dim(m('seeParked', { connection: c.connection }))}` : m('none')));
    if (c.openAlerts.length === 0) lines.push(row(m('alerts'), m('none')));
    for (const [i, a] of c.openAlerts.entries()) {
      lines.push(row(i === 0 ? m('alerts') : '', chalk.red(m('alert', { kind: a.kind, message: a.message, time: formatTime(a.openedAt) }))));
      if (a.notSent) lines.push(row('', chalk.yellow(m('alertNotSent', { error: a.notSent }))));
    }
    lines.push('');
  }
  const s = report.schedule;
  const scheduled = !s ? chalk.yellow(m('noSchedule')) : s.kind === 'cron' ? m('scheduleCron', { when: s.when }) : s.kind === 'windows' ? m('scheduleWindows', { when: s.when }) : m('scheduleSystemd', { when: s.when, where: s.where });
  lines.push(`${m('schedule')}: ${scheduled}`);
  return lines;
}
