import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { findDriver } from '../../../drivers/index.js';
import type { ConfigStore } from '../../config/config.js';
import { targetSecretFields } from '../../engine/secrets.js';
import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { envVarName } from '../../secrets/store.js';
import type { SecretStoreKind } from '../../secrets/store.js';
import { systemdCredentialName } from '../../secrets/systemd.js';
import { openContext } from '../context.js';
import { CRON_MARK, UNIT, readCrontab, unitDirectory } from '../../schedule/installed.js';

export interface ScheduleOptions {
  every?: string;
  systemd?: boolean;
  cron?: boolean;
  user?: boolean;
  install?: boolean;
  print?: boolean;
  remove?: boolean;
}

const m = defineMessages({
  en: {
    badEvery: '--every "{every}" is not an interval erp-sync can schedule evenly',
    badEveryHint: 'Use minutes that divide an hour (5m, 10m, 15m, 20m, 30m) or hours that divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h).',
    bothKinds: '--systemd and --cron cannot be used together',
    installAndPrint: '--install and --print cannot be used together',
    notRoot: 'installing system units in /etc/systemd/system needs root',
    notRootHint: 'Run it with sudo, or add --user for a unit of your own user (start it at boot with `loginctl enable-linger`).',
    wrote: 'Wrote {path}',
    removed: 'Removed {path}',
    nothing: 'No erp-sync schedule was installed.',
    enabled: 'The timer is enabled: erp-sync runs every {every}. `erp-sync status` shows the last sync.',
    systemctlFailed: '`{command}` failed: {message}',
    systemctlHint: 'The unit files are written; enable the timer yourself with `{command}`.',
    cronInstalled: 'Added to the crontab of {user}: erp-sync runs every {every}.',
    cronRemoved: 'Removed the erp-sync line from the crontab of {user}.',
    crontabFailed: '`crontab` failed: {message}',
    crontabHint: 'Install cron (Debian: apt-get install cron), or use --systemd.',
    printed: 'Nothing was installed; add --install to install it.',
  },
  tr: {
    badEvery: '--every "{every}" eşit aralıklarla zamanlanabilecek bir süre değil',
    badEveryHint: 'Saati tam bölen dakikalar (5m, 10m, 15m, 20m, 30m) ya da günü tam bölen saatler (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h) kullanın.',
    bothKinds: '--systemd ve --cron birlikte kullanılamaz',
    installAndPrint: '--install ve --print birlikte kullanılamaz',
    notRoot: '/etc/systemd/system içine sistem birimi kurmak root yetkisi ister',
    notRootHint: 'sudo ile çalıştırın ya da kendi kullanıcınızın birimi için --user ekleyin (açılışta başlaması için `loginctl enable-linger`).',
    wrote: '{path} yazıldı',
    removed: '{path} silindi',
    nothing: 'Kurulu bir erp-sync zamanlaması yoktu.',
    enabled: 'Zamanlayıcı etkin: erp-sync her {every} çalışır. Son senkronizasyonu `erp-sync status` gösterir.',
    systemctlFailed: '`{command}` başarısız: {message}',
    systemctlHint: 'Birim dosyaları yazıldı; zamanlayıcıyı `{command}` ile kendiniz etkinleştirin.',
    cronInstalled: '{user} kullanıcısının crontab’ına eklendi: erp-sync her {every} çalışır.',
    cronRemoved: '{user} kullanıcısının crontab’ından erp-sync satırı silindi.',
    crontabFailed: '`crontab` başarısız: {message}',
    crontabHint: 'cron kurun (Debian: apt-get install cron) ya da --systemd kullanın.',
    printed: 'Hiçbir şey kurulmadı; kurmak için --install ekleyin.',
  },
});


export interface Interval {
  minutes: number;
  /** As the person wrote it, normalized: "15m", "2h". */
  text: string;
}

function parseInterval(every: string): Interval {
  const match = /^(\d+)\s*(m|min|h)$/i.exec(every.trim());
  const minutes = match ? Number(match[1]) * (match[2]!.toLowerCase() === 'h' ? 60 : 1) : NaN;
  const even = minutes >= 1 && (minutes < 60 ? 60 % minutes === 0 : minutes % 60 === 0 && 24 % (minutes / 60) === 0);
  if (!even) throw new UserError(m('badEvery', { every }), { code: 'USAGE', exitCode: ExitCode.usage, hint: m('badEveryHint') });
  return { minutes, text: minutes < 60 ? `${minutes}m` : `${minutes / 60}h` };
}

/** What runs: absolute paths, because cron and systemd start with a bare PATH. */
export interface Invocation {
  node: string;
  cli: string;
  home: string;
  lang: string | undefined;
  user: string;
}

function currentInvocation(home: string): Invocation {
  return { node: process.execPath, cli: realpathSync(process.argv[1]!), home, lang: process.env.LANG, user: userInfo().username };
}

/** A secret the unit must hand to erp-sync: which connection and field, and from which store. */
export interface SecretNeed {
  connection: string;
  field: string;
  store: SecretStoreKind;
  required: boolean;
}

function secretNeeds(config: ConfigStore): SecretNeed[] {
  const needs: SecretNeed[] = [];
  for (const connection of config.connections()) {
    for (const field of findDriver(connection.driver)?.fields ?? []) {
      if (field.secret) needs.push({ connection: connection.name, field: field.name, store: connection.secretStore, required: !!field.required });
    }
  }
  for (const target of config.targets()) {
    for (const field of targetSecretFields(target.kind)) {
      if (field.secret) needs.push({ connection: target.name, field: field.name, store: target.secretStore, required: !!field.required });
    }
  }
  return needs;
}

/** systemd's quoting for a value with spaces or quotes. */
const quote = (value: string) => (/[\s"'\\]/.test(value) ? `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : value);

const CREDSTORE = '/etc/credstore.encrypted';

/** The service and timer, as text. */
function systemdUnits(interval: Interval, run: Invocation, needs: readonly SecretNeed[], user: boolean): { service: string; timer: string } {
  const stores = new Set(needs.map((n) => n.store));
  const secretLines: string[] = [];
  if (stores.has('systemd')) {
    secretLines.push(
      '# Secrets: systemd credentials, encrypted at rest and readable by this service only.',
      `# Add one with: systemd-ask-password -n "NAME:" | systemd-creds encrypt --name=NAME - ${CREDSTORE}/NAME`,
      ...(user ? ['# (LoadCredentialEncrypted= in a user unit needs systemd 256 or later.)'] : []),
    );
    for (const need of needs.filter((n) => n.store === 'systemd')) {
      const name = systemdCredentialName(need.connection, need.field);
      // A missing credential file stops the unit from starting: optional ones are listed only when present.
      if (need.required || existsSync(join(CREDSTORE, name))) secretLines.push(`LoadCredentialEncrypted=${name}:${CREDSTORE}/${name}`);
    }
  }
  if (stores.has('env')) {
    const names = needs.filter((n) => n.store === 'env').map((n) => envVarName(n.connection, n.field));
    secretLines.push(
      `# Secrets: environment variables (${names.join(', ')}) from a file of mode 0600, never inline`,
      '# (Environment= lines can be read by every user with `systemctl show`).',
      `EnvironmentFile=${quote(join(run.home, 'secrets.env'))}`,
    );
  }
  if (stores.has('file')) {
    const keyFile = process.env.ERP_SYNC_KEY_FILE ?? join(run.home, 'secrets.key');
    secretLines.push('# Secrets: the encrypted file in the home directory, unlocked by this key file (mode 0600).', `Environment=${quote(`ERP_SYNC_KEY_FILE=${keyFile}`)}`);
  }
  if (stores.has('keychain')) {
    secretLines.push(
      '# Secrets: the keychain (Secret Service) needs an unlocked login session;',
      user ? '# keep one with `loginctl enable-linger` and an unlocked keyring, or prefer --secret-store systemd or file.' : '# a system service has none: prefer --secret-store systemd or file.',
    );
  }
  const randomDelay = Math.min(300, Math.max(10, Math.round(interval.minutes * 6)));
  const service = [
    '# Written by `erp-sync schedule`; `erp-sync schedule --remove` removes it.',
    '[Unit]',
    'Description=erp-sync: ERP catalog to marketplace offers',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${quote(run.node)} ${quote(run.cli)} run`,
    `Environment=${quote(`ERP_SYNC_HOME=${run.home}`)}`,
    ...(run.lang ? [`Environment=${quote(`LANG=${run.lang}`)}`] : []),
    ...(user || run.user === 'root' ? [] : [`User=${run.user}`]),
    ...secretLines,
    '# Exit codes are sysexits. 75 (ERP or marketplace unreachable for now, or a manual run holding the lock)',
    '# is retried by the next timer tick, so it does not mark the unit failed; 65 (safety guard),',
    '# 77 (credentials rejected) and 78 (configuration) need a person: the unit fails, OnFailure= and',
    '# `systemctl --failed` show it, and a Restart= added later never loops on them.',
    'SuccessExitStatus=75',
    'RestartPreventExitStatus=64 65 77 78',
    '# SIGTERM lets the batch in flight finish and be recorded.',
    'TimeoutStopSec=90',
    'TimeoutStartSec=2h',
    'Nice=10',
    ...(user ? [] : ['NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectSystem=strict', `ReadWritePaths=${quote(run.home)}`]),
    '',
  ].join('\n');
  const calendar = interval.minutes < 60 ? `*-*-* *:00/${interval.minutes}:00` : `*-*-* 00/${interval.minutes / 60}:00:00`;
  const timer = [
    '# Written by `erp-sync schedule`; `erp-sync schedule --remove` removes it.',
    '[Unit]',
    `Description=Run erp-sync every ${interval.text}`,
    '',
    '[Timer]',
    `OnCalendar=${calendar}`,
    '# A tick missed while the machine was off runs at boot.',
    'Persistent=true',
    '# Spreads many shops over the interval so they do not all call the marketplace at the same second.',
    `RandomizedDelaySec=${randomDelay}`,
    'FixedRandomDelay=true',
    'AccuracySec=1s',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { service, timer };
}

/**
 * The crontab line. cron has no random delay, so the minute offset is
 * derived from the host name: stable for one machine, spread across many.
 * No flock: erp-sync locks each connection itself.
 */
function cronLine(interval: Interval, run: Invocation): string {
  const offset = createHash('sha256').update(hostname()).digest().readUInt16BE(0);
  const when = interval.minutes < 60
    ? `${offset % interval.minutes}-59/${interval.minutes} * * * *`
    : `${offset % 60} ${offset % (interval.minutes / 60)}-23/${interval.minutes / 60} * * *`;
  const sh = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  const env = [`ERP_SYNC_HOME=${sh(run.home)}`, ...(run.lang ? [`LANG=${sh(run.lang)}`] : [])].join(' ');
  return `${when} ${env} ${sh(run.node)} ${sh(run.cli)} run --quiet ${CRON_MARK}`;
}

function writeCrontab(content: string): void {
  const result = spawnSync('crontab', ['-'], { input: content, encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new UserError(m('crontabFailed', { message: result.error?.message ?? result.stderr.trim() }), { code: 'CRONTAB_FAILED', exitCode: ExitCode.config, hint: m('crontabHint') });
  }
}

function systemctl(user: boolean, ...args: string[]): void {
  const command = ['systemctl', ...(user ? ['--user'] : []), ...args];
  const result = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    const enable = ['systemctl', ...(user ? ['--user'] : []), 'enable', '--now', `${UNIT}.timer`].join(' ');
    throw new UserError(m('systemctlFailed', { command: command.join(' '), message: result.error?.message ?? result.stderr.trim() }), {
      code: 'SYSTEMCTL_FAILED', exitCode: ExitCode.config, hint: m('systemctlHint', { command: enable }),
    });
  }
}

const systemdAvailable = () => existsSync('/run/systemd/system');

/**
 * `erp-sync schedule`: prints (the default) or installs a systemd timer or a
 * crontab line that runs `erp-sync run`, or removes it.
 */
export async function scheduleCommand(options: ScheduleOptions): Promise<ExitCode> {
  if (options.systemd && options.cron) throw new UserError(m('bothKinds'), { code: 'USAGE', exitCode: ExitCode.usage });
  if (options.install && options.print) throw new UserError(m('installAndPrint'), { code: 'USAGE', exitCode: ExitCode.usage });
  const kind = options.cron ? 'cron' : options.systemd || systemdAvailable() ? 'systemd' : 'cron';
  const user = !!options.user;
  const log = (text: string) => process.stderr.write(`${text}\n`);

  if (options.remove) return remove(kind, user, log);

  const interval = parseInterval(options.every ?? '15m');
  const ctx = openContext();
  let run: Invocation;
  let needs: SecretNeed[];
  try {
    run = currentInvocation(ctx.home);
    needs = secretNeeds(ctx.config);
  } finally {
    ctx.close();
  }

  if (kind === 'cron') {
    const line = cronLine(interval, run);
    if (!options.install) {
      process.stdout.write(`${line}\n`);
      log(m('printed'));
      return ExitCode.ok;
    }
    const kept = (readCrontab() ?? '').split('\n').filter((l) => l !== '' && !l.includes(CRON_MARK));
    writeCrontab(`${[...kept, line].join('\n')}\n`);
    log(m('cronInstalled', { user: run.user, every: interval.text }));
    return ExitCode.ok;
  }

  const units = systemdUnits(interval, run, needs, user);
  if (!options.install) {
    process.stdout.write(`# ${UNIT}.service\n${units.service}\n# ${UNIT}.timer\n${units.timer}`);
    log(m('printed'));
    return ExitCode.ok;
  }
  if (!user && process.getuid?.() !== 0) throw new UserError(m('notRoot'), { code: 'NEEDS_ROOT', exitCode: ExitCode.config, hint: m('notRootHint') });
  const directory = unitDirectory(user);
  mkdirSync(directory, { recursive: true });
  for (const [suffix, text] of [['service', units.service], ['timer', units.timer]] as const) {
    const path = join(directory, `${UNIT}.${suffix}`);
    writeFileSync(path, text, { mode: 0o644 });
    log(m('wrote', { path }));
  }
  systemctl(user, 'daemon-reload');
  systemctl(user, 'enable', '--now', `${UNIT}.timer`);
  log(m('enabled', { every: interval.text }));
  return ExitCode.ok;
}

function remove(kind: 'systemd' | 'cron', user: boolean, log: (text: string) => void): ExitCode {
  if (kind === 'cron') {
    const current = readCrontab();
    if (current === undefined || !current.includes(CRON_MARK)) {
      log(m('nothing'));
      return ExitCode.ok;
    }
    const kept = current.split('\n').filter((l) => l !== '' && !l.includes(CRON_MARK));
    writeCrontab(kept.length > 0 ? `${kept.join('\n')}\n` : '');
    log(m('cronRemoved', { user: userInfo().username }));
    return ExitCode.ok;
  }
  const directory = unitDirectory(user);
  const files = ['timer', 'service'].map((suffix) => join(directory, `${UNIT}.${suffix}`)).filter((path) => existsSync(path));
  if (files.length === 0) {
    log(m('nothing'));
    return ExitCode.ok;
  }
  if (systemdAvailable()) systemctl(user, 'disable', '--now', `${UNIT}.timer`);
  for (const path of files) unlinkSync(path);
  if (systemdAvailable()) systemctl(user, 'daemon-reload');
  for (const path of files) log(m('removed', { path }));
  return ExitCode.ok;
}
