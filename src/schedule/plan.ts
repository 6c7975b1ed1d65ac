import { hostname } from 'node:os';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import type { SecretStoreKind } from '../secrets/store.js';

/** What every kind of schedule runs, and how often: shared by systemd, cron and Windows' Task Scheduler. */

const m = defineMessages({
  en: {
    badEvery: '--every "{every}" is not an interval erp-sync can schedule evenly',
    badEveryHint: 'Use minutes that divide an hour (5m, 10m, 15m, 20m, 30m) or hours that divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h).',
    oneKind: 'choose one of --systemd, --cron and --windows',
  },
  tr: {
    badEvery: '--every "{every}" eşit aralıklarla zamanlanabilecek bir süre değil',
    badEveryHint: 'Saati tam bölen dakikalar (5m, 10m, 15m, 20m, 30m) ya da günü tam bölen saatler (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h) kullanın.',
    oneKind: '--systemd, --cron ve --windows seçeneklerinden yalnızca birini kullanın',
  },
});

/** systemd where it runs, Task Scheduler on Windows, cron otherwise; a flag chooses another. */
export type ScheduleTarget = 'systemd' | 'cron' | 'windows';

export function scheduleTarget(flags: { systemd?: boolean; cron?: boolean; windows?: boolean }, platform: NodeJS.Platform, systemdRunning: boolean): ScheduleTarget {
  const chosen = (['systemd', 'cron', 'windows'] as const).filter((target) => flags[target]);
  if (chosen.length > 1) throw new UserError(m('oneKind'), { code: 'USAGE', exitCode: ExitCode.usage });
  return chosen[0] ?? (platform === 'win32' ? 'windows' : systemdRunning ? 'systemd' : 'cron');
}

export interface Interval {
  minutes: number;
  /** As the person wrote it, normalized: "15m", "2h". */
  text: string;
}

export function parseInterval(every: string): Interval {
  const match = /^(\d+)\s*(m|min|h)$/i.exec(every.trim());
  const minutes = match ? Number(match[1]) * (match[2]!.toLowerCase() === 'h' ? 60 : 1) : NaN;
  const even = minutes >= 1 && (minutes < 60 ? 60 % minutes === 0 : minutes % 60 === 0 && 24 % (minutes / 60) === 0);
  if (!even) throw new UserError(m('badEvery', { every }), { code: 'USAGE', exitCode: ExitCode.usage, hint: m('badEveryHint') });
  return { minutes, text: minutes < 60 ? `${minutes}m` : `${minutes / 60}h` };
}

/** What runs: absolute paths, because cron, systemd and Task Scheduler start with a bare environment. */
export interface Invocation {
  node: string;
  cli: string;
  home: string;
  lang: string | undefined;
  user: string;
}

/** A secret the schedule must hand to erp-sync: which connection and field, and from which store. */
export interface SecretNeed {
  connection: string;
  field: string;
  store: SecretStoreKind;
  required: boolean;
}

/** The environment of a scheduled run kept in this file of the home (mode 0600), where a schedule needs one. */
export const SCHEDULE_ENV_FILE = 'schedule.env';

/**
 * Variables of the shell that installs the schedule which its runs need
 * too: the proxy (its URL may hold a password, so never on a command line
 * or in a unit file) and extra certificate authorities for every connection.
 */
const CARRIED = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'NODE_EXTRA_CA_CERTS'] as const;

export function carriedEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(CARRIED.filter((name) => env[name]).map((name) => [name, env[name]!]));
}

/**
 * An environment file that systemd (EnvironmentFile=) and Node (--env-file)
 * both read: NAME="value" a line. Node takes what is inside the quotes as it
 * is, so a Windows path keeps its backslashes; systemd would unescape them,
 * but reads this file only on Linux, where the values (a proxy URL, a path)
 * have none. None holds a quote or a line break.
 */
export function environmentFile(variables: Readonly<Record<string, string>>): string {
  return Object.entries(variables).map(([name, value]) => `${name}="${value}"\n`).join('');
}

/** `node --env-file=FILE` (the node erp-sync runs on reads it: --env-file came with 20.6, erp-sync needs 20.16). */
export function envFileArgument(file: string): string {
  return `--env-file=${file}`;
}

/**
 * A minute offset derived from the host name: stable for one machine, spread
 * across many, so shops do not all call the marketplace at the same second
 * (cron and Task Scheduler have no random delay of their own that stays put).
 */
export function hostOffset(modulo: number, host = hostname()): number {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(host).digest().readUInt16BE(0) % modulo;
}
