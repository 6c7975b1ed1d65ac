import Big from 'big.js';
import { AsyncTargetSandbox } from './async-target.js';
import type { AsyncTargetOptions, ListedValues, ParsedRequest, Reply } from './async-target.js';

export interface SandboxHepsiburadaOptions extends AsyncTargetOptions {
  merchantId: string;
  serviceKey: string;
  /** The developer username Hepsiburada expects as the User-Agent. */
  userAgent: string;
  /**
   * The status words of an upload, which Hepsiburada does not document
   * (clients guess PROCESSING and COMPLETED): tests try others.
   */
  statuses?: { pending: string; done: string };
  /** The most items one upload takes (undocumented; one client caps at 1,000). */
  maxItems?: number;
  /** The most listings one page of the listings read holds. */
  maxPageSize?: number;
  /** The error for a stock code Hepsiburada has no listing for (its wording is not published). */
  unknownSkuError?: string;
  /** Whether an entry of `errors[]` names the stock code beside its elementNo (clients read both); default true. */
  errorsNameSku?: boolean;
}

interface Listing {
  listingId: string;
  hepsiburadaSku: string;
  merchantSku: string;
  price: string;
  availableStock: number;
  isFulfilledByHB: boolean;
}

interface UploadRequest {
  kind: 'stock' | 'price';
  entries: Array<Record<string, unknown>>;
  createdAt: string;
}

interface UploadOutcome {
  errors: Array<{ elementNo: number; hepsiburadaSku: string | null; merchantSku: string | null; errors: string[] }>;
  priceValidations: Array<{ elementNo: number; type: string; minPrice: number; maxPrice: number; description: string }>;
}

/**
 * The sandbox Hepsiburada: the listing API as marketplace-apis.md §2
 * describes it.
 *
 *   POST /listings/merchantid/{merchantId}/stock-uploads        [{merchantSku, availableStock}] → {id}
 *   POST /listings/merchantid/{merchantId}/price-uploads        [{merchantSku, price}] → {id}
 *   GET  /listings/merchantid/{merchantId}/stock-uploads/id/{id}  {id, status, createdAt, total, errors[]}
 *   GET  /listings/merchantid/{merchantId}/price-uploads/id/{id}  the same + priceValidations[]
 *   GET  /listings/merchantid/{merchantId}?offset&limit&merchantSkuList=a,b   {totalCount, offset, limit, listings[]}
 *
 * Every request needs `Authorization: Basic base64(merchantId:serviceKey)`
 * and the developer username as `User-Agent`; otherwise 401. A failure in an
 * upload is an entry in `errors[]` with its `elementNo` (0-based) and stock
 * code; a price outside a listing's band (`priceBands`) is an entry in
 * `priceValidations[]` with its `elementNo` alone, and is not applied. A
 * listing fulfilled by Hepsiburada (`isFulfilledByHB`) takes a stock upload
 * all the same, as the API does not say it refuses one: tests check that
 * none is sent. The wording of the errors is the sandbox's own; Hepsiburada
 * does not publish its own.
 */
export class SandboxHepsiburada extends AsyncTargetSandbox {
  readonly catalog = new Map<string, Listing>();
  /** Stock codes whose price Hepsiburada holds within a band: a price outside it is refused. */
  readonly priceBands = new Map<string, { min: string; max: string }>();
  readonly #options: SandboxHepsiburadaOptions & { statuses: { pending: string; done: string }; maxItems: number; maxPageSize: number };

  constructor(options: SandboxHepsiburadaOptions) {
    super(options, { resultRetentionMs: 24 * 3_600_000 });
    this.#options = { statuses: { pending: 'PROCESSING', done: 'COMPLETED' }, maxItems: 1000, maxPageSize: 100, ...options };
  }

  get baseUrl(): string {
    return this.url;
  }

  listProduct(product: { barcode: string; sku: string; stock?: number; price?: string; fulfilledByHB?: boolean }): void {
    this.catalog.set(product.sku, blankListing(product.sku, { price: product.price ?? '100.00', availableStock: product.stock ?? 0, isFulfilledByHB: product.fulfilledByHB ?? false }));
  }

  listed(sku: string): ListedValues | undefined {
    const listing = this.catalog.get(sku);
    return listing && { stock: listing.availableStock, price: listing.price };
  }

  protected endpoint(req: ParsedRequest): string {
    const path = req.url.pathname;
    for (const kind of ['stock-uploads', 'price-uploads']) {
      if (path.endsWith(`/${kind}`)) return kind;
      if (path.includes(`/${kind}/id/`)) return `${kind}/id`;
    }
    return /^\/listings\/merchantid\/[^/]+$/.test(path) ? 'listings' : 'other';
  }

  protected errorBody(status: 429 | 503): unknown {
    return status === 429 ? { title: 'Too Many Requests', status } : { title: 'Service Unavailable', status };
  }

  protected refuse(req: ParsedRequest): Reply | undefined {
    const expected = `Basic ${Buffer.from(`${this.#options.merchantId}:${this.#options.serviceKey}`).toString('base64')}`;
    if (req.headers.authorization !== expected || req.headers['user-agent'] !== this.#options.userAgent) {
      return { status: 401, json: { title: 'Unauthorized', status: 401, detail: 'Authentication failed' } };
    }
    const merchant = /^\/listings\/merchantid\/([^/]+)/.exec(req.url.pathname)?.[1];
    if (merchant !== undefined && merchant !== this.#options.merchantId) return { status: 403, json: { title: 'Forbidden', status: 403 } };
    return undefined;
  }

  protected route(req: ParsedRequest): Reply {
    const prefix = `/listings/merchantid/${this.#options.merchantId}`;
    const path = req.url.pathname;
    if (req.method === 'GET' && path === prefix) return this.#listings(req.url.searchParams);
    for (const kind of ['stock', 'price'] as const) {
      if (req.method === 'POST' && path === `${prefix}/${kind}-uploads`) return this.#upload(kind, req.body);
      const result = new RegExp(`^${prefix}/${kind}-uploads/id/([^/]+)$`).exec(path);
      if (req.method === 'GET' && result) return this.#result(kind, decodeURIComponent(result[1]!));
    }
    return { status: 404, json: { title: 'Not Found', status: 404, detail: `no route ${req.method} ${path}` } };
  }

  #upload(kind: 'stock' | 'price', body: string): Reply {
    let entries: unknown;
    try {
      entries = JSON.parse(body);
    } catch {
      return { status: 400, json: { title: 'Bad Request', status: 400, detail: 'The body is not valid JSON.' } };
    }
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > this.#options.maxItems) {
      return { status: 400, json: { title: 'Bad Request', status: 400, detail: `An upload holds 1 to ${this.#options.maxItems} items.` } };
    }
    const request: UploadRequest = { kind, entries: entries as UploadRequest['entries'], createdAt: new Date(this.now()).toISOString() };
    return { status: 200, json: { id: this.enqueue(request, () => this.#apply(request)) } };
  }

  #apply(request: UploadRequest): UploadOutcome {
    const outcome: UploadOutcome = { errors: [], priceValidations: [] };
    request.entries.forEach((entry, elementNo) => {
      const sku = typeof entry.merchantSku === 'string' ? entry.merchantSku : '';
      const named = this.#options.errorsNameSku !== false;
      const fail = (text: string) => outcome.errors.push({ elementNo, hepsiburadaSku: named ? (this.catalog.get(sku)?.hepsiburadaSku ?? null) : null, merchantSku: named ? sku || null : null, errors: [text] });
      const refused = this.faults.failItems.get(sku);
      if (refused !== undefined) return fail(refused);
      const listing = this.lookup(this.catalog, sku, () => blankListing(sku, {}));
      if (!listing) return fail(this.#options.unknownSkuError ?? `Listing not found for merchantSku ${sku}`);
      if (request.kind === 'stock') {
        const stock = entry.availableStock;
        if (!(Number.isInteger(stock) && (stock as number) >= 0)) return fail('availableStock must be a whole number, 0 or more');
        listing.availableStock = stock as number;
        this.recordApplication(sku, { availableStock: listing.availableStock });
        return;
      }
      if (typeof entry.price !== 'number' || !(entry.price > 0)) return fail('price must be a positive number');
      const price = new Big(String(entry.price));
      const band = this.priceBands.get(sku);
      if (band && (price.lt(band.min) || price.gt(band.max))) {
        outcome.priceValidations.push({
          elementNo, type: price.lt(band.min) ? 'MinPrice' : 'MaxPrice', minPrice: Number(band.min), maxPrice: Number(band.max),
          description: `Fiyat ${band.min} ile ${band.max} arasında olmalıdır.`,
        });
        return;
      }
      listing.price = price.toFixed(2);
      this.recordApplication(sku, { price: listing.price });
    });
    return outcome;
  }

  #result(kind: 'stock' | 'price', id: string): Reply {
    const polled = this.poll(id);
    const request = polled.state === 'unknown' ? undefined : (polled.request as UploadRequest);
    if (polled.state === 'unknown' || request?.kind !== kind) return { status: 404, json: { title: 'Not Found', status: 404, detail: `No ${kind} upload ${id}` } };
    const outcome = polled.state === 'done' ? (polled.result as UploadOutcome) : { errors: [], priceValidations: [] };
    const status = polled.state === 'done' ? this.#options.statuses.done : this.#options.statuses.pending;
    const answer = { id, status, createdAt: request.createdAt, total: request.entries.length, errors: outcome.errors };
    return { status: 200, json: kind === 'price' ? { ...answer, priceValidations: outcome.priceValidations } : answer };
  }

  #listings(query: URLSearchParams): Reply {
    const offset = Number(query.get('offset'));
    const limit = Number(query.get('limit'));
    if (query.get('offset') === null || query.get('limit') === null || !(Number.isInteger(offset) && offset >= 0) || !(Number.isInteger(limit) && limit >= 1)) {
      return { status: 400, json: { title: 'Bad Request', status: 400, detail: 'offset and limit are required' } };
    }
    const skus = (query.get('merchantSkuList') ?? '').split(',').filter((s) => s !== '');
    const all = skus.length > 0
      ? skus.map((sku) => this.lookup(this.catalog, sku, () => blankListing(sku, {}))).filter((l): l is Listing => l !== undefined)
      : [...this.catalog.values()];
    const size = Math.min(limit, this.#options.maxPageSize);
    const listings = all.slice(offset, offset + size).map((l) => ({
      listingId: l.listingId, hepsiburadaSku: l.hepsiburadaSku, merchantSku: l.merchantSku, price: Number(l.price), availableStock: l.availableStock,
      dispatchTime: 1, maximumPurchasableQuantity: 10, minimumPurchasableQuantity: 1, isSalable: l.availableStock > 0, isSuspended: false,
      isLocked: this.priceBands.has(l.merchantSku), isFrozen: false, isFulfilledByHB: l.isFulfilledByHB, priceIncreaseDisabled: false,
      priceDecreaseDisabled: false, stockDecreaseDisabled: false, hasVariant: false,
    }));
    return { status: 200, json: { totalCount: all.length, offset, limit: size, listings } };
  }
}

function blankListing(sku: string, values: Partial<Pick<Listing, 'price' | 'availableStock' | 'isFulfilledByHB'>>): Listing {
  return {
    listingId: `listing-${sku}`,
    hepsiburadaSku: `HBV${Buffer.from(sku).toString('hex').slice(0, 14).toUpperCase().padEnd(14, '0')}`,
    merchantSku: sku,
    price: values.price ?? '0.01',
    availableStock: values.availableStock ?? 0,
    isFulfilledByHB: values.isFulfilledByHB ?? false,
  };
}
