import { DriverError } from './contract.js';
import type { RawPage } from './contract.js';

/** What one page request told us. */
export interface NumberedPage {
  records: readonly unknown[];
  /** Total pages, where the ERP says so (Sentos `total_pages`, Paraşüt `meta.total_pages`). */
  totalPages?: number | undefined;
  /** Total records, where the ERP says so (Entegra `totalProduct`, Paraşüt `meta.total_count`). */
  totalRecords?: number | undefined;
}

export interface PageNumberOptions {
  /** Fetches one page; pages are numbered from `firstPage`. */
  fetchPage(page: number): Promise<NumberedPage>;
  /** Pages fetched at once once the page count is known. */
  concurrency: number;
  firstPage?: number;
  /** The page size the driver asked for, when it chose one: lets a short page end the pull. */
  pageSize?: number | undefined;
  /** Refuses to go on past this many pages, so a broken API cannot loop forever. */
  maxPages?: number;
  warn?(message: string): void;
}

/**
 * The shared loop for page-number paging. The first page is fetched alone;
 * if it reveals how many pages there are (a page count, or a record count and
 * the page's length), the rest are fetched `concurrency` at a time and yielded
 * as they arrive. Otherwise pages are fetched one by one until an empty page,
 * a short page, or the record count is reached.
 *
 * The pull counts as complete only if it ends that way: any failure throws,
 * and a record count that the pages did not add up to throws INCOMPLETE_PULL.
 */
export async function* paginateByPageNumber(options: PageNumberOptions): AsyncGenerator<RawPage> {
  const first = options.firstPage ?? 1;
  const maxPages = options.maxPages ?? 1_000_000;
  const head = await options.fetchPage(first);
  let received = head.records.length;
  if (head.records.length > 0) yield { records: head.records };

  const pageSize = options.pageSize ?? (head.records.length || undefined);
  const totalPages =
    head.totalPages ??
    (head.totalRecords !== undefined && pageSize ? Math.ceil(head.totalRecords / pageSize) : undefined);

  if (totalPages !== undefined && head.records.length > 0) {
    if (totalPages > maxPages) {
      throw new DriverError('MALFORMED_RESPONSE', `the ERP reported ${totalPages} pages, more than the ${maxPages} allowed`);
    }
    for await (const page of fetchConcurrently(options, first + 1, first + totalPages - 1)) {
      received += page.records.length;
      yield { records: page.records };
    }
  } else if (head.records.length > 0) {
    let previousFirst = fingerprint(head.records);
    for (let n = first + 1; n < first + maxPages; n++) {
      if (head.totalRecords !== undefined && received >= head.totalRecords) break;
      if (options.pageSize && received % options.pageSize !== 0) break;
      const page = await options.fetchPage(n);
      if (page.records.length === 0) break;
      const print = fingerprint(page.records);
      if (print === previousFirst) {
        throw new DriverError('MALFORMED_RESPONSE', `the ERP sent page ${n} with the same products as page ${n - 1}; it may be ignoring the page number`);
      }
      previousFirst = print;
      received += page.records.length;
      yield { records: page.records };
    }
  }

  if (head.totalRecords !== undefined && received < head.totalRecords) {
    throw new DriverError(
      'INCOMPLETE_PULL',
      `the ERP reported ${head.totalRecords} products but its pages held ${received}; the pull is treated as incomplete, so nothing is marked as vanished this run`,
    );
  }
  if (head.totalRecords !== undefined && received > head.totalRecords) {
    options.warn?.(`the ERP reported ${head.totalRecords} products but its pages held ${received} (the catalog changed during the pull?)`);
  }
}

/**
 * Fetches pages [from, to] keeping `concurrency` requests in flight while the
 * consumer works: a page that arrives starts the next request at once, not
 * when the consumer asks for more. At most `concurrency` pages wait,
 * unconsumed, so memory stays bounded. Pages are yielded in arrival order.
 */
async function* fetchConcurrently(options: PageNumberOptions, from: number, to: number): AsyncGenerator<NumberedPage> {
  const limit = Math.max(1, options.concurrency);
  const ready: NumberedPage[] = [];
  let failure: { error: unknown } | undefined;
  let next = from;
  let inflight = 0;
  let wake: (() => void) | undefined;
  const launch = () => {
    while (!failure && inflight < limit && next <= to && ready.length + inflight < 2 * limit) {
      const n = next++;
      inflight++;
      options
        .fetchPage(n)
        .then(
          (page) => void ready.push(page),
          (error: unknown) => void (failure ??= { error }),
        )
        .finally(() => {
          inflight--;
          launch();
          wake?.();
        });
    }
  };
  launch();
  for (;;) {
    if (failure) throw failure.error;
    const page = ready.shift();
    if (page) {
      yield page;
      launch();
      continue;
    }
    if (inflight === 0 && next > to) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

function fingerprint(records: readonly unknown[]): string {
  return JSON.stringify(records[0]) + '|' + JSON.stringify(records[records.length - 1]) + '|' + records.length;
}
