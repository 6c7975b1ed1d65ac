import Big from 'big.js';
import { AsyncTargetSandbox } from './async-target.js';
import type { AsyncTargetOptions, ListedValues, ParsedRequest, Reply } from './async-target.js';

export interface SandboxN11Options extends AsyncTargetOptions {
  appKey: string;
  appSecret: string;
  /** The currencyType values N11 takes (its pages and clients write TL, USD, EUR; TRY is uncertain). */
  currencyTypes?: readonly string[];
  /** The most detail lines one page of a task's result holds. */
  maxDetailPageSize?: number;
  /** The reason for a stock code N11 has no product for (its wording is not published). */
  unknownStockCodeReason?: string;
}

interface Product {
  id: number;
  stockCode: string;
  title: string;
  salePrice: string;
  listPrice: string;
  quantity: number;
  currencyType: string;
}

interface TaskRequest {
  taskId: number;
  skus: Array<Record<string, unknown>>;
  createdDate: string;
}

interface DetailLine {
  id: number;
  taskId: number;
  itemCode: string;
  status: 'SUCCESS' | 'FAIL';
  reasons: string[];
  sku: Record<string, unknown>;
}

const MAX_SKUS = 1000;
const MAX_QUERY_SIZE = 250;
/** A price field in the body as written: its number literal, to be checked digit by digit. */
const PRICE_LITERAL = /"(listPrice|salePrice)"\s*:\s*([^,}\]\s]+)/g;

/**
 * The sandbox N11: the REST price and stock task as marketplace-apis.md §3
 * describes it.
 *
 *   POST /ms/product/tasks/price-stock-update   {payload:{integrator, skus:[...]}} → {id, type, status: IN_QUEUE|REJECT, reasons}
 *   POST /ms/product/task-details/page-query    {taskId, pageable:{page, size}} → {taskId, status, skus:{content[], totalPages, ...}}
 *   GET  /ms/product-query?stockCode&page&size  (size ≤ 250) → {content[], totalElements, totalPages, ...}
 *
 * Every request needs the `appkey` and `appsecret` headers (401 otherwise).
 * A body whose prices are not written with a dot and exactly two decimals
 * (checked in the text as sent: 12.5 is refused, 12.50 taken), a list price
 * without its sale price, an unknown currencyType, no integrator or more than
 * 1,000 stock codes is REJECTed whole. Per stock code: an unknown one, one in
 * `faults.failItems` or a list price below the sale price FAILs. A task
 * forgotten after retention answers 404. The wording of the reasons is the
 * sandbox's own; N11 does not publish its own.
 */
export class SandboxN11 extends AsyncTargetSandbox {
  readonly catalog = new Map<string, Product>();
  readonly #options: SandboxN11Options & { currencyTypes: readonly string[]; maxDetailPageSize: number };
  #nextTaskId = 880_000_001;
  #nextProductId = 1;

  constructor(options: SandboxN11Options) {
    super(options, { resultRetentionMs: 24 * 3_600_000 });
    this.#options = { currencyTypes: ['TL', 'USD', 'EUR'], maxDetailPageSize: 100, ...options };
  }

  get baseUrl(): string {
    return this.url;
  }

  listProduct(product: { barcode: string; sku: string; stock?: number; price?: string }): void {
    const price = product.price ?? '100.00';
    this.catalog.set(product.sku, { id: this.#nextProductId++, stockCode: product.sku, title: `Ürün ${product.sku}`, salePrice: price, listPrice: price, quantity: product.stock ?? 0, currencyType: 'TL' });
  }

  listed(sku: string): ListedValues | undefined {
    const product = this.catalog.get(sku);
    return product && { stock: product.quantity, price: product.salePrice };
  }

  protected endpoint(req: ParsedRequest): string {
    const path = req.url.pathname;
    if (path === '/ms/product/tasks/price-stock-update') return 'price-stock-update';
    if (path === '/ms/product/task-details/page-query') return 'task-details';
    if (path === '/ms/product-query') return 'product-query';
    return 'other';
  }

  protected errorBody(status: 429 | 503): unknown {
    return { status: status === 429 ? 'TOO_MANY_REQUESTS' : 'SERVICE_UNAVAILABLE', reasons: [status === 429 ? 'Too many requests' : 'Service unavailable'] };
  }

  protected refuse(req: ParsedRequest): Reply | undefined {
    if (req.headers.appkey !== this.#options.appKey || req.headers.appsecret !== this.#options.appSecret) {
      return { status: 401, json: { status: 'UNAUTHORIZED', reasons: ['appKey or appSecret is not valid'] } };
    }
    return undefined;
  }

  protected route(req: ParsedRequest): Reply {
    const path = req.url.pathname;
    if (req.method === 'POST' && path === '/ms/product/tasks/price-stock-update') return this.#update(req.body);
    if (req.method === 'POST' && path === '/ms/product/task-details/page-query') return this.#details(req.body);
    if (req.method === 'GET' && path === '/ms/product-query') return this.#query(req.url.searchParams);
    return { status: 404, json: { status: 'NOT_FOUND', reasons: [`no route ${req.method} ${path}`] } };
  }

  #update(body: string): Reply {
    const reject = (reason: string): Reply => ({ status: 200, json: { id: this.#nextTaskId++, type: 'SKU_UPDATE', status: 'REJECT', reasons: [reason] } });
    let payload: { integrator?: unknown; skus?: unknown } | undefined;
    try {
      payload = (JSON.parse(body) as { payload?: typeof payload }).payload;
    } catch {
      return reject('Request body is not valid JSON');
    }
    if (typeof payload?.integrator !== 'string' || payload.integrator === '') return reject('integrator is required');
    const skus = payload.skus;
    if (!Array.isArray(skus) || skus.length === 0 || skus.length > MAX_SKUS) return reject(`skus must hold 1 to ${MAX_SKUS} items`);
    for (const [, field, literal] of body.matchAll(PRICE_LITERAL)) {
      if (!/^\d+\.\d{2}$/.test(literal!)) return reject(`${field} must be written with a dot and exactly two decimals: ${literal}`);
    }
    for (const sku of skus as Array<Record<string, unknown>>) {
      if ((sku.listPrice === undefined) !== (sku.salePrice === undefined)) return reject(`listPrice and salePrice must be sent together (${String(sku.stockCode)})`);
      if (sku.currencyType !== undefined && !this.#options.currencyTypes.includes(String(sku.currencyType))) return reject(`currencyType ${String(sku.currencyType)} is not valid`);
    }
    const request: TaskRequest = { taskId: this.#nextTaskId++, skus: skus as TaskRequest['skus'], createdDate: n11Date(this.now()) };
    this.enqueue(request, () => request.skus.map((sku, i) => this.#apply(request.taskId, i, sku)), String(request.taskId));
    return { status: 200, json: { id: request.taskId, type: 'SKU_UPDATE', status: 'IN_QUEUE', reasons: [] } };
  }

  #apply(taskId: number, index: number, sku: Record<string, unknown>): DetailLine {
    const stockCode = typeof sku.stockCode === 'string' ? sku.stockCode : '';
    const line = (status: DetailLine['status'], reasons: string[]): DetailLine => ({ id: taskId * 10_000 + index, taskId, itemCode: stockCode, status, reasons, sku });
    const refused = this.faults.failItems.get(stockCode);
    if (refused !== undefined) return line('FAIL', [refused]);
    const product = this.lookup(this.catalog, stockCode, () => this.#blank(stockCode));
    if (!product) return line('FAIL', [this.#options.unknownStockCodeReason ?? `Product not found for stockCode ${stockCode}`]);
    if (sku.quantity !== undefined && !(Number.isInteger(sku.quantity) && (sku.quantity as number) >= 0)) return line('FAIL', ['quantity must be a whole number, 0 or more']);
    const written: Record<string, string | number> = {};
    if (sku.salePrice !== undefined) {
      const sale = new Big(String(sku.salePrice));
      const list = new Big(String(sku.listPrice));
      if (list.lt(sale)) return line('FAIL', ['listPrice cannot be lower than salePrice']);
      product.salePrice = written.salePrice = sale.toFixed(2);
      product.listPrice = written.listPrice = list.toFixed(2);
    }
    if (sku.quantity !== undefined) product.quantity = written.quantity = sku.quantity as number;
    if (typeof sku.currencyType === 'string') product.currencyType = sku.currencyType;
    this.recordApplication(stockCode, written);
    return line('SUCCESS', []);
  }

  #details(body: string): Reply {
    let query: { taskId?: unknown; pageable?: { page?: unknown; size?: unknown } };
    try {
      query = JSON.parse(body) as typeof query;
    } catch {
      return { status: 400, json: { status: 'BAD_REQUEST', reasons: ['Request body is not valid JSON'] } };
    }
    const polled = this.poll(String(query.taskId));
    if (polled.state === 'unknown') return { status: 404, json: { status: 'NOT_FOUND', reasons: [`Task ${String(query.taskId)} not found`] } };
    const request = polled.request as TaskRequest;
    const page = Number(query.pageable?.page ?? 0);
    const size = Math.min(Number(query.pageable?.size ?? 20), this.#options.maxDetailPageSize);
    const lines = polled.state === 'done' ? (polled.result as DetailLine[]) : [];
    return {
      status: 200,
      json: {
        taskId: request.taskId,
        createdDate: request.createdDate,
        status: polled.state === 'done' ? 'PROCESSED' : 'IN_QUEUE',
        skus: springPage(lines, page, size),
      },
    };
  }

  #query(query: URLSearchParams): Reply {
    const page = Number(query.get('page') ?? 0);
    const size = Number(query.get('size') ?? 20);
    if (!(Number.isInteger(size) && size >= 1 && size <= MAX_QUERY_SIZE)) return { status: 400, json: { status: 'BAD_REQUEST', reasons: [`size must be 1 to ${MAX_QUERY_SIZE}`] } };
    const code = query.get('stockCode');
    const products = code ? [this.lookup(this.catalog, code, () => this.#blank(code))].filter((p): p is Product => p !== undefined) : [...this.catalog.values()];
    const rows = products.map((p) => ({
      n11ProductId: p.id, stockCode: p.stockCode, title: p.title, salePrice: Number(p.salePrice), listPrice: Number(p.listPrice), quantity: p.quantity,
      currencyType: p.currencyType, status: 'Active', saleStatus: p.quantity > 0 ? 'On_Sale' : 'Out_Of_Stock', vatRate: 20,
    }));
    return { status: 200, json: springPage(rows, page, size) };
  }

  #blank(stockCode: string): Product {
    return { id: this.#nextProductId++, stockCode, title: stockCode, salePrice: '0.01', listPrice: '0.01', quantity: 0, currencyType: 'TL' };
  }
}

/** A Spring Data page, as N11's REST services answer one. */
function springPage<T>(all: readonly T[], page: number, size: number): Record<string, unknown> {
  const content = all.slice(page * size, (page + 1) * size);
  const totalPages = Math.ceil(all.length / size);
  return {
    content, pageable: { pageNumber: page, pageSize: size }, totalElements: all.length, totalPages, number: page, size,
    numberOfElements: content.length, first: page === 0, last: page + 1 >= totalPages, empty: content.length === 0,
  };
}

/** N11 writes dates as dd-MM-yyyy HH:mm:ss. */
function n11Date(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getDate())}-${two(d.getMonth() + 1)}-${d.getFullYear()} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
