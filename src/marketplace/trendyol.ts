import type { FieldSpec } from '../driver/contract.js';
import type { HttpClient } from '../http/client.js';
import { HttpError } from '../http/errors.js';
import { defineMessages } from '../i18n/index.js';
import { failedItem, objectsIn, reasonsOf, refusalOf, sameNumber, unusableAnswer, wordsInBody } from './outcomes.js';
import { choiceSetting, grossTryPrice, invalidSetting, jsonWithDecimals, requiredSecret, requiredSetting, settingValue, stockToSend } from './projection.js';
import { SubmitRefused } from './target.js';
import type { CurrentState, ItemOutcome, PollAnswer, TargetAdapter, TargetContext, TargetItem } from './target.js';

/**
 * Trendyol's stock and price API (/work/shared/marketplace-apis.md §1,
 * developers.trendyol.com): one POST of up to 1,000 barcodes answers a
 * `batchRequestId`; the batch's result, read by that id for 4 hours, has a
 * status per item and none for the batch. Only products Trendyol has
 * approved can be updated; nothing here creates one.
 */

const MARKET = 'Trendyol';
/** Trendyol's most stock for one product. */
const MAX_STOCK = 20_000;
/** Barcodes one inventory-and-price read takes. */
const BARCODES_PER_READ = 50;
const MONEY = new Set(['salePrice', 'listPrice']);
/** The answer to an identical body within 15 minutes: "you may not send the same request repeatedly for 15 minutes". */
const DUPLICATE = /15 dakika boyunca aynı isteği|aynı isteği tekrarlı/i;

const m = defineMessages({
  en: {
    duplicate: 'Trendyol refused the batch of {count} items as the same request sent again within 15 minutes: the earlier one was received. Trendyol said: "{text}"',
    notListedTodo: 'Create it on Trendyol (the seller panel, or the createProducts API) and wait for its approval: Trendyol updates approved products only, and erp-sync does not create products.',
    sellerIdNotNumber: 'is not a number; it is the seller number Trendyol shows under Hesap Bilgilerim → Entegrasyon Bilgileri',
    integratorInvalid: 'must be letters and digits only, at most 30 of them (Trendyol\'s rule for the User-Agent); SelfIntegration when you integrate yourself',
  },
  tr: {
    duplicate: 'Trendyol {count} ürünlük paketi, 15 dakika içinde yeniden gönderilen aynı istek olarak reddetti: önceki istek alınmıştı. Trendyol yanıtı: "{text}"',
    notListedTodo: 'Ürünü Trendyol’da oluşturun (satıcı paneli ya da createProducts API’si) ve onaylanmasını bekleyin: Trendyol yalnızca onaylı ürünleri günceller, erp-sync ürün oluşturmaz.',
    sellerIdNotNumber: 'bir sayı değil; Trendyol’un Hesap Bilgilerim → Entegrasyon Bilgileri altında gösterdiği satıcı numarasıdır',
    integratorInvalid: 'yalnızca harf ve rakamdan oluşmalı, en fazla 30 karakter (Trendyol’un User-Agent kuralı); kendiniz entegre ediyorsanız SelfIntegration',
  },
});

const LIST_PRICE_MODES = ['sale', 'keep'] as const;

const fields = {
  sellerId: {
    name: 'sellerId', label: 'Seller ID', labelTr: 'Satıcı ID', secret: false, required: true, kind: 'integer',
    help: {
      en: 'Your seller number: in the Trendyol seller panel, Hesap Bilgilerim → Entegrasyon Bilgileri (admin users only).',
      tr: 'Satıcı numaranız: Trendyol satıcı panelinde Hesap Bilgilerim → Entegrasyon Bilgileri (yalnızca yönetici kullanıcılar görür).',
    },
  },
  apiKey: {
    name: 'apiKey', label: 'API key', labelTr: 'API anahtarı', secret: true, required: true, kind: 'text',
    help: { en: 'API Key, on the same Entegrasyon Bilgileri page.', tr: 'Aynı Entegrasyon Bilgileri sayfasındaki API Key.' },
  },
  apiSecret: {
    name: 'apiSecret', label: 'API secret', labelTr: 'API gizli anahtarı', secret: true, required: true, kind: 'text',
    help: { en: 'API Secret, on the same Entegrasyon Bilgileri page.', tr: 'Aynı Entegrasyon Bilgileri sayfasındaki API Secret.' },
  },
  integrator: {
    name: 'integrator', label: 'Integrator name', labelTr: 'Entegratör adı', secret: false, required: true, kind: 'text', default: 'SelfIntegration',
    help: {
      en: 'Sent in the User-Agent Trendyol requires ("{seller ID} - {integrator}"): SelfIntegration when you integrate yourself; letters and digits, at most 30.',
      tr: 'Trendyol’un zorunlu tuttuğu User-Agent başlığında gönderilir ("{satıcı ID} - {entegratör}"): kendiniz entegre ediyorsanız SelfIntegration; harf ve rakam, en fazla 30 karakter.',
    },
  },
  listPrice: {
    name: 'listPrice', label: 'List price (struck-through)', labelTr: 'Liste fiyatı (üstü çizili)', secret: false, required: false, kind: 'choice', choices: LIST_PRICE_MODES, default: 'sale',
    help: {
      en: 'sale: send the sale price as the list price too, so no price is shown struck through; keep: send the sale price only and leave the list price as set on Trendyol (Trendyol refuses a sale price above it).',
      tr: 'sale: satış fiyatı liste fiyatı olarak da gönderilir, üstü çizili fiyat görünmez; keep: yalnızca satış fiyatı gönderilir, liste fiyatı Trendyol’da ayarlandığı gibi kalır (Trendyol bunun üstündeki satış fiyatını reddeder).',
    },
  },
} satisfies Record<string, FieldSpec>;

interface BatchResult {
  items?: unknown;
  itemCount?: unknown;
}

interface BatchItem {
  requestItem?: { barcode?: unknown };
  status?: unknown;
  failureReasons?: unknown;
}

interface InventoryPage {
  content?: unknown;
  totalPages?: unknown;
}

export const trendyol = {
  kind: 'trendyol',
  name: MARKET,
  fields: Object.values(fields),
  defaultBaseUrl: 'https://apigw.trendyol.com/integration',
  maxBatch: 1000,
  // 50 requests in 10 s per endpoint is the documented floor (429 beyond it); since
  // 14 Sep 2026 stock and price writes have 350 a minute at the lowest tier and polls
  // count against the (larger) read group. One limiter serves all of a run's requests,
  // so the floor keeps every group within its limit at every tier.
  rateLimit: { requests: 50, perMs: 10_000 },
  resultRetentionMs: 4 * 3_600_000,
  // The 15-minute window for an identical body, and five minutes for a batch still in Trendyol's queue.
  settleMs: 20 * 60_000,
  pollIntervalMs: 5_000,

  project(offer, settings) {
    const price = grossTryPrice(offer, MARKET);
    if (!price.ok) return { ok: false, problem: price.problem };
    const stock = stockToSend(offer, MARKET, MAX_STOCK);
    const keepListPrice = choiceSetting('trendyol', settings, fields.listPrice) === 'keep';
    const sent: Record<string, string | number> = { barcode: offer.barcode, quantity: stock.stock, salePrice: price.price };
    if (!keepListPrice) sent.listPrice = price.price;
    return { ok: true, item: { barcode: offer.barcode, key: offer.barcode, fields: sent }, warnings: [...price.warnings, ...stock.warnings] };
  },

  open(ctx) {
    return new TrendyolSession(ctx);
  },
} satisfies TargetAdapter;

class TrendyolSession {
  readonly #http: HttpClient;
  readonly #headers: Record<string, string>;
  readonly #seller: string;

  constructor(ctx: TargetContext) {
    const sellerId = requiredSetting(ctx.target, ctx.settings, fields.sellerId);
    if (!/^\d+$/.test(sellerId)) throw invalidSetting(ctx.target, fields.sellerId, sellerId, m('sellerIdNotNumber'));
    const integrator = settingValue(ctx.settings, fields.integrator);
    if (!/^[A-Za-z0-9]{1,30}$/.test(integrator)) throw invalidSetting(ctx.target, fields.integrator, integrator, m('integratorInvalid'));
    choiceSetting(ctx.target, ctx.settings, fields.listPrice);
    const apiKey = requiredSecret(ctx.target, ctx.secrets, fields.apiKey);
    const apiSecret = requiredSecret(ctx.target, ctx.secrets, fields.apiSecret);
    this.#http = ctx.http;
    this.#seller = sellerId;
    this.#headers = {
      authorization: `Basic ${Buffer.from(`${apiKey}:${apiSecret}`, 'utf8').toString('base64')}`,
      'user-agent': `${sellerId} - ${integrator}`,
    };
  }

  async test(): Promise<void> {
    await this.#readInventory([], 0, 1);
  }

  async submit(items: readonly TargetItem[]): Promise<string> {
    const path = `/inventory/sellers/${this.#seller}/products/price-and-inventory`;
    try {
      const response = await this.#http.request<{ batchRequestId?: unknown }>({
        method: 'POST',
        path,
        headers: this.#headers,
        jsonText: jsonWithDecimals({ items: items.map((item) => item.fields) }, MONEY),
        retry: 'unsent',
        retryUnreadable: false,
      });
      const id = response.data?.batchRequestId;
      if (typeof id !== 'string' || id === '') throw unusableAnswer(this.#http.service, this.#http.url(path));
      return id;
    } catch (error) {
      const text = error instanceof HttpError && error.status !== undefined && error.status >= 400 && error.status < 500 ? wordsInBody(error.body) : '';
      if (DUPLICATE.test(text)) throw new SubmitRefused('duplicate', m('duplicate', { count: items.length, text }), text);
      throw refusalOf(error, MARKET, items.length);
    }
  }

  async poll(ticket: string, items: readonly TargetItem[]): Promise<PollAnswer> {
    let result: BatchResult | undefined;
    try {
      ({ data: result } = await this.#http.request<BatchResult>({ path: `/product/sellers/${this.#seller}/products/batch-requests/${encodeURIComponent(ticket)}`, headers: this.#headers }));
    } catch (error) {
      // Trendyol keeps a batch's result for 4 hours; after that the id is unknown.
      if (error instanceof HttpError && error.status === 404) return { state: 'expired' };
      throw error;
    }
    const results = objectsIn<BatchItem>(result?.items);
    const expected = typeof result?.itemCount === 'number' ? result.itemCount : items.length;
    // No status for the batch as a whole: it is done when every item has one.
    if (results.length < expected || results.some((r) => !/^(success|failed)$/i.test(String(r.status ?? '')))) return { state: 'pending' };
    const byBarcode = new Map(items.map((item) => [item.barcode, item]));
    const outcomes: ItemOutcome[] = [];
    for (const r of results) {
      const item = byBarcode.get(String(r.requestItem?.barcode ?? ''));
      if (!item) continue;
      if (/^success$/i.test(String(r.status))) {
        outcomes.push({ barcode: item.barcode, status: 'applied' });
        continue;
      }
      const reasons = reasonsOf(r.failureReasons);
      outcomes.push(failedItem(MARKET, item, m('notListedTodo'), reasons));
    }
    return { state: 'done', outcomes };
  }

  async current(items: readonly TargetItem[]): Promise<Map<string, CurrentState>> {
    const chunks: TargetItem[][] = [];
    for (let i = 0; i < items.length; i += BARCODES_PER_READ) chunks.push(items.slice(i, i + BARCODES_PER_READ));
    const states = new Map<string, CurrentState>();
    await Promise.all(
      chunks.map(async (chunk) => {
        const found = await this.#variants(chunk.map((item) => item.barcode));
        for (const item of chunk) {
          const variant = found.get(item.barcode);
          states.set(item.barcode, variant === undefined ? 'not_listed' : sameValues(item, variant) ? 'matches' : 'differs');
        }
      }),
    );
    return states;
  }

  /** The approved variants with these barcodes, a page at a time until all are found or the pages end. */
  async #variants(barcodes: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    for (let page = 0, pages = 1; page < pages; page++) {
      const answer = await this.#readInventory(barcodes, page, BARCODES_PER_READ);
      for (const content of objectsIn<{ variants?: unknown }>(answer?.content)) {
        for (const variant of objectsIn<Record<string, unknown>>(content.variants)) {
          if (barcodes.includes(String(variant.barcode))) found.set(String(variant.barcode), variant);
        }
      }
      pages = typeof answer?.totalPages === 'number' ? answer.totalPages : 1;
      if (found.size === barcodes.length) break;
    }
    return found;
  }

  async #readInventory(barcodes: readonly string[], page: number, size: number): Promise<InventoryPage | undefined> {
    const { data } = await this.#http.request<InventoryPage>({
      path: `/product/sellers/${this.#seller}/products/approved/inventory-and-price`,
      query: { barcodes: barcodes.length > 0 ? barcodes.join(',') : undefined, page, size },
      headers: this.#headers,
    });
    return data;
  }
}

/** Whether Trendyol holds what was sent: every field sent but the barcode, compared as numbers (a price as a decimal). */
function sameValues(item: TargetItem, variant: Record<string, unknown>): boolean {
  return Object.entries(item.fields).every(([name, sent]) => name === 'barcode' || sameNumber(variant[name], sent));
}
