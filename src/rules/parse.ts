import Big from 'big.js';
import { parse as parseYaml } from 'yaml';
import { toPlainDecimal } from '../driver/decimal.js';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { parsePath } from './path.js';
import { mappedFields, scopeFields } from './types.js';
import type { FieldMapping, Mapping, Path, PriceRules, RoundMode, Rounding, Rules, ScopeField, ScopeRules, StockRules, TargetRules, Transform } from './types.js';

/**
 * The problems name the rule by its path (`price.markup`) and quote the values
 * a person can type (`none`, `whole`, `include`); those stay as written in
 * both languages, only the prose around them is translated. Values are passed
 * as text, already formatted, so a var is never re-formatted as a number.
 */
const m = defineMessages({
  en: {
    invalid: 'the rules in {source} are not valid:',
    hint: 'Fix the rules listed above; nothing was changed. The README section "Rules" shows every rule with an example.',
    notReadable: 'not readable as YAML or JSON: {error}',
    theRules: 'the rules',
    warehousesNeedRows: 'stock.warehouses: needs mapping.stock.perWarehouse, which says where the per-warehouse quantities are in the ERP record',
    needsSource: '{where}: needs "from" (a path in the ERP record) or "default" (a fixed value)',
    noWarehousePath: '{where}: the path of the warehouse id or name inside one row is missing',
    noQuantityPath: '{where}: the path of the quantity inside one row is missing',
    notTransform: '{where}: {value} is not a transform; use trim, upper, lower, decimalComma or { multiply: 0.01 }',
    badVat: '{where}: {value} must be "include" (push prices with KDV) or "exclude" (push prices without KDV)',
    markupTooLow: '{where}: {value}% would make every price zero or negative; a markup must be above -100',
    badMargin: '{where}: {value}% is not a margin between 0 and 100 (price ÷ (1 − margin) has no answer at 100% or more)',
    markupAndMargin: '{where}: markup and margin are two ways to say the same thing; keep one',
    badRound: '{where}: {value} must be one of {allowed}',
    badRoundMode: '{where}: {value} must be nearest, up or down',
    roundModeAlone: '{where}: has no effect without price.round',
    minAboveMax: '{where}: {min} is above price.max {max}; no price could pass',
    emptyOverrideKey: '{where}: the SKU or barcode is empty',
    noWarehouses: '{where}: the list is empty, so no stock would ever count; leave it out to count every warehouse',
    noPatterns: '{where}: the list of patterns is empty',
    notMap: '{where}: must be a map of settings (key: value), not {value}',
    unknownRule: '{where}: unknown rule; {parent} takes {allowed}',
    unknownRootRule: '{where}: unknown rule; the rules are {allowed}',
    notList: '{where}: {value} is not a list',
    notPath: '{where}: {value} is not a path',
    empty: '{where}: the path is empty',
    malformed: '{where}: "{path}" is not a path like price5, attributes.list_price or variants[].price',
    manyVariants: '{where}: "{path}" has more than one [] (a candidate has one variant)',
    notSingle: '{where}: {value} must be a single value',
    notNumber: '{where}: {value} is not a number',
    notPrice: '{where}: {value} is not a price (above 0, below 10,000,000, at most two decimals)',
    notCount: '{where}: {value} is not a whole number of units (0 or more)',
    notBoolean: '{where}: {value} must be true or false',
    emptyValue: 'an empty value',
    aList: 'a list',
    aMap: 'a map',
  },
  tr: {
    invalid: '{source} içindeki kurallar geçerli değil:',
    hint: 'Yukarıda listelenen kuralları düzeltin; hiçbir şey değiştirilmedi. README\'deki "Rules" bölümü her kuralı bir örnekle gösterir.',
    notReadable: 'YAML ya da JSON olarak okunamıyor: {error}',
    theRules: 'kurallar',
    warehousesNeedRows: 'stock.warehouses: mapping.stock.perWarehouse gerekli; depo bazında stok miktarlarının ERP kaydında nerede olduğunu o belirtir',
    needsSource: '{where}: "from" (ERP kaydındaki bir yol) ya da "default" (sabit bir değer) gerekli',
    noWarehousePath: '{where}: bir satırdaki depo kodunun ya da adının yolu eksik',
    noQuantityPath: '{where}: bir satırdaki stok miktarının yolu eksik',
    notTransform: '{where}: {value} bir dönüşüm değil; trim, upper, lower, decimalComma ya da { multiply: 0.01 } kullanın',
    badVat: '{where}: {value} olamaz; "include" (fiyatlar KDV dahil gönderilir) ya da "exclude" (fiyatlar KDV hariç gönderilir) yazın',
    markupTooLow: '{where}: %{value} her fiyatı sıfır ya da negatif yapar; markup -100\'den büyük olmalı',
    badMargin: '{where}: %{value}, 0 ile 100 arasında bir kâr marjı değil (fiyat ÷ (1 − marj) işleminin %100 ve üzerinde sonucu yoktur)',
    markupAndMargin: '{where}: markup ve margin aynı şeyi iki farklı yoldan söyler; birini bırakın',
    badRound: '{where}: {value} olamaz; şunlardan biri olmalı: {allowed}',
    badRoundMode: '{where}: {value} olamaz; nearest, up ya da down olmalı',
    roundModeAlone: '{where}: price.round olmadan hiçbir etkisi yok',
    minAboveMax: '{where}: {min}, price.max değerinden ({max}) büyük; hiçbir fiyat geçemez',
    emptyOverrideKey: '{where}: stok kodu ya da barkod boş',
    noWarehouses: '{where}: liste boş, bu yüzden hiçbir stok sayılmaz; tüm depoların sayılması için bu kuralı kaldırın',
    noPatterns: '{where}: kalıp listesi boş',
    notMap: '{where}: ayar grubu (anahtar: değer) olmalı, {value} değil',
    unknownRule: '{where}: bilinmeyen kural; {parent} altında şunlar olabilir: {allowed}',
    unknownRootRule: '{where}: bilinmeyen kural; geçerli kurallar: {allowed}',
    notList: '{where}: {value} bir liste değil',
    notPath: '{where}: {value} bir yol değil',
    empty: '{where}: yol boş',
    malformed: '{where}: "{path}" geçerli bir yol değil; price5, attributes.list_price ya da variants[].price gibi yazın',
    manyVariants: '{where}: "{path}" içinde birden fazla [] var (bir aday tek bir varyanttır)',
    notSingle: '{where}: {value} olamaz; tek bir değer olmalı',
    notNumber: '{where}: {value} bir sayı değil',
    notPrice: '{where}: {value} geçerli bir fiyat değil (0\'dan büyük, 10.000.000\'dan küçük, en fazla iki ondalık basamak)',
    notCount: '{where}: {value} geçerli bir adet değil (0 ya da daha büyük bir tam sayı olmalı)',
    notBoolean: '{where}: {value} olamaz; true ya da false olmalı',
    emptyValue: 'boş bir değer',
    aList: 'bir liste',
    aMap: 'bir ayar grubu',
  },
});

/** Every problem found in a rules document, each naming the rule: `price.margin: 100 is not below 100%`. */
export class RulesError extends UserError {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[], hint = m('hint')) {
    super(`${m('invalid', { source })}\n${problems.map((p) => `  - ${p}`).join('\n')}`, { code: 'INVALID_RULES', exitCode: ExitCode.config, hint });
    this.name = 'RulesError';
    this.problems = problems;
  }
}

export const noRules: Rules = { mapping: {}, price: undefined, stock: undefined, scope: undefined, targets: {} };

export function hasRules(rules: Rules): boolean {
  return Object.keys(rules.mapping).length > 0 || rules.price !== undefined || rules.stock !== undefined || rules.scope !== undefined
    || Object.keys(rules.targets).length > 0;
}

/**
 * Reads a rules document written in YAML or JSON (JSON is YAML). Scalars are
 * read as text (YAML's failsafe schema), so `99.90` stays 99.90 rather than
 * the float 99.9 and a barcode key keeps its leading zeros.
 */
export function parseRulesText(text: string, source: string): Rules {
  let doc: unknown;
  try {
    doc = parseYaml(text, { schema: 'failsafe' });
  } catch (error) {
    throw new RulesError(source, [m('notReadable', { error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error) })]);
  }
  return parseRules(doc ?? {}, source);
}

/** Validates a rules document (already parsed) and returns it normalized, or throws a RulesError listing every problem. */
export function parseRules(doc: unknown, source: string): Rules {
  const problems: string[] = [];
  const root = object(doc, m('theRules'), problems);
  if (!root) throw new RulesError(source, problems);
  allowKeys(root, ['mapping', 'price', 'stock', 'scope', 'targets'], '', problems);
  const mapping = root.mapping === undefined ? {} : parseMapping(root.mapping, problems);
  const price = root.price === undefined ? undefined : parsePrice(root.price, problems);
  const stock = root.stock === undefined ? undefined : parseStock(root.stock, problems);
  const scope = root.scope === undefined ? undefined : parseScope(root.scope, problems);
  const targets = root.targets === undefined ? {} : parseTargets(root.targets, problems);
  if (stock?.warehouses && !mapping.stock?.perWarehouse) {
    problems.push(m('warehousesNeedRows'));
  }
  if (problems.length > 0) throw new RulesError(source, problems);
  return { mapping, price, stock, scope, targets };
}

/**
 * `targets.<name>`: price and stock rules of one marketplace target, applied
 * after the connection's (a markup for Trendyol only). Each keeps the text it
 * was written as, so a run knows when a target's rules changed.
 */
function parseTargets(value: unknown, problems: string[]): Record<string, TargetRules> {
  const node = object(value, 'targets', problems);
  const targets: Record<string, TargetRules> = {};
  for (const [name, rules] of Object.entries(node ?? {})) {
    const where = `targets.${name}`;
    const section = object(rules, where, problems);
    if (!section) continue;
    allowKeys(section, ['price', 'stock'], `${where}.`, problems);
    targets[name] = {
      price: section.price === undefined ? undefined : parsePrice(section.price, problems, `${where}.`),
      stock: section.stock === undefined ? undefined : parseStock(section.stock, problems, `${where}.`),
      fingerprint: JSON.stringify(section),
    };
  }
  return targets;
}

function parseMapping(value: unknown, problems: string[]): Mapping {
  const node = object(value, 'mapping', problems);
  if (!node) return {};
  allowKeys(node, mappedFields, 'mapping.', problems);
  const mapping: Mapping = {};
  for (const field of mappedFields) {
    if (node[field] === undefined) continue;
    const parsed = parseFieldMapping(node[field], `mapping.${field}`, field === 'stock', problems);
    if (parsed) mapping[field] = parsed;
  }
  return mapping;
}

function parseFieldMapping(value: unknown, where: string, isStock: boolean, problems: string[]): FieldMapping | undefined {
  // `price: price5` and `price: [a, b]` are short for `price: { from: ... }`.
  const node = typeof value === 'string' || Array.isArray(value) ? { from: value } : object(value, where, problems);
  if (!node) return undefined;
  allowKeys(node, isStock ? ['from', 'transform', 'default', 'required', 'perWarehouse'] : ['from', 'transform', 'default', 'required'], `${where}.`, problems);
  const from = node.from === undefined ? [] : paths(node.from, `${where}.from`, problems);
  const fallback = node.default === undefined ? undefined : scalar(node.default, `${where}.default`, problems);
  if (from.length === 0 && fallback === undefined) problems.push(m('needsSource', { where }));
  const transforms = node.transform === undefined ? [] : list(node.transform, `${where}.transform`, problems).flatMap((t, i) => parseTransform(t, `${where}.transform[${i}]`, problems));
  let perWarehouse: FieldMapping['perWarehouse'];
  if (node.perWarehouse !== undefined) {
    const rows = object(node.perWarehouse, `${where}.perWarehouse`, problems);
    if (rows) {
      allowKeys(rows, ['warehouse', 'quantity'], `${where}.perWarehouse.`, problems);
      const warehouse = rows.warehouse === undefined ? [] : paths(rows.warehouse, `${where}.perWarehouse.warehouse`, problems);
      const quantity = rows.quantity === undefined ? [] : paths(rows.quantity, `${where}.perWarehouse.quantity`, problems);
      if (warehouse.length === 0) problems.push(m('noWarehousePath', { where: `${where}.perWarehouse.warehouse` }));
      if (quantity.length === 0) problems.push(m('noQuantityPath', { where: `${where}.perWarehouse.quantity` }));
      perWarehouse = { warehouse, quantity };
    }
  }
  return { from, transforms, fallback, required: node.required === undefined ? false : boolean(node.required, `${where}.required`, problems), perWarehouse };
}

function parseTransform(value: unknown, where: string, problems: string[]): Transform[] {
  if (value === 'trim' || value === 'upper' || value === 'lower' || value === 'decimalComma') return [{ kind: value }];
  const node = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  if (node && Object.keys(node).length === 1 && node.multiply !== undefined) {
    const factor = decimal(node.multiply, `${where}.multiply`, problems);
    return factor ? [{ kind: 'multiply', factor }] : [];
  }
  problems.push(m('notTransform', { where, value: describe(value) }));
  return [];
}

const roundings: readonly Rounding[] = ['none', 'whole', '0.90', '0.99', '0.05'];
const roundModes: readonly RoundMode[] = ['nearest', 'up', 'down'];

function parsePrice(value: unknown, problems: string[], prefix = ''): PriceRules | undefined {
  const node = object(value, `${prefix}price`, problems);
  if (!node) return undefined;
  allowKeys(node, ['vat', 'markup', 'margin', 'add', 'round', 'roundMode', 'min', 'max', 'overrides'], `${prefix}price.`, problems);
  let vat: PriceRules['vat'];
  if (node.vat !== undefined) {
    if (node.vat === 'include' || node.vat === 'exclude') vat = node.vat;
    else problems.push(m('badVat', { where: `${prefix}price.vat`, value: describe(node.vat) }));
  }
  const markup = node.markup === undefined ? undefined : decimal(node.markup, `${prefix}price.markup`, problems);
  if (markup && markup.lte(-100)) problems.push(m('markupTooLow', { where: `${prefix}price.markup`, value: markup.toFixed() }));
  const margin = node.margin === undefined ? undefined : decimal(node.margin, `${prefix}price.margin`, problems);
  if (margin && (margin.lt(0) || margin.gte(100))) {
    problems.push(m('badMargin', { where: `${prefix}price.margin`, value: margin.toFixed() }));
  }
  if (markup && margin) problems.push(m('markupAndMargin', { where: `${prefix}price` }));
  const add = node.add === undefined ? undefined : decimal(node.add, `${prefix}price.add`, problems);
  let round: Rounding = 'none';
  if (node.round !== undefined) {
    const spelled = typeof node.round === 'string' || typeof node.round === 'number' ? String(node.round).trim() : '';
    const plain = toPlainDecimal(spelled);
    const match = roundings.find((r) => r === spelled || (plain !== undefined && /^0\.\d/.test(r) && new Big(r).eq(plain)));
    if (match) round = match;
    else problems.push(m('badRound', { where: `${prefix}price.round`, value: describe(node.round), allowed: roundings.join(', ') }));
  }
  let roundMode: RoundMode = 'nearest';
  if (node.roundMode !== undefined) {
    if ((roundModes as readonly unknown[]).includes(node.roundMode)) roundMode = node.roundMode as RoundMode;
    else problems.push(m('badRoundMode', { where: `${prefix}price.roundMode`, value: describe(node.roundMode) }));
    if (round === 'none') problems.push(m('roundModeAlone', { where: `${prefix}price.roundMode` }));
  }
  const min = node.min === undefined ? undefined : money(node.min, `${prefix}price.min`, problems);
  const max = node.max === undefined ? undefined : money(node.max, `${prefix}price.max`, problems);
  if (min && max && min.gt(max)) problems.push(m('minAboveMax', { where: `${prefix}price.min`, min: min.toFixed(2), max: max.toFixed(2) }));
  const overrides = new Map<string, string>();
  if (node.overrides !== undefined) {
    const entries = object(node.overrides, `${prefix}price.overrides`, problems);
    for (const [key, amount] of Object.entries(entries ?? {})) {
      const where = `${prefix}price.overrides.${key}`;
      if (!key.trim()) problems.push(m('emptyOverrideKey', { where }));
      const parsed = money(amount, where, problems);
      if (parsed) overrides.set(key.trim(), parsed.toFixed(2));
    }
  }
  return { vat, markup, margin, add, round, roundMode, min, max, overrides };
}

function parseStock(value: unknown, problems: string[], prefix = ''): StockRules | undefined {
  const node = object(value, `${prefix}stock`, problems);
  if (!node) return undefined;
  allowKeys(node, prefix ? ['reserve', 'zeroBelow', 'cap'] : ['warehouses', 'reserve', 'zeroBelow', 'cap'], `${prefix}stock.`, problems);
  const warehouses = node.warehouses === undefined ? undefined : list(node.warehouses, `${prefix}stock.warehouses`, problems).map((w, i) => scalar(w, `stock.warehouses[${i}]`, problems) ?? '');
  if (warehouses?.length === 0) problems.push(m('noWarehouses', { where: `${prefix}stock.warehouses` }));
  return {
    warehouses,
    reserve: node.reserve === undefined ? 0 : count(node.reserve, `${prefix}stock.reserve`, problems),
    zeroBelow: node.zeroBelow === undefined ? 0 : count(node.zeroBelow, `${prefix}stock.zeroBelow`, problems),
    cap: node.cap === undefined ? undefined : count(node.cap, `${prefix}stock.cap`, problems),
  };
}

function parseScope(value: unknown, problems: string[]): ScopeRules | undefined {
  const node = object(value, 'scope', problems);
  if (!node) return undefined;
  allowKeys(node, ['include', 'exclude', 'activeOnly'], 'scope.', problems);
  const patterns = (part: 'include' | 'exclude') => {
    const result: Partial<Record<ScopeField, readonly string[]>> = {};
    if (node[part] === undefined) return result;
    const fields = object(node[part], `scope.${part}`, problems);
    if (!fields) return result;
    allowKeys(fields, scopeFields, `scope.${part}.`, problems);
    for (const field of scopeFields) {
      if (fields[field] === undefined) continue;
      const where = `scope.${part}.${field}`;
      const values = list(fields[field], where, problems).map((p, i) => scalar(p, `${where}[${i}]`, problems) ?? '').filter((p) => p.trim() !== '');
      if (values.length === 0) problems.push(m('noPatterns', { where }));
      result[field] = values;
    }
    return result;
  };
  return {
    include: patterns('include'),
    exclude: patterns('exclude'),
    activeOnly: node.activeOnly === undefined ? false : boolean(node.activeOnly, 'scope.activeOnly', problems),
  };
}

function object(value: unknown, where: string, problems: string[]): Record<string, unknown> | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  problems.push(m('notMap', { where, value: describe(value) }));
  return undefined;
}

function allowKeys(node: Record<string, unknown>, allowed: readonly string[], prefix: string, problems: string[]): void {
  for (const key of Object.keys(node)) {
    if (allowed.includes(key)) continue;
    const where = `${prefix}${key}`;
    problems.push(prefix ? m('unknownRule', { where, parent: prefix.slice(0, -1), allowed: allowed.join(', ') }) : m('unknownRootRule', { where, allowed: allowed.join(', ') }));
  }
}

function list(value: unknown, where: string, problems: string[]): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' || typeof value === 'number' || (typeof value === 'object' && value !== null)) return [value];
  problems.push(m('notList', { where, value: describe(value) }));
  return [];
}

function paths(value: unknown, where: string, problems: string[]): Path[] {
  return list(value, where, problems).flatMap((text, i) => {
    const at = Array.isArray(value) ? `${where}[${i}]` : where;
    if (typeof text !== 'string') {
      problems.push(m('notPath', { where: at, value: describe(text) }));
      return [];
    }
    const path = parsePath(text);
    if (typeof path === 'string') {
      problems.push(m(path, { where: at, path: text.trim() }));
      return [];
    }
    return [path];
  });
}

function scalar(value: unknown, where: string, problems: string[]): string | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  problems.push(m('notSingle', { where, value: describe(value) }));
  return undefined;
}

function decimal(value: unknown, where: string, problems: string[]): Big | undefined {
  const plain = typeof value === 'string' || typeof value === 'number' ? toPlainDecimal(value) : undefined;
  if (plain === undefined) {
    problems.push(m('notNumber', { where, value: describe(value) }));
    return undefined;
  }
  return new Big(plain);
}

/** A price: above zero, at most two decimals, below the validator's 10,000,000 limit. */
function money(value: unknown, where: string, problems: string[]): Big | undefined {
  const amount = decimal(value, where, problems);
  if (!amount) return undefined;
  if (amount.lte(0) || amount.gte(10_000_000) || !amount.round(2).eq(amount)) {
    problems.push(m('notPrice', { where, value: amount.toFixed() }));
    return undefined;
  }
  return amount;
}

function count(value: unknown, where: string, problems: string[]): number {
  const text = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
  if (!/^\d{1,9}$/.test(text)) {
    problems.push(m('notCount', { where, value: describe(value) }));
    return 0;
  }
  return Number(text);
}

function boolean(value: unknown, where: string, problems: string[]): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  problems.push(m('notBoolean', { where, value: describe(value) }));
  return false;
}

function describe(value: unknown): string {
  if (value === undefined || value === null || value === '') return m('emptyValue');
  if (Array.isArray(value)) return m('aList');
  if (typeof value === 'object') return m('aMap');
  return JSON.stringify(String(value)).slice(0, 60);
}
