import { join } from 'node:path';
import { ExitCode, UserError } from '../errors/index.js';
import { FileSecretStore } from './file.js';
import { KeychainSecretStore } from './keychain.js';
import { EnvSecretStore, type SecretStore, type SecretStoreKind } from './store.js';
import { SystemdSecretStore } from './systemd.js';

export type { SecretStore, SecretStoreKind } from './store.js';

/** What `doctor` and `connections` show for each kind, in the order to prefer them. */
const descriptions = {
  keychain: 'the system keychain (macOS Keychain, Windows Credential Manager, Secret Service on Linux)',
  file: 'an encrypted file in the erp-sync home, unlocked by ERP_SYNC_PASSPHRASE or ERP_SYNC_KEY_FILE',
  systemd: 'systemd credentials (LoadCredentialEncrypted=) of the erp-sync service; read-only',
  env: 'ERP_SYNC_<CONNECTION>_<FIELD> environment variables; read-only',
} as const satisfies Record<SecretStoreKind, string>;

export function listSecretStoreKinds(): Array<{ kind: SecretStoreKind; description: string }> {
  return Object.entries(descriptions).map(([kind, description]) => ({ kind: kind as SecretStoreKind, description }));
}

/** The file store keeps everything in `<home>/secrets.enc`. */
export function openSecretStore(kind: SecretStoreKind, options: { home: string; env?: NodeJS.ProcessEnv }): SecretStore {
  const env = options.env ?? process.env;
  switch (kind) {
    case 'keychain':
      return new KeychainSecretStore();
    case 'file':
      return new FileSecretStore({ path: join(options.home, 'secrets.enc'), env });
    case 'systemd':
      return new SystemdSecretStore(env);
    case 'env':
      return new EnvSecretStore(env);
    default:
      // A kind read from a hand-edited config is not checked by the compiler.
      throw new UserError(`unsupported secret store: "${String(kind)}"`, {
        code: 'SECRETS_UNKNOWN_STORE',
        exitCode: ExitCode.config,
        hint: `Use one of: ${Object.keys(descriptions).join(', ')}.`,
      });
  }
}
