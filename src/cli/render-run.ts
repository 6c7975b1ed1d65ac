import chalk from 'chalk';
import type { RunSummary } from '../model/run.js';
import { formatDuration, formatNumber, t } from '../i18n/index.js';
import { statusLabel } from '../report/labels.js';
import { statusColour } from './output.js';

/** The short human summary of one run. */
export function renderRun(run: RunSummary): string[] {
  const lines: string[] = [];
  const perTarget = showsTargets(run.targets);
  const status = statusColour(run.status)(statusLabel(run.status));
  lines.push(chalk.bold(t('run.header', { connection: run.connection, driver: run.driver, status, duration: formatDuration(run.durationMs) })));
  if (run.status === 'locked') {
    if (run.error) lines.push(`  ${run.error.message}`);
    return lines;
  }
  if (run.runId !== null && (run.pulled > 0 || run.pullComplete)) {
    lines.push(`  ${t('run.pulled', { pulled: run.pulled, incomplete: run.pullComplete ? '' : t('run.pulledIncomplete') })}`);
    if (run.invalid > 0) lines.push(`  ${chalk.yellow(t('run.invalid', { invalid: run.invalid }))}`);
    // With several marketplaces the run's sums would count a product once per target: each target says its own.
    if (!perTarget) lines.push(`  ${t('run.diff', { new: run.new, changed: run.changed, vanished: run.vanished, unchanged: run.unchanged })}`);
  }
  if (run.dryRun && run.wouldPush) {
    const count = run.new + run.changed + run.vanished;
    lines.push(`  ${t('run.dryRun', { count })}`);
    if (run.wouldPush.length > 0) lines.push(`  ${t('run.dryRunSample', { count: run.wouldPush.length })}`);
    for (const offer of run.wouldPush) {
      lines.push(`    ${offer.kind.padEnd(8)} ${offer.barcode}  ${offer.sku}  ${offer.price} ${offer.currency}  stock ${formatNumber(offer.stock)}  ${offer.name}`);
    }
  } else if (perTarget && run.runId !== null) {
    lines.push(...targetLines(run));
  } else if (run.pushed > 0) {
    lines.push(`  ${t('run.pushed', run as unknown as Record<string, number>)}`);
  } else if (!run.error && !run.dryRun) {
    lines.push(`  ${t('run.nothingToPush')}`);
  }
  if (run.failed > 0) lines.push(`  ${chalk.yellow(t('run.failed', { failed: run.failed }))}`);
  lines.push(...errorLines(run, '  '));
  return lines;
}

/** Whether there is more than the offer API alone to tell apart: then runs, status and logs speak per target. */
export function showsTargets(targets: readonly { kind: string }[]): boolean {
  return targets.length > 1 || targets.some((target) => target.kind !== 'offer-api');
}

/** One line per marketplace; what failed there is in the run's error. */
function targetLines(run: RunSummary): string[] {
  return run.targets.map((target) => `  ${t('run.target', {
    target: target.target, new: target.new, changed: target.changed, vanished: target.vanished, pushed: target.pushed, notListed: target.notListed,
    rejected: target.rejected, failed: target.failed, awaiting: target.awaiting,
  })}`);
}

/** Only what went wrong, for `--quiet`: the connection, the error and what to do. */
export function renderRunError(run: RunSummary): string[] {
  return errorLines(run, `${run.connection}: `);
}

function errorLines(run: RunSummary, prefix: string): string[] {
  if (!run.error) return [];
  const lines = [`${prefix}${chalk.red(`${t('error.prefix')}: ${run.error.message}`)}`];
  if (run.error.hint) lines.push(`${prefix}${t('error.try')}: ${run.error.hint}`);
  return lines;
}
