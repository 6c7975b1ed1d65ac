import { writeFileSync } from 'atomically';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import type { SecretStoreKind } from '../secrets/store.js';

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
 * Non-secret settings in `config.json` under the home directory (mode 0600).
 * Read anew on every access, so a long-running `serve` sees what `connect`
 * saved; written whole through a temporary file and a rename (atomically,
 * which also rides out the moments Windows holds a file open elsewhere), so
 * a crash leaves the old file or the new one, never half of one.
 */
export class ConfigStore {
  readonly path: string;

  constructor(home: string) {
    this.path = join(home, 'config.json');
  }

  marketplace(): MarketplaceConfig | undefined {
    return this.#read().marketplace;
  }

  setMarketplace(value: MarketplaceConfig): void {
    this.#write({ ...this.#read(), marketplace: value });
  }

  removeMarketplace(): void {
    const { marketplace: _removed, ...rest } = this.#read();
    this.#write(rest);
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

  #read(): ConfigShape {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { connections: {} };
      throw new UserError(m('unreadable', { path: this.path, reason: errorMessage(error) }), { code: 'CONFIG_UNREADABLE', exitCode: ExitCode.config, hint: m('unreadableHint'), cause: error });
    }
    try {
      const parsed = JSON.parse(text) as Partial<ConfigShape>;
      return { ...parsed, connections: parsed.connections ?? {} };
    } catch (error) {
      throw new UserError(m('broken', { path: this.path, reason: errorMessage(error) }), { code: 'CONFIG_INVALID', exitCode: ExitCode.config, hint: m('brokenHint'), cause: error });
    }
  }

  #write(config: ConfigShape): void {
    writeFileSync(this.path, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
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
