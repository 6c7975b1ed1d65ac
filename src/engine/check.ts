import type { Driver } from '../driver/contract.js';
import { createDriverContext } from '../driver/context.js';
import { marketplaceClient } from '../marketplace/client.js';
import { targetAdapter } from '../marketplace/targets.js';
import type { TargetKind } from '../marketplace/target.js';
import { HttpClient } from '../http/client.js';
import { routeFor } from '../http/route.js';
import type { Route } from '../http/route.js';
import { connectionSettings, readSettings, settingsOwner, targetSettings } from '../settings/schema.js';
import { describeRunFailure } from './failure.js';
import type { Failure } from './failure.js';

export interface ConnectionUnderTest {
  /** The ERP's driver; undefined for a marketplace target. */
  driver: Driver | undefined;
  /** The marketplace, when there is no driver: the offer API unless said. */
  kind?: TargetKind | undefined;
  name: string;
  baseUrl: string | undefined;
  settings: Record<string, string>;
  secrets: Record<string, string>;
  /** Where a secret the ERP rotates during the test (Paraşüt's refresh token) goes. */
  saveSecret(field: string, value: string): Promise<void>;
}

/**
 * The driver's own connection test; for the offer API one page of one offer
 * (GET /v1/offers?pageSize=1), which needs a valid token; for Trendyol,
 * Hepsiburada and N11 their adapter's one cheap read. Returns what went
 * wrong in words a merchant can act on, or undefined when it works.
 */
export async function checkConnection(target: ConnectionUnderTest): Promise<Failure | undefined> {
  const adapter = !target.driver && target.kind && target.kind !== 'offer-api' ? targetAdapter(target.kind) : undefined;
  if (adapter) {
    // A person is waiting for the answer: report a failure at once instead of backing off.
    const owner = settingsOwner({ name: target.name, kind: adapter.kind });
    const { caFile } = readSettings(targetSettings, target.settings, owner);
    const http = new HttpClient({
      service: `${adapter.name} (${target.name})`, baseUrl: target.baseUrl || adapter.defaultBaseUrl, retries: 0, connections: 1, ca: caFile, connectTarget: owner.target,
    });
    try {
      await adapter.open({ target: target.name, settings: target.settings, secrets: target.secrets, http }).test();
      return undefined;
    } catch (error) {
      return describeRunFailure(error);
    } finally {
      await http.close();
    }
  }
  if (!target.driver) {
    const client = marketplaceClient(
      { name: target.name, kind: 'offer-api', baseUrl: target.baseUrl ?? '', settings: target.settings, secretStore: 'env' }, target.secrets.token ?? '', { retries: 0 },
    );
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
export function connectionRoute(target: Pick<ConnectionUnderTest, 'driver' | 'kind' | 'name' | 'baseUrl' | 'settings'>): Route | undefined {
  const kind = target.kind ?? 'offer-api';
  const address = target.baseUrl || (target.driver ? target.driver.defaultBaseUrl : kind === 'offer-api' ? undefined : targetAdapter(kind)?.defaultBaseUrl);
  if (target.driver?.local || !address) return undefined;
  const { caFile } = target.driver
    ? readSettings(connectionSettings, target.settings, settingsOwner({ name: target.name, driver: target.driver.id }))
    : readSettings(targetSettings, target.settings, settingsOwner({ name: target.name, kind }));
  return routeFor(address, { ca: caFile });
}
