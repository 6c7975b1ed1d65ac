import type { Db } from '../store/db.js';
import { failedItems, pendingItems } from '../store/queries.js';
import type { ItemFilter, PendingItem, ProblemItem } from '../store/queries.js';

/**
 * What the page needs beyond src/store/queries.ts. queries.ts filters items
 * by connection and search only, so the error-code and date filters are
 * applied here while paging through its results: its rules for which items
 * still stand are reused, not copied.
 */

const PAGE = 1000;

export type ItemKind = 'failed' | 'pending';
export type ItemRow = ProblemItem | PendingItem;

export interface ItemQuery {
  connection?: string | undefined;
  search?: string | undefined;
  /** Error code; failed items only. */
  code?: string | undefined;
  /** ISO timestamp: items whose problem (or wait) began at or after it. */
  since?: string | undefined;
}

/** Every item of a kind that matches, in queries.ts's order (newest first), read a page at a time. */
export function* matchingItems(db: Db, kind: ItemKind, query: ItemQuery): Generator<ItemRow> {
  for (const item of allItems(db, kind, { connection: query.connection, search: query.search })) {
    if (query.code !== undefined && (item as ProblemItem).code !== query.code) continue;
    if (query.since !== undefined && itemTime(item) < query.since) continue;
    yield item;
  }
}

export interface ItemPage {
  total: number;
  items: ItemRow[];
  /** The error codes among the items that match every filter but the code, for the page's code filter. */
  codes: string[];
}

export function itemPage(db: Db, kind: ItemKind, query: ItemQuery, limit: number, offset: number): ItemPage {
  const items: ItemRow[] = [];
  const codes = new Set<string>();
  let total = 0;
  for (const item of matchingItems(db, kind, { ...query, code: undefined })) {
    const code = kind === 'failed' ? (item as ProblemItem).code : null;
    if (code) codes.add(code);
    if (query.code !== undefined && code !== query.code) continue;
    if (total >= offset && items.length < limit) items.push(item);
    total++;
  }
  return { total, items, codes: [...codes].sort() };
}

const itemTime = (item: ItemRow) => ('since' in item ? item.since : item.at);

function* allItems(db: Db, kind: ItemKind, filter: ItemFilter): Generator<ItemRow> {
  for (let offset = 0; ; offset += PAGE) {
    const rows = kind === 'failed' ? failedItems(db, { ...filter, limit: PAGE, offset }) : pendingItems(db, { ...filter, limit: PAGE, offset });
    yield* rows;
    if (rows.length < PAGE) return;
  }
}

/**
 * When a connection started failing: the start of the first run after its
 * last success (or its first run ever), dry runs aside.
 */
export function failingSince(db: Db, connection: string, lastSuccessId: number | undefined): string | null {
  const row = db
    .prepare(`SELECT min(started_at) AS since FROM runs WHERE connection = ? AND dry_run = 0 AND id > ? AND status <> 'running'`)
    .get(connection, lastSuccessId ?? 0) as { since: string | null };
  return row.since;
}
