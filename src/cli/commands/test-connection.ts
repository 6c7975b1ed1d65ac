import chalk from 'chalk';
import { MARKETPLACE } from '../../config/config.js';
import type { Driver } from '../../driver/contract.js';
import { createDriverContext } from '../../driver/context.js';
import { describeRunFailure } from '../../engine/failure.js';
import type { Failure } from '../../engine/failure.js';
import { marketplaceSecrets, resolveSecrets } from '../../engine/secrets.js';
import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { marketplaceClient } from '../../marketplace/client.js';
import { redact } from '../../secrets/redact.js';
import { driverOf, unknownConnection } from '../connections.js';
import { openContext } from '../context.js';
import { createOutput } from '../output.js';

const m = defineMessages({
  en: {
    testing: 'Testing the connection to {title}…',
    marketplace: 'the marketplace',
    tryAgain: 'Check the address and that the service is running, then try again.',
    works: '{name}: the connection works.',
    failed: 'the connection test of "{name}" failed: {message}',
  },
  tr: {
    testing: '{title} bağlantısı deneniyor…',
    marketplace: 'pazaryeri',
    tryAgain: 'Adresi ve servisin çalıştığını kontrol edip yeniden deneyin.',
    works: '{name}: bağlantı çalışıyor.',
    failed: '"{name}" bağlantı testi başarısız: {message}',
  },
});

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

/** A failed test as the error the CLI prints and exits with. */
export function testFailed(name: string, failure: Failure): UserError {
  return new UserError(m('failed', { name, message: redact(failure.message) }), {
    code: failure.code,
    exitCode: failure.exitCode,
    // "The next run will try again" is the engine's comfort for a scheduled run; here a person is waiting.
    hint: failure.exitCode === ExitCode.tempFail ? m('tryAgain') : failure.hint && redact(failure.hint),
  });
}

export const testingMessage = (driver: Driver | undefined): string => m('testing', { title: driver?.name ?? m('marketplace') });

/** `erp-sync test NAME`: the connection test with the saved settings and secrets. */
export async function testCommand(name: string): Promise<ExitCode> {
  const out = createOutput(false);
  const ctx = openContext();
  try {
    let target: ConnectionUnderTest;
    const marketplace = name === MARKETPLACE ? ctx.config.marketplace() : undefined;
    if (marketplace) {
      const store = ctx.secretStore(marketplace.secretStore);
      const secrets = await resolveSecrets(MARKETPLACE, marketplaceSecrets, store);
      target = { driver: undefined, name, baseUrl: marketplace.baseUrl, settings: marketplace.settings, secrets, saveSecret: (field, value) => store.set(name, field, value) };
    } else {
      const connection = ctx.config.connection(name);
      if (!connection) throw unknownConnection(name, [...ctx.config.connections().map((c) => c.name), ...(ctx.config.marketplace() ? [MARKETPLACE] : [])]);
      const driver = driverOf(connection);
      const store = ctx.secretStore(connection.secretStore);
      const secrets = await resolveSecrets(name, driver.fields, store);
      target = { driver, name, baseUrl: connection.baseUrl, settings: connection.settings, secrets, saveSecret: (field, value) => store.set(name, field, value) };
    }
    out.line(testingMessage(target.driver));
    const failure = await checkConnection(target);
    if (failure) throw testFailed(name, failure);
    out.line(`${chalk.green('✓')} ${m('works', { name })}`);
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}
