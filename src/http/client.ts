import type { Dispatcher } from 'undici';
import pRetry from 'p-retry';
import { setTimeout as sleep } from 'node:timers/promises';
import { setMaxListeners } from 'node:events';
import { Transform, pipeline } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { RateLimiter } from './limiter.js';
import type { SharedLimit } from './limiter.js';
import { HttpError, classifyNetworkError, describeFailure, parseRetryAfter, proxyFailure } from './errors.js';
import { routeDispatcher, routeFor } from './route.js';
import type { Route } from './route.js';
import type { CertificateFile } from './certificates.js';
import { explainTlsFailure } from './tls.js';
import { redact } from '../secrets/redact.js';

export interface HttpClientOptions {
  /** Names the service in every error: `Entegra (shop)`, `marketplace`. */
  service: string;
  baseUrl: string;
  rateLimit?: { requests: number; perMs: number } | undefined;
  /** A budget shared with other processes (hosted mode's fleet), taken after `rateLimit` for every attempt. */
  sharedLimit?: SharedLimit | undefined;
  /** Retries after the first attempt, for transient failures only. */
  retries?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  connectTimeoutMs?: number;
  /**
   * The longest one attempt may take, from sending the request to the last
   * byte of its answer: a server that drips an answer slowly is cut off too.
   * A streamed answer (`stream()`) gets it until its headers, then between chunks.
   */
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** A Retry-After longer than this fails the request instead of stalling the run. */
  maxRetryAfterMs?: number;
  headers?: Record<string, string>;
  connections?: number;
  signal?: AbortSignal | undefined;
  /** The connection's own certificate authority (`caFile`), trusted beside the system's. */
  ca?: CertificateFile | undefined;
  /** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read; the process's environment by default. */
  env?: NodeJS.ProcessEnv;
  /** What `erp-sync connect` takes to change this connection (`entegra --name shop`, `marketplace`), for hints. */
  connectTarget?: string | undefined;
}

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Joined to the base URL's path: `/products`, `product/page=3/`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  /** A body already serialized as JSON (the marketplace batch, kept in the outbox as sent). */
  jsonText?: string;
  form?: Record<string, string>;
  /**
   * Whether a transient failure may be retried; defaults to true (callers
   * make POSTs idempotent). `unsent`: only failures that prove the request was
   * not taken (a refused connection, 429, 503), for a write that has no
   * idempotency key: a timeout or a cut answer may hide one that was.
   */
  retry?: boolean | 'unsent';
  /**
   * Whether a 2xx answer that is not JSON is retried (default true). False
   * where a repeat would only get the same answer back: a marketplace keeps
   * the first answer to an Idempotency-Key, unreadable or not.
   */
  retryUnreadable?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  data: T;
}

export interface HttpStats {
  requests: number;
  retries: number;
  rateLimited: number;
  bytesSent: number;
  bytesReceived: number;
  /** Characters of the answers that were not valid UTF-8 and were read as U+FFFD. */
  invalidUtf8: number;
}

type ResolvedOptions = Required<Omit<HttpClientOptions, 'rateLimit' | 'sharedLimit' | 'signal' | 'headers' | 'ca' | 'env' | 'connectTarget'>>;

const defaults = {
  retries: 4,
  minDelayMs: 500,
  maxDelayMs: 30_000,
  connectTimeoutMs: 10_000,
  timeoutMs: 60_000,
  maxResponseBytes: 256 * 1024 * 1024,
  maxRetryAfterMs: 5 * 60_000,
  connections: 16,
};

/**
 * The one HTTP client: a keep-alive pool per service, straight or through
 * the proxy the environment names (see route.ts), timeouts, a response size
 * cap, a shared rate limiter, and retries (p-retry, exponential backoff with
 * jitter) for transient failures only. Non-2xx answers become HttpError.
 */
export class HttpClient {
  readonly service: string;
  readonly stats: HttpStats = { requests: 0, retries: 0, rateLimited: 0, bytesSent: 0, bytesReceived: 0, invalidUtf8: 0 };
  readonly #options: ResolvedOptions;
  readonly #base: URL;
  readonly #route: Route;
  readonly #connectTarget: string | undefined;
  readonly #pool: Dispatcher;
  readonly #limiter: RateLimiter | undefined;
  readonly #sharedLimit: SharedLimit | undefined;
  readonly #headers: Record<string, string>;
  /** Aborted by close(): a request still waiting (a retry's backoff, the limiter) gives up instead of outliving its client. */
  readonly #closed = new AbortController();
  readonly #signal: AbortSignal;

  constructor(options: HttpClientOptions) {
    this.service = options.service;
    this.#options = { ...defaults, ...stripUndefined(options) } as ResolvedOptions;
    this.#base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.#route = routeFor(this.#base, { env: options.env, ca: options.ca });
    this.#connectTarget = options.connectTarget;
    this.#pool = routeDispatcher(this.#base.origin, this.#route, {
      connections: this.#options.connections,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      // undici's own timers are idle timeouts, checked about once a second; each attempt's deadline bounds the whole.
      idleTimeoutMs: this.#options.timeoutMs,
      env: options.env,
    });
    this.#limiter = options.rateLimit ? new RateLimiter(options.rateLimit) : undefined;
    this.#sharedLimit = options.sharedLimit;
    this.#headers = { 'user-agent': 'erp-sync', ...options.headers };
    this.#signal = options.signal ? AbortSignal.any([options.signal, this.#closed.signal]) : this.#closed.signal;
    // Every request in flight listens on it (and stops listening when answered): no fixed ceiling applies.
    setMaxListeners(0, this.#signal);
  }

  get limiter(): RateLimiter | undefined {
    return this.#limiter;
  }

  /** How this client's requests travel: the proxy and the certificate authorities. */
  get route(): Route {
    return this.#route;
  }

  url(path: string, query?: HttpRequest['query']): URL {
    const url = new URL(path.replace(/^\//, ''), this.#base);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** Sends a request and parses a JSON answer. */
  async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    return this.#withRetries(req, async () => {
      const deadline = this.#deadline();
      const url = this.url(req.path, req.query);
      try {
        const response = await this.#send(req, url, deadline.signal);
        const text = await this.#readText(response, url);
        if (text.length === 0) return { status: response.statusCode, headers: response.headers, data: undefined as T };
        try {
          return { status: response.statusCode, headers: response.headers, data: JSON.parse(text) as T };
        } catch (cause) {
          throw new HttpError({
            service: this.service,
            kind: 'malformed',
            url: url.href,
            status: response.statusCode,
            message: describeFailure(this.service, 'malformed', url.href),
            body: redact(text.slice(0, 300)),
            retry: req.retryUnreadable !== false,
            cause,
          });
        }
      } catch (error) {
        throw deadline.expired() ? this.#timedOut(url, error) : error;
      } finally {
        deadline.clear();
      }
    });
  }

  /**
   * Sends a request and hands back the body as a stream, for answers too large
   * to hold (Bizimhesap's whole catalog). Retries cover only getting the headers.
   */
  async stream(req: HttpRequest): Promise<{ status: number; headers: HttpResponse<unknown>['headers']; body: Readable }> {
    return this.#withRetries(req, async () => {
      const deadline = this.#deadline();
      const url = this.url(req.path, req.query);
      try {
        const response = await this.#send(req, url, deadline.signal);
        const check = new Utf8Check((count) => (this.stats.invalidUtf8 += count));
        // Errors of the answer (a dropped connection) reach the reader as they are.
        pipeline(response.body, check, () => undefined);
        return { status: response.statusCode, headers: response.headers, body: check };
      } catch (error) {
        throw deadline.expired() ? this.#timedOut(url, error) : error;
      } finally {
        deadline.clear();
      }
    });
  }

  async close(): Promise<void> {
    this.#closed.abort();
    await this.#pool.close();
  }

  async #withRetries<T>(req: HttpRequest, attempt: () => Promise<T>): Promise<T> {
    const signal = this.#signal;
    return pRetry(
      async () => {
        const answered = await this.#limiter?.acquire(signal);
        try {
          await this.#sharedLimit?.take(signal);
          return await attempt();
        } finally {
          answered?.();
        }
      },
      {
        retries: req.retry === false ? 0 : this.#options.retries,
        factor: 2,
        minTimeout: this.#options.minDelayMs,
        maxTimeout: this.#options.maxDelayMs,
        randomize: true,
        signal,
        shouldRetry: ({ error }) => error instanceof HttpError && error.transient && error.retry && (req.retry !== 'unsent' || provesUnsent(error)),
        onFailedAttempt: async ({ error, retriesLeft }) => {
          if (!(error instanceof HttpError) || !error.transient || !error.retry) return;
          const retryAfter = error.retryAfterMs !== undefined && error.retryAfterMs <= this.#options.maxRetryAfterMs ? error.retryAfterMs : undefined;
          // The limiter serves the whole run: a 429 slows down every later request, even when this one has no retry left.
          if (error.status === 429) {
            this.stats.rateLimited++;
            this.#limiter?.slowDown();
          }
          if (retryAfter !== undefined) this.#limiter?.pauseFor(retryAfter);
          if (retriesLeft === 0) return;
          if (error.retryAfterMs !== undefined && retryAfter === undefined) throw error;
          this.stats.retries++;
          if (retryAfter !== undefined) await sleep(retryAfter, undefined, { signal });
        },
      },
    );
  }

  /**
   * A deadline for one attempt: aborts it when `timeoutMs` has passed,
   * whatever the server is doing, or when the client's own signal aborts.
   * (A listener on that signal, not AbortSignal.any: that one costs ten times
   * as much a request, and keeps every signal it made on the long-lived one.)
   */
  #deadline(): { signal: AbortSignal; expired(): boolean; clear(): void } {
    const controller = new AbortController();
    const stop = () => controller.abort(this.#signal.reason);
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      controller.abort();
    }, this.#options.timeoutMs);
    if (this.#signal.aborted) stop();
    else this.#signal.addEventListener('abort', stop, { once: true });
    return {
      signal: controller.signal,
      expired: () => expired,
      clear: () => {
        clearTimeout(timer);
        this.#signal.removeEventListener('abort', stop);
      },
    };
  }

  #timedOut(url: URL, cause: unknown): HttpError {
    return new HttpError({ service: this.service, kind: 'timeout', url: url.href, message: describeFailure(this.service, 'timeout', url.href), cause });
  }

  async #send(req: HttpRequest, url: URL, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { ...this.#headers, ...req.headers };
    let body: string | undefined;
    if (req.jsonText !== undefined || req.json !== undefined) {
      body = req.jsonText ?? JSON.stringify(req.json);
      headers['content-type'] ??= 'application/json';
    } else if (req.form) {
      body = new URLSearchParams(req.form).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
    headers.accept ??= 'application/json';
    this.stats.requests++;
    if (body) this.stats.bytesSent += Buffer.byteLength(body);
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#pool.request({ origin: url.origin, method: req.method ?? 'GET', path: url.pathname + url.search, headers, body, signal });
    } catch (cause) {
      if (signal.aborted) throw cause;
      const kind = classifyNetworkError(cause) ?? 'reset';
      const viaProxy = this.#route.proxy && proxyFailure({ service: this.service, url: url.href, kind, cause, proxy: this.#route.proxy, variable: this.#route.proxyVariable! });
      if (viaProxy) throw viaProxy;
      if (kind === 'tls') throw await explainTlsFailure({ service: this.service, url, route: this.#route, cause, timeoutMs: this.#options.connectTimeoutMs, connectTarget: this.#connectTarget });
      throw new HttpError({ service: this.service, kind, url: url.href, message: describeFailure(this.service, kind, url.href), cause });
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    const text = await this.#readText(response, url, 4096).catch(() => '');
    throw new HttpError({
      service: this.service,
      kind: 'http',
      url: url.href,
      status: response.statusCode,
      retryAfterMs: parseRetryAfter(response.headers['retry-after']),
      message: describeFailure(this.service, 'http', url.href, response.statusCode),
      body: redact(text.slice(0, 1000)),
    });
  }

  async #readText(response: Dispatcher.ResponseData, url: URL, limit = this.#options.maxResponseBytes): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        this.stats.bytesReceived += (chunk as Buffer).length;
        if (size > limit) {
          response.body.destroy();
          if (limit < this.#options.maxResponseBytes) break;
          throw new HttpError({ service: this.service, kind: 'too-large', url: url.href, message: describeFailure(this.service, 'too-large', url.href) });
        }
        chunks.push(chunk as Buffer);
      }
    } catch (cause) {
      if (cause instanceof HttpError) throw cause;
      const kind = classifyNetworkError(cause) ?? 'reset';
      throw new HttpError({ service: this.service, kind, url: url.href, message: describeFailure(this.service, kind, url.href), cause });
    }
    const bytes = Buffer.concat(chunks);
    const text = bytes.toString('utf8');
    if (text.includes(REPLACEMENT)) this.stats.invalidUtf8 += replaced(text, bytes);
    return text;
  }
}

const REPLACEMENT = '\uFFFD';
const ENCODED_REPLACEMENT = Buffer.from(REPLACEMENT, 'utf8');

/** Characters read as U+FFFD because their bytes were not UTF-8: those in the text, less those the bytes spelled out. */
function replaced(text: string, bytes: Buffer): number {
  return Math.max(0, occurrences(text, REPLACEMENT) - occurrences(bytes, ENCODED_REPLACEMENT));
}

function occurrences(haystack: string | Buffer, needle: string | Buffer): number {
  let count = 0;
  for (let at = haystack.indexOf(needle as never); at >= 0; at = haystack.indexOf(needle as never, at + needle.length)) count++;
  return count;
}

/** Passes a streamed answer through unchanged, counting what is not UTF-8 in it. */
class Utf8Check extends Transform {
  readonly #decoder = new TextDecoder('utf-8');
  readonly #report: (count: number) => void;

  constructor(report: (count: number) => void) {
    super();
    this.#report = report;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#count(this.#decoder.decode(chunk, { stream: true }), chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#count(this.#decoder.decode(), Buffer.alloc(0));
    callback();
  }

  #count(text: string, bytes: Buffer): void {
    if (text.includes(REPLACEMENT)) this.#report(replaced(text, bytes));
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A failure after which the service cannot have acted on the request: it refused the connection, or said to come back later. */
export function provesUnsent(error: HttpError): boolean {
  return error.kind === 'refused' || error.status === 429 || error.status === 503;
}
