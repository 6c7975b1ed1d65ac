import { DriverError } from '../src/driver/contract.js';
import type { Driver, DriverContext, FieldSpec, ProductCandidate } from '../src/driver/contract.js';
import { decimalField } from '../src/driver/decimal.js';
import { paginateByKey } from '../src/driver/paginate.js';
import type { KeyedPage } from '../src/driver/paginate.js';
import { asObject, booleanSetting, pageSizeField, trimmedText } from '../src/driver/settings.js';
import { choiceSetting, requireColumns, sqlServerConfig, sqlServerFields, wallClock, warehouseSetting, wholeNumberSetting } from '../src/driver/sql.js';
import type { SqlParameterType, SqlParameters, SqlRow, SqlSession } from '../src/driver/sql.js';
import { defineMessages } from '../src/i18n/index.js';

/**
 * Mikro (v15, v16; Jump and Fly keep the same tables), read where it lives:
 * the stock cards in STOKLAR, barcodes in BARKOD_TANIMLARI, a sales price
 * list in STOK_SATIS_FIYAT_LISTELERI, and the KDV rate and the quantity on
 * hand through Mikro's own functions (dbo.fn_VergiYuzde, dbo.fn_EldekiMiktar,
 * dbo.fn_DepodakiMiktar), so erp-sync reads them as Mikro's screens do.
 * Mikro's HTTP API is not offered: the shape of its answers is not public.
 * docs/onprem.md lists what is read, the README what is uncertain.
 *
 * Mikro v15 keys its rows with an integer (`sto_RECno`), v16 with a GUID
 * (`sto_Guid`) and has no RECno at all; the driver pages by whichever this
 * database has (the `version` setting, `auto` by default, asks the database).
 */

const m = defineMessages({
  en: {
    noKey: 'STOKLAR has neither sto_RECno (Mikro v15) nor sto_Guid (Mikro v16): this does not look like a Mikro database, or the login cannot see its columns',
    wrongVersion: 'the version setting says Mikro v{version}, but STOKLAR has no {column}',
    wrongVersionHint: 'Set `--set version=auto` to let erp-sync ask the database.',
    unknownList: 'Mikro has no sales price list {list} (STOK_SATIS_FIYAT_LISTE_TANIMLARI); the lists are: {lists}',
    unknownListHint: 'Set the list number with `erp-sync connect {connection} --set priceList=N`.',
    unknownDepot: 'Mikro has no depot {depot} (DEPOLAR); the depots are: {depots}',
    none: 'none',
    listSilent: 'the {connection} connection: this Mikro\'s price lists do not say whether their prices include KDV (STOK_SATIS_FIYAT_LISTE_TANIMLARI has no sfl_kdvdahil), and the listIncludesVat setting is not chosen',
    listSilentHint: 'Say which it is for list {list}: `erp-sync connect {connection} --set listIncludesVat=true` (KDV dahil) or `--set listIncludesVat=false` (KDV hariç).',
  },
  tr: {
    noKey: 'STOKLAR’da ne sto_RECno (Mikro v15) ne de sto_Guid (Mikro v16) var: bu bir Mikro veritabanına benzemiyor ya da giriş sütunlarını göremiyor',
    wrongVersion: 'version ayarı Mikro v{version} diyor, ama STOKLAR’da {column} yok',
    wrongVersionHint: 'erp-sync’in veritabanına sorması için `--set version=auto` verin.',
    unknownList: 'Mikro’da {list} numaralı satış fiyat listesi yok (STOK_SATIS_FIYAT_LISTE_TANIMLARI); listeler: {lists}',
    unknownListHint: 'Liste numarasını `erp-sync connect {connection} --set priceList=N` ile verin.',
    unknownDepot: 'Mikro’da {depot} numaralı depo yok (DEPOLAR); depolar: {depots}',
    none: 'yok',
    listSilent: '{connection} bağlantısı: bu Mikro’nun fiyat listeleri fiyatlarının KDV dahil olup olmadığını söylemiyor (STOK_SATIS_FIYAT_LISTE_TANIMLARI’nda sfl_kdvdahil yok) ve listIncludesVat ayarı seçilmemiş',
    listSilentHint: '{list} numaralı liste için hangisi olduğunu söyleyin: `erp-sync connect {connection} --set listIncludesVat=true` (KDV dahil) ya da `--set listIncludesVat=false` (KDV hariç).',
  },
});

const versions = ['auto', '15', '16'] as const;
const vatColumns = ['sto_perakende_vergi', 'sto_toptan_vergi'] as const;

const fields: FieldSpec[] = [
  ...sqlServerFields({
    required: true,
    database: { en: 'The Mikro firm\'s database, e.g. MikroDB_V16_FIRMA (Mikro keeps one per firm).', tr: 'Mikro firmasının veritabanı, ör. MikroDB_V16_FIRMA (Mikro her firma için ayrı tutar).' },
  }),
  {
    name: 'priceList', label: 'Sales price list number', labelTr: 'Satış fiyat listesi numarası', secret: false, required: false, kind: 'integer', default: '1',
    help: { en: 'The sales price list to sell at (sfl_sirano); whether its prices include KDV is read from the list itself.', tr: 'Satış yapılacak satış fiyat listesi (sfl_sirano); fiyatlarının KDV dahil olup olmadığı listenin kendisinden okunur.' },
  },
  {
    name: 'listIncludesVat', label: 'The price list includes KDV (only where Mikro does not say)', labelTr: 'Fiyat listesi KDV dahil (yalnızca Mikro söylemiyorsa)', secret: false, required: false, kind: 'choice', choices: ['true', 'false'],
    help: {
      en: 'Only for a Mikro whose price lists have no sfl_kdvdahil column; where the list says, the list is followed. true: KDV dahil, false: KDV hariç.',
      tr: 'Yalnızca fiyat listelerinde sfl_kdvdahil sütunu olmayan bir Mikro için; liste söylüyorsa listeye uyulur. true: KDV dahil, false: KDV hariç.',
    },
  },
  {
    name: 'warehouse', label: 'Depot', labelTr: 'Depo', secret: false, required: false, kind: 'text', default: 'all',
    help: { en: 'all: stock on hand in every depot (fn_EldekiMiktar); or a depot number (fn_DepodakiMiktar, and that depot\'s prices where the list has them).', tr: 'all: bütün depolardaki eldeki miktar (fn_EldekiMiktar); ya da bir depo numarası (fn_DepodakiMiktar ve listede varsa o deponun fiyatı).' },
  },
  {
    name: 'vatColumn', label: 'KDV rate of', labelTr: 'KDV oranı', secret: false, required: false, kind: 'choice', choices: vatColumns, default: 'sto_perakende_vergi',
    help: { en: 'The stock card\'s retail KDV (sto_perakende_vergi), right for a marketplace, or its wholesale KDV (sto_toptan_vergi).', tr: 'Stok kartının perakende KDV’si (sto_perakende_vergi; pazaryeri için doğrusu) ya da toptan KDV’si (sto_toptan_vergi).' },
  },
  {
    name: 'version', label: 'Mikro version', labelTr: 'Mikro sürümü', secret: false, required: false, kind: 'choice', choices: versions, default: 'auto',
    help: { en: 'auto: ask the database whether its rows are keyed by RECno (v15) or Guid (v16); or say 15 or 16.', tr: 'auto: satırların RECno (v15) mu Guid (v16) mı ile tutulduğunu veritabanına sor; ya da 15 veya 16 deyin.' },
  },
  pageSizeField(500),
];

interface MikroSettings {
  priceList: number;
  warehouse: number | 'all';
  vatColumn: (typeof vatColumns)[number];
  version: (typeof versions)[number];
  pageSize: number;
  /** Whether the list's prices include KDV, for a Mikro whose lists do not say; null when not chosen. */
  listIncludesVat: boolean | null;
}

/** The schema this database turned out to have. */
interface MikroSchema {
  /** `sto_RECno` (v15) or `sto_Guid` (v16), and the SQL type a key is compared as. */
  key: { column: 'sto_RECno' | 'sto_Guid'; type: SqlParameterType };
  /** BARKOD_TANIMLARI's optional columns this version has. */
  barcodeColumns: string[];
  /** The barcode table's own row key, to keep barcodes in the order they were made. */
  barcodeKey: string | undefined;
  /** The price list's definition. */
  list: SqlRow;
}

/** A stock card with its barcodes and its prices in the chosen list: the raw record a page holds. */
export interface MikroRecord {
  item: SqlRow;
  barcodes: SqlRow[];
  prices: SqlRow[];
  /** The list's definition: its number and whether its prices include KDV (sfl_kdvdahil; null where this Mikro's lists do not say, and listIncludesVat does). */
  list: SqlRow;
}

const optionalBarcodeColumns = ['bar_master', 'bar_renkpntr', 'bar_bedenpntr', 'bar_iptal'];

export const mikro = {
  id: 'mikro',
  name: 'Mikro',
  local: true,
  // Keyset pages are read one after another (the next asked for while the last is staged).
  defaultConcurrency: 1,
  fields,

  async testConnection(ctx) {
    const settings = readMikroSettings(ctx);
    const session = openMikro(ctx);
    try {
      const schema = await prepare(session, settings, ctx.connection);
      await fetchPage(session, settings, schema, undefined, 1);
    } finally {
      await session.close();
    }
  },

  async *pullPages(ctx) {
    const settings = readMikroSettings(ctx);
    const session = openMikro(ctx);
    try {
      const schema = await prepare(session, settings, ctx.connection);
      yield* paginateByKey<string | number>({ fetchPage: (after) => fetchPage(session, settings, schema, after, settings.pageSize), pageSize: settings.pageSize });
    } finally {
      await session.close();
    }
  },

  mapRecord(record, ctx) {
    const r = asObject(record) as Partial<MikroRecord>;
    const item = r.item;
    if (!item) return [];
    const price = chosenPrice(r.prices ?? []);
    const currency = price ? currencyOf(price.sfiyat_doviz) : null;
    return [
      {
        barcode: primaryBarcode(r.barcodes ?? []),
        sku: trimmedText(item.sto_kod),
        name: trimmedText(item.sto_isim),
        price: price ? decimalField(price.sfiyat_fiyati) : null,
        currency,
        priceIncludesVat: r.list?.sfl_kdvdahil != null ? flag(r.list.sfl_kdvdahil) : booleanSetting(ctx.settings, 'listIncludesVat', null),
        vatRate: decimalField(item.VAT_PERCENT),
        stock: decimalField(item.STOCK_QTY),
        active: !flag(item.sto_pasif_fl) && !flag(item.sto_iptal) && !flag(item.sto_satis_dursun),
        brand: trimmedText(item.sto_marka_kodu) || null,
        category: trimmedText(item.sto_anagrup_kod) || null,
      } satisfies ProductCandidate,
    ];
  },
} satisfies Driver;

function readMikroSettings(ctx: Pick<DriverContext, 'settings'>): MikroSettings {
  const { settings } = ctx;
  return {
    priceList: wholeNumberSetting(settings, 'priceList', 1) ?? 1,
    warehouse: warehouseSetting(settings),
    vatColumn: choiceSetting(settings, 'vatColumn', vatColumns, 'sto_perakende_vergi'),
    version: choiceSetting(settings, 'version', versions, 'auto'),
    pageSize: wholeNumberSetting(settings, 'pageSize', 500, 1000) || 500,
    listIncludesVat: booleanSetting(settings, 'listIncludesVat', null),
  };
}

function openMikro(ctx: DriverContext): SqlSession {
  return ctx.openSql(sqlServerConfig(ctx, fields));
}

/** Which version this is (its row keys), which barcode columns it has, and the price list's definition; and the depot, checked. */
async function prepare(session: SqlSession, settings: MikroSettings, connection: string): Promise<MikroSchema> {
  const columns = await session.query(
    `SELECT TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS
WHERE TABLE_NAME IN ('STOKLAR', 'BARKOD_TANIMLARI', 'STOK_SATIS_FIYAT_LISTE_TANIMLARI')
 AND COLUMN_NAME IN ('sto_RECno', 'sto_Guid', 'bar_RECno', 'bar_Guid', 'sfl_kdvdahil', ${optionalBarcodeColumns.map((c) => `'${c}'`).join(', ')})`,
  );
  requireColumns(columns, ['TABLE_NAME', 'COLUMN_NAME'], 'INFORMATION_SCHEMA.COLUMNS');
  const has = (table: string, column: string) => columns.rows.some((row) => String(row.TABLE_NAME).toUpperCase() === table && String(row.COLUMN_NAME).toLowerCase() === column.toLowerCase());
  const recno = has('STOKLAR', 'sto_RECno');
  const guid = has('STOKLAR', 'sto_Guid');
  let v15: boolean;
  if (settings.version === '15') {
    if (!recno) throw new DriverError('CONFIGURATION', m('wrongVersion', { version: '15', column: 'sto_RECno' }), { hint: m('wrongVersionHint') });
    v15 = true;
  } else if (settings.version === '16') {
    if (!guid) throw new DriverError('CONFIGURATION', m('wrongVersion', { version: '16', column: 'sto_Guid' }), { hint: m('wrongVersionHint') });
    v15 = false;
  } else {
    if (!recno && !guid) throw new DriverError('CONFIGURATION', m('noKey'));
    v15 = recno;
  }
  const barcodeKey = v15 ? (has('BARKOD_TANIMLARI', 'bar_RECno') ? 'bar_RECno' : undefined) : has('BARKOD_TANIMLARI', 'bar_Guid') ? 'bar_Guid' : undefined;

  // Layouts differ: where the lists do not say whether they include KDV, the connection must (a money setting is never guessed).
  const listSays = has('STOK_SATIS_FIYAT_LISTE_TANIMLARI', 'sfl_kdvdahil');
  const lists = await session.query(`SELECT sfl_sirano, sfl_aciklama${listSays ? ', sfl_kdvdahil' : ''} FROM STOK_SATIS_FIYAT_LISTE_TANIMLARI ORDER BY sfl_sirano`);
  requireColumns(lists, ['sfl_sirano', ...(listSays ? ['sfl_kdvdahil'] : [])], 'STOK_SATIS_FIYAT_LISTE_TANIMLARI');
  const list = lists.rows.find((row) => toNumber(row.sfl_sirano) === settings.priceList);
  if (!list) {
    const names = lists.rows.map((row) => `${String(row.sfl_sirano)} ${trimmedText(row.sfl_aciklama) ?? ''}`.trim());
    throw new DriverError('CONFIGURATION', m('unknownList', { list: String(settings.priceList), lists: names.join(', ') || m('none') }), { hint: m('unknownListHint', { connection }) });
  }
  if (!listSays && settings.listIncludesVat === null) {
    throw new DriverError('CONFIGURATION', m('listSilent', { connection }), { hint: m('listSilentHint', { connection, list: String(settings.priceList) }) });
  }
  if (settings.warehouse !== 'all') {
    const depots = await session.query('SELECT dep_no FROM DEPOLAR ORDER BY dep_no');
    requireColumns(depots, ['dep_no'], 'DEPOLAR');
    if (!depots.rows.some((row) => toNumber(row.dep_no) === settings.warehouse)) {
      throw new DriverError('CONFIGURATION', m('unknownDepot', { depot: String(settings.warehouse), depots: depots.rows.map((row) => String(row.dep_no)).join(', ') || m('none') }));
    }
  }
  return {
    key: v15 ? { column: 'sto_RECno', type: 'int' } : { column: 'sto_Guid', type: 'uniqueidentifier' },
    barcodeColumns: optionalBarcodeColumns.filter((column) => has('BARKOD_TANIMLARI', column)),
    barcodeKey,
    list: { sfl_sirano: list.sfl_sirano ?? null, sfl_kdvdahil: list.sfl_kdvdahil ?? null },
  };
}

/**
 * One page: up to `size` stock cards after `after` in key order, with their
 * KDV rate and quantity on hand from Mikro's functions, then their barcodes
 * and prices, bounded by the page's first and last key.
 */
async function fetchPage(session: SqlSession, settings: MikroSettings, schema: MikroSchema, after: string | number | undefined, size: number): Promise<KeyedPage<string | number>> {
  const { key } = schema;
  const depot: SqlParameters = settings.warehouse === 'all' ? {} : { depot: { type: 'int', value: settings.warehouse } };
  const stock = settings.warehouse === 'all' ? 'dbo.fn_EldekiMiktar(S.sto_kod)' : 'dbo.fn_DepodakiMiktar(S.sto_kod, @depot, GETDATE())';
  const items = await session.query(
    `SELECT TOP (@pageSize) S.${key.column} AS ROW_KEY, S.sto_kod, S.sto_isim, S.sto_pasif_fl, S.sto_iptal, S.sto_satis_dursun, S.sto_anagrup_kod, S.sto_marka_kodu,
 dbo.fn_VergiYuzde(S.${settings.vatColumn}) AS VAT_PERCENT, ${stock} AS STOCK_QTY
FROM STOKLAR S${after === undefined ? '' : `\nWHERE S.${key.column} > @after`}
ORDER BY S.${key.column}`,
    { pageSize: { type: 'int', value: size }, ...depot, ...(after === undefined ? {} : { after: { type: key.type, value: after } }) },
  );
  requireColumns(items, ['ROW_KEY', 'sto_kod', 'sto_isim', 'sto_pasif_fl', 'sto_iptal', 'VAT_PERCENT', 'STOCK_QTY'], 'STOKLAR');
  const keys = items.rows.map((row) => row.ROW_KEY).filter((k): k is string | number => typeof k === 'string' || typeof k === 'number');
  if (keys.length === 0) return { records: [], rows: items.rows.length, firstKey: undefined, lastKey: undefined };
  const range: SqlParameters = { from: { type: key.type, value: keys[0]! }, to: { type: key.type, value: keys[keys.length - 1]! } };

  const barcodeColumns = ['bar_stokkodu', 'bar_kodu', 'bar_birimpntr', ...schema.barcodeColumns];
  const barcodes = await session.query(
    `SELECT ${barcodeColumns.map((c) => `B.${c}`).join(', ')}
FROM BARKOD_TANIMLARI B JOIN STOKLAR S ON S.sto_kod = B.bar_stokkodu
WHERE S.${key.column} BETWEEN @from AND @to
ORDER BY B.bar_stokkodu, B.${schema.barcodeKey ?? 'bar_kodu'}`,
    range,
  );
  requireColumns(barcodes, barcodeColumns, 'BARKOD_TANIMLARI');
  const prices = await session.query(
    `SELECT F.sfiyat_stokkod, F.sfiyat_fiyati, F.sfiyat_doviz, F.sfiyat_deposirano, F.sfiyat_lastup_date
FROM STOK_SATIS_FIYAT_LISTELERI F JOIN STOKLAR S ON S.sto_kod = F.sfiyat_stokkod
WHERE S.${key.column} BETWEEN @from AND @to AND F.sfiyat_listesirano = @list AND F.sfiyat_odemeplan = 0 AND ISNULL(F.sfiyat_iptal, 0) = 0 AND ${settings.warehouse === 'all' ? 'F.sfiyat_deposirano = 0' : 'F.sfiyat_deposirano IN (0, @depot)'}
ORDER BY F.sfiyat_stokkod`,
    { ...range, ...depot, list: { type: 'int', value: settings.priceList } },
  );
  requireColumns(prices, ['sfiyat_stokkod', 'sfiyat_fiyati', 'sfiyat_doviz', 'sfiyat_deposirano', 'sfiyat_lastup_date'], 'STOK_SATIS_FIYAT_LISTELERI');

  // Codes compare as the server does: case and trailing spaces aside.
  const codeKey = (value: unknown) => (typeof value === 'string' ? value.replace(/\s+$/, '').toLocaleUpperCase('tr') : '');
  const group = (rows: readonly SqlRow[], column: string) => {
    const groups = new Map<string, SqlRow[]>();
    for (const row of rows) {
      const k = codeKey(row[column]);
      const { [column]: _, ...rest } = row;
      (groups.get(k) ?? groups.set(k, []).get(k)!).push(rest);
    }
    return groups;
  };
  const barcodesOf = group(barcodes.rows, 'bar_stokkodu');
  const pricesOf = group(prices.rows, 'sfiyat_stokkod');
  const records: MikroRecord[] = items.rows.map((item) => ({
    item,
    barcodes: barcodesOf.get(codeKey(item.sto_kod)) ?? [],
    prices: pricesOf.get(codeKey(item.sto_kod)) ?? [],
    list: schema.list,
  }));
  return { records, rows: items.rows.length, firstKey: keys[0], lastKey: keys[keys.length - 1] };
}

/**
 * The card's barcode: the master barcode (bar_master) where Mikro marks one,
 * else the first of the main unit (bar_birimpntr 1). Cancelled barcodes are
 * skipped, and so are barcodes of one colour or size (bar_renkpntr,
 * bar_bedenpntr): they name a variant whose own stock erp-sync does not read,
 * so none of them stands for the card. Further barcodes of the card are the
 * same item: one offer.
 */
function primaryBarcode(rows: readonly SqlRow[]): string | null {
  const usable = rows.filter((row) => trimmedText(row.bar_kodu) && !flag(row.bar_iptal) && !(toNumber(row.bar_renkpntr) ?? 0) && !(toNumber(row.bar_bedenpntr) ?? 0));
  const chosen = usable.find((row) => flag(row.bar_master)) ?? usable.find((row) => (toNumber(row.bar_birimpntr) ?? 1) === 1);
  return trimmedText(chosen?.bar_kodu) ?? null;
}

/** The depot's own price where the list has one (only asked for with a depot), else the general one (depot 0); the latest written wins. */
function chosenPrice(rows: readonly SqlRow[]): SqlRow | undefined {
  return [...rows].sort(
    (a, b) =>
      Number((toNumber(b.sfiyat_deposirano) ?? 0) !== 0) - Number((toNumber(a.sfiyat_deposirano) ?? 0) !== 0) ||
      (wallClock(b.sfiyat_lastup_date) ?? '').localeCompare(wallClock(a.sfiyat_lastup_date) ?? ''),
  )[0];
}

/**
 * Mikro's currency number: 0 is the lira. Other numbers index the firm's own
 * currency table and are not read: such a price is reported as having an
 * unknown currency instead of being sold as lira.
 */
function currencyOf(value: unknown): string {
  const number = toNumber(value) ?? 0;
  return number === 0 ? 'TRY' : `Mikro döviz ${number}`;
}

function flag(value: unknown): boolean {
  return value === true || (toNumber(value) ?? 0) !== 0;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
