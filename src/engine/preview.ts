import type { ConnectionConfig, TargetConfig } from '../config/config.js';
import { offerOf } from '../model/product.js';
import type { Offer } from '../model/product.js';
import type { Driver, ProductCandidate } from '../driver/contract.js';
import type { Validated } from '../model/validated.js';
import type { Rules } from '../rules/types.js';
import type { SecretStore } from '../secrets/store.js';
import { recordExplainer } from './pipeline.js';
import type { Evaluation } from './pipeline.js';
import { openPull } from './pull.js';
import { shaperFor } from './shape.js';
import type { Shaper } from './shape.js';

export type PreviewOutcome = 'push' | 'invalid' | 'heldBack' | 'outOfScope';
/** The values of a product at one step. */
export type PreviewOffer = { price: string; currency: string; vatRate: string; priceIncludesVat: boolean; stock: number; active: boolean };

export interface PreviewItem {
  barcode: string;
  sku: string;
  name: string;
  outcome: PreviewOutcome;
  /** Why it is not pushed: the code and message of the problem, or the scope rule that leaves it out. */
  reason: { code: string; message: string } | null;
  /** The record as the driver read it (an API's JSON, the table rows of an on-premise ERP), before the mapping. */
  raw: unknown;
  /** The values as the ERP sent them (after the mapping, before validation). */
  erp: Pick<ProductCandidate, 'price' | 'currency' | 'vatRate' | 'priceIncludesVat' | 'stock' | 'active' | 'brand' | 'category'>;
  normalized: PreviewOffer | null;
  pushed: PreviewOffer | null;
  /** For an offer to push: what each marketplace target would receive, after its own rules, or why it would refuse it. */
  targets: PreviewTarget[];
}

/** One target's view of an offer: the offer after its rules and, for Trendyol, Hepsiburada or N11, the fields sent. */
export interface PreviewTarget {
  target: string;
  kind: string;
  offer: Offer | null;
  fields: Readonly<Record<string, string | number | boolean>> | null;
  problem: { code: string; message: string } | null;
  warnings: { code: string; message: string }[];
}

export interface ConnectionPreview {
  connection: string;
  items: PreviewItem[];
  notFound: string[];
}

/**
 * Pulls pages until it has `limit` products (or every barcode asked for),
 * and shows each at every step: the record the driver read, as the ERP sends
 * it after the mapping, normalized, and as it would be pushed after the
 * rules. Changes nothing.
 */
export async function previewConnection(request: {
  connection: ConnectionConfig; driver: Driver; rules: Rules; secrets: SecretStore; limit: number; barcodes: readonly string[];
  targets: readonly TargetConfig[];
}): Promise<ConnectionPreview> {
  const { connection, driver, limit, barcodes } = request;
  const shapers = request.targets.map((config) => ({ config, shaper: shaperFor(config, request.rules.targets[config.name]) }));
  const explain = recordExplainer(driver, request.rules);
  // Stops the pages still being fetched once the sample is complete.
  const enough = new AbortController();
  const driverCtx = await openPull({ connection, driver, secrets: request.secrets, signal: enough.signal });
  const wanted = new Set(barcodes);
  const items: PreviewItem[] = [];
  const done = () => (wanted.size > 0 ? [...wanted].every((b) => items.some((i) => i.barcode === b)) : items.length >= limit);
  try {
    for await (const page of driver.pullPages(driverCtx)) {
      for (const record of page.records) {
        for (const evaluation of explain(record, driverCtx)) {
          const item = previewItem(evaluation, record, shapers);
          if (wanted.size > 0 ? wanted.has(item.barcode) : items.length < limit) items.push(item);
        }
        if (done()) break;
      }
      if (done()) break;
    }
  } catch (error) {
    if (!enough.signal.aborted) throw error;
  } finally {
    enough.abort();
    await driverCtx.close();
  }
  return { connection: connection.name, items, notFound: [...wanted].filter((b) => !items.some((i) => i.barcode === b)) };
}

function previewItem(evaluation: Evaluation, raw: unknown, shapers: readonly { config: TargetConfig; shaper: Shaper }[]): PreviewItem {
  const { candidate, normalized, staged, outOfScope } = evaluation;
  const identity = normalized.ok ? normalized.product : normalized;
  const outcome: PreviewOutcome = outOfScope !== undefined ? 'outOfScope' : !normalized.ok ? 'invalid' : staged?.ok ? 'push' : 'heldBack';
  const problem = !normalized.ok ? normalized.issue : staged && !staged.ok ? staged.issue : undefined;
  return {
    barcode: identity.barcode ?? '',
    sku: identity.sku,
    name: identity.name,
    outcome,
    reason: outOfScope !== undefined ? { code: 'OUT_OF_SCOPE', message: outOfScope } : problem ? { code: problem.code, message: problem.message } : null,
    raw,
    erp: {
      price: candidate.price, currency: candidate.currency, vatRate: candidate.vatRate, priceIncludesVat: candidate.priceIncludesVat,
      stock: candidate.stock, active: candidate.active, brand: candidate.brand, category: candidate.category,
    },
    normalized: offer(normalized),
    pushed: outcome === 'push' ? offer(staged!) : null,
    targets: outcome === 'push' && staged?.ok ? shapers.map(({ config, shaper }) => previewTarget(config, shaper, offerOf(staged.product))) : [],
  };
}

function previewTarget(config: TargetConfig, shaper: Shaper, offer: Offer): PreviewTarget {
  const shaped = shaper.preview(offer);
  const base = { target: config.name, kind: config.kind };
  if (!shaped.ok) return { ...base, offer: null, fields: null, problem: { ...shaped.problem }, warnings: [] };
  return { ...base, offer: shaped.offer, fields: shaped.item?.fields ?? null, problem: null, warnings: shaped.warnings.map((w) => ({ ...w })) };
}

function offer(validated: Validated): PreviewOffer | null {
  if (!validated.ok) return null;
  const { price, currency, vatRate, priceIncludesVat, stock, active } = validated.product;
  return { price, currency, vatRate, priceIncludesVat, stock, active };
}
