/** The lengths of GTINs (EAN-8, UPC-A, EAN-13, GTIN-14), whose last digit is a check digit. */
export const GTIN_LENGTHS: ReadonlySet<number> = new Set([8, 12, 13, 14]);

/** The check digit a GTIN of these digits should end with (the last digit is ignored). */
export function expectedCheckDigit(digits: string): number {
  let sum = 0;
  // Weights 3,1,3,1... from the digit left of the check digit, for every GTIN length.
  for (let i = digits.length - 2, weight = 3; i >= 0; i--, weight = 4 - weight) sum += Number(digits[i]) * weight;
  return (10 - (sum % 10)) % 10;
}

export function hasValidCheckDigit(digits: string): boolean {
  return expectedCheckDigit(digits) === Number(digits[digits.length - 1]);
}
