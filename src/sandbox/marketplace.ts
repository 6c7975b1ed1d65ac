import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Offer, OfferResult, StoredOffer } from '../marketplace/types.js';
import { WindowCounter, listenOnLoopback, readBody, sendJson, sleep } from './http.js';

export interface SandboxMarketplaceOptions {
  token: string;
  port?: number;
  /** Whether a barcode is in the marketplace's master catalog; others go to pending_approval. */
  inMasterCatalog?: (barcode: string) => boolean;
  maxBatch?: number;
  /** Keep every price each offer was written with (stats.pricesPerBarcode): for tests, not for a million offers. */
  keepPriceHistory?: boolean;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
}

export interface SandboxMarketplaceFaults {
  latencyMs: number;
  /** Fraction of batch requests answered 503 (0..1), decided by a seeded sequence. */
  errorRate: number;
  /** The next N batch requests answer 503 before applying anything. */
  failNext: number;
  /** The next N batch requests answer 429 with this Retry-After (seconds). */
  rateLimitNext: number;
  retryAfterSeconds: number;
  /** The next N batches are applied, then the connection is dropped without an answer. */
  dropAfterApply: number;
  /** The next N batches are applied and answered for only their first half of offers (none of a batch of one). */
  answerHalf: number;
  /** The next N batches are applied and answered 200 with a body that is not JSON. */
  answerUnreadable: number;
  /** Barcodes refused with status rejected. */
  rejectBarcodes: Set<string>;
  /** A batch containing any of these barcodes answers 503 (a persistent, targeted fault: one offer the marketplace chokes on). */
  failBarcodes: Set<string>;
  /** A batch containing an offer at any of these prices ("111.00") answers 503. */
  failPrices: Set<string>;
  /** A batch body larger than this many bytes answers 413 before anything is applied. */
  maxBodyBytes: number | undefined;
  /** Every request, reads included, answers 503: the marketplace is down. */
  down: boolean;
  /** Requests per window before answering 429. */
  rateLimit: { requests: number; perMs: number } | undefined;
}

/**
 * The sandbox marketplace: a real HTTP server implementing the offer API of
 * docs/offer-api.openapi.yaml, the reference implementation for a
 * marketplace team. It keeps offers in memory, has a master catalog
 * (barcodes outside it wait for approval), honours Idempotency-Key (a repeat
 * returns the first answer and is not applied again) and counts every
 * application so tests can prove nothing was applied twice.
 *
 * The first answer to a key is kept as it was sent, even when it was
 * incomplete or unreadable (the answerHalf and answerUnreadable faults): a
 * client that asks again under the same key gets the same answer. A 5xx or
 * 413 is not kept: nothing was applied, and a repeat is carried out anew.
 *
 * Item rules, like a real marketplace's: stock above 20,000 and prices above
 * 1,000,000 are rejected, names must be 1-200 characters.
 */
export class SandboxMarketplace {
  readonly offers = new Map<string, StoredOffer>();
  readonly faults: SandboxMarketplaceFaults = {
    latencyMs: 0, errorRate: 0, failNext: 0, rateLimitNext: 0, retryAfterSeconds: 1, dropAfterApply: 0, answerHalf: 0, answerUnreadable: 0,
    rejectBarcodes: new Set(), failBarcodes: new Set(), failPrices: new Set(), maxBodyBytes: undefined, down: false, rateLimit: undefined,
  };
  readonly stats = {
    batchRequests: 0,
    /** Batches applied (a replayed Idempotency-Key does not count again). */
    batchesApplied: 0,
    offersApplied: 0,
    bytesReceived: 0,
    /** Times each Idempotency-Key was applied: every value must be 1. */
    applicationsPerKey: new Map<string, number>(),
    /** Times each barcode's offer was written. */
    applicationsPerBarcode: new Map<string, number>(),
    /** With keepPriceHistory: the prices each barcode's offer was written with, in order; an older state after a newer one shows here. */
    pricesPerBarcode: new Map<string, string[]>(),
    replays: 0,
  };
  readonly #options: SandboxMarketplaceOptions & { maxBatch: number };
  readonly #idempotency = new Map<string, { bodyHash: string; status: number; text: string }>();
  #window: WindowCounter | undefined;
  #nextOfferId = 1;
  #errorSeed = 1;
  #server: Awaited<ReturnType<typeof listenOnLoopback>> | undefined;

  constructor(options: SandboxMarketplaceOptions) {
    this.#options = { maxBatch: 1000, ...options };
  }

  /** Takes up offers kept from an earlier run (the demo's); new offers continue their numbering. */
  restore(offers: Iterable<StoredOffer>): this {
    for (const offer of offers) {
      this.offers.set(offer.barcode, offer);
      this.#nextOfferId = Math.max(this.#nextOfferId, Number(offer.offerId.replace(/\D/g, '')) + 1);
    }
    return this;
  }

  get url(): string {
    if (!this.#server) throw new Error('the sandbox marketplace is not started');
    return this.#server.url;
  }

  async start(): Promise<this> {
    this.#server = await listenOnLoopback((req, res) => this.#handle(req, res), this.#options.port ?? 0, this.#options.tls);
    return this;
  }

  async close(): Promise<void> {
    await this.#server?.close();
  }

  setRateLimit(limit: { requests: number; perMs: number } | undefined): void {
    this.faults.rateLimit = limit;
    this.#window = limit ? new WindowCounter(limit.requests, limit.perMs) : undefined;
  }

  /** The largest number of times any one Idempotency-Key was applied (1 when all is well). */
  maxApplicationsPerKey(): number {
    return Math.max(0, ...this.stats.applicationsPerKey.values());
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    if (this.faults.down) {
      await readBody(req);
      sendJson(res, 503, { error: { code: 'UNAVAILABLE', message: 'Service temporarily unavailable.' } });
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.#options.token}`) {
      sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'The token is missing or not valid.' } });
      return;
    }
    if (url.pathname === '/v1/offers' && req.method === 'GET') return this.#list(url, res);
    if (url.pathname === '/v1/offers/batch' && req.method === 'POST') return this.#batch(req, res);
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` } });
  }

  #list(url: URL, res: ServerResponse): void {
    const barcode = url.searchParams.get('barcode');
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const pageSize = Math.min(1000, Math.max(1, Number(url.searchParams.get('pageSize') ?? 100) || 100));
    const all = barcode ? [this.offers.get(barcode)].filter((o): o is StoredOffer => !!o) : [...this.offers.values()];
    sendJson(res, 200, { offers: all.slice((page - 1) * pageSize, page * pageSize), page, pageSize, total: all.length });
  }

  async #batch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.batchRequests++;
    const text = await readBody(req);
    this.stats.bytesReceived += Buffer.byteLength(text);
    if (this.#window && !this.#window.hit()) {
      sendJson(res, 429, { error: { code: 'RATE_LIMITED', message: 'Too many requests.' } }, { 'retry-after': String(Math.ceil(this.#window.retryAfterMs() / 1000)) });
      return;
    }
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    if (this.faults.rateLimitNext > 0) {
      this.faults.rateLimitNext--;
      sendJson(res, 429, { error: { code: 'RATE_LIMITED', message: 'Too many requests.' } }, { 'retry-after': String(this.faults.retryAfterSeconds) });
      return;
    }
    if (this.faults.failNext > 0 || (this.faults.errorRate > 0 && this.#nextRandom() < this.faults.errorRate)) {
      if (this.faults.failNext > 0) this.faults.failNext--;
      sendJson(res, 503, { error: { code: 'UNAVAILABLE', message: 'Service temporarily unavailable.' } });
      return;
    }
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length < 8 || key.length > 200) {
      sendJson(res, 400, { error: { code: 'IDEMPOTENCY_KEY_REQUIRED', message: 'An Idempotency-Key header of 8-200 characters is required.' } });
      return;
    }
    const bodyHash = createHash('sha256').update(text).digest('hex');
    const previous = this.#idempotency.get(key);
    if (previous) {
      if (previous.bodyHash !== bodyHash) {
        sendJson(res, 422, { error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'This Idempotency-Key was used with a different body.' } });
        return;
      }
      this.stats.replays++;
      res.writeHead(previous.status, { 'content-type': 'application/json; charset=utf-8' }).end(previous.text);
      return;
    }
    if (this.faults.maxBodyBytes !== undefined && Buffer.byteLength(text) > this.faults.maxBodyBytes) {
      sendJson(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: `The batch may be at most ${this.faults.maxBodyBytes} bytes.` } });
      return;
    }
    let offers: unknown;
    try {
      offers = (JSON.parse(text) as { offers?: unknown }).offers;
    } catch {
      sendJson(res, 400, { error: { code: 'MALFORMED_JSON', message: 'The body is not valid JSON.' } });
      return;
    }
    if (!Array.isArray(offers) || offers.length === 0 || offers.length > this.#options.maxBatch) {
      sendJson(res, 400, { error: { code: 'BAD_BATCH', message: `"offers" must be a list of 1 to ${this.#options.maxBatch} offers.` } });
      return;
    }
    const chokes = (o: { barcode?: unknown; price?: unknown }) => this.faults.failBarcodes.has(String(o?.barcode)) || this.faults.failPrices.has(String(o?.price));
    if (offers.some(chokes)) {
      sendJson(res, 503, { error: { code: 'UNAVAILABLE', message: 'Service temporarily unavailable.' } });
      return;
    }
    const results = offers.map((offer) => this.#apply(offer));
    this.stats.batchesApplied++;
    this.stats.applicationsPerKey.set(key, (this.stats.applicationsPerKey.get(key) ?? 0) + 1);
    let answer = JSON.stringify({ results });
    if (this.faults.answerHalf > 0) {
      this.faults.answerHalf--;
      answer = JSON.stringify({ results: results.slice(0, Math.floor(results.length / 2)) });
    } else if (this.faults.answerUnreadable > 0) {
      this.faults.answerUnreadable--;
      answer = '<html><body>502 Bad Gateway</body></html>';
    }
    this.#idempotency.set(key, { bodyHash, status: 200, text: answer });
    if (this.faults.dropAfterApply > 0) {
      this.faults.dropAfterApply--;
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) }).end(answer);
  }

  #apply(input: unknown): OfferResult {
    const offer = input as Partial<Offer>;
    const barcode = typeof offer?.barcode === 'string' ? offer.barcode : '';
    const problem = checkOffer(offer);
    if (problem || this.faults.rejectBarcodes.has(barcode)) {
      return { barcode, status: 'rejected', error: problem ?? { code: 'REJECTED_BY_POLICY', message: 'This product cannot be listed on the marketplace.' } };
    }
    const clean = offer as Offer;
    this.stats.offersApplied++;
    this.stats.applicationsPerBarcode.set(barcode, (this.stats.applicationsPerBarcode.get(barcode) ?? 0) + 1);
    if (this.#options.keepPriceHistory) this.stats.pricesPerBarcode.set(barcode, [...(this.stats.pricesPerBarcode.get(barcode) ?? []), clean.price]);
    const existing = this.offers.get(barcode);
    const inCatalog = this.#options.inMasterCatalog?.(barcode) ?? true;
    const stored: StoredOffer = {
      barcode, sku: clean.sku, name: clean.name, price: clean.price, currency: clean.currency, vatRate: clean.vatRate,
      priceIncludesVat: clean.priceIncludesVat, stock: clean.stock, active: clean.active,
      offerId: existing?.offerId ?? `OF-${String(this.#nextOfferId++).padStart(8, '0')}`,
      status: inCatalog ? 'active' : 'pending_approval',
      updatedAt: new Date().toISOString(),
    };
    this.offers.set(barcode, stored);
    if (!inCatalog) return { barcode, status: 'pending_approval', offerId: stored.offerId };
    if (!existing) return { barcode, status: 'created', offerId: stored.offerId };
    const same = (['sku', 'name', 'price', 'currency', 'vatRate', 'priceIncludesVat', 'stock', 'active'] as const).every((f) => existing[f] === stored[f]);
    return { barcode, status: same ? 'unchanged' : 'updated', offerId: stored.offerId };
  }

  #nextRandom(): number {
    // A fixed LCG sequence: the same test sees the same failures every time.
    this.#errorSeed = (this.#errorSeed * 1103515245 + 12345) % 2147483648;
    return this.#errorSeed / 2147483648;
  }
}

function checkOffer(offer: Partial<Offer> | undefined): { code: string; message: string } | undefined {
  if (!offer || typeof offer !== 'object') return { code: 'INVALID_OFFER', message: 'An offer must be an object.' };
  if (typeof offer.barcode !== 'string' || offer.barcode.length === 0) return { code: 'INVALID_BARCODE', message: 'The barcode is required.' };
  if (typeof offer.name !== 'string' || offer.name.length === 0 || offer.name.length > 200) return { code: 'INVALID_NAME', message: 'The name must be 1-200 characters.' };
  if (typeof offer.sku !== 'string') return { code: 'INVALID_SKU', message: 'The SKU must be a string.' };
  if (typeof offer.price !== 'string' || !/^\d+\.\d{2}$/.test(offer.price)) return { code: 'INVALID_PRICE', message: 'The price must be a decimal string with two fraction digits.' };
  if (Number(offer.price) > 1_000_000) return { code: 'PRICE_TOO_HIGH', message: 'The price exceeds 1,000,000.' };
  if (typeof offer.currency !== 'string' || !/^[A-Z]{3}$/.test(offer.currency)) return { code: 'INVALID_CURRENCY', message: 'The currency must be an ISO 4217 code.' };
  if (typeof offer.vatRate !== 'number' || offer.vatRate < 0 || offer.vatRate > 100) return { code: 'INVALID_VAT', message: 'The VAT rate must be a percentage.' };
  if (typeof offer.priceIncludesVat !== 'boolean' || typeof offer.active !== 'boolean') return { code: 'INVALID_OFFER', message: 'priceIncludesVat and active must be booleans.' };
  if (!Number.isInteger(offer.stock) || (offer.stock as number) < 0) return { code: 'INVALID_STOCK', message: 'The stock must be a whole number, 0 or more.' };
  if ((offer.stock as number) > 20_000) return { code: 'STOCK_TOO_HIGH', message: 'The stock may be at most 20,000 per offer.' };
  return undefined;
}
