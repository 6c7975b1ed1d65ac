import { defineMessages } from '../i18n/index.js';

const m = defineMessages({
  en: { envReadOnly: 'the env secret store is read-only: set {variable} yourself, or use --secret-store keychain|file|systemd' },
  tr: { envReadOnly: 'env gizli bilgi deposu salt okunurdur: {variable} değişkenini kendiniz tanımlayın ya da --secret-store keychain|file|systemd kullanın' },
});

/**
 * Where a connection's secret fields live. A connection names its store in
 * the config (`secretStore`); the value itself never touches the config file,
 * the database, a log or any output.
 */
export interface SecretStore {
  /** `env`, `keychain`, `file`, `systemd`: what `connections` and `doctor` show. */
  readonly kind: SecretStoreKind;
  /** Reads one field of one connection; undefined when it is not set. */
  get(connection: string, field: string): Promise<string | undefined>;
  /** Writes one field (connect, and tokens an ERP rotates). */
  set(connection: string, field: string, value: string): Promise<void>;
  /** Removes one field; a missing one is not an error. */
  delete(connection: string, field: string): Promise<void>;
  /** A one-line answer to "can this store be used here?", or undefined when it can. */
  unavailableReason(): Promise<string | undefined>;
}

/** The stores an agent keeps its secrets in, which `connect` offers. */
type AgentSecretStoreKind = 'env' | 'keychain' | 'file' | 'systemd';

/** Those, and hosted mode's: each tenant's secrets sealed in PostgreSQL (`secrets/database.ts`), which only hosted commands open. */
export type SecretStoreKind = AgentSecretStoreKind | 'database';

/** Every agent kind, in the order to prefer them; the compiler checks that none is missing. */
export const secretStoreKinds = Object.keys({ keychain: 0, file: 0, systemd: 0, env: 0 } satisfies Record<AgentSecretStoreKind, 0>) as readonly AgentSecretStoreKind[];

/** `ERP_SYNC_<CONNECTION>_<FIELD>` in upper snake case: shop + password → ERP_SYNC_SHOP_PASSWORD. */
export function envVarName(connection: string, field: string): string {
  const snake = (s: string) =>
    s
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .toUpperCase();
  return `ERP_SYNC_${snake(connection)}_${snake(field)}`;
}

/** Secrets from environment variables: read-only, for scripts, containers and tests. */
export class EnvSecretStore implements SecretStore {
  readonly kind = 'env' as const;
  readonly #env: NodeJS.ProcessEnv;
  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env;
  }
  async get(connection: string, field: string): Promise<string | undefined> {
    const value = this.#env[envVarName(connection, field)];
    return value === undefined || value === '' ? undefined : value;
  }
  async set(connection: string, field: string): Promise<void> {
    // A rotated token cannot be written back into the parent's environment.
    throw new Error(m('envReadOnly', { variable: envVarName(connection, field) }));
  }
  async delete(): Promise<void> {}
  async unavailableReason(): Promise<string | undefined> {
    return undefined;
  }
}

/** The stores erp-sync can write into; the others are filled by the person running it (environment, systemd unit). */
export const writableStores: ReadonlySet<SecretStoreKind> = new Set(['keychain', 'file']);
