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
export function detectLanguage(env: NodeJS.ProcessEnv, systemLocale = () => Intl.DateTimeFormat().resolvedOptions().locale): Lang {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || systemLocale();
  return /^tr([_.-]|$)/i.test(locale) ? 'tr' : 'en';
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
 * Made once per language, on first use: building an Intl.NumberFormat costs
 * far more than using one, and progress lines format every page.
 */
const numberFormats: Partial<Record<Lang, Intl.NumberFormat>> = {};

export function formatNumber(value: number, lang: Lang = current): string {
  return (numberFormats[lang] ??= new Intl.NumberFormat(lang === 'tr' ? 'tr-TR' : 'en-US', { maximumFractionDigits: 1 })).format(value);
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
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, tr ? '.' : ',');
  const amount = `${negative ? '-' : ''}${grouped}${tr ? ',' : '.'}${fraction.padEnd(2, '0')}`;
  return tr && currency === 'TRY' ? `${amount} ₺` : `${amount} ${currency}`.trim();
}
