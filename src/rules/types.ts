import type Big from 'big.js';
import type { InvalidCode } from '../model/validated.js';

/**
 * A connection's rules after validation: what `parseRules` returns and
 * `compileRules` turns into the per-product functions. Every decimal is a
 * big.js value, never a binary float.
 */
export interface Rules {
  mapping: Mapping;
  price: PriceRules | undefined;
  stock: StockRules | undefined;
  scope: ScopeRules | undefined;
  /** Per marketplace target, by its name: rules applied after the connection's. */
  targets: Readonly<Record<string, TargetRules>>;
}

/** One target's own price and stock rules, on top of the connection's. */
export interface TargetRules {
  price: PriceRules | undefined;
  /** Reserve, threshold and cap only: warehouses are counted once, for every target. */
  stock: StockRules | undefined;
  /** The rules as written: when it changes, every offer of the target is compared again. */
  fingerprint: string;
}

/** Offer fields a mapping can feed, plus brand and category for scope rules. */
export const mappedFields = ['barcode', 'sku', 'name', 'price', 'currency', 'vatRate', 'stock', 'brand', 'category'] as const;
export type MappedField = (typeof mappedFields)[number];

export type Mapping = Partial<Record<MappedField, FieldMapping>>;

/**
 * Where one field comes from in the raw ERP record. The first path with a
 * value wins; with none, `fallback` (the rules file's `default`) is used.
 */
export interface FieldMapping {
  from: Path[];
  transforms: Transform[];
  fallback: string | undefined;
  required: boolean;
  /** Stock only: the path holds a list of warehouse rows (or a warehouse → quantity map) to add up. */
  perWarehouse: { warehouse: Path[]; quantity: Path[] } | undefined;
}

export type Transform =
  | { kind: 'trim' }
  | { kind: 'upper' }
  | { kind: 'lower' }
  | { kind: 'decimalComma' }
  | { kind: 'multiply'; factor: Big };

/**
 * A dotted path into the raw record: `price5`, `attributes.list_price`,
 * `variants[].price` (`[]` = the element of this candidate's variant),
 * `images[0].url`.
 */
export interface Path {
  text: string;
  segments: PathSegment[];
}

export interface PathSegment {
  key: string;
  /** `variant`: this candidate's element; a number: that element; undefined: no index. */
  index: 'variant' | number | undefined;
}

export type Rounding = 'none' | 'whole' | '0.90' | '0.99' | '0.05';
export type RoundMode = 'nearest' | 'up' | 'down';

export interface PriceRules {
  /** The price the marketplace gets: KDV included or excluded, converted from what the ERP sends. */
  vat: 'include' | 'exclude' | undefined;
  /** Percent: price × (1 + p/100). */
  markup: Big | undefined;
  /** Percent below 100: price ÷ (1 − p/100). */
  margin: Big | undefined;
  /** A fixed amount added after markup or margin. */
  add: Big | undefined;
  round: Rounding;
  roundMode: RoundMode;
  min: Big | undefined;
  max: Big | undefined;
  /** SKU or barcode → the exact price to push, whatever the other rules say. */
  overrides: ReadonlyMap<string, string>;
}

export interface StockRules {
  /** Warehouse ids or names that count; every warehouse when undefined. */
  warehouses: readonly string[] | undefined;
  reserve: number;
  zeroBelow: number;
  cap: number | undefined;
}

export const scopeFields = ['brand', 'category', 'sku', 'barcode'] as const;
export type ScopeField = (typeof scopeFields)[number];

export interface ScopeRules {
  /** Every listed field must match one of its patterns. */
  include: Partial<Record<ScopeField, readonly string[]>>;
  /** Any match takes the product out. */
  exclude: Partial<Record<ScopeField, readonly string[]>>;
  activeOnly: boolean;
}

/** Invalid codes the rules add to the validator's (src/engine/validate.ts). */
export type RuleInvalidCode = Extract<InvalidCode, 'PRICE_OUT_OF_RANGE' | 'MAPPED_FIELD_MISSING' | 'MAPPED_FIELD_INVALID'>;
