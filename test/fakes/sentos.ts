import { barcodeFor, pageOf, startFake, turkishName } from './common.js';
import type { FakeErp, FakeKnobs, FakeReply } from './common.js';
import type { ConnectionMistake, ContractConnection } from '../support/driver-contract.js';

/**
 * A fake Sentos tenant API (docs/erp-apis.md §3): HTTP Basic with API key and
 * secret, `GET /products?page&size` (or `pageSize`) answering `{data, page,
 * size, total_elements, total_pages}` or a bare array. Each UNCERTAIN variant
 * of the documentation is a knob, so every one is served by some test.
 */
export interface SentosKnobs extends FakeKnobs {
  /** The credentials the tenant accepts. */
  apiKey?: string;
  apiSecret?: string;
  /** Which page-size parameter the server reads (`none`: neither); the others are ignored. Default `size`. */
  pageSizeParam?: 'size' | 'pageSize' | 'none';
  /** Page size when the request names none the server reads. Default 50. */
  serverPageSize?: number;
  /** `data`: `{data:[…], total_*}` (default). `bare`: the array alone, no totals. */
  envelope?: 'data' | 'bare';
  /** Which totals the envelope carries. Default `both`. */
  totals?: 'pages' | 'elements' | 'both' | 'none';
  /** `number` (default) as documented, or `{id, name}` as seen in practice. */
  warehouseShape?: 'number' | 'object';
  /** `tr`: "1.234,56" (default). `plain`: "1234.56". */
  decimals?: 'tr' | 'plain';
  currency?: 'TL' | 'TRY';
  /** Products carry a `vat_rate` (as a number, or a string on every other one); by default they carry none, as most clients read them. */
  vatRates?: boolean;
  /** Serve these products (a fixture's `data`) instead of generated ones. */
  catalog?: readonly SentosProduct[];
}

export const sentosWarehouses = [
  { id: 1, name: 'Merkez Depo' },
  { id: 2, name: 'Şişli Şube' },
] as const;

export interface SentosProduct {
  id: number;
  sku: string;
  name: string;
  barcode: string;
  brand: string;
  category_id: number;
  purchase_price: string;
  sale_price: string;
  currency: string;
  vat_rate?: number | string;
  stocks: { warehouse: number | { id: number; name: string }; stock: number | string }[];
  variants?: {
    sku: string;
    barcode: string;
    color: string;
    model: { name: string; value: string };
    stocks: { warehouse: number | { id: number; name: string }; stock: number | string }[];
  }[];
}

export interface SentosFake extends FakeErp {
  readonly products: readonly SentosProduct[];
}

export const sentosCredentials = { apiKey: 'sentos-anahtar-123', apiSecret: 'sentos-gizli-456' } as const;

/** A connection this fake accepts (5 products a page, prices KDV dahil), or one with a secret it rejects. */
export function sentosConnection(mistake?: ConnectionMistake, settings: Record<string, string> = {}): ContractConnection {
  return {
    settings: { pageSize: '5', priceIncludesVat: 'true', ...settings },
    secrets: { ...sentosCredentials, apiSecret: mistake === 'wrong-credentials' ? 'yanlış-gizli-anahtar' : sentosCredentials.apiSecret },
  };
}

export async function startSentosFake(knobs: SentosKnobs = {}): Promise<SentosFake> {
  const products = knobs.catalog ? [...knobs.catalog] : buildCatalog(knobs);
  const expected = products.flatMap((p) => (p.variants ? p.variants.map((v) => v.barcode) : [p.barcode]));
  const authorization = `Basic ${Buffer.from(`${knobs.apiKey ?? sentosCredentials.apiKey}:${knobs.apiSecret ?? sentosCredentials.apiSecret}`).toString('base64')}`;

  const fake = await startFake({
    knobs,
    expectedBarcodes: expected,
    route(req) {
      if (req.method !== 'GET' || req.url.pathname !== '/api/products') return undefined;
      if (req.headers.authorization !== authorization) {
        return { kind: 'other', reply: () => ({ status: 401, json: { message: 'Yetkisiz erişim: API anahtarı veya gizli anahtar hatalı' } }) };
      }
      return { kind: 'catalog', reply: () => productPage(products, req.url.searchParams, knobs) };
    },
  });
  return { ...fake, baseUrl: `${fake.baseUrl}/api`, products };
}

function productPage(products: readonly SentosProduct[], query: URLSearchParams, knobs: SentosKnobs): FakeReply {
  const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
  const param = knobs.pageSizeParam ?? 'size';
  const asked = param === 'none' ? NaN : Number(query.get(param));
  const size = Number.isInteger(asked) && asked > 0 ? asked : (knobs.serverPageSize ?? 50);
  const totalPages = Math.ceil(products.length / size);
  const items = knobs.underDeliver && page === totalPages ? [] : pageOf(products, page, size);
  if (knobs.envelope === 'bare') return { status: 200, json: items };
  const totals = knobs.totals ?? 'both';
  return {
    status: 200,
    json: {
      data: items,
      page,
      size,
      ...(totals === 'both' || totals === 'elements' ? { total_elements: products.length } : {}),
      ...(totals === 'both' || totals === 'pages' ? { total_pages: totalPages } : {}),
    },
  };
}

function buildCatalog(knobs: SentosKnobs): SentosProduct[] {
  const count = knobs.products ?? 25;
  const warehouse = (w: (typeof sentosWarehouses)[number]) => (knobs.warehouseShape === 'object' ? { id: w.id, name: w.name } : w.id);
  const stocks = (a: number, b: number) => [
    { warehouse: warehouse(sentosWarehouses[0]), stock: knobs.decimals === 'plain' ? a : String(a) },
    { warehouse: warehouse(sentosWarehouses[1]), stock: b },
  ];
  const products: SentosProduct[] = [];
  for (let i = 0; i < count; i++) {
    const cents = 99_990 + i * 12_345;
    const product: SentosProduct = {
      id: 101 + i,
      sku: `SNT-${i + 1}`,
      name: turkishName(i),
      barcode: barcodeFor(i),
      brand: i % 2 === 0 ? 'Güneş Tekstil' : 'Işık Züccaciye',
      category_id: 5 + (i % 3),
      purchase_price: money(Math.floor(cents / 2), knobs.decimals),
      sale_price: money(cents, knobs.decimals),
      currency: knobs.currency ?? 'TL',
      stocks: stocks(i % 7, 3),
      ...(knobs.vatRates ? { vat_rate: i % 2 === 0 ? (i % 4 === 0 ? 10 : 20) : String(i % 3 === 0 ? 1 : 20) } : {}),
    };
    if (knobs.variants && i % 3 === 0) {
      product.variants = ['S', 'M'].map((size, v) => ({
        sku: `SNT-${i + 1}-${size}`,
        barcode: barcodeFor(i, v + 1),
        color: 'Kırmızı',
        model: { name: 'Beden', value: size },
        stocks: stocks(v + 1, 10 * (v + 1)),
      }));
    }
    products.push(product);
  }
  // Products 1, 2 and 4 never have variants, so these barcodes are offers' own.
  if (knobs.duplicateBarcode && products.length >= 5) products[4]!.barcode = products[1]!.barcode;
  if (knobs.missingBarcode && products.length >= 3) products[2]!.barcode = '';
  return products;
}

/** `1234.56` as Sentos writes it: "1.234,56" (Turkish) or "1234.56" (plain). */
export function money(cents: number, style: 'tr' | 'plain' = 'tr'): string {
  const whole = Math.floor(cents / 100);
  const fraction = String(cents % 100).padStart(2, '0');
  if (style === 'plain') return `${whole}.${fraction}`;
  return `${String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, '.')},${fraction}`;
}
