import type { ConnectionConfig } from '../config/config.js';
import type { Driver, DriverContext } from '../driver/contract.js';
import { createDriverContext } from '../driver/context.js';
import type { ErpAccount } from '../driver/context.js';
import type { SharedLimit } from '../http/limiter.js';
import type { SecretStore } from '../secrets/store.js';
import { resolveSecrets } from './secrets.js';

export interface PullSource {
  connection: ConnectionConfig;
  driver: Driver;
  /** The connection's secret store: its secrets are read there, and a secret the ERP rotates is written back. */
  secrets: SecretStore;
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  warn?(message: string): void;
  /** A rate limit the ERP account shares beyond this process (hosted mode's fleet). */
  sharedLimit?(account: ErpAccount): SharedLimit | undefined;
}

/**
 * The context a driver pulls a connection in, for a run and for `preview`
 * alike: its settings, its secrets from its store (a missing one is named),
 * an HTTP client bound to its address, and where a rotated secret goes.
 */
export async function openPull(source: PullSource): Promise<DriverContext & { close(): Promise<void> }> {
  const { connection, driver } = source;
  const secrets = await resolveSecrets(connection.name, driver.fields, source.secrets);
  return createDriverContext({
    driver,
    connection: connection.name,
    baseUrl: connection.baseUrl,
    settings: connection.settings,
    secrets,
    concurrency: source.concurrency,
    signal: source.signal,
    saveSecret: (field, value) => source.secrets.set(connection.name, field, value),
    warn: source.warn,
    sharedLimit: source.sharedLimit,
  });
}
