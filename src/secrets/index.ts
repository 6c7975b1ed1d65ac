import { join } from 'node:path';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { FileSecretStore, KEY_FILE_VARIABLE, PASSPHRASE_VARIABLE } from './file.js';
import { KeychainSecretStore } from './keychain.js';
import { EnvSecretStore, secretStoreKinds, type SecretStore, type SecretStoreKind } from './store.js';
import { SystemdSecretStore } from './systemd.js';

export type { SecretStore, SecretStoreKind } from './store.js';

const m = defineMessages({
  en: {
    keychain: 'the system keychain (macOS Keychain, Windows Credential Manager, Secret Service on Linux)',
    file: 'an encrypted file in the erp-sync home, unlocked by {passphraseVariable}, {keyFileVariable} or the key file secrets.key beside it',
    systemd: 'systemd credentials (LoadCredentialEncrypted=) of the erp-sync service; read-only',
    env: 'ERP_SYNC_<CONNECTION>_<FIELD> environment variables; read-only',
    unsupported: 'unsupported secret store: "{store}"',
    unsupportedHint: 'Use one of: {kinds}.',
    hostedOnly: 'the "database" secret store is hosted mode\'s: its secrets are read by `erp-sync worker` and the `erp-sync hosted` commands, under a tenant',
    hostedOnlyHint: 'Use `erp-sync hosted ... --tenant T`, or connect this machine\'s connection with --secret-store {kinds}.',
  },
  tr: {
    keychain: "sistem anahtar zinciri (macOS Anahtar Zinciri, Windows Kimlik Bilgisi Yöneticisi, Linux'ta Secret Service)",
    file: 'erp-sync klasöründe, {passphraseVariable}, {keyFileVariable} ya da yanındaki secrets.key anahtar dosyasıyla açılan şifreli bir dosya',
    systemd: 'erp-sync servisinin systemd kimlik bilgileri (LoadCredentialEncrypted=); salt okunur',
    env: 'ERP_SYNC_<BAĞLANTI>_<ALAN> ortam değişkenleri; salt okunur',
    unsupported: 'desteklenmeyen gizli bilgi deposu: "{store}"',
    unsupportedHint: 'Şunlardan birini kullanın: {kinds}.',
    hostedOnly: '"database" gizli bilgi deposu barındırılan kipe aittir: gizli bilgilerini bir kiracı altında `erp-sync worker` ve `erp-sync hosted` komutları okur',
    hostedOnlyHint: '`erp-sync hosted ... --tenant K` kullanın ya da bu makinenin bağlantısını --secret-store {kinds} ile bağlayın.',
  },
});

/** What `doctor` and `connections` show for each kind, in the current language (so a later `--lang` still applies). */
export function listSecretStoreKinds(): Array<{ kind: SecretStoreKind; description: string }> {
  return secretStoreKinds.map((kind) => ({ kind, description: m(kind, { passphraseVariable: PASSPHRASE_VARIABLE, keyFileVariable: KEY_FILE_VARIABLE }) }));
}

/** The file store keeps everything in `<home>/secrets.enc`; the key file `connect` offers to create is `<home>/secrets.key`. */
export function openSecretStore(kind: SecretStoreKind, options: { home: string; env?: NodeJS.ProcessEnv }): SecretStore {
  const env = options.env ?? process.env;
  switch (kind) {
    case 'keychain':
      return new KeychainSecretStore();
    case 'file':
      return new FileSecretStore({ path: join(options.home, 'secrets.enc'), defaultKeyFile: join(options.home, 'secrets.key'), env });
    case 'systemd':
      return new SystemdSecretStore(env);
    case 'env':
      return new EnvSecretStore(env);
    case 'database':
      throw new UserError(m('hostedOnly'), { code: 'SECRETS_HOSTED_ONLY', exitCode: ExitCode.config, hint: m('hostedOnlyHint', { kinds: secretStoreKinds.join('|') }) });
    default:
      // A kind read from a hand-edited config is not checked by the compiler.
      throw new UserError(m('unsupported', { store: String(kind) }), {
        code: 'SECRETS_UNKNOWN_STORE',
        exitCode: ExitCode.config,
        hint: m('unsupportedHint', { kinds: secretStoreKinds.join(', ') }),
      });
  }
}
