import { DriverError } from '../src/driver/contract.js';
import type { Driver, DriverContext, FieldSpec, ProductCandidate } from '../src/driver/contract.js';
import { decimalField, vatPercentField } from '../src/driver/decimal.js';
import { paginateByKey, paginateByPageNumber } from '../src/driver/paginate.js';
import type { KeyedPage, NumberedPage } from '../src/driver/paginate.js';
import { asObject, booleanSetting, oncePerSettings, pageSizeField, priceIncludesVatField, priceIncludesVatSetting, trimmedText } from '../src/driver/settings.js';
import { choiceSetting, requireColumns, sqlServerConfig, sqlServerFields, warehouseSetting, wholeNumberSetting } from '../src/driver/sql.js';
import type { SqlParameters, SqlRow, SqlSession } from '../src/driver/sql.js';
import { TokenSession, oauthErrorReason } from '../src/driver/token-session.js';
import { HttpError } from '../src/http/errors.js';
import { defineMessages } from '../src/i18n/index.js';

/**
 * Logo Netsis, read where it lives: the company's database on SQL Server
 * (the stock cards in TBLSTSABIT, extra barcodes in TBLSTOKBAR, quantities
 * in TBLSTOKPH), or the NetOpenX REST service (`/api/v2/Items`).
 * docs/onprem.md lists what is read, the README what is uncertain.
 *
 * A NetOpenX token holds one of the company's Netsis licence seats for as
 * long as it lives (about twenty minutes), and parallel logins are refused:
 * so a run takes one token, shares it between its requests, and revokes it
 * at the end, whatever happened.
 */

const m = defineMessages({
  en: {
    noRestUrl: 'the {connection} connection reads Netsis through NetOpenX (accessMode=rest) but has no baseUrl',
    noRestUser: 'the {connection} connection reads Netsis through NetOpenX but has no restUser and restPassword',
    noDatabase: 'the {connection} connection has no database setting (the Netsis company\'s database)',
    restHint: 'Set them with `erp-sync connect {connection}`; NetOpenX answers at an address like http://netsis-server:7070.',
    rejected: 'NetOpenX did not accept the Netsis user "{user}" for the company "{database}" (wrong user, password, branch or database): {reason}',
    rejectedHint: 'Check the Netsis user and the database user (TEMELSET unless yours is another), then run `erp-sync connect {connection}` again.',
    seatsTaken: 'every Netsis licence seat is in use, so NetOpenX refused another login ({reason})',
    seatsTakenHint: 'A run needs one seat for a few minutes; the next run tries again. Schedule erp-sync for when fewer people use Netsis.',
    noToken: 'NetOpenX answered the login without an access token',
    notSuccessful: 'NetOpenX refused the item page at offset {offset}: {reason}',
    noData: 'NetOpenX answered the item page at offset {offset} without an item list (Data)',
    noWarehouseRest: 'the warehouse setting applies to the SQL access (accessMode=sql) only: NetOpenX gives one quantity per item',
    zeroRowsDiffer: 'the all-depots row (DEPO_KODU=0) of {count} products in TBLSTOKPH is not the sum of their depots, so in this database it may be a depot of its own; erp-sync reads it as the total, as the depotZero setting says (set depotZero=depot to add up every row)',
    noZeroRows: 'no product in TBLSTOKPH has an all-depots row (DEPO_KODU=0), so every product is read with stock 0; if this database keeps no such row, set depotZero=depot',
  },
  tr: {
    noRestUrl: '{connection} bağlantısı Netsis’i NetOpenX üzerinden okuyor (accessMode=rest) ama baseUrl yok',
    noRestUser: '{connection} bağlantısı Netsis’i NetOpenX üzerinden okuyor ama restUser ve restPassword yok',
    noDatabase: '{connection} bağlantısında database ayarı (Netsis şirketinin veritabanı) yok',
    restHint: '`erp-sync connect {connection}` ile verin; NetOpenX, http://netsis-sunucu:7070 gibi bir adreste yanıt verir.',
    rejected: 'NetOpenX, "{database}" şirketi için "{user}" Netsis kullanıcısını kabul etmedi (kullanıcı, şifre, şube ya da veritabanı yanlış): {reason}',
    rejectedHint: 'Netsis kullanıcısını ve veritabanı kullanıcısını (sizinki başka değilse TEMELSET) kontrol edin, ardından `erp-sync connect {connection}` komutunu yeniden çalıştırın.',
    seatsTaken: 'Netsis’in bütün lisans koltukları dolu, bu yüzden NetOpenX yeni bir girişi reddetti ({reason})',
    seatsTakenHint: 'Bir çalışma birkaç dakika için bir koltuk ister; sonraki çalışma yeniden dener. erp-sync’i Netsis’i daha az kişinin kullandığı saatlere planlayın.',
    noToken: 'NetOpenX giriş isteğine erişim anahtarı (access token) olmadan yanıt verdi',
    notSuccessful: 'NetOpenX {offset} konumundaki ürün sayfasını reddetti: {reason}',
    noData: 'NetOpenX {offset} konumundaki ürün sayfasına ürün listesi (Data) olmadan yanıt verdi',
    noWarehouseRest: 'warehouse ayarı yalnızca SQL erişiminde (accessMode=sql) geçerli: NetOpenX her ürün için tek bir miktar veriyor',
    zeroRowsDiffer: 'TBLSTOKPH’de {count} ürünün tüm depolar satırı (DEPO_KODU=0) depolarının toplamına eşit değil; bu veritabanında ayrı bir depo olabilir. erp-sync, depotZero ayarının dediği gibi onu toplam olarak okuyor (her satırı toplamak için depotZero=depot verin)',
    noZeroRows: 'TBLSTOKPH’de hiçbir ürünün tüm depolar satırı (DEPO_KODU=0) yok, bu yüzden her ürün 0 stokla okunuyor; bu veritabanı böyle bir satır tutmuyorsa depotZero=depot verin',
  },
});

const modes = ['sql', 'rest'] as const;
const priceFields = ['SATIS_FIAT1', 'SATIS_FIAT2', 'SATIS_FIAT3', 'SATIS_FIAT4'] as const;
const depotZeroReadings = ['total', 'depot'] as const;
const whenSql = { field: 'accessMode', equals: 'sql' } as const;
const whenRest = { field: 'accessMode', equals: 'rest' } as const;

const fields: FieldSpec[] = [
  {
    name: 'accessMode', label: 'How to read Netsis', labelTr: 'Netsis nasıl okunsun', secret: false, required: false, kind: 'choice', choices: modes, default: 'sql',
    help: {
      en: 'sql: read the company database on SQL Server with a read-only login (best: every barcode, stock per depot); rest: through NetOpenX, which takes a licence seat while a run lasts.',
      tr: 'sql: şirket veritabanını SQL Server’dan salt okunur bir girişle oku (en iyisi: bütün barkodlar, depo bazında stok); rest: NetOpenX üzerinden, çalışma sürdükçe bir lisans koltuğu tutar.',
    },
  },
  ...sqlServerFields({
    required: false,
    onlyWhen: whenSql,
    database: { en: 'The Netsis company\'s database on SQL Server (each company is a database of its own).', tr: 'Netsis şirketinin SQL Server’daki veritabanı (her şirket ayrı bir veritabanıdır).' },
  }).map((field) => (field.name === 'database' ? { ...field, required: true, onlyWhen: undefined } : field)),
  {
    name: 'baseUrl', label: 'NetOpenX REST address', labelTr: 'NetOpenX REST adresi', secret: false, required: false, kind: 'url', onlyWhen: whenRest,
    help: { en: 'The NetOpenX REST service, e.g. http://netsis-server:7070.', tr: 'NetOpenX REST servisi, ör. http://netsis-sunucu:7070.' },
  },
  { name: 'restUser', label: 'Netsis user', labelTr: 'Netsis kullanıcısı', secret: false, required: false, kind: 'text', onlyWhen: whenRest },
  { name: 'restPassword', label: 'Netsis user password', labelTr: 'Netsis kullanıcı şifresi', secret: true, required: false, kind: 'text', onlyWhen: whenRest },
  {
    name: 'restDbUser', label: 'Database user for NetOpenX', labelTr: 'NetOpenX için veritabanı kullanıcısı', secret: false, required: false, kind: 'text', default: 'TEMELSET', onlyWhen: whenRest,
    help: { en: 'The database user NetOpenX opens the company with (Netsis installs TEMELSET).', tr: 'NetOpenX’in şirketi açtığı veritabanı kullanıcısı (Netsis TEMELSET kurar).' },
  },
  { name: 'restDbPassword', label: 'Database user password', labelTr: 'Veritabanı kullanıcı şifresi', secret: true, required: false, kind: 'text', onlyWhen: whenRest },
  {
    name: 'branch', label: 'Branch code', labelTr: 'Şube kodu', secret: false, required: false, kind: 'integer',
    help: { en: 'Netsis branch (şube) code: NetOpenX logs in to it (0 when empty); with SQL, only that branch\'s stock is read (every branch when empty).', tr: 'Netsis şube kodu: NetOpenX bu şubeye girer (boşsa 0); SQL ile yalnızca o şubenin stoku okunur (boşsa bütün şubeler).' },
  },
  {
    name: 'priceField', label: 'Sale price column', labelTr: 'Satış fiyatı sütunu', secret: false, required: false, kind: 'choice', choices: priceFields, default: 'SATIS_FIAT1',
    help: { en: 'Which of the stock card\'s four sale prices is sold at (in lira).', tr: 'Stok kartındaki dört satış fiyatından hangisiyle satılacağı (TL).' },
  },
  priceIncludesVatField({
    en: 'Netsis keeps no flag on the stock card saying whether its sale prices include KDV.',
    tr: 'Netsis, stok kartında satış fiyatlarının KDV dahil olup olmadığını söyleyen bir alan tutmuyor.',
  }),
  {
    name: 'warehouse', label: 'Depot', labelTr: 'Depo', secret: false, required: false, kind: 'text', default: 'all',
    help: { en: 'all: every depot; or a depot code (DEPO_KODU). SQL access only.', tr: 'all: bütün depolar; ya da bir depo kodu (DEPO_KODU). Yalnızca SQL erişiminde.' },
  },
  {
    name: 'depotZero', label: 'The DEPO_KODU 0 row is', labelTr: 'DEPO_KODU 0 satırı', secret: false, required: false, kind: 'choice', choices: depotZeroReadings, default: 'total',
    help: {
      en: 'total: TBLSTOKPH\'s row with depot 0 is the total of every depot, read alone (never counts twice); depot: it is a depot like the others, and every row is added up.',
      tr: 'total: TBLSTOKPH’deki 0 numaralı depo satırı bütün depoların toplamıdır, tek başına okunur (iki kez saymaz); depot: diğerleri gibi bir depodur ve bütün satırlar toplanır.',
    },
  },
  {
    name: 'fixTurkish', label: 'Repair Ð Ý Þ ð ý þ', labelTr: 'Ð Ý Þ ð ý þ harflerini düzelt', secret: false, required: false, kind: 'choice', choices: ['true', 'false'], default: 'false',
    help: { en: 'true when product names show Ð Ý Þ ð ý þ for Ğ İ Ş ğ ı ş (a database kept in a Western code page).', tr: 'Ürün adlarında Ğ İ Ş ğ ı ş yerine Ð Ý Þ ð ý þ görünüyorsa true (Batı kod sayfasında tutulan bir veritabanı).' },
  },
  pageSizeField(500),
];

interface NetsisSettings {
  mode: (typeof modes)[number];
  branch: number | undefined;
  priceField: (typeof priceFields)[number];
  warehouse: number | 'all';
  depotZero: (typeof depotZeroReadings)[number];
  pageSize: number;
}

/** A stock card with its rows, as read from SQL Server: the raw record of the SQL access. */
export interface NetsisSqlRecord {
  card: SqlRow;
  /** TBLSTOKBAR's barcodes of the card. */
  barcodes: SqlRow[];
  /** TBLSTOKPH's rows of the card: one per branch and depot. */
  stock: SqlRow[];
}

export const netsis = {
  id: 'netsis',
  name: 'Netsis',
  local: true,
  // SQL pages are read one after another; NetOpenX gets at most two requests at once.
  defaultConcurrency: 2,
  fields,

  async testConnection(ctx) {
    priceIncludesVatSetting(ctx);
    const settings = readNetsisSettings(ctx);
    if (settings.mode === 'rest') {
      const rest = new NetOpenX(ctx, settings);
      try {
        await rest.page(0, 1);
      } finally {
        await rest.revoke();
      }
      return;
    }
    const session = openNetsis(ctx);
    try {
      await fetchSqlPage(session, settings, await hasExtraBarcodes(session), undefined, 1);
    } finally {
      await session.close();
    }
  },

  async *pullPages(ctx) {
    priceIncludesVatSetting(ctx);
    const settings = readNetsisSettings(ctx);
    if (settings.mode === 'rest') {
      const rest = new NetOpenX(ctx, settings);
      try {
        yield* paginateByPageNumber({
          fetchPage: (page) => rest.page((page - 1) * settings.pageSize, settings.pageSize),
          pageSize: settings.pageSize,
          concurrency: ctx.concurrency,
          warn: ctx.warn,
        });
      } finally {
        await rest.revoke();
      }
      return;
    }
    const session = openNetsis(ctx);
    const zeroRows = { differ: 0, withZero: 0, withDepots: 0 };
    try {
      const extras = await hasExtraBarcodes(session);
      for await (const page of paginateByKey<string>({ fetchPage: (after) => fetchSqlPage(session, settings, extras, after, settings.pageSize), pageSize: settings.pageSize })) {
        for (const record of page.records as NetsisSqlRecord[]) countZeroRows(record.stock, zeroRows);
        yield page;
      }
    } finally {
      await session.close();
    }
    if (settings.warehouse === 'all' && settings.depotZero === 'total') {
      if (zeroRows.withZero === 0 && zeroRows.withDepots > 0) ctx.warn(m('noZeroRows'));
      else if (zeroRows.differ > 0) ctx.warn(m('zeroRowsDiffer', { count: zeroRows.differ }));
    }
  },

  mapRecord(record, ctx) {
    const { fix, priceField, priceIncludesVat, warehouse, depotZero } = mappingSettings(ctx.settings);
    const r = asObject(record);
    if ('card' in r) {
      const { card, barcodes = [], stock = [] } = r as unknown as NetsisSqlRecord;
      return [
        {
          barcode: primaryBarcode([card.BARKOD1, card.BARKOD2, card.BARKOD3, ...barcodes.map((row) => row.BARKOD)]),
          sku: fix(trimmedText(card.STOK_KODU)),
          name: fix(trimmedText(card.STOK_ADI)),
          price: decimalField(card[priceField]),
          currency: 'TRY',
          priceIncludesVat,
          vatRate: vatPercentField(card.KDV_ORANI),
          stock: stockOf(stock, warehouse, depotZero),
          active: !locked(card.KILIT) && !locked(card.SATISKILIT),
          category: fix(trimmedText(card.GRUP_KODU)) || null,
        } satisfies ProductCandidate,
      ];
    }
    // NetOpenX: { StokTemelBilgi, StokEkBilgi }, its fields' case not to be relied on.
    const basic = asObject(field(r, 'StokTemelBilgi'));
    if (Object.keys(basic).length === 0) return [];
    return [
      {
        barcode: primaryBarcode([field(basic, 'Barkod1'), field(basic, 'Barkod2'), field(basic, 'Barkod3')]),
        sku: fix(trimmedText(field(basic, 'Stok_Kodu'))),
        name: fix(trimmedText(field(basic, 'Stok_Adi'))),
        price: decimalField(field(basic, priceField.replace('SATIS_FIAT', 'Satis_Fiat'))),
        currency: 'TRY',
        priceIncludesVat,
        vatRate: vatPercentField(field(basic, 'KDV_Orani')),
        stock: decimalField(field(basic, 'Miktar')),
        active: !locked(field(basic, 'Kilit')) && !locked(field(basic, 'SatisKilit')),
        category: fix(trimmedText(field(basic, 'Grup_Kodu'))) || null,
      } satisfies ProductCandidate,
    ];
  },
} satisfies Driver;

/** What mapRecord reads of the settings, read once a run. */
const mappingSettings = oncePerSettings((settings) => ({
  fix: booleanSetting(settings, 'fixTurkish', false) ? repairTurkish : (text: string | null) => text,
  priceField: choiceSetting(settings, 'priceField', priceFields, 'SATIS_FIAT1'),
  priceIncludesVat: booleanSetting(settings, 'priceIncludesVat', null),
  warehouse: warehouseSetting(settings),
  depotZero: choiceSetting(settings, 'depotZero', depotZeroReadings, 'total'),
}));

function readNetsisSettings(ctx: Pick<DriverContext, 'settings' | 'connection'>): NetsisSettings {
  const { settings } = ctx;
  const mode = choiceSetting(settings, 'accessMode', modes, 'sql');
  const warehouse = warehouseSetting(settings);
  if (mode === 'rest' && warehouse !== 'all') throw new DriverError('CONFIGURATION', m('noWarehouseRest'));
  if (!settings.database?.trim()) throw new DriverError('CONFIGURATION', m('noDatabase', { connection: ctx.connection }), { hint: m('restHint', { connection: ctx.connection }) });
  return {
    mode,
    branch: wholeNumberSetting(settings, 'branch', undefined),
    priceField: choiceSetting(settings, 'priceField', priceFields, 'SATIS_FIAT1'),
    warehouse,
    depotZero: choiceSetting(settings, 'depotZero', depotZeroReadings, 'total'),
    pageSize: wholeNumberSetting(settings, 'pageSize', 500, 1000) || 500,
  };
}

function openNetsis(ctx: DriverContext): SqlSession {
  return ctx.openSql(sqlServerConfig(ctx, fields));
}

/** Whether this Netsis keeps extra barcodes in TBLSTOKBAR (they only stand in for an empty BARKOD1..3). */
async function hasExtraBarcodes(session: SqlSession): Promise<boolean> {
  const tables = await session.query('SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = @table', { table: { type: 'nvarchar', value: 'TBLSTOKBAR' } });
  return tables.rows.length > 0;
}

/**
 * One page: up to `size` stock cards after `after` (STOK_KODU, compared as
 * the varchar it is, so SQL Server seeks its index), then their extra
 * barcodes and stock rows, bounded by the page's first and last code.
 */
async function fetchSqlPage(session: SqlSession, settings: NetsisSettings, extras: boolean, after: string | undefined, size: number): Promise<KeyedPage<string>> {
  const cards = await session.query(
    `SELECT TOP (@pageSize) S.STOK_KODU, S.STOK_ADI, S.GRUP_KODU, S.${settings.priceField}, S.KDV_ORANI, S.BARKOD1, S.BARKOD2, S.BARKOD3, S.KILIT, S.SATISKILIT
FROM TBLSTSABIT S${after === undefined ? '' : '\nWHERE S.STOK_KODU > @after'}
ORDER BY S.STOK_KODU`,
    { pageSize: { type: 'int', value: size }, ...(after === undefined ? {} : { after: { type: 'varchar', value: after } }) },
  );
  requireColumns(cards, ['STOK_KODU', 'STOK_ADI', settings.priceField, 'KDV_ORANI', 'BARKOD1', 'BARKOD2', 'BARKOD3', 'KILIT', 'SATISKILIT'], 'TBLSTSABIT');
  const keys = cards.rows.map((row) => row.STOK_KODU).filter((key): key is string => typeof key === 'string');
  if (keys.length === 0) return { records: [], rows: cards.rows.length, firstKey: undefined, lastKey: undefined };
  const range = { from: { type: 'varchar', value: keys[0]! }, to: { type: 'varchar', value: keys[keys.length - 1]! } } as const;

  let barcodeRows: readonly SqlRow[] = [];
  if (extras) {
    const barcodes = await session.query('SELECT B.STOK_KODU, B.BARKOD FROM TBLSTOKBAR B WHERE B.STOK_KODU BETWEEN @from AND @to ORDER BY B.STOK_KODU, B.BARKOD', range);
    requireColumns(barcodes, ['STOK_KODU', 'BARKOD'], 'TBLSTOKBAR');
    barcodeRows = barcodes.rows;
  }
  const branch: SqlParameters = settings.branch === undefined ? {} : { branch: { type: 'int', value: settings.branch } };
  const stock = await session.query(
    `SELECT P.STOK_KODU, P.SUBE_KODU, P.DEPO_KODU, P.TOP_GIRIS_MIK, P.TOP_CIKIS_MIK FROM TBLSTOKPH P WHERE P.STOK_KODU BETWEEN @from AND @to${settings.branch === undefined ? '' : ' AND P.SUBE_KODU = @branch'} ORDER BY P.STOK_KODU, P.SUBE_KODU, P.DEPO_KODU`,
    { ...range, ...branch },
  );
  requireColumns(stock, ['STOK_KODU', 'DEPO_KODU', 'TOP_GIRIS_MIK', 'TOP_CIKIS_MIK'], 'TBLSTOKPH');

  // SQL Server compares codes ignoring trailing spaces; so do the groups.
  const codeKey = (value: unknown) => (typeof value === 'string' ? value.replace(/\s+$/, '').toUpperCase() : '');
  const group = (rows: readonly SqlRow[]) => {
    const groups = new Map<string, SqlRow[]>();
    for (const row of rows) {
      const key = codeKey(row.STOK_KODU);
      const { STOK_KODU: _, ...rest } = row;
      (groups.get(key) ?? groups.set(key, []).get(key)!).push(rest);
    }
    return groups;
  };
  const barcodesOf = group(barcodeRows);
  const stockOfCard = group(stock.rows);
  const records: NetsisSqlRecord[] = cards.rows.map((card) => ({
    card,
    barcodes: barcodesOf.get(codeKey(card.STOK_KODU)) ?? [],
    stock: stockOfCard.get(codeKey(card.STOK_KODU)) ?? [],
  }));
  return { records, rows: cards.rows.length, firstKey: keys[0], lastKey: keys[keys.length - 1] };
}

/**
 * BARKOD1 is the card's barcode; BARKOD2, BARKOD3 and TBLSTOKBAR's rows are
 * further barcodes of the same item, not items of their own: one offer, on
 * the first barcode that is there.
 */
function primaryBarcode(candidates: readonly unknown[]): string | null {
  for (const candidate of candidates) {
    const text = trimmedText(candidate);
    if (text) return text;
  }
  return null;
}

/**
 * Quantity in one depot or all: each TBLSTOKPH row is a branch's depot, its
 * quantity what came in less what went out. With every depot, the row of
 * depot 0 is read as the total of the others (`depotZero=total`) or as a
 * depot to add up with them (`depotZero=depot`); which it is has not been
 * settled, and reading it as the total never counts anything twice.
 */
function stockOf(rows: readonly SqlRow[], warehouse: number | 'all', depotZero: (typeof depotZeroReadings)[number]): string | number | null {
  const chosen = warehouse !== 'all' ? rows.filter((row) => toNumber(row.DEPO_KODU) === warehouse) : depotZero === 'total' ? rows.filter((row) => toNumber(row.DEPO_KODU) === 0) : rows;
  if (chosen.length === 0) return 0;
  let total = 0;
  for (const row of chosen) {
    const incoming = toNumber(row.TOP_GIRIS_MIK);
    const outgoing = toNumber(row.TOP_CIKIS_MIK);
    if (incoming === undefined || outgoing === undefined) return decimalField(incoming === undefined ? row.TOP_GIRIS_MIK : row.TOP_CIKIS_MIK);
    total += incoming - outgoing;
  }
  // Quantities are floats in Netsis; a sum of them is rounded back to what they can hold.
  return decimalField(Number(total.toFixed(6)));
}

/** For the run's warning: cards with a depot-0 row, with other depots, and where the two disagree. */
function countZeroRows(rows: readonly SqlRow[], counts: { differ: number; withZero: number; withDepots: number }): void {
  const quantity = (row: SqlRow) => (toNumber(row.TOP_GIRIS_MIK) ?? 0) - (toNumber(row.TOP_CIKIS_MIK) ?? 0);
  const zero = rows.filter((row) => toNumber(row.DEPO_KODU) === 0);
  const others = rows.filter((row) => toNumber(row.DEPO_KODU) !== 0);
  if (zero.length > 0) counts.withZero++;
  if (others.length > 0) counts.withDepots++;
  if (zero.length > 0 && others.length > 0) {
    const a = zero.reduce((sum, row) => sum + quantity(row), 0);
    const b = others.reduce((sum, row) => sum + quantity(row), 0);
    if (Math.abs(a - b) > 1e-6) counts.differ++;
  }
}

/** Netsis' locks: 'E' (evet) locks the card, or its sales. */
function locked(value: unknown): boolean {
  return typeof value === 'string' && value.trim().toUpperCase() === 'E';
}

const turkishRepairs: Record<string, string> = { Ð: 'Ğ', Ý: 'İ', Þ: 'Ş', ð: 'ğ', ý: 'ı', þ: 'ş' };

/**
 * Ğ İ Ş ğ ı ş, where a database kept in Windows-1252 (not 1254) shows the
 * six letters that code page puts at the same bytes: Ð Ý Þ ð ý þ. None of
 * them is used in Turkish, so the repair cannot damage a right name.
 */
export function repairTurkish(text: string | null): string | null {
  return text === null ? null : text.replace(/[ÐÝÞðýþ]/g, (ch) => turkishRepairs[ch]!);
}

/** A field by name, whatever its case: NetOpenX's answers disagree (`Stok_Kodu`, `STOK_KODU`). */
function field(object: Record<string, unknown>, name: string): unknown {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  const key = Object.keys(object).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : object[key];
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/**
 * NetOpenX, for one run: one access token (one licence seat), shared by
 * every request and renewed once if it expires mid-run; every token taken is
 * revoked at the end, so the seat is free again at once rather than when the
 * token runs out.
 */
class NetOpenX {
  readonly #ctx: DriverContext;
  readonly #settings: NetsisSettings;
  readonly #session: TokenSession;
  readonly #tokens: string[] = [];
  readonly #root: string;

  constructor(ctx: DriverContext, settings: NetsisSettings) {
    this.#ctx = ctx;
    this.#settings = settings;
    const { connection } = ctx;
    if (!ctx.baseUrl) throw new DriverError('CONFIGURATION', m('noRestUrl', { connection }), { hint: m('restHint', { connection }) });
    if (!ctx.settings.restUser?.trim() || !ctx.secrets.restPassword) throw new DriverError('CONFIGURATION', m('noRestUser', { connection }), { hint: m('restHint', { connection }) });
    this.#root = new URL(ctx.baseUrl).pathname.replace(/\/+$/, '').endsWith('/api/v2') ? '' : '/api/v2';
    this.#session = new TokenSession(() => this.#login());
  }

  /** The items at `offset`, `limit` of them. */
  page(offset: number, limit: number): Promise<NumberedPage> {
    return this.#session.call(async (token) => {
      const { data } = await this.#ctx.http.request<unknown>({
        path: `${this.#root}/Items`,
        query: { limit, offset },
        headers: { authorization: `Bearer ${token}` },
      });
      const body = asObject(data);
      if (body.IsSuccessful === false) throw new DriverError('MALFORMED_RESPONSE', m('notSuccessful', { offset: String(offset), reason: String(body.ErrorDesc ?? '').slice(0, 200) }));
      if (!Array.isArray(body.Data)) throw new DriverError('MALFORMED_RESPONSE', m('noData', { offset: String(offset) }));
      const total = typeof body.TotalCount === 'number' && Number.isInteger(body.TotalCount) && body.TotalCount >= 0 ? body.TotalCount : undefined;
      return { records: body.Data, totalRecords: total };
    });
  }

  /** Gives back every seat this run took; a failure here changes nothing about the run. */
  async revoke(): Promise<void> {
    for (const token of this.#tokens.splice(0)) {
      await this.#ctx.http.request({ path: `${this.#root}/revoke`, headers: { authorization: `Bearer ${token}` }, retry: false }).catch(() => undefined);
    }
  }

  async #login(): Promise<string> {
    const { settings, secrets } = this.#ctx;
    const user = settings.restUser!.trim();
    const database = settings.database!.trim();
    try {
      const { data } = await this.#ctx.http.request<unknown>({
        method: 'POST',
        path: `${this.#root}/token`,
        form: {
          grant_type: 'password',
          username: user,
          password: secrets.restPassword ?? '',
          branchcode: String(this.#settings.branch ?? 0),
          dbname: database,
          dbuser: settings.restDbUser?.trim() || 'TEMELSET',
          dbpassword: secrets.restDbPassword ?? '',
          // 0 has worked where 1 (vtMSSQL) failed now and then (a public NetOpenX client's finding; docs/onprem.md, Sources).
          dbtype: '0',
        },
        // A repeated login could take a second seat.
        retry: false,
      });
      const token = asObject(data).access_token;
      if (typeof token !== 'string' || token === '') throw new DriverError('MALFORMED_RESPONSE', m('noToken'));
      this.#tokens.push(token);
      return token;
    } catch (error) {
      if (error instanceof HttpError && (error.status === 400 || error.status === 401)) {
        const reason = oauthErrorReason(error.body);
        if (/MaxUserCount|lisans|license/i.test(reason)) {
          throw new DriverError('UNAVAILABLE', m('seatsTaken', { reason }), { hint: m('seatsTakenHint'), cause: error });
        }
        throw new DriverError('CREDENTIALS_REJECTED', m('rejected', { user, database, reason }), { hint: m('rejectedHint', { connection: this.#ctx.connection }), cause: error });
      }
      throw error;
    }
  }
}

