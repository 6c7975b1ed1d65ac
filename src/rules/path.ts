import type { Path, PathSegment } from './types.js';

const segmentPattern = /^([^.[\]]+)(?:\[(\d*)\])?$/;

/** Why a path cannot be read: empty, not written like a path, or more than one `[]`. */
export type PathProblem = 'empty' | 'malformed' | 'manyVariants';

/** Parses `variants[].stocks`, `attributes.list_price`, `images[0]`; returns what is wrong when the path is malformed. */
export function parsePath(text: string): Path | PathProblem {
  const trimmed = text.trim();
  if (!trimmed) return 'empty';
  const segments: PathSegment[] = [];
  for (const part of trimmed.split('.')) {
    const match = segmentPattern.exec(part);
    if (!match) return 'malformed';
    const [, key, index] = match as unknown as [string, string, string | undefined];
    segments.push({ key, index: index === undefined ? undefined : index === '' ? 'variant' : Number(index) });
  }
  if (segments.filter((s) => s.index === 'variant').length > 1) return 'manyVariants';
  return { text: trimmed, segments };
}

/**
 * The value at `path` in `root`. `[]` picks the element of this candidate's
 * variant: drivers return one candidate per variant, in the order of the
 * record's list, so candidate number `variant` is element number `variant`.
 */
export function resolvePath(root: unknown, path: Path, variant: number): unknown {
  let value = root;
  for (const segment of path.segments) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[segment.key];
    if (segment.index !== undefined) {
      if (!Array.isArray(value)) return undefined;
      value = value[segment.index === 'variant' ? variant : segment.index];
    }
  }
  return value;
}
