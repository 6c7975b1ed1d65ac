import { hash } from 'node:crypto';

/**
 * A product as erp-sync pushes it: one sellable item, one barcode.
 * Money is a decimal string with exactly two fraction digits ("1249.90"),
 * never a binary float, so 0.1 + 0.2 never decides whether an offer changed.
 */
export interface NormalizedProduct {
  barcode: string;
  sku: string;
  name: string;
  price: string;
  /** ISO 4217: TRL and TL become TRY. */
  currency: string;
  /** Percent as a decimal string without trailing zeros: "20", "1", "0.5". */
  vatRate: string;
  priceIncludesVat: boolean;
  /** A whole number, never negative. */
  stock: number;
  active: boolean;
}

/** An offer as the marketplace's offer API takes it (docs/offer-api.openapi.yaml): the product, with the VAT rate a number. */
export interface Offer {
  barcode: string;
  sku: string;
  name: string;
  /** Decimal string with two fraction digits: "1249.90". */
  price: string;
  currency: string;
  /** Percent, e.g. 20. */
  vatRate: number;
  priceIncludesVat: boolean;
  stock: number;
  active: boolean;
}

/** A product as the store keeps it, in staging and in the snapshot: columns as stored, with its content hash. */
export interface OfferRow {
  barcode: string;
  sku: string;
  name: string;
  price: string;
  currency: string;
  vat_rate: string;
  price_includes_vat: number;
  stock: number;
  active: number;
  hash: string;
}

/** The one way from a stored row to the offer pushed. */
export function toOffer(row: OfferRow): Offer {
  return {
    barcode: row.barcode,
    sku: row.sku,
    name: row.name,
    price: row.price,
    currency: row.currency,
    vatRate: Number(row.vat_rate),
    priceIncludesVat: row.price_includes_vat === 1,
    stock: row.stock,
    active: row.active === 1,
  };
}

/** The offer of a normalized product, before it is stored. */
export function offerOf(product: NormalizedProduct): Offer {
  return { ...product, vatRate: Number(product.vatRate) };
}

/** A product no longer in the ERP: its offer withdrawn, never deleted. */
export function withdrawn(row: OfferRow): Offer {
  return { ...toOffer(row), stock: 0, active: false };
}

/**
 * The content hash of an offer as it would be pushed. Two products hash the
 * same exactly when the marketplace would receive the same offer, so the
 * snapshot can tell "changed" from "unchanged" without comparing fields.
 */
export function contentHash(p: NormalizedProduct | Offer): string {
  return hash(
    'sha1',
    `${p.barcode}\u001f${p.sku}\u001f${p.name}\u001f${p.price}\u001f${p.currency}\u001f${p.vatRate}\u001f${p.priceIncludesVat ? 1 : 0}\u001f${p.stock}\u001f${p.active ? 1 : 0}`,
    'base64url',
  ).slice(0, 22);
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

/** A value as trimmed NFC text; absent values are empty. */
export function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  const s = typeof value === 'string' ? value : String(value);
  return (combiningMark.test(s) ? s.normalize('NFC') : s).trim();
}
