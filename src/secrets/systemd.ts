import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { trimFinalNewline } from './file.js';
import { registerSecret } from './redact.js';
import type { SecretStore } from './store.js';

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
      throw new UserError(`"${part}" cannot be part of a systemd credential name: only letters, digits, "_" and "-" are allowed`, {
        code: 'SECRETS_INVALID_NAME',
        exitCode: ExitCode.usage,
        hint: 'Rename the connection, or use --secret-store keychain|file|env for it.',
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
      content = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new UserError(`cannot read the systemd credential ${path}: ${errorMessage(error)}`, {
        code: 'SECRETS_SYSTEMD_UNREADABLE',
        exitCode: ExitCode.config,
        hint: 'Run erp-sync as the User= of the unit that loads the credential.',
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
    throw new UserError(`the systemd secret store is read-only: add ${field} of ${connection} as the credential ${name}`, {
      code: 'SECRETS_SYSTEMD_READ_ONLY',
      exitCode: ExitCode.config,
      hint: `${addCredentialCommand(name)}, then add \`LoadCredentialEncrypted=${name}:${CREDSTORE}/${name}\` to the [Service] section of the unit and restart it.`,
    });
  }

  /** Nothing to do when the credential is absent; a present one only systemd can remove. */
  async delete(connection: string, field: string): Promise<void> {
    const name = systemdCredentialName(connection, field);
    if ((await this.get(connection, field)) === undefined) return;
    throw new UserError(`the systemd secret store is read-only: the credential ${name} cannot be deleted from here`, {
      code: 'SECRETS_SYSTEMD_READ_ONLY',
      exitCode: ExitCode.config,
      hint: `Remove the LoadCredential/LoadCredentialEncrypted=${name} line from the unit, delete ${CREDSTORE}/${name} and restart the unit.`,
    });
  }

  async unavailableReason(): Promise<string | undefined> {
    const directory = this.#env.CREDENTIALS_DIRECTORY;
    if (!directory) {
      const error = unavailable();
      return `${error.message}. ${error.hint}`;
    }
    const isDirectory = await stat(directory).then(
      (stats) => stats.isDirectory() || 'it is not a directory',
      (error: unknown) => errorMessage(error),
    );
    return isDirectory === true ? undefined : `CREDENTIALS_DIRECTORY (${directory}) cannot be used: ${isDirectory}. Start erp-sync from its systemd unit.`;
  }

  #directory(): string {
    const directory = this.#env.CREDENTIALS_DIRECTORY;
    if (!directory) throw unavailable();
    return directory;
  }
}

function unavailable(): UserError {
  return new UserError('the systemd secret store is unavailable: CREDENTIALS_DIRECTORY is not set, so erp-sync is not running in a systemd service with LoadCredential= or LoadCredentialEncrypted=', {
    code: 'SECRETS_SYSTEMD_UNAVAILABLE',
    exitCode: ExitCode.config,
    hint: 'Run erp-sync from its systemd unit, or use --secret-store keychain|file|env.',
  });
}

/** Asks for the value without echo or shell history, and without a final newline. */
function addCredentialCommand(name: string): string {
  return `run as root: \`mkdir -p -m 700 ${CREDSTORE} && systemd-ask-password -n "${name}:" | systemd-creds encrypt --name=${name} - ${CREDSTORE}/${name}\``;
}
