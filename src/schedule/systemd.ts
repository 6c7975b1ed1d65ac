import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { systemdCredentialName } from '../secrets/systemd.js';
import { envVarName } from '../secrets/store.js';
import type { Interval, Invocation, SecretNeed } from './plan.js';
import { SCHEDULE_ENV_FILE } from './plan.js';

/** The service and timer `erp-sync schedule --systemd` writes. */

export const UNIT = 'erp-sync';

export function unitDirectory(user: boolean, env: NodeJS.ProcessEnv = process.env): string {
  return user ? join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user') : '/etc/systemd/system';
}

/** systemd's quoting for a value with spaces or quotes. */
const quote = (value: string) => (/[\s"'\\]/.test(value) ? `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : value);

const CREDSTORE = '/etc/credstore.encrypted';

export interface SystemdOptions {
  interval: Interval;
  run: Invocation;
  needs: readonly SecretNeed[];
  user: boolean;
  /** Whether the runs need the environment file of the home (a proxy, extra CAs). */
  environmentFile: boolean;
  /** ERP_SYNC_KEY_FILE as set when the schedule is made, if it is. */
  keyFile: string | undefined;
}

/** The service and timer, as text. */
export function systemdUnits({ interval, run, needs, user, environmentFile, keyFile }: SystemdOptions): { service: string; timer: string } {
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
    secretLines.push(
      '# Secrets: the encrypted file in the home directory, unlocked by this key file (mode 0600).',
      `Environment=${quote(`ERP_SYNC_KEY_FILE=${keyFile ?? join(run.home, 'secrets.key')}`)}`,
    );
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
    ...(environmentFile ? ['# The proxy and certificate settings of the shell that made the schedule (mode 0600: a proxy URL may hold a password).', `EnvironmentFile=${quote(join(run.home, SCHEDULE_ENV_FILE))}`] : []),
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
