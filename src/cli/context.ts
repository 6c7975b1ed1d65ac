import { ConfigStore } from '../config/config.js';
import { ensureHome, paths, resolveHome } from '../config/home.js';
import { openDatabase } from '../store/db.js';
import type { Db } from '../store/db.js';
import { openSecretStore } from '../secrets/index.js';
import type { SecretStore, SecretStoreKind } from '../secrets/store.js';

/** What every command that touches state needs: the home directory, config, database and secret stores. */
export interface CliContext {
  home: string;
  config: ConfigStore;
  db(): Db;
  secretStore(kind: SecretStoreKind): SecretStore;
  close(): void;
}

export function openContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  const home = ensureHome(resolveHome(env));
  const config = new ConfigStore(home);
  let db: Db | undefined;
  const stores = new Map<SecretStoreKind, SecretStore>();
  return {
    home,
    config,
    db: () => (db ??= openDatabase(paths.database(home))),
    secretStore(kind) {
      let store = stores.get(kind);
      if (!store) {
        store = openSecretStore(kind, { home, env });
        stores.set(kind, store);
      }
      return store;
    },
    close() {
      db?.close();
    },
  };
}
