import type { Rules } from './types.js';

/** One line per kind of rule, in the words of the rules file, for `erp-sync rules show|set`. */
export function describeRules(rules: Rules): string[] {
  const lines: string[] = [];
  const mapped = Object.entries(rules.mapping).map(([field, spec]) => {
    const from = spec.from.map((p) => p.text).join(' | ');
    const parts = [from ? `${field} ← ${from}` : field];
    if (spec.fallback !== undefined) parts.push(`default ${JSON.stringify(spec.fallback)}`);
    if (spec.transforms.length > 0) parts.push(spec.transforms.map((t) => (t.kind === 'multiply' ? `× ${t.factor.toFixed()}` : t.kind)).join(', '));
    if (spec.perWarehouse) parts.push('summed per warehouse');
    if (spec.required) parts.push('required');
    return parts.join(' ');
  });
  if (mapped.length > 0) lines.push(`mapping: ${mapped.join('; ')}`);
  const price = rules.price;
  if (price) {
    const parts: string[] = [];
    if (price.vat) parts.push(price.vat === 'include' ? 'pushed with KDV' : 'pushed without KDV');
    if (price.markup) parts.push(`markup ${price.markup.toFixed()}%`);
    if (price.margin) parts.push(`margin ${price.margin.toFixed()}%`);
    if (price.add) parts.push(`add ${price.add.toFixed(2)}`);
    if (price.round !== 'none') parts.push(`round to ${price.round === 'whole' ? 'whole' : price.round.slice(1)} (${price.roundMode})`);
    if (price.min) parts.push(`min ${price.min.toFixed(2)}`);
    if (price.max) parts.push(`max ${price.max.toFixed(2)}`);
    if (price.overrides.size > 0) parts.push(`${price.overrides.size} fixed price${price.overrides.size === 1 ? '' : 's'}`);
    lines.push(`price: ${parts.join(', ') || 'as the ERP sends it'}`);
  }
  const stock = rules.stock;
  if (stock) {
    const parts: string[] = [];
    if (stock.warehouses) parts.push(`warehouses ${stock.warehouses.join(', ')}`);
    if (stock.reserve > 0) parts.push(`keep ${stock.reserve} back`);
    if (stock.zeroBelow > 0) parts.push(`0 when under ${stock.zeroBelow}`);
    if (stock.cap !== undefined) parts.push(`at most ${stock.cap}`);
    lines.push(`stock: ${parts.join(', ') || 'as the ERP sends it'}`);
  }
  const scope = rules.scope;
  if (scope) {
    const parts: string[] = [];
    for (const [field, patterns] of Object.entries(scope.include)) parts.push(`only ${field} ${patterns.join(', ')}`);
    for (const [field, patterns] of Object.entries(scope.exclude)) parts.push(`not ${field} ${patterns.join(', ')}`);
    if (scope.activeOnly) parts.push('active only');
    lines.push(`scope: ${parts.join('; ') || 'everything'}`);
  }
  return lines;
}
