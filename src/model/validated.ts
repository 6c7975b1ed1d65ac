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

/** What the product pipeline makes of one product: the product as pushed, or why it is held back. */
export type Validated =
  | { ok: true; product: NormalizedProduct; warnings: Issue<WarningCode>[] }
  | { ok: false; issue: Issue<InvalidCode>; barcode: string | undefined; sku: string; name: string };

export interface ValidationLimits {
  /** Prices at or above this (in the currency's units) are treated as a typo. */
  maxPrice: bigint;
}

export const defaultLimits: ValidationLimits = { maxPrice: 10_000_000n };
