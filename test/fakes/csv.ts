import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { barcodeFor, turkishName } from './common.js';
import type { FakeErp, FakeKnobs } from './common.js';
import type { ContractConnection } from '../support/driver-contract.js';

/**
 * A "fake ERP" for the csv driver: the product list a Logo user exports to a
 * file (docs/erp-apis.md §5), written on the fly. Turkish Excel's CSV:
 * Windows-1254 bytes, `;` between cells, decimal commas, a report title above
 * the headers, and Logo's column names with more than one price and stock
 * column, so only the recognised preset reads the right ones.
 *
 * It honours `products`, `duplicateBarcode` and `missingBarcode`; a
 * `malformed` fault writes a file that is not readable CSV (a quote left
 * open). There are no requests: `requests` stays empty.
 */
export interface CsvFake extends FakeErp {
  /** The exported file. */
  readonly path: string;
}

export const logoHeaders = ['Malzeme Kodu', 'Malzeme Açıklaması', 'Barkod', 'Alış Fiyatı', 'Perakende Fiyatı', 'Gerçek Stok', 'Fiili Stok', 'KDV Oranı'];

/** One row of the export: what the offer should be, as the cells write it. */
export interface LogoRow {
  sku: string;
  name: string;
  barcode: string;
  /** "1.249,90": Turkish notation. */
  buyingPrice: string;
  price: string;
  realStock: string;
  stock: string;
  vat: string;
}

export function logoRows(knobs: FakeKnobs): LogoRow[] {
  const rows: LogoRow[] = [];
  for (let i = 0; i < (knobs.products ?? 25); i++) {
    let barcode = barcodeFor(i);
    if (knobs.duplicateBarcode && i === 1) barcode = barcodeFor(0);
    if (knobs.missingBarcode && i === 2) barcode = '';
    const cents = 124_990 + i * 1_005;
    rows.push({
      sku: `MLZ.${String(i + 1).padStart(5, '0')}`,
      name: turkishName(i),
      barcode,
      buyingPrice: turkish(Math.floor(cents / 2)),
      price: turkish(cents),
      realStock: String((i % 9) + 2),
      stock: String(i % 9),
      vat: i % 4 === 3 ? '10' : '20',
    });
  }
  return rows;
}

export async function startCsvFake(knobs: FakeKnobs = {}): Promise<CsvFake> {
  const dir = await mkdtemp(join(tmpdir(), 'erp-sync-logo-'));
  const path = join(dir, 'Malzeme Listesi.csv');
  const rows = logoRows(knobs);
  const lines = ['MALZEME LİSTESİ;;;;;;;', logoHeaders.join(';'), ...rows.map((r) => [r.sku, r.name, r.barcode, r.buyingPrice, r.price, r.realStock, r.stock, r.vat].join(';'))];
  if (knobs.faults?.some((fault) => fault.kind === 'malformed')) lines.splice(Math.ceil(lines.length / 2), 0, 'MLZ.99999;"Yarım kalan açıklama;;;;;;');
  await writeFile(path, iconv.encode(`${lines.join('\r\n')}\r\n`, 'windows-1254'));
  return {
    baseUrl: 'http://127.0.0.1/',
    path,
    requests: [],
    expectedBarcodes: rows.map((r) => r.barcode),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A connection to the exported file (prices KDV dahil). */
export function csvConnection(fake: CsvFake, settings: Record<string, string> = {}): ContractConnection {
  return { settings: { path: fake.path, priceIncludesVat: 'true', ...settings } };
}

/** 124990 → "1.249,90". */
function turkish(cents: number): string {
  const whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${whole},${String(cents % 100).padStart(2, '0')}`;
}
