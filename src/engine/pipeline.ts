import type { Driver, MapContext, ProductCandidate } from '../driver/contract.js';
import type { NormalizedProduct } from '../model/product.js';
import { identify } from '../model/product.js';
import { validateCandidate } from './validate.js';
import type { Issue, Validated } from '../model/validated.js';
import { compileRules } from '../rules/compile.js';
import type { CompiledRules } from '../rules/compile.js';
import type { RuleInvalidCode, Rules } from '../rules/types.js';

/** One raw ERP record in, the products a run stages out: mapped, in scope, validated, priced. */
export type ProductPipeline = (record: unknown, ctx: MapContext) => Validated[];

/** How one candidate fared, step by step, for `erp-sync preview`. */
export interface Evaluation {
  /** After the mapping, before validation: the values as the ERP sent them. */
  candidate: ProductCandidate;
  /** Validated, before price and stock rules. */
  normalized: Validated;
  /** Why the product is left out, or undefined when it is in scope. */
  outOfScope: string | undefined;
  /** What a run stages (undefined when out of scope): the offer as pushed, or why it is held back. */
  staged: Validated | undefined;
}

/**
 * The product pipeline: the driver's mapping, the rules' mapping and scope,
 * validation, then the rules' price and stock, with the rules compiled once
 * per run. Without rules it is the driver's mapping and the validator and
 * nothing else: no copy, no lookup per product. Out-of-scope products are
 * not staged at all, so the diff sees them as vanished (pushed once as stock
 * 0 and inactive, counted by the mass-vanish guard) and they are never
 * reported as invalid.
 */
export function productPipeline(driver: Driver, rules: Rules): ProductPipeline {
  const steps = compileRules(rules);
  if (!steps) return (record, ctx) => driver.mapRecord(record, ctx).map((candidate) => validateCandidate(candidate));
  return (record, ctx) => {
    const candidates = driver.mapRecord(record, ctx);
    const products: Validated[] = [];
    for (let i = 0; i < candidates.length; i++) {
      const mapped = steps.map ? steps.map(record, candidates[i]!, i) : { candidate: candidates[i]!, issue: undefined };
      if (steps.scope?.(mapped.candidate) !== undefined) continue;
      products.push(finish(steps, mapped.issue ? invalid(mapped.candidate, mapped.issue) : validateCandidate(mapped.candidate)));
    }
    return products;
  };
}

/** The same steps as `productPipeline`, keeping every intermediate value. */
export function recordExplainer(driver: Driver, rules: Rules): (record: unknown, ctx: MapContext) => Evaluation[] {
  const steps = compileRules(rules);
  return (record, ctx) =>
    driver.mapRecord(record, ctx).map((original, i) => {
      const mapped = steps?.map ? steps.map(record, original, i) : { candidate: original, issue: undefined };
      const outOfScope = steps?.scope?.(mapped.candidate);
      const normalized = mapped.issue ? invalid(mapped.candidate, mapped.issue) : validateCandidate(mapped.candidate);
      return { candidate: mapped.candidate, normalized, outOfScope, staged: outOfScope !== undefined ? undefined : steps ? finish(steps, normalized) : normalized };
    });
}

function finish(steps: CompiledRules, validated: Validated): Validated {
  if (!validated.ok) return validated;
  let product = validated.product;
  if (steps.price) {
    const priced = steps.price(product);
    if (!priced.ok) return invalid(product, priced.issue);
    product = { ...product, price: priced.price, priceIncludesVat: priced.priceIncludesVat };
  }
  if (steps.stock) product = { ...product, stock: steps.stock(product.stock) };
  return { ok: true, product, warnings: validated.warnings };
}

function invalid(product: ProductCandidate | NormalizedProduct, issue: Issue<RuleInvalidCode>): Validated {
  const { barcode, sku, name } = identify(product);
  return { ok: false, issue, barcode: barcode || undefined, sku, name };
}
