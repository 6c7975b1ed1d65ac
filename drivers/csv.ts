import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';
import { DriverError } from '../src/driver/contract.js';
import type { Driver, FieldSpec, MapContext, ProductCandidate } from '../src/driver/contract.js';
import { decimalField, vatPercentField } from '../src/driver/decimal.js';
import { defineMessages } from '../src/i18n/index.js';
import { booleanSetting, oncePerSettings, priceIncludesVatField, priceIncludesVatSetting, vatRateField, vatRateSetting } from '../src/driver/settings.js';

const m = defineMessages({
  en: {
    noPriceColumn: '{path} has no price column, so no price is taken from it',
    noStockColumn: '{path} has no stock column, so no stock is taken from it',
    changedWhileRead: '{path} changed while it was being read; the pull is treated as incomplete',
    changedWhileReadHint: 'The next run reads it again; if the ERP exports on a schedule, run erp-sync at another time.',
    noPath: 'no file is set for this connection',
    noPathHint: 'Set it with --set path=/path/to/products.csv.',
    isFolder: '{path} is a folder, not a file',
    isFolderHint: 'Set path to the exported .csv or .xlsx file.',
    missing: 'the file {path} does not exist',
    missingHint: 'Check the path setting, or export the product list there again.',
    denied: 'the file {path} cannot be read: permission denied',
    deniedHint: 'Let the user erp-sync runs as read it.',
    unreadable: 'the file {path} cannot be read: {reason}',
    empty: 'the file {path} is empty',
    emptyHint: 'Export the product list again, with a header row.',
    noHeaders: 'none',
    noSuchColumn: 'the {setting} setting "{value}" names no column of {path}; the headers found are: {found}',
    noBarcodeColumn: '{path} has no barcode column; the headers found are: {found}',
    noBarcodeColumnHint: 'Name the barcode column with --set barcodeColumn=<header>.',
    oldExcel: '{path} is an old Excel .xls file, which erp-sync cannot read',
    oldExcelHint: 'Open it in Excel and save it as "Excel Workbook (.xlsx)" or as CSV, or export it from the ERP in one of those.',
    webPage: '{path} is a web page (HTML) saved under a spreadsheet name, not a CSV or .xlsx file',
    unknownPreset: 'the preset setting "{value}" is not one erp-sync knows',
    unknownPresetHint: 'Use --set preset=logo, netsis or mikro, or leave it unset to recognise the headers.',
    twoPresets: 'the headers of {path} look like both a {first} and a {second} export, so neither preset is applied; the usual column names are looked for instead',
    twoPresetsHint: 'Say which it is with --set preset=logo|netsis|mikro.',
    badCsv: '{path} is not a readable CSV file: {reason}',
    badCsvHint: 'If the ERP was still writing it, the next run reads it again; otherwise export it again.',
    badXlsx: '{path} is not a readable .xlsx file: {reason}',
    badXlsxHint: 'If the ERP was still writing it, the next run reads it again; otherwise save it again from Excel.',
  },
  tr: {
    noPriceColumn: '{path} dosyasında fiyat sütunu yok; bu dosyadan fiyat alınmaz',
    noStockColumn: '{path} dosyasında stok sütunu yok; bu dosyadan stok alınmaz',
    changedWhileRead: '{path} dosyası okunurken değişti; ürün alımı eksik sayılıyor',
    changedWhileReadHint: 'Bir sonraki çalışmada dosya yeniden okunur; ERP dışa aktarımı belirli saatlerde yapıyorsa erp-sync’i başka bir saatte çalıştırın.',
    noPath: 'bu bağlantı için dosya belirtilmemiş',
    noPathHint: 'Dosyayı --set path=/path/to/products.csv ile belirtin.',
    isFolder: '{path} bir dosya değil, klasör',
    isFolderHint: 'path ayarında dışa aktarılan .csv ya da .xlsx dosyasını belirtin.',
    missing: '{path} dosyası bulunamadı',
    missingHint: 'path ayarını kontrol edin ya da ürün listesini bu konuma yeniden dışa aktarın.',
    denied: '{path} dosyası okunamıyor: erişim izni yok',
    deniedHint: 'erp-sync’in çalıştığı kullanıcıya bu dosyayı okuma izni verin.',
    unreadable: '{path} dosyası okunamıyor: {reason}',
    empty: '{path} dosyası boş',
    emptyHint: 'Ürün listesini başlık satırıyla birlikte yeniden dışa aktarın.',
    noHeaders: 'yok',
    noSuchColumn: '{setting} ayarındaki "{value}" adlı sütun {path} dosyasında yok; bulunan başlıklar: {found}',
    noBarcodeColumn: '{path} dosyasında barkod sütunu yok; bulunan başlıklar: {found}',
    noBarcodeColumnHint: 'Barkod sütununu --set barcodeColumn=<başlık> ile belirtin.',
    oldExcel: '{path} eski bir Excel .xls dosyası; erp-sync bu biçimi okuyamaz',
    oldExcelHint: 'Dosyayı Excel’de açıp "Excel Çalışma Kitabı (.xlsx)" ya da CSV olarak kaydedin veya ERP’den bu biçimlerden birinde dışa aktarın.',
    webPage: '{path} bir elektronik tablo adıyla kaydedilmiş bir web sayfası (HTML); CSV ya da .xlsx dosyası değil',
    unknownPreset: 'preset ayarındaki "{value}" erp-sync’in tanıdığı bir hazır ayar değil',
    unknownPresetHint: '--set preset=logo, netsis ya da mikro kullanın veya başlıkların tanınması için boş bırakın.',
    twoPresets: '{path} dosyasının başlıkları hem {first} hem {second} dışa aktarımına benziyor; bu yüzden hiçbir hazır ayar uygulanmadı, alışılmış sütun adları aranıyor',
    twoPresetsHint: 'Hangisi olduğunu --set preset=logo|netsis|mikro ile belirtin.',
    badCsv: '{path} okunabilir bir CSV dosyası değil: {reason}',
    badCsvHint: 'ERP dosyayı yazmayı bitirmemişse bir sonraki çalışmada yeniden okunur; bitirmişse dosyayı yeniden dışa aktarın.',
    badXlsx: '{path} okunabilir bir .xlsx dosyası değil: {reason}',
    badXlsxHint: 'ERP dosyayı yazmayı bitirmemişse bir sonraki çalışmada yeniden okunur; bitirmişse Excel’den yeniden kaydedin.',
  },
});

/** Records per page handed to the engine. */
const pageSize = 500;

/** Title or report lines a spreadsheet may carry above its header row. */
const headerSearchRows = 20;

type Field = 'barcode' | 'sku' | 'name' | 'price' | 'stock' | 'vat' | 'currency';

/**
 * Headers each field is found under when neither a column setting nor a
 * preset names it, compared after `headerKey` (Turkish lower case, no
 * accents, letters and digits only), in order of preference: what
 * hand-made spreadsheets commonly call the columns, and the names of the
 * on-premise ERPs' exports that mean one thing only.
 */
const defaultHeaders: Record<Field, readonly string[]> = {
  barcode: ['barkod', 'barcode', 'barkodu', 'barkodno', 'barkodnumarasi', 'barkod1', 'ean', 'ean13', 'gtin'],
  sku: ['stokkodu', 'sku', 'urunkodu', 'malzemekodu', 'stokkod', 'stockcode', 'productcode', 'kod', 'code'],
  name: ['urunadi', 'stokadi', 'malzemeadi', 'malzemeaciklamasi', 'urunismi', 'stokismi', 'stoisim', 'productname', 'name', 'ad', 'adi', 'isim', 'aciklama'],
  price: ['satisfiyati', 'satisfiyat', 'fiyat', 'fiyati', 'birimfiyat', 'birimfiyati', 'saleprice', 'salesprice', 'price'],
  stock: ['stok', 'miktar', 'stokmiktari', 'mevcut', 'bakiye', 'stock', 'quantity', 'qty'],
  vat: ['kdv', 'kdvorani', 'kdvyuzdesi', 'vat', 'vatrate', 'tax', 'taxrate'],
  currency: ['parabirimi', 'doviz', 'dovizcinsi', 'dovizturu', 'currency'],
};

type Preset = 'logo' | 'netsis' | 'mikro';

/**
 * The columns of each on-premise ERP's product export (docs/erp-apis.md §5),
 * tried before the usual names: report exports and the tables' own column
 * names (Logo `LG_FFF_ITEMS`, Netsis `TBLSTSABIT`, Mikro `STOKLAR` and
 * `BARKOD_TANIMLARI`). Where an export has several candidates (Netsis
 * `SATIS_FIAT1`…`4`, Logo "Fiili Stok" and "Gerçek Stok"), the first is the
 * one sold at.
 */
const presets: Record<Preset, { name: string; headers: Partial<Record<Field, readonly string[]>> }> = {
  logo: {
    name: 'Logo',
    headers: {
      barcode: ['barkodu', 'barkod', 'anabirimbarkodu', 'eanbarkod', 'eanbarcode'],
      sku: ['malzemekodu', 'kodu', 'code'],
      name: ['malzemeaciklamasi', 'aciklamasi', 'name'],
      price: ['perakendefiyati', 'perakendesatisfiyati', 'satisfiyati'],
      stock: ['fiilistok', 'gercekstok', 'onhand'],
      vat: ['kdvorani', 'kdv', 'satiskdvorani'],
      currency: ['dovizturu', 'parabirimi'],
    },
  },
  netsis: {
    name: 'Netsis',
    headers: {
      barcode: ['barkod1', 'barkod'],
      sku: ['stokkodu'],
      name: ['stokadi'],
      price: ['satisfiat1', 'satisfiyati1'],
      stock: ['miktar', 'bakiye', 'stokmiktari'],
      vat: ['kdvorani'],
    },
  },
  mikro: {
    name: 'Mikro',
    headers: {
      barcode: ['barkodu', 'barkod'],
      sku: ['stokkodu', 'stokod'],
      name: ['stokismi', 'stoisim', 'stokadi'],
      price: ['satisfiyati1', 'satisfiyati', 'sfiyatfiyati', 'fiyat'],
      stock: ['eldekimiktar', 'miktar', 'depomiktari'],
      vat: ['kdvorani', 'kdv'],
      currency: ['doviz', 'parabirimi'],
    },
  },
};

const presetIds = Object.keys(presets) as Preset[];

/**
 * Headers that only one preset's exports have: a file with any of them, and
 * none of another preset's, is read with that preset without being told.
 */
const signatures: Record<Preset, readonly string[]> = {
  logo: ['malzemekodu', 'malzemeaciklamasi', 'perakendefiyati', 'fiilistok', 'gercekstok'],
  netsis: ['satisfiat1', 'barkod1'],
  mikro: ['stokismi', 'stoisim', 'stokod', 'eldekimiktar'],
};

const columnSettings: Record<Field, { name: string; label: string; labelTr: string }> = {
  barcode: { name: 'barcodeColumn', label: 'Barcode column', labelTr: 'Barkod sütunu' },
  sku: { name: 'skuColumn', label: 'Stock code (SKU) column', labelTr: 'Stok kodu sütunu' },
  name: { name: 'nameColumn', label: 'Product name column', labelTr: 'Ürün adı sütunu' },
  price: { name: 'priceColumn', label: 'Price column', labelTr: 'Fiyat sütunu' },
  stock: { name: 'stockColumn', label: 'Stock column', labelTr: 'Stok sütunu' },
  vat: { name: 'vatColumn', label: 'VAT column', labelTr: 'KDV sütunu' },
  currency: { name: 'currencyColumn', label: 'Currency column', labelTr: 'Para birimi sütunu' },
};

const fields = Object.keys(columnSettings) as Field[];

/**
 * A catalog exported to a local CSV or XLSX file (Logo, Netsis, Mikro or a
 * spreadsheet). The file is read as a stream, never held whole. A record is
 * one row, keyed by the file's own headers. Old binary `.xls` files are
 * refused with what to do: no maintained library on npm reads them.
 */
export const csv = {
  id: 'csv',
  local: true,
  name: 'CSV / Excel file',
  fields: [
    {
      name: 'path',
      label: 'File',
      labelTr: 'Dosya',
      secret: false,
      required: true,
      kind: 'path',
      help: { en: 'A .csv or .xlsx export of the product list, read again on every run.', tr: 'Ürün listesinin .csv ya da .xlsx dışa aktarımı; her çalışmada yeniden okunur.' },
    },
    ...fields.map(
      (field): FieldSpec => ({
        ...columnSettings[field],
        secret: false,
        required: false,
        help: {
          en: `The column's header, when it is not one of the usual names (${defaultHeaders[field].slice(0, 2).join(', ')}, ...); case and accents do not matter.`,
          tr: `Sütun başlığı, alışılmış adlardan (${defaultHeaders[field].slice(0, 2).join(', ')}, ...) biri değilse; büyük/küçük harf ve Türkçe karakterler fark etmez.`,
        },
      }),
    ),
    {
      name: 'preset',
      label: 'Export of',
      labelTr: 'Dışa aktaran ERP',
      secret: false,
      required: false,
      kind: 'choice',
      choices: presetIds,
      help: {
        en: 'The ERP that wrote the file (logo, netsis or mikro), for its column names; unset, they are recognised where only one ERP uses them.',
        tr: 'Dosyayı yazan ERP (logo, netsis ya da mikro), sütun adları için; boş bırakılırsa yalnızca bir ERP’nin kullandığı adlar tanınır.',
      },
    },
    vatRateField({ en: 'Used where the file has no VAT column, or the cell is empty.', tr: 'Dosyada KDV sütunu yoksa ya da hücre boşsa bu kullanılır.' }),
    priceIncludesVatField({ en: 'A spreadsheet does not say whether its prices include VAT.', tr: 'Bir elektronik tablo fiyatların KDV dahil olup olmadığını söylemez.' }),
    {
      name: 'currency',
      label: 'Currency',
      labelTr: 'Para birimi',
      secret: false,
      required: false,
      default: 'TRY',
      help: { en: 'Used where the file has no currency column, or the cell is empty.', tr: 'Dosyada para birimi sütunu yoksa ya da hücre boşsa bu kullanılır.' },
    },
  ],

  async testConnection(ctx) {
    priceIncludesVatSetting(ctx);
    const settings = readSettings(ctx.settings);
    await fileStats(settings.path);
    const rows = readRows(settings.path, await inspect(settings.path), ctx.signal);
    let columns: Columns;
    try {
      ({ columns } = await readHeader(rows, settings, ctx.warn));
    } finally {
      await rows.return(undefined);
    }
    if (columns.price === undefined) ctx.warn(m('noPriceColumn', { path: settings.path }));
    if (columns.stock === undefined) ctx.warn(m('noStockColumn', { path: settings.path }));
  },

  async *pullPages(ctx) {
    priceIncludesVatSetting(ctx);
    const settings = readSettings(ctx.settings);
    const before = await fileStats(settings.path);
    const rows = readRows(settings.path, await inspect(settings.path), ctx.signal);
    let page: Record<string, string | number | null>[] = [];
    try {
      const { headers } = await readHeader(rows, settings, ctx.warn);
      for await (const cells of rows) {
        if (cells.every((cell) => cell === null || cell === '')) continue;
        const record: Record<string, string | number | null> = {};
        headers.forEach((header, i) => (record[header] = cells[i] ?? null));
        page.push(record);
        if (page.length >= pageSize) {
          yield { records: page };
          page = [];
        }
      }
    } finally {
      await rows.return(undefined);
    }
    // An ERP that writes its export on a schedule may be halfway through it:
    // what was read then is not the whole catalog.
    const after = await fileStats(settings.path);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new DriverError('INCOMPLETE_PULL', m('changedWhileRead', { path: settings.path }), { hint: m('changedWhileReadHint') });
    }
    if (page.length > 0) yield { records: page };
  },

  mapRecord(record, ctx) {
    if (!isRecord(record)) return [];
    const settings = settingsOnce(ctx.settings);
    const columns = columnsFor(Object.keys(record), settings);
    const cell = (field: Field) => {
      const column = columns[field];
      const value = column === undefined ? null : record[column];
      return value === undefined || value === '' ? null : value;
    };
    const vat = cell('vat');
    return [
      {
        barcode: identifier(cell('barcode')),
        sku: identifier(cell('sku')),
        name: text(cell('name')),
        price: decimalField(cell('price'), 'tr'),
        stock: decimalField(cell('stock'), 'tr'),
        vatRate: vat === null ? settings.vatRate : vatPercentField(vat, 'tr'),
        priceIncludesVat: settings.priceIncludesVat,
        currency: text(cell('currency')) ?? settings.currency,
      } satisfies ProductCandidate,
    ];
  },
} satisfies Driver;

interface CsvSettings {
  path: string;
  /** The column setting per field, as given. */
  columns: Partial<Record<Field, string>>;
  preset: Preset | undefined;
  vatRate: string;
  priceIncludesVat: boolean | null;
  currency: string;
}

/** The settings as mapRecord reads them, for every record: read once a run. */
const settingsOnce = oncePerSettings(readSettings);

function readSettings(settings: MapContext['settings']): CsvSettings {
  const path = settings.path?.trim();
  if (!path) throw new DriverError('CONFIGURATION', m('noPath'), { hint: m('noPathHint') });
  const columns: Partial<Record<Field, string>> = {};
  for (const field of fields) {
    const value = settings[columnSettings[field].name]?.trim();
    if (value) columns[field] = value;
  }
  const preset = settings.preset?.trim().toLowerCase() || undefined;
  if (preset !== undefined && !(presetIds as readonly string[]).includes(preset)) {
    throw new DriverError('CONFIGURATION', m('unknownPreset', { value: settings.preset! }), { hint: m('unknownPresetHint') });
  }
  return {
    path,
    columns,
    preset: preset as Preset | undefined,
    vatRate: vatRateSetting(settings),
    priceIncludesVat: booleanSetting(settings, 'priceIncludesVat', null),
    currency: settings.currency?.trim() || 'TRY',
  };
}


async function fileStats(path: string): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw fileError(path, error);
  }
  if (!stats.isFile()) throw new DriverError('CONFIGURATION', m('isFolder', { path }), { hint: m('isFolderHint') });
  return stats;
}

function fileError(path: string, error: unknown): DriverError {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return new DriverError('CONFIGURATION', m('missing', { path }), { hint: m('missingHint'), cause: error });
  if (code === 'EACCES' || code === 'EPERM') {
    return new DriverError('CONFIGURATION', m('denied', { path }), { hint: m('deniedHint'), cause: error });
  }
  return new DriverError('CONFIGURATION', m('unreadable', { path, reason: error instanceof Error ? error.message : String(error) }), { cause: error });
}

/**
 * Reads up to the header row: the first of the opening rows in which the
 * barcode column is found, so report titles above it are skipped. Throws,
 * naming the headers it saw, when a column cannot be found, and warns when
 * the headers could be two ERPs' exports. `rows` then continues with the
 * first row after the header.
 */
async function readHeader(rows: AsyncGenerator<Cells>, settings: CsvSettings, warn: (message: string) => void): Promise<{ headers: string[]; columns: Columns }> {
  let first: string[] | undefined;
  let header: string[] | undefined;
  for (let row = 1; row <= headerSearchRows && !header; row++) {
    const next = await rows.next();
    if (next.done) break;
    if (next.value.every((cell) => cell === null || cell === '')) continue;
    const headers = headerNames(next.value);
    first ??= headers;
    if (findColumn(headers, 'barcode', settings) !== undefined) header = headers;
  }
  const seen = header ?? first;
  if (!seen) throw new DriverError('CONFIGURATION', m('empty', { path: settings.path }), { hint: m('emptyHint') });
  const found = seen.filter((h) => !/^Sütun \d+$/.test(h)).join(', ') || m('noHeaders');
  for (const field of fields) {
    if (settings.columns[field] !== undefined && findColumn(seen, field, settings) === undefined) {
      throw new DriverError('CONFIGURATION', m('noSuchColumn', { setting: columnSettings[field].name, value: settings.columns[field], path: settings.path, found }));
    }
  }
  if (!header) {
    throw new DriverError('CONFIGURATION', m('noBarcodeColumn', { path: settings.path, found }), { hint: m('noBarcodeColumnHint') });
  }
  const recognised = recognisedPresets(header);
  if (settings.preset === undefined && recognised.length > 1) {
    warn(m('twoPresets', { path: settings.path, first: presets[recognised[0]!].name, second: presets[recognised[1]!].name }) + ` ${m('twoPresetsHint')}`);
  }
  return { headers: header, columns: columnsFor(header, settings) };
}

/** Headers as record keys: blanks named by position, repeats numbered, so no cell is lost. */
function headerNames(cells: Cells): string[] {
  const seen = new Set<string>();
  return cells.map((cell, i) => {
    let name = cell === null ? '' : String(cell).trim();
    if (name === '') name = `Sütun ${i + 1}`;
    for (let n = 2; seen.has(name); n++) name = `${String(cell).trim()} (${n})`;
    seen.add(name);
    return name;
  });
}

type Columns = Partial<Record<Field, string>>;

const columnCache = new Map<string, Columns>();

/** Which header holds each field; the same headers and settings always give the same answer. */
function columnsFor(headers: readonly string[], settings: CsvSettings): Columns {
  const key = JSON.stringify([headers, settings.columns, settings.preset]);
  let columns = columnCache.get(key);
  if (!columns) {
    columns = {};
    for (const field of fields) {
      const column = findColumn(headers, field, settings);
      if (column !== undefined) columns[field] = column;
    }
    if (columnCache.size > 100) columnCache.clear();
    columnCache.set(key, columns);
  }
  return columns;
}

/** A column setting names the header; otherwise the preset's names come first (set, or recognised), then the usual ones. */
function findColumn(headers: readonly string[], field: Field, settings: CsvSettings): string | undefined {
  const keys = headers.map(headerKey);
  const preset = settings.preset ?? onlyOne(recognisedPresets(headers));
  const wanted =
    settings.columns[field] === undefined ? [...((preset && presets[preset].headers[field]) ?? []), ...defaultHeaders[field]] : [headerKey(settings.columns[field])];
  for (const name of wanted) {
    const index = keys.indexOf(name);
    if (index !== -1) return headers[index];
  }
  return undefined;
}

/** The presets whose exports alone have one of these headers. */
function recognisedPresets(headers: readonly string[]): Preset[] {
  const keys = new Set(headers.map(headerKey));
  return presetIds.filter((id) => signatures[id].some((signature) => keys.has(signature)));
}

function onlyOne<T>(items: readonly T[]): T | undefined {
  return items.length === 1 ? items[0] : undefined;
}

/** `Ürün Adı`, `URUN ADI`, `urun_adi` → `urunadi`: Turkish case rules, accents and punctuation dropped. */
function headerKey(header: string): string {
  return header
    .toLocaleLowerCase('tr')
    .replace(/ı/g, 'i')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]/g, '');
}

type Cells = (string | number | null)[];

type Format = { kind: 'xlsx' } | { kind: 'csv'; encoding: string; delimiter: string };

/** Tells XLSX from CSV by content, not by name, and a CSV file's encoding and separator. */
async function inspect(path: string): Promise<Format> {
  const head = await readStart(path, 64 * 1024);
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return { kind: 'xlsx' };
  if (head.subarray(0, 4).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0]))) {
    throw new DriverError('CONFIGURATION', m('oldExcel', { path }), { hint: m('oldExcelHint') });
  }
  // Some ERPs' "Excel" export is an HTML table saved as .xls.
  if (/^(\ufeff|\s)*<(!doctype html|html|table|meta)\b/i.test(head.subarray(0, 1024).toString('utf8'))) {
    throw new DriverError('CONFIGURATION', m('webPage', { path }), { hint: m('oldExcelHint') });
  }
  const encoding = await detectEncoding(path, head);
  return { kind: 'csv', encoding, delimiter: detectDelimiter(iconv.decode(head, encoding)) };
}

/** Rows of the file's first sheet, as cells, whatever the format. */
async function* readRows(path: string, format: Format, signal: AbortSignal): AsyncGenerator<Cells> {
  if (format.kind === 'xlsx') {
    yield* readXlsxRows(path, signal);
    return;
  }
  const parser = parse({ delimiter: format.delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, trim: true });
  pipeline(createReadStream(path, { signal }), iconv.decodeStream(format.encoding), parser, () => undefined);
  try {
    for await (const record of parser) yield record as string[];
  } catch (error) {
    if ((error as { name?: string }).name === 'AbortError') throw error;
    if ((error as { code?: string }).code?.startsWith('CSV_')) {
      throw new DriverError('MALFORMED_RESPONSE', m('badCsv', { path, reason: (error as Error).message }), { hint: m('badCsvHint'), cause: error });
    }
    throw fileError(path, error);
  }
}

async function readStart(path: string, bytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    throw fileError(path, error);
  } finally {
    await handle?.close();
  }
}

/**
 * UTF-8 with a BOM, UTF-16 with a BOM (Excel's "Unicode text"), UTF-8
 * without one if every byte of the file is valid UTF-8, and otherwise
 * Windows-1254, the Turkish code page Logo, Netsis and Excel write.
 */
async function detectEncoding(path: string, head: Buffer): Promise<string> {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf16be';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(path)) decoder.decode(chunk as Buffer, { stream: true });
    decoder.decode();
    return 'utf8';
  } catch (error) {
    if (error instanceof TypeError) return 'windows-1254';
    throw fileError(path, error);
  }
}

/** The separator used most in the first line that has any: `;` from Turkish Excel, `,` or a tab elsewhere. */
function detectDelimiter(sample: string): string {
  for (const line of sample.split(/\r?\n/)) {
    const unquoted = line.replace(/"[^"]*"/g, '');
    const counts = [';', ',', '\t'].map((d) => [d, unquoted.split(d).length - 1] as const);
    const [best, count] = counts.reduce((a, b) => (b[1] > a[1] ? b : a));
    if (count > 0) return best;
  }
  return ',';
}

async function* readXlsxRows(path: string, signal: AbortSignal): AsyncGenerator<Cells> {
  // Loaded here, not at the top: exceljs is large, and every command imports the drivers.
  const { default: ExcelJS } = await import('exceljs');
  const input = createReadStream(path, { signal });
  const options = { worksheets: 'emit', sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'ignore', entries: 'ignore' } as const;
  const sheets = new ExcelJS.stream.xlsx.WorkbookReader(input, options)[Symbol.asyncIterator]();
  try {
    const first = await sheets.next();
    if (!first.done) {
      for await (const row of first.value) yield Array.from(Array.isArray(row.values) ? row.values.slice(1) : [], cellValue);
    }
  } catch (error) {
    if (error instanceof DriverError || (error as { name?: string }).name === 'AbortError') throw error;
    throw new DriverError('MALFORMED_RESPONSE', m('badXlsx', { path, reason: error instanceof Error ? error.message : String(error) }), {
      hint: m('badXlsxHint'),
      cause: error,
    });
  } finally {
    // exceljs copies worksheets that precede the shared strings to temporary
    // files and deletes each only once it has been read to its end, so reading
    // stops only after every sheet has been run through.
    try {
      for (let next = await sheets.next(); !next.done; next = await sheets.next()) {
        for await (const row of next.value) void row;
      }
    } catch {
      // The file is unreadable past this point; the error that matters was thrown above.
    }
    input.destroy();
  }
}

/** Flattens exceljs cell values (rich text, formulas, links, dates) to what a CSV cell would hold. */
function cellValue(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const v = value as { richText?: { text: string }[]; result?: unknown; formula?: unknown; text?: unknown; error?: unknown };
    if (Array.isArray(v.richText)) return v.richText.map((part) => part.text).join('');
    if (v.formula !== undefined || v.result !== undefined) return cellValue(v.result);
    if (v.text !== undefined) return cellValue(v.text);
  }
  return null;
}


function identifier(value: string | number | null): string | number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return value;
}

function text(value: string | number | null): string | null {
  return value === null ? null : String(value);
}

function isRecord(value: unknown): value is Record<string, string | number | null> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
