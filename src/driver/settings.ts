import { DriverError } from './contract.js';
import type { DriverContext, FieldHelp, FieldSpec, MapContext } from './contract.js';
import { toPlainDecimal } from './decimal.js';
import { defineMessages } from '../i18n/index.js';

const m = defineMessages({
  en: {
    notBoolean: 'the {name} setting "{value}" is neither true nor false',
    vatRateNotNumber: 'the vatRate setting "{value}" is not a number',
    vatRateHint: 'Set it to the VAT percentage, e.g. --set vatRate=20.',
    vatUnchosen: 'the {connection} connection does not say whether its prices include VAT (priceIncludesVat); it has no default, because the ERP does not document it',
    vatUnchosenHint: 'Run `erp-sync connect {connection} --set priceIncludesVat=true` if the prices include KDV (KDV dahil), or `--set priceIncludesVat=false` if they do not (KDV hariç).',
  },
  tr: {
    notBoolean: '{name} ayarındaki "{value}" değeri ne true ne de false',
    vatRateNotNumber: 'vatRate ayarındaki "{value}" değeri bir sayı değil',
    vatRateHint: 'KDV oranını yüzde olarak girin, ör. --set vatRate=20.',
    vatUnchosen: '{connection} bağlantısında fiyatların KDV dahil olup olmadığı (priceIncludesVat) seçilmemiş; ERP bunu belgelemediği için varsayılan bir değeri yok',
    vatUnchosenHint: 'Fiyatlar KDV dahilse `erp-sync connect {connection} --set priceIncludesVat=true`, KDV hariçse `--set priceIncludesVat=false` komutunu çalıştırın.',
  },
});

/**
 * Whether the ERP's prices include KDV. No ERP documents it, so the setting
 * has no default: `connect` asks for it without offering an answer, and a
 * connection without it refuses to pull ({@link priceIncludesVatSetting}).
 * `help` says what is known about this ERP's prices.
 */
export function priceIncludesVatField(help: FieldHelp): FieldSpec {
  return {
    name: 'priceIncludesVat',
    label: 'Prices include VAT',
    labelTr: 'Fiyatlar KDV dahil',
    secret: false,
    required: true,
    kind: 'choice',
    choices: ['true', 'false'],
    help: { en: `${help.en} Yes (true): KDV dahil, No (false): KDV hariç.`, tr: `${help.tr} Evet (true): KDV dahil, Hayır (false): KDV hariç.` },
  };
}

/** The priceIncludesVat setting ({@link priceIncludesVatField}): refuses, naming it, when the connection never chose. */
export function priceIncludesVatSetting(ctx: Pick<DriverContext, 'settings' | 'connection'>): boolean {
  const chosen = booleanSetting(ctx.settings, 'priceIncludesVat', null);
  if (chosen === null) {
    throw new DriverError('CONFIGURATION', m('vatUnchosen', { connection: ctx.connection }), { hint: m('vatUnchosenHint', { connection: ctx.connection }) });
  }
  return chosen;
}

/** The KDV rate to apply where the ERP has none on its products. */
export function vatRateField(help: FieldHelp): FieldSpec {
  return { name: 'vatRate', label: 'VAT rate (%)', labelTr: 'KDV oranı (%)', secret: false, required: false, kind: 'integer', default: '20', help };
}

/** The vatRate setting ({@link vatRateField}), checked: 20 when unset. */
export function vatRateSetting(settings: MapContext['settings']): string {
  const vatRate = settings.vatRate?.trim() || '20';
  if (toPlainDecimal(vatRate) === undefined) {
    throw new DriverError('CONFIGURATION', m('vatRateNotNumber', { value: vatRate }), { hint: m('vatRateHint') });
  }
  return vatRate;
}

/** How many products a page the driver asks the ERP for. */
export function pageSizeField(defaultSize: number): FieldSpec {
  return {
    name: 'pageSize',
    label: 'Products per page',
    labelTr: 'Sayfa başına ürün',
    secret: false,
    required: false,
    kind: 'integer',
    default: String(defaultSize),
    help: { en: 'How many products the ERP sends a page; more a page means fewer requests.', tr: 'ERP’nin bir sayfada gönderdiği ürün sayısı; sayfa büyüdükçe istek sayısı azalır.' },
  };
}

/**
 * A reading of a connection's settings made once per settings object, for
 * `mapRecord`: it runs for every product, and a run's settings never change.
 * A reading that throws is not kept, so every record says what is wrong.
 */
export function oncePerSettings<T>(read: (settings: MapContext['settings']) => T): (settings: MapContext['settings']) => T {
  const readings = new WeakMap<MapContext['settings'], T>();
  return (settings) => {
    if (!readings.has(settings)) readings.set(settings, read(settings));
    return readings.get(settings) as T;
  };
}

/** A yes/no setting, in English or Turkish (`evet`, `dahil`); unset gives `fallback`. */
export function booleanSetting<F extends boolean | null>(settings: MapContext['settings'], name: string, fallback: F): boolean | F {
  const raw = settings[name]?.trim().toLocaleLowerCase('tr');
  if (raw === undefined || raw === '') return fallback;
  if (['true', 'yes', '1', 'evet', 'dahil'].includes(raw)) return true;
  if (['false', 'no', '0', 'hayır', 'hariç'].includes(raw)) return false;
  throw new DriverError('CONFIGURATION', m('notBoolean', { name, value: String(settings[name]) }));
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object's fields, or none when the value is not an object. */
export function asObject(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

/** A barcode or code as the ERP sent it, string or number, for the validator to judge. */
export function identifier(value: unknown): string | number | null {
  return typeof value === 'string' || typeof value === 'number' ? value : null;
}

/** A record's field as text, strings trimmed; null when it is absent. */
export function trimmedText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value.trim() : String(value);
}

/** A string, or a number as text; anything else is absent. */
export function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}
