import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { barcodeFor, turkishName } from './common.js';
import type { FakeErp, FakeKnobs, RecordedRequest } from './common.js';
import type { ConnectionMistake, ContractConnection } from '../support/driver-contract.js';

/**
 * A fake Bizimhesap B2B API (docs/erp-apis.md §4): a `token` header, the
 * whole catalog from `GET /products` in one answer, `GET /warehouses` and
 * `GET /inventory/{warehouseId}`. Variants are rows of their own that share
 * their product's `id` and title, each with its own quantity and a
 * `variantPrice` that is a value, or `""`, `0` or `"0"` for the product's
 * `price`; an inventory has a line per row, under the shared id.
 *
 * The catalog is generated while it is sent, in chunks and with
 * backpressure, so a 100,000-product answer never exists as one string
 * here either, and `progress` shows how far the sending got. This fake has
 * its own server because common.ts's `startFake` answers whole JSON bodies;
 * it honours the same `FakeKnobs`, with the product list and each inventory
 * as requests of kind `catalog`.
 */
export interface BizimhesapKnobs extends FakeKnobs {
  /** The token the firm accepts. */
  token?: string;
  /** Every answer is `{resultCode: 0, errorText}` with this text. */
  apiError?: string;
  /** `resultCode` comes after `data` in the catalog, not before it. */
  resultCodeLast?: boolean;
  /** Products written per chunk of the streamed answer. Default 200. */
  chunkProducts?: number;
  /** Drops the connection (no end of the chunked answer) after this many products. */
  dropAfter?: number;
  /** Apply `dropAfter` to this many catalog downloads only. Default: every one. */
  dropTimes?: number;
  /** The second and later downloads list the products in another order. */
  reorderOnRetry?: boolean;
  /** Rows 1 and 2 of every four are two variants of one product: one id, `variantName`/`variant` strings, their own barcode. */
  variants?: boolean;
  /** Answer 403 "error code: 1010" to a User-Agent that is not a browser's, as Cloudflare in front of Bizimhesap is reported to. */
  firewall?: boolean;
  /** Serve these rows (a fixture's `data.products`) instead of generated ones. */
  catalog?: readonly BizimhesapProduct[];
  /** With `catalog`: the inventory lines of each warehouse. */
  inventoryLines?: Readonly<Record<string, readonly InventoryLine[]>>;
}

export interface InventoryLine {
  id: string;
  title: string;
  qty: string | number;
}

export interface BizimhesapProduct {
  id: string;
  isActive: number;
  code: string;
  barcode: string;
  title: string;
  price: number;
  variantPrice: string | number;
  currency: string;
  unit: string;
  tax: number;
  quantity: number;
  brand: string;
  category: string;
  variantName: string;
  variant: string;
  description: string;
  photo: string;
}

export interface BizimhesapFake extends FakeErp {
  /** Products in the catalog. */
  readonly size: number;
  /** The product at `index`, as the fake sends it. */
  product(index: number): BizimhesapProduct;
  /** Per-warehouse inventory lines, as the inventory endpoint answers them. */
  readonly inventory: ReadonlyMap<string, readonly InventoryLine[]>;
  /** Of the catalog download in flight (or the last one): products written and whether it ended. */
  readonly progress: { written: number; finished: boolean };
}

export const bizimhesapToken = 'bh-token-7f3c2a91';
export const bizimhesapWarehouses = [
  { id: 'w-1', title: 'Merkez Depo' },
  { id: 'w-2', title: 'İzmir Şube Deposu' },
] as const;

export async function startBizimhesapFake(knobs: BizimhesapKnobs = {}): Promise<BizimhesapFake> {
  const size = knobs.catalog?.length ?? knobs.products ?? 25;
  const token = knobs.token ?? bizimhesapToken;
  const product = (i: number) => knobs.catalog?.[i] ?? makeProduct(i, knobs);
  const inventory = new Map<string, InventoryLine[]>(
    bizimhesapWarehouses.map((w, n) => {
      if (knobs.catalog) return [w.id, [...(knobs.inventoryLines?.[w.id] ?? [])]] as const;
      const lines: InventoryLine[] = [];
      // Every fifth row is not stocked in the first warehouse at all.
      for (let i = 0; i < size; i++) {
        const row = product(i);
        if (n === 1 || i % 5 !== 4) lines.push({ id: row.id, title: row.variant ? `${row.title} ${row.variant}` : row.title, qty: String((i * (n + 3)) % 11) });
      }
      return [w.id, lines] as const;
    }),
  );
  const requests: RecordedRequest[] = [];
  const progress = { written: 0, finished: false };
  const timers = new Set<NodeJS.Timeout>();
  let catalogCount = 0;
  let downloads = 0;

  const json = (res: ServerResponse, record: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    record.status = status;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  const streamCatalog = async (res: ServerResponse, record: RecordedRequest, cutAt: number | undefined, drop: boolean) => {
    const download = ++downloads;
    const order = (i: number) => (knobs.reorderOnRetry && download > 1 ? size - 1 - i : i);
    record.status = 200;
    progress.written = 0;
    progress.finished = false;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    const head = knobs.resultCodeLast ? '{"data":{"products":[' : '{"resultCode":1,"errorText":"","data":{"products":[';
    res.write(head);
    const end = Math.min(size, cutAt ?? size);
    const chunk = knobs.chunkProducts ?? 200;
    for (let from = 0; from < end; from += chunk) {
      const parts: string[] = [];
      for (let i = from; i < Math.min(end, from + chunk); i++) parts.push(JSON.stringify(product(order(i))));
      const ok = res.write((from === 0 ? '' : ',') + parts.join(','));
      progress.written = Math.min(end, from + chunk);
      if (!ok) {
        // The listener that loses the race is taken off, or every slow write would leave one behind.
        const settled = new AbortController();
        await Promise.race([once(res, 'drain', { signal: settled.signal }), once(res, 'close', { signal: settled.signal })]).finally(() => settled.abort());
        if (res.destroyed) return;
      }
    }
    if (cutAt !== undefined) {
      if (drop) res.destroy();
      else res.end();
      return;
    }
    res.end(knobs.resultCodeLast ? ']},"resultCode":1,"errorText":""}' : ']}}');
    progress.finished = true;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const record: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: '', at: Date.now(), kind: 'other' };
    requests.push(record);
    req.resume();
    const inventoryMatch = /^\/api\/b2b\/inventory\/([^/]+)$/.exec(url.pathname);
    const isCatalog = url.pathname === '/api/b2b/products' || inventoryMatch !== null;
    if (req.method !== 'GET' || (!isCatalog && url.pathname !== '/api/b2b/warehouses')) {
      return json(res, record, 404, { Message: 'No HTTP resource was found that matches the request URI.' });
    }
    if (knobs.firewall && !/^Mozilla\//.test(req.headers['user-agent'] ?? '')) {
      record.status = 403;
      res.writeHead(403, { 'content-type': 'text/plain; charset=UTF-8' });
      return res.end('error code: 1010');
    }
    if (req.headers.token !== token) {
      return json(res, record, 401, { Message: 'Token is invalid.' });
    }
    if (knobs.apiError !== undefined) return json(res, record, 200, { resultCode: 0, errorText: knobs.apiError, data: null });
    if (!isCatalog) return json(res, record, 200, { resultCode: 1, errorText: '', data: { warehouses: bizimhesapWarehouses } });

    record.kind = 'catalog';
    const n = ++catalogCount;
    const fault = knobs.faults?.find((f) => n >= f.from && n < f.from + f.times);
    const answer = () => {
      if (inventoryMatch) {
        const lines = inventory.get(decodeURIComponent(inventoryMatch[1]!));
        if (!lines) return json(res, record, 200, { resultCode: 0, errorText: 'Depo bulunamadı', data: null });
        return json(res, record, 200, { resultCode: 1, errorText: '', data: { inventory: lines } });
      }
      const dropping = knobs.dropAfter !== undefined && downloads < (knobs.dropTimes ?? Infinity);
      void streamCatalog(res, record, dropping ? knobs.dropAfter : undefined, true);
    };
    if (!fault) return answer();
    record.fault = fault.kind;
    switch (fault.kind) {
      case 'status':
        return json(res, record, fault.status, { Message: `Geçici hata (${fault.status})` }, fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {});
      case 'hang': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, fault.ms);
        timers.add(timer);
        return;
      }
      case 'truncate':
        if (inventoryMatch) {
          record.status = 200;
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          return res.end('{"resultCode":1,"errorText":"","data":{"inventory":[{"id":');
        }
        return void streamCatalog(res, record, Math.floor(size / 2), false);
      case 'malformed':
        return json(res, record, 200, { durum: 'bakım', mesaj: 'Sistem bakımda, lütfen daha sonra deneyin' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const expectedBarcodes: string[] = [];
  for (let i = 0; i < size; i++) expectedBarcodes.push(product(i).barcode);

  return {
    baseUrl: `http://127.0.0.1:${port}/api/b2b`,
    requests,
    expectedBarcodes,
    size,
    product,
    inventory,
    progress,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A connection this fake accepts (prices KDV dahil), or one with a token it rejects. */
export function bizimhesapConnection(settings: Record<string, string> = {}, mistake?: ConnectionMistake): ContractConnection {
  return { settings: { priceIncludesVat: 'true', ...settings }, secrets: { token: mistake === 'wrong-credentials' ? 'bh-token-00000000' : bizimhesapToken } };
}

/** GUID-like ids whose last 8 digits are the product's number, counted from 1. */
export function productId(i: number): string {
  return `8F90D14A-1C2B-4E5F-9A0B-${String(i + 1).padStart(12, '0')}`;
}

/** A variant row's variantPrice: its own price, or one of the three ways Bizimhesap writes "the product's price". */
const variantPrices = (i: number): string | number => [(1350 + i * 0.25).toFixed(2), 0, '0', ''][Math.floor(i / 4) % 4]!;

function makeProduct(i: number, knobs: BizimhesapKnobs): BizimhesapProduct {
  const isVariant = knobs.variants === true && (i % 4 === 1 || i % 4 === 2);
  // Variant rows carry their product's id, title and price.
  const head = isVariant ? i - (i % 4) + 1 : i;
  let barcode = barcodeFor(i);
  // Rows 3 and 4 keep their own rows whatever the other knobs say.
  if (knobs.duplicateBarcode && i === 4) barcode = barcodeFor(1);
  if (knobs.missingBarcode && i === 3) barcode = '';
  return {
    id: productId(head),
    isActive: i % 10 === 9 ? 0 : 1,
    code: `BH-${String(i + 1).padStart(6, '0')}`,
    barcode,
    title: turkishName(head),
    price: 1298 + head * 0.25,
    variantPrice: isVariant ? (i % 4 === 1 ? variantPrices(i) : 0) : '',
    currency: 'TL',
    unit: 'Adet',
    tax: i % 3 === 0 ? 10 : 20,
    quantity: i % 13,
    brand: 'Öztürk Ev Gereçleri',
    category: 'Mutfak & Çeyiz',
    variantName: isVariant ? 'Renk' : '',
    variant: isVariant ? (i % 4 === 1 ? 'Kırmızı' : 'Yeşil') : '',
    description: '',
    photo: '[{"PhotoUrl":"https://cdn.example/ürün.jpg","FlCover":true}]',
  };
}
