import Big from 'big.js';
import { HttpError, describeFailure } from '../http/errors.js';
import { defineMessages } from '../i18n/index.js';
import { TargetCode } from './codes.js';
import { SubmitRefused } from './target.js';
import type { ItemOutcome, TargetItem } from './target.js';

/**
 * What the Trendyol, Hepsiburada and N11 adapters share when they read a
 * marketplace's answer: the product named the way a merchant finds it, the
 * marketplace's own words kept beside our explanation, and the few reasons
 * that have a code of their own recognized in those words.
 */

const m = defineMessages({
  en: {
    barcode: 'barcode {barcode}',
    barcodeAndCode: 'barcode {barcode} (stock code {code})',
    notListed: '{product} is not listed on {market}, so its price and stock cannot be updated. {todo} {market} said: "{text}"',
    rejected: '{market} refused the update of {product}: {why} {market} said: "{text}"',
    listBelowSale: 'the list price (the struck-through price) may not be below the sale price. Check the list price on {market}, or let erp-sync send the sale price as the list price too.',
    otherwise: 'fix what it names, in the ERP or on {market}.',
    noWords: '(no reason given)',
    refusedWhole: '{market} refused the whole batch of {count} items ({why}); nothing was queued. {market} said: "{text}"',
  },
  tr: {
    barcode: '{barcode} barkodlu ürün',
    barcodeAndCode: '{barcode} barkodlu ürün (stok kodu {code})',
    notListed: '{product} {market} üzerinde listelenmemiş, bu yüzden fiyatı ve stoğu güncellenemiyor. {todo} {market} yanıtı: "{text}"',
    rejected: '{market}, {product} için güncellemeyi reddetti: {why} {market} yanıtı: "{text}"',
    listBelowSale: 'liste fiyatı (üstü çizili fiyat) satış fiyatının altında olamaz. {market} üzerindeki liste fiyatını kontrol edin ya da erp-sync’in satış fiyatını liste fiyatı olarak da göndermesine izin verin.',
    otherwise: 'belirtilen sorunu ERP’de ya da {market} üzerinde düzeltin.',
    noWords: '(neden belirtilmedi)',
    refusedWhole: '{market} {count} ürünlük paketin tamamını reddetti ({why}); hiçbir şey kuyruğa alınmadı. {market} yanıtı: "{text}"',
  },
});

/** The product as a merchant finds it: its barcode, and the marketplace's key when that is another code. */
export function productLabel(item: TargetItem): string {
  return item.key === item.barcode ? m('barcode', { barcode: item.barcode }) : m('barcodeAndCode', { barcode: item.barcode, code: item.key });
}

/** The marketplace's reasons as one text, as it gave them. */
export function joinWords(reasons: readonly string[]): string {
  const words = reasons.map((r) => r.trim()).filter((r) => r !== '');
  return words.length > 0 ? words.join('; ') : m('noWords');
}

/**
 * Reasons that say the marketplace has no such product: "not found" in the
 * English the documentation quotes, "bulunamadı" and the like in Turkish.
 */
const NOT_LISTED = /not found|not exist|no such|unknown (barcode|sku|product)|not approved|bulunamad|bulunmuyor|bulunmamakta|mevcut değil|kayıtlı değil|onaylı değil|onaylanmamış/i;
/** Reasons about the list price (PSF, liste fiyatı) against the sale price. */
const LIST_PRICE = /list ?price|liste fiyat|\bpsf\b/i;

export function looksNotListed(reasons: readonly string[]): boolean {
  return reasons.length > 0 && reasons.some((r) => NOT_LISTED.test(r));
}

/** `not_listed`, with what to do (`todo`, the marketplace's own steps) and the marketplace's words. */
export function notListed(market: string, item: TargetItem, todo: string, reasons: readonly string[]): ItemOutcome {
  const text = joinWords(reasons);
  return { barcode: item.barcode, status: 'not_listed', message: m('notListed', { market, product: productLabel(item), todo, text }), marketplaceText: text };
}

/**
 * `rejected`, with our code and explanation and the marketplace's words.
 * Without a code the reasons are read for one: a list price below the sale
 * price has its own, the rest are MARKETPLACE_REJECTED.
 */
export function rejected(market: string, item: TargetItem, reasons: readonly string[], explained?: { code: TargetCode; why: string }): ItemOutcome {
  const text = joinWords(reasons);
  const { code, why } =
    explained ??
    (reasons.some((r) => LIST_PRICE.test(r))
      ? { code: TargetCode.LIST_PRICE_BELOW_SALE, why: m('listBelowSale', { market }) }
      : { code: TargetCode.MARKETPLACE_REJECTED, why: m('otherwise', { market }) });
  return { barcode: item.barcode, status: 'rejected', code, message: m('rejected', { market, product: productLabel(item), why, text }), marketplaceText: text };
}

/** An item the marketplace failed: not listed when its words say it has no such product, rejected otherwise. */
export function failedItem(market: string, item: TargetItem, todo: string, reasons: readonly string[]): ItemOutcome {
  return looksNotListed(reasons) ? notListed(market, item, todo, reasons) : rejected(market, item, reasons);
}

/**
 * A 2xx answer the adapter cannot use (no id where one must be): an
 * HttpError that is not repeated, since a repeat would queue the batch again.
 */
export function unusableAnswer(service: string, url: URL): HttpError {
  return new HttpError({ service, kind: 'malformed', url: url.href, message: describeFailure(service, 'malformed', url.href), retry: false });
}

/**
 * The marketplace's words in an error answer (HttpError.body, already
 * redacted): `errors[].message`, `errors[]` as strings, `message`,
 * `reasons[]`, or the text itself when it is not JSON.
 */
export function wordsInBody(body: string | undefined): string {
  if (!body) return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim();
  }
  const words: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === 'string') words.push(value);
    else if (value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') words.push((value as { message: string }).message);
  };
  if (parsed && typeof parsed === 'object') {
    const record = parsed as Record<string, unknown>;
    for (const list of [record.errors, record.reasons]) if (Array.isArray(list)) list.forEach(collect);
    if (words.length === 0) collect(record.message ?? record.detail ?? record.error);
  }
  return words.length > 0 ? words.join('; ') : body.trim();
}

/** Whether a value the marketplace holds (a JSON number, or a decimal string) is the number sent. */
export function sameNumber(held: unknown, sent: string | number | boolean | undefined): boolean {
  if ((typeof held !== 'number' && typeof held !== 'string') || (typeof sent !== 'number' && typeof sent !== 'string')) return false;
  try {
    return new Big(String(held)).eq(new Big(String(sent)));
  } catch {
    return false;
  }
}

/** A marketplace's reasons as text: strings as they are, objects by their message, a single string as one. */
export function reasonsOf(value: unknown): string[] {
  const one = (reason: unknown): string => {
    if (typeof reason === 'string') return reason;
    const message = (reason as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : JSON.stringify(reason);
  };
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.map(one) : [];
}

/** The objects in a list the marketplace sent; nothing when it sent no list. */
export function objectsIn<T extends object>(value: unknown): T[] {
  return Array.isArray(value) ? (value.filter((entry) => entry !== null && typeof entry === 'object') as T[]) : [];
}

/**
 * A submission the marketplace refused as a whole, queueing nothing: split,
 * it finds the item at fault. `why`: HTTP 400 or 422, or the marketplace's
 * own word for it (N11's REJECT).
 */
export function refusedWhole(market: string, count: number, why: string, text: string): SubmitRefused {
  return new SubmitRefused('batch', m('refusedWhole', { market, count, why, text }), text);
}

/** SubmitRefused('batch') for a 400 or 422 to a submission, with the marketplace's words; any other failure as it is. */
export function refusalOf(error: unknown, market: string, count: number): unknown {
  if (!(error instanceof HttpError) || (error.status !== 400 && error.status !== 422)) return error;
  return refusedWhole(market, count, `HTTP ${error.status}`, wordsInBody(error.body));
}
