import { writeFileSync } from 'atomically';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import type { SecretStoreKind } from '../secrets/store.js';
import type { TargetKind } from '../marketplace/target.js';

const m = defineMessages({
  en: {
    unreadable: 'cannot read the settings file {path}: {reason}',
    unreadableHint: 'Run erp-sync as the user that owns its home directory, or fix the file\'s permissions.',
    broken: 'the settings file {path} is not valid JSON: {reason}',
    brokenHint: 'Fix it by hand, or restore it from a backup; nothing else reads or writes it while it is broken.',
  },
  tr: {
    unreadable: '{path} ayar dosyası okunamıyor: {reason}',
    unreadableHint: "erp-sync'i ana dizininin sahibi olan kullanıcıyla çalıştırın ya da dosyanın izinlerini düzeltin.",
    broken: '{path} ayar dosyası geçerli bir JSON değil: {reason}',
    brokenHint: 'Elle düzeltin ya da yedekten geri yükleyin; bozuk kaldıkça hiçbir komut onu okumaz ve üzerine yazmaz.',
  },
});

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
  targets: Record<string, TargetConfig>;
  connections: Record<string, ConnectionConfig>;
}

/** The offer API's name as a target, in secret stores and environment variables (ERP_SYNC_MARKETPLACE_TOKEN). */
export const MARKETPLACE = 'marketplace';

/**
 * Where the connections and targets are read from: config.json for the
 * agent, a tenant's rows in PostgreSQL in hosted mode (`store/tenants.ts`).
 * The web page and the read models take either.
 */
export interface ConnectionCatalog {
  connections(): ConnectionConfig[];
  connection(name: string): ConnectionConfig | undefined;
  targets(): TargetConfig[];
  target(name: string): TargetConfig | undefined;
  /** The targets a connection feeds: those it names, else every one. */
  targetsOf(connection: ConnectionConfig, all?: readonly TargetConfig[]): TargetConfig[];
}

/** The targets a connection feeds, out of every target: those it names, else all of them. */
export function targetsFed(connection: ConnectionConfig, all: readonly TargetConfig[]): TargetConfig[] {
  return connection.targets === undefined ? [...all] : all.filter((t) => connection.targets!.includes(t.name));
}

/**
 * Non-secret settings in `config.json` under the home directory (mode 0600).
 * Read anew on every access, so a long-running `serve` sees what `connect`
 * saved; written whole through a temporary file and a rename (atomically,
 * which also rides out the moments Windows holds a file open elsewhere), so
 * a crash leaves the old file or the new one, never half of one.
 */
export class ConfigStore implements ConnectionCatalog {
  readonly path: string;
  #migrationTried = false;

  constructor(home: string) {
    this.path = join(home, 'config.json');
  }

  /** Every target, by name. */
  targets(): TargetConfig[] {
    return Object.values(this.#read().targets).sort((a, b) => a.name.localeCompare(b.name));
  }

  target(name: string): TargetConfig | undefined {
    const targets = this.#read().targets;
    return Object.hasOwn(targets, name) ? targets[name] : undefined;
  }

  saveTarget(value: TargetConfig): void {
    const config = this.#read();
    this.#write({ ...config, targets: { ...config.targets, [value.name]: value } });
  }

  removeTarget(name: string): boolean {
    const config = this.#read();
    if (!Object.hasOwn(config.targets, name)) return false;
    const targets = { ...config.targets };
    delete targets[name];
    this.#write({ ...config, targets });
    return true;
  }

  /** The targets a connection feeds: those it names, else every one; `all` saves reading them again in a loop. */
  targetsOf(connection: ConnectionConfig, all: readonly TargetConfig[] = this.targets()): TargetConfig[] {
    return targetsFed(connection, all);
  }

  connections(): ConnectionConfig[] {
    return Object.values(this.#read().connections).sort((a, b) => a.name.localeCompare(b.name));
  }

  connection(name: string): ConnectionConfig | undefined {
    const connections = this.#read().connections;
    return Object.hasOwn(connections, name) ? connections[name] : undefined;
  }

  saveConnection(value: ConnectionConfig): void {
    const config = this.#read();
    this.#write({ ...config, connections: { ...config.connections, [value.name]: value } });
  }

  removeConnection(name: string): boolean {
    const config = this.#read();
    if (!Object.hasOwn(config.connections, name)) return false;
    const connections = { ...config.connections };
    delete connections[name];
    this.#write({ ...config, connections });
    return true;
  }

  /**
   * The file as it stands. The offer API configured before targets existed
   * (`marketplace`) becomes the target of that name, with the same secrets.
   */
  #read(): ConfigShape {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { connections: {}, targets: {} };
      throw new UserError(m('unreadable', { path: this.path, reason: errorMessage(error) }), { code: 'CONFIG_UNREADABLE', exitCode: ExitCode.config, hint: m('unreadableHint'), cause: error });
    }
    let parsed: Partial<ConfigShape & { marketplace: LegacyMarketplace }>;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (error) {
      throw new UserError(m('broken', { path: this.path, reason: errorMessage(error) }), { code: 'CONFIG_INVALID', exitCode: ExitCode.config, hint: m('brokenHint'), cause: error });
    }
    const { marketplace: legacy, ...rest } = parsed;
    const targets = { ...rest.targets };
    if (legacy && !Object.hasOwn(targets, MARKETPLACE)) targets[MARKETPLACE] = { name: MARKETPLACE, kind: 'offer-api', ...legacy };
    const config = { ...rest, connections: rest.connections ?? {}, targets };
    // Stored so once, by the first command that may write it; until then it reads so all the same. Tried once per
    // store: a home this process may not write would cost a blocked retry on every read.
    if (legacy && !this.#migrationTried) {
      this.#migrationTried = true;
      try {
        this.#write(config);
      } catch {
        // A read-only home (a `serve` under another user): the next command that saves settings stores it.
      }
    }
    return config;
  }

  #write(config: ConfigShape): void {
    writeFileSync(this.path, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
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
