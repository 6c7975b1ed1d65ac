import type { ProductCandidate } from '../driver/contract.js';
import { scopeFields } from './types.js';
import type { ScopeField, ScopeRules } from './types.js';

/**
 * Compiles the scope into a function that names why a candidate is out of
 * scope, or returns undefined when it is in. Patterns are globs (`*`, `?`)
 * compared case-insensitively the Turkish way (I/ı, İ/i).
 */
export function compileScope(scope: ScopeRules | undefined): ((candidate: ProductCandidate) => string | undefined) | undefined {
  if (!scope) return undefined;
  const include = compileGroup(scope.include);
  const exclude = compileGroup(scope.exclude);
  if (include.length === 0 && exclude.length === 0 && !scope.activeOnly) return undefined;
  return (candidate) => {
    if (scope.activeOnly && candidate.active === false) return 'inactive in the ERP (scope.activeOnly)';
    for (const { field, patterns } of include) {
      const value = fieldText(candidate, field);
      if (!patterns.some((p) => p.test(value))) return `${field} ${JSON.stringify(value)} is not in scope.include.${field}`;
    }
    for (const { field, patterns, sources } of exclude) {
      const value = fieldText(candidate, field);
      const at = patterns.findIndex((p) => p.test(value));
      if (at >= 0) return `${field} ${JSON.stringify(value)} matches scope.exclude.${field} ${JSON.stringify(sources[at])}`;
    }
    return undefined;
  };
}

function compileGroup(group: Partial<Record<ScopeField, readonly string[]>>): { field: ScopeField; patterns: RegExp[]; sources: readonly string[] }[] {
  return scopeFields.flatMap((field) => {
    const sources = group[field];
    return sources ? [{ field, sources, patterns: sources.map(globToRegExp) }] : [];
  });
}

function globToRegExp(glob: string): RegExp {
  const body = fold(glob).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'u');
}

/** The value compared with patterns, spelled the way the validator will store it. */
function fieldText(candidate: ProductCandidate, field: ScopeField): string {
  const value = candidate[field];
  const text = value === undefined || value === null ? '' : String(value);
  return fold(field === 'barcode' ? text.replace(/\s+/g, '') : text.replace(/\s+/g, ' '));
}

/** Turkish lower case without the cost of a locale lookup per product: only I and İ differ from the root locale. */
function fold(text: string): string {
  return text.normalize('NFC').trim().replace(/I/g, 'ı').replace(/İ/g, 'i').toLowerCase();
}
