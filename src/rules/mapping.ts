import Big from 'big.js';
import type { ProductCandidate } from '../driver/contract.js';
import { toPlainDecimal } from '../driver/decimal.js';
import type { Issue } from '../model/validated.js';
import { resolvePath } from './path.js';
import { mappedFields } from './types.js';
import type { FieldMapping, MappedField, Mapping, Path, RuleInvalidCode, Transform } from './types.js';

export interface Mapped {
  candidate: ProductCandidate;
  issue: Issue<RuleInvalidCode> | undefined;
}

type Read = { value: unknown } | { issue: Issue<RuleInvalidCode> };

/**
 * Compiles the mapping into one function that overrides the driver's
 * candidate with values read from the raw record. Undefined when nothing is
 * mapped, so the engine does no work for it.
 */
export function compileMapping(mapping: Mapping, warehouses: readonly string[] | undefined): ((record: unknown, candidate: ProductCandidate, variant: number) => Mapped) | undefined {
  const readers = mappedFields.flatMap((field) => {
    const spec = mapping[field];
    return spec ? [{ field, read: fieldReader(field, spec, warehouses === undefined ? undefined : new Set(warehouses.map(warehouseKey))) }] : [];
  });
  if (readers.length === 0) return undefined;
  return (record, candidate, variant) => {
    const mapped: ProductCandidate = { ...candidate };
    let issue: Issue<RuleInvalidCode> | undefined;
    for (const { field, read } of readers) {
      const result = read(record, variant);
      if ('issue' in result) {
        issue ??= result.issue;
        mapped[field] = null;
      } else {
        mapped[field] = result.value as never;
      }
    }
    return { candidate: mapped, issue };
  };
}

function fieldReader(field: MappedField, spec: FieldMapping, warehouses: ReadonlySet<string> | undefined): (record: unknown, variant: number) => Read {
  const where = `mapping.${field}`;
  return (record, variant) => {
    const found = firstValue(record, spec.from, variant);
    if (found === undefined) {
      if (spec.fallback !== undefined) return { value: spec.fallback };
      if (spec.required) {
        const from = spec.from.map((p) => p.text).join(', ');
        return { issue: { code: 'MAPPED_FIELD_MISSING', message: `${where} is required, but the ERP record has no value at ${from}` } };
      }
      return { value: null };
    }
    if (spec.perWarehouse && typeof found.value === 'object' && found.value !== null) {
      return sumWarehouses(found.value, spec, warehouses, variant, where);
    }
    if (typeof found.value === 'object' && found.value !== null) {
      return { issue: { code: 'MAPPED_FIELD_INVALID', message: `${where} reads ${found.path.text}, which holds ${Array.isArray(found.value) ? 'a list' : 'a group of fields'}, not a single value` } };
    }
    return transform(found.value, spec.transforms, where);
  };
}

function firstValue(root: unknown, paths: readonly Path[], variant: number): { value: unknown; path: Path } | undefined {
  for (const path of paths) {
    const value = resolvePath(root, path, variant);
    if (value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '')) return { value, path };
  }
  return undefined;
}

function transform(value: unknown, transforms: readonly Transform[], where: string): Read {
  let current = value;
  for (const step of transforms) {
    switch (step.kind) {
      case 'trim':
        current = String(current).trim();
        break;
      case 'upper':
        current = String(current).toLocaleUpperCase('tr');
        break;
      case 'lower':
        current = String(current).toLocaleLowerCase('tr');
        break;
      case 'decimalComma':
        // An unreadable number is left as it is, for the validator to report as not a number.
        current = toPlainDecimal(current, 'tr') ?? current;
        break;
      case 'multiply': {
        const plain = toPlainDecimal(current);
        if (plain === undefined) {
          return { issue: { code: 'MAPPED_FIELD_INVALID', message: `${where}: cannot multiply ${JSON.stringify(String(current)).slice(0, 40)}, which is not a number` } };
        }
        current = new Big(plain).times(step.factor).toFixed();
        break;
      }
    }
  }
  return { value: current };
}

/**
 * Adds up the quantities of the warehouses that count. Rows are a list of
 * objects (`[{ warehouse: 1, stock: 5 }]`) or a map of warehouse → quantity
 * (`{ "Merkez": 5 }`). A quantity that is not a number becomes the stock as
 * it is, so the validator reports it instead of the sum hiding it.
 */
function sumWarehouses(rows: object, spec: FieldMapping, warehouses: ReadonlySet<string> | undefined, variant: number, where: string): Read {
  const { warehouse, quantity } = spec.perWarehouse!;
  const entries: [unknown, unknown][] = Array.isArray(rows)
    ? rows.map((row) => [firstValue(row, warehouse, variant)?.value, firstValue(row, quantity, variant)?.value])
    : Object.entries(rows);
  let total = new Big(0);
  for (const [id, amount] of entries) {
    if (warehouses && (id === undefined || typeof id === 'object' || !warehouses.has(warehouseKey(String(id))))) continue;
    if (amount === undefined || amount === null || amount === '') continue;
    const read = transform(amount, spec.transforms, where);
    if ('issue' in read) return read;
    const plain = toPlainDecimal(read.value);
    if (plain === undefined) return read;
    total = total.plus(plain);
  }
  return { value: total.toFixed() };
}

function warehouseKey(id: string): string {
  return id.normalize('NFC').trim().toLocaleLowerCase('tr');
}
