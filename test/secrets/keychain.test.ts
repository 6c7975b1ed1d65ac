import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_KEYRING } from '../support/keyring.js';
import { hasCommands, requireTool } from '../support/requirements.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const child = fileURLToPath(new URL('./keychain-child.ts', import.meta.url));

/** A session bus with no service directories: nothing can be activated, so no Secret Service. */
const BARE_BUS = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*"/><allow receive_sender="*"/><allow own="*"/></policy>
</busconfig>
`;

const runs = requireTool(
  'GNOME Keyring under dbus-run-session',
  () => process.platform === 'linux' && hasCommands('dbus-run-session', 'dbus-send', 'gnome-keyring-daemon', 'secret-tool'),
  'apt-get install gnome-keyring dbus libsecret-tools',
);

interface Outcome {
  value?: string | null;
  code?: string;
  message?: string;
  hint?: string;
}

describe.runIf(runs)('KeychainSecretStore against a real Secret Service', () => {
  let home: string;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'erp-sync-keychain-'));
    mkdirSync(join(home, 'run'), { mode: 0o700 });
    writeFileSync(join(home, 'bare-bus.conf'), BARE_BUS);
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  /**
   * HOME and XDG_RUNTIME_DIR point into the temp dir so the keyring files and
   * the daemon's control socket never touch the developer's own keyring; no
   * DISPLAY, so no unlock dialog can pop up; no inherited bus address, so the
   * only bus is the one dbus-run-session starts.
   */
  function run(command: string[]): Record<string, Outcome | string | null> {
    const { DISPLAY, WAYLAND_DISPLAY, DBUS_SESSION_BUS_ADDRESS, XDG_DATA_HOME, XDG_CONFIG_HOME, ...inherited } = process.env;
    const result = spawnSync(command[0]!, command.slice(1), {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...inherited, HOME: home, XDG_RUNTIME_DIR: join(home, 'run') },
    });
    const last = result.stdout.trim().split('\n').at(-1);
    if (result.status !== 0 || !last) throw new Error(`${command.join(' ')} exited with ${result.status}:\n${result.stdout}\n${result.stderr}`);
    return JSON.parse(last) as Record<string, Outcome | string | null>;
  }

  const node = (scenario: string) => ['node', '--import', 'tsx', child, scenario];

  it('stores, reads, overwrites and deletes in an unlocked GNOME Keyring, and reports a locked one', () => {
    const unlockThenRun = `${START_KEYRING}\nexec "$@"`;
    const result = run(['dbus-run-session', '--', 'bash', '-c', unlockThenRun, 'bash', ...node('secret-service')]);
    expect(result.reason).toBeUndefined();
    expect(result.probeLeftBehind).toBeNull();
    expect(result.missing).toEqual({ value: null });
    expect(result.read).toEqual({ value: 'second-Value-2' });
    expect(result.other).toEqual({ value: 'other-Value-3' });
    expect(result.inSecretService).toBe('second-Value-2');
    expect(result.external).toEqual({ value: 'external-Value-5' });
    expect(result.redacted).toBe('the ERP answered: *** is wrong');
    expect(result.afterDelete).toEqual({ value: null });
    expect(result.deleteMissing).toEqual({ value: null });
    expect(result.otherAfterDelete).toEqual({ value: 'other-Value-3' });
    expect(result.lockedGet).toMatchObject({ code: 'SECRETS_KEYCHAIN_LOCKED', hint: expect.stringContaining('--secret-store file|systemd|env') });
    expect(result.lockedReason).toMatch(/locked.*--secret-store file\|systemd\|env/);
  });

  it.each([
    ['a bus without org.freedesktop.secrets', () => ['dbus-run-session', `--config-file=${join(home, 'bare-bus.conf')}`, '--', ...node('no-service')]],
    ['no session bus at all', () => node('no-bus')],
  ])('with %s it is unavailable and nothing reaches the kernel keyring', (_, command) => {
    const result = run(command());
    expect(result.reason).toMatch(/^keychain unavailable: no Secret Service .*--secret-store file\|systemd\|env/);
    expect(result.set).toMatchObject({ code: 'SECRETS_KEYCHAIN_UNAVAILABLE' });
    expect(result.get).toMatchObject({ code: 'SECRETS_KEYCHAIN_UNAVAILABLE' });
    // Read back through an entry pinned to keyutils: null, or an error where keyctl is forbidden, never the value.
    expect((result.kernelKeyring as Outcome).value ?? null).toBeNull();
  });
});
