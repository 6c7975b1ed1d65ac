import type { ProductCandidate } from '../driver/contract.js';
import { toPlainDecimal } from '../driver/decimal.js';
import { GTIN_LENGTHS, expectedCheckDigit, hasValidCheckDigit } from '../model/barcode.js';
import { identify, text } from '../model/product.js';
import { defaultLimits } from '../model/validated.js';
import type { InvalidCode, Issue, ValidationLimits, Validated, WarningCode } from '../model/validated.js';

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
  if (/^\d+$/.test(barcode) && GTIN_LENGTHS.has(barcode.length) && !hasValidCheckDigit(barcode)) {
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

/** "8,69E+12", "8.69E+12", "8.6901E12": what Excel writes for a long number in a cell not formatted as text. */
const scientificNotation = /^\d+([.,]\d+)?E\+?\d+$/i;

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
