import Conf from 'conf';
import type { SecretStoreKind } from '../secrets/store.js';

/** An ERP connection: which driver, where, and its non-secret settings. Secrets live in `secretStore`. */
export interface ConnectionConfig {
  name: string;
  driver: string;
  baseUrl?: string | undefined;
  settings: Record<string, string>;
  secretStore: SecretStoreKind;
  createdAt: string;
  updatedAt: string;
}

/** The marketplace's offer API. The token lives in `secretStore` (field `token`). */
export interface MarketplaceConfig {
  baseUrl: string;
  settings: Record<string, string>;
  secretStore: SecretStoreKind;
}

interface ConfigShape {
  marketplace?: MarketplaceConfig;
  connections: Record<string, ConnectionConfig>;
}

/** The marketplace's own name in secret stores and environment variables (ERP_SYNC_MARKETPLACE_TOKEN). */
export const MARKETPLACE = 'marketplace';

/**
 * Non-secret settings in `config.json` under the home directory (mode 0600),
 * through conf, which writes atomically.
 */
export class ConfigStore {
  readonly #conf: Conf<ConfigShape>;

  constructor(home: string) {
    this.#conf = new Conf<ConfigShape>({
      cwd: home,
      configName: 'config',
      projectName: 'erp-sync',
      projectSuffix: '',
      configFileMode: 0o600,
      defaults: { connections: {} },
      accessPropertiesByDotNotation: false,
    });
  }

  get path(): string {
    return this.#conf.path;
  }

  marketplace(): MarketplaceConfig | undefined {
    return this.#conf.get('marketplace');
  }

  setMarketplace(value: MarketplaceConfig): void {
    this.#conf.set('marketplace', value);
  }

  removeMarketplace(): void {
    this.#conf.delete('marketplace');
  }

  connections(): ConnectionConfig[] {
    return Object.values(this.#conf.get('connections')).sort((a, b) => a.name.localeCompare(b.name));
  }

  connection(name: string): ConnectionConfig | undefined {
    return this.#conf.get('connections')[name];
  }

  saveConnection(value: ConnectionConfig): void {
    this.#conf.set('connections', { ...this.#conf.get('connections'), [value.name]: value });
  }

  removeConnection(name: string): boolean {
    const all = { ...this.#conf.get('connections') };
    if (!(name in all)) return false;
    delete all[name];
    this.#conf.set('connections', all);
    return true;
  }
}

/** Connection names become file names, env var names and keychain accounts: keep them plain. */
export function checkConnectionName(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/i.test(name)) {
    return `connection name "${name}" must be 1-40 letters, digits, "-" or "_", starting with a letter or digit`;
  }
  if (name.toLowerCase() === MARKETPLACE) return `"${MARKETPLACE}" is reserved for the marketplace connection`;
  return undefined;
}
