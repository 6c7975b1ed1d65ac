import chalk from 'chalk';
import { checkConnection, connectionRoute } from '../../engine/check.js';
import { describeRoute } from '../../http/route.js';
import type { ConnectionUnderTest } from '../../engine/check.js';
import { resolveSecrets, targetSecretFields } from '../../engine/secrets.js';
import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { driverOf, unknownConnection } from '../connections.js';
import { openContext } from '../context.js';
import { createOutput } from '../output.js';
import { testFailed, testingMessage } from '../connection-test.js';

const m = defineMessages({
  en: { works: '{name}: the connection works.', network: 'Network: {route}' },
  tr: { works: '{name}: bağlantı çalışıyor.', network: 'Ağ: {route}' },
});

/** `erp-sync test NAME`: the connection test with the saved settings and secrets, and the way its requests travel. */
export async function testCommand(name: string): Promise<ExitCode> {
  const out = createOutput(false);
  const ctx = openContext();
  try {
    let target: ConnectionUnderTest;
    const marketplace = ctx.config.target(name);
    if (marketplace) {
      const store = ctx.secretStore(marketplace.secretStore);
      const secrets = await resolveSecrets(name, targetSecretFields(marketplace.kind), store);
      target = {
        driver: undefined, kind: marketplace.kind, name, baseUrl: marketplace.baseUrl, settings: marketplace.settings, secrets,
        saveSecret: (field, value) => store.set(name, field, value),
      };
    } else {
      const connection = ctx.config.connection(name);
      if (!connection) throw unknownConnection(name, [...ctx.config.connections(), ...ctx.config.targets()].map((c) => c.name));
      const driver = driverOf(connection);
      const store = ctx.secretStore(connection.secretStore);
      const secrets = await resolveSecrets(name, driver.fields, store);
      target = { driver, name, baseUrl: connection.baseUrl, settings: connection.settings, secrets, saveSecret: (field, value) => store.set(name, field, value) };
    }
    const route = connectionRoute(target);
    if (route) out.line(m('network', { route: describeRoute(route) }));
    out.line(testingMessage(target.driver));
    const failure = await checkConnection(target);
    if (failure) throw testFailed(name, failure);
    out.line(`${chalk.green('✓')} ${m('works', { name })}`);
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}
