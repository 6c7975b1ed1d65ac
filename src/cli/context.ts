import { ConfigStore } from '../config/config.js';
import { ensureHome, paths, resolveHome } from '../config/home.js';
import { checkFreshness } from '../engine/alerts.js';
import { openDatabase } from '../store/db.js';
import type { SqliteDb } from '../store/db.js';
import { openSecretStore } from '../secrets/index.js';
import type { SecretStore, SecretStoreKind } from '../secrets/store.js';

/** What every command that touches state needs: the home directory, config, database and secret stores. */
export interface CliContext {
  home: string;
  config: ConfigStore;
  db(): SqliteDb;
  secretStore(kind: SecretStoreKind): SecretStore;
  close(): void;
}

export function openContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  const home = ensureHome(resolveHome(env));
  const config = new ConfigStore(home);
  let db: SqliteDb | undefined;
  let freshness: Promise<void> | undefined;
  const stores = new Map<SecretStoreKind, SecretStore>();
  const secretStore = (kind: SecretStoreKind): SecretStore => {
    let store = stores.get(kind);
    if (!store) {
      store = openSecretStore(kind, { home, env });
      stores.set(kind, store);
    }
    return store;
  };
  return {
    home,
    config,
    db: () => {
      if (!db) {
        db = openDatabase(paths.database(home));
        // A dead timer runs nothing, so every command that opens the database looks for connections that stopped syncing.
        freshness = checkFreshness(db, config.connections(), new Date(), config.targets(), secretStore);
      }
      return db;
    },
    secretStore,
    close() {
      // Alert notifications the freshness check started are recorded before the database closes.
      if (freshness) void freshness.finally(() => db?.close());
      else db?.close();
    },
  };
}
