import { DriverError } from '../src/driver/contract.js';
import type { Driver, DriverContext, FieldSpec, ProductCandidate } from '../src/driver/contract.js';
import { decimalField } from '../src/driver/decimal.js';
import { paginateByKey } from '../src/driver/paginate.js';
import type { KeyedPage } from '../src/driver/paginate.js';
import { oncePerSettings, pageSizeField, trimmedText } from '../src/driver/settings.js';
import {
  SqlError, SqlSession, choiceSetting, inlineParameters, requireColumns, sqlServerConfig, sqlServerFields, wallClock, warehouseSetting, wholeNumberSetting,
} from '../src/driver/sql.js';
import type { SqlExecutor, SqlParameters, SqlResult, SqlRow, SqlScalar } from '../src/driver/sql.js';
import { TokenSession, oauthErrorReason } from '../src/driver/token-session.js';
import { HttpError } from '../src/http/errors.js';
import { defineMessages } from '../src/i18n/index.js';

/**
 * Logo Tiger, GO and j-Guar, read where they live: the firm's tables in the
 * Logo SQL Server database (`LG_{firm}_ITEMS` and the tables around it), or
 * the same statements through the Logo Objects REST service's `/queries`,
 * which runs a read on the server for an access token. docs/onprem.md lists
 * what is read, the README what is uncertain.
 *
 * One offer per item card, on the main unit's first barcode; a page is a
 * keyset read of the item cards and three reads bounded by the page's keys
 * (barcodes, sales prices, stock totals), put together here. Which price row
 * applies (validity dates, priority, the main unit) and which stock row
 * (the all-warehouses row, INVENNO -1, or one warehouse) is decided in
 * `mapRecord`, against the server's clock as read at the start of the pull.
 */

const m = defineMessages({
  en: {
    noFirmSetting: 'the {connection} connection has no firm number (firm)',
    noPeriodSetting: 'the {connection} connection has no period number (period)',
    settingHint: 'Set it with `erp-sync connect {connection} --set {setting}=NUMBER`; docs/onprem.md shows where Logo shows it.',
    unknownFirm: 'unknown company: Logo has no firm {firm} (L_CAPIFIRM); the firms are: {firms}',
    unknownPeriod: 'Logo firm {firm} has no period {period} (L_CAPIPERIOD); its periods are: {periods}',
    unknownWarehouse: 'Logo firm {firm} has no warehouse {warehouse} (L_CAPIWHOUSE); its warehouses are: {warehouses}',
    none: 'none',
    firmTableHint: 'Tables of firm {firm} start with LG_{prefix}_; check the firm and period settings.',
    noRestUrl: 'the {connection} connection reads Logo through its REST service (accessMode=rest) but has no baseUrl',
    noRestUser: 'the {connection} connection reads Logo through its REST service but has no restUser and restPassword',
    restHint: 'Set them with `erp-sync connect {connection}`; the REST service\'s address is like http://logo-server:32001.',
    restRejected: 'Logo\'s REST service did not accept the user "{user}" for firm {firm} (wrong user, password or firm): {reason}',
    restRejectedHint: 'Check the user in Logo (the same user and password as the Logo client), then run `erp-sync connect {connection}` again.',
    noToken: 'Logo\'s REST service answered the login without an access token',
    noItems: 'Logo\'s REST service answered a query without an item list',
    restSqlError: 'Logo\'s REST service could not run a query: {message}',
    sellVatDiffers: '{count} products have a sales KDV rate (SELLVAT) other than their KDV rate (VAT); erp-sync sends {column}, as the vatColumn setting says',
    badCardTypes: 'the cardTypes setting "{value}" is not a list of card type numbers such as 1,2,3,12',
  },
  tr: {
    noFirmSetting: '{connection} bağlantısında firma numarası (firm) yok',
    noPeriodSetting: '{connection} bağlantısında dönem numarası (period) yok',
    settingHint: '`erp-sync connect {connection} --set {setting}=NUMARA` ile verin; Logo’da nerede göründüğü docs/onprem.md’de.',
    unknownFirm: 'bilinmeyen şirket: Logo’da {firm} numaralı firma yok (L_CAPIFIRM); firmalar: {firms}',
    unknownPeriod: 'Logo’nun {firm} numaralı firmasında {period} numaralı dönem yok (L_CAPIPERIOD); dönemleri: {periods}',
    unknownWarehouse: 'Logo’nun {firm} numaralı firmasında {warehouse} numaralı ambar yok (L_CAPIWHOUSE); ambarları: {warehouses}',
    none: 'yok',
    firmTableHint: '{firm} numaralı firmanın tabloları LG_{prefix}_ ile başlar; firm ve period ayarlarını kontrol edin.',
    noRestUrl: '{connection} bağlantısı Logo’yu REST servisinden okuyor (accessMode=rest) ama baseUrl yok',
    noRestUser: '{connection} bağlantısı Logo’yu REST servisinden okuyor ama restUser ve restPassword yok',
    restHint: '`erp-sync connect {connection}` ile verin; REST servisinin adresi http://logo-sunucu:32001 gibidir.',
    restRejected: 'Logo’nun REST servisi {firm} numaralı firma için "{user}" kullanıcısını kabul etmedi (kullanıcı, şifre ya da firma yanlış): {reason}',
    restRejectedHint: 'Kullanıcıyı Logo’da kontrol edin (Logo programındaki kullanıcı ve şifre), ardından `erp-sync connect {connection}` komutunu yeniden çalıştırın.',
    noToken: 'Logo’nun REST servisi giriş isteğine erişim anahtarı (access token) olmadan yanıt verdi',
    noItems: 'Logo’nun REST servisi bir sorguya kayıt listesi olmadan yanıt verdi',
    restSqlError: 'Logo’nun REST servisi bir sorguyu çalıştıramadı: {message}',
    sellVatDiffers: '{count} ürünün satış KDV oranı (SELLVAT) KDV oranından (VAT) farklı; erp-sync, vatColumn ayarının dediği gibi {column} gönderiyor',
    badCardTypes: 'cardTypes ayarındaki "{value}" değeri 1,2,3,12 gibi bir kart türü listesi değil',
  },
});

const modes = ['sql', 'rest'] as const;
const vatColumns = ['VAT', 'SELLVAT'] as const;
const whenSql = { field: 'accessMode', equals: 'sql' } as const;
const whenRest = { field: 'accessMode', equals: 'rest' } as const;

const fields: FieldSpec[] = [
  {
    name: 'accessMode', label: 'How to read Logo', labelTr: 'Logo nasıl okunsun', secret: false, required: false, kind: 'choice', choices: modes, default: 'sql',
    help: {
      en: 'sql: read the Logo database on SQL Server with a read-only login (best); rest: through the Logo Objects REST service.',
      tr: 'sql: Logo veritabanını SQL Server’dan salt okunur bir girişle oku (en iyisi); rest: Logo Objects REST servisi üzerinden.',
    },
  },
  ...sqlServerFields({
    required: false,
    onlyWhen: whenSql,
    database: { en: 'The Logo database on that server (LOGO, TIGER3...): one database holds every firm.', tr: 'O sunucudaki Logo veritabanı (LOGO, TIGER3...): bütün firmalar tek veritabanındadır.' },
  }),
  {
    name: 'baseUrl', label: 'Logo REST service address', labelTr: 'Logo REST servis adresi', secret: false, required: false, kind: 'url', onlyWhen: whenRest,
    help: { en: 'The Logo Objects REST service, e.g. http://logo-server:32001 (its port is set at install).', tr: 'Logo Objects REST servisi, ör. http://logo-sunucu:32001 (portu kurulumda belirlenir).' },
  },
  { name: 'restUser', label: 'Logo user', labelTr: 'Logo kullanıcısı', secret: false, required: false, kind: 'text', onlyWhen: whenRest, help: { en: 'A Logo user (as in the Logo client) that may read the firm.', tr: 'Firmayı okuyabilen bir Logo kullanıcısı (Logo programındaki gibi).' } },
  { name: 'restPassword', label: 'Logo user password', labelTr: 'Logo kullanıcı şifresi', secret: true, required: false, kind: 'text', onlyWhen: whenRest },
  {
    name: 'restClientId', label: 'REST client id (if the service wants one)', labelTr: 'REST istemci kimliği (servis istiyorsa)', secret: false, required: false, kind: 'text', onlyWhen: whenRest,
    help: { en: 'Sent as HTTP Basic with restClientSecret when the service was set up with a client; leave empty otherwise.', tr: 'Servis bir istemciyle kurulduysa restClientSecret ile HTTP Basic olarak gönderilir; değilse boş bırakın.' },
  },
  { name: 'restClientSecret', label: 'REST client secret', labelTr: 'REST istemci gizli anahtarı', secret: true, required: false, kind: 'text', onlyWhen: whenRest },
  {
    name: 'firm', label: 'Firm number', labelTr: 'Firma numarası', secret: false, required: true, kind: 'integer',
    help: { en: 'Logo\'s firm number (1 for LG_001_ tables); Logo shows it on the login screen and in System Management → Firms.', tr: 'Logo firma numarası (LG_001_ tabloları için 1); Logo giriş ekranında ve Sistem İşletmeni → Firmalar’da görünür.' },
  },
  {
    name: 'period', label: 'Period number', labelTr: 'Dönem numarası', secret: false, required: true, kind: 'integer',
    help: { en: 'The working period whose stock totals are read (01 in LG_001_01_ tables), usually the current year\'s.', tr: 'Stok toplamlarının okunduğu çalışma dönemi (LG_001_01_ tablolarında 01), genellikle içinde bulunulan yılınki.' },
  },
  {
    name: 'warehouse', label: 'Warehouse', labelTr: 'Ambar', secret: false, required: false, kind: 'text', default: 'all',
    help: { en: 'all: the firm\'s total stock; or a warehouse number (Logo\'s ambar number, 0 for the central one).', tr: 'all: firmanın toplam stoku; ya da bir ambar numarası (Logo ambar numarası, merkez için 0).' },
  },
  {
    name: 'priceCode', label: 'Sales price card code (optional)', labelTr: 'Satış fiyat kartı kodu (isteğe bağlı)', secret: false, required: false, kind: 'text',
    help: { en: 'Only sales price cards with this code; empty: the general sales price (no customer), by priority.', tr: 'Yalnızca bu koddaki satış fiyat kartları; boşsa genel satış fiyatı (carisiz), önceliğe göre.' },
  },
  {
    name: 'cardTypes', label: 'Item card types to sell', labelTr: 'Satılacak malzeme kart türleri', secret: false, required: false, kind: 'text', default: '1,2,3,12',
    help: { en: 'Logo card types (CARDTYPE): 1 commercial goods, 2 mixed parcel, 3 deposit goods, 12 finished goods; 10 raw material, 11 semi-finished.', tr: 'Logo kart türleri (CARDTYPE): 1 ticari mal, 2 karma koli, 3 depozitolu mal, 12 mamul; 10 hammadde, 11 yarı mamul.' },
  },
  {
    name: 'vatColumn', label: 'KDV rate column', labelTr: 'KDV oranı sütunu', secret: false, required: false, kind: 'choice', choices: vatColumns, default: 'VAT',
    help: { en: 'VAT: the card\'s KDV rate, set on every card; SELLVAT: its sales KDV rate, where your cards have one.', tr: 'VAT: kartın her kartta dolu olan KDV oranı; SELLVAT: kartlarınızda varsa satış KDV oranı.' },
  },
  pageSizeField(500),
];

interface LogoSettings {
  mode: (typeof modes)[number];
  firm: number;
  period: number;
  warehouse: number | 'all';
  priceCode: string | undefined;
  cardTypes: number[];
  vatColumn: (typeof vatColumns)[number];
  pageSize: number;
  tables: { items: string; unitLines: string; barcodes: string; prices: string; totals: string };
}

/** What every page needs, read once at the start of a pull. */
interface PullSetup {
  /** The server's clock, against which price validity dates are read. */
  asOf: string;
  /** Logo's currency numbers (PRCLIST.CURRENCY) to codes. */
  currencies: Map<number, string>;
  /** Whether this Logo's price cards have an ACTIVE flag. */
  pricesHaveActive: boolean;
}

/** One item card with the rows that belong to it: the raw record a page holds. */
export interface LogoRecord {
  item: SqlRow;
  barcodes: SqlRow[];
  prices: SqlRow[];
  stock: SqlRow[];
  /** The server's clock when the pull began. */
  asOf: string;
}

/** What mapRecord reads of the settings, read once a run. */
const mappingSettings = oncePerSettings((settings) => ({
  vatColumn: choiceSetting(settings, 'vatColumn', vatColumns, 'VAT'),
  warehouse: warehouseSetting(settings),
}));

export const logo = {
  id: 'logo',
  name: 'Logo',
  local: true,
  // Keyset pages are read one after another (the next asked for while the last is staged).
  defaultConcurrency: 1,
  fields,

  async testConnection(ctx) {
    const settings = readLogoSettings(ctx);
    const session = openLogo(ctx, settings);
    try {
      const setup = await prepare(session, settings);
      await fetchPage(session, settings, setup, undefined, 1);
    } finally {
      await session.close();
    }
  },

  async *pullPages(ctx) {
    const settings = readLogoSettings(ctx);
    const session = openLogo(ctx, settings);
    let differingVat = 0;
    try {
      const setup = await prepare(session, settings);
      for await (const page of paginateByKey<number>({ fetchPage: (after) => fetchPage(session, settings, setup, after, settings.pageSize), pageSize: settings.pageSize })) {
        for (const record of page.records as LogoRecord[]) {
          const vat = toNumber(record.item.VAT);
          const sellVat = toNumber(record.item.SELLVAT);
          if (sellVat !== undefined && sellVat !== 0 && sellVat !== vat) differingVat++;
        }
        yield page;
      }
    } finally {
      await session.close();
    }
    if (differingVat > 0) ctx.warn(m('sellVatDiffers', { count: differingVat, column: settings.vatColumn }));
  },

  mapRecord(record, ctx) {
    const r = record as Partial<LogoRecord>;
    const item = r.item;
    if (!item) return [];
    const { vatColumn, warehouse } = mappingSettings(ctx.settings);
    const mainUnit = toNumber(item.MAINUNITREF);
    const price = chosenPrice(r.prices ?? [], mainUnit, r.asOf);
    return [
      {
        barcode: primaryBarcode(r.barcodes ?? [], mainUnit),
        sku: trimmedText(item.CODE),
        name: trimmedText(item.NAME),
        price: price ? decimalField(price.PRICE) : null,
        currency: price ? trimmedText(price.CURCODE) : null,
        priceIncludesVat: price ? toNumber(price.INCVAT) === 1 : null,
        vatRate: decimalField(item[vatColumn]),
        stock: stockOf(r.stock ?? [], warehouse),
        active: toNumber(item.ACTIVE) === 0,
        category: trimmedText(item.STGRPCODE) || null,
      } satisfies ProductCandidate,
    ];
  },
} satisfies Driver;

function readLogoSettings(ctx: Pick<DriverContext, 'settings' | 'connection'>): LogoSettings {
  const { settings, connection } = ctx;
  const firm = wholeNumberSetting(settings, 'firm', undefined, 999);
  if (firm === undefined) throw new DriverError('CONFIGURATION', m('noFirmSetting', { connection }), { hint: m('settingHint', { connection, setting: 'firm' }) });
  const period = wholeNumberSetting(settings, 'period', undefined, 99);
  if (period === undefined) throw new DriverError('CONFIGURATION', m('noPeriodSetting', { connection }), { hint: m('settingHint', { connection, setting: 'period' }) });
  const rawTypes = settings.cardTypes?.trim() || '1,2,3,12';
  if (!/^\d{1,3}(\s*,\s*\d{1,3})*$/.test(rawTypes)) throw new DriverError('CONFIGURATION', m('badCardTypes', { value: rawTypes }));
  const f = String(firm).padStart(3, '0');
  const p = String(period).padStart(2, '0');
  return {
    mode: choiceSetting(settings, 'accessMode', modes, 'sql'),
    firm,
    period,
    warehouse: warehouseSetting(settings),
    priceCode: settings.priceCode?.trim() || undefined,
    cardTypes: rawTypes.split(',').map((t) => Number(t.trim())),
    vatColumn: choiceSetting(settings, 'vatColumn', vatColumns, 'VAT'),
    pageSize: wholeNumberSetting(settings, 'pageSize', 500, 1000) || 500,
    tables: { items: `LG_${f}_ITEMS`, unitLines: `LG_${f}_UNITSETL`, barcodes: `LG_${f}_UNITBARCODE`, prices: `LG_${f}_PRCLIST`, totals: `LG_${f}_${p}_GNTOTST` },
  };
}

/** A session on Logo's data: its SQL Server, or its REST service's `/queries` running the same statements. */
function openLogo(ctx: DriverContext, settings: LogoSettings): SqlSession {
  const prefix = String(settings.firm).padStart(3, '0');
  const missingObjectHint = (object: string) => (/^LG_\d{3}_/i.test(object) ? m('firmTableHint', { firm: String(settings.firm), prefix }) : undefined);
  if (settings.mode === 'sql') return ctx.openSql(sqlServerConfig(ctx, fields), { missingObjectHint });
  const executor = new LogoRestExecutor(ctx, settings);
  const url = new URL(ctx.baseUrl);
  return new SqlSession({
    executor,
    config: {
      server: url.hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80), instance: undefined, database: url.origin,
      user: ctx.settings.restUser ?? '', password: '', encrypt: url.protocol === 'https:', trustServerCertificate: false, timeoutMs: 0,
    },
    service: `Logo REST (${ctx.connection})`,
    connection: ctx.connection,
    // The HTTP client already retried what passes; a statement is not repeated on top of that.
    retries: 0,
    minDelayMs: 0,
    signal: ctx.signal,
    missingObjectHint,
  });
}

/**
 * Checks the firm, the period and the warehouse against Logo's own lists (so
 * a wrong one is named with the right ones beside it), and reads what every
 * page needs: the server's clock, the currency list, whether price cards
 * have an ACTIVE flag.
 */
async function prepare(session: SqlSession, settings: LogoSettings): Promise<PullSetup> {
  const firm = { firm: { type: 'int', value: settings.firm } } as const;
  const firms = await session.query('SELECT NR FROM L_CAPIFIRM ORDER BY NR');
  requireColumns(firms, ['NR'], 'L_CAPIFIRM');
  if (!firms.rows.some((row) => toNumber(row.NR) === settings.firm)) {
    throw new DriverError('CONFIGURATION', m('unknownFirm', { firm: String(settings.firm), firms: list(firms.rows.map((row) => row.NR)) }));
  }
  const periods = await session.query('SELECT NR FROM L_CAPIPERIOD WHERE FIRMNR = @firm ORDER BY NR', firm);
  requireColumns(periods, ['NR'], 'L_CAPIPERIOD');
  if (!periods.rows.some((row) => toNumber(row.NR) === settings.period)) {
    throw new DriverError('CONFIGURATION', m('unknownPeriod', { firm: String(settings.firm), period: String(settings.period), periods: list(periods.rows.map((row) => row.NR)) }));
  }
  if (settings.warehouse !== 'all') {
    const warehouses = await session.query('SELECT NR, NAME FROM L_CAPIWHOUSE WHERE FIRMNR = @firm ORDER BY NR', firm);
    requireColumns(warehouses, ['NR', 'NAME'], 'L_CAPIWHOUSE');
    if (!warehouses.rows.some((row) => toNumber(row.NR) === settings.warehouse)) {
      const names = warehouses.rows.map((row) => `${String(row.NR)} ${trimmedText(row.NAME) ?? ''}`.trim());
      throw new DriverError('CONFIGURATION', m('unknownWarehouse', { firm: String(settings.firm), warehouse: String(settings.warehouse), warehouses: list(names) }));
    }
  }
  const columns = await session.query(
    'SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = @table AND COLUMN_NAME = @column',
    { table: { type: 'nvarchar', value: settings.tables.prices }, column: { type: 'nvarchar', value: 'ACTIVE' } },
  );
  const currencyRows = await session.query('SELECT FIRMNR, CURTYPE, CURCODE FROM L_CURRENCYLIST WHERE FIRMNR IN (0, @firm)', firm);
  requireColumns(currencyRows, ['FIRMNR', 'CURTYPE', 'CURCODE'], 'L_CURRENCYLIST');
  // The firm's own list wins over the system's (FIRMNR 0); 0 is the local currency, the lira, in a Turkish firm.
  const currencies = new Map<number, string>([[0, 'TRY']]);
  for (const row of [...currencyRows.rows].sort((a, b) => (toNumber(a.FIRMNR) ?? 0) - (toNumber(b.FIRMNR) ?? 0))) {
    const type = toNumber(row.CURTYPE);
    const code = trimmedText(row.CURCODE);
    if (type !== undefined && code) currencies.set(type, code);
  }
  const clock = await session.query('SELECT GETDATE() AS NOW_');
  requireColumns(clock, ['NOW_'], 'GETDATE()');
  return { asOf: wallClock(clock.rows[0]?.NOW_) ?? new Date().toISOString().slice(0, 19), currencies, pricesHaveActive: columns.rows.length > 0 };
}

/**
 * One page: up to `size` item cards after `after`, then their barcodes,
 * sales prices and stock totals, each one statement bounded by the page's
 * first and last LOGICALREF (an index range on every table), put together
 * per card.
 */
async function fetchPage(session: SqlSession, settings: LogoSettings, setup: PullSetup, after: number | undefined, size: number): Promise<KeyedPage<number>> {
  const { tables } = settings;
  const items = await session.query(
    `SELECT TOP (@pageSize) I.LOGICALREF, I.CODE, I.NAME, I.ACTIVE, I.CARDTYPE, I.VAT, I.SELLVAT, I.STGRPCODE,
 (SELECT TOP 1 U.LOGICALREF FROM ${tables.unitLines} U WHERE U.UNITSETREF = I.UNITSETREF AND U.MAINUNIT = 1 ORDER BY U.LOGICALREF) AS MAINUNITREF
FROM ${tables.items} I
WHERE I.CARDTYPE IN (${settings.cardTypes.join(', ')})${after === undefined ? '' : ' AND I.LOGICALREF > @after'}
ORDER BY I.LOGICALREF`,
    { pageSize: { type: 'int', value: size }, ...(after === undefined ? {} : { after: { type: 'int', value: after } }) },
  );
  requireColumns(items, ['LOGICALREF', 'CODE', 'NAME', 'ACTIVE', 'VAT', 'SELLVAT', 'MAINUNITREF'], tables.items);
  const keys = items.rows.map((row) => toNumber(row.LOGICALREF)).filter((key): key is number => key !== undefined);
  if (keys.length === 0) return { records: [], rows: items.rows.length, firstKey: undefined, lastKey: undefined };
  const range: SqlParameters = { from: { type: 'int', value: keys[0]! }, to: { type: 'int', value: keys[keys.length - 1]! } };

  const barcodes = await session.query(
    `SELECT B.ITEMREF, B.UNITLINEREF, B.LINENR, B.BARCODE FROM ${tables.barcodes} B WHERE B.ITEMREF BETWEEN @from AND @to ORDER BY B.ITEMREF, B.LINENR`,
    range,
  );
  requireColumns(barcodes, ['ITEMREF', 'UNITLINEREF', 'LINENR', 'BARCODE'], tables.barcodes);
  const prices = await session.query(
    `SELECT P.LOGICALREF, P.CARDREF, P.CODE, P.PRICE, P.CURRENCY, P.INCVAT, P.UOMREF, P.BEGDATE, P.ENDDATE, P.PRIORITY
FROM ${tables.prices} P
WHERE P.PTYPE = 2 AND P.CARDREF BETWEEN @from AND @to AND ISNULL(P.CLIENTCODE, '') = '' AND ISNULL(P.CLSPECODE, '') = ''${setup.pricesHaveActive ? ' AND P.ACTIVE = 0' : ''}${settings.priceCode ? ' AND P.CODE = @priceCode' : ''}
ORDER BY P.CARDREF, P.PRIORITY`,
    { ...range, ...(settings.priceCode ? { priceCode: { type: 'nvarchar', value: settings.priceCode } } : {}) },
  );
  requireColumns(prices, ['CARDREF', 'PRICE', 'CURRENCY', 'INCVAT', 'UOMREF', 'BEGDATE', 'ENDDATE', 'PRIORITY'], tables.prices);
  const stock = await session.query(`SELECT S.STOCKREF, S.INVENNO, S.ONHAND FROM ${tables.totals} S WHERE S.STOCKREF BETWEEN @from AND @to ORDER BY S.STOCKREF, S.INVENNO`, range);
  requireColumns(stock, ['STOCKREF', 'INVENNO', 'ONHAND'], tables.totals);

  const byItem = (rows: readonly SqlRow[], column: string) => groupBy(rows, (row) => toNumber(row[column]));
  const barcodesOf = byItem(barcodes.rows, 'ITEMREF');
  const pricesOf = byItem(prices.rows, 'CARDREF');
  const stockOfItem = byItem(stock.rows, 'STOCKREF');
  const records: LogoRecord[] = items.rows.map((item) => {
    const key = toNumber(item.LOGICALREF);
    return {
      item,
      barcodes: (barcodesOf.get(key) ?? []).map(({ ITEMREF: _, ...row }) => row),
      prices: (pricesOf.get(key) ?? []).map(({ CARDREF: _, ...row }) => ({ ...row, CURCODE: setup.currencies.get(toNumber(row.CURRENCY) ?? -1) ?? `CURRENCY ${String(row.CURRENCY)}` })),
      stock: (stockOfItem.get(key) ?? []).map(({ STOCKREF: _, ...row }) => row),
      asOf: setup.asOf,
    };
  });
  return { records, rows: items.rows.length, firstKey: keys[0], lastKey: keys[keys.length - 1] };
}

/**
 * The main unit's barcode of the lowest line: Logo keeps several barcodes
 * per unit (LINENR) and one set per unit (piece, box); they are all the same
 * item, sold as one offer. Barcodes of other units are not offers of their
 * own: their price and stock are not the piece's.
 */
function primaryBarcode(barcodes: readonly SqlRow[], mainUnit: number | undefined): string | null {
  const candidates = barcodes
    .filter((row) => toNumber(row.UNITLINEREF) === mainUnit && trimmedText(row.BARCODE))
    .sort((a, b) => (toNumber(a.LINENR) ?? 0) - (toNumber(b.LINENR) ?? 0));
  return trimmedText(candidates[0]?.BARCODE) ?? null;
}

/**
 * The sales price in force: of the general sales price rows for the main
 * unit whose validity (BEGDATE..ENDDATE, either open) includes the server's
 * clock, the one with the lowest PRIORITY, then the latest start.
 */
function chosenPrice(prices: readonly SqlRow[], mainUnit: number | undefined, asOf: string | undefined): SqlRow | undefined {
  const now = wallClock(asOf);
  const inForce = prices.filter((row) => {
    const unit = toNumber(row.UOMREF);
    if (unit !== mainUnit && unit !== 0 && unit !== undefined) return false;
    const begins = wallClock(row.BEGDATE);
    const ends = wallClock(row.ENDDATE);
    if (now && begins && begins > now) return false;
    if (now && ends && !ends.startsWith('1900') && ends.slice(0, 10) < now.slice(0, 10)) return false;
    return true;
  });
  inForce.sort((a, b) => (toNumber(a.PRIORITY) ?? 0) - (toNumber(b.PRIORITY) ?? 0) || (wallClock(b.BEGDATE) ?? '').localeCompare(wallClock(a.BEGDATE) ?? '') || (toNumber(b.LOGICALREF) ?? 0) - (toNumber(a.LOGICALREF) ?? 0));
  return inForce[0];
}

/**
 * On hand in one warehouse, or in all: Logo keeps a total over every
 * warehouse in the row with INVENNO -1 beside one row per warehouse, so
 * adding them all up counts everything twice. Without a -1 row the warehouse
 * rows are the total; without any row the item has never moved.
 */
function stockOf(rows: readonly SqlRow[], warehouse: number | 'all'): string | number | null {
  if (warehouse !== 'all') {
    const row = rows.find((r) => toNumber(r.INVENNO) === warehouse);
    return row ? decimalField(row.ONHAND) : 0;
  }
  const total = rows.find((r) => toNumber(r.INVENNO) === -1);
  if (total) return decimalField(total.ONHAND);
  const each = rows.filter((r) => (toNumber(r.INVENNO) ?? -1) >= 0);
  if (each.length === 0) return 0;
  if (each.length === 1) return decimalField(each[0]!.ONHAND);
  const values = each.map((r) => toNumber(r.ONHAND));
  return values.some((v) => v === undefined) ? decimalField(each[0]!.ONHAND) : values.reduce((a: number, b) => a + b!, 0);
}

/**
 * Logo's Objects REST service as a {@link SqlExecutor}: a token from
 * `POST /api/v1/token` (password grant, the firm number beside the user;
 * HTTP Basic with a client id where the service was set up with one), then
 * each statement, with its parameters written in, through
 * `GET /api/v1/queries?tsql=`. A `LoginError` in the answer is an expired
 * token: it is renewed once, as for a 401. SQL Server's errors come back in
 * `ModelState` under their number and are reported as such.
 */
class LogoRestExecutor implements SqlExecutor {
  readonly #ctx: DriverContext;
  readonly #settings: LogoSettings;
  readonly #session: TokenSession;
  readonly #root: string;

  constructor(ctx: DriverContext, settings: LogoSettings) {
    this.#ctx = ctx;
    this.#settings = settings;
    const user = ctx.settings.restUser?.trim();
    const password = ctx.secrets.restPassword;
    if (!ctx.baseUrl) throw new DriverError('CONFIGURATION', m('noRestUrl', { connection: ctx.connection }), { hint: m('restHint', { connection: ctx.connection }) });
    if (!user || !password) throw new DriverError('CONFIGURATION', m('noRestUser', { connection: ctx.connection }), { hint: m('restHint', { connection: ctx.connection }) });
    // Clients disagree whether the address includes /api/v1; both are taken.
    this.#root = new URL(ctx.baseUrl).pathname.replace(/\/+$/, '').endsWith('/api/v1') ? '' : '/api/v1';
    this.#session = new TokenSession(() => this.#login(user, password));
  }

  async query(statement: string, parameters: SqlParameters): Promise<SqlResult> {
    const tsql = inlineParameters(statement, parameters).replace(/\s+/g, ' ').trim();
    return this.#session.call(async (token) => {
      let data: unknown;
      try {
        ({ data } = await this.#ctx.http.request<unknown>({ path: `${this.#root}/queries`, query: { tsql }, headers: { authorization: `Bearer ${token}` } }));
      } catch (error) {
        // SQL Server's errors come back as 400 with ModelState (ASP.NET's BadRequest), or as 200 with it (LogoRestClient).
        const state = error instanceof HttpError && error.status === 400 ? parseJson(error.body) : undefined;
        if (!state || typeof state !== 'object' || !('ModelState' in state)) throw error;
        data = state;
      }
      return this.#read(data, statement);
    });
  }

  async close(): Promise<void> {}

  async #login(user: string, password: string): Promise<string> {
    const { restClientId } = this.#ctx.settings;
    const clientSecret = this.#ctx.secrets.restClientSecret;
    const headers: Record<string, string> = restClientId && clientSecret ? { authorization: `Basic ${Buffer.from(`${restClientId}:${clientSecret}`).toString('base64')}` } : {};
    try {
      const { data } = await this.#ctx.http.request<unknown>({
        method: 'POST',
        path: `${this.#root}/token`,
        form: { grant_type: 'password', username: user, firmno: String(this.#settings.firm), password },
        headers,
      });
      const token = (data as { access_token?: unknown } | null)?.access_token;
      if (typeof token !== 'string' || token === '') throw new DriverError('MALFORMED_RESPONSE', m('noToken'));
      return token;
    } catch (error) {
      if (error instanceof HttpError && (error.status === 400 || error.status === 401)) {
        throw new DriverError('CREDENTIALS_REJECTED', m('restRejected', { user, firm: String(this.#settings.firm), reason: oauthErrorReason(error.body) }), {
          hint: m('restRejectedHint', { connection: this.#ctx.connection }),
          cause: error,
        });
      }
      throw error;
    }
  }

  /** `{count, items}` to rows; `ModelState` errors to what they are. */
  #read(data: unknown, statement: string): SqlResult {
    const body = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
    const state = body.ModelState;
    if (typeof state === 'object' && state !== null) {
      const entries = Object.entries(state as Record<string, unknown>);
      const text = (value: unknown) => (Array.isArray(value) ? value.map(String).join(' ') : String(value));
      const login = entries.find(([key]) => /login/i.test(key));
      if (login) throw new HttpError({ service: this.#ctx.http.service, kind: 'http', status: 401, url: `${this.#root}/queries`, message: text(login[1]) });
      const numbered = entries.find(([key]) => /^\d+$/.test(key));
      if (numbered) throw new SqlError('server', text(numbered[1]), { number: Number(numbered[0]) });
      throw new DriverError('MALFORMED_RESPONSE', m('restSqlError', { message: entries.map(([key, value]) => `${key}: ${text(value)}`).join('; ').slice(0, 300) }));
    }
    if (!Array.isArray(body.items)) throw new DriverError('MALFORMED_RESPONSE', m('noItems'));
    const rows = body.items.map((item) => {
      const row: Record<string, SqlScalar> = {};
      for (const [key, value] of Object.entries((item ?? {}) as Record<string, unknown>)) row[key] = scalar(value);
      return row;
    });
    // An empty answer names no columns; the statement named them, and an empty list lacks none.
    const columns = rows.length > 0 ? Object.keys(rows[0]!) : columnsOf(statement);
    return { columns, rows };
  }
}

/** The columns a statement selects (`I.CODE`, `(...) AS NAME`), for an empty REST answer that cannot name them. */
function columnsOf(statement: string): string[] {
  const head = /^\s*SELECT\s+(?:TOP\s*\([^)]*\)\s*)?/i.exec(statement);
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = head?.[0].length ?? 0; i < statement.length; i++) {
    const ch = statement[i]!;
    if (depth === 0 && /^\sFROM\s/i.test(statement.slice(i, i + 6))) break;
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current);
  return parts.map((part) => /\bAS\s+(\w+)\s*$/i.exec(part)?.[1] ?? /(\w+)\s*$/.exec(part)?.[1] ?? part.trim());
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function scalar(value: unknown): SqlScalar {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function groupBy(rows: readonly SqlRow[], key: (row: SqlRow) => number | undefined): Map<number | undefined, SqlRow[]> {
  const groups = new Map<number | undefined, SqlRow[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

function list(values: readonly unknown[]): string {
  return values.length > 0 ? values.map(String).join(', ') : m('none');
}
