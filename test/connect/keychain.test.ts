import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../support/cli.js';
import { START_KEYRING } from '../support/keyring.js';
import { hasCommands, requireTool } from '../support/requirements.js';
import { ERP_KEY, PASSPHRASE, createShop } from './setup.js';
import type { Shop } from './setup.js';

const runs = requireTool(
  'GNOME Keyring under dbus-run-session',
  () => process.platform === 'linux' && hasCommands('dbus-run-session', 'dbus-send', 'gnome-keyring-daemon', 'secret-tool'),
  'apt-get install gnome-keyring dbus libsecret-tools',
);

let shop: Shop;
let keyringHome: string | undefined;
afterEach(async () => {
  await shop?.close();
  if (keyringHome) rmSync(keyringHome, { recursive: true, force: true });
});

/** Each step prints `name=<exit code>`, or `name=<value>` for a lookup through libsecret (not through erp-sync). */
const SCRIPT = `${START_KEYRING}
erp() { node "$CLI" "$@" >/dev/null; }
erp connect demo --name shop --base-url "$ERP_URL" --secret-store file --secret-file "apiKey=$KEY_FILE" --yes; echo "connect=$?"
erp connect demo --name shop --secret-store keychain --yes; echo "moveToKeychain=$?"
erp test shop; echo "test=$?"
echo "stored=$(secret-tool lookup service erp-sync username shop/apiKey)"
erp disconnect shop --yes; echo "disconnect=$?"
echo "afterDisconnect=$(secret-tool lookup service erp-sync username shop/apiKey)"
`;

describe.runIf(runs)('erp-sync connect --secret-store keychain against a real Secret Service', () => {
  it('moves the secret from the file store into the keychain, runs from it, and disconnect removes it', async () => {
    shop = await createShop();
    keyringHome = mkdtempSync(join(tmpdir(), 'erp-sync-connect-keyring-'));
    mkdirSync(join(keyringHome, 'run'), { mode: 0o700 });
    // Never the developer's own keyring or display: a private HOME, runtime dir and session bus.
    const env = {
      PATH: process.env.PATH,
      HOME: keyringHome,
      XDG_RUNTIME_DIR: join(keyringHome, 'run'),
      ERP_SYNC_HOME: shop.home,
      ERP_SYNC_PASSPHRASE: PASSPHRASE,
      LANG: 'C',
      CLI,
      ERP_URL: shop.erp.url,
      KEY_FILE: shop.secretFile('key', ERP_KEY),
    };
    // Asynchronous: the sandbox ERP answers from this process while the script runs.
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('dbus-run-session', ['--', 'bash', '-c', SCRIPT], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    const steps = Object.fromEntries(output.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
    expect(steps).toEqual({ connect: '0', moveToKeychain: '0', test: '0', stored: ERP_KEY, disconnect: '0', afterDisconnect: '' });
    expect(shop.config().connections ?? {}).toEqual({});
    expect(await shop.fileSecret('shop', 'apiKey'), 'the move leaves no copy behind').toBeUndefined();
  });
});
