import { defineMessages } from '../i18n/index.js';
import { DriverError } from './contract.js';
import type { RawPage } from './contract.js';

const m = defineMessages({
  en: {
    tooManyPages: 'the ERP reported {pages} pages, more than the {max} allowed',
    samePage: 'the ERP sent page {page} with the same products as page {previous}; it may be ignoring the page number',
    fewer: 'the ERP reported {reported} products but its pages held {received}; the pull is treated as incomplete, so nothing is marked as vanished this run',
    more: 'the ERP reported {reported} products but its pages held {received} (the catalog changed during the pull?)',
    keyStuck: 'the ERP sent page {page} starting at the key it was asked to read after ({key}); the pull was stopped rather than read the same rows again',
    pageTooLong: 'the ERP sent {rows} rows for a page of at most {size}',
  },
  tr: {
    tooManyPages: 'ERP {pages} sayfa bildirdi; izin verilen en fazla {max} sayfa',
    samePage: 'ERP {page}. sayfada {previous}. sayfadaki ürünlerin aynısını gönderdi; sayfa numarasını dikkate almıyor olabilir',
    fewer: 'ERP {reported} ürün bildirdi ama sayfalarında {received} ürün vardı; ürün alımı eksik sayıldı, bu yüzden bu çalışmada hiçbir ürün kaybolmuş sayılmadı',
    more: 'ERP {reported} ürün bildirdi ama sayfalarında {received} ürün vardı (katalog ürün alımı sırasında mı değişti?)',
    keyStuck: 'ERP {page}. sayfayı, ardından okunması istenen anahtarla ({key}) başlattı; aynı satırları yeniden okumamak için ürün alımı durduruldu',
    pageTooLong: 'ERP en fazla {size} satırlık bir sayfa için {rows} satır gönderdi',
  },
});

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
  /** Pages asked for at once: the first wave (before the page count is known), and every wave after it. */
  concurrency: number;
  firstPage?: number;
  /** The page size the driver asked for, when it chose one: lets a short page end the pull. */
  pageSize?: number | undefined;
  /** Refuses to go on past this many pages, so a broken API cannot loop forever. */
  maxPages?: number;
  warn?(message: string): void;
}

/**
 * The shared loop for page-number paging.
 *
 * The first wave asks for page `firstPage` and, speculatively, the
 * `concurrency - 1` pages after it: a latency-bound pull then does not spend
 * a whole round trip learning the page count. A speculative page that turns
 * out to lie past the end is dropped, and its failure ignored (ERPs answer an
 * out-of-range page with an empty list, a 404 or the last page again).
 *
 * If the first page reveals how many pages there are (a page count, or a
 * record count and the page's length), the rest are fetched `concurrency` at
 * a time and yielded as they arrive. Otherwise pages are taken in order until
 * an empty page, a short page, or the record count is reached.
 *
 * The pull counts as complete only if it ends that way: any failure throws,
 * and a record count that the pages did not add up to throws INCOMPLETE_PULL.
 */
export async function* paginateByPageNumber(options: PageNumberOptions): AsyncGenerator<RawPage> {
  const first = options.firstPage ?? 1;
  const maxPages = options.maxPages ?? 1_000_000;
  const headRequest = options.fetchPage(first);
  const speculative = new Map<number, Promise<NumberedPage>>();
  for (let n = first + 1; n < first + Math.min(options.concurrency, maxPages); n++) {
    const request = options.fetchPage(n);
    request.catch(() => undefined);
    speculative.set(n, request);
  }
  // A speculative page is handed over once and then forgotten, so the pull does not keep its records.
  const take = (n: number): Promise<NumberedPage> => {
    const request = speculative.get(n);
    speculative.delete(n);
    return request ?? options.fetchPage(n);
  };
  const head = await headRequest;
  let received = head.records.length;

  const pageSize = options.pageSize ?? (head.records.length || undefined);
  const totalPages =
    head.totalPages ??
    (head.totalRecords !== undefined && pageSize ? Math.ceil(head.totalRecords / pageSize) : undefined);

  if (totalPages !== undefined && head.records.length > 0) {
    if (totalPages > maxPages) {
      throw new DriverError('MALFORMED_RESPONSE', m('tooManyPages', { pages: totalPages, max: maxPages }));
    }
    // Started before the first page is handed on, so its staging overlaps the next requests.
    const rest = new ConcurrentPages(take, options.concurrency, first + 1, first + totalPages - 1);
    yield { records: head.records };
    for await (const page of rest) {
      received += page.records.length;
      yield { records: page.records };
    }
  } else if (head.records.length > 0) {
    yield { records: head.records };
    let previousFirst = fingerprint(head.records);
    for (let n = first + 1; n < first + maxPages; n++) {
      if (head.totalRecords !== undefined && received >= head.totalRecords) break;
      if (options.pageSize && received % options.pageSize !== 0) break;
      const page = await take(n);
      if (page.records.length === 0) break;
      const print = fingerprint(page.records);
      if (print === previousFirst) {
        throw new DriverError('MALFORMED_RESPONSE', m('samePage', { page: String(n), previous: String(n - 1) }));
      }
      previousFirst = print;
      received += page.records.length;
      yield { records: page.records };
    }
  }

  if (head.totalRecords !== undefined && received < head.totalRecords) {
    throw new DriverError('INCOMPLETE_PULL', m('fewer', { reported: head.totalRecords, received }));
  }
  if (head.totalRecords !== undefined && received > head.totalRecords) {
    options.warn?.(m('more', { reported: head.totalRecords, received }));
  }
}

/**
 * Pages [from, to], fetched with `concurrency` requests in flight from the
 * moment it is made, and kept in flight while the consumer works: a page that
 * arrives starts the next request at once, not when the consumer asks for
 * more. `fetch` hands over pages already requested (the first wave) rather
 * than asking again. Pages in flight and pages waiting, unconsumed, are at
 * most twice `concurrency` together, so memory stays bounded. Pages are
 * yielded in arrival order.
 */
class ConcurrentPages implements AsyncIterable<NumberedPage> {
  readonly #fetch: (n: number) => Promise<NumberedPage>;
  readonly #limit: number;
  readonly #to: number;
  readonly #ready: NumberedPage[] = [];
  #failure: { error: unknown } | undefined;
  #next: number;
  #inflight = 0;
  #wake: (() => void) | undefined;

  constructor(fetch: (n: number) => Promise<NumberedPage>, concurrency: number, from: number, to: number) {
    this.#fetch = fetch;
    this.#limit = Math.max(1, concurrency);
    this.#next = from;
    this.#to = to;
    this.#launch();
  }

  #launch(): void {
    while (!this.#failure && this.#inflight < this.#limit && this.#next <= this.#to && this.#ready.length + this.#inflight < 2 * this.#limit) {
      const n = this.#next++;
      this.#inflight++;
      this.#fetch(n)
        .then(
          (page) => void this.#ready.push(page),
          (error: unknown) => void (this.#failure ??= { error }),
        )
        .finally(() => {
          this.#inflight--;
          this.#launch();
          this.#wake?.();
        });
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<NumberedPage> {
    for (;;) {
      if (this.#failure) throw this.#failure.error;
      const page = this.#ready.shift();
      if (page) {
        yield page;
        this.#launch();
        continue;
      }
      if (this.#inflight === 0 && this.#next > this.#to) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

function fingerprint(records: readonly unknown[]): string {
  return JSON.stringify(records[0]) + '|' + JSON.stringify(records[records.length - 1]) + '|' + records.length;
}

/** One page read after a key. */
export interface KeyedPage<K> {
  /** The page's records, in key order. */
  records: readonly unknown[];
  /** How many rows the source sent for the page: a page is the last one when it holds fewer than the page size. */
  rows: number;
  /** The first and last keys of the page; undefined for an empty page. */
  firstKey: K | undefined;
  lastKey: K | undefined;
}

export interface KeysetOptions<K> {
  /** Reads the page of keys greater than `after` (the first page when undefined), at most `pageSize` rows, in key order. */
  fetchPage(after: K | undefined): Promise<KeyedPage<K>>;
  pageSize: number;
}

/**
 * The shared loop for keyset paging, for sources that page by a key rather
 * than a page number (a SQL table read `WHERE key > @after ORDER BY key`).
 * Every page is a short statement of its own, so no read stays open on the
 * ERP's tables while erp-sync works; the next page is asked for as soon as
 * the last key is known, while the page before is handed on, so at most two
 * pages are held at once. The pull ends at a short page and is complete only
 * then; a page that does not move past the key it was asked to read after,
 * or holds more rows than a page may, throws.
 */
export async function* paginateByKey<K>(options: KeysetOptions<K>): AsyncGenerator<RawPage> {
  let after: K | undefined;
  let next: Promise<KeyedPage<K>> | undefined = options.fetchPage(undefined);
  for (let n = 1; next; n++) {
    const page: KeyedPage<K> = await next;
    next = undefined;
    if (page.rows > options.pageSize) throw new DriverError('MALFORMED_RESPONSE', m('pageTooLong', { rows: page.rows, size: options.pageSize }));
    if (after !== undefined && page.firstKey !== undefined && !(compareKeys(page.firstKey, after) > 0)) {
      throw new DriverError('MALFORMED_RESPONSE', m('keyStuck', { page: String(n), key: String(after) }));
    }
    if (page.rows === options.pageSize && page.lastKey !== undefined) {
      after = page.lastKey;
      next = options.fetchPage(after);
      // Handled when awaited; until then a failure must not go unobserved.
      next.catch(() => undefined);
    }
    if (page.records.length > 0) yield { records: page.records };
  }
}

/**
 * Numbers by value; text as the source sorted it can only be checked for
 * having changed, so any other key than the one asked after counts as moving
 * on (a server's collation, not JavaScript, orders text keys).
 */
function compareKeys<K>(a: K, b: K): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).toLowerCase() === String(b).toLowerCase() ? 0 : 1;
}
