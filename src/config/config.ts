import Conf from 'conf';
import type { SecretStoreKind } from '../secrets/store.js';
import type { TargetKind } from '../marketplace/target.js';

/** An ERP connection: which driver, where, and its non-secret settings. Secrets live in `secretStore`. */
export interface ConnectionConfig {
  name: string;
  driver: string;
  baseUrl?: string | undefined;
  settings: Record<string, string>;
  secretStore: SecretStoreKind;
  /** The targets this connection feeds, by name; every target when undefined. */
  targets?: string[] | undefined;
  createdAt: string;
  updatedAt: string;
}

/**
 * A marketplace erp-sync delivers offers to: the offer API
 * (docs/offer-api.openapi.yaml), Trendyol, Hepsiburada or N11. Its secrets
 * live in `secretStore` under the target's name, like a connection's.
 */
export interface TargetConfig {
  name: string;
  kind: TargetKind;
  baseUrl: string;
  /** The adapter's own fields (sellerId, merchantId) and the delivery settings of src/settings/schema.ts. */
  settings: Record<string, string>;
  secretStore: SecretStoreKind;
  createdAt?: string | undefined;
  updatedAt?: string | undefined;
}

/** Before targets, the one offer API lived under `marketplace`; it is the target of that name now. */
interface LegacyMarketplace {
  baseUrl: string;
  settings: Record<string, string>;
  secretStore: SecretStoreKind;
}

interface ConfigShape {
  marketplace?: LegacyMarketplace;
  targets: Record<string, TargetConfig>;
  connections: Record<string, ConnectionConfig>;
}

/** The offer API's name as a target, in secret stores and environment variables (ERP_SYNC_MARKETPLACE_TOKEN). */
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
      defaults: { connections: {}, targets: {} },
      accessPropertiesByDotNotation: false,
    });
    const legacy = this.#conf.get('marketplace');
    if (legacy) {
      // The offer API configured before targets existed: the same secrets, under the same name.
      if (!this.#conf.get('targets')[MARKETPLACE]) this.saveTarget({ name: MARKETPLACE, kind: 'offer-api', ...legacy });
      this.#conf.delete('marketplace');
    }
  }

  get path(): string {
    return this.#conf.path;
  }

  /** Every target, by name. */
  targets(): TargetConfig[] {
    return Object.values(this.#conf.get('targets')).sort((a, b) => a.name.localeCompare(b.name));
  }

  target(name: string): TargetConfig | undefined {
    return this.#conf.get('targets')[name];
  }

  saveTarget(value: TargetConfig): void {
    this.#conf.set('targets', { ...this.#conf.get('targets'), [value.name]: value });
  }

  removeTarget(name: string): boolean {
    const all = { ...this.#conf.get('targets') };
    if (!(name in all)) return false;
    delete all[name];
    this.#conf.set('targets', all);
    return true;
  }

  /** The targets a connection feeds: those it names, else every one. */
  targetsOf(connection: ConnectionConfig): TargetConfig[] {
    const all = this.targets();
    return connection.targets === undefined ? all : all.filter((t) => connection.targets!.includes(t.name));
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

/**
 * Connection and target names become file names, env var names and keychain
 * accounts, in one namespace: keep them plain and apart.
 */
export function checkConnectionName(name: string, targets: readonly string[] = []): string | undefined {
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/i.test(name)) {
    return `connection name "${name}" must be 1-40 letters, digits, "-" or "_", starting with a letter or digit`;
  }
  if (name.toLowerCase() === MARKETPLACE) return `"${MARKETPLACE}" is reserved for the marketplace connection`;
  if (targets.some((t) => t.toLowerCase() === name.toLowerCase())) return `"${name}" is already the name of a marketplace target`;
  return undefined;
}

/** A target's name: the same rules as a connection's, and never one a connection has. */
export function checkTargetName(name: string, connections: readonly string[]): string | undefined {
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/i.test(name)) {
    return `target name "${name}" must be 1-40 letters, digits, "-" or "_", starting with a letter or digit`;
  }
  if (connections.some((c) => c.toLowerCase() === name.toLowerCase())) return `"${name}" is already the name of an ERP connection`;
  return undefined;
}
