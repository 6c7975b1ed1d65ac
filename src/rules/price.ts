import type Big from 'big.js';
import type { NormalizedProduct } from '../model/product.js';
import type { Issue } from '../model/validated.js';
import { defaultLimits } from '../model/validated.js';
import type { PriceRules, RoundMode, Rounding, RuleInvalidCode, StockRules } from './types.js';

export type Priced = { ok: true; price: string; priceIncludesVat: boolean } | { ok: false; issue: Issue<RuleInvalidCode> };

/** An exact fraction of two BigInts: big.js per product is too slow for the pull loop, and floats are not exact. */
type Fraction = readonly [numerator: bigint, denominator: bigint];

/** Step and ending of each rounding, in kuruş: 117.882 → 117.90 is step 100, ending 90. */
const roundings: Record<Rounding, { step: bigint; ending: bigint }> = {
  none: { step: 1n, ending: 0n },
  whole: { step: 100n, ending: 0n },
  '0.90': { step: 100n, ending: 90n },
  '0.99': { step: 100n, ending: 99n },
  '0.05': { step: 5n, ending: 0n },
};

/**
 * Compiles the price rules. In order: a per-SKU override (final, no other
 * rule applies); KDV conversion; markup or margin; the fixed amount; rounding
 * (to the kuruş, half up, when no rounding is set); then the guard.
 * Intermediate values are exact fractions rounded once, so every machine
 * gets the same answer.
 */
export function compilePrice(rules: PriceRules | undefined): ((product: NormalizedProduct) => Priced) | undefined {
  if (!rules) return undefined;
  const factor: Fraction | undefined = rules.markup
    ? ratio(fraction(rules.markup), 100n, 100n)
    : rules.margin
      ? invert(ratio(neg(fraction(rules.margin)), 100n, 100n))
      : undefined;
  const add = rules.add ? fraction(rules.add) : undefined;
  const { step, ending } = roundings[rules.round];
  const mode: RoundMode = rules.round === 'none' ? 'nearest' : rules.roundMode;
  const min = rules.min ? minor(rules.min) : undefined;
  const max = rules.max ? minor(rules.max) : undefined;
  const ceiling = BigInt(defaultLimits.maxPrice) * 100n;
  const vatFactors = new Map<string, Fraction>();
  const vatFactor = (rate: string) => {
    let f = vatFactors.get(rate);
    if (!f) vatFactors.set(rate, (f = ratio(decimalFraction(rate), 100n, 100n)));
    return f;
  };

  return (product) => {
    const priceIncludesVat = rules.vat === undefined ? product.priceIncludesVat : rules.vat === 'include';
    const override = rules.overrides.get(product.sku) ?? rules.overrides.get(product.barcode);
    if (override !== undefined) return { ok: true, price: override, priceIncludesVat };

    // The price in kuruş as a fraction.
    // A normalized price always has two decimals: "1249.90" is 124990 kuruş.
    let [n, d]: Fraction = [BigInt(product.price.replace('.', '')), 1n];
    if (priceIncludesVat !== product.priceIncludesVat) {
      const [vn, vd] = vatFactor(product.vatRate);
      [n, d] = priceIncludesVat ? [n * vn, d * vd] : [n * vd, d * vn];
    }
    if (factor) [n, d] = [n * factor[0], d * factor[1]];
    if (add) [n, d] = [n * add[1] + add[0] * 100n * d, d * add[1]];
    // Whole steps above the ending: (price − ending) ÷ step, rounded as asked.
    const a = n - ending * d;
    const b = step * d;
    const steps = mode === 'up' ? -floorDiv(-a, b) : mode === 'down' ? floorDiv(a, b) : floorDiv(2n * a + b, 2n * b);
    const price = steps * step + ending;

    const shown = formatMinorUnits(price);
    const outOfRange = (message: string): Priced => ({ ok: false, issue: { code: 'PRICE_OUT_OF_RANGE', message: `${message}; the offer is held back` } });
    if (price <= 0n) return outOfRange(`the price after rules is ${shown} (from ${product.price}), not above zero`);
    if (price >= ceiling) return outOfRange(`the price after rules, ${shown} (from ${product.price}), is implausibly high`);
    if (min !== undefined && price < min) return outOfRange(`the price after rules, ${shown} (from ${product.price}), is below price.min ${formatMinorUnits(min)}`);
    if (max !== undefined && price > max) return outOfRange(`the price after rules, ${shown} (from ${product.price}), is above price.max ${formatMinorUnits(max)}`);
    return { ok: true, price: shown, priceIncludesVat };
  };
}

/** Floor division for BigInts, whose `/` truncates toward zero. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function fraction(value: Big): Fraction {
  return decimalFraction(value.toFixed());
}

/** "18.5" → 185/10. */
function decimalFraction(plain: string): Fraction {
  const [whole, part = ''] = plain.split('.') as [string, string | undefined];
  return [BigInt(whole + part), 10n ** BigInt(part.length)];
}

/** (base + percent) / scale, for percent = n/d: 18% of markup → 118/100. */
function ratio([n, d]: Fraction, base: bigint, scale: bigint): Fraction {
  return [base * d + n, scale * d];
}

function neg([n, d]: Fraction): Fraction {
  return [-n, d];
}

function invert([n, d]: Fraction): Fraction {
  return [d, n];
}

function minor(value: Big): bigint {
  return BigInt(value.toFixed(2).replace('.', ''));
}

function formatMinorUnits(minor: bigint): string {
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

/** Compiles the stock rules: a reserve kept back, nothing shown under a threshold, a cap. */
export function compileStock(rules: StockRules | undefined): ((stock: number) => number) | undefined {
  if (!rules || (rules.reserve === 0 && rules.zeroBelow === 0 && rules.cap === undefined)) return undefined;
  const { reserve, zeroBelow, cap } = rules;
  return (stock) => {
    const available = Math.max(0, stock - reserve);
    if (available < zeroBelow) return 0;
    return cap === undefined ? available : Math.min(available, cap);
  };
}
