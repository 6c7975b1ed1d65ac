import { describe, expect, it } from 'vitest';
import { formatDuration, formatMoney, formatNumber } from '../../src/i18n/index.js';

const intl = { en: new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }), tr: new Intl.NumberFormat('tr-TR', { maximumFractionDigits: 1 }) };

/** Counts, durations and percentages as commands print them, and the edges of a double's shortest form. */
function numbers(): number[] {
  const edges = [0, -0, 1, -1, 0.05, 0.15, 0.25, 0.35, 0.45, 0.95, 1.45, 2.5, -2.5, -2.45, -0.04, -0.05, -0.01, 9.95, 99.95, 999.95, 9999.96,
    999_999.95, 1_234, 12_345.65, 1e-7, 5e-7, 0.000_05, 1e15 + 0.5, 2 ** 53, 2 ** 53 + 2, 1e21, 1.2345678901234567e25, 123456789012345680000,
    Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity];
  let seed = 17;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const drawn: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const magnitude = 10 ** Math.floor(random() * 12 - 3);
    const value = random() * magnitude * (random() < 0.2 ? -1 : 1);
    // Whole counts, values with a few decimals (halves among them), and raw doubles.
    drawn.push(Math.round(value), Math.round(value * 100) / 100, Math.round(value * 20) / 20, value);
  }
  return [...edges, ...drawn];
}

describe('numbers for people', () => {
  it('writes every number as Intl.NumberFormat does in English and in Turkish, without loading it', () => {
    for (const value of numbers()) {
      expect(formatNumber(value, 'en'), String(value)).toBe(intl.en.format(value));
      expect(formatNumber(value, 'tr'), String(value)).toBe(intl.tr.format(value));
    }
  });

  it('groups thousands and marks the decimal the way each language reads', () => {
    expect(formatNumber(1_234_567.25, 'en')).toBe('1,234,567.3');
    expect(formatNumber(1_234_567.25, 'tr')).toBe('1.234.567,3');
    expect(formatNumber(99.96, 'en')).toBe('100');
    expect(formatDuration(1_449, 'tr')).toBe('1,4 sn');
    expect(formatMoney('-1249.9', 'TRY', 'tr')).toBe('-1.249,90 ₺');
    expect(formatMoney('1249.9', 'EUR', 'en')).toBe('1,249.90 EUR');
  });
});
