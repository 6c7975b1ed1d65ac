import type { Path, PathSegment } from './types.js';

const segmentPattern = /^([^.[\]]+)(?:\[(\d*)\])?$/;

/** Parses `variants[].stocks`, `attributes.list_price`, `images[0]`; returns a problem as text when the path is malformed. */
export function parsePath(text: string): Path | string {
  const trimmed = text.trim();
  if (!trimmed) return 'the path is empty';
  const segments: PathSegment[] = [];
  for (const part of trimmed.split('.')) {
    const match = segmentPattern.exec(part);
    if (!match) return `"${trimmed}" is not a path like price5, attributes.list_price or variants[].price`;
    const [, key, index] = match as unknown as [string, string, string | undefined];
    segments.push({ key, index: index === undefined ? undefined : index === '' ? 'variant' : Number(index) });
  }
  if (segments.filter((s) => s.index === 'variant').length > 1) {
    return `"${trimmed}" has more than one [] (a candidate has one variant)`;
  }
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
