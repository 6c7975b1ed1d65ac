import { resolve } from 'node:path';
import type { FieldSpec } from '../driver/contract.js';
import { readCertificateFile } from '../http/certificates.js';
import type { CertificateFile } from '../http/certificates.js';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';

/**
 * Every setting erp-sync itself reads, beside each driver's own fields:
 * declared once here with its kind, default, parser and help, and read
 * through {@link readSettings} by `connect` (to refuse a bad value before it
 * is saved), the engine, alerts, retention and the web page alike.
 */

const m = defineMessages({
  en: {
    notWhole: 'must be a whole number, not "{value}"',
    notNumber: 'must be a number (such as 90 or 0.5), not "{value}"',
    tooSmall: 'must be at least {min}, not {value}',
    tooLarge: 'must be at most {max}, not {value}',
    notRate: 'must be requests per window such as 60/1m, 20/1s or 7200/1h, not "{value}"',
    invalid: 'the {owner} setting {name} {problem}',
    invalidHint: 'Set it again with `erp-sync connect {target} --set {name}=VALUE`.',
  },
  tr: {
    notWhole: 'tam sayı olmalı, "{value}" değil',
    notNumber: 'bir sayı olmalı (90 ya da 0.5 gibi), "{value}" değil',
    tooSmall: 'en az {min} olmalı, {value} değil',
    tooLarge: 'en fazla {max} olmalı, {value} değil',
    notRate: '60/1m, 20/1s ya da 7200/1h gibi pencere başına istek sayısı olmalı, "{value}" değil',
    invalid: '{owner} ayarı {name} {problem}',
    invalidHint: '`erp-sync connect {target} --set {name}=DEĞER` ile yeniden verin.',
  },
});

/** Requests per window, as a service counts them. */
export interface RateLimit {
  readonly requests: number;
  readonly perMs: number;
}

export interface SettingSpec<T> {
  readonly kind: 'integer' | 'decimal' | 'rateLimit' | 'file';
  /** What an unset setting means; undefined: none (the driver's own, or no limit). */
  readonly default: T;
  readonly help: { readonly en: string; readonly tr: string };
  /** Reads a value as `--set` gives it; throws a SettingProblem naming what is wrong. */
  parse(raw: string): T;
  /** The form `connect` saves a value in, when it is not the one typed: a path made absolute, since runs start elsewhere. */
  normalize?(raw: string): string;
}

/** Why a value is not one a setting takes, in the reader's language. */
export class SettingProblem extends Error {}

function integer<D extends number | undefined = number>(options: { default: D; min?: number; max?: number; en: string; tr: string }): SettingSpec<number | D> {
  return {
    kind: 'integer',
    default: options.default,
    help: { en: options.en, tr: options.tr },
    parse(raw) {
      if (!/^\d+$/.test(raw.trim())) throw new SettingProblem(m('notWhole', { value: raw }));
      return bounded(Number(raw), raw.trim(), options);
    },
  };
}

function decimal(options: { default: number; min?: number; en: string; tr: string }): SettingSpec<number> {
  return {
    kind: 'decimal',
    default: options.default,
    help: { en: options.en, tr: options.tr },
    parse(raw) {
      if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new SettingProblem(m('notNumber', { value: raw }));
      return bounded(Number(raw), raw.trim(), options);
    },
  };
}

function rateLimit(options: { en: string; tr: string }): SettingSpec<RateLimit | undefined> {
  return { kind: 'rateLimit', default: undefined, help: { en: options.en, tr: options.tr }, parse: parseRateLimit };
}

/** A file of certificate authorities, read whenever the setting is: a file moved away is named at once, not at the first TLS handshake. */
function certificateFile(options: { en: string; tr: string }): SettingSpec<CertificateFile | undefined> {
  return {
    kind: 'file',
    default: undefined,
    help: { en: options.en, tr: options.tr },
    parse(raw) {
      try {
        return readCertificateFile(resolve(raw.trim()));
      } catch (error) {
        throw new SettingProblem((error as Error).message);
      }
    },
    normalize: (raw) => resolve(raw.trim()),
  };
}

/** The value as a number, within the setting's bounds; `raw` is repeated as it was typed. */
function bounded(value: number, raw: string, options: { min?: number; max?: number }): number {
  if (options.min !== undefined && value < options.min) throw new SettingProblem(m('tooSmall', { min: options.min, value: raw }));
  if (options.max !== undefined && value > options.max) throw new SettingProblem(m('tooLarge', { max: options.max, value: raw }));
  return value;
}

/** `120/60s`, `20/1s`, `7200/1h`, `60/min` → requests per window. */
export function parseRateLimit(text: string): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|sec|m|min|h)?\s*$/i.exec(text);
  if (!match || Number(match[1]) < 1) throw new SettingProblem(m('notRate', { value: text }));
  const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
  const count = Number(match[2] || '1');
  if (count < 1) throw new SettingProblem(m('notRate', { value: text }));
  return { requests: Number(match[1]), perMs: count * units[(match[3] ?? 's').toLowerCase()]! };
}

/** The HTTP settings both an ERP connection and a marketplace target take. */
const http = {
  rateLimit: rateLimit({
    en: 'Requests per window (20/1s, 60/1m, 7200/1h); default: the driver\'s documented limit, the adapter\'s for Trendyol, Hepsiburada and N11, none for the offer API.',
    tr: 'Pencere başına istek (20/1s, 60/1m, 7200/1h); varsayılan: sürücünün belgelenmiş sınırı; Trendyol, Hepsiburada ve N11 için bağdaştırıcınınki; teklif API\'si için sınırsız.',
  }),
  retries: integer({ default: 4, max: 20, en: 'Retries after the first attempt, for transient failures only.', tr: 'Yalnızca geçici hatalarda, ilk denemeden sonraki yeniden deneme sayısı.' }),
  retryMinDelayMs: integer({ default: 500, en: 'First backoff delay in ms; each next one doubles (with jitter), up to 30 s.', tr: 'İlk bekleme süresi (ms); her biri iki katına çıkar (rastgele sapmayla), en fazla 30 sn.' }),
  caFile: certificateFile({
    en: 'A certificate authority to trust for this connection only, beside the system\'s: a PEM or DER file (an on-premise ERP\'s own CA).',
    tr: 'Yalnızca bu bağlantı için, sistemdekilere ek olarak güvenilecek sertifika yetkilisi: PEM ya da DER dosyası (şirket içi ERP’nin kendi CA’sı).',
  }),
  timeoutMs: integer({
    default: 60_000, min: 1,
    en: 'The longest one request may take, from sending it to the last byte of the answer (a streamed catalog: until its headers, then between chunks; an ERP\'s SQL Server: the login, and each statement).',
    tr: 'Bir isteğin, gönderilmesinden yanıtın son baytına kadar sürebileceği en uzun süre (akışla gelen katalogda: başlıklara kadar, sonra parçalar arası; bir ERP’nin SQL Server’ında: giriş ve her sorgu).',
  }),
};

/** Settings every ERP connection takes with `--set`, beside its driver's fields. */
export const connectionSettings = {
  ...http,
  concurrency: integer({ default: undefined, min: 1, max: 64, en: 'ERP pages fetched at once (default: the driver\'s, else 4).', tr: 'Aynı anda alınan ERP sayfası (varsayılan: sürücününki, yoksa 4).' }),
  massVanishPercent: integer({ default: 20, max: 100, en: 'Percent of live offers that may vanish in one run before the safety guard stops it.', tr: 'Güvenlik sınırı çalışmayı durdurmadan önce bir çalışmada kaybolabilecek canlı teklif yüzdesi.' }),
  freshnessMinutes: integer({ default: 120, en: 'No successful sync for longer than this opens an alert; 0 turns it off.', tr: 'Bundan uzun süre başarılı eşitleme olmazsa uyarı açılır; 0 kapatır.' }),
  retentionDays: integer({ default: 90, min: 1, en: 'Runs and item events are kept this many days.', tr: 'Çalışmalar ve ürün kayıtları bu kadar gün saklanır.' }),
  runTimeoutMinutes: decimal({ default: 120, en: 'A run stops cleanly after this long and exits 75 (fractions allowed); 0 turns it off.', tr: 'Bir çalışma bu süreden sonra düzgünce durur ve 75 ile çıkar (kesirli olabilir); 0 kapatır.' }),
  maxPullGrowthPercent: integer({ default: 200, en: 'A pull with this many percent more products than the last complete one (and 1,000 more) is stopped as a runaway ERP (exit 65).', tr: 'Son tam alımdan bu yüzde kadar (ve en az 1.000) fazla ürün getiren alım, kontrolden çıkmış ERP olarak durdurulur (çıkış 65).' }),
  maxProducts: integer({ default: 2_000_000, min: 1, en: 'The most products a first pull takes before it is stopped the same way.', tr: 'İlk alımın aynı şekilde durdurulmadan önce getirebileceği en fazla ürün.' }),
};

/** What an ERP connection takes in hosted mode beside `connectionSettings`: read by the queue's schedule, not by the run. */
export const hostedConnectionSettings = {
  syncEveryMinutes: integer({
    default: 15, min: 1, max: 1440,
    en: 'Hosted mode: minutes between two scheduled runs of the connection (`erp-sync hosted schedule` applies it).',
    tr: 'Barındırılan kip: bağlantının iki zamanlanmış çalışması arasındaki dakika (`erp-sync hosted schedule` uygular).',
  }),
};

/** Delivery settings every marketplace target takes with `--set`, beside its adapter's fields. */
export const targetSettings = {
  ...http,
  batchSize: integer({ default: 500, min: 1, max: 1000, en: 'Offers per marketplace request (at most 1000, and never more than the marketplace takes).', tr: 'Pazaryeri isteği başına teklif (en fazla 1000 ve pazaryerinin aldığından fazla değil).' }),
  maxConsecutiveFailures: integer({ default: 3, min: 1, en: 'Batches in a row failing for no one offer\'s fault before pushing stops for the run.', tr: 'Tek bir teklife bağlanamayan art arda başarısız paket sayısı; aşılınca o çalışmada gönderim durur.' }),
  maxAttempts: integer({ default: 5, min: 1, en: 'An offer\'s own failed attempts, one per run, before it is parked as a dead letter.', tr: 'Bir teklifin, her çalışmada bir, kendi başarısız denemeleri; sonra bekletmeye alınır.' }),
  resultWaitSeconds: integer({
    default: 60, max: 3600,
    en: 'How long a run waits for Trendyol, Hepsiburada or N11 to report the results of what it sent; the next run asks again for the rest.',
    tr: 'Bir çalışmanın, gönderdiklerinin sonuçlarını Trendyol, Hepsiburada ya da N11\'den bekleme süresi; kalanları sonraki çalışma yeniden sorar.',
  }),
  minIntervalMinutes: integer({
    default: undefined,
    en: 'The least time between two deliveries to this marketplace; runs in between leave it out (default: 20 for Hepsiburada, which asks for 20-60 minutes, else 0).',
    tr: 'Bu pazaryerine iki gönderim arasındaki en kısa süre; aradaki çalışmalar onu atlar (varsayılan: 20-60 dakika isteyen Hepsiburada için 20, diğerleri için 0).',
  }),
};

type Specs = Record<string, SettingSpec<unknown>>;

/** The values of a set of settings, parsed, with every default applied. */
export type Settings<S extends Specs> = { readonly [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : never };
export type ConnectionSettings = Settings<typeof connectionSettings>;
export type TargetSettings = Settings<typeof targetSettings>;

/**
 * A connection's (or a target's) settings as stored, parsed through
 * the schema. A value the schema refuses (config.json edited by hand) is a
 * configuration error naming the setting, never a NaN passed on.
 */
export function readSettings<S extends Specs>(specs: S, raw: Readonly<Record<string, string>>, owner: { name: string; target: string }): Settings<S> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = raw[name];
    if (value === undefined || value.trim() === '') {
      values[name] = spec.default;
      continue;
    }
    try {
      values[name] = spec.parse(value);
    } catch (error) {
      if (!(error instanceof SettingProblem)) throw error;
      throw new UserError(m('invalid', { owner: owner.name, name, problem: error.message }), {
        code: 'BAD_SETTING', exitCode: ExitCode.config, hint: m('invalidHint', { target: owner.target, name }),
      });
    }
  }
  return values as Settings<S>;
}

/**
 * The same, for a view that must show something (the web page, `status`,
 * the stale-sync check every command makes): a value the schema refuses
 * counts as unset there, and the run that acts on it says what is wrong.
 */
export function readSettingsForView<S extends Specs>(specs: S, raw: Readonly<Record<string, string>>): Settings<S> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = raw[name];
    values[name] = spec.default;
    if (value === undefined || value.trim() === '') continue;
    try {
      values[name] = spec.parse(value);
    } catch (error) {
      if (!(error instanceof SettingProblem)) throw error;
    }
  }
  return values as Settings<S>;
}

/** Who a setting belongs to, for the error that names it: a connection, or a marketplace target. */
export function settingsOwner(owner: { name: string; driver: string } | { name: string; kind: string }): { name: string; target: string } {
  return 'driver' in owner
    ? { name: `connection "${owner.name}"`, target: `${owner.driver} --name ${owner.name}` }
    : { name: `target "${owner.name}"`, target: connectArgument(owner) };
}

/** What `erp-sync connect` takes to change a target: its kind, and its name when that is not the kind's own. */
export function connectArgument(target: { name: string; kind: string }): string {
  const kind = target.kind === 'offer-api' ? 'marketplace' : target.kind;
  return kind === target.name ? kind : `${kind} --name ${target.name}`;
}

/** Why `--set name=value` is refused, or undefined when the schema takes it (or does not know the name). */
export function settingProblem(specs: Specs, name: string, value: string): string | undefined {
  const spec = specs[name];
  if (!spec) return undefined;
  try {
    spec.parse(value);
    return undefined;
  } catch (error) {
    if (error instanceof SettingProblem) return error.message;
    throw error;
  }
}

/**
 * A Slack or Teams webhook URL carries its own token, so it is a secret like
 * any other: kept in the connection's (or the target's) secret store,
 * never in the config, and masked in all output.
 */
export const alertWebhookField: FieldSpec = {
  name: 'alertWebhook',
  label: 'Alert webhook URL (Slack, Teams or any endpoint)',
  labelTr: 'Uyarı webhook adresi (Slack, Teams veya başka bir adres)',
  secret: true,
  required: false,
  prompted: false,
  kind: 'url',
  help: {
    en: 'Where alerts are POSTed as JSON when a connection needs attention and when it recovers.',
    tr: 'Bir bağlantı ilgi gerektirdiğinde ve düzeldiğinde uyarıların JSON olarak POST edildiği adres.',
  },
};

/** Every secret a connection (or a target) keeps in its store: its secret fields, and the alert webhook. */
export function storedSecretNames(fields: readonly Pick<FieldSpec, 'name' | 'secret'>[]): string[] {
  return [...fields.filter((f) => f.secret).map((f) => f.name), alertWebhookField.name];
}
