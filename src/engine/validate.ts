import type { ProductCandidate } from '../driver/contract.js';
import { toPlainDecimal } from '../driver/decimal.js';
import type { NormalizedProduct } from './product.js';

/** Every way a product can be unusable, each with its own code in the log. */
export type InvalidCode =
  | 'BARCODE_MISSING'
  | 'BARCODE_INVALID'
  | 'BARCODE_SCIENTIFIC_NOTATION'
  | 'BARCODE_CHECK_DIGIT'
  | 'BARCODE_DUPLICATE'
  | 'NAME_MISSING'
  | 'PRICE_MISSING'
  | 'PRICE_NOT_A_NUMBER'
  | 'PRICE_NEGATIVE'
  | 'PRICE_ABSURD'
  | 'STOCK_MISSING'
  | 'STOCK_NOT_A_NUMBER'
  | 'CURRENCY_MISSING'
  | 'CURRENCY_UNKNOWN'
  | 'VAT_MISSING'
  | 'VAT_INVALID'
  // From the connection's rules (src/rules): held back by the price guard, or a mapped field empty or unreadable.
  | 'PRICE_OUT_OF_RANGE'
  | 'MAPPED_FIELD_MISSING'
  | 'MAPPED_FIELD_INVALID';

/** Fixed on the way, pushed anyway, and reported. */
export type WarningCode = 'STOCK_NEGATIVE_CLAMPED' | 'STOCK_FRACTION_FLOORED' | 'PRICE_ROUNDED';

export interface Issue<C extends string> {
  code: C;
  /** English, names the value; the CLI adds the connection and product. */
  message: string;
}

export type Validated =
  | { ok: true; product: NormalizedProduct; warnings: Issue<WarningCode>[] }
  | { ok: false; issue: Issue<InvalidCode>; barcode: string | undefined; sku: string; name: string };

export interface ValidationLimits {
  /** Prices at or above this (in the currency's units) are treated as a typo. */
  maxPrice: bigint;
}

export const defaultLimits: ValidationLimits = { maxPrice: 10_000_000n };

/** Currency spellings ERPs use for the Turkish lira. */
const currencyAliases: Record<string, string> = { TL: 'TRY', TRL: 'TRY', YTL: 'TRY', '₺': 'TRY' };
const isoCurrencies = new Set(Intl.supportedValuesOf('currency'));

/**
 * Validates and normalizes one candidate. Pure and cheap: it runs for every
 * product of every run.
 */
export function validateCandidate(candidate: ProductCandidate, limits: ValidationLimits = defaultLimits): Validated {
  const { barcode, sku, name } = identify(candidate);
  const invalid = (code: InvalidCode, message: string): Validated => ({
    ok: false,
    issue: { code, message },
    barcode: barcode || undefined,
    sku,
    name,
  });

  if (!barcode) return invalid('BARCODE_MISSING', 'the barcode is missing or empty');
  if (scientificNotation.test(barcode)) {
    return invalid('BARCODE_SCIENTIFIC_NOTATION', `the barcode "${barcode.slice(0, 30)}" is a number Excel wrote in scientific notation, so its last digits are lost: format the barcode column as text and export the file again`);
  }
  if (barcode.length > 64 || !/^[\x21-\x7e]+$/.test(barcode)) {
    return invalid('BARCODE_INVALID', `the barcode "${barcode.slice(0, 70)}" has characters a marketplace does not accept, or is longer than 64`);
  }
  if (/^\d+$/.test(barcode) && gtinLengths.has(barcode.length) && !hasValidCheckDigit(barcode)) {
    return invalid('BARCODE_CHECK_DIGIT', `the barcode ${barcode} has the length of a GTIN-${barcode.length} but its check digit is wrong (expected ${expectedCheckDigit(barcode)})`);
  }
  if (!name) return invalid('NAME_MISSING', 'the product name is missing');

  const warnings: Issue<WarningCode>[] = [];

  if (candidate.price === undefined || candidate.price === null || candidate.price === '') {
    return invalid('PRICE_MISSING', 'the price is missing');
  }
  const plainPrice = toPlainDecimal(candidate.price);
  if (plainPrice === undefined) return invalid('PRICE_NOT_A_NUMBER', `the price "${String(candidate.price).slice(0, 40)}" is not a number`);
  if (plainPrice.startsWith('-')) return invalid('PRICE_NEGATIVE', `the price ${plainPrice} is negative`);
  if (plainPrice.indexOf('.') > 13 || (!plainPrice.includes('.') && plainPrice.length > 13)) {
    return invalid('PRICE_ABSURD', `the price ${plainPrice} is implausibly high (${limits.maxPrice} or more)`);
  }
  const { minor, rounded } = toMinorUnits(plainPrice);
  if (minor === 0) return invalid('PRICE_ABSURD', 'the price is zero');
  if (minor >= Number(limits.maxPrice) * 100) return invalid('PRICE_ABSURD', `the price ${plainPrice} is implausibly high (${limits.maxPrice} or more)`);
  const price = formatMinorUnits(minor);
  if (rounded) warnings.push({ code: 'PRICE_ROUNDED', message: `the price ${plainPrice} was rounded to ${price}` });

  const rawCurrency = text(candidate.currency).toUpperCase();
  if (!rawCurrency) return invalid('CURRENCY_MISSING', 'the currency is missing');
  const currency = currencyAliases[rawCurrency] ?? rawCurrency;
  if (!isoCurrencies.has(currency)) return invalid('CURRENCY_UNKNOWN', `the currency "${rawCurrency.slice(0, 20)}" is not an ISO 4217 code`);

  if (candidate.vatRate === undefined || candidate.vatRate === null || candidate.vatRate === '') {
    return invalid('VAT_MISSING', 'the VAT (KDV) rate is missing');
  }
  const plainVat = toPlainDecimal(candidate.vatRate);
  if (plainVat === undefined || plainVat.startsWith('-') || Number(plainVat) > 100) {
    return invalid('VAT_INVALID', `the VAT (KDV) rate "${String(candidate.vatRate).slice(0, 20)}" is not a percentage between 0 and 100`);
  }
  const vatRate = plainVat.includes('.') || plainVat.startsWith('0') ? trimZeros(plainVat) : plainVat;

  if (candidate.stock === undefined || candidate.stock === null || candidate.stock === '') {
    return invalid('STOCK_MISSING', 'the stock quantity is missing');
  }
  const plainStock = toPlainDecimal(candidate.stock);
  if (plainStock === undefined) return invalid('STOCK_NOT_A_NUMBER', `the stock "${String(candidate.stock).slice(0, 40)}" is not a number`);
  let stock: number;
  if (plainStock.startsWith('-')) {
    stock = 0;
    warnings.push({ code: 'STOCK_NEGATIVE_CLAMPED', message: `the stock ${plainStock} is negative; 0 is pushed` });
  } else {
    const [whole, fraction] = plainStock.split('.') as [string, string | undefined];
    stock = Number(whole);
    if (!Number.isSafeInteger(stock)) return invalid('STOCK_NOT_A_NUMBER', `the stock ${plainStock} is too large`);
    if (fraction && /[1-9]/.test(fraction)) {
      warnings.push({ code: 'STOCK_FRACTION_FLOORED', message: `the stock ${plainStock} is not a whole number; ${stock} is pushed` });
    }
  }

  return {
    ok: true,
    product: {
      barcode,
      sku,
      name,
      price,
      currency,
      vatRate,
      priceIncludesVat: candidate.priceIncludesVat ?? true,
      stock,
      active: candidate.active ?? true,
    },
    warnings,
  };
}

/** Combining marks: a decomposed ş (s + U+0327) or İ (I + U+0307) that NFC composes. */
const combiningMark = /[\u0300-\u036f]/;

const doubleSpace = /\s\s|[\t\n\r\f\v]/;
const anySpace = /\s/;

/**
 * A product's barcode, SKU and name as every check and report uses them:
 * NFC, trimmed, runs of white space folded to one space in the name and
 * dropped from the barcode. The barcode is empty when there is none.
 */
export function identify(product: { barcode?: unknown; sku?: unknown; name?: unknown }): { barcode: string; sku: string; name: string } {
  const rawName = text(product.name);
  const rawBarcode = text(product.barcode);
  return {
    barcode: anySpace.test(rawBarcode) ? rawBarcode.replace(/\s+/g, '') : rawBarcode,
    sku: text(product.sku),
    name: doubleSpace.test(rawName) ? rawName.replace(/\s+/g, ' ') : rawName,
  };
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  const s = typeof value === 'string' ? value : String(value);
  return (combiningMark.test(s) ? s.normalize('NFC') : s).trim();
}

const gtinLengths = new Set([8, 12, 13, 14]);

/** "8,69E+12", "8.69E+12", "8.6901E12": what Excel writes for a long number in a cell not formatted as text. */
const scientificNotation = /^\d+([.,]\d+)?E\+?\d+$/i;

function expectedCheckDigit(digits: string): number {
  let sum = 0;
  // Weights 3,1,3,1... from the digit left of the check digit, for every GTIN length.
  for (let i = digits.length - 2, weight = 3; i >= 0; i--, weight = 4 - weight) sum += Number(digits[i]) * weight;
  return (10 - (sum % 10)) % 10;
}

export function hasValidCheckDigit(digits: string): boolean {
  return expectedCheckDigit(digits) === Number(digits[digits.length - 1]);
}

/**
 * "1249.905" → 124991 kuruş (half up), with whether rounding happened. The
 * whole part has at most 13 digits (the caller refuses longer ones), so the
 * result is an exact integer in a double.
 */
export function toMinorUnits(plain: string): { minor: number; rounded: boolean } {
  const dot = plain.indexOf('.');
  const whole = dot === -1 ? plain : plain.slice(0, dot);
  const fraction = dot === -1 ? '' : plain.slice(dot + 1);
  const cents = Number(whole) * 100 + (fraction.length === 0 ? 0 : fraction.length === 1 ? Number(fraction) * 10 : Number(fraction.slice(0, 2)));
  if (fraction.length <= 2) return { minor: cents, rounded: false };
  const rest = fraction.slice(2);
  return { minor: rest.charCodeAt(0) >= 53 /* '5' */ ? cents + 1 : cents, rounded: /[1-9]/.test(rest) };
}

/** 124990 → "1249.90". */
export function formatMinorUnits(minor: number): string {
  const cents = minor % 100;
  return `${(minor - cents) / 100}.${cents < 10 ? '0' : ''}${cents}`;
}

function trimZeros(plain: string): string {
  return plain.includes('.') ? plain.replace(/\.?0+$/, '') : plain.replace(/^0+(?=\d)/, '');
}
