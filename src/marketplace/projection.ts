import Big from 'big.js';
import type { FieldSpec } from '../driver/contract.js';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages, formatMoney, language } from '../i18n/index.js';
import type { Offer } from '../model/product.js';
import { TargetCode } from './codes.js';
import type { ItemProblem } from './target.js';

/**
 * What the Trendyol, Hepsiburada and N11 adapters share when they turn an
 * offer into what the marketplace takes: all three sell in Turkish lira with
 * KDV included, so the price is checked and converted the same way; the
 * target's settings are read the same way. Pure, like `project()`.
 */

const m = defineMessages({
  en: {
    currency: '{market} sells in Turkish lira (TRY) only; barcode {barcode} is priced in {currency}. Price it in TRY in the ERP, or keep it off {market} with a scope rule.',
    vatAdded: '{market} takes prices with KDV included; the price of barcode {barcode} excludes KDV ({net}), so {gross} ({vat}% KDV added) was sent.',
    clamped: '{market} takes a stock from {min} to {max} for one product; barcode {barcode} has {stock}, so {sent} was sent.',
    skuMissing: '{market} finds offers by stock code (SKU) and barcode {barcode} has none in the ERP. Give it, in the ERP, the stock code its {market} listing has.',
    missing: 'the {target} target has no {label} ({name})',
    invalid: 'the {target} target\'s {label} ({name}) "{value}" {problem}',
    setHint: 'Set it with `erp-sync connect {target} --set {name}=VALUE`.',
    secretHint: 'Run `erp-sync connect {target}` again and give it.',
    notChoice: 'is not one of: {choices}',
  },
  tr: {
    currency: '{market} yalnızca Türk lirasıyla (TRY) satış yapıyor; {barcode} barkodlu ürünün fiyatı {currency} cinsinden. ERP’de fiyatı TRY olarak girin ya da bir kapsam kuralıyla ürünü {market} dışında tutun.',
    vatAdded: '{market} KDV dahil fiyat alıyor; {barcode} barkodlu ürünün fiyatı KDV hariç ({net}), bu yüzden {gross} (%{vat} KDV eklenerek) gönderildi.',
    clamped: '{market} bir ürün için {min} ile {max} arasında stok alıyor; {barcode} barkodlu ürünün stoğu {stock}, bu yüzden {sent} gönderildi.',
    skuMissing: '{market} teklifleri stok koduyla buluyor ve {barcode} barkodlu ürünün ERP’de stok kodu yok. ERP’de ürüne, {market} ilanındaki stok kodunu verin.',
    missing: '{target} hedefinde {label} ({name}) yok',
    invalid: '{target} hedefinin {label} ({name}) ayarındaki "{value}" değeri {problem}',
    setHint: '`erp-sync connect {target} --set {name}=DEĞER` ile verin.',
    secretHint: '`erp-sync connect {target}` komutunu yeniden çalıştırıp bu bilgiyi verin.',
    notChoice: 'şunlardan biri değil: {choices}',
  },
});

/** A price as a marketplace takes it, or why it cannot take it. */
export type PriceProjection = { readonly ok: true; readonly price: string; readonly warnings: readonly ItemProblem[] } | { readonly ok: false; readonly problem: ItemProblem };

/**
 * The offer's price in TRY with KDV included, two decimals. A price without
 * KDV is converted with big.js, rounded half up (what an invoice does), and
 * said so in a warning; another currency is a problem, never converted.
 */
export function grossTryPrice(offer: Offer, market: string): PriceProjection {
  if (offer.currency !== 'TRY') {
    return { ok: false, problem: { code: TargetCode.CURRENCY_NOT_SUPPORTED, message: m('currency', { market, barcode: offer.barcode, currency: offer.currency }) } };
  }
  const net = new Big(offer.price);
  if (offer.priceIncludesVat) return { ok: true, price: net.toFixed(2), warnings: [] };
  const gross = net.times(new Big(100).plus(String(offer.vatRate))).div(100).round(2, Big.roundHalfUp).toFixed(2);
  if (gross === net.toFixed(2)) return { ok: true, price: gross, warnings: [] };
  const warning = { code: TargetCode.PRICE_VAT_ADDED, message: m('vatAdded', { market, barcode: offer.barcode, net: formatMoney(net.toFixed(2), 'TRY'), gross: formatMoney(gross, 'TRY'), vat: String(offer.vatRate) }) };
  return { ok: true, price: gross, warnings: [warning] };
}

/**
 * The stock to send: 0 for an offer that is not active (the marketplaces
 * close a sale that way, reversibly), and within `[0, max]`, with a warning
 * when the ERP's figure had to be brought into it.
 */
export function stockToSend(offer: Offer, market: string, max = Number.MAX_SAFE_INTEGER): { stock: number; warnings: readonly ItemProblem[] } {
  if (!offer.active) return { stock: 0, warnings: [] };
  const sent = Math.min(max, Math.max(0, offer.stock));
  if (sent === offer.stock) return { stock: sent, warnings: [] };
  return { stock: sent, warnings: [{ code: TargetCode.STOCK_CLAMPED, message: m('clamped', { market, barcode: offer.barcode, stock: offer.stock, min: 0, max, sent }) }] };
}

/** The offer's stock code, where the marketplace finds offers by it (Hepsiburada's merchantSku, N11's stockCode). */
export function stockCode(offer: Offer, market: string): { ok: true; key: string } | { ok: false; problem: ItemProblem } {
  const key = offer.sku.trim();
  if (key !== '') return { ok: true, key };
  return { ok: false, problem: { code: TargetCode.SKU_MISSING, message: m('skuMissing', { market, barcode: offer.barcode }) } };
}

/** A setting's value as given, or its field's default; '' when it has neither. */
export function settingValue(settings: Readonly<Record<string, string>>, field: FieldSpec): string {
  const value = settings[field.name]?.trim() ?? '';
  return value !== '' ? value : (field.default ?? '');
}

/** The setting, which the target needs: a configuration error (exit 78) naming it when it is absent. */
export function requiredSetting(target: string, settings: Readonly<Record<string, string>>, field: FieldSpec): string {
  const value = settingValue(settings, field);
  if (value === '') throw configurationError(m('missing', { target, label: labelOf(field), name: field.name }), m('setHint', { target, name: field.name }));
  return value;
}

/** The secret, which the target needs: a configuration error naming it (never showing anything of it) when it is absent. */
export function requiredSecret(target: string, secrets: Readonly<Record<string, string>>, field: FieldSpec): string {
  const value = secrets[field.name] ?? '';
  if (value === '') throw configurationError(m('missing', { target, label: labelOf(field), name: field.name }), m('secretHint', { target }));
  return value;
}

/** A choice setting's value, refused (naming the choices) when it is none of them. */
export function choiceSetting<C extends string>(target: string, settings: Readonly<Record<string, string>>, field: FieldSpec & { choices: readonly C[] }): C {
  const value = settingValue(settings, field);
  if ((field.choices as readonly string[]).includes(value)) return value as C;
  throw invalidSetting(target, field, value, m('notChoice', { choices: field.choices.join(', ') }));
}

/** A setting whose value the target cannot use: a configuration error (exit 78) saying what is wrong and how to set it. */
export function invalidSetting(target: string, field: FieldSpec, value: string, problem: string): UserError {
  return configurationError(m('invalid', { target, label: labelOf(field), name: field.name, value, problem }), m('setHint', { target, name: field.name }));
}

const labelOf = (field: FieldSpec) => (language() === 'tr' ? field.labelTr : field.label);

function configurationError(message: string, hint: string): UserError {
  return new UserError(message, { code: 'BAD_SETTING', exitCode: ExitCode.config, hint });
}

/**
 * JSON text in which the fields named in `decimals`, held as decimal strings
 * ("12.50"), are written as number literals with every digit kept
 * (`"salePrice":12.50`): JSON.stringify of a number would drop the "0" that
 * N11 requires, and a binary float never carries money here. Undefined
 * fields are left out, as JSON.stringify leaves them.
 */
export function jsonWithDecimals(value: unknown, decimals: ReadonlySet<string>): string {
  const write = (inner: unknown, key: string | undefined): string => {
    if (key !== undefined && decimals.has(key) && typeof inner === 'string') {
      if (!/^-?\d+(\.\d+)?$/.test(inner)) throw new RangeError(`${key} is not a plain decimal: "${inner}"`);
      return inner;
    }
    if (Array.isArray(inner)) return `[${inner.map((element) => write(element, undefined)).join(',')}]`;
    if (inner !== null && typeof inner === 'object') {
      const entries = Object.entries(inner).filter(([, v]) => v !== undefined);
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, k)}`).join(',')}}`;
    }
    return JSON.stringify(inner);
  };
  return write(value, undefined);
}
