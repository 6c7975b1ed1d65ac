import { HttpClient } from '../http/client.js';
import type { SharedLimit } from '../http/limiter.js';
import { connectionSettings, readSettings, settingsOwner } from '../settings/schema.js';
import type { Driver, DriverContext, RateLimit } from './contract.js';
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
  /** A rate limit shared beyond this process for the ERP account (hosted mode), on top of the client's own. */
  sharedLimit?(account: ErpAccount): SharedLimit | undefined;
}

/** The ERP account a connection's requests count against, as far as its non-secret settings tell. */
export interface ErpAccount {
  driver: string;
  /** The connection's resolved address. */
  baseUrl: string;
  /**
   * The values of the driver's `account` fields (never a secret); undefined
   * when the driver names none, and only the connection itself is known to
   * count against its account.
   */
  identity: readonly string[] | undefined;
  /** The limit in force: the connection's `rateLimit`, else the driver's documented one. */
  limit: RateLimit;
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
  const limit = erp.rateLimit ?? driver.rateLimit;
  const identity = driver.account?.map((field) => settings[field] ?? driver.fields.find((f) => f.name === field)?.default ?? '');
  const sharedLimit = limit && baseUrl ? options.sharedLimit?.({ driver: driver.id, baseUrl, identity, limit }) : undefined;
  const http = new HttpClient({
    service: `${driver.name} (${options.connection})`,
    // A local driver without one (csv, a database) never makes a request through it.
    baseUrl: baseUrl || 'http://127.0.0.1/',
    rateLimit: limit,
    sharedLimit,
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
