/**
 * Runs inside `dbus-run-session` (see keychain.test.ts), so that it talks to a
 * private session bus, and prints one JSON object with what it observed.
 * Scenarios: `secret-service` (an unlocked GNOME Keyring), `no-service` (a bus
 * on which nothing provides org.freedesktop.secrets) and `no-bus`.
 */
import { execFileSync } from 'node:child_process';
import { AsyncEntry } from '@napi-rs/keyring';
import { UserError } from '../../src/errors/index.js';
import { KeychainSecretStore } from '../../src/secrets/keychain.js';
import { redact } from '../../src/secrets/redact.js';

const outcome = async <T>(run: () => Promise<T>) => {
  try {
    return { value: (await run()) ?? null };
  } catch (error) {
    return error instanceof UserError ? { code: error.code, message: error.message, hint: error.hint } : { error: String(error) };
  }
};

/** Asks the Secret Service itself, through libsecret, not through the code under test. */
const secretToolLookup = (account: string) => {
  try {
    return execFileSync('secret-tool', ['lookup', 'service', 'erp-sync', 'username', account], { encoding: 'utf8' });
  } catch {
    return null;
  }
};

const store = new KeychainSecretStore();
const result: Record<string, unknown> = {};

switch (process.argv[2]) {
  case 'secret-service': {
    result.reason = await store.unavailableReason();
    result.probeLeftBehind = secretToolLookup('.probe');
    result.missing = await outcome(() => store.get('shop', 'password'));
    await store.set('shop', 'password', 'first-Value-1');
    await store.set('shop', 'password', 'second-Value-2');
    await store.set('other', 'password', 'other-Value-3');
    result.read = await outcome(() => store.get('shop', 'password'));
    result.other = await outcome(() => store.get('other', 'password'));
    result.inSecretService = secretToolLookup('shop/password');
    execFileSync('secret-tool', ['store', '--label=written by libsecret', 'service', 'erp-sync', 'username', 'external/password'], { input: 'external-Value-5' });
    result.external = await outcome(() => store.get('external', 'password'));
    result.redacted = redact('the ERP answered: external-Value-5 is wrong');
    await store.delete('shop', 'password');
    result.afterDelete = await outcome(() => store.get('shop', 'password'));
    result.deleteMissing = await outcome(() => store.delete('shop', 'password'));
    result.otherAfterDelete = await outcome(() => store.get('other', 'password'));
    execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login'], { stdio: 'ignore' });
    result.lockedGet = await outcome(() => store.get('other', 'password'));
    result.lockedReason = await store.unavailableReason();
    break;
  }
  case 'no-service':
  case 'no-bus': {
    result.reason = await store.unavailableReason();
    result.set = await outcome(() => store.set('shop', 'password', 'kernel-Value-4'));
    result.get = await outcome(() => store.get('shop', 'password'));
    result.kernelKeyring = await outcome(() => new AsyncEntry('erp-sync', 'shop/password', { linux: { store: 'keyutils' } }).getPassword());
    break;
  }
  default:
    throw new Error(`unknown scenario: ${process.argv[2]}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
