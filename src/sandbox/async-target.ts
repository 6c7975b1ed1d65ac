import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { WindowCounter, listenOnLoopback, readBody, sendJson, sleep } from './http.js';

/**
 * What the sandbox Trendyol, Hepsiburada and N11 share: a real HTTP server on
 * 127.0.0.1 whose writes are queued and applied later, the way those
 * marketplaces answer a stock and price update with an id and its results
 * only when polled. Each marketplace's class supplies its paths, headers and
 * answer shapes (marketplace-apis.md); this one supplies the queue, a clock
 * tests can move, the faults and the stats.
 *
 * Time is the sandbox's own clock (`now()`, moved on by `advance(ms)`), so
 * a test can let 15 minutes or 4 hours pass at once. A submission is applied
 * `processingMs` after it arrived, at the first request after that (what it
 * was applied to is what later reads see); its result reads as pending for
 * its first `pendingPolls` polls whatever happened; and it is forgotten
 * `resultRetentionMs` after it arrived.
 */

export interface AsyncTargetOptions {
  port?: number;
  /**
   * Whether a key nobody listed is on the marketplace all the same (the
   * demo's large catalogs): it is listed with no values until its first
   * update. Keys given to `listProduct` are listed in any case.
   */
  listed?: (key: string) => boolean;
  /** How long after it arrives a submission is applied; 0: at the next request. */
  processingMs?: number;
  /** Polls of each submission that answer pending before its result shows. */
  pendingPolls?: number;
  /** How long after it arrived a submission's result can be read. */
  resultRetentionMs?: number;
  /** Keep every value each key was written with (stats.valuesPerKey) and every request's body: for tests, not for a million offers. */
  keepHistory?: boolean;
}

export interface AsyncTargetFaults {
  /** Every request answers 503: the marketplace is down. */
  down: boolean;
  /** The next N requests (of any kind) answer 503 before doing anything. */
  failNext: number;
  /** The next N requests answer 429 with Retry-After `retryAfterSeconds`. */
  rateLimitNext: number;
  retryAfterSeconds: number;
  /** The next N submissions are queued, then their connection is dropped: the client never learns the id. */
  dropAfterAccept: number;
  /** Requests to these endpoints (as stats name them) answer 503 for as long as they are listed. */
  failEndpoints: Set<string>;
  /** Added to every answer. */
  latencyMs: number;
  /** Keys (a barcode, a stock code) whose update the marketplace refuses, with its words for why. */
  failItems: Map<string, string>;
}

export interface AsyncTargetStats {
  /** Submissions accepted (queued), dropped connections included. */
  submissions: number;
  /** Writes applied, every key's added up. */
  applications: number;
  /** Times each key was written; a value applied twice shows here. */
  applicationsPerKey: Map<string, number>;
  /** With keepHistory: the values each key was written with, in order; an older state applied after a newer one shows here. */
  valuesPerKey: Map<string, Array<Record<string, string | number>>>;
  bytesReceived: number;
  requestsPerEndpoint: Map<string, number>;
  /** Requests answered 429. */
  rateLimited: number;
  /** Every request: which endpoint, its path and query, when (Date.now()), its headers, its body (with keepHistory) and the status answered. */
  requests: Array<{ endpoint: string; url: string; at: number; headers: IncomingHttpHeaders; body: string; status: number }>;
}

/** The values a test compares with what was sent: the stock and the (sale) price as a two-decimal string. */
export interface ListedValues {
  stock: number;
  price: string;
}

/** A reply the marketplace gives: JSON, or a dropped connection. */
export type Reply = { status: number; json?: unknown; headers?: Record<string, string> } | 'drop';

export interface ParsedRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Submission {
  readonly id: string;
  readonly receivedAt: number;
  /** What was asked, as the marketplace keeps it for its pending answer. */
  readonly request: unknown;
  polls: number;
  result: unknown;
  readonly apply: () => unknown;
}

export abstract class AsyncTargetSandbox {
  readonly faults: AsyncTargetFaults = {
    down: false, failNext: 0, rateLimitNext: 0, retryAfterSeconds: 1, dropAfterAccept: 0, failEndpoints: new Set(), latencyMs: 0, failItems: new Map(),
  };
  readonly stats: AsyncTargetStats = {
    submissions: 0, applications: 0, applicationsPerKey: new Map(), valuesPerKey: new Map(), bytesReceived: 0, requestsPerEndpoint: new Map(), rateLimited: 0, requests: [],
  };
  protected readonly options: Required<Omit<AsyncTargetOptions, 'port' | 'listed'>> & Pick<AsyncTargetOptions, 'port' | 'listed'>;
  readonly #submissions = new Map<string, Submission>();
  #window: WindowCounter | undefined;
  #clockOffsetMs = 0;
  /** The id queued by the request being handled, if it queued one. */
  #accepted: string | undefined;
  #server: Awaited<ReturnType<typeof listenOnLoopback>> | undefined;

  constructor(options: AsyncTargetOptions, defaults: { resultRetentionMs: number }) {
    this.options = { processingMs: 0, pendingPolls: 1, keepHistory: false, ...defaults, ...options };
  }

  /** The server's origin: `http://127.0.0.1:port`. */
  get url(): string {
    if (!this.#server) throw new Error('the sandbox is not started');
    return this.#server.url;
  }

  /** The address an adapter is given in place of the marketplace's (`defaultBaseUrl`). */
  abstract get baseUrl(): string;

  /** Lists a product on the marketplace with these values, as if created and approved there. */
  abstract listProduct(product: { barcode: string; sku: string } & Partial<ListedValues>): void;

  /** What the marketplace holds for a key (a barcode, a stock code), or undefined where it has no listing. */
  abstract listed(key: string): ListedValues | undefined;

  /** Handles a request the faults let through, after the queue is brought up to date. */
  protected abstract route(req: ParsedRequest): Reply;

  /** Refuses a request whose credentials or required headers are wrong, as the marketplace does. */
  protected abstract refuse(req: ParsedRequest): Reply | undefined;

  /** The endpoint a request is counted under in the stats. */
  protected abstract endpoint(req: ParsedRequest): string;

  /** The body of a 503 or 429, in the marketplace's shape. */
  protected abstract errorBody(status: 429 | 503): unknown;

  async start(): Promise<this> {
    this.#server = await listenOnLoopback((req, res) => this.#handle(req, res), this.options.port ?? 0);
    return this;
  }

  async close(): Promise<void> {
    await this.#server?.close();
  }

  /** The sandbox's clock: Date.now() moved on by every `advance`. */
  now(): number {
    return Date.now() + this.#clockOffsetMs;
  }

  /** Lets time pass: queued submissions fall due, results and duplicate windows age. */
  advance(ms: number): void {
    this.#clockOffsetMs += ms;
  }

  /** Answers 429 beyond this many requests in any window. */
  setRateLimit(limit: { requests: number; perMs: number } | undefined): void {
    this.#window = limit ? new WindowCounter(limit.requests, limit.perMs) : undefined;
  }

  /**
   * Queues a submission under a new id: `request` is what was asked, `apply`
   * runs when it falls due and returns its result (never undefined).
   */
  protected enqueue(request: unknown, apply: () => unknown, id: string = randomUUID()): string {
    this.stats.submissions++;
    this.#submissions.set(id, { id, receivedAt: this.now(), request, polls: 0, result: undefined, apply });
    this.#accepted = id;
    return id;
  }

  /**
   * A submission's result as a poll sees it: unknown (never queued, or past
   * retention), pending, or done with what `apply` returned. Counts the poll.
   */
  protected poll(id: string): { state: 'unknown' } | { state: 'pending'; request: unknown } | { state: 'done'; request: unknown; result: unknown } {
    const submission = this.#submissions.get(id);
    if (!submission || this.now() - submission.receivedAt >= this.options.resultRetentionMs) return { state: 'unknown' };
    submission.polls++;
    if (submission.polls <= this.options.pendingPolls || submission.result === undefined) return { state: 'pending', request: submission.request };
    return { state: 'done', request: submission.request, result: submission.result };
  }

  /**
   * The catalog's entry for a key; for a key the `listed` option lists and
   * nobody wrote yet, a `blank` entry, kept from then on.
   */
  protected lookup<T>(catalog: Map<string, T>, key: string, blank: () => T): T | undefined {
    let entry = catalog.get(key);
    if (entry === undefined && this.options.listed?.(key)) {
      entry = blank();
      catalog.set(key, entry);
    }
    return entry;
  }

  /** Records one write of a key's values. */
  protected recordApplication(key: string, values: Record<string, string | number>): void {
    this.stats.applications++;
    this.stats.applicationsPerKey.set(key, (this.stats.applicationsPerKey.get(key) ?? 0) + 1);
    if (this.options.keepHistory) this.stats.valuesPerKey.set(key, [...(this.stats.valuesPerKey.get(key) ?? []), values]);
  }

  /** Applies, in arrival order, every submission whose time has come. */
  #settle(): void {
    const now = this.now();
    for (const submission of this.#submissions.values()) {
      if (now - submission.receivedAt >= this.options.resultRetentionMs) {
        this.#submissions.delete(submission.id);
        continue;
      }
      if (submission.result === undefined && now - submission.receivedAt >= this.options.processingMs) submission.result = submission.apply();
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    this.stats.bytesReceived += Buffer.byteLength(body);
    const parsed: ParsedRequest = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://sandbox'), headers: req.headers, body };
    const endpoint = this.endpoint(parsed);
    this.stats.requestsPerEndpoint.set(endpoint, (this.stats.requestsPerEndpoint.get(endpoint) ?? 0) + 1);
    const record = { endpoint, url: req.url ?? '/', at: Date.now(), headers: req.headers, body: this.options.keepHistory ? body : '', status: 0 };
    this.stats.requests.push(record);
    const reply = this.#reply(parsed);
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    if (reply === 'drop') {
      req.socket.destroy();
      return;
    }
    record.status = reply.status;
    if (reply.status === 429) this.stats.rateLimited++;
    sendJson(res, reply.status, reply.json ?? null, reply.headers);
  }

  #reply(req: ParsedRequest): Reply {
    if (this.faults.down) return { status: 503, json: this.errorBody(503) };
    if (this.#window && !this.#window.hit()) {
      return { status: 429, json: this.errorBody(429), headers: { 'retry-after': String(Math.ceil(this.#window.retryAfterMs() / 1000)) } };
    }
    if (this.faults.rateLimitNext > 0) {
      this.faults.rateLimitNext--;
      return { status: 429, json: this.errorBody(429), headers: { 'retry-after': String(this.faults.retryAfterSeconds) } };
    }
    const refused = this.refuse(req);
    if (refused) return refused;
    if (this.faults.failNext > 0 || this.faults.failEndpoints.has(this.endpoint(req))) {
      if (this.faults.failNext > 0) this.faults.failNext--;
      return { status: 503, json: this.errorBody(503) };
    }
    this.#settle();
    // route() runs without a pause, so what it queued is this request's alone.
    this.#accepted = undefined;
    const reply = this.route(req);
    if (this.#accepted !== undefined && this.faults.dropAfterAccept > 0) {
      this.faults.dropAfterAccept--;
      return 'drop';
    }
    return reply;
  }
}
