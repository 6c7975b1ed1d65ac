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

/** The fields of an offer, in the order the content hash and the offer API use. */
export const offerFields = ['barcode', 'sku', 'name', 'price', 'currency', 'vatRate', 'priceIncludesVat', 'stock', 'active'] as const;
