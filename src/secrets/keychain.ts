import type { AsyncEntry as AsyncEntryType, EntryOptions } from '@napi-rs/keyring';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { registerSecret } from './redact.js';
import type { SecretStore } from './store.js';

const m = defineMessages({
  en: {
    alternatives: 'use --secret-store file|systemd|env instead',
    invalidName: 'invalid secret name "{name}": the connection and the field must be non-empty and the connection must not contain "/"',
    invalidNameHint: 'Rename the connection without "/".',
    moduleUnavailable: 'the keychain module cannot be loaded on this system ({reason})',
    unavailable: 'keychain unavailable: {why} ({reason})',
    noSecretService: 'no Secret Service (GNOME Keyring, KWallet, KeePassXC) answers on the D-Bus session bus',
    cannotOpen: 'the system keychain cannot be opened',
    unavailableHint: 'Run erp-sync inside a desktop session with an unlocked keyring, or {alternatives}.',
    checkRead: 'the keychain check could not read',
    checkWrite: 'the keychain check could not write',
    checkDelete: 'the keychain check could not delete',
    fieldRead: 'could not read {field} of {connection} in the keychain',
    fieldWrite: 'could not write {field} of {connection} in the keychain',
    fieldDelete: 'could not delete {field} of {connection} in the keychain',
    locked: '{what}: the keyring is locked ({detail})',
    lockedHint: 'Unlock the login keyring (log in to the desktop session); for unattended runs after a reboot {alternatives}.',
    failed: '{what}: {detail}',
    failedHint: 'Check that the keyring has a default collection and is unlocked (`secret-tool` from libsecret-tools shows it), or {alternatives}.',
    tooLong: '{field} of {connection} has {length} characters; Windows Credential Manager keeps at most {max}',
    tooLongHint: 'Keep this connection\'s secrets in the encrypted file: connect again with --secret-store file.',
  },
  tr: {
    alternatives: 'bunun yerine --secret-store file|systemd|env kullanın',
    invalidName: 'geçersiz gizli bilgi adı "{name}": bağlantı ve alan boş olamaz, bağlantı adında "/" bulunamaz',
    invalidNameHint: 'Bağlantıya "/" içermeyen yeni bir ad verin.',
    moduleUnavailable: 'anahtar zinciri modülü bu sistemde yüklenemiyor ({reason})',
    unavailable: 'anahtar zinciri kullanılamıyor: {why} ({reason})',
    noSecretService: 'D-Bus oturum veri yolunda yanıt veren bir Secret Service (GNOME Keyring, KWallet, KeePassXC) yok',
    cannotOpen: 'sistem anahtar zinciri açılamıyor',
    unavailableHint: "erp-sync'i kilidi açık bir anahtar zinciri olan bir masaüstü oturumunda çalıştırın ya da {alternatives}.",
    checkRead: 'anahtar zinciri denetiminde okuma yapılamadı',
    checkWrite: 'anahtar zinciri denetiminde yazma yapılamadı',
    checkDelete: 'anahtar zinciri denetiminde silme yapılamadı',
    fieldRead: '{connection} bağlantısının {field} alanı anahtar zincirinden okunamadı',
    fieldWrite: '{connection} bağlantısının {field} alanı anahtar zincirine yazılamadı',
    fieldDelete: '{connection} bağlantısının {field} alanı anahtar zincirinden silinemedi',
    locked: '{what}: anahtar zinciri kilitli ({detail})',
    lockedHint:
      'Oturum açma anahtar zincirinin kilidini açın (masaüstü oturumuna giriş yapın); yeniden başlatmadan sonra gözetimsiz çalıştırmalar için {alternatives}.',
    failed: '{what}: {detail}',
    failedHint:
      "Anahtar zincirinde varsayılan bir koleksiyon olduğunu ve kilidinin açık olduğunu kontrol edin (libsecret-tools paketindeki `secret-tool` bunu gösterir) ya da {alternatives}.",
    tooLong: '{connection} bağlantısının {field} alanı {length} karakter; Windows Kimlik Bilgisi Yöneticisi en fazla {max} karakter saklar',
    tooLongHint: 'Bu bağlantının gizli bilgilerini şifreli dosyada saklayın: --secret-store file ile yeniden bağlanın.',
  },
});

/** What could not be done, per operation: during the availability check, or on one field of a connection. */
const operationMessages = {
  read: { check: 'checkRead', field: 'fieldRead' },
  write: { check: 'checkWrite', field: 'fieldWrite' },
  delete: { check: 'checkDelete', field: 'fieldDelete' },
} as const;

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
    checkLength(connection, field, value);
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

/**
 * Windows Credential Manager keeps at most 2,560 bytes a credential
 * (CRED_MAX_CREDENTIAL_BLOB_SIZE), and the keyring library stores the value
 * as UTF-16: 1,280 characters. Longer, Windows answers only "the stub
 * received bad data"; this says what is wrong instead.
 */
export const WINDOWS_MAX_SECRET = 1280;

export function checkLength(connection: string, field: string, value: string, platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'win32' || value.length <= WINDOWS_MAX_SECRET) return;
  throw new UserError(m('tooLong', { connection, field, length: value.length, max: WINDOWS_MAX_SECRET }), {
    code: 'SECRETS_KEYCHAIN_TOO_LONG',
    exitCode: ExitCode.config,
    hint: m('tooLongHint'),
  });
}

function account(connection: string, field: string): string {
  if (!connection || !field || connection.includes('/')) {
    throw new UserError(m('invalidName', { name: `${connection}/${field}` }), {
      code: 'SECRETS_INVALID_NAME',
      exitCode: ExitCode.usage,
      hint: m('invalidNameHint'),
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
    throw unavailable(m('moduleUnavailable', { reason: errorMessage(error) }), error);
  }
}

async function openEntry(accountName: string): Promise<AsyncEntryType> {
  const AsyncEntry = await loadEntryClass();
  try {
    return new AsyncEntry(SERVICE, accountName, ENTRY_OPTIONS);
  } catch (error) {
    const why = m(process.platform === 'linux' ? 'noSecretService' : 'cannotOpen');
    throw unavailable(m('unavailable', { why, reason: errorMessage(error) }), error);
  }
}

function unavailable(message: string, cause: unknown): UserError {
  return new UserError(message, {
    code: 'SECRETS_KEYCHAIN_UNAVAILABLE',
    exitCode: ExitCode.config,
    hint: m('unavailableHint', { alternatives: m('alternatives') }),
    cause,
  });
}

async function keychainCall<T>(operation: 'read' | 'write' | 'delete', connection: string | undefined, field: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const detail = errorMessage(error);
    const what = connection === undefined ? m(operationMessages[operation].check) : m(operationMessages[operation].field, { field, connection });
    // The Secret Service asks a prompter to unlock a locked keyring; without a display the prompt is dismissed.
    if (/unlock|locked/i.test(detail)) {
      throw new UserError(m('locked', { what, detail }), {
        code: 'SECRETS_KEYCHAIN_LOCKED',
        exitCode: ExitCode.config,
        hint: m('lockedHint', { alternatives: m('alternatives') }),
        cause: error,
      });
    }
    throw new UserError(m('failed', { what, detail }), {
      code: 'SECRETS_KEYCHAIN_FAILED',
      exitCode: ExitCode.config,
      hint: m('failedHint', { alternatives: m('alternatives') }),
      cause: error,
    });
  }
}
