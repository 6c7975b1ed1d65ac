import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { csv } from '../../drivers/csv.js';
import { createDriverContext } from '../../src/driver/context.js';
import type { DriverContext } from '../../src/driver/contract.js';
import { validateCandidate } from '../../src/engine/validate.js';
import { setLanguage } from '../../src/i18n/index.js';
import { expectFailure, pullAll } from '../support/driver-contract.js';
import { barcodeFor, fixturePath, turkishName } from '../fakes/common.js';

let dir: string;
const contexts: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'erp-sync-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((ctx) => ctx.close()));
});

/** A connection to a file whose prices include VAT, unless `settings` says otherwise. */
function fileContext(settings: Record<string, string>): DriverContext & { warnings: string[] } {
  const warnings: string[] = [];
  // createDriverContext insists on a base URL; the CSV driver never uses ctx.http.
  const ctx = createDriverContext({ driver: csv, connection: 'dosya', settings: { priceIncludesVat: 'true', ...settings }, warn: (m) => warnings.push(m) });
  contexts.push(ctx);
  return Object.assign(ctx, { warnings });
}

async function fixture(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const names = [turkishName(0), 'Işıklı Çalar Saat, Gümüş', 'İğneli Şöförlük Ünitesi'];

describe('csv driver', () => {
  it('reads UTF-8 with a BOM, comma-separated, English headers', async () => {
    const path = await fixture(
      'english.csv',
      '\ufeffBarcode,SKU,Name,Price,Stock,VAT,Currency\r\n' +
        `${barcodeFor(0)},A-1,${names[0]},1249.90,12,10,USD\r\n` +
        `${barcodeFor(1)},A-2,"${names[1]}",99.5,0,20,EUR\r\n`,
    );
    const { candidates } = await pullAll(csv, fileContext({ path }));
    expect(candidates).toEqual([
      { barcode: barcodeFor(0), sku: 'A-1', name: names[0], price: '1249.90', stock: '12', vatRate: '10', priceIncludesVat: true, currency: 'USD' },
      { barcode: barcodeFor(1), sku: 'A-2', name: names[1], price: '99.5', stock: '0', vatRate: '20', priceIncludesVat: true, currency: 'EUR' },
    ]);
  });

  it('reads Windows-1254 bytes, semicolons and decimal commas under Turkish headers', async () => {
    const text =
      'Barkod;Stok Kodu;Ürün Adı;Satış Fiyatı;Miktar;KDV;Para Birimi\r\n' +
      `${barcodeFor(0)};SK-1;${names[2]};1.234,56;1.250;%10;TL\r\n` +
      `${barcodeFor(1)};SK-2;"${names[1]}";15,5;3;20;TRY\r\n`;
    const bytes = iconv.encode(text, 'windows-1254');
    expect(bytes.includes(Buffer.from('Ü', 'utf8'))).toBe(false);
    const path = await fixture('logo.csv', bytes);
    const { candidates } = await pullAll(csv, fileContext({ path }));
    expect(candidates.map((c) => [c.barcode, c.sku, c.name, c.price, c.stock, c.vatRate, c.currency])).toEqual([
      [barcodeFor(0), 'SK-1', names[2], '1234.56', '1250', '10', 'TL'],
      [barcodeFor(1), 'SK-2', names[1], '15.5', '3', '20', 'TRY'],
    ]);
  });

  it('decides the encoding on the whole file: Turkish letters far past the start still mean Windows-1254', async () => {
    const rows = ['Barkod;Ürün Adı;Fiyat'];
    for (let i = 0; i < 4000; i++) rows.push(`${barcodeFor(i)};Urun ${i};10,00`);
    rows.push(`${barcodeFor(4000)};Şemsiye Çiçekli;12,50`);
    const path = await fixture('late-turkish.csv', iconv.encode(rows.join('\n'), 'windows-1254'));
    const { candidates } = await pullAll(csv, fileContext({ path }));
    expect(candidates).toHaveLength(4001);
    expect(candidates.at(-1)).toMatchObject({ name: 'Şemsiye Çiçekli', price: '12.50' });
  });

  it('finds upper-case and unaccented Turkish headers below a report title, and skips blank rows', async () => {
    const path = await fixture(
      'mikro.csv',
      'Stok Listesi - 22.11.2026\n\nBARKOD;STOK KODU;URUN ADI;FİYAT;STOK\n' + `${barcodeFor(5)};M-5;${names[0]};7,25;4\n;;;;\n${barcodeFor(6)};M-6;${names[2]};8;0\n`,
    );
    const { candidates } = await pullAll(csv, fileContext({ path }));
    expect(candidates.map((c) => [c.barcode, c.sku, c.name, c.price, c.stock])).toEqual([
      [barcodeFor(5), 'M-5', names[0], '7.25', '4'],
      [barcodeFor(6), 'M-6', names[2], '8', '0'],
    ]);
  });

  it('applies the VAT and currency settings where the file has no such columns', async () => {
    const path = await fixture('minimal.csv', `Barkod,Fiyat\n${barcodeFor(1)},10\n`);
    const defaults = await pullAll(csv, fileContext({ path }));
    expect(defaults.candidates[0]).toMatchObject({ vatRate: '20', priceIncludesVat: true, currency: 'TRY', stock: null, name: null });
    const custom = await pullAll(csv, fileContext({ path, vatRate: '1', priceIncludesVat: 'false', currency: 'EUR' }));
    expect(custom.candidates[0]).toMatchObject({ vatRate: '1', priceIncludesVat: false, currency: 'EUR' });
  });

  it('uses the column settings, matched without regard to Turkish case or accents', async () => {
    const path = await fixture('custom.csv', `EAN Kodu;Ürün Tanımı;Tutar;Barkod\n${barcodeFor(2)};${names[0]};5,00;yanlış\n`);
    const settings = { path, barcodeColumn: 'ean kodu', nameColumn: 'URUN TANIMI', priceColumn: 'tutar' };
    const { candidates } = await pullAll(csv, fileContext(settings));
    expect(candidates[0]).toMatchObject({ barcode: barcodeFor(2), name: names[0], price: '5.00' });
  });

  it('reads the first worksheet of an XLSX file, with numbers, formulas and rich text', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Ürünler');
    sheet.addRow(['Barkod', 'Stok Kodu', 'Ürün Adı', 'Satış Fiyatı', 'Stok', 'KDV']);
    sheet.addRow([Number(barcodeFor(0)), 'X-1', names[0], 1249.9, 7, 20]);
    sheet.addRow([barcodeFor(1), 'X-2', { richText: [{ text: 'İpek ' }, { text: 'Şal' }] }, { formula: 'D2*2', result: 2499.8 }, 0, 10]);
    const notes = workbook.addWorksheet('Notlar');
    notes.addRow(['Barkod', 'Fiyat']);
    notes.addRow(['1111111111111', 1]);
    const path = join(dir, 'urunler.xlsx');
    await workbook.xlsx.writeFile(path);
    const ctx = fileContext({ path });
    await csv.testConnection(ctx);
    const { candidates } = await pullAll(csv, ctx);
    expect(candidates.map((c) => [c.barcode, c.sku, c.name, c.price, c.stock, c.vatRate])).toEqual([
      [barcodeFor(0), 'X-1', names[0], '1249.9', '7', '20'],
      [barcodeFor(1), 'X-2', 'İpek Şal', '2499.8', '0', '10'],
    ]);
  });

  it.runIf(existsSync('/proc/self/fd'))('leaves no file open after reading only the header of a multi-sheet XLSX', async () => {
    const workbook = new ExcelJS.Workbook();
    for (const title of ['Ürünler', 'Fiyat Listesi', 'Notlar']) {
      const sheet = workbook.addWorksheet(title);
      sheet.addRow(['Barkod', 'Stok']);
      for (let i = 0; i < 200; i++) sheet.addRow([barcodeFor(i), i]);
    }
    const path = join(dir, 'uc-sayfa.xlsx');
    await workbook.xlsx.writeFile(path);
    const open = () => readdirSync('/proc/self/fd').length;
    const ctx = fileContext({ path });
    await csv.testConnection(ctx);
    const before = open();
    for (let i = 0; i < 5; i++) await csv.testConnection(ctx);
    const { records } = await pullAll(csv, ctx);
    expect(records).toHaveLength(200);
    // A destroyed stream closes its file on the thread pool, a moment later.
    await vi.waitFor(() => expect(open()).toBeLessThanOrEqual(before), { timeout: 5000 });
  });

  it('streams a large file in pages of 500', async () => {
    const path = join(dir, 'large.csv');
    const out = createWriteStream(path);
    out.write('\ufeffBarkod;Ürün Adı;Fiyat;Stok\n');
    for (let i = 0; i < 60_000; i++) {
      if (!out.write(`${barcodeFor(i)};${turkishName(i)};${i},99;${i % 9}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    let count = 0;
    let largest = 0;
    const ctx = fileContext({ path });
    for await (const page of csv.pullPages(ctx)) {
      count += page.records.length;
      largest = Math.max(largest, page.records.length);
    }
    expect(count).toBe(60_000);
    expect(largest).toBe(500);
  });

  describe('exports of the on-premise ERPs', () => {
    const read = async (name: string, settings: Record<string, string> = {}) => {
      const ctx = fileContext({ path: fixturePath(`csv/${name}`), ...settings });
      await csv.testConnection(ctx);
      return { ...(await pullAll(csv, ctx)), warnings: ctx.warnings };
    };
    const offers = (candidates: Awaited<ReturnType<typeof read>>['candidates']) => candidates.map((c) => [c.sku, c.name, c.price, c.stock, c.vatRate]);

    it('recognises a Logo export by its headers: Perakende Fiyatı and Fiili Stok, not the purchase price or the real stock', async () => {
      const { candidates, warnings } = await read('logo.csv');
      expect(offers(candidates)).toEqual([
        ['M.001', 'Işıklı Ayna Büyük', '1249.90', '12', '20'],
        ['M.002', 'Çaydanlık Çelik', '89.90', '0', '20'],
        ['M.003', 'İpek Şal', '649.00', '7', '10'],
      ]);
      expect(candidates.map((c) => c.barcode)).toEqual(['8692220000018', '8692220000025', '8692220000032']);
      expect(warnings).toEqual([]);
    });

    it('recognises a Netsis table export: BARKOD1, SATIS_FIAT1, and KDV_ORANI written as a fraction', async () => {
      const { candidates } = await read('netsis.csv');
      expect(offers(candidates)).toEqual([
        ['NT-100', 'Gümüş Güğüm', '1249.9', '5', '20'],
        ['NT-101', 'Örgü Kazak', '349.99', '25', '10'],
        ['NT-102', 'Ütü Masası', '1100.1', '0', '20'],
      ]);
    });

    it('recognises a Mikro stock list: Barkodu, Stok İsmi, Satış Fiyatı 1, Eldeki Miktar', async () => {
      const { candidates } = await read('mikro.csv');
      expect(offers(candidates)).toEqual([
        ['MK-01', 'Şık Şemsiye', '15.00', '7', '20'],
        ['MK-02', 'Kırmızı Çanta', '450.00', '2', '20'],
        ['MK-03', 'Doğal Sabun', '35.75', '40', '1'],
      ]);
    });

    it('reads with the preset it is told, where the headers alone do not say', async () => {
      const path = await fixture('netsis-raporu.csv', `Stok Kodu;Stok Adı;Barkod;Satış Fiyatı 1;Miktar\nNT-9;Çini Kupa;${barcodeFor(3)};59,90;4\n`);
      const unrecognised = await pullAll(csv, fileContext({ path }));
      expect(unrecognised.candidates[0]!.price).toBeNull();
      const told = await pullAll(csv, fileContext({ path, preset: 'netsis' }));
      expect(told.candidates[0]).toMatchObject({ sku: 'NT-9', name: 'Çini Kupa', price: '59.90', stock: '4' });
    });

    it('warns, and applies no preset, when the headers could be two ERPs’ exports', async () => {
      const path = await fixture('karisik.csv', `Malzeme Kodu;BARKOD1;Perakende Fiyatı;SATIS_FIAT1\nM-1;${barcodeFor(4)};10,00;12,00\n`);
      const ctx = fileContext({ path });
      const { candidates } = await pullAll(csv, ctx);
      expect(candidates[0]!.price).toBeNull();
      expect(ctx.warnings).toEqual([expect.stringMatching(/look like both a Logo and a Netsis export.*--set preset=logo\|netsis\|mikro/)]);
      const logo = await pullAll(csv, fileContext({ path, preset: 'logo' }));
      expect(logo.candidates[0]!.price).toBe('10.00');
    });

    it('refuses a preset it does not know: exit 78', async () => {
      const failure = await expectFailure(csv.testConnection(fileContext({ path: fixturePath('csv/logo.csv'), preset: 'tiger' })));
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toContain('"tiger"');
      expect(failure.hint).toMatch(/logo, netsis or mikro/);
    });
  });

  it('hands a barcode Excel wrote in scientific notation on as written, and the validator refuses it with its own code and what to do', async () => {
    const { candidates } = await pullAll(csv, fileContext({ path: fixturePath('csv/scientific.csv') }));
    expect(candidates.map((c) => c.barcode)).toEqual(['8,69E+12', '8.69123E+12', '8691234000076']);
    const [turkish, english, good] = candidates.map((c) => validateCandidate(c));
    for (const result of [turkish, english]) {
      expect(result).toMatchObject({ ok: false, issue: { code: 'BARCODE_SCIENTIFIC_NOTATION' } });
      expect(result!.ok === false && result!.issue.message).toMatch(/format the barcode column as text/);
    }
    expect(good!.ok).toBe(true);
  });

  it('hands duplicate and missing barcodes on unchanged', async () => {
    const path = await fixture('dupes.csv', `Barkod,Ad\n${barcodeFor(1)},a\n${barcodeFor(1)},b\n,c\n`);
    const { candidates } = await pullAll(csv, fileContext({ path }));
    expect(candidates.map((c) => c.barcode)).toEqual([barcodeFor(1), barcodeFor(1), null]);
  });

  it('never counts a file that changed while it was read as complete', async () => {
    const rows = ['Barkod;Fiyat', ...Array.from({ length: 1200 }, (_, i) => `${barcodeFor(i)};1`)];
    const path = await fixture('growing.csv', rows.join('\n') + '\n');
    const pages = csv.pullPages(fileContext({ path }))[Symbol.asyncIterator]();
    expect((await pages.next()).value?.records).toHaveLength(500);
    await appendFile(path, `${barcodeFor(1200)};1\n`);
    const failure = await expectFailure((async () => {
      while (!(await pages.next()).done);
    })());
    expect(failure.code).toBe('ERP_INCOMPLETE_PULL');
    expect(failure.exitCode).toBe(75);
  });

  it('reports a CSV file with an unclosed quote as unreadable, exit 75', async () => {
    const path = await fixture('broken.csv', `Barkod,Ad\n${barcodeFor(1)},"Yarım kalan\n`);
    const failure = await expectFailure(pullAll(csv, fileContext({ path })));
    expect(failure.code).toBe('ERP_MALFORMED_RESPONSE');
    expect(failure.message).toContain('broken.csv');
  });

  describe('testConnection', () => {
    it('passes for a readable file with a barcode column, warning about columns it lacks', async () => {
      const path = await fixture('ok.csv', `Barkod;Fiyat\n${barcodeFor(1)};1\n`);
      const ctx = fileContext({ path });
      await expect(csv.testConnection(ctx)).resolves.toBeUndefined();
      expect(ctx.warnings).toEqual([expect.stringMatching(/no stock column/)]);
    });

    it('says the file does not exist: exit 78', async () => {
      const failure = await expectFailure(csv.testConnection(fileContext({ path: join(dir, 'yok.csv') })));
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toMatch(/yok\.csv does not exist/);
    });

    it('says a folder is not a file', async () => {
      const failure = await expectFailure(csv.testConnection(fileContext({ path: dir })));
      expect(failure.message).toMatch(/is a folder/);
    });

    it('names the headers it found when there is no barcode column', async () => {
      const path = await fixture('nobarcode.csv', 'Stok Kodu;Ürün Adı;Fiyat\nA;B;1\n');
      for (const failure of [await expectFailure(csv.testConnection(fileContext({ path }))), await expectFailure(pullAll(csv, fileContext({ path })))]) {
        expect(failure.exitCode).toBe(78);
        expect(failure.message).toContain('no barcode column');
        expect(failure.message).toContain('Stok Kodu, Ürün Adı, Fiyat');
      }
    });

    it('says when a column setting names no column', async () => {
      const path = await fixture('ok2.csv', `Barkod;Fiyat\n${barcodeFor(1)};1\n`);
      const failure = await expectFailure(csv.testConnection(fileContext({ path, stockColumn: 'Depo Miktarı' })));
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toContain('stockColumn setting "Depo Miktarı"');
    });

    it('refuses an old .xls file with a hint', async () => {
      const path = await fixture('eski.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]));
      const failure = await expectFailure(csv.testConnection(fileContext({ path })));
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toMatch(/old Excel \.xls file/);
      expect(failure.hint).toMatch(/Excel Workbook \(\.xlsx\)/);
    });

    it('refuses an HTML table saved as .xls, as some ERPs’ Excel export writes it', async () => {
      const path = await fixture('stok.xls', `\ufeff<html><head><meta charset="utf-8"></head><body><table><tr><td>Barkod</td><td>Fiyat</td></tr><tr><td>${barcodeFor(1)}</td><td>1</td></tr></table></body></html>`);
      const failure = await expectFailure(pullAll(csv, fileContext({ path })));
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toMatch(/is a web page \(HTML\)/);
      expect(failure.hint).toMatch(/\.xlsx/);
    });

    it('declares every field with an English and a Turkish label, and the path as required', () => {
      for (const field of csv.fields) {
        expect(field.label.trim()).not.toBe('');
        expect(field.labelTr.trim()).not.toBe('');
      }
      expect(csv.fields.find((f) => f.name === 'path')).toMatchObject({ required: true, kind: 'path' });
      expect(csv.fields.some((f) => f.name === 'baseUrl')).toBe(false);
    });
  });

  describe('in Turkish', () => {
    beforeEach(() => setLanguage('tr'));

    it('says the file does not exist, and what to do, in Turkish', async () => {
      const path = join(dir, 'yok.csv');
      const failure = await expectFailure(csv.testConnection(fileContext({ path })));
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toBe(`${path} dosyası bulunamadı`);
      expect(failure.hint).toBe('path ayarını kontrol edin ya da ürün listesini bu konuma yeniden dışa aktarın.');
    });

    it('names the headers it found when there is no barcode column, in Turkish', async () => {
      const path = await fixture('nobarcode-tr.csv', 'Stok Kodu;Ürün Adı;Fiyat\nA;B;1\n');
      const failure = await expectFailure(pullAll(csv, fileContext({ path })));
      expect(failure.message).toBe(`${path} dosyasında barkod sütunu yok; bulunan başlıklar: Stok Kodu, Ürün Adı, Fiyat`);
      expect(failure.hint).toBe('Barkod sütununu --set barcodeColumn=<başlık> ile belirtin.');
    });

    it('warns in Turkish about a missing stock column', async () => {
      const path = await fixture('ok-tr.csv', `Barkod;Fiyat\n${barcodeFor(1)};1\n`);
      const ctx = fileContext({ path });
      await csv.testConnection(ctx);
      expect(ctx.warnings).toEqual([`${path} dosyasında stok sütunu yok; bu dosyadan stok alınmaz`]);
    });

    it('refuses a yes/no setting that is neither, in the language of the process', async () => {
      const path = await fixture('ok-bool.csv', `Barkod;Fiyat\n${barcodeFor(1)};1\n`);
      const turkish = await expectFailure(csv.testConnection(fileContext({ path, priceIncludesVat: 'belki' })));
      expect(turkish.exitCode).toBe(78);
      expect(turkish.message).toBe('priceIncludesVat ayarındaki "belki" değeri ne true ne de false');
      setLanguage('en');
      const english = await expectFailure(csv.testConnection(fileContext({ path, priceIncludesVat: 'belki' })));
      expect(english.message).toBe('the priceIncludesVat setting "belki" is neither true nor false');
    });
  });
});
