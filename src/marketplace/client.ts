import type { TargetConfig } from '../config/config.js';
import { HttpClient } from '../http/client.js';
import { readSettings, settingsOwner, targetSettings } from '../settings/schema.js';
import type { HttpStats } from '../http/client.js';
import type { CertificateFile } from '../http/certificates.js';
import { HttpError } from '../http/errors.js';
import type { BatchResponse, OfferPage, OfferResult } from './types.js';
import { offerStatuses } from './types.js';

export interface MarketplaceClientOptions {
  baseUrl: string;
  token: string;
  retries?: number | undefined;
  retryMinDelayMs?: number | undefined;
  timeoutMs?: number | undefined;
  rateLimit?: { requests: number; perMs: number } | undefined;
  signal?: AbortSignal | undefined;
  /** The marketplace connection's own certificate authority (`caFile`). */
  ca?: CertificateFile | undefined;
  /** What `erp-sync connect` takes to change this target, for hints. */
  connectTarget?: string | undefined;
}

/**
 * The client for an offer API target, its settings read through the schema;
 * `overrides` for a person waiting on a test (no retries).
 */
export function marketplaceClient(config: TargetConfig, token: string, overrides: Partial<MarketplaceClientOptions> = {}): MarketplaceClient {
  const settings = readSettings(targetSettings, config.settings, settingsOwner(config));
  return new MarketplaceClient({
    baseUrl: config.baseUrl,
    token,
    retries: settings.retries,
    retryMinDelayMs: settings.retryMinDelayMs,
    timeoutMs: settings.timeoutMs,
    rateLimit: settings.rateLimit,
    ca: settings.caFile,
    connectTarget: settingsOwner(config).target,
    ...overrides,
  });
}

/** The marketplace's offer API (docs/offer-api.openapi.yaml) on a keep-alive pool. */
export class MarketplaceClient {
  readonly #http: HttpClient;
  readonly #token: string;

  constructor(options: MarketplaceClientOptions) {
    this.#token = options.token;
    this.#http = new HttpClient({
      service: 'marketplace',
      baseUrl: options.baseUrl,
      retries: options.retries,
      minDelayMs: options.retryMinDelayMs,
      timeoutMs: options.timeoutMs,
      rateLimit: options.rateLimit,
      signal: options.signal,
      connections: 4,
      ca: options.ca,
      connectTarget: options.connectTarget ?? 'marketplace',
    });
  }

  get stats(): HttpStats {
    return this.#http.stats;
  }

  /**
   * Sends one batch. The Idempotency-Key makes a retry (after a timeout, or a
   * crash and restart) safe: the marketplace applies the batch once and
   * answers every repeat with its first answer. `body` is the batch as
   * serialized for the outbox, sent byte for byte.
   *
   * That first answer is kept even when it is unreadable or has no results,
   * so such an answer is never asked for again under the same key: it fails
   * with `retry` false, and the offers go in a new batch with a new key.
   */
  async pushBatch(body: string, idempotencyKey: string, options: { retry?: boolean } = {}): Promise<OfferResult[]> {
    const response = await this.#http.request<BatchResponse>({
      method: 'POST',
      path: '/v1/offers/batch',
      headers: { authorization: `Bearer ${this.#token}`, 'idempotency-key': idempotencyKey },
      jsonText: body,
      retry: options.retry,
      retryUnreadable: false,
    });
    const results = response.data?.results;
    if (!Array.isArray(results)) {
      throw new HttpError({
        service: 'marketplace',
        kind: 'malformed',
        url: this.#http.url('/v1/offers/batch').href,
        status: response.status,
        message: 'marketplace: the batch answer has no "results" list',
        retry: false,
      });
    }
    return results.filter(
      (result): result is OfferResult =>
        !!result && typeof result.barcode === 'string' && offerStatuses.includes(result.status),
    );
  }

  async getOffers(query: { barcode?: string; page?: number; pageSize?: number } = {}): Promise<OfferPage> {
    const response = await this.#http.request<OfferPage>({
      path: '/v1/offers',
      query: { barcode: query.barcode, page: query.page, pageSize: query.pageSize },
      headers: { authorization: `Bearer ${this.#token}` },
    });
    return response.data;
  }

  /**
   * Whether the marketplace answers at all right now: one cheap read, no
   * retries; the failure when it does not. Tells an offer the marketplace
   * cannot take apart from a marketplace that is down, when nothing else was
   * answered in this run.
   */
  async probe(): Promise<HttpError | undefined> {
    try {
      await this.#http.request({ path: '/v1/offers', query: { pageSize: 1 }, headers: { authorization: `Bearer ${this.#token}` }, retry: false });
      return undefined;
    } catch (error) {
      if (error instanceof HttpError) return error;
      throw error;
    }
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
