import { en } from './en.js';
import { tr } from './tr.js';

export type Lang = 'en' | 'tr';
export type MessageKey = keyof typeof en;
type Vars = Record<string, string | number>;

const catalogs: Record<Lang, Record<MessageKey, string>> = { en, tr };
let current: Lang = detectLanguage(process.env);

/**
 * Turkish when LC_ALL, LC_MESSAGES or LANG says so (tr_TR.UTF-8), English
 * otherwise. Where none is set (Windows sets none), the system's own locale
 * decides: a Turkish Windows gives tr-TR.
 */
export function detectLanguage(env: NodeJS.ProcessEnv, systemLocale = platformLocale): Lang {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || systemLocale();
  return /^tr([_.-]|$)/i.test(locale) ? 'tr' : 'en';
}

/**
 * The locale Windows is set to. Elsewhere ICU reads its locale from the same
 * three variables, so with none set it is English, and asking it would only
 * load ICU's date data: some 30 ms of a cron job's every command.
 */
function platformLocale(): string {
  return process.platform === 'win32' ? Intl.DateTimeFormat().resolvedOptions().locale : 'en-US';
}

/** The commands a message may tell a person to run; under `--demo` each is written with it, so it works as printed. */
const COMMAND = /\berp-sync (?=(?:run|connect|drivers|serve|disconnect|connections|test|rules|preview|logs|retry|status|explain|schedule|doctor)\b)/g;
let commandName = 'erp-sync';

/** How messages write erp-sync's commands: `erp-sync --demo` while a command works on the demo's world. */
export function setCommandName(name: string): void {
  commandName = name;
}

function commands(template: string): string {
  return commandName === 'erp-sync' ? template : template.replace(COMMAND, `${commandName} `);
}

export function setLanguage(lang: Lang): void {
  current = lang;
}

export function language(): Lang {
  return current;
}

/** A message in the current language; `{name}` placeholders are filled from `vars`, numbers formatted for the language. */
export function t(key: MessageKey, vars: Vars = {}, lang: Lang = current): string {
  const template = commands(catalogs[lang][key] ?? en[key]);
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) return `{${name}}`;
    return typeof value === 'number' ? formatNumber(value, lang) : value;
  });
}

/**
 * Messages kept beside the code that uses them (a command, the web page):
 * both languages in one place, checked by the compiler to have the same keys.
 *
 *   const m = defineMessages({ en: { saved: 'Saved {name}' }, tr: { saved: '{name} kaydedildi' } });
 *   m('saved', { name });
 */
export function defineMessages<K extends string>(catalog: { en: Record<K, string>; tr: Record<K, string> }) {
  return (key: K, vars: Vars = {}, lang: Lang = current): string =>
    commands(catalog[lang][key]).replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = vars[name];
      if (value === undefined) return `{${name}}`;
      return typeof value === 'number' ? formatNumber(value, lang) : value;
    });
}

/**
 * A number for people, with at most one decimal: "12,345.7" in English,
 * "12.345,7" in Turkish; exactly what Intl.NumberFormat('en-US' or 'tr-TR',
 * { maximumFractionDigits: 1 }) writes. Done on the digits of the number's
 * shortest form, as ICU does, because building the first Intl.NumberFormat
 * loads ICU's number data: 20-30 ms of the start of every command.
 */
export function formatNumber(value: number, lang: Lang = current): string {
  if (Number.isNaN(value)) return 'NaN';
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  if (!Number.isFinite(value)) return `${sign}∞`;
  const { whole, fraction } = decimalDigits(Math.abs(value));
  // Half away from zero at the first decimal, carrying through the digits.
  let tenths = `${whole}${fraction[0] ?? '0'}`;
  if ((fraction[1] ?? '0') >= '5') tenths = incremented(tenths);
  const decimal = tenths.slice(-1);
  return `${sign}${grouped(tenths.slice(0, -1), lang)}${decimal === '0' ? '' : `${lang === 'tr' ? ',' : '.'}${decimal}`}`;
}

/** The digits before and after the point of a non-negative finite number, from its shortest form (which may be 1e+21 or 1e-7). */
function decimalDigits(value: number): { whole: string; fraction: string } {
  const [mantissa = '0', exponent = '0'] = String(value).split('e');
  const [before = '0', after = ''] = mantissa.split('.');
  const point = before.length + Number(exponent);
  const digits = `${before}${after}`;
  if (point <= 0) return { whole: '0', fraction: `${'0'.repeat(-point)}${digits}` };
  return { whole: digits.slice(0, point).padEnd(point, '0'), fraction: digits.slice(point) };
}

/** A string of decimal digits plus one. */
function incremented(digits: string): string {
  const at = digits.search(/9*$/);
  return at === 0 ? `1${'0'.repeat(digits.length)}` : `${digits.slice(0, at - 1)}${Number(digits[at - 1]) + 1}${'0'.repeat(digits.length - at)}`;
}

/** Thousands grouped: "1,249" in English, "1.249" in Turkish. */
function grouped(whole: string, lang: Lang): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, lang === 'tr' ? '.' : ',');
}

/** Seconds with one decimal: "1.4 s" / "1,4 sn". */
export function formatDuration(ms: number, lang: Lang = current): string {
  return `${formatNumber(Math.round(ms / 100) / 10, lang)} ${lang === 'tr' ? 'sn' : 's'}`;
}

/**
 * A plain decimal price ("1249.9") for people: "1.249,90 ₺" in Turkish,
 * "1,249.90 TRY" in English. Done on the digits, never through a float.
 */
export function formatMoney(price: string, currency: string, lang: Lang = current): string {
  const negative = price.startsWith('-');
  const [whole = '0', fraction = ''] = price.replace(/^-/, '').split('.');
  const tr = lang === 'tr';
  const amount = `${negative ? '-' : ''}${grouped(whole, lang)}${tr ? ',' : '.'}${fraction.padEnd(2, '0')}`;
  return tr && currency === 'TRY' ? `${amount} ₺` : `${amount} ${currency}`.trim();
}
