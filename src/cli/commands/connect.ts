import chalk from 'chalk';
import { readFileSync } from 'node:fs';
import { drivers, findDriver } from '../../../drivers/index.js';
import { MARKETPLACE, checkConnectionName, checkTargetName } from '../../config/config.js';
import type { ConnectionConfig, TargetConfig } from '../../config/config.js';
import type { Driver, FieldSpec } from '../../driver/contract.js';
import { targetAdapter, targetAdapters } from '../../marketplace/targets.js';
import type { TargetKind } from '../../marketplace/target.js';
import { connectionSettings, targetSettings } from '../../settings/schema.js';
import { storedSecretNames } from '../../settings/schema.js';
import type { Failure } from '../../engine/failure.js';
import { targetSecretFields } from '../../engine/secrets.js';
import { ExitCode, UserError, errorMessage } from '../../errors/index.js';
import { defineMessages, t } from '../../i18n/index.js';
import { FileSecretStore, createKeyFile, trimFinalNewline } from '../../secrets/file.js';
import { recordedSchedule } from '../../schedule/installed.js';
import { redact, registerSecret } from '../../secrets/redact.js';
import { envVarName, secretStoreKinds, writableStores } from '../../secrets/store.js';
import type { SecretStore, SecretStoreKind } from '../../secrets/store.js';
import { openContext } from '../context.js';
import type { CliContext } from '../context.js';
import { createOutput } from '../output.js';
import type { Output } from '../output.js';
import { askChoice, askField, askYesNo, canPrompt, fieldLabel, fieldProblem, normalizeFieldValue } from '../prompts.js';
import type { Choice } from '../prompts.js';
import { checkConnection } from '../../engine/check.js';
import { testFailed, testingMessage } from '../connection-test.js';
import { checkFieldValues, erpFields, parseFeeds, parseSettings, targetFields } from '../connect-fields.js';

export interface ConnectOptions {
  name?: string;
  baseUrl?: string;
  set?: string[];
  secretStore?: string;
  secretFile?: string[];
  yes?: boolean;
  /** False with --no-test. */
  test?: boolean;
  json?: boolean;
  /** An ERP connection's marketplace targets, comma-separated, or `all`. */
  targets?: string;
}



const m = defineMessages({
  en: {
    targetsOnTarget: '--targets chooses the marketplaces an ERP connection feeds; "{name}" is a marketplace target itself',
    unknownTargets: 'no marketplace target named {names}',
    unknownTargetsHint: 'Targets: {known}. Connect one first (erp-sync connect trendyol|hepsiburada|n11|marketplace), or give --targets all.',
    header: 'Connect: {title} → "{name}"',
    exists: 'Connection "{name}" already exists ({title}{url}). Update it?',
    replace: 'Connection "{name}" already exists and uses {title}. Replace it with {newTitle}?',
    unchanged: 'Nothing changed.',
    store: 'Where should the secrets be kept?',
    storeKeychain: 'System keychain',
    storeKeychainHelp: 'macOS Keychain, Windows Credential Manager, GNOME Keyring / KWallet: best on a desktop',
    storeFile: 'Encrypted file',
    storeFileHelp: 'secrets.enc in the erp-sync home, unlocked by ERP_SYNC_PASSPHRASE or ERP_SYNC_KEY_FILE: for servers',
    storeSystemd: 'systemd credentials',
    storeSystemdHelp: 'LoadCredentialEncrypted= in the erp-sync service unit: for servers run by systemd',
    storeEnv: 'Environment variables',
    storeEnvHelp: 'ERP_SYNC_<CONNECTION>_<FIELD>: for containers and scripts',
    unavailable: 'not available here',
    keychainUnavailable: 'The system keychain is not available here ({reason}); choose another store.',
    fileNeedsKey: 'set ERP_SYNC_PASSPHRASE or ERP_SYNC_KEY_FILE first',
    testFailed: 'The connection test failed: {message}',
    retry: 'Enter the values again?',
    notSaved: 'Nothing was saved.',
    tested: 'The connection works.',
    notTested: 'Not tested: the secrets are read when erp-sync runs. Check with `erp-sync test {name}` once they are in place.',
    missing: 'missing: {what}',
    missingHint: 'Give them as flags, as environment variables or with --secret-file FIELD=PATH.',
    missingSecret: '{field} ({label}): in a file given with --secret-file, or in the environment variable {variable}',
    missingSetting: '--set {field}=… ({label}) or the environment variable {variable}',
    missingBaseUrl: '--base-url URL ({label}) or the environment variable {variable}',
    unknownTarget: 'there is no driver or target named "{target}"',
    chooseOne: 'Choose one of: {list}.',
    badStore: 'unknown secret store "{store}"',
    storeUnusable: 'the {store} secret store cannot be used: {reason}',
    storeUnusableHint: 'Choose another with --secret-store keychain|file|systemd|env.',
    secretFileForm: '--secret-file "{pair}" is not of the form FIELD=PATH',
    secretFileNotSecret: '{owner} has no secret field "{field}"',
    secretFileFields: 'Secret fields: {fields}.',
    secretFileStore: '--secret-file needs a secret store erp-sync can write to, not {store}',
    secretFileStoreHint: 'Add --secret-store keychain or --secret-store file, or put the value where the {store} store reads it.',
    secretFileUnreadable: 'cannot read the secret file {path}: {reason}',
    secretFileEmpty: 'the secret file {path} is empty',
    targetSaved: 'Saved the marketplace target "{name}" ({title}). Its secrets are read from: {store}. Every ERP connection sends its offers there from the next run.',
    badValue: '{field}: {problem}',
    oldSecretsLeft: 'The old secrets of "{name}" could not be removed from the {store} store: {reason}',
    systemdAdd: 'Add {field} as a systemd credential:',
    ownerDriver: 'driver {id}',
    ownerTarget: 'target {name}',
    marketplace: 'Marketplace',
    storeNewKey: 'Encrypted file, with a new key file',
    storeNewKeyHelp: 'secrets.enc, unlocked by a random key erp-sync writes to {path} (readable by this user only): for servers without a keychain',
    keyCreated:
      'Created the key file {path}: a random key, readable by this user only. It unlocks secrets.enc. Keep a copy apart from the data, in a password manager or with whoever keeps the shop\'s passwords: without it the secrets cannot be read back, and a backup that holds both the key and secrets.enc gives the secrets to anyone who gets the backup.',
    nextMarketplace: 'Next: connect the marketplace the offers go to: `erp-sync connect marketplace`.',
    nextErp: 'Next: connect the ERP the products come from: `erp-sync connect DRIVER` (one of {drivers}; `erp-sync drivers` says what each needs).',
    nextRun: 'Next: see what a run would send, without sending anything: `erp-sync run --dry-run{connection}`.',
    nextSchedule: 'Then sync every 15 minutes: `erp-sync schedule --every 15m --install`.',
  },
  tr: {
    targetsOnTarget: '--targets bir ERP bağlantısının beslediği pazaryerlerini seçer; "{name}" zaten bir pazaryeri hedefi',
    unknownTargets: '{names} adında pazaryeri hedefi yok',
    unknownTargetsHint: 'Hedefler: {known}. Önce bağlayın (erp-sync connect trendyol|hepsiburada|n11|marketplace) ya da --targets all verin.',
    header: 'Bağlan: {title} → "{name}"',
    exists: '"{name}" bağlantısı zaten var ({title}{url}). Güncellensin mi?',
    replace: '"{name}" bağlantısı zaten var ve {title} kullanıyor. {newTitle} ile değiştirilsin mi?',
    unchanged: 'Hiçbir şey değişmedi.',
    store: 'Gizli bilgiler nerede saklansın?',
    storeKeychain: 'Sistem anahtar zinciri',
    storeKeychainHelp: 'macOS Anahtar Zinciri, Windows Kimlik Bilgisi Yöneticisi, GNOME Keyring / KWallet: masaüstü için en iyisi',
    storeFile: 'Şifreli dosya',
    storeFileHelp: 'erp-sync klasöründeki secrets.enc, ERP_SYNC_PASSPHRASE veya ERP_SYNC_KEY_FILE ile açılır: sunucular için',
    storeSystemd: 'systemd kimlik bilgileri',
    storeSystemdHelp: 'erp-sync servis birimindeki LoadCredentialEncrypted=: systemd ile çalışan sunucular için',
    storeEnv: 'Ortam değişkenleri',
    storeEnvHelp: 'ERP_SYNC_<BAĞLANTI>_<ALAN>: konteynerler ve betikler için',
    unavailable: 'burada kullanılamıyor',
    keychainUnavailable: 'Sistem anahtar zinciri burada kullanılamıyor ({reason}); başka bir yer seçin.',
    fileNeedsKey: 'önce ERP_SYNC_PASSPHRASE veya ERP_SYNC_KEY_FILE ayarlayın',
    testFailed: 'Bağlantı testi başarısız: {message}',
    retry: 'Bilgileri yeniden girmek ister misiniz?',
    notSaved: 'Hiçbir şey kaydedilmedi.',
    tested: 'Bağlantı çalışıyor.',
    notTested: 'Test edilmedi: gizli bilgiler erp-sync çalışırken okunur. Yerlerine koyduktan sonra `erp-sync test {name}` ile deneyin.',
    missing: 'eksik: {what}',
    missingHint: 'Bunları seçenek, ortam değişkeni veya --secret-file ALAN=DOSYA olarak verin.',
    missingSecret: '{field} ({label}): --secret-file ile verilen bir dosyada veya {variable} ortam değişkeninde',
    missingSetting: '--set {field}=… ({label}) veya {variable} ortam değişkeni',
    missingBaseUrl: '--base-url URL ({label}) veya {variable} ortam değişkeni',
    unknownTarget: '"{target}" adında bir sürücü veya hedef yok',
    chooseOne: 'Şunlardan birini seçin: {list}.',
    badStore: 'bilinmeyen gizli bilgi deposu "{store}"',
    storeUnusable: '{store} gizli bilgi deposu kullanılamıyor: {reason}',
    storeUnusableHint: '--secret-store keychain|file|systemd|env ile başka birini seçin.',
    secretFileForm: '--secret-file "{pair}" ALAN=DOSYA biçiminde değil',
    secretFileNotSecret: '{owner} için "{field}" adında gizli bir alan yok',
    secretFileFields: 'Gizli alanlar: {fields}.',
    secretFileStore: '--secret-file, erp-sync\'in yazabildiği bir depo ister; {store} değil',
    secretFileStoreHint: '--secret-store keychain veya --secret-store file ekleyin, ya da değeri {store} deposunun okuduğu yere koyun.',
    secretFileUnreadable: '{path} gizli bilgi dosyası okunamıyor: {reason}',
    secretFileEmpty: '{path} gizli bilgi dosyası boş',
    targetSaved: '"{name}" pazaryeri hedefi kaydedildi ({title}). Gizli bilgileri şuradan okunur: {store}. Her ERP bağlantısı tekliflerini sonraki çalışmadan itibaren oraya da gönderir.',
    badValue: '{field}: {problem}',
    oldSecretsLeft: '"{name}" bağlantısının eski gizli bilgileri {store} deposundan silinemedi: {reason}',
    systemdAdd: '{field} alanını systemd kimlik bilgisi olarak ekleyin:',
    ownerDriver: '{id} sürücüsü',
    ownerTarget: '{name} hedefi',
    marketplace: 'Pazaryeri',
    storeNewKey: 'Şifreli dosya, yeni bir anahtar dosyasıyla',
    storeNewKeyHelp: 'erp-sync’in {path} dosyasına yazdığı rastgele anahtarla (yalnızca bu kullanıcı okuyabilir) açılan secrets.enc: anahtar zinciri olmayan sunucular için',
    keyCreated:
      'Anahtar dosyası oluşturuldu: {path}. Rastgele bir anahtar, yalnızca bu kullanıcı okuyabilir; secrets.enc dosyasını bu anahtar açar. Bir kopyasını verilerden ayrı bir yerde, bir parola yöneticisinde ya da dükkânın parolalarını kim saklıyorsa onda tutun: anahtar olmadan gizli bilgiler geri okunamaz, anahtarı ve secrets.enc’i birlikte içeren bir yedek ise gizli bilgileri yedeği ele geçiren herkese verir.',
    nextMarketplace: 'Sıradaki adım: tekliflerin gideceği pazaryerini bağlayın: `erp-sync connect marketplace`.',
    nextErp: 'Sıradaki adım: ürünlerin geleceği ERP’yi bağlayın: `erp-sync connect SÜRÜCÜ` ({drivers} sürücülerinden biri; her birinin neye ihtiyaç duyduğunu `erp-sync drivers` gösterir).',
    nextRun: 'Sıradaki adım: hiçbir şey göndermeden bir çalışmanın ne göndereceğini görün: `erp-sync run --dry-run{connection}`.',
    nextSchedule: 'Ardından 15 dakikada bir senkronize edin: `erp-sync schedule --every 15m --install`.',
  },
});

/** What is being connected: an ERP through its driver, or a marketplace target. */
interface Target {
  name: string;
  driver: Driver | undefined;
  /** The marketplace, when this is a target. */
  kind: TargetKind | undefined;
  title: string;
  /** Asked for in this order: the base URL (unless the driver reads local files), then the driver's fields a person provides. */
  fields: FieldSpec[];
  /** Settings --set takes beside the fields, from the settings schema. */
  extraSettings: typeof connectionSettings | typeof targetSettings;
  existing: {
    title: string; driver: Driver | undefined; kind: TargetKind | undefined; baseUrl: string | undefined; settings: Record<string, string>;
    secretStore: SecretStoreKind; createdAt?: string | undefined;
  } | undefined;
}

/** The marketplaces `connect` takes, beside the ERP drivers: the offer API as `marketplace`, then the adapters. */
const targetKinds = (): string[] => [MARKETPLACE, ...targetAdapters.map((a) => a.kind)];

type Values = Record<string, string>;

/**
 * `erp-sync connect <driver|marketplace>`. With a person at a terminal it asks
 * for every field, tests the connection and offers to re-enter on failure;
 * otherwise everything comes from flags, environment variables and
 * --secret-file, and nothing waits for input. Either way nothing is saved
 * unless the test passes (or --no-test skips it).
 */
export async function connectCommand(targetName: string, options: ConnectOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openContext();
  try {
    const target = resolveTarget(ctx, targetName, options.name);
    const interactive = canPrompt(options);
    const flags = parseFlags(target, options);
    const feeds = options.targets === undefined ? ctx.config.connection(target.name)?.targets : feedsOf(ctx, target, options.targets);

    if (interactive) {
      out.line(chalk.bold(m('header', { title: target.title, name: target.name })));
      if (target.existing) {
        const sameDriver = target.existing.driver === target.driver && target.existing.kind === target.kind;
        const url = target.existing.baseUrl ? `, ${target.existing.baseUrl}` : '';
        const question = sameDriver ? m('exists', { name: target.name, title: target.existing.title, url }) : m('replace', { name: target.name, title: target.existing.title, newTitle: target.title });
        if (!(await askYesNo(question, sameDriver))) {
          out.line(m('unchanged'));
          return ExitCode.ok;
        }
      }
    }

    const storeKind = options.secretStore !== undefined ? parseSecretStore(options.secretStore) : interactive ? await askSecretStore(ctx, out, target) : (target.existing?.secretStore ?? 'env');
    const store = ctx.secretStore(storeKind);
    if (writableStores.has(storeKind)) {
      const reason = await store.unavailableReason();
      if (reason) throw new UserError(m('storeUnusable', { store: storeKind, reason }), { code: 'SECRET_STORE_UNAVAILABLE', exitCode: ExitCode.config, hint: m('storeUnusableHint') });
    } else if (Object.keys(flags.secretFiles).length > 0) {
      throw new UserError(m('secretFileStore', { store: storeKind }), { code: 'SECRET_STORE_READ_ONLY', exitCode: ExitCode.usage, hint: m('secretFileStoreHint', { store: storeKind }) });
    }

    const stored = await storedSecrets(target, store);
    // Connecting again with another store moves the secrets: the old store's values are the current ones.
    const old = target.existing;
    const moving = old && old.secretStore !== storeKind && old.driver === target.driver && old.kind === target.kind ? await storedSecrets(target, ctx.secretStore(old.secretStore)).catch(() => ({})) : {};
    const current = currentValues(target, { ...moving, ...stored });
    const rotated: Values = {};
    const saveRotated = async (field: string, value: string) => {
      registerSecret(value);
      rotated[field] = value;
    };

    const test = options.test === false ? undefined : (values: Values) => checkConnection(underTest(target, values, flags.settings, saveRotated));
    let values: Values = { ...current, ...flags.values };
    let tested = false;
    if (interactive) {
      const answered = await askUntilItWorks(out, target, values, new Set(Object.keys(flags.values)), test);
      if (typeof answered === 'number') return answered;
      ({ values, tested } = answered);
    } else {
      const absent = missingValues(target, values, writableStores.has(storeKind));
      if (absent.length > 0) {
        throw new UserError(m('missing', { what: absent.join('; ') }), { code: 'MISSING_VALUES', exitCode: ExitCode.config, hint: m('missingHint') });
      }
      const secretsAtHand = target.fields.every((f) => !f.secret || !f.required || f.name in values);
      if (test && secretsAtHand) {
        out.line(testingMessage(target.driver));
        const failure = await test(values);
        if (failure) throw testFailed(target.name, failure);
        tested = true;
      }
    }

    const saved = await save(ctx, out, target, store, values, stored, rotated, flags.settings, feeds);
    await render(out, target, saved, store, stored, tested);
    if (!out.json) for (const line of nextSteps(ctx, target)) out.line(line);
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}

/**
 * Asks for every field not given as a flag, then tests; after a failed test
 * the person may enter the values again (Enter keeps each one) or give up,
 * which returns the failure's exit code.
 */
async function askUntilItWorks(
  out: Output,
  target: Target,
  start: Values,
  given: ReadonlySet<string>,
  test: ((values: Values) => Promise<Failure | undefined>) | undefined,
): Promise<{ values: Values; tested: boolean } | ExitCode> {
  const values = { ...start };
  for (;;) {
    for (const field of target.fields) {
      if (given.has(field.name) || field.prompted === false || !asked(target, field, values)) continue;
      const answer = await askField(field, values[field.name]);
      if (answer === undefined) delete values[field.name];
      else values[field.name] = answer;
    }
    if (!test) return { values, tested: false };
    out.line(testingMessage(target.driver));
    const failure = await test(values);
    if (!failure) {
      out.line(`${chalk.green('✓')} ${m('tested')}`);
      return { values, tested: true };
    }
    const error = testFailed(target.name, failure);
    out.line(`${chalk.red('✗')} ${m('testFailed', { message: redact(failure.message) })}`);
    if (error.hint) out.line(`  ${t('error.try')}: ${error.hint}`);
    if (!(await askYesNo(m('retry'), true))) {
      out.line(m('notSaved'));
      return failure.exitCode;
    }
  }
}

/** Whether a field belongs to the access mode chosen so far (`onlyWhen`), so that the person is asked for it. */
function asked(target: Target, field: FieldSpec, values: Values): boolean {
  if (!field.onlyWhen) return true;
  const { field: other, equals } = field.onlyWhen;
  return (values[other] ?? target.fields.find((f) => f.name === other)?.default) === equals;
}

/**
 * What `connect ARG` is about: a target kind (`trendyol`) or a driver id
 * (`entegra`), with --name for the name; or the name of a saved connection
 * or target (`connect shop --set ...`), which the hints print.
 */
function resolveTarget(ctx: CliContext, targetName: string, name: string | undefined): Target {
  if (targetKinds().includes(targetName)) return resolveMarketplace(ctx, targetName, name);
  if (!findDriver(targetName) && (name === undefined || name === targetName)) {
    const saved = ctx.config.connection(targetName);
    if (saved && findDriver(saved.driver)) return resolveTarget(ctx, saved.driver, targetName);
    const target = ctx.config.target(targetName);
    if (target) return resolveMarketplace(ctx, target.kind === 'offer-api' ? MARKETPLACE : target.kind, targetName);
  }
  const driver = findDriver(targetName);
  if (!driver) {
    throw new UserError(m('unknownTarget', { target: targetName }), {
      code: 'UNKNOWN_DRIVER',
      exitCode: ExitCode.usage,
      hint: m('chooseOne', { list: [...drivers.keys(), ...targetKinds()].join(', ') }),
    });
  }
  const connectionName = name ?? driver.id;
  const problem = checkConnectionName(connectionName, ctx.config.targets().map((t) => t.name));
  if (problem) throw new UserError(problem, { code: 'BAD_NAME', exitCode: ExitCode.usage });
  const existing = ctx.config.connection(connectionName);
  const existingDriver = existing && findDriver(existing.driver);
  return {
    name: connectionName,
    driver,
    title: driver.name,
    kind: undefined,
    fields: erpFields(driver),
    extraSettings: connectionSettings,
    existing: existing && {
      title: existingDriver?.name ?? existing.driver,
      driver: existingDriver,
      kind: undefined,
      baseUrl: existing.baseUrl,
      settings: existing.settings,
      secretStore: existing.secretStore,
      createdAt: existing.createdAt,
    },
  };
}

/** A marketplace target: the offer API (`marketplace`), Trendyol, Hepsiburada or N11, named after its kind unless --name says. */
function resolveMarketplace(ctx: CliContext, kindName: string, name: string | undefined): Target {
  const kind: TargetKind = kindName === MARKETPLACE ? 'offer-api' : (kindName as TargetKind);
  const targetName = name ?? kindName;
  const problem = checkTargetName(targetName, ctx.config.connections().map((c) => c.name));
  if (problem) throw new UserError(problem, { code: 'BAD_NAME', exitCode: ExitCode.usage });
  const existing = ctx.config.target(targetName);
  const title = titleOf(kind);
  return {
    name: targetName,
    driver: undefined,
    kind,
    title,
    fields: targetFields(kind),
    extraSettings: targetSettings,
    existing: existing && {
      title: titleOf(existing.kind), driver: undefined, kind: existing.kind, baseUrl: existing.baseUrl, settings: existing.settings,
      secretStore: existing.secretStore, createdAt: existing.createdAt,
    },
  };
}

function titleOf(kind: TargetKind): string {
  return kind === 'offer-api' ? m('marketplace') : (targetAdapter(kind)?.name ?? kind);
}

interface Flags {
  /** Field values given on the command line (secrets from --secret-file): never asked for. */
  values: Values;
  secretFiles: Values;
  /** --set values of settings that are not fields (retries, batchSize...). */
  settings: Values;
}

function parseFlags(target: Target, options: ConnectOptions): Flags {
  const fieldNames = new Set(target.fields.map((f) => f.name));
  const secretNames = target.fields.filter((f) => f.secret).map((f) => f.name);
  const owner = target.driver ? m('ownerDriver', { id: target.driver.id }) : m('ownerTarget', { name: target.name });
  const set = parseSettings(options.set ?? [], target.fields, owner, target.extraSettings);
  const values: Values = {};
  const settings: Values = {};
  for (const [key, value] of Object.entries(set)) {
    if (fieldNames.has(key)) values[key] = value;
    else settings[key] = value;
  }
  if (options.baseUrl !== undefined) values.baseUrl = options.baseUrl;
  const secretFiles: Values = {};
  for (const pair of options.secretFile ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw new UserError(m('secretFileForm', { pair }), { code: 'BAD_SECRET_FILE', exitCode: ExitCode.usage });
    const field = pair.slice(0, at);
    if (!secretNames.includes(field)) {
      throw new UserError(m('secretFileNotSecret', { owner, field }), { code: 'BAD_SECRET_FILE', exitCode: ExitCode.usage, hint: m('secretFileFields', { fields: secretNames.join(', ') }) });
    }
    secretFiles[field] = readSecretFile(pair.slice(at + 1));
  }
  checkFieldValues(target.fields, values);
  return { values: { ...values, ...secretFiles }, secretFiles, settings };
}

function readSecretFile(path: string): string {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    throw new UserError(m('secretFileUnreadable', { path, reason: errorMessage(error) }), { code: 'SECRET_FILE_UNREADABLE', exitCode: ExitCode.usage });
  }
  const value = trimFinalNewline(content).toString('utf8');
  if (value === '') throw new UserError(m('secretFileEmpty', { path }), { code: 'SECRET_FILE_EMPTY', exitCode: ExitCode.usage });
  registerSecret(value);
  return value;
}

/** What the chosen store already holds for this connection; a store that cannot be read here (systemd outside its unit) holds nothing yet. */
async function storedSecrets(target: Target, store: SecretStore): Promise<Values> {
  const values: Values = {};
  for (const field of target.fields) {
    if (!field.secret) continue;
    try {
      const value = await store.get(target.name, field.name);
      if (value !== undefined) values[field.name] = value;
    } catch (error) {
      if (writableStores.has(store.kind)) throw error;
    }
  }
  return values;
}

/** The values to start from: environment variables over the connection's saved settings and the store's secrets. */
function currentValues(target: Target, stored: Values): Values {
  const values: Values = {};
  const sameDriver = target.existing?.driver === target.driver && target.existing?.kind === target.kind;
  for (const field of target.fields) {
    const fromEnv = process.env[envVarName(target.name, field.name)];
    const saved = field.secret ? stored[field.name] : !sameDriver ? undefined : field.name === 'baseUrl' ? target.existing?.baseUrl : target.existing?.settings[field.name];
    if (fromEnv) {
      const problem = field.secret ? undefined : fieldProblem(field, fromEnv);
      if (problem) throw new UserError(m('badValue', { field: envVarName(target.name, field.name), problem }), { code: 'BAD_SETTING', exitCode: ExitCode.usage });
      if (field.secret) registerSecret(fromEnv);
      values[field.name] = field.secret ? fromEnv : normalizeFieldValue(field, fromEnv);
    } else if (saved !== undefined) {
      values[field.name] = saved;
    }
  }
  return values;
}

function missingValues(target: Target, values: Values, writableStore: boolean): string[] {
  const absent: string[] = [];
  for (const field of target.fields) {
    if (!field.required || field.name in values || field.default !== undefined) continue;
    const vars = { field: field.name, label: fieldLabel(field), variable: envVarName(target.name, field.name) };
    if (field.secret) {
      if (writableStore) absent.push(m('missingSecret', vars));
    } else {
      absent.push(field.name === 'baseUrl' ? m('missingBaseUrl', vars) : m('missingSetting', vars));
    }
  }
  return absent;
}

function underTest(target: Target, values: Values, extra: Values, saveSecret: (field: string, value: string) => Promise<void>) {
  const split = splitValues(target, values, extra);
  return { driver: target.driver, kind: target.kind, name: target.name, baseUrl: values.baseUrl, settings: split.settings, secrets: split.secrets, saveSecret };
}

/** Secrets apart from settings; a setting equal to its field's default is left out, so a later default applies to it. */
function splitValues(target: Target, values: Values, extra: Values): { baseUrl: string | undefined; settings: Values; secrets: Values } {
  const keptExtra = target.existing?.driver === target.driver && target.existing?.kind === target.kind ? pick(target.existing?.settings ?? {}, Object.keys(target.extraSettings)) : {};
  const settings: Values = { ...keptExtra, ...extra };
  const secrets: Values = {};
  let baseUrl: string | undefined;
  for (const field of target.fields) {
    const value = values[field.name];
    if (value === undefined) continue;
    if (field.secret) secrets[field.name] = value;
    else if (value === field.default) continue;
    else if (field.name === 'baseUrl') baseUrl = value;
    else settings[field.name] = value;
  }
  return { baseUrl, settings, secrets };
}

function pick(record: Values, keys: readonly string[]): Values {
  return Object.fromEntries(Object.entries(record).filter(([key]) => keys.includes(key)));
}

/**
 * Secrets first, then the config, so the config never names secrets that are
 * not there. A store given up for another, or fields the new driver lacks,
 * are cleaned up last: a failure there leaves stale copies, not a broken
 * connection.
 */
/** `--targets trendyol,n11`: the targets an ERP connection feeds, each one configured; `all` for every target, now and later. */
function feedsOf(ctx: CliContext, target: Target, list: string): string[] | undefined {
  if (!target.driver) throw new UserError(m('targetsOnTarget', { name: target.name }), { code: 'USAGE', exitCode: ExitCode.usage });
  return parseFeeds(list, ctx.config, (names, known) => new UserError(m('unknownTargets', { names }), { code: 'UNKNOWN_TARGET', exitCode: ExitCode.usage, hint: m('unknownTargetsHint', { known }) }));
}

async function save(
  ctx: CliContext, out: Output, target: Target, store: SecretStore, values: Values, stored: Values, rotated: Values, extra: Values, feeds: string[] | undefined,
): Promise<ConnectionConfig | TargetConfig> {
  const { baseUrl, settings, secrets } = splitValues(target, values, extra);
  if (writableStores.has(store.kind)) {
    for (const [field, value] of Object.entries(secrets)) if (stored[field] !== value) await store.set(target.name, field, value);
    // A session kept for the old credentials (Paraşüt's refresh token) would log in as whoever they were.
    for (const field of target.driver?.fields.filter((f) => f.managed) ?? []) {
      const value = rotated[field.name];
      if (value !== undefined) await store.set(target.name, field.name, value);
      else await store.delete(target.name, field.name);
    }
  }

  let saved: ConnectionConfig | TargetConfig;
  const now = new Date().toISOString();
  if (!target.driver) {
    saved = { name: target.name, kind: target.kind!, baseUrl: baseUrl ?? '', settings, secretStore: store.kind, createdAt: target.existing?.createdAt ?? now, updatedAt: now };
    ctx.config.saveTarget(saved);
  } else {
    saved = {
      name: target.name, driver: target.driver.id, baseUrl, settings, secretStore: store.kind, createdAt: target.existing?.createdAt ?? now, updatedAt: now,
      ...(feeds ? { targets: feeds } : {}),
    };
    ctx.config.saveConnection(saved);
  }

  const old = target.existing;
  if (old && writableStores.has(old.secretStore)) {
    const oldFields = storedSecretNames(old.driver ? old.driver.fields : old.kind ? targetSecretFields(old.kind) : []);
    const keep = old.secretStore === store.kind ? new Set(storedSecretNames(target.driver?.fields ?? target.fields)) : new Set<string>();
    const oldStore = ctx.secretStore(old.secretStore);
    try {
      for (const field of oldFields) if (!keep.has(field)) await oldStore.delete(target.name, field);
    } catch (error) {
      out.warn(m('oldSecretsLeft', { name: target.name, store: old.secretStore, reason: errorMessage(error) }));
    }
  }
  return saved;
}

async function render(out: Output, target: Target, saved: ConnectionConfig | TargetConfig, store: SecretStore, stored: Values, tested: boolean): Promise<void> {
  if (out.json) {
    out.document(target.driver ? { connection: saved, tested } : { target: saved, tested });
    return;
  }
  // Optional secrets (the alert webhook) are not among what the person is told to provide.
  const secretFields = target.fields.filter((f) => f.secret && f.required);
  const storeText = store.kind === 'env' ? t('connect.envHint', { vars: secretFields.map((f) => envVarName(target.name, f.name)).join(', ') }) : store.kind;
  out.line(
    target.driver ? t('connect.saved', { name: target.name, driver: target.title, store: storeText })
      : target.kind === 'offer-api' ? t('connect.marketplaceSaved', { url: saved.baseUrl ?? '', store: storeText })
      : m('targetSaved', { name: target.name, title: target.title, store: storeText }),
  );
  if (!tested) out.line(m('notTested', { name: target.name }));
  if (store.kind !== 'systemd') return;
  for (const field of secretFields) {
    if (stored[field.name] !== undefined) continue;
    // The store refuses every write, and its refusal carries the exact commands for this connection and field.
    const refusal = await store.set(target.name, field.name, '').then(
      () => undefined,
      (error: unknown) => (error instanceof UserError ? error.hint : undefined),
    );
    if (refusal) out.line(`${m('systemdAdd', { field: field.name })}\n  ${refusal}`);
  }
}

/**
 * Asks where the secrets go. Where nothing would unlock the encrypted file
 * (no passphrase, no key file), it is offered with a new key file instead,
 * made only once it is chosen.
 */
async function askSecretStore(ctx: CliContext, out: Output, target: Target): Promise<SecretStoreKind> {
  const keychainReason = await ctx.secretStore('keychain').unavailableReason();
  const fileStore = ctx.secretStore('file');
  const newKey = fileStore instanceof FileSecretStore && fileStore.needsKey() ? fileStore.defaultKeyFile : undefined;
  const fileReason = newKey ? undefined : await fileStore.unavailableReason();
  if (keychainReason && !target.existing) out.line(chalk.yellow(m('keychainUnavailable', { reason: firstSentence(keychainReason) })));
  const choices: Choice<SecretStoreKind | 'new-key'>[] = [
    { value: 'keychain' as const, name: m('storeKeychain'), description: m('storeKeychainHelp'), ...(keychainReason ? { disabled: m('unavailable') } : {}) },
    newKey
      ? { value: 'new-key' as const, name: m('storeNewKey'), description: m('storeNewKeyHelp', { path: newKey }) }
      : { value: 'file' as const, name: m('storeFile'), description: m('storeFileHelp'), ...(fileReason ? { disabled: m('fileNeedsKey') } : {}) },
    { value: 'systemd' as const, name: m('storeSystemd'), description: m('storeSystemdHelp') },
    { value: 'env' as const, name: m('storeEnv'), description: m('storeEnvHelp') },
  ];
  const usable = choices.filter((c) => !c.disabled).map((c) => c.value);
  const preferred = target.existing?.secretStore;
  const fallback = preferred && usable.includes(preferred) ? preferred : usable[0];
  const chosen = await askChoice(m('store'), choices, fallback);
  if (chosen !== 'new-key') return chosen;
  // Offered only where there is a path for it.
  const keyFile = newKey!;
  await createKeyFile(keyFile);
  out.line(m('keyCreated', { path: keyFile }));
  return 'file';
}

/** What to do after saving: the missing side of the sync, else a dry run, then a schedule unless one is installed. */
function nextSteps(ctx: CliContext, target: Target): string[] {
  if (target.driver && ctx.config.targetsOf(ctx.config.connection(target.name)!).length === 0) return [m('nextMarketplace')];
  const connections = ctx.config.connections();
  if (!target.driver && connections.length === 0) return [m('nextErp', { drivers: [...drivers.keys()].filter((id) => id !== 'demo').join(', ') })];
  const steps = [m('nextRun', { connection: target.driver && connections.length > 1 ? ` --connection ${target.name}` : '' })];
  if (!recordedSchedule(ctx.home)) steps.push(m('nextSchedule'));
  return steps;
}

/** The store's first sentence without the library's detail in parentheses: enough to see why, short enough for a prompt. */
function firstSentence(text: string): string {
  const end = text.indexOf('. ');
  return (end > 0 ? text.slice(0, end) : text).replace(/\s*\([^()]*\)$/, '');
}

function parseSecretStore(value: string): SecretStoreKind {
  if ((secretStoreKinds as readonly string[]).includes(value)) return value as SecretStoreKind;
  throw new UserError(m('badStore', { store: value }), { code: 'BAD_SECRET_STORE', exitCode: ExitCode.usage, hint: m('chooseOne', { list: secretStoreKinds.join(', ') }) });
}
