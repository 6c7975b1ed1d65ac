import type { IncomingMessage, ServerResponse } from 'node:http';
import iconv from 'iconv-lite';
import { SandboxCatalog } from './catalog.js';
import { WindowCounter, listenOnLoopback, sendJson, sleep } from './http.js';

export interface SandboxErpOptions {
  products: number;
  apiKey: string;
  port?: number;
  /** Records per page unless the client asks for another size (up to maxPageSize). */
  defaultPageSize?: number;
  maxPageSize?: number;
  /** A catalog to serve instead of a new one of `products` items (the demo's, kept between runs). */
  catalog?: SandboxCatalog;
  /** Serve HTTPS with this key and certificate (an on-premise ERP with its own certificate authority). */
  tls?: { key: string; cert: string };
}

export interface SandboxErpFaults {
  /** Added to every products request. */
  latencyMs: number;
  /** Answer 429 (with Retry-After) beyond this many requests per window. */
  rateLimit: { requests: number; perMs: number } | undefined;
  /** Pages answered 500 (a persistent fault: the pull cannot complete). */
  failingPages: Set<number>;
  /** The next N product requests answer 503 (a transient fault). */
  failNext: number;
  /** The next N product requests have their connection reset without an answer. */
  resetNext: number;
  /** One more record on page 1, as this JSON text (a record nested 20,000 levels deep cannot be made with JSON.stringify). */
  rawRecord: string | undefined;
  /** A runaway ERP: no totals, and full pages of new products past the end of the catalog, forever. */
  endless: boolean;
  /** Every page request gets page 1: an ERP that ignores the page number. */
  ignorePageNumber: boolean;
  /** Pages are sent in ten pieces this many milliseconds apart: each piece is on time, the whole is not. */
  dripMs: number;
  /** Pages are encoded as ISO-8859-9 (Turkish Latin-5) instead of UTF-8: every non-ASCII letter is a byte that is not UTF-8. */
  latin5: boolean;
}

/**
 * The sandbox ERP: a real HTTP server with a deterministic catalog of Turkish
 * products (variants, TRY prices with KDV), served in pages. It is the demo
 * driver's backend and the tests' ERP. Its API:
 *
 *   GET /api/v1/ping                         → { ok: true }
 *   GET /api/v1/products?page=1&pageSize=500 → { page, pageSize, totalPages, totalRecords, records: [...] }
 *
 * Both need `Authorization: Bearer <apiKey>`; a wrong key answers 401.
 */
export class SandboxErp {
  readonly catalog: SandboxCatalog;
  readonly faults: SandboxErpFaults = {
    latencyMs: 0, rateLimit: undefined, failingPages: new Set(), failNext: 0, resetNext: 0,
    rawRecord: undefined, endless: false, ignorePageNumber: false, dripMs: 0, latin5: false,
  };
  /** `pages` lists the page number of every products request, in the order they came. */
  readonly stats = { requests: 0, productRequests: 0, rateLimited: 0, requestTimes: [] as number[], pages: [] as number[] };
  readonly #options: Required<Omit<SandboxErpOptions, 'port' | 'tls' | 'catalog'>> & Pick<SandboxErpOptions, 'tls'> & { port: number };
  #window: WindowCounter | undefined;
  readonly #cache = new Map<string, string>();
  #cacheGeneration = -1;
  #server: Awaited<ReturnType<typeof listenOnLoopback>> | undefined;
  #endless: SandboxCatalog | undefined;

  constructor(options: SandboxErpOptions) {
    const { catalog, ...rest } = options;
    this.#options = { defaultPageSize: 500, maxPageSize: 1000, port: 0, ...rest };
    this.catalog = catalog ?? new SandboxCatalog(options.products);
  }

  get url(): string {
    if (!this.#server) throw new Error('the sandbox ERP is not started');
    return this.#server.url;
  }

  async start(): Promise<this> {
    this.#server = await listenOnLoopback((req, res) => this.#handle(req, res), this.#options.port, this.#options.tls);
    return this;
  }

  async close(): Promise<void> {
    await this.#server?.close();
  }

  setRateLimit(limit: { requests: number; perMs: number } | undefined): void {
    this.faults.rateLimit = limit;
    this.#window = limit ? new WindowCounter(limit.requests, limit.perMs) : undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const url = new URL(req.url ?? '/', 'http://sandbox');
    if (req.headers.authorization !== `Bearer ${this.#options.apiKey}`) {
      sendJson(res, 401, { error: 'invalid_api_key', message: 'The API key is not valid.' });
      return;
    }
    if (url.pathname === '/api/v1/ping') {
      sendJson(res, 200, { ok: true, products: this.catalog.size });
      return;
    }
    if (url.pathname !== '/api/v1/products' || req.method !== 'GET') {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    const page = this.faults.ignorePageNumber ? 1 : Math.max(1, Number(url.searchParams.get('page') ?? '1') || 1);
    this.stats.productRequests++;
    this.stats.requestTimes.push(Date.now());
    this.stats.pages.push(page);
    if (this.#window && !this.#window.hit()) {
      this.stats.rateLimited++;
      sendJson(res, 429, { error: 'rate_limited' }, { 'retry-after': String(Math.ceil(this.#window.retryAfterMs() / 1000)) });
      return;
    }
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    if (this.faults.failNext > 0) {
      this.faults.failNext--;
      sendJson(res, 503, { error: 'unavailable' });
      return;
    }
    if (this.faults.resetNext > 0) {
      this.faults.resetNext--;
      req.socket.resetAndDestroy();
      return;
    }
    if (this.faults.failingPages.has(page)) {
      sendJson(res, 500, { error: 'internal_error' });
      return;
    }
    const pageSize = Math.min(this.#options.maxPageSize, Math.max(1, Number(url.searchParams.get('pageSize') ?? this.#options.defaultPageSize) || this.#options.defaultPageSize));
    let json = this.faults.endless ? this.#endlessPage(page, pageSize) : this.#page(page, pageSize);
    if (page === 1 && this.faults.rawRecord !== undefined) json = json.replace('"records":[', `"records":[${this.faults.rawRecord},`);
    const body = this.faults.latin5 ? iconv.encode(json, 'iso-8859-9') : Buffer.from(json, 'utf8');
    res.writeHead(200, { 'content-type': `application/json; charset=${this.faults.latin5 ? 'iso-8859-9' : 'utf-8'}` });
    if (this.faults.dripMs <= 0) {
      res.end(body);
      return;
    }
    const piece = Math.ceil(body.length / 10);
    for (let at = 0; at < body.length; at += piece) {
      if (at > 0) await sleep(this.faults.dripMs);
      if (res.destroyed) return;
      res.write(body.subarray(at, at + piece));
    }
    res.end();
  }

  /** A page of a catalog with no end, and no totals to say so. */
  #endlessPage(page: number, pageSize: number): string {
    this.#endless ??= new SandboxCatalog(100_000_000);
    return JSON.stringify({ page, pageSize, records: this.#endless.records((page - 1) * pageSize, pageSize) });
  }

  /**
   * A page's JSON, generated once per catalog generation: the sandbox should
   * answer as fast as an idle ERP so benchmarks measure erp-sync, not it.
   * Only catalogs up to 200,000 products are cached, to keep its own memory in bounds.
   */
  #page(page: number, pageSize: number): string {
    const key = `${page}:${pageSize}`;
    if (this.#cacheGeneration !== this.catalog.generation) {
      this.#cache.clear();
      this.#cacheGeneration = this.catalog.generation;
    }
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const json = JSON.stringify({
      page,
      pageSize,
      totalPages: Math.ceil(this.catalog.recordCount / pageSize),
      totalRecords: this.catalog.presentRecordCount,
      records: this.catalog.records((page - 1) * pageSize, pageSize),
    });
    if (this.catalog.size <= 200_000) this.#cache.set(key, json);
    return json;
  }
}
