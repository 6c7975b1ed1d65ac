import Big from 'big.js';
import type { FieldSpec } from '../driver/contract.js';
import type { HttpClient } from '../http/client.js';
import { HttpError } from '../http/errors.js';
import { defineMessages, formatMoney } from '../i18n/index.js';
import { TargetCode } from './codes.js';
import { failedItem, objectsIn, reasonsOf, refusalOf, rejected, sameNumber, unusableAnswer } from './outcomes.js';
import { grossTryPrice, invalidSetting, jsonWithDecimals, requiredSecret, requiredSetting, stockCode, stockToSend } from './projection.js';
import type { CurrentState, ItemOutcome, PollAnswer, TargetAdapter, TargetContext, TargetItem } from './target.js';

/**
 * Hepsiburada's listing API (/work/shared/marketplace-apis.md §2): a listing
 * is found by our stock code (merchantSku); its price and its stock are
 * separate uploads, each answering an id whose result is read later, with
 * per-item failures in `errors[]` (and, for prices, `priceValidations[]`)
 * by `elementNo`. What the documentation leaves open is read in the safest
 * way: see each place below and the README's Hepsiburada section.
 */

const MARKET = 'Hepsiburada';
const MONEY = new Set(['price']);
/** Stock codes one listings read asks for; the answer is paged in any case. */
const SKUS_PER_READ = 100;

const m = defineMessages({
  en: {
    notListedTodo: 'Create the product in the Hepsiburada catalog and match it to a listing with this stock code (merchantSku): the listing API only updates listings, and erp-sync does not create them.',
    priceLocked: 'the price {price} is outside the band Hepsiburada allows for this product{band}. Change the price in the ERP, or ask Hepsiburada to lift the limit.',
    band: ' ({min} – {max})',
    notGuid: 'is not a merchant ID: Hepsiburada\'s is a GUID such as 3f95e71f-c39e-4266-9eb4-c154807e87f7',
    agentShape: 'looks like "merchant ID - name", which Hepsiburada refuses: it is the developer (integrator) username Hepsiburada gave you, alone',
  },
  tr: {
    notListedTodo: 'Ürünü Hepsiburada kataloğunda oluşturup bu stok koduyla (merchantSku) bir ilanla eşleştirin: listeleme API’si yalnızca ilanları günceller, erp-sync ilan oluşturmaz.',
    priceLocked: '{price} fiyatı, Hepsiburada’nın bu ürün için izin verdiği aralığın dışında{band}. ERP’de fiyatı değiştirin ya da Hepsiburada’dan sınırı kaldırmasını isteyin.',
    band: ' ({min} – {max})',
    notGuid: 'bir mağaza ID’si değil: Hepsiburada’nınki 3f95e71f-c39e-4266-9eb4-c154807e87f7 gibi bir GUID’dir',
    agentShape: 'Hepsiburada’nın reddettiği "mağaza ID - ad" biçiminde: Hepsiburada’nın size verdiği geliştirici (entegratör) kullanıcı adını tek başına yazın',
  },
});

const fields = {
  merchantId: {
    name: 'merchantId', label: 'Merchant ID', labelTr: 'Mağaza ID (Merchant ID)', secret: false, required: true, kind: 'text',
    help: {
      en: 'Your merchant ID (a GUID), in the Hepsiburada merchant panel\'s integration information.',
      tr: 'Mağaza ID’niz (bir GUID); Hepsiburada satıcı panelindeki entegrasyon bilgilerinde.',
    },
  },
  serviceKey: {
    name: 'serviceKey', label: 'Service key', labelTr: 'Servis anahtarı', secret: true, required: true, kind: 'text',
    help: {
      en: 'The service key (Servis Anahtarı) Hepsiburada gives each merchant, beside the merchant ID.',
      tr: 'Hepsiburada’nın her mağazaya mağaza ID’sinin yanında verdiği Servis Anahtarı.',
    },
  },
  userAgent: {
    name: 'userAgent', label: 'Developer username (User-Agent)', labelTr: 'Geliştirici kullanıcı adı (User-Agent)', secret: false, required: true, kind: 'text',
    help: {
      en: 'The integrator (developer) username Hepsiburada gave you, sent as the User-Agent every request needs; the name alone, not "merchant ID - name".',
      tr: 'Hepsiburada’nın size verdiği entegratör (geliştirici) kullanıcı adı; her istekte zorunlu User-Agent olarak gönderilir. "mağaza ID - ad" değil, yalnızca ad.',
    },
  },
} satisfies Record<string, FieldSpec>;

/** One upload's result (the GET by id). */
interface UploadResult {
  status?: unknown;
  errors?: unknown;
  priceValidations?: unknown;
}

interface UploadError {
  elementNo?: unknown;
  merchantSku?: unknown;
  errors?: unknown;
  type?: unknown;
  minPrice?: unknown;
  maxPrice?: unknown;
  description?: unknown;
}

interface Listing {
  merchantSku?: unknown;
  price?: unknown;
  availableStock?: unknown;
  isFulfilledByHB?: unknown;
}

/**
 * What `submit` hands back to poll with: both upload ids, and which items
 * (by index) were left out of the stock upload because Hepsiburada's
 * warehouse holds their stock. `stock` is null when every item was left out,
 * `failed` when the stock upload was not queued.
 */
interface Ticket {
  price: string;
  stock: string | null | 'failed';
  fulfilledByHB: number[];
}

/**
 * Upload status words. Hepsiburada does not document them; clients guess
 * PROCESSING / COMPLETED / FAILED / COMPLETED_WITH_ERRORS. Compared without
 * case, spaces, dashes or underscores. A word in neither list reads as
 * pending: the engine reconciles from current values once the result's
 * retention has passed, so an unknown word delays, and never misreports.
 */
const FINISHED = new Set(['COMPLETED', 'COMPLETE', 'DONE', 'FINISHED', 'SUCCESS', 'SUCCEEDED', 'SUCCESSFUL', 'PROCESSED', 'COMPLETEDWITHERRORS', 'PARTIALLYCOMPLETED', 'PARTIALSUCCESS', 'PARTIALLYSUCCEEDED']);
const FAILED = new Set(['FAILED', 'FAILURE', 'ERROR', 'REJECTED']);

export const hepsiburada = {
  kind: 'hepsiburada',
  name: MARKET,
  fields: Object.values(fields),
  defaultBaseUrl: 'https://listing-external.hepsiburada.com',
  // Not documented; one client caps an upload at 1,000 items, another claims 4,000.
  maxBatch: 1000,
  // Not documented for stock and price uploads; half the tightest limit Hepsiburada
  // documents elsewhere (commissions, 240 a minute), as its catalog API bans the IP
  // of a client that goes over.
  rateLimit: { requests: 120, perMs: 60_000 },
  // Clients report results kept for 24 hours or more; after 4 without one
  // (an upload status never seen before reads as pending) the engine reconciles.
  resultRetentionMs: 4 * 3_600_000,
  settleMs: 20 * 60_000,
  pollIntervalMs: 10_000,

  project(offer) {
    const code = stockCode(offer, MARKET);
    if (!code.ok) return { ok: false, problem: code.problem };
    const price = grossTryPrice(offer, MARKET);
    if (!price.ok) return { ok: false, problem: price.problem };
    const stock = stockToSend(offer, MARKET);
    return {
      ok: true,
      item: { barcode: offer.barcode, key: code.key, fields: { merchantSku: code.key, availableStock: stock.stock, price: price.price } },
      warnings: [...price.warnings, ...stock.warnings],
    };
  },

  open(ctx) {
    return new HepsiburadaSession(ctx);
  },
} satisfies TargetAdapter;

class HepsiburadaSession {
  readonly #http: HttpClient;
  readonly #headers: Record<string, string>;
  readonly #prefix: string;

  constructor(ctx: TargetContext) {
    const merchantId = requiredSetting(ctx.target, ctx.settings, fields.merchantId);
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(merchantId)) throw invalidSetting(ctx.target, fields.merchantId, merchantId, m('notGuid'));
    const userAgent = requiredSetting(ctx.target, ctx.settings, fields.userAgent);
    if (/\s-\s/.test(userAgent)) throw invalidSetting(ctx.target, fields.userAgent, userAgent, m('agentShape'));
    const serviceKey = requiredSecret(ctx.target, ctx.secrets, fields.serviceKey);
    this.#http = ctx.http;
    this.#prefix = `/listings/merchantid/${merchantId}`;
    this.#headers = { authorization: `Basic ${Buffer.from(`${merchantId}:${serviceKey}`, 'utf8').toString('base64')}`, 'user-agent': userAgent };
  }

  async test(): Promise<void> {
    await this.#http.request({ path: this.#prefix, query: { offset: 0, limit: 1 }, headers: this.#headers });
  }

  /**
   * The price upload first, then the stock upload. A price refused as a
   * whole (400) queued nothing, so the batch is refused and can be split. If
   * the stock upload then fails, the prices are queued all the same: the
   * ticket says so, and its poll leaves those items out, so the engine reads
   * their current values and sends the stock again. Listings whose stock
   * Hepsiburada's warehouse holds (isFulfilledByHB) get their price only.
   */
  async submit(items: readonly TargetItem[]): Promise<string> {
    const listings = await this.#listings(items.map((item) => item.key));
    const fulfilledByHB = items.flatMap((item, index) => (listings.get(item.key)?.isFulfilledByHB === true ? [index] : []));
    const stockItems = items.filter((_, index) => !fulfilledByHB.includes(index));
    let price: string;
    try {
      price = await this.#upload('price-uploads', items.map((item) => ({ merchantSku: item.key, price: item.fields.price })));
    } catch (error) {
      throw refusalOf(error, MARKET, items.length);
    }
    let stock: Ticket['stock'] = null;
    if (stockItems.length > 0) {
      stock = await this.#upload('stock-uploads', stockItems.map((item) => ({ merchantSku: item.key, availableStock: item.fields.availableStock }))).catch((error: unknown) => {
        if (error instanceof HttpError) return 'failed' as const;
        throw error;
      });
    }
    return JSON.stringify({ price, stock, fulfilledByHB } satisfies Ticket);
  }

  async poll(ticket: string, items: readonly TargetItem[]): Promise<PollAnswer> {
    const { price, stock, fulfilledByHB } = JSON.parse(ticket) as Ticket;
    const [priceResult, stockResult] = await Promise.all([
      this.#result('price-uploads', price),
      stock === null || stock === 'failed' ? Promise.resolve(undefined) : this.#result('stock-uploads', stock),
    ]);
    if (priceResult === 'expired' || stockResult === 'expired') return { state: 'expired' };
    if (!finished(priceResult) || (stockResult !== undefined && !finished(stockResult))) return { state: 'pending' };

    const stockIndices = items.flatMap((_, index) => (fulfilledByHB.includes(index) ? [] : [index]));
    const prices = readFailures(priceResult, items, items.map((_, index) => index));
    const stocks = stockResult === undefined ? { failures: new Map<number, Failure>(), unplaced: false } : readFailures(stockResult, items, stockIndices);
    // A failure that names no item we sent leaves every item of that upload without a trustworthy result.
    const priceKnown = !prices.unplaced && !FAILED.has(word(priceResult.status));
    const stockKnown = stock !== 'failed' && !stocks.unplaced && (stockResult === undefined || !FAILED.has(word(stockResult.status)));

    const outcomes: ItemOutcome[] = [];
    items.forEach((item, index) => {
      const failure = mergeFailures(prices.failures.get(index), stocks.failures.get(index));
      if (failure) outcomes.push(outcomeOf(item, failure));
      else if (priceKnown && (stockKnown || fulfilledByHB.includes(index))) outcomes.push({ barcode: item.barcode, status: 'applied' });
    });
    return { state: 'done', outcomes };
  }

  async current(items: readonly TargetItem[]): Promise<Map<string, CurrentState>> {
    const listings = await this.#listings(items.map((item) => item.key));
    const states = new Map<string, CurrentState>();
    for (const item of items) {
      const listing = listings.get(item.key);
      if (!listing) states.set(item.barcode, 'not_listed');
      // Hepsiburada's warehouse holds the stock of a listing it fulfils: only the price is ours.
      else states.set(item.barcode, sameNumber(listing.price, item.fields.price) && (listing.isFulfilledByHB === true || sameNumber(listing.availableStock, item.fields.availableStock)) ? 'matches' : 'differs');
    }
    return states;
  }

  async #upload(kind: 'price-uploads' | 'stock-uploads', entries: unknown[]): Promise<string> {
    const path = `${this.#prefix}/${kind}`;
    const response = await this.#http.request<{ id?: unknown }>({ method: 'POST', path, headers: this.#headers, jsonText: jsonWithDecimals(entries, MONEY), retry: 'unsent', retryUnreadable: false });
    const id = response.data?.id;
    if ((typeof id !== 'string' && typeof id !== 'number') || id === '') throw unusableAnswer(this.#http.service, this.#http.url(path));
    return String(id);
  }

  async #result(kind: 'price-uploads' | 'stock-uploads', id: string): Promise<UploadResult | 'expired'> {
    try {
      const { data } = await this.#http.request<UploadResult>({ path: `${this.#prefix}/${kind}/id/${encodeURIComponent(id)}`, headers: this.#headers });
      return data ?? {};
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) return 'expired';
      throw error;
    }
  }

  /** The listings of these stock codes, by stock code: a page at a time until all are found or Hepsiburada's count is reached. */
  async #listings(codes: readonly string[]): Promise<Map<string, Listing>> {
    const found = new Map<string, Listing>();
    const chunks: string[][] = [];
    for (let i = 0; i < codes.length; i += SKUS_PER_READ) chunks.push(codes.slice(i, i + SKUS_PER_READ));
    await Promise.all(
      chunks.map(async (chunk) => {
        for (let offset = 0; ; ) {
          const { data } = await this.#http.request<{ listings?: unknown; totalCount?: unknown }>({
            path: this.#prefix,
            query: { offset, limit: SKUS_PER_READ, merchantSkuList: chunk.join(',') },
            headers: this.#headers,
          });
          const page = objectsIn<Listing>(data?.listings);
          for (const listing of page) if (chunk.includes(String(listing.merchantSku))) found.set(String(listing.merchantSku), listing);
          offset += page.length;
          if (page.length === 0 || typeof data?.totalCount !== 'number' || offset >= data.totalCount || chunk.every((code) => found.has(code))) break;
        }
      }),
    );
    return found;
  }
}

interface Failure {
  reasons: string[];
  /** From priceValidations: the band the price was outside of. */
  locked?: { min: unknown; max: unknown };
}

/**
 * The failures in one upload's result, by the index of the item in the
 * batch: found by merchantSku where the entry names it, else by elementNo
 * (0-based, as clients read it) in the upload's own order (`sent`: the batch
 * index of each upload entry). `unplaced`: an entry named no item we sent.
 */
function readFailures(result: UploadResult, items: readonly TargetItem[], sent: readonly number[]): { failures: Map<number, Failure>; unplaced: boolean } {
  const failures = new Map<number, Failure>();
  let unplaced = false;
  const place = (entry: UploadError): number | undefined => {
    if (typeof entry.merchantSku === 'string' && entry.merchantSku !== '') {
      const index = items.findIndex((item) => item.key === entry.merchantSku);
      return index >= 0 ? index : undefined;
    }
    return typeof entry.elementNo === 'number' ? sent[entry.elementNo] : undefined;
  };
  const add = (entry: UploadError, failure: Failure) => {
    const index = place(entry);
    if (index === undefined) unplaced = true;
    else failures.set(index, mergeFailures(failures.get(index), failure)!);
  };
  for (const entry of objectsIn<UploadError>(result.errors)) add(entry, { reasons: reasonsOf(entry.errors) });
  for (const entry of objectsIn<UploadError>(result.priceValidations)) {
    add(entry, { reasons: [typeof entry.description === 'string' ? entry.description : String(entry.type ?? '')], locked: { min: entry.minPrice, max: entry.maxPrice } });
  }
  return { failures, unplaced };
}

function mergeFailures(a: Failure | undefined, b: Failure | undefined): Failure | undefined {
  if (!a || !b) return a ?? b;
  const locked = a.locked ?? b.locked;
  return { reasons: [...new Set([...a.reasons, ...b.reasons])], ...(locked ? { locked } : {}) };
}

function outcomeOf(item: TargetItem, failure: Failure): ItemOutcome {
  if (failure.locked) {
    const { min, max } = failure.locked;
    const band = typeof min === 'number' && typeof max === 'number' ? m('band', { min: formatMoney(new Big(min).toFixed(2), 'TRY'), max: formatMoney(new Big(max).toFixed(2), 'TRY') }) : '';
    const why = m('priceLocked', { price: formatMoney(String(item.fields.price), 'TRY'), band });
    return rejected(MARKET, item, failure.reasons, { code: TargetCode.PRICE_LOCKED, why });
  }
  return failedItem(MARKET, item, m('notListedTodo'), failure.reasons);
}

function finished(result: UploadResult): boolean {
  const status = word(result.status);
  return FINISHED.has(status) || FAILED.has(status);
}

function word(status: unknown): string {
  return String(status ?? '').toUpperCase().replace(/[\s_-]/g, '');
}
