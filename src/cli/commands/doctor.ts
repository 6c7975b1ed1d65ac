import chalk from 'chalk';
import { statSync } from 'node:fs';
import { findDriver } from '../../../drivers/index.js';
import { MARKETPLACE } from '../../config/config.js';
import { paths } from '../../config/home.js';
import { resolveSecrets, targetSecretFields } from '../../engine/secrets.js';
import { targetAdapter } from '../../marketplace/targets.js';
import { ExitCode, errorMessage, worstExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { redact } from '../../secrets/redact.js';
import type { SecretStoreKind } from '../../secrets/store.js';
import { openContext } from '../context.js';
import type { CliContext } from '../context.js';
import { installedSchedule, recordedSchedule } from '../../schedule/installed.js';
import { checkConnection, connectionRoute } from '../../engine/check.js';
import { describeRoute, serverDate } from '../../http/route.js';
import type { Route } from '../../http/route.js';
import type { ConnectionUnderTest } from '../../engine/check.js';
import { integrityProblems } from '../../store/db.js';

export interface DoctorOptions {
  json?: boolean;
}

const m = defineMessages({
  en: {
    home: 'Home directory',
    homeOk: '{home} is readable by its owner only',
    homeOpen: '{home} can be read by other users (mode {mode})',
    homeOpenFix: 'chmod 700 {home}',
    homeOwner: '{home} belongs to uid {owner}, not to this user (uid {me})',
    homeOwnerFix: 'Run erp-sync as the owner of the home directory, or chown -R the directory to this user.',
    dbFile: 'Database file',
    dbFileOpen: '{file} can be read by other users (mode {mode})',
    dbFileFix: 'chmod 600 {file}',
    dbFileOk: '{file} is readable by its owner only',
    integrity: 'Database integrity',
    integrityOk: 'PRAGMA integrity_check: ok',
    integrityBad: 'PRAGMA integrity_check found problems: {detail}',
    integrityFix: 'Stop the schedule, move the database aside and run `erp-sync run --resync` (rebuilds the state from the ERP and the marketplace), or restore a backup.',
    secrets: 'Secrets of {name} ({store})',
    secretsOk: 'the {store} store is usable and holds every required secret',
    secretsFix: 'Set them again with `erp-sync connect`, or see `erp-sync drivers` for the environment variable names.',
    connection: 'Connection {name}',
    connectionOk: 'the connection test passed',
    marketplace: 'Marketplace',
    target: 'Marketplace target {name}',
    marketplaceMissing: 'no marketplace is connected',
    marketplaceMissingFix: 'erp-sync connect trendyol (or hepsiburada, n11, or marketplace --base-url URL for the offer API)',
    noConnections: 'no ERP connection is set up',
    noConnectionsFix: 'erp-sync connect <driver> --name NAME',
    connections: 'Connections',
    schedule: 'Schedule',
    scheduleOk: '{kind}: {when}',
    scheduleMissing: 'no schedule is installed: nothing syncs unless someone runs `erp-sync run`',
    scheduleGone: 'erp-sync installed a {kind} schedule ({when}) for this home, but the system no longer has it: nothing syncs unless someone runs `erp-sync run`',
    scheduleFix: 'erp-sync schedule --every 15m --install',
    network: 'Network of {name}',
    clock: 'Clock of {name}',
    clockOk: 'within {seconds} s of the server’s clock',
    clockSkew: 'this machine’s clock is {seconds} s {direction} the server’s',
    ahead: 'ahead of',
    behind: 'behind',
    clockFix: 'Turn on time synchronization: timedatectl set-ntp true (or install chrony).',
    clockUnknown: 'the server sent no usable Date header',
    unreachable: 'could not ask the server the time: {message}',
    skipped: 'skipped: {reason}',
    fix: 'Fix',
    summaryOk: 'Everything looks fine.',
    summaryBad: '{failed} checks failed, {warned} warnings.',
  },
  tr: {
    home: 'Ana dizin',
    homeOk: '{home} yalnızca sahibi tarafından okunabiliyor',
    homeOpen: '{home} başka kullanıcılar tarafından okunabiliyor (izin {mode})',
    homeOpenFix: 'chmod 700 {home}',
    homeOwner: '{home} bu kullanıcıya (uid {me}) değil, uid {owner} kullanıcısına ait',
    homeOwnerFix: 'erp-sync’i ana dizinin sahibi olan kullanıcıyla çalıştırın ya da dizini chown -R ile bu kullanıcıya verin.',
    dbFile: 'Veritabanı dosyası',
    dbFileOpen: '{file} başka kullanıcılar tarafından okunabiliyor (izin {mode})',
    dbFileFix: 'chmod 600 {file}',
    dbFileOk: '{file} yalnızca sahibi tarafından okunabiliyor',
    integrity: 'Veritabanı bütünlüğü',
    integrityOk: 'PRAGMA integrity_check: sorun yok',
    integrityBad: 'PRAGMA integrity_check sorun buldu: {detail}',
    integrityFix: 'Zamanlamayı durdurun, veritabanını kenara taşıyın ve `erp-sync run --resync` çalıştırın (durumu ERP ve pazaryerinden yeniden kurar) ya da bir yedeği geri yükleyin.',
    secrets: '{name} gizli bilgileri ({store})',
    secretsOk: '{store} deposu kullanılabilir ve gerekli tüm gizli bilgiler var',
    secretsFix: '`erp-sync connect` ile yeniden girin ya da ortam değişkeni adları için `erp-sync drivers` listesine bakın.',
    connection: '{name} bağlantısı',
    connectionOk: 'bağlantı testi başarılı',
    marketplace: 'Pazaryeri',
    target: '{name} pazaryeri hedefi',
    marketplaceMissing: 'bağlı bir pazaryeri yok',
    marketplaceMissingFix: 'erp-sync connect trendyol (ya da hepsiburada, n11; teklif API\'si için marketplace --base-url URL)',
    noConnections: 'kurulu bir ERP bağlantısı yok',
    noConnectionsFix: 'erp-sync connect <sürücü> --name AD',
    connections: 'Bağlantılar',
    schedule: 'Zamanlama',
    scheduleOk: '{kind}: {when}',
    scheduleMissing: 'kurulu zamanlama yok: biri `erp-sync run` çalıştırmadıkça senkronizasyon olmaz',
    scheduleGone: 'erp-sync bu klasör için bir {kind} zamanlaması ({when}) kurmuştu, ama sistemde artık yok: biri `erp-sync run` çalıştırmadıkça senkronizasyon olmaz',
    scheduleFix: 'erp-sync schedule --every 15m --install',
    network: '{name} ağı',
    clock: '{name} saati',
    clockOk: 'sunucunun saatinden en fazla {seconds} sn farklı',
    clockSkew: 'bu makinenin saati sunucununkinden {seconds} sn {direction}',
    ahead: 'ileride',
    behind: 'geride',
    clockFix: 'Saat eşitlemeyi açın: timedatectl set-ntp true (ya da chrony kurun).',
    clockUnknown: 'sunucu kullanılabilir bir Date başlığı göndermedi',
    unreachable: 'sunucuya saat sorulamadı: {message}',
    skipped: 'atlandı: {reason}',
    fix: 'Çözüm',
    summaryOk: 'Her şey yolunda görünüyor.',
    summaryBad: '{failed} kontrol başarısız, {warned} uyarı.',
  },
});

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  message: string;
  fix?: string | undefined;
  /** For a failing check: the exit code `doctor` ends with. */
  exitCode?: ExitCode | undefined;
}

/** Clock skew beyond this breaks signed requests and token expiry at some ERPs. */
const MAX_SKEW_S = 60;

/** `erp-sync doctor`: checks the installation and says how to fix what is wrong. */
export async function doctorCommand(options: DoctorOptions): Promise<ExitCode> {
  const ctx = openContext();
  let checks: Check[];
  try {
    checks = await runChecks(ctx);
  } finally {
    ctx.close();
  }
  const failed = checks.filter((c) => c.status === 'fail');
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ checks }, null, 2)}\n`);
  } else {
    const mark = { ok: chalk.green('✓'), warn: chalk.yellow('!'), fail: chalk.red('✗') };
    const lines: string[] = [];
    for (const c of checks) {
      lines.push(`${mark[c.status]} ${chalk.bold(c.title)}: ${c.message}`);
      if (c.fix && c.status !== 'ok') lines.push(`    ${m('fix')}: ${c.fix}`);
    }
    const warned = checks.filter((c) => c.status === 'warn').length;
    lines.push('', failed.length + warned === 0 ? chalk.green(m('summaryOk')) : m('summaryBad', { failed: failed.length, warned }));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return worstExitCode(failed.map((c) => c.exitCode ?? ExitCode.config));
}

async function runChecks(ctx: CliContext): Promise<Check[]> {
  const checks: Check[] = [...fileChecks(ctx.home), integrityCheck(ctx)];
  const connections = ctx.config.connections();
  if (connections.length === 0) {
    checks.push({ id: 'connections', title: m('connections'), status: 'fail', message: m('noConnections'), fix: m('noConnectionsFix'), exitCode: ExitCode.config });
  }
  const clockTargets: { name: string; url: string; route: Route }[] = [];
  for (const connection of connections) {
    const driver = findDriver(connection.driver);
    if (!driver) continue;
    const network = networkCheck(checks, { driver, name: connection.name, baseUrl: connection.baseUrl, settings: connection.settings });
    const target = await secretsCheck(ctx, checks, connection.name, connection.secretStore, driver.fields);
    const title = m('connection', { name: connection.name });
    if (!network) continue;
    if (!target) {
      checks.push({ id: `connection:${connection.name}`, title, status: 'warn', message: m('skipped', { reason: m('secrets', { name: connection.name, store: connection.secretStore }) }) });
    } else {
      checks.push(await connectionCheck(`connection:${connection.name}`, title, { driver, name: connection.name, baseUrl: connection.baseUrl, settings: connection.settings, ...target }));
    }
    const url = connection.baseUrl ?? driver.defaultBaseUrl;
    if (url && network.route) clockTargets.push({ name: connection.name, url, route: network.route });
  }

  const targets = ctx.config.targets();
  if (targets.length === 0) {
    checks.push({ id: 'marketplace', title: m('marketplace'), status: 'fail', message: m('marketplaceMissing'), fix: m('marketplaceMissingFix'), exitCode: ExitCode.config });
  }
  for (const marketplace of targets) {
    // The offer API keeps the check's old id, `marketplace`; every other target is `target:NAME`.
    const id = marketplace.name === MARKETPLACE ? MARKETPLACE : `target:${marketplace.name}`;
    const title = marketplace.name === MARKETPLACE ? m('marketplace') : m('target', { name: marketplace.name });
    const under = { driver: undefined, kind: marketplace.kind, name: marketplace.name, baseUrl: marketplace.baseUrl, settings: marketplace.settings };
    const network = networkCheck(checks, under);
    const found = await secretsCheck(ctx, checks, marketplace.name, marketplace.secretStore, targetSecretFields(marketplace.kind));
    if (found && network) checks.push(await connectionCheck(id, title, { ...under, ...found }));
    const url = marketplace.baseUrl || (marketplace.kind !== 'offer-api' ? targetAdapter(marketplace.kind)?.defaultBaseUrl : undefined);
    if (url && network?.route) clockTargets.push({ name: marketplace.name, url, route: network.route });
  }

  // The system itself is asked here; `status` trusts what `schedule --install` recorded.
  const schedule = installedSchedule();
  const recorded = recordedSchedule(ctx.home);
  checks.push(
    schedule
      ? { id: 'schedule', title: m('schedule'), status: 'ok', message: m('scheduleOk', { kind: schedule.kind, when: schedule.when }) }
      : { id: 'schedule', title: m('schedule'), status: 'warn', message: recorded ? m('scheduleGone', { kind: recorded.kind, when: recorded.when }) : m('scheduleMissing'), fix: m('scheduleFix') },
  );
  for (const target of clockTargets) checks.push(await clockCheck(target.name, target.url, target.route));
  return checks;
}

function fileChecks(home: string): Check[] {
  const checks: Check[] = [];
  const stats = statSync(home);
  const mode = (stats.mode & 0o777).toString(8);
  const me = process.getuid?.();
  if (me !== undefined && stats.uid !== me) {
    checks.push({ id: 'home', title: m('home'), status: 'fail', message: m('homeOwner', { home, owner: String(stats.uid), me: String(me) }), fix: m('homeOwnerFix'), exitCode: ExitCode.config });
  } else if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    checks.push({ id: 'home', title: m('home'), status: 'fail', message: m('homeOpen', { home, mode }), fix: m('homeOpenFix', { home }), exitCode: ExitCode.config });
  } else {
    checks.push({ id: 'home', title: m('home'), status: 'ok', message: m('homeOk', { home }) });
  }
  const file = paths.database(home);
  const db = statSync(file, { throwIfNoEntry: false });
  if (db && process.platform !== 'win32') {
    const open = (db.mode & 0o077) !== 0;
    checks.push({
      id: 'database-file', title: m('dbFile'), status: open ? 'fail' : 'ok',
      message: open ? m('dbFileOpen', { file, mode: (db.mode & 0o777).toString(8) }) : m('dbFileOk', { file }),
      fix: m('dbFileFix', { file }), exitCode: ExitCode.config,
    });
  }
  return checks;
}

function integrityCheck(ctx: CliContext): Check {
  const problems = integrityProblems(ctx.db());
  return problems.length === 0
    ? { id: 'integrity', title: m('integrity'), status: 'ok', message: m('integrityOk') }
    : { id: 'integrity', title: m('integrity'), status: 'fail', message: m('integrityBad', { detail: problems.slice(0, 3).join('; ') }), fix: m('integrityFix'), exitCode: ExitCode.internal };
}

/** The store is usable and every required secret is there; returns what the connection test needs. */
async function secretsCheck(
  ctx: CliContext, checks: Check[], name: string, kind: SecretStoreKind, fields: Parameters<typeof resolveSecrets>[1],
): Promise<Pick<ConnectionUnderTest, 'secrets' | 'saveSecret'> | undefined> {
  const title = m('secrets', { name, store: kind });
  const id = `secrets:${name}`;
  try {
    const store = ctx.secretStore(kind);
    const reason = await store.unavailableReason();
    if (reason) {
      checks.push({ id, title, status: 'fail', message: redact(reason), fix: m('secretsFix'), exitCode: ExitCode.config });
      return undefined;
    }
    const secrets = await resolveSecrets(name, fields, store);
    checks.push({ id, title, status: 'ok', message: m('secretsOk', { store: kind }) });
    return { secrets, saveSecret: (field, value) => store.set(name, field, value) };
  } catch (error) {
    const hint = (error as { hint?: string }).hint;
    checks.push({ id, title, status: 'fail', message: redact(errorMessage(error)), fix: hint ? redact(hint) : m('secretsFix'), exitCode: ExitCode.config });
    return undefined;
  }
}

/**
 * Which proxy and which certificate authorities a connection's requests use
 * (no route: a driver that reads files). A `caFile` that cannot be read or a
 * proxy variable that is not an address fails here, naming it, and
 * undefined is returned: the connection's own test would only fail the same way.
 */
function networkCheck(checks: Check[], target: Pick<ConnectionUnderTest, 'driver' | 'kind' | 'name' | 'baseUrl' | 'settings'>): { route: Route | undefined } | undefined {
  const id = `network:${target.name}`;
  const title = m('network', { name: target.name });
  try {
    const route = connectionRoute(target);
    if (route) checks.push({ id, title, status: 'ok', message: describeRoute(route) });
    return { route };
  } catch (error) {
    const hint = (error as { hint?: string }).hint;
    checks.push({ id, title, status: 'fail', message: redact(errorMessage(error)), fix: hint && redact(hint), exitCode: (error as { exitCode?: ExitCode }).exitCode ?? ExitCode.config });
    return undefined;
  }
}

async function connectionCheck(id: string, title: string, target: ConnectionUnderTest): Promise<Check> {
  const failure = await checkConnection(target);
  if (!failure) return { id, title, status: 'ok', message: m('connectionOk') };
  return { id, title, status: 'fail', message: redact(failure.message), fix: failure.hint ? redact(failure.hint) : undefined, exitCode: failure.exitCode };
}

/**
 * Compares the local clock with the server's Date header (asked along the
 * connection's route: its proxy, its CA), allowing for the round trip (Date has one-second resolution, so a skew under a few seconds
 * is noise).
 */
async function clockCheck(name: string, url: string, route: Route): Promise<Check> {
  const id = `clock:${name}`;
  const title = m('clock', { name });
  const sent = Date.now();
  let date: string | undefined;
  try {
    date = await serverDate(url, route, 5000);
  } catch (error) {
    return { id, title, status: 'warn', message: m('unreachable', { message: redact(errorMessage(error)) }) };
  }
  const received = Date.now();
  const server = date ? Date.parse(date) : NaN;
  if (Number.isNaN(server)) return { id, title, status: 'warn', message: m('clockUnknown') };
  const local = (sent + received) / 2;
  const skew = Math.round((local - server) / 1000);
  const slack = 1 + Math.ceil((received - sent) / 2000);
  if (Math.abs(skew) <= Math.max(slack, MAX_SKEW_S)) return { id, title, status: 'ok', message: m('clockOk', { seconds: Math.max(Math.abs(skew), slack) }) };
  return { id, title, status: 'warn', message: m('clockSkew', { seconds: Math.abs(skew), direction: m(skew > 0 ? 'ahead' : 'behind') }), fix: m('clockFix') };
}
