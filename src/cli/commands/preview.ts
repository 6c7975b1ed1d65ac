import { previewConnection } from '../../engine/preview.js';
import type { ConnectionPreview, PreviewOffer, PreviewTarget } from '../../engine/preview.js';
import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { loadRules } from '../../rules/store.js';
import { redact } from '../../secrets/redact.js';
import { driverOf, selectConnections } from '../connections.js';
import { openContext } from '../context.js';
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
    target: '→ {target}: {offer}',
    targetOffer: 'price {price} · stock {stock}',
    refused: 'refused, not sent: {code}: {message}',
    raw: 'read',
    rawCut: '… (--json shows all of it)',
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
    target: '→ {target}: {offer}',
    targetOffer: 'fiyat {price} · stok {stock}',
    refused: 'reddedilir, gönderilmez: {code}: {message}',
    raw: 'okunan',
    rawCut: '… (tamamını --json gösterir)',
  },
});

export interface PreviewOptions {
  connection?: string;
  limit?: number;
  barcode?: string[];
  json?: boolean;
}

/** `erp-sync preview`: pulls pages until it has enough products, shows them at each step, changes nothing. */
export async function previewCommand(options: PreviewOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openContext();
  try {
    const selected = selectConnections(ctx.config, options.connection);
    const previews: ConnectionPreview[] = [];
    for (const connection of selected) {
      const preview = await previewConnection({
        connection, driver: driverOf(connection), rules: loadRules(ctx.home, connection.name), secrets: ctx.secretStore(connection.secretStore),
        limit: options.limit ?? 20, barcodes: options.barcode ?? [], targets: ctx.config.targetsOf(connection),
      });
      previews.push(preview);
      if (!out.json) for (const line of renderPreview(preview)) out.line(line);
    }
    if (out.json) out.document({ previews });
    return ExitCode.ok;
  } finally {
    ctx.close();
  }
}

/** What one target would receive: the offer after its rules, and the marketplace's own fields when it has them. */
function targetLine(t: PreviewTarget): string {
  if (!t.offer) return m('target', { target: t.target, offer: m('refused', { code: t.problem?.code ?? '', message: t.problem?.message ?? '' }) });
  const fields = t.fields ? `  ${JSON.stringify(t.fields)}` : '';
  const warnings = t.warnings.map((w) => `  (${w.code}: ${w.message})`).join('');
  return m('target', { target: t.target, offer: `${m('targetOffer', { price: t.offer.price, stock: t.offer.stock })}${fields}${warnings}` });
}
/** How much of the record read is shown in the terminal; --json has all of it. */
const RAW_WIDTH = 600;

function renderPreview(preview: ConnectionPreview): string[] {
  const lines = [m('header', { connection: preview.connection, count: preview.items.length }), ''];
  const cell = (value: unknown) => (value === undefined || value === null || value === '' ? '—' : typeof value === 'string' ? value : JSON.stringify(value));
  const vat = (o: PreviewOffer | null) => (o ? `${o.vatRate}% ${o.priceIncludesVat ? 'incl.' : 'excl.'}` : '—');
  for (const item of preview.items) {
    const status = m(item.outcome);
    lines.push(`${item.barcode || '—'}  ${item.sku || '—'}  ${redact(item.name)}  [${status}]`);
    const raw = redact(JSON.stringify(item.raw) ?? '');
    lines.push(`  ${m('raw').padEnd(9)}${raw.length > RAW_WIDTH ? raw.slice(0, RAW_WIDTH) + m('rawCut') : raw}`);
    const rows: [string, unknown, unknown, unknown][] = [
      ['price', item.erp.price, item.normalized?.price, item.pushed?.price],
      ['stock', item.erp.stock, item.normalized?.stock, item.pushed?.stock],
      ['KDV', `${cell(item.erp.vatRate)}${item.erp.priceIncludesVat === false ? ' excl.' : item.erp.priceIncludesVat ? ' incl.' : ''}`, vat(item.normalized), vat(item.pushed)],
      ['currency', item.erp.currency, item.normalized?.currency, item.pushed?.currency],
    ];
    lines.push(`  ${''.padEnd(9)}${m('erp').padEnd(20)}${m('normalized').padEnd(20)}${m('pushed')}`);
    for (const [label, erp, normalized, pushed] of rows) lines.push(`  ${label.padEnd(9)}${cell(erp).padEnd(20)}${cell(normalized).padEnd(20)}${cell(pushed)}`);
    if (item.reason) lines.push(`  → ${item.reason.code}: ${item.reason.message}`);
    for (const t of item.targets) lines.push(`  ${targetLine(t)}`);
    lines.push('');
  }
  if (preview.notFound.length > 0) lines.push(m('notFound', { barcodes: preview.notFound.join(', ') }));
  return lines;
}
