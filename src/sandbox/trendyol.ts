import { createHash, randomUUID } from 'node:crypto';
import Big from 'big.js';
import { AsyncTargetSandbox } from './async-target.js';
import type { AsyncTargetOptions, ListedValues, ParsedRequest, Reply } from './async-target.js';

export interface SandboxTrendyolOptions extends AsyncTargetOptions {
  sellerId: string;
  apiKey: string;
  apiSecret: string;
  /**
   * The failure reason for a barcode Trendyol has no approved product for.
   * The documentation's words are "not found"; its exact sentence is not published.
   */
  unknownBarcodeReason?: string;
}

/** Trendyol's answer to the same body within 15 minutes (developers.trendyol.com, updatePriceAndInventory). */
export const TRENDYOL_DUPLICATE_TEXT = '15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!';
const DUPLICATE_WINDOW_MS = 15 * 60_000;
const MAX_ITEMS = 1000;
const MAX_STOCK = 20_000;
const MAX_BARCODES_PER_READ = 50;
const MAX_PAGE_SIZE = 100;

/** One listed product (a variant of a content) as Trendyol holds it. */
export interface TrendyolVariant {
  barcode: string;
  stockCode: string;
  /** The product (content) the variant belongs to: variants of one model share it. */
  contentId: string;
  quantity: number;
  salePrice: string;
  listPrice: string;
  stockLastModifiedDate: number;
}

interface RequestItem {
  barcode?: unknown;
  quantity?: unknown;
  salePrice?: unknown;
  listPrice?: unknown;
}

interface BatchRequest {
  items: RequestItem[];
  creationDate: number;
}

/**
 * The sandbox Trendyol: the stock and price API as marketplace-apis.md §1
 * describes it, under `/integration` on 127.0.0.1.
 *
 *   POST /integration/inventory/sellers/{sellerId}/products/price-and-inventory   {items:[...]} → {batchRequestId}
 *   GET  /integration/product/sellers/{sellerId}/products/batch-requests/{id}     items[] with a status each, none for the batch
 *   GET  /integration/product/sellers/{sellerId}/products/approved/inventory-and-price?barcodes=a,b&page&size
 *
 * Every request needs `Authorization: Basic base64(apiKey:apiSecret)` (401
 * ClientApiAuthenticationException otherwise) and `User-Agent: "{sellerId} -
 * {integrator}"` (403 otherwise). The same body within 15 minutes of the
 * sandbox's clock is refused with Trendyol's Turkish sentence. Only listed
 * (approved) barcodes are updated; others fail with "not found". Stock above
 * 20,000 and a list price below the sale price fail per item; the wording of
 * those two failures is the sandbox's own (Trendyol does not publish its own).
 */
export class SandboxTrendyol extends AsyncTargetSandbox {
  readonly catalog = new Map<string, TrendyolVariant>();
  readonly #options: SandboxTrendyolOptions;
  /** When each body was accepted, by its hash, for the 15 minutes it may not be sent again. */
  readonly #recentBodies = new Map<string, number>();

  constructor(options: SandboxTrendyolOptions) {
    super(options, { resultRetentionMs: 4 * 3_600_000 });
    this.#options = options;
  }

  get baseUrl(): string {
    return `${this.url}/integration`;
  }

  listProduct(product: { barcode: string; sku: string; stock?: number; price?: string; listPrice?: string; contentId?: string }): void {
    const price = product.price ?? '100.00';
    this.catalog.set(product.barcode, {
      barcode: product.barcode,
      stockCode: product.sku,
      contentId: product.contentId ?? `content-${product.barcode}`,
      quantity: product.stock ?? 0,
      salePrice: price,
      listPrice: product.listPrice ?? price,
      stockLastModifiedDate: this.now(),
    });
  }

  /** Takes up listings kept from an earlier run (the demo's), as `catalog` held them. */
  restore(variants: Iterable<TrendyolVariant>): this {
    for (const variant of variants) this.catalog.set(variant.barcode, { ...variant });
    return this;
  }

  listed(barcode: string): ListedValues | undefined {
    const variant = this.catalog.get(barcode);
    return variant && { stock: variant.quantity, price: variant.salePrice };
  }

  protected endpoint(req: ParsedRequest): string {
    const path = req.url.pathname;
    if (path.endsWith('/products/price-and-inventory')) return 'price-and-inventory';
    if (path.includes('/products/batch-requests/')) return 'batch-requests';
    if (path.endsWith('/products/approved/inventory-and-price')) return 'inventory-and-price';
    return 'other';
  }

  protected errorBody(status: 429 | 503): unknown {
    return status === 429 ? errors('too.many.requests', 'Too many requests') : errors('service.unavailable', 'Service Unavailable');
  }

  protected refuse(req: ParsedRequest): Reply | undefined {
    const agent = /^(\d+) - [A-Za-z0-9]{1,30}$/.exec(String(req.headers['user-agent'] ?? ''));
    if (!agent || agent[1] !== this.#options.sellerId) return { status: 403, json: errors('forbidden', 'Forbidden') };
    const expected = `Basic ${Buffer.from(`${this.#options.apiKey}:${this.#options.apiSecret}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      return { status: 401, json: { exception: 'ClientApiAuthenticationException', message: 'Unauthorized', errors: [{ key: 'ClientApiAuthenticationException', message: 'Unauthorized' }] } };
    }
    const seller = /\/sellers\/([^/]+)\//.exec(req.url.pathname)?.[1];
    if (seller !== undefined && seller !== this.#options.sellerId) return { status: 403, json: errors('forbidden', 'Forbidden') };
    return undefined;
  }

  protected route(req: ParsedRequest): Reply {
    const path = req.url.pathname;
    const seller = this.#options.sellerId;
    if (req.method === 'POST' && path === `/integration/inventory/sellers/${seller}/products/price-and-inventory`) return this.#update(req.body);
    const batch = new RegExp(`^/integration/product/sellers/${seller}/products/batch-requests/([^/]+)$`).exec(path);
    if (req.method === 'GET' && batch) return this.#batchResult(decodeURIComponent(batch[1]!));
    if (req.method === 'GET' && path === `/integration/product/sellers/${seller}/products/approved/inventory-and-price`) return this.#inventory(req.url.searchParams);
    return { status: 404, json: errors('not.found', `no route ${req.method} ${path}`) };
  }

  #update(body: string): Reply {
    let items: unknown;
    try {
      items = (JSON.parse(body) as { items?: unknown }).items;
    } catch {
      return { status: 400, json: errors('invalid.request', 'Request body is not valid JSON') };
    }
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ITEMS) {
      return { status: 400, json: errors('invalid.item.count', `items must hold 1 to ${MAX_ITEMS} items`) };
    }
    const hash = createHash('sha256').update(body).digest('hex');
    for (const [seen, at] of this.#recentBodies) if (this.now() - at >= DUPLICATE_WINDOW_MS) this.#recentBodies.delete(seen);
    if (this.#recentBodies.has(hash)) return { status: 400, json: errors('duplicate.request', TRENDYOL_DUPLICATE_TEXT) };
    this.#recentBodies.set(hash, this.now());
    const request: BatchRequest = { items: items as RequestItem[], creationDate: this.now() };
    const id = this.enqueue(request, () => request.items.map((item) => this.#apply(item, request.creationDate)), `${randomUUID()}-${Math.floor(this.now() / 1000)}`);
    return { status: 200, json: { batchRequestId: id } };
  }

  #apply(item: RequestItem, requested: number): Record<string, unknown> {
    const requestItem = { ...item, updateRequestDate: requested };
    const failed = (reason: string) => ({ requestItem, status: 'FAILED', failureReasons: [reason] });
    const barcode = typeof item.barcode === 'string' ? item.barcode : '';
    const refused = this.faults.failItems.get(barcode);
    if (refused !== undefined) return failed(refused);
    const variant = this.lookup(this.catalog, barcode, () => blankVariant(barcode, this.now()));
    if (!variant) return failed(this.#options.unknownBarcodeReason ?? 'not found');
    const quantity = item.quantity;
    if (quantity !== undefined && !(Number.isInteger(quantity) && (quantity as number) >= 0 && (quantity as number) <= MAX_STOCK)) {
      return failed(`quantity must be a whole number from 0 to ${MAX_STOCK}`);
    }
    const salePrice = money(item.salePrice);
    const listPrice = money(item.listPrice);
    if (salePrice === null || listPrice === null) return failed('salePrice and listPrice must be positive numbers');
    if (new Big(listPrice ?? variant.listPrice).lt(salePrice ?? variant.salePrice)) return failed('listPrice cannot be lower than salePrice');
    const written: Record<string, string | number> = {};
    if (quantity !== undefined) variant.quantity = written.quantity = quantity as number;
    if (salePrice !== undefined) variant.salePrice = written.salePrice = salePrice;
    if (listPrice !== undefined) variant.listPrice = written.listPrice = listPrice;
    variant.stockLastModifiedDate = requested;
    this.recordApplication(barcode, written);
    return { requestItem, status: 'SUCCESS', failureReasons: [] };
  }

  #batchResult(id: string): Reply {
    const polled = this.poll(id);
    if (polled.state === 'unknown') return { status: 404, json: errors('batch.request.not.found', `Batch request ${id} not found`) };
    const request = polled.request as BatchRequest;
    // Pending: the items are there, without a status yet.
    const items = polled.state === 'done' ? (polled.result as Array<Record<string, unknown>>) : request.items.map((item) => ({ requestItem: { ...item, updateRequestDate: request.creationDate }, failureReasons: [] }));
    return {
      status: 200,
      json: {
        batchRequestId: id,
        items,
        creationDate: request.creationDate,
        lastModification: this.now(),
        sourceType: 'API',
        itemCount: request.items.length,
        failedItemCount: items.filter((item) => item.status === 'FAILED').length,
        batchRequestType: 'ProductInventoryUpdate',
      },
    };
  }

  #inventory(query: URLSearchParams): Reply {
    const barcodes = (query.get('barcodes') ?? '').split(',').filter((b) => b !== '');
    const page = Number(query.get('page') ?? 0);
    const size = Number(query.get('size') ?? 50);
    if (barcodes.length > MAX_BARCODES_PER_READ) return { status: 400, json: errors('invalid.barcodes', `at most ${MAX_BARCODES_PER_READ} barcodes`) };
    if (!(Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE) || !(Number.isInteger(page) && page >= 0)) {
      return { status: 400, json: errors('invalid.page', `size must be 1 to ${MAX_PAGE_SIZE}, page 0 or more`) };
    }
    const variants = barcodes.length > 0
      ? barcodes.map((b) => this.lookup(this.catalog, b, () => blankVariant(b, this.now()))).filter((v): v is TrendyolVariant => v !== undefined)
      : [...this.catalog.values()];
    const contents = new Map<string, TrendyolVariant[]>();
    for (const variant of variants) contents.set(variant.contentId, [...(contents.get(variant.contentId) ?? []), variant]);
    const all = [...contents.entries()].map(([contentId, group]) => ({
      contentId,
      productMainId: group[0]!.stockCode,
      variants: group.map((v) => ({
        barcode: v.barcode, stockCode: v.stockCode, quantity: v.quantity, salePrice: Number(v.salePrice), listPrice: Number(v.listPrice), stockLastModifiedDate: v.stockLastModifiedDate,
      })),
    }));
    return {
      status: 200,
      json: { page, size, totalElements: all.length, totalPages: Math.ceil(all.length / size), content: all.slice(page * size, (page + 1) * size) },
    };
  }
}

function errors(key: string, message: string): unknown {
  return { errors: [{ key, message, errorParams: [] }] };
}

/** A price as sent, two decimals; undefined when absent, null when it is not a positive number. */
function money(value: unknown): string | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0)) return null;
  return new Big(String(value)).toFixed(2);
}

/** A product the `listed` option lists, before its first update: a list price high enough for any sale price. */
function blankVariant(barcode: string, now: number): TrendyolVariant {
  return { barcode, stockCode: barcode, contentId: `content-${barcode}`, quantity: 0, salePrice: '0.01', listPrice: '1000000.00', stockLastModifiedDate: now };
}
