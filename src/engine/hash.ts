import { hash } from 'node:crypto';
import type { NormalizedProduct } from './product.js';

/**
 * The content hash of an offer as it would be pushed. Two products hash the
 * same exactly when the marketplace would receive the same offer, so the
 * snapshot can tell "changed" from "unchanged" without comparing fields.
 */
export function contentHash(p: NormalizedProduct): string {
  return hash(
    'sha1',
    `${p.barcode}\u001f${p.sku}\u001f${p.name}\u001f${p.price}\u001f${p.currency}\u001f${p.vatRate}\u001f${p.priceIncludesVat ? 1 : 0}\u001f${p.stock}\u001f${p.active ? 1 : 0}`,
    'base64url',
  ).slice(0, 22);
}
