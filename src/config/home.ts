import { mkdirSync, chmodSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix, win32 } from 'node:path';

/**
 * Everything erp-sync keeps (config, database, locks, the key file) lives
 * under one directory: `ERP_SYNC_HOME`, or the platform's per-user data
 * directory. On Windows that is the local application data
 * (%LOCALAPPDATA%\erp-sync), not the roaming profile: a database and its
 * locks must not follow the user to another PC.
 */
export function resolveHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.ERP_SYNC_HOME) return env.ERP_SYNC_HOME;
  switch (platform) {
    case 'darwin':
      return posix.join(homedir(), 'Library', 'Application Support', 'erp-sync');
    case 'win32':
      return win32.join(env.LOCALAPPDATA || win32.join(env.USERPROFILE || homedir(), 'AppData', 'Local'), 'erp-sync');
    default:
      return posix.join(env.XDG_DATA_HOME || posix.join(homedir(), '.local', 'share'), 'erp-sync');
  }
}

/** Creates the home directory readable by its owner only (on Windows the user's profile folder already is). */
export function ensureHome(home: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32' && (statSync(home).mode & 0o077) !== 0) chmodSync(home, 0o700);
  return home;
}

export const paths = {
  database: (home: string) => join(home, 'erp-sync.db'),
  locks: (home: string) => join(home, 'locks'),
};

/**
 * The demo keeps its own world (config, database, the sandboxes' data) in
 * `demo` under the home, apart from the merchant's connections. Its sandbox
 * ERP, marketplace and Trendyol accept these fixed keys: they guard nothing
 * but generated products on 127.0.0.1, so commands run with `--demo` need no
 * secrets set up.
 */
export const DEMO_KEYS = {
  erp: 'demo-sandbox-erp-key',
  marketplace: 'demo-sandbox-marketplace-token',
  trendyol: { sellerId: '100200', apiKey: 'demo-sandbox-trendyol-key', apiSecret: 'demo-sandbox-trendyol-secret' },
} as const;

export function demoHome(env: NodeJS.ProcessEnv = process.env): string {
  // Under `--demo` the home already is the demo's.
  return env.ERP_SYNC_DEMO === '1' && env.ERP_SYNC_HOME ? env.ERP_SYNC_HOME : join(resolveHome(env), 'demo');
}

/** What `--demo` puts in the environment: the demo's home and its sandboxes' keys, for the command and the runs it starts. */
export function demoEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ERP_SYNC_HOME: demoHome(env),
    ERP_SYNC_DEMO: '1',
    ERP_SYNC_DEMO_API_KEY: DEMO_KEYS.erp,
    ERP_SYNC_MARKETPLACE_TOKEN: DEMO_KEYS.marketplace,
    ERP_SYNC_TRENDYOL_API_KEY: DEMO_KEYS.trendyol.apiKey,
    ERP_SYNC_TRENDYOL_API_SECRET: DEMO_KEYS.trendyol.apiSecret,
  };
}
