import type { ConnectionConfig } from '../../config/config.js';
import { createDriverContext } from '../../driver/context.js';
import type { ProductCandidate } from '../../driver/contract.js';
import { resolveSecrets } from '../../engine/secrets.js';
import type { Validated } from '../../model/validated.js';
import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { recordExplainer } from '../../engine/pipeline.js';
import type { Evaluation } from '../../engine/pipeline.js';
import { loadRules } from '../../rules/store.js';
import { redact } from '../../secrets/redact.js';
import { driverOf, selectConnections } from '../connections.js';
import { openContext } from '../context.js';
import type { CliContext } from '../context.js';
import { createOutput } from '../output.js';

const m = defineMessages({
  en: {
    header: '{connection}: {count} products, as the ERP sends them, normalized, and as they would be pushed after rules (nothing is changed)',
    erp: 'ERP',
    normalized: 'normalized',
    pushed: 'pushed',
    push: 'to push',
    invalid: 'invalid',
    heldBack: 'held back',
    outOfScope: 'out of scope, not pushed (an offer already on the marketplace is set to stock 0 and inactive once)',
    notFound: 'Not found in the ERP: {barcodes}',
  },
  tr: {
    header: '{connection}: {count} ürün; ERP’den geldiği, normalleştirildiği ve kurallardan sonra gönderileceği hâliyle (hiçbir şey değiştirilmez)',
    erp: 'ERP',
    normalized: 'normalleştirilmiş',
    pushed: 'gönderilecek',
    push: 'gönderilecek',
    invalid: 'geçersiz',
    heldBack: 'bekletilir',
    outOfScope: 'kapsam dışı, gönderilmez (pazaryerindeki teklifi bir kez stok 0 ve pasif yapılır)',
    notFound: 'ERP’de bulunamadı: {barcodes}',
  },
});

export interface PreviewOptions {
  connection?: string;
  limit?: number;
  barcode?: string[];
  json?: boolean;
}

type Outcome = 'push' | 'invalid' | 'heldBack' | 'outOfScope';
type Offer = { price: string; currency: string; vatRate: string; priceIncludesVat: boolean; stock: number; active: boolean };

export interface PreviewItem {
  barcode: string;
  sku: string;
  name: string;
  outcome: Outcome;
  /** Why it is not pushed: the code and message of the problem, or the scope rule that leaves it out. */
  reason: { code: string; message: string } | null;
  /** The values as the ERP sent them (after the mapping, before validation). */
  erp: Pick<ProductCandidate, 'price' | 'currency' | 'vatRate' | 'priceIncludesVat' | 'stock' | 'active' | 'brand' | 'category'>;
  normalized: Offer | null;
  pushed: Offer | null;
}

export interface ConnectionPreview {
  connection: string;
  items: PreviewItem[];
  notFound: string[];
}

/** `erp-sync preview`: pulls pages until it has enough products, shows them at each step, changes nothing. */
export async function previewCommand(options: PreviewOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openContext();
  try {
    const selected = selectConnections(ctx.config, options.connection);
    const previews: ConnectionPreview[] = [];
    for (const connection of selected) {
      const preview = await previewConnection(ctx, connection, options.limit ?? 20, options.barcode ?? []);
      previews.push(preview);
      if (!out.json) for (const line of renderPreview(preview)) out.line(line);
    }
    if (out.json) out.document({ previews });
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}

async function previewConnection(ctx: CliContext, connection: ConnectionConfig, limit: number, barcodes: readonly string[]): Promise<ConnectionPreview> {
  const driver = driverOf(connection);
  const explain = recordExplainer(driver, loadRules(ctx.home, connection.name));
  const secrets = await resolveSecrets(connection.name, driver.fields, ctx.secretStore(connection.secretStore));
  // Stops the pages still being fetched once the sample is complete.
  const enough = new AbortController();
  const driverCtx = createDriverContext({
    driver, connection: connection.name, baseUrl: connection.baseUrl, settings: connection.settings, secrets, signal: enough.signal,
  });
  const wanted = new Set(barcodes);
  const items: PreviewItem[] = [];
  const done = () => (wanted.size > 0 ? [...wanted].every((b) => items.some((i) => i.barcode === b)) : items.length >= limit);
  try {
    for await (const page of driver.pullPages(driverCtx)) {
      for (const record of page.records) {
        for (const evaluation of explain(record, driverCtx)) {
          const item = previewItem(evaluation);
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

function previewItem(evaluation: Evaluation): PreviewItem {
  const { candidate, normalized, staged, outOfScope } = evaluation;
  const identity = normalized.ok ? normalized.product : normalized;
  const outcome: Outcome = outOfScope !== undefined ? 'outOfScope' : !normalized.ok ? 'invalid' : staged?.ok ? 'push' : 'heldBack';
  const problem = !normalized.ok ? normalized.issue : staged && !staged.ok ? staged.issue : undefined;
  return {
    barcode: identity.barcode ?? '',
    sku: identity.sku,
    name: identity.name,
    outcome,
    reason: outOfScope !== undefined ? { code: 'OUT_OF_SCOPE', message: outOfScope } : problem ? { code: problem.code, message: problem.message } : null,
    erp: {
      price: candidate.price, currency: candidate.currency, vatRate: candidate.vatRate, priceIncludesVat: candidate.priceIncludesVat,
      stock: candidate.stock, active: candidate.active, brand: candidate.brand, category: candidate.category,
    },
    normalized: offer(normalized),
    pushed: outcome === 'push' ? offer(staged!) : null,
  };
}

function offer(validated: Validated): Offer | null {
  if (!validated.ok) return null;
  const { price, currency, vatRate, priceIncludesVat, stock, active } = validated.product;
  return { price, currency, vatRate, priceIncludesVat, stock, active };
}

function renderPreview(preview: ConnectionPreview): string[] {
  const lines = [m('header', { connection: preview.connection, count: preview.items.length }), ''];
  const cell = (value: unknown) => (value === undefined || value === null || value === '' ? '—' : typeof value === 'string' ? value : JSON.stringify(value));
  const vat = (o: Offer | null) => (o ? `${o.vatRate}% ${o.priceIncludesVat ? 'incl.' : 'excl.'}` : '—');
  for (const item of preview.items) {
    const status = m(item.outcome);
    lines.push(`${item.barcode || '—'}  ${item.sku || '—'}  ${redact(item.name)}  [${status}]`);
    const rows: [string, unknown, unknown, unknown][] = [
      ['price', item.erp.price, item.normalized?.price, item.pushed?.price],
      ['stock', item.erp.stock, item.normalized?.stock, item.pushed?.stock],
      ['KDV', `${cell(item.erp.vatRate)}${item.erp.priceIncludesVat === false ? ' excl.' : item.erp.priceIncludesVat ? ' incl.' : ''}`, vat(item.normalized), vat(item.pushed)],
      ['currency', item.erp.currency, item.normalized?.currency, item.pushed?.currency],
    ];
    lines.push(`  ${''.padEnd(9)}${m('erp').padEnd(20)}${m('normalized').padEnd(20)}${m('pushed')}`);
    for (const [label, erp, normalized, pushed] of rows) lines.push(`  ${label.padEnd(9)}${cell(erp).padEnd(20)}${cell(normalized).padEnd(20)}${cell(pushed)}`);
    if (item.reason) lines.push(`  → ${item.reason.code}: ${item.reason.message}`);
    lines.push('');
  }
  if (preview.notFound.length > 0) lines.push(m('notFound', { barcodes: preview.notFound.join(', ') }));
  return lines;
}
