import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { barcodeFor, turkishName } from './common.js';
import type { FakeErp, FakeKnobs } from './common.js';
import type { ContractConnection } from '../support/driver-contract.js';

/**
 * A "fake ERP" for the csv driver: the product list a merchant exports to a
 * file, written on the fly. Turkish Excel's CSV: Windows-1254 bytes, `;`
 * between cells, decimal commas, a report title above the headers.
 *
 * It honours `products`, `duplicateBarcode` and `missingBarcode`; a
 * `malformed` fault writes a file that is not readable CSV (a quote left
 * open). There are no requests: `requests` stays empty.
 */
export interface CsvFake extends FakeErp {
  /** The exported file. */
  readonly path: string;
}

const headers = ['Stok Kodu', 'Ürün Adı', 'Barkod', 'Satış Fiyatı', 'Stok', 'KDV'];

export async function startCsvFake(knobs: FakeKnobs = {}): Promise<CsvFake> {
  const dir = await mkdtemp(join(tmpdir(), 'erp-sync-export-'));
  const path = join(dir, 'Stok Listesi.csv');
  const barcodes: string[] = [];
  const rows: string[] = [];
  for (let i = 0; i < (knobs.products ?? 25); i++) {
    let barcode = barcodeFor(i);
    if (knobs.duplicateBarcode && i === 1) barcode = barcodeFor(0);
    if (knobs.missingBarcode && i === 2) barcode = '';
    barcodes.push(barcode);
    rows.push([`STK.${String(i + 1).padStart(5, '0')}`, turkishName(i), barcode, turkish(124_990 + i * 1_005), String(i % 9), i % 4 === 3 ? '10' : '20'].join(';'));
  }
  const lines = ['STOK LİSTESİ;;;;;', headers.join(';'), ...rows];
  if (knobs.faults?.some((fault) => fault.kind === 'malformed')) lines.splice(Math.ceil(lines.length / 2), 0, 'STK.99999;"Yarım kalan açıklama;;;;');
  await writeFile(path, iconv.encode(`${lines.join('\r\n')}\r\n`, 'windows-1254'));
  return {
    baseUrl: 'http://127.0.0.1/',
    path,
    requests: [],
    expectedBarcodes: barcodes,
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
