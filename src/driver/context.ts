import { HttpClient } from '../http/client.js';
import type { Driver, DriverContext } from './contract.js';

export interface DriverContextOptions {
  driver: Driver;
  connection: string;
  baseUrl?: string | undefined;
  settings?: Record<string, string>;
  secrets?: Record<string, string>;
  concurrency?: number | undefined;
  signal?: AbortSignal;
  /** Overrides for retry timing, from the connection's settings (tests shorten them). */
  retries?: number | undefined;
  retryMinDelayMs?: number | undefined;
  timeoutMs?: number | undefined;
  saveSecret?(field: string, value: string): Promise<void>;
  warn?(message: string): void;
}

/**
 * Builds the context a driver runs in: its HTTP client is bound to the
 * connection's base URL and shares one rate limiter across all concurrent
 * page fetches. The connection's `rateLimit` setting (`120/60s`, `20/1s`)
 * overrides the driver's documented limit.
 */
export function createDriverContext(options: DriverContextOptions): DriverContext & { close(): Promise<void> } {
  const { driver } = options;
  const settings = options.settings ?? {};
  // A local driver (csv) gets a placeholder: it never makes a request.
  const baseUrl = options.baseUrl ?? settings.baseUrl ?? driver.defaultBaseUrl ?? (driver.local ? 'http://127.0.0.1/' : undefined);
  if (!baseUrl) throw new Error(`connection "${options.connection}" has no base URL and driver ${driver.id} has no default`);
  const rateLimit = settings.rateLimit ? parseRateLimit(settings.rateLimit) : driver.rateLimit;
  const concurrency = options.concurrency ?? (settings.concurrency ? Number(settings.concurrency) : undefined) ?? driver.defaultConcurrency ?? 4;
  const http = new HttpClient({
    service: `${driver.name} (${options.connection})`,
    baseUrl,
    rateLimit,
    retries: options.retries ?? optionalNumber(settings.retries),
    minDelayMs: options.retryMinDelayMs ?? optionalNumber(settings.retryMinDelayMs),
    timeoutMs: options.timeoutMs ?? optionalNumber(settings.timeoutMs),
    connections: Math.max(concurrency, 4),
    signal: options.signal,
  });
  return {
    connection: options.connection,
    baseUrl,
    settings,
    secrets: options.secrets ?? {},
    http,
    concurrency,
    signal: options.signal ?? new AbortController().signal,
    saveSecret: options.saveSecret ?? (async () => undefined),
    warn: options.warn ?? (() => undefined),
    close: () => http.close(),
  };
}

/** `120/60s`, `20/1s`, `7200/1h`, `60/min` → requests per window. */
export function parseRateLimit(text: string): { requests: number; perMs: number } {
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|sec|m|min|h)?\s*$/i.exec(text);
  if (!match) throw new Error(`rate limit "${text}" is not of the form 60/1m, 20/1s or 7200/1h`);
  const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
  const count = Number(match[2] || '1');
  return { requests: Number(match[1]), perMs: count * units[(match[3] ?? 's').toLowerCase()]! };
}

function optionalNumber(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}
