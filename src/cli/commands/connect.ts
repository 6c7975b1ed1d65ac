import { drivers, findDriver } from '../../../drivers/index.js';
import { MARKETPLACE, checkConnectionName } from '../../config/config.js';
import type { ConnectionConfig } from '../../config/config.js';
import { ExitCode, UserError } from '../../errors/index.js';
import { envVarName } from '../../secrets/store.js';
import type { SecretStoreKind } from '../../secrets/store.js';
import { t } from '../../i18n/index.js';
import { openContext } from '../context.js';
import { createOutput } from '../output.js';

export interface ConnectOptions {
  name?: string;
  baseUrl?: string;
  set?: string[];
  secretStore?: string;
  json?: boolean;
}

/** Settings every ERP connection understands, beside its driver's own fields. */
export const engineSettings = ['concurrency', 'rateLimit', 'retries', 'retryMinDelayMs', 'timeoutMs', 'massVanishPercent'] as const;
/** Settings of the marketplace connection. */
export const marketplaceSettings = ['batchSize', 'retries', 'retryMinDelayMs', 'timeoutMs', 'maxConsecutiveFailures'] as const;
const numericSettings = new Set(['concurrency', 'retries', 'retryMinDelayMs', 'timeoutMs', 'massVanishPercent', 'batchSize', 'maxConsecutiveFailures']);
const secretStores: readonly SecretStoreKind[] = ['env', 'keychain', 'file', 'systemd'];

/** `erp-sync connect <driver|marketplace>`, without prompts: everything from flags, secrets from the store at run time. */
export async function connectCommand(target: string, options: ConnectOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const secretStore = parseSecretStore(options.secretStore);
  const baseUrl = options.baseUrl === undefined ? undefined : checkUrl(options.baseUrl);
  const ctx = openContext();
  try {
    if (target === MARKETPLACE) {
      if (!baseUrl) throw missing(['--base-url (the marketplace API address)']);
      const settings = parseSettings(options.set ?? [], marketplaceSettings, new Set(), 'the marketplace');
      ctx.config.setMarketplace({ baseUrl, settings, secretStore });
      const store = secretStore === 'env' ? t('connect.envHint', { vars: envVarName(MARKETPLACE, 'token') }) : secretStore;
      if (out.json) out.document({ marketplace: { baseUrl, settings, secretStore } });
      else out.line(t('connect.marketplaceSaved', { url: baseUrl, store }));
      return ExitCode.ok;
    }

    const driver = findDriver(target);
    if (!driver) {
      throw new UserError(`there is no driver or target named "${target}"`, {
        code: 'UNKNOWN_DRIVER',
        exitCode: ExitCode.usage,
        hint: `Choose one of: ${[...drivers.keys(), MARKETPLACE].join(', ')}.`,
      });
    }
    const name = options.name ?? driver.id;
    const problem = checkConnectionName(name);
    if (problem) throw new UserError(problem, { code: 'BAD_NAME', exitCode: ExitCode.usage });
    const secretFields = new Set(driver.fields.filter((f) => f.secret).map((f) => f.name));
    const allowed = [...driver.fields.filter((f) => !f.secret).map((f) => f.name), ...engineSettings];
    const settings = parseSettings(options.set ?? [], allowed, secretFields, `driver ${driver.id}`);
    const absent = driver.fields.filter((f) => !f.secret && f.required && f.default === undefined && !(f.name in settings)).map((f) => `--set ${f.name}=… (${f.label})`);
    if (!driver.local && !baseUrl && !driver.defaultBaseUrl) absent.unshift('--base-url (the ERP API address)');
    if (absent.length > 0) throw missing(absent);

    const now = new Date().toISOString();
    const existing = ctx.config.connection(name);
    const connection: ConnectionConfig = {
      name,
      driver: driver.id,
      baseUrl,
      settings,
      secretStore,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    ctx.config.saveConnection(connection);
    const vars = driver.fields.filter((f) => f.secret).map((f) => envVarName(name, f.name)).join(', ');
    const store = secretStore === 'env' ? t('connect.envHint', { vars }) : secretStore;
    if (out.json) out.document({ connection });
    else out.line(t('connect.saved', { name, driver: driver.name, store }));
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}

function parseSecretStore(value: string | undefined): SecretStoreKind {
  if (value === undefined) return 'env';
  if ((secretStores as readonly string[]).includes(value)) return value as SecretStoreKind;
  throw new UserError(`unknown secret store "${value}"`, { code: 'BAD_SECRET_STORE', exitCode: ExitCode.usage, hint: `Choose one of: ${secretStores.join(', ')}.` });
}

function checkUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`"${value}" is not a URL`, { code: 'BAD_URL', exitCode: ExitCode.usage, hint: 'Give the full address, e.g. https://erp.example.com/api.' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`"${value}" must start with http:// or https://`, { code: 'BAD_URL', exitCode: ExitCode.usage });
  }
  if (url.username || url.password) {
    throw new UserError('the URL must not contain a user name or password', { code: 'BAD_URL', exitCode: ExitCode.usage, hint: 'Credentials belong in the secret store.' });
  }
  return url.href.replace(/\/$/, '');
}

function parseSettings(pairs: readonly string[], allowed: readonly string[], secrets: ReadonlySet<string>, owner: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at) : '';
    const value = pair.slice(at + 1);
    if (!key) throw new UserError(`--set "${pair}" is not of the form field=value`, { code: 'BAD_SETTING', exitCode: ExitCode.usage });
    if (secrets.has(key)) {
      throw new UserError(`"${key}" is a secret and is never stored in the config`, {
        code: 'SECRET_IN_SETTINGS', exitCode: ExitCode.usage, hint: 'Put it in the secret store (for --secret-store env: the environment variable named by `erp-sync drivers`).',
      });
    }
    if (!allowed.includes(key)) {
      throw new UserError(`${owner} has no setting "${key}"`, { code: 'UNKNOWN_SETTING', exitCode: ExitCode.usage, hint: `Settings: ${allowed.join(', ')}.` });
    }
    if (numericSettings.has(key) && !/^\d+$/.test(value)) {
      throw new UserError(`setting ${key} must be a whole number, not "${value}"`, { code: 'BAD_SETTING', exitCode: ExitCode.usage });
    }
    settings[key] = value;
  }
  return settings;
}

function missing(what: string[]): UserError {
  return new UserError(`missing: ${what.join('; ')}`, { code: 'MISSING_VALUES', exitCode: ExitCode.config, hint: 'Give them as flags.' });
}
