import type { Driver } from '../driver/contract.js';
import { createDriverContext } from '../driver/context.js';
import { marketplaceClient } from '../marketplace/client.js';
import { targetAdapter } from '../marketplace/targets.js';
import type { TargetKind } from '../marketplace/target.js';
import { HttpClient } from '../http/client.js';
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
    const http = new HttpClient({ service: `${adapter.name} (${target.name})`, baseUrl: target.baseUrl || adapter.defaultBaseUrl, retries: 0, connections: 1 });
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

