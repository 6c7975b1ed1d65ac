import { mkdirSync, chmodSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Everything erp-sync keeps (config, database, locks) lives under one
 * directory: `ERP_SYNC_HOME`, or the platform's per-user data directory.
 */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ERP_SYNC_HOME) return env.ERP_SYNC_HOME;
  switch (process.platform) {
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'erp-sync');
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'erp-sync');
    default:
      return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'erp-sync');
  }
}

/** Creates the home directory readable by its owner only. */
export function ensureHome(home: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32' && (statSync(home).mode & 0o077) !== 0) chmodSync(home, 0o700);
  return home;
}

export const paths = {
  database: (home: string) => join(home, 'erp-sync.db'),
  locks: (home: string) => join(home, 'locks'),
};
