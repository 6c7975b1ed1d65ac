import type { AsyncEntry as AsyncEntryType, EntryOptions } from '@napi-rs/keyring';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { registerSecret } from './redact.js';
import type { SecretStore } from './store.js';

const SERVICE = 'erp-sync';
/** No `/` in it, so it can never be the account of a connection's field. */
const PROBE_ACCOUNT = '.probe';

/**
 * On Linux the library falls back silently to the kernel keyring (keyutils)
 * when no Secret Service answers. That keyring is per login session and empty
 * after a reboot, so a cron run would find no secrets; pinning makes the
 * library throw instead, and the store reports itself unavailable. The option
 * is ignored on macOS and Windows.
 */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

const ALTERNATIVES = 'use --secret-store file|systemd|env instead';

/**
 * Secrets in the operating system's keychain: macOS Keychain, Windows
 * Credential Manager, or on Linux the Secret Service (GNOME Keyring, KWallet,
 * KeePassXC). Service `erp-sync`, account `<connection>/<field>`.
 */
export class KeychainSecretStore implements SecretStore {
  readonly kind = 'keychain' as const;

  async get(connection: string, field: string): Promise<string | undefined> {
    const entry = await openEntry(account(connection, field));
    const value = await keychainCall('read', connection, field, () => entry.getPassword());
    if (value === null) return undefined;
    registerSecret(value);
    return value;
  }

  async set(connection: string, field: string, value: string): Promise<void> {
    registerSecret(value);
    const entry = await openEntry(account(connection, field));
    await keychainCall('write', connection, field, () => entry.setPassword(value));
  }

  async delete(connection: string, field: string): Promise<void> {
    const entry = await openEntry(account(connection, field));
    await keychainCall('delete', connection, field, () => entry.deleteCredential());
  }

  /**
   * Writes and deletes a throwaway entry: only a write shows that the Secret
   * Service has a default keyring and that it is unlocked; a read of a missing
   * entry succeeds even when neither is true.
   */
  async unavailableReason(): Promise<string | undefined> {
    try {
      const entry = await openEntry(PROBE_ACCOUNT);
      await keychainCall('write', undefined, PROBE_ACCOUNT, () => entry.setPassword('probe'));
      await keychainCall('delete', undefined, PROBE_ACCOUNT, () => entry.deleteCredential());
      return undefined;
    } catch (error) {
      return error instanceof UserError ? `${error.message}. ${error.hint}` : errorMessage(error);
    }
  }
}

function account(connection: string, field: string): string {
  if (!connection || !field || connection.includes('/')) {
    throw new UserError(`invalid secret name "${connection}/${field}": the connection and the field must be non-empty and the connection must not contain "/"`, {
      code: 'SECRETS_INVALID_NAME',
      exitCode: ExitCode.usage,
      hint: 'Rename the connection without "/".',
    });
  }
  return `${connection}/${field}`;
}

type AsyncEntryClass = typeof AsyncEntryType;
let entryClass: Promise<AsyncEntryClass> | undefined;

/** Loaded on first use so that `--help` and other stores never load the native module. */
async function loadEntryClass(): Promise<AsyncEntryClass> {
  entryClass ??= import('@napi-rs/keyring').then((keyring) => keyring.AsyncEntry);
  try {
    return await entryClass;
  } catch (error) {
    throw unavailable(`the keychain module cannot be loaded on this system (${errorMessage(error)})`, error);
  }
}

async function openEntry(accountName: string): Promise<AsyncEntryType> {
  const AsyncEntry = await loadEntryClass();
  try {
    return new AsyncEntry(SERVICE, accountName, ENTRY_OPTIONS);
  } catch (error) {
    const why = process.platform === 'linux' ? 'no Secret Service (GNOME Keyring, KWallet, KeePassXC) answers on the D-Bus session bus' : 'the system keychain cannot be opened';
    throw unavailable(`keychain unavailable: ${why} (${errorMessage(error)})`, error);
  }
}

function unavailable(message: string, cause: unknown): UserError {
  return new UserError(message, {
    code: 'SECRETS_KEYCHAIN_UNAVAILABLE',
    exitCode: ExitCode.config,
    hint: `Run erp-sync inside a desktop session with an unlocked keyring, or ${ALTERNATIVES}.`,
    cause,
  });
}

async function keychainCall<T>(operation: 'read' | 'write' | 'delete', connection: string | undefined, field: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const detail = errorMessage(error);
    const what = connection === undefined ? `the keychain check could not ${operation}` : `could not ${operation} ${field} of ${connection} in the keychain`;
    // The Secret Service asks a prompter to unlock a locked keyring; without a display the prompt is dismissed.
    if (/unlock|locked/i.test(detail)) {
      throw new UserError(`${what}: the keyring is locked (${detail})`, {
        code: 'SECRETS_KEYCHAIN_LOCKED',
        exitCode: ExitCode.config,
        hint: `Unlock the login keyring (log in to the desktop session); for unattended runs after a reboot ${ALTERNATIVES}.`,
        cause: error,
      });
    }
    throw new UserError(`${what}: ${detail}`, {
      code: 'SECRETS_KEYCHAIN_FAILED',
      exitCode: ExitCode.config,
      hint: `Check that the keyring has a default collection and is unlocked (\`secret-tool\` from libsecret-tools shows it), or ${ALTERNATIVES}.`,
      cause: error,
    });
  }
}
