import Big from 'big.js';
import { DriverError } from '../src/driver/contract.js';
import type { Driver, DriverContext, MapContext, ProductCandidate } from '../src/driver/contract.js';
import { decimalField, toPlainDecimal } from '../src/driver/decimal.js';
import { paginateByPageNumber } from '../src/driver/paginate.js';
import type { NumberedPage } from '../src/driver/paginate.js';
import { HttpError } from '../src/http/errors.js';
import { defineMessages } from '../src/i18n/index.js';
import { booleanSetting, identifier, isObject, pageSizeField, priceIncludesVatField, priceIncludesVatSetting, scalarText, vatRateField, vatRateSetting } from '../src/driver/settings.js';

const m = defineMessages({
  en: {
    badPageSize: 'the pageSize setting "{value}" is not a positive whole number',
    rejected: '{service}: Sentos rejected the API key or API secret (HTTP 401).',
    rejectedHint: 'Copy the API key and API secret again from the Sentos panel and reconnect.',
    noProductList: "{service}: the answer to page {page} of /products holds no product list; is {baseUrl} the tenant's Sentos API URL?",
    noApiKey: 'connection "{connection}" has no Sentos API key',
    noApiSecret: 'connection "{connection}" has no Sentos API secret',
    noSecretHint: 'Connect again and enter the API key and API secret from the Sentos panel.',
    noWarehouseStock: 'no product has stock in the warehouse "{warehouse}" ({rows} stock rows read)',
    noWarehouseStockHint: 'Set warehouse to the id or name of a Sentos warehouse, or remove it to sum all warehouses.',
  },
  tr: {
    badPageSize: 'pageSize ayarındaki "{value}" değeri pozitif bir tam sayı değil',
    rejected: '{service}: Sentos API anahtarını ya da API gizli anahtarını reddetti (HTTP 401).',
    rejectedHint: 'API anahtarını ve API gizli anahtarını Sentos panelinden tekrar kopyalayıp yeniden bağlanın.',
    noProductList: '{service}: /products isteğinin {page}. sayfasına gelen yanıtta ürün listesi yok; {baseUrl} firmanızın Sentos API adresi mi?',
    noApiKey: '"{connection}" bağlantısında Sentos API anahtarı yok',
    noApiSecret: '"{connection}" bağlantısında Sentos API gizli anahtarı yok',
    noSecretHint: 'Yeniden bağlanın ve Sentos panelindeki API anahtarı ile API gizli anahtarını girin.',
    noWarehouseStock: '"{warehouse}" deposunda stoku olan ürün yok ({rows} stok satırı okundu)',
    noWarehouseStockHint: 'warehouse ayarına bir Sentos deposunun kimliğini ya da adını girin veya tüm depoların stoku toplansın diye bu ayarı kaldırın.',
  },
});

/** What the Python connector uses; no maximum is documented. */
const defaultPageSize = 100;

/**
 * Sentos (sentos.com.tr), API v1.5 as read by third-party clients
 * (docs/erp-apis.md §3): a per-tenant base URL, HTTP Basic with the API key
 * and secret, `GET /products` paged by `page` and `size` (or `pageSize`).
 * A product's `vat_rate` is read where Sentos sends one (UNCERTAIN: it is
 * written when a product is created, and one client says products carry it);
 * no active/passive flag is known, so every product is pushed as active.
 */
export const sentos = {
  id: 'sentos',
  name: 'Sentos',
  fields: [
    {
      name: 'baseUrl',
      label: 'API URL',
      labelTr: 'API adresi',
      secret: false,
      required: true,
      kind: 'url',
      help: { en: 'Shown in the Sentos panel as "API Url", e.g. https://yourcompany.sentos.com.tr/api', tr: 'Sentos panelinde "API Url" olarak görünür, ör. https://firmaniz.sentos.com.tr/api' },
    },
    { name: 'apiKey', label: 'API key', labelTr: 'API anahtarı', secret: true, required: true },
    { name: 'apiSecret', label: 'API secret', labelTr: 'API gizli anahtarı', secret: true, required: true },
    {
      name: 'warehouse',
      label: 'Warehouse',
      labelTr: 'Depo',
      secret: false,
      required: false,
      help: { en: 'Take stock from this one warehouse (its id or name); by default stock is summed over all warehouses.', tr: 'Stok yalnızca bu depodan alınır (kimliği ya da adı); boş bırakılırsa tüm depoların toplamı kullanılır.' },
    },
    vatRateField({ en: 'Used for a product Sentos sends without a VAT rate (vat_rate).', tr: 'Sentos’un KDV oranı (vat_rate) olmadan gönderdiği ürünlerde bu oran kullanılır.' }),
    priceIncludesVatField({ en: 'Sentos does not document whether sale_price includes VAT.', tr: 'Sentos sale_price fiyatının KDV dahil olup olmadığını belgelemiyor.' }),
    pageSizeField(defaultPageSize),
  ],
  // Sentos publishes no base URL of its own: every tenant has one.
  // The only figure found for reads is "the same GET 2 per minute", second-hand
  // and probably about repeating one identical request; applied to paging it
  // would take an hour for 10,000 products. One page every 2 seconds stays far
  // below what the API serves its own panel, and on a 429 the HTTP client slows
  // down and honours Retry-After. The `rateLimit` setting lowers or raises it.
  rateLimit: { requests: 30, perMs: 60_000 },
  // Every tenant has its own address: the address is the account.
  account: [],
  defaultConcurrency: 2,

  async testConnection(ctx) {
    priceIncludesVatSetting(ctx);
    readSettings(ctx.settings);
    await fetchProductPage(ctx, 1, 1);
  },

  async *pullPages(ctx) {
    priceIncludesVatSetting(ctx);
    const settings = readSettings(ctx.settings);
    const check = new WarehouseCheck(settings.warehouse);
    // The page size is deliberately not handed to the paginator: a tenant that
    // ignores both size parameters and sends shorter pages without totals would
    // otherwise end the pull after its first page, and a pull that ends early
    // counts as complete. Paging on to the first empty page costs one request.
    for await (const page of paginateByPageNumber({
      fetchPage: (n) => fetchProductPage(ctx, n, settings.pageSize),
      concurrency: ctx.concurrency,
      warn: (message) => ctx.warn(message),
    })) {
      check.see(page.records);
      yield page;
    }
    check.finish();
  },

  mapRecord(record, ctx) {
    if (!isObject(record)) return [];
    const settings = readSettings(ctx.settings);
    const vatRate = decimalField(record.vat_rate, 'tr') ?? settings.vatRate;
    const shared: ProductCandidate = {
      currency: scalarText(record.currency),
      vatRate,
      priceIncludesVat: settings.priceIncludesVat,
      brand: scalarText(record.brand),
      category: record.category_id === undefined || record.category_id === null ? null : String(record.category_id),
    };
    const name = scalarText(record.name);
    const variants = Array.isArray(record.variants) ? record.variants.filter(isObject) : [];
    if (variants.length === 0) {
      return [
        {
          ...shared,
          barcode: identifier(record.barcode),
          sku: identifier(record.sku),
          name,
          price: decimalField(record.sale_price, 'tr'),
          stock: stockOf(record.stocks, settings.warehouse),
        },
      ];
    }
    return variants.map((variant) => ({
      ...shared,
      vatRate: decimalField(variant.vat_rate, 'tr') ?? vatRate,
      barcode: identifier(variant.barcode),
      sku: identifier(variant.sku),
      name: variantName(name, variant),
      price: decimalField(variant.sale_price ?? variant.price ?? record.sale_price, 'tr'),
      // A variant without stock rows has no stock of its own; the parent's rows
      // add up every variant and would overstate it.
      stock: stockOf(variant.stocks, settings.warehouse),
    }));
  },
} satisfies Driver;

interface SentosSettings {
  warehouse: string | undefined;
  vatRate: string;
  priceIncludesVat: boolean | null;
  pageSize: number;
}

function readSettings(settings: MapContext['settings']): SentosSettings {
  const vatRate = vatRateSetting(settings);
  const pageSize = Number((settings.pageSize ?? '').trim() || defaultPageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new DriverError('CONFIGURATION', m('badPageSize', { value: String(settings.pageSize) }));
  }
  const warehouse = settings.warehouse?.trim();
  return {
    warehouse: warehouse ? warehouse : undefined,
    vatRate,
    priceIncludesVat: booleanSetting(settings, 'priceIncludesVat', null),
    pageSize,
  };
}


async function fetchProductPage(ctx: DriverContext, page: number, size: number): Promise<NumberedPage> {
  const auth = basicAuth(ctx);
  let data: unknown;
  try {
    // Clients disagree on the page-size parameter's name, so both are sent.
    ({ data } = await ctx.http.request({ path: '/products', query: { page, size, pageSize: size }, headers: { authorization: auth } }));
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) {
      throw new DriverError('CREDENTIALS_REJECTED', m('rejected', { service: error.service }), {
        hint: m('rejectedHint'),
        cause: error,
      });
    }
    throw error;
  }
  if (Array.isArray(data)) return { records: data };
  if (isObject(data) && Array.isArray(data.data)) {
    return { records: data.data, totalPages: count(data.total_pages), totalRecords: count(data.total_elements) };
  }
  throw new DriverError('MALFORMED_RESPONSE', m('noProductList', { service: ctx.http.service, page: String(page), baseUrl: ctx.baseUrl }));
}

function basicAuth(ctx: DriverContext): string {
  const key = ctx.secrets.apiKey;
  const secret = ctx.secrets.apiSecret;
  if (!key || !secret) {
    throw new DriverError('CONFIGURATION', m(key ? 'noApiSecret' : 'noApiKey', { connection: ctx.connection }), { hint: m('noSecretHint') });
  }
  return `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
}

/** Catches a warehouse setting that names no warehouse: every stock would read 0. */
class WarehouseCheck {
  readonly #wanted: string | undefined;
  #rows = 0;
  #matched = false;

  constructor(wanted: string | undefined) {
    this.#wanted = wanted;
  }

  see(records: readonly unknown[]): void {
    if (this.#wanted === undefined || this.#matched) return;
    const rows = stockRows(records);
    this.#rows += rows.length;
    this.#matched = rows.some((row) => warehouseMatches(row.warehouse, this.#wanted!));
  }

  finish(): void {
    if (this.#wanted === undefined || this.#matched || this.#rows === 0) return;
    throw new DriverError('CONFIGURATION', m('noWarehouseStock', { warehouse: this.#wanted, rows: this.#rows }), {
      hint: m('noWarehouseStockHint'),
    });
  }
}

function stockRows(records: readonly unknown[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const record of records) {
    if (!isObject(record)) continue;
    const owners = [record, ...(Array.isArray(record.variants) ? record.variants.filter(isObject) : [])];
    for (const owner of owners) if (Array.isArray(owner.stocks)) rows.push(...owner.stocks.filter(isObject));
  }
  return rows;
}

/** `warehouse` is a number in the docs and sometimes `{id, name}` in practice. */
function warehouseMatches(warehouse: unknown, wanted: string): boolean {
  if (typeof warehouse === 'number' || typeof warehouse === 'string') return String(warehouse).trim() === wanted;
  if (!isObject(warehouse)) return false;
  if (warehouse.id !== undefined && warehouse.id !== null && String(warehouse.id) === wanted) return true;
  return typeof warehouse.name === 'string' && fold(warehouse.name) === fold(wanted);
}

/**
 * Sums the stock rows (or takes the chosen warehouse's) exactly. A row the
 * driver cannot read is handed on as it came, for the validator to report.
 */
function stockOf(stocks: unknown, warehouse: string | undefined): string | number | null | undefined {
  if (!Array.isArray(stocks)) return undefined;
  let total = new Big(0);
  for (const row of stocks) {
    if (!isObject(row)) continue;
    if (warehouse !== undefined && !warehouseMatches(row.warehouse, warehouse)) continue;
    const raw = row.stock ?? row.quantity;
    const plain = toPlainDecimal(raw, 'tr');
    if (plain === undefined) return typeof raw === 'string' || typeof raw === 'number' ? raw : null;
    total = total.plus(plain);
  }
  return total.toFixed();
}

function variantName(name: string | null, variant: Record<string, unknown>): string | null {
  const model = variant.model;
  const parts = [scalarText(variant.color), isObject(model) ? scalarText(model.value) : scalarText(model)].filter((part): part is string => !!part);
  if (name === null) return parts.length > 0 ? parts.join(' / ') : null;
  return parts.length > 0 ? `${name} - ${parts.join(' / ')}` : name;
}



function count(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

function fold(value: string): string {
  return value.trim().toLocaleLowerCase('tr');
}

