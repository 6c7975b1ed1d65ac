import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { startFake } from './common.js';
import type { FakeErp, FakeKnobs } from './common.js';
import type { ConnectionMistake, ContractConnection } from '../support/driver-contract.js';

/**
 * The sandbox ERP's API (src/sandbox/erp.ts) with the contract's knobs:
 * `GET /api/v1/ping` and `GET /api/v1/products?page&pageSize` answering
 * `{page, pageSize, totalPages, totalRecords, records}` with the sandbox
 * catalog's own records (of every ten items, seven stand alone and three are
 * the S/M/L variants of one product), behind `Authorization: Bearer <apiKey>`.
 */
export interface DemoFake extends FakeErp {
  readonly apiKey: string;
}

const apiKey = 'sandbox-anahtar-5150';

export async function startDemoFake(knobs: FakeKnobs = {}): Promise<DemoFake> {
  const catalog = new SandboxCatalog(knobs.products ?? 25);
  // Items 1 and 2 stand alone in every catalog of more than two items.
  if (knobs.duplicateBarcode) catalog.patch(1, { barcode: catalog.item(0)!.barcode });
  if (knobs.missingBarcode) catalog.patch(2, { barcode: '' });
  const expectedBarcodes = Array.from({ length: catalog.size }, (_, i) => String(catalog.item(i)!.barcode));
  const fake = await startFake({
    knobs,
    expectedBarcodes,
    route: ({ method, url, headers }) => {
      if (method !== 'GET') return undefined;
      const authorized = headers.authorization === `Bearer ${apiKey}`;
      const unauthorized = { status: 401, json: { error: 'invalid_api_key', message: 'The API key is not valid.' } };
      if (url.pathname === '/api/v1/ping') return { kind: 'other', reply: () => (authorized ? { status: 200, json: { ok: true, products: catalog.size } } : unauthorized) };
      if (url.pathname !== '/api/v1/products') return undefined;
      return {
        kind: 'catalog',
        reply: () => {
          if (!authorized) return unauthorized;
          const page = Math.max(1, Number(url.searchParams.get('page') ?? '1') || 1);
          const pageSize = Math.max(1, Number(url.searchParams.get('pageSize') ?? '500') || 500);
          const totalPages = Math.ceil(catalog.recordCount / pageSize);
          const served = knobs.underDeliver && page === totalPages ? [] : catalog.records((page - 1) * pageSize, pageSize);
          return { status: 200, json: { page, pageSize, totalPages, totalRecords: catalog.recordCount, records: served } };
        },
      };
    },
  });
  return { ...fake, apiKey };
}

/**
 * A connection this fake accepts, or one with a key it rejects. The wrong key
 * is ASCII: the demo driver sends the key as it is in a header, which cannot
 * carry a Turkish letter.
 */
export function demoConnection(fake: DemoFake, mistake?: ConnectionMistake): ContractConnection {
  return { settings: { pageSize: '5' }, secrets: { apiKey: mistake === 'wrong-credentials' ? 'yanlis-anahtar-0000' : fake.apiKey } };
}
