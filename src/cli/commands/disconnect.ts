import { existsSync } from 'node:fs';
import { findDriver } from '../../../drivers/index.js';
import { paths } from '../../config/home.js';
import { LockHeldError, acquireLock } from '../../lock/lock.js';
import { connectArgument, storedSecretNames } from '../../settings/schema.js';
import { targetSecretFields } from '../../engine/secrets.js';
import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { removeRules, rulesDraftPath, rulesPath } from '../../rules/store.js';
import { envVarName, writableStores } from '../../secrets/store.js';
import type { SecretStore } from '../../secrets/store.js';
import { systemdCredentialName } from '../../secrets/systemd.js';
import { purgeConnection } from '../../store/db.js';
import { countRuns } from '../../store/queries.js';
import { unknownConnection } from '../connections.js';
import { openContext } from '../context.js';
import { createOutput } from '../output.js';
import type { Output } from '../output.js';
import { askYesNo, canPrompt } from '../prompts.js';

export interface DisconnectOptions {
  purge?: boolean;
  yes?: boolean;
}

const m = defineMessages({
  en: {
    confirm: 'Disconnect "{name}" ({driver}) and remove its secrets from the {store} store? Its sync history ({runs} runs) is kept.',
    confirmPurge: 'Disconnect "{name}" ({driver}), remove its secrets from the {store} store, and delete its sync history ({runs} runs){rules}?',
    confirmPurgeOnly: 'Delete the sync history of "{name}" ({runs} runs){rules}?',
    andRules: ' and its rules ({file})',
    unchanged: 'Nothing changed.',
    needsYes: 'disconnect asks before removing anything, and there is no terminal to ask in',
    needsYesHint: 'Add --yes to confirm.',
    confirmMarketplace: 'Disconnect the marketplace target "{name}" ({url}) and remove its secrets from the {store} store? No connection sends to it until it is connected again; offers waiting to be sent are kept and sent then.',
    marketplacePurge: 'a marketplace target has no sync history of its own to purge',
    marketplacePurgeHint: 'Purge a connection\'s history with `erp-sync disconnect NAME --purge`.',
    marketplaceRemoved: 'Disconnected the marketplace target "{name}". `erp-sync connect {again}` connects it again.',
    locked: 'a run of "{name}" is in progress: {reason}',
    lockedHint: 'Wait for it to finish, then disconnect again.',
    removed: 'Disconnected "{name}".',
    historyKept: 'Its sync history ({runs} runs) is kept; `erp-sync disconnect {name} --purge` deletes it.',
    purged: 'Deleted its sync history ({runs} runs).',
    rulesKept: 'Its rules stay in {file}, for a connection made again under this name; `erp-sync disconnect {name} --purge` deletes them.',
    rulesPurged: 'Deleted its rules.',
    unsetEnv: 'Its secrets were read from the environment; remove them where they are set: {vars}.',
    removeCredentials: 'Its secrets are systemd credentials, which only root can remove: delete the LoadCredentialEncrypted= lines and the files in /etc/credstore.encrypted for {names}, then restart the unit.',
    unknownDriver: 'Its driver "{driver}" is unknown, so no secrets were removed from the {store} store.',
  },
  tr: {
    confirm: '"{name}" ({driver}) bağlantısı kaldırılsın ve gizli bilgileri {store} deposundan silinsin mi? Senkronizasyon geçmişi ({runs} çalıştırma) korunur.',
    confirmPurge: '"{name}" ({driver}) bağlantısı kaldırılsın, gizli bilgileri {store} deposundan ve senkronizasyon geçmişi ({runs} çalıştırma){rules} silinsin mi?',
    confirmPurgeOnly: '"{name}" senkronizasyon geçmişi ({runs} çalıştırma){rules} silinsin mi?',
    andRules: ' ile kuralları ({file})',
    unchanged: 'Hiçbir şey değişmedi.',
    needsYes: 'bağlantıyı kaldırmadan önce onay gerekir ve soracak bir terminal yok',
    needsYesHint: 'Onaylamak için --yes ekleyin.',
    confirmMarketplace: '"{name}" pazaryeri hedefi ({url}) kaldırılsın ve gizli bilgileri {store} deposundan silinsin mi? Yeniden bağlanana kadar hiçbir bağlantı ona gönderim yapmaz; gönderilmeyi bekleyen teklifler saklanır ve o zaman gönderilir.',
    marketplacePurge: 'bir pazaryeri hedefinin silinecek kendi senkronizasyon geçmişi yok',
    marketplacePurgeHint: 'Bir bağlantının geçmişini `erp-sync disconnect AD --purge` siler.',
    marketplaceRemoved: '"{name}" pazaryeri hedefi kaldırıldı. `erp-sync connect {again}` yeniden bağlar.',
    locked: '"{name}" için bir çalıştırma sürüyor: {reason}',
    lockedHint: 'Bitmesini bekleyip yeniden deneyin.',
    removed: '"{name}" bağlantısı kaldırıldı.',
    historyKept: 'Senkronizasyon geçmişi ({runs} çalıştırma) korundu; `erp-sync disconnect {name} --purge` siler.',
    purged: 'Senkronizasyon geçmişi ({runs} çalıştırma) silindi.',
    rulesKept: 'Kuralları, bu adla yeniden kurulacak bir bağlantı için {file} dosyasında duruyor; `erp-sync disconnect {name} --purge` siler.',
    rulesPurged: 'Kuralları silindi.',
    unsetEnv: 'Gizli bilgiler ortam değişkenlerinden okunuyordu; tanımlandıkları yerden kaldırın: {vars}.',
    removeCredentials: 'Gizli bilgiler systemd kimlik bilgileri olarak duruyor ve yalnızca root silebilir: {names} için LoadCredentialEncrypted= satırlarını ve /etc/credstore.encrypted içindeki dosyaları silip birimi yeniden başlatın.',
    unknownDriver: '"{driver}" sürücüsü bilinmiyor, bu yüzden {store} deposundan gizli bilgi silinmedi.',
  },
});

/**
 * `erp-sync disconnect NAME`: removes the connection's secrets (where erp-sync
 * can write) and its settings. Its sync history stays for `logs` and audits
 * unless --purge. Holds the connection's run lock throughout, so no run
 * writes history while it is deleted.
 */
export async function disconnectCommand(name: string, options: DisconnectOptions): Promise<ExitCode> {
  const probe = openContext();
  const target = probe.config.target(name);
  probe.close();
  if (target) return disconnectTarget(name, options);
  const out = createOutput(false);
  const ctx = openContext();
  try {
    const connection = ctx.config.connection(name);
    const hasDb = existsSync(paths.database(ctx.home));
    const runs = hasDb ? countRuns(ctx.db(), name) : 0;
    const rules = rulesPath(ctx.home, name);
    const hasRules = existsSync(rules);
    const rulesLeft = hasRules || existsSync(rulesDraftPath(ctx.home, name));
    if (!connection && !(options.purge && (runs > 0 || rulesLeft))) {
      throw unknownConnection(name, ctx.config.connections().map((c) => c.name));
    }

    const vars = { name, driver: connection?.driver ?? '', store: connection?.secretStore ?? '', runs, rules: rulesLeft ? m('andRules', { file: rules }) : '' };
    if (!(await confirmed(options, !connection ? m('confirmPurgeOnly', vars) : options.purge ? m('confirmPurge', vars) : m('confirm', vars), out))) {
      return ExitCode.ok;
    }

    let lock;
    try {
      lock = acquireLock(paths.locks(ctx.home), name);
    } catch (error) {
      if (error instanceof LockHeldError) throw new UserError(m('locked', { name, reason: error.message }), { code: 'LOCKED', exitCode: ExitCode.tempFail, hint: m('lockedHint') });
      throw error;
    }
    try {
      if (connection) {
        const driver = findDriver(connection.driver);
        const store = ctx.secretStore(connection.secretStore);
        if (!driver && writableStores.has(store.kind)) out.warn(m('unknownDriver', { driver: connection.driver, store: store.kind }));
        // Secrets before settings: a failure here leaves a connection that can be disconnected again, not orphaned secrets.
        await removeSecrets(out, store, name, storedSecretNames(driver?.fields ?? []));
        ctx.config.removeConnection(name);
        out.line(m('removed', { name }));
      }
      if (options.purge && hasDb) {
        purgeConnection(ctx.db(), name);
        out.line(m('purged', { runs }));
      } else if (runs > 0) {
        out.line(m('historyKept', { name, runs }));
      }
      if (options.purge && rulesLeft) {
        removeRules(ctx.home, name);
        out.line(m('rulesPurged'));
      } else if (hasRules) {
        out.line(m('rulesKept', { file: rules, name }));
      }
      return ExitCode.ok;
    } finally {
      lock.release();
    }
  } finally {
    ctx.close();
  }
}

/**
 * `erp-sync disconnect TARGET`: a marketplace target's secrets and settings
 * go; what the outbox holds for it stays, to be settled once it is connected
 * again under the same name.
 */
async function disconnectTarget(name: string, options: DisconnectOptions): Promise<ExitCode> {
  const out = createOutput(false);
  if (options.purge) throw new UserError(m('marketplacePurge'), { code: 'MARKETPLACE_PURGE', exitCode: ExitCode.usage, hint: m('marketplacePurgeHint') });
  const ctx = openContext();
  try {
    const target = ctx.config.target(name)!;
    if (!(await confirmed(options, m('confirmMarketplace', { name, url: target.baseUrl, store: target.secretStore }), out))) {
      return ExitCode.ok;
    }
    await removeSecrets(out, ctx.secretStore(target.secretStore), name, storedSecretNames(targetSecretFields(target.kind)));
    ctx.config.removeTarget(name);
    out.line(m('marketplaceRemoved', { name, again: connectArgument(target) }));
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}

/** True with --yes, or when the person answers yes at a terminal; refuses without --yes and without a terminal. */
async function confirmed(options: DisconnectOptions, question: string, out: Output): Promise<boolean> {
  if (options.yes) return true;
  if (!canPrompt(options)) throw new UserError(m('needsYes'), { code: 'CONFIRMATION_NEEDED', exitCode: ExitCode.usage, hint: m('needsYesHint') });
  if (await askYesNo(question, false)) return true;
  out.line(m('unchanged'));
  return false;
}

/** Deletes what erp-sync can delete; for the env and systemd stores, says what the person must remove. */
async function removeSecrets(out: Output, store: SecretStore, name: string, fields: readonly string[]): Promise<void> {
  if (store.kind === 'env') out.line(m('unsetEnv', { vars: fields.map((f) => envVarName(name, f)).join(', ') }));
  else if (store.kind === 'systemd') out.line(m('removeCredentials', { names: fields.map((f) => systemdCredentialName(name, f)).join(', ') }));
  else for (const field of fields) await store.delete(name, field);
}

