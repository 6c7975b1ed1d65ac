import type { Db } from '../store/db.js';
import { countFailedItems, countPendingItems, failedCodes, failedItems, pendingItems } from '../store/queries.js';
import type { ItemFilter, PendingItem, ProblemItem } from '../store/queries.js';

/** What the page needs beyond src/store/queries.ts. */

const PAGE = 1000;

export type ItemKind = 'failed' | 'pending';
type ItemRow = ProblemItem | PendingItem;
export type ItemQuery = Omit<ItemFilter, 'limit' | 'offset'>;

function list(db: Db, kind: ItemKind, filter: ItemFilter): ItemRow[] {
  return kind === 'failed' ? failedItems(db, filter) : pendingItems(db, filter);
}

/** Every item `read` finds for the query, newest first, read a page at a time (for the CSV download). */
export function* allPages<T>(read: (filter: ItemFilter) => T[], query: ItemQuery): Generator<T> {
  for (let offset = 0; ; offset += PAGE) {
    const rows = read({ ...query, limit: PAGE, offset });
    yield* rows;
    if (rows.length < PAGE) return;
  }
}

export interface ItemPage {
  total: number;
  items: ItemRow[];
  /** The error codes among the items that match every filter but the code, for the page's code filter. */
  codes: string[];
}

export function itemPage(db: Db, kind: ItemKind, query: ItemQuery, limit: number, offset: number): ItemPage {
  return {
    total: kind === 'failed' ? countFailedItems(db, query) : countPendingItems(db, query),
    items: list(db, kind, { ...query, limit, offset }),
    codes: kind === 'failed' ? failedCodes(db, query) : [],
  };
}
