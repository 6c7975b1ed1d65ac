import { writeFileSync } from 'atomically';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync, unlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findDriver } from '../../../drivers/index.js';
import type { ConfigStore } from '../../config/config.js';
import { targetSecretFields } from '../../engine/secrets.js';
import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { CRON_MARK, cronLine, readCrontab } from '../../schedule/cron.js';
import { forgetSchedule, recordSchedule } from '../../schedule/installed.js';
import { SCHEDULE_ENV_FILE, carriedEnvironment, environmentFile, parseInterval, scheduleTarget } from '../../schedule/plan.js';
import type { Interval, Invocation, ScheduleTarget, SecretNeed } from '../../schedule/plan.js';
import { UNIT, systemdUnits, unitDirectory } from '../../schedule/systemd.js';
import { TASK, TASK_FILE, schtasksCreate, schtasksDelete, taskFile, taskXml, windowsAccount } from '../../schedule/windows.js';
import { openContext } from '../context.js';

export interface ScheduleOptions {
  every?: string;
  systemd?: boolean;
  cron?: boolean;
  windows?: boolean;
  user?: boolean;
  install?: boolean;
  print?: boolean;
  remove?: boolean;
}

const m = defineMessages({
  en: {
    installAndPrint: '--install and --print cannot be used together',
    notRoot: 'installing system units in /etc/systemd/system needs root',
    notRootHint: 'Run it with sudo, or add --user for a unit of your own user (start it at boot with `loginctl enable-linger`).',
    notWindows: 'a Task Scheduler task can be installed on Windows only',
    notWindowsHint: 'Run `erp-sync schedule --install` on the Windows machine; --windows --print shows the task here.',
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
    carried: 'The scheduled runs get {names} as set here, from {file} (mode 0600: a proxy URL may hold a password).',
    taskPassword: 'Task Scheduler asks for the password of {account} once and keeps it, so the task runs whether anyone is logged on or not.',
    taskInstalled: 'Registered the Task Scheduler task "{task}": erp-sync runs every {every} as {account}. `erp-sync status` shows the last sync.',
    schtasksFailed: '`schtasks` could not register the task (exit {code})',
    schtasksHint: 'If it said "Access is denied", run the command in a Command Prompt opened as administrator. The task is in {file}; register it by hand with: schtasks {args}',
    taskRemoved: 'Removed the Task Scheduler task "{task}".',
    windowsPrinted: '--install writes this as UTF-16 (what schtasks reads) to {file}, the environment of the runs to {envFile}, and registers it with: schtasks {args}',
    printed: 'Nothing was installed; add --install to install it.',
  },
  tr: {
    installAndPrint: '--install ve --print birlikte kullanılamaz',
    notRoot: '/etc/systemd/system içine sistem birimi kurmak root yetkisi ister',
    notRootHint: 'sudo ile çalıştırın ya da kendi kullanıcınızın birimi için --user ekleyin (açılışta başlaması için `loginctl enable-linger`).',
    notWindows: 'Görev Zamanlayıcı görevi yalnızca Windows’ta kurulabilir',
    notWindowsHint: '`erp-sync schedule --install` komutunu Windows makinesinde çalıştırın; --windows --print görevi burada gösterir.',
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
    carried: 'Zamanlanmış çalışmalar {names} değerlerini buradaki haliyle {file} dosyasından alır (izinler 0600: vekil sunucu adresi parola içerebilir).',
    taskPassword: 'Görev Zamanlayıcı {account} hesabının parolasını bir kez sorar ve saklar; böylece görev, oturum açık olsun olmasın çalışır.',
    taskInstalled: 'Görev Zamanlayıcı görevi "{task}" kaydedildi: erp-sync {account} olarak her {every} çalışır. Son senkronizasyonu `erp-sync status` gösterir.',
    schtasksFailed: '`schtasks` görevi kaydedemedi (çıkış {code})',
    schtasksHint: '"Erişim engellendi" dediyse komutu yönetici olarak açılmış bir Komut İstemi’nde çalıştırın. Görev {file} dosyasında; elle kaydetmek için: schtasks {args}',
    taskRemoved: 'Görev Zamanlayıcı görevi "{task}" silindi.',
    windowsPrinted: '--install bunu UTF-16 olarak (schtasks’ın okuduğu biçimde) {file} dosyasına, çalışmaların ortamını {envFile} dosyasına yazar ve şu komutla kaydeder: schtasks {args}',
    printed: 'Hiçbir şey kurulmadı; kurmak için --install ekleyin.',
  },
});

function currentInvocation(home: string): Invocation {
  return { node: process.execPath, cli: realpathSync(process.argv[1]!), home, lang: process.env.LANG, user: userInfo().username };
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
 * `erp-sync schedule`: prints (the default) or installs a systemd timer, a
 * crontab line or a Windows Task Scheduler task that runs `erp-sync run`, or
 * removes it. What it installs is recorded in the home for `status`.
 */
export async function scheduleCommand(options: ScheduleOptions): Promise<ExitCode> {
  const target = scheduleTarget(options, process.platform, systemdAvailable());
  if (options.install && options.print) throw new UserError(m('installAndPrint'), { code: 'USAGE', exitCode: ExitCode.usage });
  if (target === 'windows' && options.install && process.platform !== 'win32') {
    throw new UserError(m('notWindows'), { code: 'USAGE', exitCode: ExitCode.usage, hint: m('notWindowsHint') });
  }
  const user = !!options.user;
  const log = (text: string) => process.stderr.write(`${text}\n`);
  const interval = options.remove ? undefined : parseInterval(options.every ?? '15m');

  const ctx = openContext();
  try {
    if (options.remove) return remove(target, user, ctx.home, log);
    const run = currentInvocation(ctx.home);
    const carried = carriedEnvironment(process.env);
    const environment = target === 'windows'
      ? { ERP_SYNC_HOME: run.home, ...(run.lang ? { LANG: run.lang } : {}), ...(process.env.ERP_SYNC_KEY_FILE ? { ERP_SYNC_KEY_FILE: process.env.ERP_SYNC_KEY_FILE } : {}), ...carried }
      : carried;
    const plan = { interval: interval!, run, environment, install: !!options.install, log };
    if (target === 'windows') return windowsTask(plan);
    if (target === 'cron') return cron(plan);
    return systemd(plan, user, secretNeeds(ctx.config));
  } finally {
    ctx.close();
  }
}

interface Plan {
  interval: Interval;
  run: Invocation;
  /** What the environment file of the home holds for the runs; empty: none is written. */
  environment: Record<string, string>;
  install: boolean;
  log(text: string): void;
}

/** The environment file, written before anything that refers to it; its values never printed (a proxy URL may hold a password). */
function writeEnvironment(plan: Plan): void {
  const file = join(plan.run.home, SCHEDULE_ENV_FILE);
  if (Object.keys(plan.environment).length === 0) {
    rmSync(file, { force: true });
    return;
  }
  writeFileSync(file, environmentFile(plan.environment), { mode: 0o600 });
}

function noteCarried(plan: Plan): void {
  const names = Object.keys(carriedEnvironment(plan.environment));
  if (names.length > 0) plan.log(m('carried', { names: names.join(', '), file: join(plan.run.home, SCHEDULE_ENV_FILE) }));
}

function cron(plan: Plan): ExitCode {
  const line = cronLine(plan.interval, plan.run, Object.keys(plan.environment).length > 0);
  if (!plan.install) {
    process.stdout.write(`${line}\n`);
    noteCarried(plan);
    plan.log(m('printed'));
    return ExitCode.ok;
  }
  writeEnvironment(plan);
  const kept = (readCrontab() ?? '').split('\n').filter((l) => l !== '' && !l.includes(CRON_MARK));
  writeCrontab(`${[...kept, line].join('\n')}\n`);
  recordSchedule(plan.run.home, { kind: 'cron', where: line, when: line.split(/\s+/).slice(0, 5).join(' ') });
  noteCarried(plan);
  plan.log(m('cronInstalled', { user: plan.run.user, every: plan.interval.text }));
  return ExitCode.ok;
}

function systemd(plan: Plan, user: boolean, needs: SecretNeed[]): ExitCode {
  const units = systemdUnits({
    interval: plan.interval, run: plan.run, needs, user, environmentFile: Object.keys(plan.environment).length > 0, keyFile: process.env.ERP_SYNC_KEY_FILE,
  });
  if (!plan.install) {
    process.stdout.write(`# ${UNIT}.service\n${units.service}\n# ${UNIT}.timer\n${units.timer}`);
    noteCarried(plan);
    plan.log(m('printed'));
    return ExitCode.ok;
  }
  if (!user && process.getuid?.() !== 0) throw new UserError(m('notRoot'), { code: 'NEEDS_ROOT', exitCode: ExitCode.config, hint: m('notRootHint') });
  writeEnvironment(plan);
  const directory = unitDirectory(user);
  mkdirSync(directory, { recursive: true });
  for (const [suffix, text] of [['service', units.service], ['timer', units.timer]] as const) {
    const path = join(directory, `${UNIT}.${suffix}`);
    writeFileSync(path, text, { mode: 0o644 });
    plan.log(m('wrote', { path }));
  }
  systemctl(user, 'daemon-reload');
  systemctl(user, 'enable', '--now', `${UNIT}.timer`);
  const timer = join(directory, `${UNIT}.timer`);
  recordSchedule(plan.run.home, { kind: user ? 'systemd-user' : 'systemd', where: timer, when: /^OnCalendar=(.*)$/m.exec(units.timer)![1]! });
  noteCarried(plan);
  plan.log(m('enabled', { every: plan.interval.text }));
  return ExitCode.ok;
}

function windowsTask(plan: Plan): ExitCode {
  const account = windowsAccount(process.env, plan.run.user);
  const xml = taskXml({ interval: plan.interval, run: plan.run, account, environmentFile: join(plan.run.home, SCHEDULE_ENV_FILE) });
  const file = join(plan.run.home, TASK_FILE);
  const args = schtasksCreate(file, account);
  const shown = args.map((arg) => (/\s/.test(arg) ? `"${arg}"` : arg)).join(' ');
  if (!plan.install) {
    process.stdout.write(xml.replace(/\r\n/g, '\n'));
    plan.log(m('windowsPrinted', { file, envFile: join(plan.run.home, SCHEDULE_ENV_FILE), args: shown }));
    plan.log(m('taskPassword', { account }));
    noteCarried(plan);
    plan.log(m('printed'));
    return ExitCode.ok;
  }
  writeEnvironment(plan);
  writeFileSync(file, taskFile(xml), { mode: 0o600 });
  plan.log(m('taskPassword', { account }));
  const result = spawnSync('schtasks', args, { stdio: 'inherit' });
  if (result.error || result.status !== 0) {
    throw new UserError(m('schtasksFailed', { code: String(result.status ?? result.error?.message) }), {
      code: 'SCHTASKS_FAILED', exitCode: ExitCode.config, hint: m('schtasksHint', { file, args: shown }),
    });
  }
  recordSchedule(plan.run.home, { kind: 'windows', where: `Task Scheduler \\${TASK}`, when: plan.interval.text });
  noteCarried(plan);
  plan.log(m('taskInstalled', { task: TASK, every: plan.interval.text, account }));
  return ExitCode.ok;
}

function remove(target: ScheduleTarget, user: boolean, home: string, log: (text: string) => void): ExitCode {
  const removed = target === 'windows' ? removeTask(home, log) : target === 'cron' ? removeCronLine(log) : removeUnits(user, log);
  if (removed) {
    forgetSchedule(home);
    rmSync(join(home, SCHEDULE_ENV_FILE), { force: true });
  } else {
    log(m('nothing'));
  }
  return ExitCode.ok;
}

function removeTask(home: string, log: (text: string) => void): boolean {
  const result = spawnSync('schtasks', schtasksDelete(), { encoding: 'utf8', windowsHide: true });
  rmSync(join(home, TASK_FILE), { force: true });
  if (result.error || result.status !== 0) return false;
  log(m('taskRemoved', { task: TASK }));
  return true;
}

function removeCronLine(log: (text: string) => void): boolean {
  const current = readCrontab();
  if (current === undefined || !current.includes(CRON_MARK)) return false;
  const kept = current.split('\n').filter((l) => l !== '' && !l.includes(CRON_MARK));
  writeCrontab(kept.length > 0 ? `${kept.join('\n')}\n` : '');
  log(m('cronRemoved', { user: userInfo().username }));
  return true;
}

function removeUnits(user: boolean, log: (text: string) => void): boolean {
  const directory = unitDirectory(user);
  const files = ['timer', 'service'].map((suffix) => join(directory, `${UNIT}.${suffix}`)).filter((path) => existsSync(path));
  if (files.length === 0) return false;
  if (systemdAvailable()) systemctl(user, 'disable', '--now', `${UNIT}.timer`);
  for (const path of files) unlinkSync(path);
  if (systemdAvailable()) systemctl(user, 'daemon-reload');
  for (const path of files) log(m('removed', { path }));
  return true;
}
