import chalk from 'chalk';
import { defineMessages, formatDuration } from '../i18n/index.js';
import { statusLabel } from '../report/labels.js';
import type { RunRow, TargetRunRow } from '../store/queries.js';
import { statusColour } from './output.js';
import { showsTargets } from './render-run.js';
import { formatTime } from './when.js';

const m = defineMessages({
  en: {
    runsHeader: 'Latest runs',
    run: '#{id}  {time}  {connection}  {status}  {duration}',
    runCounts: 'pulled {pulled} · invalid {invalid} · new {new} · changed {changed} · vanished {vanished} · pushed {pushed} (created {created}, updated {updated}) · pending {pending} · rejected {rejected} · failed {failed}',
    noRuns: 'No runs yet. Start one with `erp-sync run`.',
    targetCounts: '→ {target}: pushed {pushed} · rejected {rejected} · not listed {notListed} · failed {failed} · awaiting an answer {awaiting}',
    hintItems: 'Item details: erp-sync logs --run ID · failing items: erp-sync logs --failed · one product: erp-sync explain BARCODE',
  },
  tr: {
    runsHeader: 'Son çalışmalar',
    run: '#{id}  {time}  {connection}  {status}  {duration}',
    runCounts: 'getirilen {pulled} · geçersiz {invalid} · yeni {new} · değişen {changed} · kaybolan {vanished} · gönderilen {pushed} (oluşturulan {created}, güncellenen {updated}) · onay bekleyen {pending} · reddedilen {rejected} · başarısız {failed}',
    noRuns: 'Henüz çalışma yok. `erp-sync run` ile başlatın.',
    targetCounts: '→ {target}: gönderilen {pushed} · reddedilen {rejected} · listede olmayan {notListed} · başarısız {failed} · yanıt beklenen {awaiting}',
    hintItems: 'Ürün ayrıntıları: erp-sync logs --run NO · başarısız ürünler: erp-sync logs --failed · tek ürün: erp-sync explain BARKOD',
  },
});

/** The latest runs with their counts, and each target's when there is more than the offer API: `logs`, and `hosted history`. */
export function runsText(runs: (RunRow & { targets: TargetRunRow[] })[], options: { hints: boolean }): string[] {
  if (runs.length === 0) return options.hints ? [m('noRuns')] : [];
  const lines = [chalk.bold(m('runsHeader'))];
  for (const r of runs) {
    lines.push(m('run', {
      id: String(r.id), time: formatTime(r.startedAt), connection: r.connection,
      status: statusColour(r.status)(statusLabel(r.status)), duration: r.durationMs === null ? '' : formatDuration(r.durationMs),
    }));
    lines.push(`  ${m('runCounts', {
      pulled: r.pulled, invalid: r.invalid, new: r.new, changed: r.changed, vanished: r.vanished, pushed: r.pushed,
      created: r.created, updated: r.updated, pending: r.pendingApproval, rejected: r.rejected, failed: r.failed,
    })}`);
    if (r.errorMessage) lines.push(`  ${chalk.red(`${r.errorCode ?? ''}: ${r.errorMessage}`)}`);
    if (showsTargets(r.targets)) {
      for (const t of r.targets) {
        lines.push(`  ${m('targetCounts', { target: t.target, pushed: t.pushed, rejected: t.rejected, notListed: t.notListed, failed: t.failed, awaiting: t.awaiting })}`);
        if (t.errorMessage) lines.push(`    ${chalk.red(`${t.errorCode ?? ''}: ${t.errorMessage}`)}`);
      }
    }
  }
  if (options.hints) lines.push('', chalk.dim(m('hintItems')));
  return lines;
}

