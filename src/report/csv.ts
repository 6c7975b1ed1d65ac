import type { PendingItem, ProblemItem } from '../store/queries.js';
import { plainMessage } from './labels.js';

/**
 * CSV for spreadsheets (RFC 4180, CRLF), with a UTF-8 byte order mark so
 * Excel shows Turkish letters right. Text that Excel would run as a formula
 * (=, +, -, @ at the start) is prefixed with an apostrophe; numbers are left
 * alone.
 */
export function toCsv(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const lines = [columns, ...rows].map((row) => row.map(cell).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The failed items as `logs --failed --csv` and the web page's download write them. */
export function failedCsv(items: Iterable<ProblemItem>): string {
  return toCsv(
    ['connection', 'target', 'barcode', 'sku', 'name', 'outcome', 'code', 'explanation', 'message', 'runId', 'at'],
    Array.from(items, (i) => [i.connection, i.target, i.barcode, i.sku, i.name, i.outcome, i.code, plainMessage(i.outcome, i.code), i.message, i.runId, i.at]),
  );
}

/** The offers pending approval as `logs --pending --csv` and the web page's download write them. */
export function pendingCsv(items: Iterable<PendingItem>): string {
  return toCsv(
    ['connection', 'target', 'barcode', 'sku', 'name', 'offerId', 'price', 'currency', 'stock', 'since', 'runId'],
    Array.from(items, (i) => [i.connection, i.target, i.barcode, i.sku, i.name, i.offerId, i.price, i.currency, i.stock, i.since, i.runId]),
  );
}
