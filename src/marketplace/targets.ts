import { hepsiburada } from './hepsiburada.js';
import { n11 } from './n11.js';
import type { TargetAdapter } from './target.js';
import { trendyol } from './trendyol.js';

/** Every marketplace target whose writes are acknowledged later, in the order `connect` lists them. */
export const targetAdapters: readonly TargetAdapter[] = [trendyol, hepsiburada, n11];

const byKind = new Map<string, TargetAdapter>(targetAdapters.map((adapter) => [adapter.kind, adapter]));

/** The adapter of a target kind (`trendyol`), or undefined for a kind erp-sync does not know. */
export function targetAdapter(kind: string): TargetAdapter | undefined {
  return byKind.get(kind);
}
