import { HttpClient } from '../http/client.js';
import { connectionSettings, readSettings, settingsOwner } from '../settings/schema.js';
import type { Driver, DriverContext } from './contract.js';
import { SqlSession } from './sql.js';
import type { SqlConnector } from './sql.js';
import { mssqlConnector } from './sqlserver.js';

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
  /** Opens SQL Server executors: mssql unless a test gives a fake. */
  sqlConnector?: SqlConnector;
}

/**
 * Builds the context a driver runs in: its HTTP client is bound to the
 * connection's base URL, goes through the proxy the environment names,
 * trusts the connection's `caFile` beside the system's authorities, and
 * shares one rate limiter across all concurrent page fetches. The
 * connection's `rateLimit` setting (`120/60s`, `20/1s`) overrides the
 * driver's documented limit. SQL sessions the driver opens take the same
 * retries, and `timeoutMs` as their statement timeout; closing the context
 * closes them.
 */
export function createDriverContext(options: DriverContextOptions): DriverContext & { close(): Promise<void> } {
  const { driver } = options;
  const settings = options.settings ?? {};
  const baseUrl = options.baseUrl ?? settings.baseUrl ?? driver.defaultBaseUrl;
  if (!baseUrl && !driver.local) throw new Error(`connection "${options.connection}" has no base URL and driver ${driver.id} has no default`);
  const owner = settingsOwner({ name: options.connection, driver: driver.id });
  const erp = readSettings(connectionSettings, settings, owner);
  const concurrency = options.concurrency ?? erp.concurrency ?? driver.defaultConcurrency ?? 4;
  const http = new HttpClient({
    service: `${driver.name} (${options.connection})`,
    // A local driver without one (csv, a database) never makes a request through it.
    baseUrl: baseUrl || 'http://127.0.0.1/',
    rateLimit: erp.rateLimit ?? driver.rateLimit,
    retries: options.retries ?? erp.retries,
    minDelayMs: options.retryMinDelayMs ?? erp.retryMinDelayMs,
    timeoutMs: options.timeoutMs ?? erp.timeoutMs,
    connections: Math.max(concurrency, 4),
    signal: options.signal,
    ca: erp.caFile,
    connectTarget: owner.target,
  });
  const signal = options.signal ?? new AbortController().signal;
  const connector = options.sqlConnector ?? mssqlConnector;
  const sessions = new Set<SqlSession>();
  return {
    connection: options.connection,
    baseUrl: baseUrl ?? '',
    settings,
    secrets: options.secrets ?? {},
    http,
    concurrency,
    signal,
    openSql(config, sqlOptions = {}) {
      const full = { ...config, timeoutMs: options.timeoutMs ?? erp.timeoutMs };
      const session = new SqlSession({
        executor: connector(full),
        config: full,
        service: `${driver.name} (${options.connection})`,
        connection: options.connection,
        retries: options.retries ?? erp.retries,
        minDelayMs: options.retryMinDelayMs ?? erp.retryMinDelayMs,
        signal,
        missingObjectHint: sqlOptions.missingObjectHint,
      });
      sessions.add(session);
      return session;
    },
    saveSecret: options.saveSecret ?? (async () => undefined),
    warn: options.warn ?? (() => undefined),
    close: async () => {
      await Promise.all([http.close(), ...[...sessions].map((session) => session.close())]);
      sessions.clear();
    },
  };
}
