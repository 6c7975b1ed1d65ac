import { compileMapping } from './mapping.js';
import { compilePrice, compileStock } from './price.js';
import { compileScope } from './scope.js';
import type { Rules } from './types.js';

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
