import { findDriver, drivers } from '../../../drivers/index.js';
import { MARKETPLACE, checkConnectionName, checkTargetName } from '../../config/config.js';
import type { ConnectionCatalog, ConnectionConfig, TargetConfig } from '../../config/config.js';
import type { Driver, FieldSpec } from '../../driver/contract.js';
import { checkConnection } from '../../engine/check.js';
import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { targetAdapters } from '../../marketplace/targets.js';
import type { TargetKind } from '../../marketplace/target.js';
import { registerSecret } from '../../secrets/redact.js';
import { envVarName } from '../../secrets/store.js';
import { connectionSettings, hostedConnectionSettings, readSettingsForView, storedSecretNames, targetSettings } from '../../settings/schema.js';
import type { SettingSpec } from '../../settings/schema.js';
import { testFailed, testingMessage } from '../connection-test.js';
import { checkFieldValues, erpFields, parseFeeds, parseSettings, targetFields } from '../connect-fields.js';
import { openHosted } from '../hosted.js';
import { createOutput } from '../output.js';
import { fieldLabel } from '../prompts.js';

export interface HostedConnectOptions {
  tenant: string;
  name?: string;
  baseUrl?: string;
  set?: string[];
  targets?: string;
  /** Read secrets from stdin: `field=value` lines, or one JSON object. */
  secretsStdin?: boolean;
  /** False with --no-test. */
  test?: boolean;
  json?: boolean;
}

const m = defineMessages({
  en: {
    unknownTarget: 'there is no driver or target kind named "{target}"',
    chooseOne: 'Choose one of: {list}.',
    missing: 'missing: {what}',
    missingHint: 'Settings go in --set FIELD=VALUE; secrets in the environment (ERP_SYNC_<NAME>_<FIELD>) or on stdin with --secrets-stdin, never on the command line.',
    missingSecret: '{field} ({label}): the environment variable {variable}, or the line {field}=… on stdin with --secrets-stdin',
    missingSetting: '--set {field}=… ({label})',
    missingBaseUrl: '--base-url URL ({label})',
    stdinLine: 'line {line} of stdin is not of the form FIELD=VALUE (the rest is not shown: it may be a secret)',
    stdinJson: 'stdin is not a JSON object of secret fields: {reason}',
    stdinNotSecret: '{owner} has no secret field "{field}"',
    stdinFields: 'Secret fields: {fields}.',
    ownerDriver: 'driver {id}',
    ownerTarget: 'target {name}',
    targetsOnTarget: '--targets chooses the marketplaces an ERP connection feeds; "{name}" is a marketplace target itself',
    unknownTargets: 'tenant "{tenant}" has no marketplace target named {names}',
    unknownTargetsHint: 'Its targets: {known}. Connect one first (erp-sync hosted connect trendyol|hepsiburada|n11|marketplace --tenant {tenant}), or give --targets all.',
    savedConnection: 'Saved connection "{name}" ({title}) of tenant "{tenant}"; its secrets are sealed in PostgreSQL under master key {keyId}.',
    savedTarget: 'Saved marketplace target "{name}" ({title}) of tenant "{tenant}"; its secrets are sealed in PostgreSQL under master key {keyId}.',
    notTested: 'Not tested (--no-test): the worker reads the secrets when it runs the connection.',
    tested: 'The connection works.',
    nextSchedule: 'Next: `erp-sync hosted schedule --tenant {tenant}` runs it every {minutes} minutes; `erp-sync hosted sync --tenant {tenant} {name}` runs it now.',
    marketplace: 'Marketplace',
  },
  tr: {
    unknownTarget: '"{target}" adında bir sürücü ya da hedef türü yok',
    chooseOne: 'Şunlardan birini seçin: {list}.',
    missing: 'eksik: {what}',
    missingHint: 'Ayarlar --set ALAN=DEĞER ile; gizli bilgiler ortamdan (ERP_SYNC_<AD>_<ALAN>) ya da --secrets-stdin ile standart girdiden verilir, asla komut satırından.',
    missingSecret: '{field} ({label}): {variable} ortam değişkeni ya da --secrets-stdin ile standart girdide {field}=… satırı',
    missingSetting: '--set {field}=… ({label})',
    missingBaseUrl: '--base-url URL ({label})',
    stdinLine: 'standart girdinin {line}. satırı ALAN=DEĞER biçiminde değil (gizli bir değer olabileceği için gösterilmiyor)',
    stdinJson: 'standart girdi, gizli alanlardan oluşan bir JSON nesnesi değil: {reason}',
    stdinNotSecret: '{owner} için "{field}" adında gizli bir alan yok',
    stdinFields: 'Gizli alanlar: {fields}.',
    ownerDriver: '{id} sürücüsü',
    ownerTarget: '{name} hedefi',
    targetsOnTarget: '--targets bir ERP bağlantısının beslediği pazaryerlerini seçer; "{name}" zaten bir pazaryeri hedefi',
    unknownTargets: '"{tenant}" kiracısının {names} adında pazaryeri hedefi yok',
    unknownTargetsHint: 'Hedefleri: {known}. Önce bağlayın (erp-sync hosted connect trendyol|hepsiburada|n11|marketplace --tenant {tenant}) ya da --targets all verin.',
    savedConnection: '"{tenant}" kiracısının "{name}" bağlantısı ({title}) kaydedildi; gizli bilgileri PostgreSQL’de {keyId} ana anahtarıyla mühürlendi.',
    savedTarget: '"{tenant}" kiracısının "{name}" pazaryeri hedefi ({title}) kaydedildi; gizli bilgileri PostgreSQL’de {keyId} ana anahtarıyla mühürlendi.',
    notTested: 'Test edilmedi (--no-test): worker bağlantıyı çalıştırırken gizli bilgileri okur.',
    tested: 'Bağlantı çalışıyor.',
    nextSchedule: 'Sıradaki adım: `erp-sync hosted schedule --tenant {tenant}` onu {minutes} dakikada bir çalıştırır; `erp-sync hosted sync --tenant {tenant} {name}` hemen çalıştırır.',
    marketplace: 'Pazaryeri',
  },
});

type Values = Record<string, string>;

interface Subject {
  name: string;
  driver: Driver | undefined;
  kind: TargetKind | undefined;
  title: string;
  fields: FieldSpec[];
  schema: Record<string, SettingSpec<unknown>>;
}

const targetKinds = (): string[] => [MARKETPLACE, ...targetAdapters.map((a) => a.kind)];

/**
 * `erp-sync hosted connect <driver|target kind> --tenant T --name N`: a
 * tenant's ERP connection or marketplace target, validated as `connect`
 * validates one (its fields, the settings schema, a connection test unless
 * --no-test), saved in PostgreSQL with its secrets sealed. Never prompts:
 * settings come from --set, secrets from the environment
 * (ERP_SYNC_<NAME>_<FIELD>) or stdin, never from the command line.
 */
export async function hostedConnectCommand(argument: string, options: HostedConnectOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openHosted(options.tenant);
  try {
    const { config, secrets } = ctx.session;
    const subject = resolve(argument, options.name, config);
    const existing = subject.driver ? config.connection(subject.name) : config.target(subject.name);
    const sameKind = existing && (subject.driver ? (existing as ConnectionConfig).driver === subject.driver.id : (existing as TargetConfig).kind === subject.kind);
    const secretNames = subject.fields.filter((f) => f.secret).map((f) => f.name);
    const owner = subject.driver ? m('ownerDriver', { id: subject.driver.id }) : m('ownerTarget', { name: subject.name });

    // Settings: the fields that are not secrets, and the schema's; what was saved stays unless given again.
    const given = parseSettings(options.set ?? [], subject.fields, owner, subject.schema, 'hosted');
    if (options.baseUrl !== undefined) given.baseUrl = options.baseUrl;
    checkFieldValues(subject.fields, given);
    const previous: Values = sameKind ? { ...existing!.settings, ...(existing!.baseUrl ? { baseUrl: existing!.baseUrl } : {}) } : {};
    const values: Values = { ...previous, ...given };

    // Secrets: stdin over the environment over what is sealed already.
    const fresh = { ...secretsFromEnvironment(subject, secretNames), ...(options.secretsStdin ? secretsFromStdin(await readStdin(), secretNames, owner) : {}) };
    const sealed: Values = {};
    if (sameKind) {
      for (const name of secretNames) {
        if (fresh[name] !== undefined) continue;
        const value = await secrets.get(subject.name, name);
        if (value !== undefined) sealed[name] = value;
      }
    }
    const allSecrets = { ...sealed, ...fresh };

    const absent = missing(subject, values, allSecrets);
    if (absent.length > 0) throw new UserError(m('missing', { what: absent.join('; ') }), { code: 'MISSING_VALUES', exitCode: ExitCode.config, hint: m('missingHint') });

    const feeds = options.targets === undefined ? (sameKind ? (existing as ConnectionConfig).targets : undefined) : feedsOf(subject, options.targets, ctx.tenant, config);
    const { baseUrl, settings } = splitSettings(subject, values);

    const rotated: Values = {};
    let tested = false;
    if (options.test !== false) {
      out.line(testingMessage(subject.driver));
      const failure = await checkConnection({
        driver: subject.driver, kind: subject.kind, name: subject.name, baseUrl, settings, secrets: allSecrets,
        saveSecret: async (field, value) => {
          registerSecret(value);
          rotated[field] = value;
        },
      });
      if (failure) throw testFailed(subject.name, failure);
      tested = true;
      if (!out.json) out.line(m('tested'));
    }

    // Secrets first, then the row, so the row never names secrets that are not there.
    for (const [field, value] of Object.entries(fresh)) await secrets.set(subject.name, field, value);
    // A session kept for other credentials (Paraşüt's refresh token) would log in as whoever they were.
    for (const field of subject.driver?.fields.filter((f) => f.managed) ?? []) {
      if (rotated[field.name] !== undefined) await secrets.set(subject.name, field.name, rotated[field.name]!);
      else if (Object.keys(fresh).length > 0 || !sameKind) await secrets.delete(subject.name, field.name);
    }
    if (existing && !sameKind) {
      // Another driver or kind under the same name: the old one's secrets it does not share go.
      const old = 'driver' in existing ? findDriver(existing.driver)?.fields ?? [] : targetFields(existing.kind);
      for (const field of storedSecretNames(old)) if (!(field in fresh) && !secretNames.includes(field)) await secrets.delete(subject.name, field);
    }
    const now = new Date().toISOString();
    let saved: ConnectionConfig | TargetConfig;
    if (subject.driver) {
      saved = {
        name: subject.name, driver: subject.driver.id, baseUrl, settings, secretStore: 'database', createdAt: existing?.createdAt ?? now, updatedAt: now,
        ...(feeds ? { targets: feeds } : {}),
      };
      config.saveConnection(saved);
    } else {
      saved = { name: subject.name, kind: subject.kind!, baseUrl: baseUrl ?? '', settings, secretStore: 'database', createdAt: existing?.createdAt ?? now, updatedAt: now };
      config.saveTarget(saved);
    }

    if (out.json) {
      out.document(subject.driver ? { tenant: ctx.tenant, connection: saved, tested } : { tenant: ctx.tenant, target: saved, tested });
    } else {
      const names = { tenant: ctx.tenant, name: subject.name, title: subject.title, keyId: secrets.keyId };
      out.line(m(subject.driver ? 'savedConnection' : 'savedTarget', names));
      if (!tested) out.line(m('notTested'));
      if (subject.driver) out.line(m('nextSchedule', { ...names, minutes: readSettingsForView(hostedConnectionSettings, settings).syncEveryMinutes }));
    }
    return ExitCode.ok;
  } finally {
    await ctx.close();
  }
}

/** A driver id or a target kind, or the name of one of the tenant's saved connections or targets. */
function resolve(argument: string, name: string | undefined, config: ReturnType<typeof openHosted>['session']['config']): Subject {
  if (targetKinds().includes(argument)) {
    const kind: TargetKind = argument === MARKETPLACE ? 'offer-api' : (argument as TargetKind);
    const targetName = name ?? argument;
    const problem = checkTargetName(targetName, config.connections().map((c) => c.name));
    if (problem) throw new UserError(problem, { code: 'BAD_NAME', exitCode: ExitCode.usage });
    const adapter = targetAdapters.find((a) => a.kind === kind);
    return { name: targetName, driver: undefined, kind, title: adapter?.name ?? m('marketplace'), fields: targetFields(kind), schema: targetSettings };
  }
  const driver = findDriver(argument);
  if (!driver) {
    if (name === undefined || name === argument) {
      const saved = config.connection(argument);
      if (saved && findDriver(saved.driver)) return resolve(saved.driver, argument, config);
      const target = config.target(argument);
      if (target) return resolve(target.kind === 'offer-api' ? MARKETPLACE : target.kind, argument, config);
    }
    throw new UserError(m('unknownTarget', { target: argument }), { code: 'UNKNOWN_DRIVER', exitCode: ExitCode.usage, hint: m('chooseOne', { list: [...drivers.keys(), ...targetKinds()].join(', ') }) });
  }
  const connectionName = name ?? driver.id;
  const problem = checkConnectionName(connectionName, config.targets().map((t) => t.name));
  if (problem) throw new UserError(problem, { code: 'BAD_NAME', exitCode: ExitCode.usage });
  return { name: connectionName, driver, kind: undefined, title: driver.name, fields: erpFields(driver), schema: { ...connectionSettings, ...hostedConnectionSettings } };
}

/** ERP_SYNC_<NAME>_<FIELD>, as `connect` reads them. */
function secretsFromEnvironment(subject: Subject, secretNames: readonly string[]): Values {
  const values: Values = {};
  for (const field of secretNames) {
    const value = process.env[envVarName(subject.name, field)];
    if (!value) continue;
    registerSecret(value);
    values[field] = value;
  }
  return values;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `field=value` lines (blank lines and # comments skipped), or one JSON object; secret fields only. */
function secretsFromStdin(text: string, secretNames: readonly string[], owner: string): Values {
  const values: Values = {};
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new UserError(m('stdinJson', { reason: (error as Error).message.split('\n')[0] ?? '' }), { code: 'BAD_SECRETS_INPUT', exitCode: ExitCode.usage });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UserError(m('stdinJson', { reason: 'not an object' }), { code: 'BAD_SECRETS_INPUT', exitCode: ExitCode.usage });
    for (const [field, value] of Object.entries(parsed)) if (typeof value === 'string') values[field] = value;
  } else {
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      const at = line.indexOf('=');
      if (at <= 0) throw new UserError(m('stdinLine', { line: i + 1 }), { code: 'BAD_SECRETS_INPUT', exitCode: ExitCode.usage });
      values[line.slice(0, at).trim()] = line.slice(at + 1);
    });
  }
  for (const [field, value] of Object.entries(values)) {
    if (!secretNames.includes(field)) {
      throw new UserError(m('stdinNotSecret', { owner, field }), { code: 'BAD_SECRETS_INPUT', exitCode: ExitCode.usage, hint: m('stdinFields', { fields: secretNames.join(', ') }) });
    }
    registerSecret(value);
  }
  return values;
}

function missing(subject: Subject, values: Values, secrets: Values): string[] {
  const absent: string[] = [];
  for (const field of subject.fields) {
    if (!field.required || field.default !== undefined) continue;
    const vars = { field: field.name, label: fieldLabel(field), variable: envVarName(subject.name, field.name) };
    if (field.secret) {
      if (secrets[field.name] === undefined) absent.push(m('missingSecret', vars));
    } else if (values[field.name] === undefined) {
      absent.push(field.name === 'baseUrl' ? m('missingBaseUrl', vars) : m('missingSetting', vars));
    }
  }
  return absent;
}

/** The base URL apart; a field's value equal to its default left out, so a later default applies to it. */
function splitSettings(subject: Subject, values: Values): { baseUrl: string | undefined; settings: Values } {
  const settings: Values = {};
  let baseUrl: string | undefined;
  for (const [key, value] of Object.entries(values)) {
    const field = subject.fields.find((f) => f.name === key);
    if (field?.secret) continue;
    if (field && value === field.default) continue;
    if (key === 'baseUrl') baseUrl = value;
    else settings[key] = value;
  }
  return { baseUrl, settings };
}

/** `--targets a,b`: the tenant's targets the connection feeds; `all` for every one, now and later. */
function feedsOf(subject: Subject, list: string, tenant: string, config: ConnectionCatalog): string[] | undefined {
  if (!subject.driver) throw new UserError(m('targetsOnTarget', { name: subject.name }), { code: 'USAGE', exitCode: ExitCode.usage });
  return parseFeeds(list, config, (names, known) => new UserError(m('unknownTargets', { tenant, names }), { code: 'UNKNOWN_TARGET', exitCode: ExitCode.usage, hint: m('unknownTargetsHint', { known, tenant }) }));
}
