import { join } from 'node:path';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { trimFinalNewline } from './file.js';
import { registerSecret } from './redact.js';
import type { SecretStore } from './store.js';

const m = defineMessages({
  en: {
    invalidName: '"{part}" cannot be part of a systemd credential name: only letters, digits, "_" and "-" are allowed',
    invalidNameHint: 'Rename the connection, or use --secret-store keychain|file|env for it.',
    unreadable: 'cannot read the systemd credential {path}: {reason}',
    unreadableHint: 'Run erp-sync as the User= of the unit that loads the credential.',
    readOnlySet: 'the systemd secret store is read-only: add {field} of {connection} as the credential {name}',
    readOnlySetHint: '{addCommand}, then add `LoadCredentialEncrypted={name}:{credstore}/{name}` to the [Service] section of the unit and restart it.',
    addCommand: 'run as root: `{command}`',
    readOnlyDelete: 'the systemd secret store is read-only: the credential {name} cannot be deleted from here',
    readOnlyDeleteHint: 'Remove the LoadCredential/LoadCredentialEncrypted={name} line from the unit, delete {credstore}/{name} and restart the unit.',
    notADirectory: 'it is not a directory',
    directoryUnusable: 'CREDENTIALS_DIRECTORY ({directory}) cannot be used: {reason}. Start erp-sync from its systemd unit.',
    unavailable:
      'the systemd secret store is unavailable: CREDENTIALS_DIRECTORY is not set, so erp-sync is not running in a systemd service with LoadCredential= or LoadCredentialEncrypted=',
    unavailableHint: 'Run erp-sync from its systemd unit, or use --secret-store keychain|file|env.',
  },
  tr: {
    invalidName: '"{part}" bir systemd kimlik bilgisi adının parçası olamaz: yalnızca harf, rakam, "_" ve "-" kullanılabilir',
    invalidNameHint: 'Bağlantıyı yeniden adlandırın ya da bu bağlantı için --secret-store keychain|file|env kullanın.',
    unreadable: '{path} systemd kimlik bilgisi okunamıyor: {reason}',
    unreadableHint: "erp-sync'i, kimlik bilgisini yükleyen birimin User= kullanıcısıyla çalıştırın.",
    readOnlySet: 'systemd gizli bilgi deposu salt okunurdur: {connection} bağlantısının {field} alanını {name} kimlik bilgisi olarak ekleyin',
    readOnlySetHint: '{addCommand}; ardından birimin [Service] bölümüne `LoadCredentialEncrypted={name}:{credstore}/{name}` satırını ekleyin ve birimi yeniden başlatın.',
    addCommand: 'Root olarak şunu çalıştırın: `{command}`',
    readOnlyDelete: 'systemd gizli bilgi deposu salt okunurdur: {name} kimlik bilgisi buradan silinemez',
    readOnlyDeleteHint: 'Birimden LoadCredential/LoadCredentialEncrypted={name} satırını kaldırın, {credstore}/{name} dosyasını silin ve birimi yeniden başlatın.',
    notADirectory: 'bir klasör değil',
    directoryUnusable: "CREDENTIALS_DIRECTORY ({directory}) kullanılamıyor: {reason}. erp-sync'i kendi systemd biriminden başlatın.",
    unavailable:
      'systemd gizli bilgi deposu kullanılamıyor: CREDENTIALS_DIRECTORY tanımlı değil, yani erp-sync LoadCredential= veya LoadCredentialEncrypted= içeren bir systemd servisinde çalışmıyor',
    unavailableHint: "erp-sync'i kendi systemd biriminden çalıştırın ya da --secret-store keychain|file|env kullanın.",
  },
});

const CREDSTORE = '/etc/credstore.encrypted';
const NAME_PART = /^[A-Za-z0-9_-]+$/;

/**
 * The systemd credential that holds one field of one connection:
 * `erp-sync.<connection>.<field>`, e.g. `erp-sync.shop.password`. The dot
 * separates the parts, so neither part may contain one.
 */
export function systemdCredentialName(connection: string, field: string): string {
  for (const part of [connection, field]) {
    if (!NAME_PART.test(part)) {
      throw new UserError(m('invalidName', { part }), {
        code: 'SECRETS_INVALID_NAME',
        exitCode: ExitCode.usage,
        hint: m('invalidNameHint'),
      });
    }
  }
  return `erp-sync.${connection}.${field}`;
}

/**
 * Secrets that systemd hands to the service (LoadCredential= or
 * LoadCredentialEncrypted=) in $CREDENTIALS_DIRECTORY. Read-only: systemd owns
 * them, and `set` says how to add one. A final newline in a credential is not
 * part of the value.
 */
export class SystemdSecretStore implements SecretStore {
  readonly kind = 'systemd' as const;
  readonly #env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env;
  }

  async get(connection: string, field: string): Promise<string | undefined> {
    const path = join(this.#directory(), systemdCredentialName(connection, field));
    let content: Buffer;
    try {
      content = await process.getBuiltinModule('node:fs/promises').readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new UserError(m('unreadable', { path, reason: errorMessage(error) }), {
        code: 'SECRETS_SYSTEMD_UNREADABLE',
        exitCode: ExitCode.config,
        hint: m('unreadableHint'),
        cause: error,
      });
    }
    const value = trimFinalNewline(content).toString('utf8');
    if (value === '') return undefined;
    registerSecret(value);
    return value;
  }

  async set(connection: string, field: string): Promise<void> {
    const name = systemdCredentialName(connection, field);
    throw new UserError(m('readOnlySet', { field, connection, name }), {
      code: 'SECRETS_SYSTEMD_READ_ONLY',
      exitCode: ExitCode.config,
      hint: m('readOnlySetHint', { addCommand: m('addCommand', { command: addCredentialCommand(name) }), name, credstore: CREDSTORE }),
    });
  }

  /** Nothing to do when the credential is absent; a present one only systemd can remove. */
  async delete(connection: string, field: string): Promise<void> {
    const name = systemdCredentialName(connection, field);
    if ((await this.get(connection, field)) === undefined) return;
    throw new UserError(m('readOnlyDelete', { name }), {
      code: 'SECRETS_SYSTEMD_READ_ONLY',
      exitCode: ExitCode.config,
      hint: m('readOnlyDeleteHint', { name, credstore: CREDSTORE }),
    });
  }

  async unavailableReason(): Promise<string | undefined> {
    const directory = this.#env.CREDENTIALS_DIRECTORY;
    if (!directory) {
      const error = unavailable();
      return `${error.message}. ${error.hint}`;
    }
    const isDirectory = await process.getBuiltinModule('node:fs/promises').stat(directory).then(
      (stats) => stats.isDirectory() || m('notADirectory'),
      (error: unknown) => errorMessage(error),
    );
    return isDirectory === true ? undefined : m('directoryUnusable', { directory, reason: isDirectory });
  }

  #directory(): string {
    const directory = this.#env.CREDENTIALS_DIRECTORY;
    if (!directory) throw unavailable();
    return directory;
  }
}

function unavailable(): UserError {
  return new UserError(m('unavailable'), {
    code: 'SECRETS_SYSTEMD_UNAVAILABLE',
    exitCode: ExitCode.config,
    hint: m('unavailableHint'),
  });
}

/** Asks for the value without echo or shell history, and without a final newline. A command line: the same in every language. */
function addCredentialCommand(name: string): string {
  return `mkdir -p -m 700 ${CREDSTORE} && systemd-ask-password -n "${name}:" | systemd-creds encrypt --name=${name} - ${CREDSTORE}/${name}`;
}
