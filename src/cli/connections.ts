import { findDriver } from '../../drivers/index.js';
import type { ConnectionCatalog, ConnectionConfig } from '../config/config.js';
import type { Driver } from '../driver/contract.js';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import type { Db } from '../store/db.js';
import { countRuns, countTargetRuns } from '../store/queries.js';

/** Finding the connection (and its driver) a command names, with the same errors in every command. */

const m = defineMessages({
  en: {
    unknown: 'there is no connection named "{name}"',
    known: 'Known connections: {names}. `erp-sync connections` lists them.',
    none: 'No connections yet. Connect an ERP first: erp-sync connect <driver> --name NAME',
    unknownTarget: 'there is no marketplace target named "{name}"',
    knownTargets: 'Targets: {names}. `erp-sync connections` lists them.',
    noTargets: 'No marketplace target yet. Connect one: erp-sync connect trendyol|hepsiburada|n11|marketplace',
    unknownDriver: 'connection "{name}" uses the unknown driver "{driver}"',
    unknownDriverHint: 'See `erp-sync drivers`, and connect it again.',
  },
  tr: {
    unknown: '"{name}" adında bir bağlantı yok',
    known: 'Bağlantılar: {names}. `erp-sync connections` hepsini listeler.',
    none: 'Henüz bağlantı yok. Önce bir ERP bağlayın: erp-sync connect <sürücü> --name AD',
    unknownTarget: '"{name}" adında bir pazaryeri hedefi yok',
    knownTargets: 'Hedefler: {names}. `erp-sync connections` hepsini listeler.',
    noTargets: 'Henüz pazaryeri hedefi yok. Bağlamak için: erp-sync connect trendyol|hepsiburada|n11|marketplace',
    unknownDriver: '"{name}" bağlantısı bilinmeyen "{driver}" sürücüsünü kullanıyor',
    unknownDriverHint: '`erp-sync drivers` listesine bakın ve yeniden bağlanın.',
  },
});

/** The error for a name that is not a connection; `known` are the names the user could have meant. */
export function unknownConnection(name: string, known: readonly string[]): UserError {
  return new UserError(m('unknown', { name }), {
    code: 'UNKNOWN_CONNECTION',
    exitCode: ExitCode.usage,
    hint: known.length > 0 ? m('known', { names: known.join(', ') }) : m('none'),
  });
}

/** The connection of that name. */
export function requireConnection(config: ConnectionCatalog, name: string): ConnectionConfig {
  const connection = config.connection(name);
  if (!connection) throw unknownConnection(name, config.connections().map((c) => c.name));
  return connection;
}

/** For commands that read history: a connection that is set up, or a disconnected one whose runs are kept. */
export function requireConnectionOrHistory(config: ConnectionCatalog, db: Db, name: string): void {
  if (config.connection(name) || countRuns(db, name) > 0) return;
  throw unknownConnection(name, config.connections().map((c) => c.name));
}

/** For commands that read history: a target that is set up, or a removed one whose runs are kept. */
export function requireTargetOrHistory(config: ConnectionCatalog, db: Db, name: string): void {
  if (config.target(name) || countTargetRuns(db, name) > 0) return;
  const known = config.targets().map((t) => t.name);
  throw new UserError(m('unknownTarget', { name }), {
    code: 'UNKNOWN_TARGET',
    exitCode: ExitCode.usage,
    hint: known.length > 0 ? m('knownTargets', { names: known.join(', ') }) : m('noTargets'),
  });
}

/** The connection named, or every connection when none is; at least one. */
export function selectConnections(config: ConnectionCatalog, name: string | undefined): ConnectionConfig[] {
  if (name !== undefined) return [requireConnection(config, name)];
  const all = config.connections();
  if (all.length === 0) throw new UserError(m('none'), { code: 'NO_CONNECTIONS', exitCode: ExitCode.config });
  return all;
}

/** The driver a connection was made with. */
export function driverOf(connection: ConnectionConfig): Driver {
  const driver = findDriver(connection.driver);
  if (!driver) {
    throw new UserError(m('unknownDriver', { name: connection.name, driver: connection.driver }), {
      code: 'UNKNOWN_DRIVER', exitCode: ExitCode.config, hint: m('unknownDriverHint'),
    });
  }
  return driver;
}
