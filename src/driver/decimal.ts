import Big from 'big.js';

/**
 * Turns the many ways ERPs write a decimal into plain notation ("1234.56")
 * without ever going through a binary float.
 *
 * - `"1.234,56"`, `"1234,56"`: Turkish notation (dot for thousands, comma for decimals)
 * - `"1,234.56"`, `"1234.56"`: plain notation
 * - `"1.234"`: ambiguous; read as Turkish thousands only when `style` is `tr`
 * - numbers: their shortest decimal representation (a JSON `99.9` is "99.9")
 *
 * Returns undefined when the value is not a number at all, so the validator
 * can report it.
 */
export function toPlainDecimal(value: unknown, style: 'auto' | 'tr' | 'plain' = 'auto'): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? numberToPlain(value) : undefined;
  if (typeof value !== 'string') return undefined;
  // Most values are already plain ("1249.90"): answer those without the general parser,
  // except where a dot may be a Turkish thousands separator ("1.234").
  if (plainNotation.test(value) && (style !== 'tr' || !value.includes('.'))) return value;
  let s = value.trim().replace(/\s|\u00a0|₺|TL$/gi, '');
  if (s === '') return undefined;
  const sign = s.startsWith('-') ? '-' : '';
  s = s.replace(/^[-+]/, '');
  const hasComma = s.includes(',');
  const hasDot = s.includes('.');
  if (hasComma && hasDot) {
    s = s.lastIndexOf(',') > s.lastIndexOf('.') ? s.replace(/\./g, '').replace(',', '.') : s.replace(/,/g, '');
  } else if (hasComma) {
    s = /^\d{1,3}(,\d{3})+$/.test(s) && style === 'plain' ? s.replace(/,/g, '') : s.replace(',', '.');
  } else if (hasDot && style === 'tr' && /^\d{1,3}(\.\d{3})+$/.test(s)) {
    s = s.replace(/\./g, '');
  }
  if (!/^\d+(\.\d+)?$/.test(s) && !/^\.\d+$/.test(s)) return undefined;
  return sign + (s.startsWith('.') ? `0${s}` : s);
}

const plainNotation = /^\d{1,15}(\.\d{1,15})?$/;

/**
 * A decimal field (a price, a quantity, a KDV rate) as a driver hands it to
 * the validator: plain notation where it reads as a number; as sent, as text,
 * where it does not, so the validator reports it by what it says; null when
 * absent. `style` as for {@link toPlainDecimal}: `tr` where the ERP writes
 * "1.250" for one thousand two hundred and fifty.
 */
export function decimalField(value: unknown, style: 'auto' | 'tr' | 'plain' = 'auto'): string | number | null {
  if (value === undefined || value === null || value === '') return null;
  const plain = toPlainDecimal(value, style);
  if (plain !== undefined) return plain;
  if (typeof value === 'number') return value;
  return typeof value === 'string' ? value.trim() : JSON.stringify(value).slice(0, 60);
}

/**
 * A KDV rate as a percentage: "%20", "20", and 0.20 as some ERPs keep it
 * (Netsis' KDV_ORANI is a fraction in one client's types, a percentage in
 * another's): no KDV rate lies between 0 and 1 percent, so a value there is
 * a fraction. Otherwise as {@link decimalField}.
 */
export function vatPercentField(value: unknown, style: 'auto' | 'tr' | 'plain' = 'auto'): string | number | null {
  const rate = decimalField(typeof value === 'string' ? value.replace('%', '') : value, style);
  if (typeof rate !== 'string' || !/^0?\.\d+$/.test(rate) || /^0?\.0+$/.test(rate)) return rate;
  return new Big(rate).times(100).toFixed();
}

/** Whether a value reads as zero in any notation {@link toPlainDecimal} reads: 0, "0", "0.0000", "0,00". */
export function isZeroDecimal(value: unknown): boolean {
  const plain = toPlainDecimal(value);
  return plain !== undefined && /^-?0+(\.0+)?$/.test(plain);
}

function numberToPlain(n: number): string {
  if (Number.isSafeInteger(n)) return String(n);
  const text = String(n);
  if (!/e/i.test(text)) return text;
  // 1e-7 or 1e21: expand the exponent by hand.
  const [mantissa, exp] = text.toLowerCase().split('e') as [string, string];
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  const pointAt = (mantissa.replace(/^-/, '').indexOf('.') === -1 ? mantissa.replace(/^-/, '').length : mantissa.replace(/^-/, '').indexOf('.')) + Number(exp);
  const expanded =
    pointAt <= 0 ? `0.${'0'.repeat(-pointAt)}${digits}` : pointAt >= digits.length ? digits + '0'.repeat(pointAt - digits.length) : `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return (negative ? '-' : '') + expanded;
}
