import type { Driver, DriverContext, ProductCandidate } from '../src/driver/contract.js';
import { DriverError } from '../src/driver/contract.js';
import { paginateByPageNumber } from '../src/driver/paginate.js';
import { pageSizeField } from '../src/driver/settings.js';
import { HttpError } from '../src/http/errors.js';
import { defineMessages } from '../src/i18n/index.js';

const m = defineMessages({
  en: {
    keyRejected: '{service}: the API key was rejected',
    keyRejectedHint: 'Check the API key.',
    noRecords: '{service}: page {page} has no "records" list',
  },
  tr: {
    keyRejected: '{service}: API anahtarı reddedildi',
    keyRejectedHint: 'API anahtarını kontrol edin.',
    noRecords: '{service}: {page}. sayfada "records" listesi yok',
  },
});

interface DemoPage {
  totalPages?: number;
  totalRecords?: number;
  records?: unknown[];
}

interface DemoRecord {
  sku?: unknown;
  name?: unknown;
  brand?: unknown;
  category?: unknown;
  barcode?: unknown;
  price?: unknown;
  stock?: unknown;
  currency?: unknown;
  vatRate?: unknown;
  priceIncludesVat?: unknown;
  active?: unknown;
  variants?: { sku?: unknown; barcode?: unknown; name?: unknown; price?: unknown; stock?: unknown }[];
}

const auth = (ctx: DriverContext) => ({ authorization: `Bearer ${ctx.secrets.apiKey}` });

/**
 * The sandbox ERP that ships with erp-sync (`erp-sync demo`, the tests): a
 * paged JSON API with variants, KDV-inclusive TRY prices and Turkish names.
 */
export const demo = {
  id: 'demo',
  name: 'Sandbox ERP',
  fields: [
    { name: 'apiKey', label: 'API key', labelTr: 'API anahtarı', secret: true, required: true },
    pageSizeField(500),
  ],
  defaultConcurrency: 4,
  // One sandbox serves one catalog: its address is the account.
  account: [],

  async testConnection(ctx) {
    try {
      await ctx.http.request({ path: '/api/v1/ping', headers: auth(ctx), retry: false });
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        throw new DriverError('CREDENTIALS_REJECTED', m('keyRejected', { service: ctx.http.service }), { hint: m('keyRejectedHint'), cause: error });
      }
      throw error;
    }
  },

  async *pullPages(ctx) {
    const pageSize = Number(ctx.settings.pageSize ?? 500);
    yield* paginateByPageNumber({
      concurrency: ctx.concurrency,
      pageSize,
      warn: ctx.warn,
      fetchPage: async (page) => {
        try {
          const { data } = await ctx.http.request<DemoPage>({ path: '/api/v1/products', query: { page, pageSize }, headers: auth(ctx) });
          if (!data || !Array.isArray(data.records)) {
            throw new DriverError('MALFORMED_RESPONSE', m('noRecords', { service: ctx.http.service, page: String(page) }));
          }
          return { records: data.records, totalPages: data.totalPages, totalRecords: data.totalRecords };
        } catch (error) {
          if (error instanceof HttpError && error.status === 401) {
            throw new DriverError('CREDENTIALS_REJECTED', m('keyRejected', { service: ctx.http.service }), { hint: m('keyRejectedHint'), cause: error });
          }
          throw error;
        }
      },
    });
  },

  mapRecord(raw) {
    const record = raw as DemoRecord;
    const product = (item: DemoRecord | NonNullable<DemoRecord['variants']>[number], name: unknown): ProductCandidate => ({
      barcode: item.barcode as string,
      sku: item.sku as string,
      name: name as string,
      price: item.price as string,
      stock: item.stock as number,
      currency: record.currency as string,
      vatRate: record.vatRate as number,
      priceIncludesVat: record.priceIncludesVat !== false,
      active: record.active !== false,
      brand: typeof record.brand === 'string' ? record.brand : null,
      category: typeof record.category === 'string' ? record.category : null,
    });
    if (Array.isArray(record.variants)) return record.variants.map((variant) => product(variant, variant.name ?? record.name));
    return [product(record, record.name)];
  },
} satisfies Driver;
