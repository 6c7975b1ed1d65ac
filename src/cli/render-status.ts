import chalk from 'chalk';
import type { LockOwner } from '../lock/lock.js';
import type { Standing } from '../model/health.js';
import { defineMessages } from '../i18n/index.js';
import type { ConnectionCatalog } from '../config/config.js';
import { connectionHealth, standingOf } from '../model/health.js';
import { connectionSettings, readSettingsForView } from '../settings/schema.js';
import type { Db } from '../store/db.js';
import { connectionStatus, knownConnections } from '../store/queries.js';
import type { ConnectionStatus } from '../store/queries.js';
import { statusLabel } from '../report/labels.js';
import { statusColour } from './output.js';
import { showsTargets } from './render-run.js';
import { formatAgo, formatTime } from './when.js';

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
    noConnections: 'Henüz bağlantı yok. Bir ERP bağlamak için: `erp-sync connect <sürücü> --name AD`.',
  },
});

export interface ConnectionReport extends ConnectionStatus {
  driver: string | null;
  /** The one word the connection's block leads with. */
  health: Standing;
  runningNow: LockOwner | null;
}

/** Every connection configured, and every one with history kept, as `status` reads them. */
export function connectionReports(db: Db, catalog: ConnectionCatalog, running: (connection: string) => LockOwner | null): ConnectionReport[] {
  const configured = new Map(catalog.connections().map((c) => [c.name, c]));
  const targets = catalog.targets();
  const names = [...new Set([...configured.keys(), ...knownConnections(db)])];
  return connectionStatus(db, names, (name) => {
    const connection = configured.get(name);
    return connection ? catalog.targetsOf(connection, targets).map((t) => ({ name: t.name, kind: t.kind })) : [];
  }).map((status) => ({
    ...status,
    driver: configured.get(status.connection)?.driver ?? status.lastRun?.driver ?? null,
    health: standingOf(
      connectionHealth({
        lastFinished: status.lastFinished,
        lastSuccessAt: status.lastSuccess?.finishedAt ?? null,
        freshnessMinutes: readSettingsForView(connectionSettings, configured.get(status.connection)?.settings ?? {}).freshnessMinutes,
        parked: status.parked,
        now: Date.now(),
      }),
      { openAlerts: status.openAlerts.length, failingItems: status.failing, lastRunStatus: status.lastRun?.status, everSucceeded: !!status.lastSuccess },
    ),
    runningNow: running(status.connection),
  }));
}

const healthColour = { ok: chalk.green, attention: chalk.yellow, broken: chalk.red, never: chalk.dim } as const;

/** A line or two per marketplace, once there is more than the offer API alone to tell apart. */
function targetLines(c: ConnectionReport, row: (label: string, value: string) => string, hints: boolean): string[] {
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
    lines.push(row('', `  ${m('targetOpen', { awaiting: t.awaiting, notListed: t.notListed, failing: t.failing, parked: t.parked })}${hints && open - t.awaiting > 0 ? `  ${chalk.dim(m('seeTarget', { target: t.target }))}` : ''}`));
  }
  return lines;
}

/**
 * Each connection's block of `status` (and `hosted status`): health, last
 * sync and run, each target, failing, pending and parked offers, alerts.
 * `hints` adds the agent's commands that show more (`erp-sync logs ...`);
 * `more` adds lines at the end of a connection's block (hosted mode's queue).
 */
export function renderConnections(connections: readonly ConnectionReport[], options: { hints: boolean; more?: (c: ConnectionReport) => string[] }): string[] {
  const lines: string[] = [];
  const labels = [m('lastSync'), m('lastRun'), m('targets'), m('failing'), m('pending'), m('parked'), m('alerts'), m('schedule')];
  const width = Math.max(...labels.map((l) => l.length)) + 2;
  const row = (label: string, value: string) => `  ${(label ? `${label}:` : '').padEnd(width)}${value}`;
  const see = (hint: 'seeFailed' | 'seePending' | 'seeParked', c: ConnectionReport) => (options.hints ? `  ${chalk.dim(m(hint, { connection: c.connection }))}` : '');
  if (connections.length === 0 && options.hints) lines.push(m('noConnections'));
  for (const c of connections) {
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
    lines.push(...targetLines(c, row, options.hints));
    lines.push(row(m('failing'), c.failing > 0 ? `${chalk.red(m('items', { count: c.failing }))}${see('seeFailed', c)}` : m('none')));
    lines.push(row(m('pending'), c.pendingApproval > 0 ? `${chalk.yellow(m('offers', { count: c.pendingApproval }))}${see('seePending', c)}` : m('none')));
    lines.push(row(m('parked'), c.parked > 0 ? `${chalk.red(m('offers', { count: c.parked }))}${see('seeParked', c)}` : m('none')));
    if (c.openAlerts.length === 0) lines.push(row(m('alerts'), m('none')));
    for (const [i, a] of c.openAlerts.entries()) {
      lines.push(row(i === 0 ? m('alerts') : '', chalk.red(m('alert', { kind: a.kind, message: a.message, time: formatTime(a.openedAt) }))));
      if (a.notSent) lines.push(row('', chalk.yellow(m('alertNotSent', { error: a.notSent }))));
    }
    lines.push(...(options.more?.(c) ?? []), '');
  }
  return lines;
}
