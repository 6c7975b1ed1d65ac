import chalk from 'chalk';
import { MARKETPLACE } from '../../config/config.js';
import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import type { Db } from '../../store/db.js';
import {
  countFailedItems, countItemEvents, countPendingItems, failedItems, itemEvents, pendingItems, recentRuns, targetRuns,
} from '../../store/queries.js';
import type { ItemEventRow, PendingItem, ProblemItem, RunRow } from '../../store/queries.js';
import { requireConnectionOrHistory, requireTargetOrHistory } from '../connections.js';
import { openContext } from '../context.js';
import { failedCsv, pendingCsv, toCsv } from '../../report/csv.js';
import { outcomeLabel, plainMessage, stageLabel } from '../../report/labels.js';
import { runsText } from '../render-runs.js';
import { page } from '../pager.js';
import { formatTime, parseSince } from '../when.js';

export interface LogsOptions {
  failed?: boolean;
  pending?: boolean;
  run?: number;
  connection?: string;
  target?: string;
  since?: string;
  search?: string;
  code?: string;
  limit?: number;
  json?: boolean;
  csv?: boolean;
}

const m = defineMessages({
  en: {
    bothFormats: '--json and --csv cannot be used together',
    bothLists: '--failed and --pending cannot be used together',
    codeWithPending: '--code filters failed items and item events; offers pending approval have no error code',
    noEvents: 'No item events match.',
    noFailed: 'No item is failing.',
    noPending: 'No offer is waiting for approval.',
    more: '{shown} of {total} shown; narrow with --connection, --target, --since, --search or --code, or raise --limit.',
    marketplaceSaid: 'marketplace said: {message}',
    targetSaid: '{target} said: {message}',
    details: 'details: {message}',
    answer: 'answer: {detail}',
    waitingSince: 'waiting since {time}',
  },
  tr: {
    bothFormats: '--json ve --csv birlikte kullanılamaz',
    bothLists: '--failed ve --pending birlikte kullanılamaz',
    codeWithPending: '--code başarısız ürünleri ve ürün kayıtlarını süzer; onay bekleyen tekliflerin hata kodu olmaz',
    noEvents: 'Eşleşen ürün kaydı yok.',
    noFailed: 'Başarısız ürün yok.',
    noPending: 'Onay bekleyen teklif yok.',
    more: '{total} kayıttan {shown} tanesi gösteriliyor; --connection, --target, --since, --search ya da --code ile daraltın veya --limit değerini artırın.',
    marketplaceSaid: 'pazaryeri yanıtı: {message}',
    targetSaid: '{target} yanıtı: {message}',
    details: 'ayrıntı: {message}',
    answer: 'yanıt: {detail}',
    waitingSince: '{time} tarihinden beri bekliyor',
  },
});

type View = 'runs' | 'events' | 'failed' | 'pending';

/**
 * `erp-sync logs`: without filters the latest runs and their counts; with
 * --run, --since, --search or --code the item events; --failed the items still
 * failing; --pending the offers waiting for approval.
 */
export async function logsCommand(options: LogsOptions): Promise<ExitCode> {
  if (options.json && options.csv) throw new UserError(m('bothFormats'), { code: 'USAGE', exitCode: ExitCode.usage });
  if (options.failed && options.pending) throw new UserError(m('bothLists'), { code: 'USAGE', exitCode: ExitCode.usage });
  if (options.pending && options.code !== undefined) throw new UserError(m('codeWithPending'), { code: 'USAGE', exitCode: ExitCode.usage });
  let since: string | undefined;
  if (options.since !== undefined) {
    try {
      since = parseSince(options.since);
    } catch (error) {
      throw new UserError(`--since "${options.since}": ${(error as Error).message}`, { code: 'USAGE', exitCode: ExitCode.usage });
    }
  }
  const view: View = options.failed ? 'failed'
    : options.pending ? 'pending'
    : options.run !== undefined || since !== undefined || options.search !== undefined || options.code !== undefined ? 'events'
    : 'runs';

  const ctx = openContext();
  try {
    const db = ctx.db();
    if (options.connection !== undefined) requireConnectionOrHistory(ctx.config, db, options.connection);
    if (options.target !== undefined) requireTargetOrHistory(ctx.config, db, options.target);
    const format = options.json ? 'json' : options.csv ? 'csv' : 'text';
    const result = read(db, view, { ...options, since });
    if (format === 'json') process.stdout.write(`${JSON.stringify(result.document, null, 2)}\n`);
    else if (format === 'csv') process.stdout.write(result.csv());
    else await page(result.text());
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}

interface ViewResult {
  document: unknown;
  csv(): string;
  text(): string[];
}

function read(db: Db, view: View, options: LogsOptions): ViewResult {
  const filter = { connection: options.connection, target: options.target, search: options.search, since: options.since, code: options.code };
  switch (view) {
    case 'runs': {
      const runs = recentRuns(db, { connection: options.connection, limit: options.limit ?? 20 });
      const targets = targetRuns(db, runs.map((r) => r.id));
      const withTargets = runs.map((r) => ({ ...r, targets: targets.get(r.id) ?? [] }));
      return { document: { runs: withTargets }, csv: () => runsCsv(runs), text: () => runsText(withTargets, { hints: true }) };
    }
    case 'events': {
      const eventFilter = { ...filter, runId: options.run, limit: options.limit ?? 50 };
      const events = itemEvents(db, eventFilter);
      const total = events.length < eventFilter.limit ? events.length : countItemEvents(db, eventFilter);
      return { document: { events, total }, csv: () => eventsCsv(events), text: () => eventsText(events, total) };
    }
    case 'failed': {
      const itemFilter = { ...filter, limit: options.limit ?? 100 };
      const items = failedItems(db, itemFilter);
      const total = items.length < itemFilter.limit ? items.length : countFailedItems(db, itemFilter);
      return { document: { failed: items, total }, csv: () => failedCsv(items), text: () => failedText(items, total) };
    }
    case 'pending': {
      const itemFilter = { ...filter, limit: options.limit ?? 100 };
      const items = pendingItems(db, itemFilter);
      const total = items.length < itemFilter.limit ? items.length : countPendingItems(db, itemFilter);
      return { document: { pending: items, total }, csv: () => pendingCsv(items), text: () => pendingText(items, total) };
    }
  }
}

const outcomeColour = (outcome: string) =>
  outcome === 'created' || outcome === 'updated' ? chalk.green : outcome === 'pending_approval' || outcome === 'warning' ? chalk.yellow : chalk.red;

/** The connection, and the marketplace an event or problem concerns when it is one target's. */
function where(row: { connection: string; target: string }): string {
  return row.target ? `${row.connection} → ${row.target}` : row.connection;
}

function product(row: { barcode: string | null; sku: string | null; name: string | null }): string {
  return [row.barcode ?? '-', row.sku ?? '-', row.name ?? ''].join('  ');
}

function more(shown: number, total: number): string[] {
  return total > shown ? ['', chalk.dim(m('more', { shown, total }))] : [];
}

function detailText(detail: unknown): string {
  const text = typeof detail === 'string' ? detail : JSON.stringify(detail);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function eventsText(events: ItemEventRow[], total: number): string[] {
  if (events.length === 0) return [m('noEvents')];
  const lines: string[] = [];
  for (const e of events) {
    lines.push(`${formatTime(e.at)}  #${e.runId}  ${where(e)}  ${stageLabel(e.stage)}  ${outcomeColour(e.outcome)(outcomeLabel(e.outcome))}${e.code ? `  ${e.code}` : ''}`);
    lines.push(`  ${product(e)}`);
    const plain = plainMessage(e.outcome, e.code);
    if (plain) lines.push(`  ${plain}`);
    if (e.message) lines.push(chalk.dim(`  ${e.stage !== 'push' ? m('details', { message: e.message }) : e.target && e.target !== MARKETPLACE ? m('targetSaid', { target: e.target, message: e.message }) : m('marketplaceSaid', { message: e.message })}`));
    if (e.detail !== null) lines.push(chalk.dim(`  ${m('answer', { detail: detailText(e.detail) })}`));
  }
  return [...lines, ...more(events.length, total)];
}

function failedText(items: ProblemItem[], total: number): string[] {
  if (items.length === 0) return [m('noFailed')];
  const lines: string[] = [];
  for (const i of items) {
    lines.push(`${where(i)}  ${product(i)}`);
    lines.push(`  ${outcomeColour(i.outcome)(outcomeLabel(i.outcome))}${i.code ? `  ${i.code}` : ''}  ${formatTime(i.at)}  #${i.runId}`);
    const plain = plainMessage(i.outcome, i.code);
    if (plain) lines.push(`  ${plain}`);
    if (i.message) lines.push(chalk.dim(`  ${i.message}`));
  }
  return [...lines, ...more(items.length, total)];
}

function pendingText(items: PendingItem[], total: number): string[] {
  if (items.length === 0) return [m('noPending')];
  const lines = items.map((i) => `${where(i)}  ${product(i)}  ${chalk.yellow(m('waitingSince', { time: formatTime(i.since) }))}`);
  return [...lines, ...more(items.length, total)];
}

function runsCsv(runs: RunRow[]): string {
  const columns = ['id', 'connection', 'driver', 'status', 'startedAt', 'finishedAt', 'durationMs', 'pulled', 'invalid', 'new', 'changed', 'vanished',
    'unchanged', 'pushed', 'created', 'updated', 'pendingApproval', 'rejected', 'failed', 'exitCode', 'errorCode', 'errorMessage'] as const;
  return toCsv(columns, runs.map((r) => columns.map((c) => r[c])));
}

function eventsCsv(events: ItemEventRow[]): string {
  return toCsv(
    ['at', 'runId', 'connection', 'target', 'barcode', 'sku', 'name', 'stage', 'outcome', 'code', 'explanation', 'message', 'detail'],
    events.map((e) => [e.at, e.runId, e.connection, e.target, e.barcode, e.sku, e.name, e.stage, e.outcome, e.code, plainMessage(e.outcome, e.code), e.message, e.detail]),
  );
}


