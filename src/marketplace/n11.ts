import type { FieldSpec } from '../driver/contract.js';
import type { HttpClient } from '../http/client.js';
import { HttpError } from '../http/errors.js';
import { defineMessages } from '../i18n/index.js';
import { failedItem, joinWords, objectsIn, reasonsOf, refusalOf, refusedWhole, rejected, sameNumber, unusableAnswer } from './outcomes.js';
import { choiceSetting, grossTryPrice, jsonWithDecimals, requiredSecret, requiredSetting, stockCode, stockToSend } from './projection.js';
import type { CurrentState, ItemOutcome, PollAnswer, TargetAdapter, TargetContext, TargetItem } from './target.js';

/**
 * N11's REST price and stock task (/work/shared/marketplace-apis.md §3,
 * developer.n11.com): one POST of up to 1,000 stock codes answers a task id
 * (or REJECT for the whole body); the task's result is read by pages, a
 * status per stock code. Prices go with a dot and exactly two decimals, the
 * list price and the sale price together, so the body is written here as
 * text rather than through JSON.stringify, which would write 12.50 as 12.5.
 */

const MARKET = 'N11';
const MONEY = new Set(['listPrice', 'salePrice']);
/** Task detail lines a page asks for: N11 documents no maximum, so a modest one. */
const DETAIL_PAGE_SIZE = 100;
/** N11's most products in one product-query page. */
const QUERY_PAGE_SIZE = 250;
const CURRENCY_TYPES = ['TL', 'TRY'] as const;

const m = defineMessages({
  en: {
    notListedTodo: 'Create the product on N11 with this stock code (stockCode): erp-sync updates price and stock only, and does not create products.',
  },
  tr: {
    notListedTodo: 'Ürünü N11’de bu stok koduyla (stockCode) oluşturun: erp-sync yalnızca fiyat ve stok günceller, ürün oluşturmaz.',
  },
});

const fields = {
  appKey: {
    name: 'appKey', label: 'API key (appKey)', labelTr: 'API anahtarı (appKey)', secret: true, required: true, kind: 'text',
    help: {
      en: 'From the N11 seller office (so.n11.com), where an admin user creates the API account.',
      tr: 'N11 Satıcı Ofisi’nden (so.n11.com); API hesabını yönetici yetkili bir kullanıcı oluşturur.',
    },
  },
  appSecret: {
    name: 'appSecret', label: 'API secret (appSecret)', labelTr: 'API gizli anahtarı (appSecret)', secret: true, required: true, kind: 'text',
    help: { en: 'Given with the API key (N11 e-mails it when the API account is made).', tr: 'API anahtarıyla birlikte verilir (API hesabı açılınca N11 e-postayla gönderir).' },
  },
  integrator: {
    name: 'integrator', label: 'Integrator name', labelTr: 'Entegratör adı', secret: false, required: true, kind: 'text', default: 'erp-sync',
    help: {
      en: 'Sent with every task; N11 asks that all of a seller\'s requests use the same name.',
      tr: 'Her görevle gönderilir; N11 bir satıcının tüm isteklerinde aynı adın kullanılmasını istiyor.',
    },
  },
  currencyType: {
    name: 'currencyType', label: 'Currency code for Turkish lira', labelTr: 'Türk lirası para birimi kodu', secret: false, required: false, kind: 'choice', choices: CURRENCY_TYPES, default: 'TL',
    help: {
      en: 'How N11 spells Turkish lira in currencyType. N11\'s pages and clients write TL; if N11 refuses it (REJECT naming the currency), set TRY.',
      tr: 'N11’in currencyType alanında Türk lirasının nasıl yazıldığı. N11 sayfaları ve istemciler TL yazıyor; N11 bunu reddederse (para birimini anan bir REJECT), TRY seçin.',
    },
  },
} satisfies Record<string, FieldSpec>;

interface TaskAnswer {
  id?: unknown;
  status?: unknown;
  reasons?: unknown;
}

interface DetailPage {
  status?: unknown;
  reasons?: unknown;
  skus?: { content?: unknown; totalPages?: unknown };
}

interface DetailLine {
  itemCode?: unknown;
  status?: unknown;
  reasons?: unknown;
}

interface ProductPage {
  content?: unknown;
  totalPages?: unknown;
}

interface Product {
  stockCode?: unknown;
  salePrice?: unknown;
  listPrice?: unknown;
  quantity?: unknown;
}

export const n11 = {
  kind: 'n11',
  name: MARKET,
  fields: Object.values(fields),
  defaultBaseUrl: 'https://api.n11.com',
  maxBatch: 1000,
  // Not documented for product tasks (orders: 1,000 a minute); a tenth of that.
  rateLimit: { requests: 100, perMs: 60_000 },
  // Not documented; after 4 hours without a result the engine reconciles from current values.
  resultRetentionMs: 4 * 3_600_000,
  settleMs: 20 * 60_000,
  pollIntervalMs: 5_000,

  project(offer, settings) {
    const code = stockCode(offer, MARKET);
    if (!code.ok) return { ok: false, problem: code.problem };
    const price = grossTryPrice(offer, MARKET);
    if (!price.ok) return { ok: false, problem: price.problem };
    const stock = stockToSend(offer, MARKET);
    // The list price goes with the sale price, equal: N11's page says both "may be equal" and "must be higher".
    const sent = { stockCode: code.key, listPrice: price.price, salePrice: price.price, quantity: stock.stock, currencyType: choiceSetting('n11', settings, fields.currencyType) };
    return { ok: true, item: { barcode: offer.barcode, key: code.key, fields: sent }, warnings: [...price.warnings, ...stock.warnings] };
  },

  open(ctx) {
    return new N11Session(ctx);
  },
} satisfies TargetAdapter;

class N11Session {
  readonly #http: HttpClient;
  readonly #headers: Record<string, string>;
  readonly #integrator: string;

  constructor(ctx: TargetContext) {
    this.#integrator = requiredSetting(ctx.target, ctx.settings, fields.integrator);
    choiceSetting(ctx.target, ctx.settings, fields.currencyType);
    this.#headers = { appkey: requiredSecret(ctx.target, ctx.secrets, fields.appKey), appsecret: requiredSecret(ctx.target, ctx.secrets, fields.appSecret) };
    this.#http = ctx.http;
  }

  async test(): Promise<void> {
    await this.#query({ page: 0, size: 1 });
  }

  async submit(items: readonly TargetItem[]): Promise<string> {
    const path = '/ms/product/tasks/price-stock-update';
    let answer: TaskAnswer | undefined;
    try {
      ({ data: answer } = await this.#http.request<TaskAnswer>({
        method: 'POST',
        path,
        headers: this.#headers,
        jsonText: jsonWithDecimals({ payload: { integrator: this.#integrator, skus: items.map((item) => item.fields) } }, MONEY),
        retry: 'unsent',
        retryUnreadable: false,
      }));
    } catch (error) {
      throw refusalOf(error, MARKET, items.length);
    }
    if (String(answer?.status).toUpperCase() === 'REJECT') throw refusedWhole(MARKET, items.length, 'REJECT', joinWords(reasonsOf(answer?.reasons)));
    const id = answer?.id;
    if ((typeof id !== 'number' && typeof id !== 'string') || id === '') throw unusableAnswer(this.#http.service, this.#http.url(path));
    return String(id);
  }

  async poll(ticket: string, items: readonly TargetItem[]): Promise<PollAnswer> {
    const first = await this.#details(ticket, 0);
    if (first === 'expired') return { state: 'expired' };
    const status = String(first.status ?? '').toUpperCase();
    if (status === 'REJECT') {
      // The task was refused after it was queued: every item with N11's reasons for it.
      const reasons = reasonsOf(first.reasons);
      return { state: 'done', outcomes: items.map((item) => rejected(MARKET, item, reasons)) };
    }
    // IN_QUEUE, or a status N11 has not documented: not done yet.
    if (status !== 'PROCESSED') return { state: 'pending' };
    const lines = objectsIn<DetailLine>(first.skus?.content);
    const pages = typeof first.skus?.totalPages === 'number' ? first.skus.totalPages : 1;
    for (let page = 1; page < pages; page++) {
      const next = await this.#details(ticket, page);
      if (next === 'expired') return { state: 'expired' };
      lines.push(...objectsIn<DetailLine>(next.skus?.content));
    }
    const byCode = new Map(items.map((item) => [item.key, item]));
    const outcomes: ItemOutcome[] = [];
    for (const line of lines) {
      const item = byCode.get(String(line.itemCode ?? ''));
      if (!item) continue;
      if (String(line.status).toUpperCase() === 'SUCCESS') {
        outcomes.push({ barcode: item.barcode, status: 'applied' });
        continue;
      }
      const reasons = reasonsOf(line.reasons);
      outcomes.push(failedItem(MARKET, item, m('notListedTodo'), reasons));
    }
    return { state: 'done', outcomes };
  }

  /**
   * N11's values of these stock codes. One page of the whole catalog says
   * how large it is: when reading it all costs fewer requests than one per
   * stock code still missing, the catalog is read; otherwise each is asked
   * for by its stock code.
   */
  async current(items: readonly TargetItem[]): Promise<Map<string, CurrentState>> {
    const wanted = new Set(items.map((item) => item.key));
    const found = new Map<string, Product>();
    const keep = (page: ProductPage | undefined) => {
      for (const product of objectsIn<Product>(page?.content)) if (wanted.has(String(product.stockCode))) found.set(String(product.stockCode), product);
    };
    const head = await this.#query({ page: 0, size: QUERY_PAGE_SIZE });
    keep(head);
    const pages = typeof head?.totalPages === 'number' ? head.totalPages : 1;
    const missing = [...wanted].filter((code) => !found.has(code));
    if (pages - 1 <= missing.length) {
      await Promise.all(Array.from({ length: Math.max(0, pages - 1) }, async (_, i) => keep(await this.#query({ page: i + 1, size: QUERY_PAGE_SIZE }))));
    } else {
      // A page of a few, not one: the filter's matching (exact or by prefix) is not documented.
      await Promise.all(missing.map(async (code) => keep(await this.#query({ stockCode: code, page: 0, size: 20 }))));
    }
    const states = new Map<string, CurrentState>();
    for (const item of items) {
      const product = found.get(item.key);
      const same = product !== undefined && (['listPrice', 'salePrice', 'quantity'] as const).every((name) => sameNumber(product[name], item.fields[name]));
      states.set(item.barcode, product === undefined ? 'not_listed' : same ? 'matches' : 'differs');
    }
    return states;
  }

  async #details(ticket: string, page: number): Promise<DetailPage | 'expired'> {
    // N11's task ids are numbers; one that is not is sent as it came.
    const taskId = /^\d{1,15}$/.test(ticket) ? Number(ticket) : ticket;
    try {
      const { data } = await this.#http.request<DetailPage>({
        method: 'POST',
        path: '/ms/product/task-details/page-query',
        headers: this.#headers,
        json: { taskId, pageable: { page, size: DETAIL_PAGE_SIZE } },
      });
      return data ?? {};
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) return 'expired';
      throw error;
    }
  }

  async #query(query: Record<string, string | number>): Promise<ProductPage | undefined> {
    const { data } = await this.#http.request<ProductPage>({ path: '/ms/product-query', query, headers: this.#headers });
    return data;
  }
}
