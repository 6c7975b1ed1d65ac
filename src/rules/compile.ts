import { compileMapping } from './mapping.js';
import { compilePrice, compileStock } from './price.js';
import { compileScope } from './scope.js';
import type { Offer } from '../model/product.js';
import type { Issue } from '../model/validated.js';
import type { RuleInvalidCode, Rules, TargetRules } from './types.js';

/** A connection's rules as the steps of the product pipeline (src/engine/pipeline.ts), each absent when no rule asks for it. */
export type CompiledRules = {
  map: ReturnType<typeof compileMapping>;
  scope: ReturnType<typeof compileScope>;
  price: ReturnType<typeof compilePrice>;
  stock: ReturnType<typeof compileStock>;
};

/** Compiles the rules once per run; undefined when there are none, so the pipeline does nothing more than validate. */
export function compileRules(rules: Rules): CompiledRules | undefined {
  const steps = {
    map: compileMapping(rules.mapping, rules.stock?.warehouses),
    scope: compileScope(rules.scope),
    price: compilePrice(rules.price),
    stock: compileStock(rules.stock),
  };
  return steps.map || steps.scope || steps.price || steps.stock ? steps : undefined;
}

/** One target's rules as a step on an offer: the offer that target gets, or why it cannot have one. */
export type CompiledTargetRules = (offer: Offer) => { ok: true; offer: Offer } | { ok: false; problem: Issue<RuleInvalidCode> };

/** Compiles a target's own price and stock rules; undefined when it has none. */
export function compileTargetRules(rules: TargetRules | undefined): CompiledTargetRules | undefined {
  const price = compilePrice(rules?.price);
  const stock = compileStock(rules?.stock);
  if (!price && !stock) return undefined;
  return (offer) => {
    let result = offer;
    if (price) {
      const priced = price({ ...offer, vatRate: String(offer.vatRate) });
      if (!priced.ok) return { ok: false, problem: priced.issue };
      result = { ...result, price: priced.price, priceIncludesVat: priced.priceIncludesVat };
    }
    if (stock) result = { ...result, stock: stock(result.stock) };
    return { ok: true, offer: result };
  };
}
