import type { Driver } from '../driver/contract.js';
import { createDriverContext } from '../driver/context.js';
import { marketplaceClient } from '../marketplace/client.js';
import { routeFor } from '../http/route.js';
import type { Route } from '../http/route.js';
import { connectionSettings, marketplaceSettings, readSettings, settingsOwner } from '../settings/schema.js';
import { describeRunFailure } from './failure.js';
import type { Failure } from './failure.js';

export interface ConnectionUnderTest {
  /** The ERP's driver; undefined for the marketplace. */
  driver: Driver | undefined;
  name: string;
  baseUrl: string | undefined;
  settings: Record<string, string>;
  secrets: Record<string, string>;
  /** Where a secret the ERP rotates during the test (Paraşüt's refresh token) goes. */
  saveSecret(field: string, value: string): Promise<void>;
}

/**
 * The driver's own connection test, or for the marketplace one page of one
 * offer (GET /v1/offers?pageSize=1), which needs a valid token. Returns what
 * went wrong in words a merchant can act on, or undefined when it works.
 */
export async function checkConnection(target: ConnectionUnderTest): Promise<Failure | undefined> {
  if (!target.driver) {
    // A person is waiting for the answer: report a failure at once instead of backing off.
    const client = marketplaceClient({ baseUrl: target.baseUrl ?? '', settings: target.settings, secretStore: 'env' }, target.secrets.token ?? '', { retries: 0 });
    try {
      await client.getOffers({ pageSize: 1 });
      return undefined;
    } catch (error) {
      return describeRunFailure(error);
    } finally {
      await client.close();
    }
  }
  const ctx = createDriverContext({
    driver: target.driver,
    connection: target.name,
    baseUrl: target.baseUrl,
    settings: target.settings,
    secrets: target.secrets,
    retries: 0,
    saveSecret: target.saveSecret,
  });
  try {
    await target.driver.testConnection(ctx);
    return undefined;
  } catch (error) {
    return describeRunFailure(error);
  } finally {
    await ctx.close();
  }
}


/**
 * How a connection's requests travel, as its test and its runs send them:
 * the proxy the environment names for its address, and its `caFile`.
 * Undefined for a driver that reads files. A `caFile` that cannot be read
 * is the setting's error, naming it.
 */
export function connectionRoute(target: Pick<ConnectionUnderTest, 'driver' | 'name' | 'baseUrl' | 'settings'>): Route | undefined {
  const address = target.baseUrl ?? target.driver?.defaultBaseUrl;
  if (target.driver?.local || !address) return undefined;
  const { caFile } = target.driver
    ? readSettings(connectionSettings, target.settings, settingsOwner({ name: target.name, driver: target.driver.id }))
    : readSettings(marketplaceSettings, target.settings, settingsOwner(undefined));
  return routeFor(address, { ca: caFile });
}
