import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { FileSecretStore } from '../../src/secrets/file.js';
import { runCli } from '../support/cli.js';
import type { CliResult } from '../support/cli.js';

export const ERP_KEY = 'erp-Key-Ünlü-7391';
export const MARKET_TOKEN = 'market-Token-Ölçü-5521';
export const PASSPHRASE = 'passphrase-Kilit-0042';

export interface Shop {
  home: string;
  /** Holds files outside ERP_SYNC_HOME (secret files given with --secret-file). */
  scratch: string;
  erp: SandboxErp;
  marketplace: SandboxMarketplace;
  /** The CLI's environment: its own home, the file store's passphrase, English, no colours, no D-Bus. */
  env: NodeJS.ProcessEnv;
  cli(args: readonly string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** A secret file with mode 0600 outside the home. */
  secretFile(name: string, value: string): string;
  /** Reads the file store the way a run does. */
  fileSecret(connection: string, field: string): Promise<string | undefined>;
  config(): { connections?: Record<string, { secretStore: string; baseUrl?: string; settings: Record<string, string> }>; targets?: Record<string, { baseUrl: string; secretStore: string }> };
  count(table: string, connection: string): number;
  close(): Promise<void>;
}

export async function createShop(products = 30): Promise<Shop> {
  const home = mkdtempSync(join(tmpdir(), 'erp-sync-connect-'));
  const scratch = mkdtempSync(join(tmpdir(), 'erp-sync-connect-files-'));
  const erp = await new SandboxErp({ products, apiKey: ERP_KEY }).start();
  const marketplace = await new SandboxMarketplace({ token: MARKET_TOKEN }).start();
  const env = { ERP_SYNC_HOME: home, ERP_SYNC_PASSPHRASE: PASSPHRASE, NO_COLOR: '1', LANG: 'C' };
  return {
    home,
    scratch,
    erp,
    marketplace,
    env,
    cli: (args, extraEnv = {}) => runCli(args, { ...env, ...extraEnv }),
    secretFile(name, value) {
      const path = join(scratch, name);
      writeFileSync(path, `${value}\n`, { mode: 0o600 });
      return path;
    },
    fileSecret: (connection, field) => new FileSecretStore({ path: join(home, 'secrets.enc'), defaultKeyFile: join(home, 'secrets.key'), env: { ERP_SYNC_PASSPHRASE: PASSPHRASE } }).get(connection, field),
    config() {
      try {
        return JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'));
      } catch {
        return {};
      }
    },
    count(table, connection) {
      const db = new Database(join(home, 'erp-sync.db'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE connection = ?`).get(connection) as { n: number }).n;
      } finally {
        db.close();
      }
    },
    async close() {
      await Promise.all([erp.close(), marketplace.close()]);
      rmSync(home, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
