import chalk from 'chalk';
import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages, formatMoney } from '../../i18n/index.js';
import { explainProduct } from '../../store/queries.js';
import type { AcknowledgedOffer, ItemStateRow, ProductExplanation, StagedProduct, WaitingBatch } from '../../store/queries.js';
import { requireConnectionOrHistory } from '../connections.js';
import { openContext } from '../context.js';
import { outcomeLabel, plainMessage, stageLabel } from '../../report/labels.js';
import { page } from '../pager.js';
import { formatTime } from '../when.js';

export interface ExplainOptions {
  connection?: string;
  json?: boolean;
}

const m = defineMessages({
  en: {
    notFound: 'no product with the barcode or stock code "{key}" in the latest pull, the offers or the log',
    notFoundHint: '`erp-sync logs --search TEXT` finds products by part of a barcode, stock code or name.',
    erp: 'ERP (latest pull)',
    notInPull: 'not in the latest pull',
    valid: 'valid',
    invalid: 'invalid: {code}',
    values: 'price {price} ({vat}) · stock {stock} · {active}',
    vatIncluded: 'KDV %{rate} included',
    vatExcluded: 'KDV %{rate} excluded',
    activeYes: 'active',
    activeNo: 'inactive',
    record: 'ERP record',
    marketplace: '{target} (last answer {time}, run #{run})',
    neverPushed: '{target}: never pushed',
    said: '{target} said: {code} {message}',
    offerId: 'offer id {id}',
    now: 'Now',
    history: 'History',
    noHistory: 'no events kept',
    vAwaiting: 'sent to {target} at {time} (its id {ticket}); waiting for its answer per item, which the next run asks for',
    vNotListed: '{target} does not list this barcode; sent again when it changes in the ERP, or with `erp-sync retry --target {target} --barcode {barcode}`',
    vWaiting: 'waiting for retry: batch #{batch} from run #{run}, {attempts} attempts{error}; it is sent again on the next run',
    vFailed: 'not delivered; it is sent again on the next run',
    vParked: 'parked as a dead letter: the marketplace did not take it in repeated attempts; it is sent again when it changes in the ERP, or with `erp-sync retry --connection {connection} --barcode {barcode}`',
    vInvalid: 'not sent: the ERP data must be fixed first',
    vRejected: 'rejected by the marketplace; sent again only after it changes in the ERP',
    vPending: 'waiting for the marketplace’s approval',
    vVanished: 'no longer in the ERP; the offer was set to stock 0 and inactive',
    vVanishing: 'no longer in the ERP; the next complete run sets its offer to stock 0 and inactive',
    vChanged: 'changed in the ERP since the last push; the next run sends it',
    vNew: 'new; the next run sends it',
    vInSync: 'in sync: the marketplace has what the ERP says',
  },
  tr: {
    notFound: 'son çekimde, tekliflerde ya da kayıtlarda "{key}" barkodlu veya stok kodlu ürün yok',
    notFoundHint: '`erp-sync logs --search METİN` ürünleri barkod, stok kodu ya da adın bir parçasıyla bulur.',
    erp: 'ERP (son çekim)',
    notInPull: 'son çekimde yok',
    valid: 'geçerli',
    invalid: 'geçersiz: {code}',
    values: 'fiyat {price} ({vat}) · stok {stock} · {active}',
    vatIncluded: 'KDV %{rate} dahil',
    vatExcluded: 'KDV %{rate} hariç',
    activeYes: 'aktif',
    activeNo: 'pasif',
    record: 'ERP kaydı',
    marketplace: '{target} (son yanıt {time}, çalışma #{run})',
    neverPushed: '{target}: hiç gönderilmedi',
    said: '{target} yanıtı: {code} {message}',
    offerId: 'teklif no {id}',
    now: 'Şu an',
    history: 'Geçmiş',
    noHistory: 'saklanan kayıt yok',
    vAwaiting: '{time} tarihinde {target} hedefine gönderildi (numarası {ticket}); ürün bazında yanıtı bekleniyor, bir sonraki çalışma sorar',
    vNotListed: '{target} bu barkodu listelemiyor; ERP’de değişince ya da `erp-sync retry --target {target} --barcode {barcode}` ile yeniden gönderilir',
    vWaiting: 'tekrar denenecek: #{run} çalışmasının #{batch} paketi, {attempts} deneme{error}; bir sonraki çalışmada yeniden gönderilir',
    vFailed: 'iletilemedi; bir sonraki çalışmada yeniden gönderilir',
    vParked: 'bekletmede: pazaryeri tekrarlanan denemelerde almadı; ERP’de değişince ya da `erp-sync retry --connection {connection} --barcode {barcode}` ile yeniden gönderilir',
    vInvalid: 'gönderilmiyor: önce ERP verisi düzeltilmeli',
    vRejected: 'pazaryeri reddetti; ERP’de değişince yeniden gönderilir',
    vPending: 'pazaryerinin onayını bekliyor',
    vVanished: 'artık ERP’de yok; teklifi stok 0 ve pasif yapıldı',
    vVanishing: 'artık ERP’de yok; bir sonraki tam çalışma teklifini stok 0 ve pasif yapar',
    vChanged: 'son gönderimden beri ERP’de değişti; bir sonraki çalışma gönderir',
    vNew: 'yeni; bir sonraki çalışma gönderir',
    vInSync: 'eşit: pazaryerinde ERP’deki bilgiler var',
  },
});

export type Verdict =
  | 'awaiting' | 'waiting' | 'parked' | 'failed' | 'invalid' | 'rejected' | 'not_listed' | 'pending_approval' | 'vanished' | 'vanishing' | 'changed' | 'new'
  | 'in_sync';

/** The one thing a support person needs first: where this product stands now with one marketplace. */
export function verdictOf(staged: StagedProduct | undefined, offer: AcknowledgedOffer | undefined, state: ItemStateRow | undefined, waiting: readonly WaitingBatch[]): Verdict {
  if (waiting.length > 0) return waiting[0]!.submittedAt !== null ? 'awaiting' : 'waiting';
  if (state?.outcome === 'failed') return state.code === 'DEAD_LETTER' ? 'parked' : 'failed';
  if (staged && !staged.valid) return 'invalid';
  if (!staged) return offer && offer.stock === 0 && !offer.active ? 'vanished' : 'vanishing';
  if (!offer) return 'new';
  if (staged.hash !== offer.base) return 'changed';
  if (offer.status === 'rejected') return 'rejected';
  if (offer.status === 'not_listed') return 'not_listed';
  if (offer.status === 'pending_approval') return 'pending_approval';
  return 'in_sync';
}

const verdictKey = {
  awaiting: 'vAwaiting', not_listed: 'vNotListed', waiting: 'vWaiting', parked: 'vParked', failed: 'vFailed', invalid: 'vInvalid', rejected: 'vRejected', pending_approval: 'vPending', vanished: 'vVanished',
  vanishing: 'vVanishing', changed: 'vChanged', new: 'vNew', in_sync: 'vInSync',
} as const;

/** "1.249,90 ₺" in Turkish, "1,249.90 TRY" in English; the stored price is a plain decimal string. */
function money(price: string | null, currency: string | null): string {
  return price === null ? '-' : formatMoney(price, currency ?? '');
}

function values(p: { price: string | null; currency: string | null; vatRate: string | null; priceIncludesVat: boolean | null; stock: number | null; active: boolean | null }): string {
  return m('values', {
    price: money(p.price, p.currency),
    vat: m(p.priceIncludesVat ? 'vatIncluded' : 'vatExcluded', { rate: p.vatRate ?? '-' }),
    stock: p.stock ?? '-',
    active: m(p.active ? 'activeYes' : 'activeNo'),
  });
}

/** Where the product stands with one marketplace target. */
export interface TargetExplanation {
  target: string;
  verdict: Verdict;
  acknowledged: AcknowledgedOffer | null;
  state: ItemStateRow | null;
  waiting: WaitingBatch[];
}

export interface ConnectionExplanation {
  connection: string;
  staged: StagedProduct | null;
  /** What the pull found wrong with it, when anything: it concerns every target. */
  state: ItemStateRow | null;
  targets: TargetExplanation[];
}

/**
 * Groups the explanation by connection and barcode, and within each by
 * target: the connection's configured targets (`targetsOf`), beside every
 * target that has a record of the product.
 */
function byConnection(found: ProductExplanation, targetsOf: (connection: string) => readonly string[]): ConnectionExplanation[] {
  const keys = new Map<string, { connection: string; barcode: string | null }>();
  const add = (connection: string, barcode: string | null) => keys.set(`${connection}\u0000${barcode ?? ''}`, { connection, barcode });
  for (const s of found.staged) add(s.connection, s.barcode);
  for (const a of found.acknowledged) add(a.connection, a.barcode);
  for (const s of found.state) add(s.connection, s.barcode);
  return [...keys.values()].map(({ connection, barcode }) => {
    const staged = found.staged.find((s) => s.connection === connection && s.barcode === barcode);
    const mine = <T extends { connection: string; barcode?: string | null; target: string }>(rows: T[], target: string) =>
      rows.filter((r) => r.connection === connection && r.target === target && (r.barcode === undefined || r.barcode === barcode));
    const pullState = mine(found.state, '')[0];
    const names = [...new Set([
      ...targetsOf(connection),
      ...[...found.acknowledged, ...found.state].filter((r) => r.connection === connection && r.barcode === barcode && r.target !== '').map((r) => r.target),
      ...found.waiting.filter((w) => w.connection === connection).map((w) => w.target),
    ])].sort();
    const targets = names.map((target) => {
      const acknowledged = mine(found.acknowledged, target)[0];
      const state = mine(found.state, target)[0] ?? pullState;
      const waiting = mine(found.waiting, target);
      return { target, acknowledged: acknowledged ?? null, state: state ?? null, waiting, verdict: verdictOf(staged, acknowledged, state, waiting) };
    });
    return { connection, staged: staged ?? null, state: pullState ?? null, targets };
  });
}

/** `erp-sync explain <barcode|sku>`: everything known about one product. */
export async function explainCommand(key: string, options: ExplainOptions): Promise<ExitCode> {
  const ctx = openContext();
  let found: ProductExplanation;
  let targetsOf: (connection: string) => readonly string[];
  try {
    const db = ctx.db();
    if (options.connection !== undefined) requireConnectionOrHistory(ctx.config, db, options.connection);
    found = explainProduct(db, key, { connection: options.connection });
    const targets = ctx.config.targets();
    const configured = new Map(ctx.config.connections().map((c) => [c.name, ctx.config.targetsOf(c, targets).map((t) => t.name)]));
    targetsOf = (connection) => configured.get(connection) ?? [];
  } finally {
    ctx.close();
  }
  if (found.staged.length + found.acknowledged.length + found.state.length + found.history.length === 0) {
    throw new UserError(m('notFound', { key }), { code: 'NOT_FOUND', exitCode: ExitCode.usage, hint: m('notFoundHint') });
  }
  const connections = byConnection(found, targetsOf);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ key, connections, history: found.history }, null, 2)}\n`);
    return ExitCode.ok;
  }
  await page(renderExplanation(connections, found));
  return ExitCode.ok;
}

function renderTarget(connection: string, barcode: string, t: TargetExplanation): string[] {
  const lines: string[] = [];
  const w = t.waiting[0];
  const verdict = m(verdictKey[t.verdict], {
    batch: String(w?.outboxId ?? ''), run: String(w?.runId ?? ''), attempts: w?.attempts ?? 0, error: w?.lastError ? ` (${w.lastError})` : '',
    time: w?.submittedAt ? formatTime(w.submittedAt) : '', ticket: w?.ticket ?? '-', connection, barcode, target: t.target,
  });
  const colour = t.verdict === 'in_sync' ? chalk.green
    : t.verdict === 'changed' || t.verdict === 'new' || t.verdict === 'pending_approval' || t.verdict === 'awaiting' ? chalk.yellow : chalk.red;
  const a = t.acknowledged;
  if (a) {
    lines.push(`  ${m('marketplace', { target: t.target, time: formatTime(a.ackedAt), run: String(a.runId ?? '-') })}: ${outcomeLabel(a.status)}${a.offerId ? ` · ${m('offerId', { id: a.offerId })}` : ''}`);
    lines.push(`    ${values(a)}`);
    if (a.errorCode || a.errorMessage) lines.push(`    ${m('said', { target: t.target, code: a.errorCode ?? '', message: a.errorMessage ?? '' })}`);
  } else {
    lines.push(`  ${m('neverPushed', { target: t.target })}`);
  }
  lines.push(`    ${m('now')}: ${colour(verdict)}`);
  return lines;
}

function renderExplanation(connections: ConnectionExplanation[], found: ProductExplanation): string[] {
  const lines: string[] = [];
  for (const c of connections) {
    const any = c.staged ?? c.state ?? c.targets.find((t) => t.acknowledged)?.acknowledged;
    lines.push(chalk.bold(`${c.connection}  ${any?.barcode ?? '-'}  ${any?.sku ?? '-'}  ${any?.name ?? ''}`));

    if (c.staged) {
      const s = c.staged;
      lines.push(`  ${m('erp')}: ${s.valid ? chalk.green(m('valid')) : chalk.red(m('invalid', { code: s.errorCode ?? '' }))}`);
      if (!s.valid && s.errorCode) lines.push(`    ${plainMessage('invalid', s.errorCode)}`);
      if (s.valid) lines.push(`    ${values(s)}`);
      if (s.raw !== null) {
        const raw = typeof s.raw === 'string' ? s.raw : JSON.stringify(s.raw);
        lines.push(chalk.dim(`    ${m('record')}: ${raw.length > 600 ? `${raw.slice(0, 600)}…` : raw}`));
      }
    } else {
      lines.push(`  ${m('erp')}: ${m('notInPull')}`);
    }

    for (const t of c.targets) lines.push(...renderTarget(c.connection, any?.barcode ?? '', t));
    lines.push('');
  }
  lines.push(chalk.bold(m('history')));
  if (found.history.length === 0) lines.push(`  ${m('noHistory')}`);
  for (const e of found.history) {
    lines.push(`  ${formatTime(e.at)}  #${e.runId}  ${e.target ? `${e.connection} → ${e.target}` : e.connection}  ${stageLabel(e.stage)}  ${outcomeLabel(e.outcome)}${e.code ? `  ${e.code}` : ''}${e.message ? chalk.dim(`  ${e.message}`) : ''}`);
  }
  return lines;
}
