import type { SqlParameters, SqlResult } from '../../src/driver/sql.js';
import { SqlError } from '../../src/driver/sql.js';
import { TokenBook, barcodeFor, jsonFixture, startFake, turkishName } from './common.js';
import type { FakeErp } from './common.js';
import { VALUE, argument, expectIn, invalidColumn, invalidObject, mentions, parameterType, resultOf, startErpSqlFake } from './sql.js';
import type { ErpSqlFake, FakeSqlDatabase, SqlFake, SqlFakeKnobs, SqlRoute } from './sql.js';
import type { ConnectionMistake, ContractConnection } from '../support/driver-contract.js';

/**
 * A fake Logo (Tiger, GO) database, as docs/onprem.md describes its
 * tables: the system lists (L_CAPIFIRM, L_CAPIPERIOD, L_CAPIWHOUSE,
 * L_CURRENCYLIST) and, for firm 001 and its periods, LG_001_ITEMS,
 * LG_001_UNITSETL, LG_001_UNITBARCODE, LG_001_PRCLIST and
 * LG_001_{period}_GNTOTST. It answers the statements the logo driver sends,
 * checking what they name, applying the filters they contain (and only
 * those), and raising SQL Server's own errors for a table or column the
 * database does not have.
 *
 * Served two ways: to the driver's SQL access through the fake SQL Server of
 * test/fakes/sql.ts, and to its REST access through a fake Logo Objects REST
 * service (`POST /api/v1/token`, `GET /api/v1/queries?tsql=`).
 */

export interface LogoTables {
  firms: Array<{ NR: number }>;
  periods: Array<{ FIRMNR: number; NR: number }>;
  warehouses: Array<{ FIRMNR: number; NR: number; NAME: string }>;
  currencies: Array<{ FIRMNR: number; CURTYPE: number; CURCODE: string }>;
  items: Array<{ LOGICALREF: number; CODE: string; NAME: string; ACTIVE: number; CARDTYPE: number; VAT: number; SELLVAT: number; STGRPCODE: string; UNITSETREF: number }>;
  unitLines: Array<{ LOGICALREF: number; UNITSETREF: number; MAINUNIT: number; CODE: string }>;
  barcodes: Array<{ ITEMREF: number; UNITLINEREF: number; LINENR: number; BARCODE: string }>;
  prices: Array<{
    LOGICALREF: number; CARDREF: number; PTYPE: number; CODE: string; PRICE: number; CURRENCY: number; INCVAT: number; UOMREF: number;
    BEGDATE: string | null; ENDDATE: string | null; PRIORITY: number; CLIENTCODE: string | null; CLSPECODE: string | null; ACTIVE?: number;
  }>;
  totals: Array<{ STOCKREF: number; INVENNO: number; ONHAND: number }>;
  /** Whether LG_001_PRCLIST has an ACTIVE column (Logo versions disagree). */
  pricesHaveActive: boolean;
  /** The server's clock, as GETDATE() answers it (an ISO instant of its wall clock, the way mssql hands it over). */
  now: string;
}

export interface LogoKnobs extends SqlFakeKnobs {
  /** Serve these tables (a fixture) instead of a generated catalog. */
  tables?: LogoTables;
}

/** The unit set every generated item uses: ADET (the main unit) and KOLI (a box of 12). */
const PIECE = 51;
const BOX = 52;

/**
 * A generated firm 001: `products` sold item cards (types 1 and 12), every
 * tenth followed by a raw material card (type 10) that is not sold; some
 * passive; barcodes on the main unit (a second line on every third item)
 * and on the box; sales prices with an expired row, a customer's row, a
 * box row and a purchase row beside the one in force; stock in warehouses 0
 * and 1 and their total in INVENNO -1.
 */
export function logoCatalog(knobs: LogoKnobs = {}): { tables: LogoTables; expectedBarcodes: string[] } {
  const count = knobs.products ?? 25;
  const tables: LogoTables = {
    firms: [{ NR: 1 }, { NR: 2 }],
    periods: [{ FIRMNR: 1, NR: 1 }, { FIRMNR: 1, NR: 2 }, { FIRMNR: 2, NR: 1 }],
    warehouses: [{ FIRMNR: 1, NR: 0, NAME: 'Merkez Ambar' }, { FIRMNR: 1, NR: 1, NAME: 'Şube Ambarı' }],
    currencies: [
      { FIRMNR: 0, CURTYPE: 1, CURCODE: 'USD' },
      { FIRMNR: 0, CURTYPE: 20, CURCODE: 'EUR' },
      { FIRMNR: 1, CURTYPE: 160, CURCODE: 'TL' },
    ],
    items: [],
    unitLines: [
      { LOGICALREF: PIECE, UNITSETREF: 5, MAINUNIT: 1, CODE: 'ADET' },
      { LOGICALREF: BOX, UNITSETREF: 5, MAINUNIT: 0, CODE: 'KOLI' },
    ],
    barcodes: [],
    prices: [],
    totals: [],
    pricesHaveActive: true,
    now: '2026-11-22T14:05:00.000Z',
  };
  const expectedBarcodes: string[] = [];
  let ref = 100;
  let priceRef = 5000;
  for (let i = 0; i < count; i++) {
    const item = (ref += 3);
    tables.items.push({
      LOGICALREF: item, CODE: `MLZ-${String(i + 1).padStart(5, '0')}`, NAME: turkishName(i), ACTIVE: i % 7 === 6 ? 1 : 0, CARDTYPE: i % 5 === 4 ? 12 : 1,
      VAT: i % 4 === 3 ? 10 : 20, SELLVAT: i % 4 === 3 ? 10 : 0, STGRPCODE: `GRP${i % 3}`, UNITSETREF: 5,
    });
    let primary = barcodeFor(i);
    if (knobs.duplicateBarcode && i === 1) primary = barcodeFor(0);
    if (!(knobs.missingBarcode && i === 2)) {
      tables.barcodes.push({ ITEMREF: item, UNITLINEREF: PIECE, LINENR: 1, BARCODE: primary });
      if (i % 3 === 0) tables.barcodes.push({ ITEMREF: item, UNITLINEREF: PIECE, LINENR: 2, BARCODE: barcodeFor(i, 50) });
      if (i % 2 === 0) tables.barcodes.push({ ITEMREF: item, UNITLINEREF: BOX, LINENR: 1, BARCODE: barcodeFor(i, 60) });
      expectedBarcodes.push(primary);
    } else {
      expectedBarcodes.push('');
    }
    const general = { CARDREF: item, PTYPE: 2, CODE: 'GENEL', CURRENCY: i % 6 === 5 ? 160 : 0, INCVAT: 1, UOMREF: PIECE, PRIORITY: 0, CLIENTCODE: '', CLSPECODE: '', ACTIVE: 0 };
    tables.prices.push({ ...general, LOGICALREF: ++priceRef, PRICE: 100 + i + 0.9, BEGDATE: '2026-01-01T00:00:00.000Z', ENDDATE: '2026-12-31T00:00:00.000Z' });
    if (i % 4 === 0) tables.prices.push({ ...general, LOGICALREF: ++priceRef, PRICE: 50, BEGDATE: '2025-01-01T00:00:00.000Z', ENDDATE: '2025-12-31T00:00:00.000Z' });
    tables.prices.push({ ...general, LOGICALREF: ++priceRef, PRICE: 80, CLIENTCODE: '120.01.001', BEGDATE: null, ENDDATE: null });
    tables.prices.push({ ...general, LOGICALREF: ++priceRef, PRICE: 1100, UOMREF: BOX, BEGDATE: null, ENDDATE: null });
    tables.prices.push({ ...general, LOGICALREF: ++priceRef, PTYPE: 1, PRICE: 60, BEGDATE: null, ENDDATE: null });
    tables.totals.push({ STOCKREF: item, INVENNO: -1, ONHAND: 3 + i }, { STOCKREF: item, INVENNO: 0, ONHAND: 1 }, { STOCKREF: item, INVENNO: 1, ONHAND: 2 + i });
    if (i % 10 === 9) {
      const raw = (ref += 3);
      tables.items.push({ LOGICALREF: raw, CODE: `HAM-${i}`, NAME: `Hammadde ${turkishName(i)}`, ACTIVE: 0, CARDTYPE: 10, VAT: 20, SELLVAT: 0, STGRPCODE: 'HAM', UNITSETREF: 5 });
      tables.barcodes.push({ ITEMREF: raw, UNITLINEREF: PIECE, LINENR: 1, BARCODE: barcodeFor(i, 90) });
      tables.totals.push({ STOCKREF: raw, INVENNO: -1, ONHAND: 500 });
    }
  }
  return { tables, expectedBarcodes };
}

/** A fixture under test/fakes/fixtures/logo: tables written from the shapes of docs/onprem.md, odd rows included. */
export function logoFixture(name: string): LogoTables {
  return jsonFixture<LogoTables>(`logo/${name}`);
}

/** Firm 001's database, answering the logo driver's statements. */
export function logoDatabase(tables: LogoTables): FakeSqlDatabase {
  const firmOf = (prefix: string) => {
    const firm = Number(prefix);
    return tables.firms.some((f) => f.NR === firm) && firm === 1 ? firm : undefined;
  };
  const answer = (kind: SqlRoute['kind'], result: () => SqlResult): SqlRoute => ({ kind, answer: result });
  return {
    route(statement: string, parameters: SqlParameters): SqlRoute {
      const arg = (token: string) => argument(token, parameters);
      if (/FROM\s+L_CAPIFIRM\b/i.test(statement)) return answer('other', () => resultOf(['NR'], tables.firms));
      if (/FROM\s+L_CAPIPERIOD\b/i.test(statement)) {
        const firm = arg(expectIn(statement, new RegExp(`FIRMNR\\s*=\\s*${VALUE}`, 'i'), 'FIRMNR = firm')[1]!);
        return answer('other', () => resultOf(['NR'], tables.periods.filter((p) => p.FIRMNR === firm)));
      }
      if (/FROM\s+L_CAPIWHOUSE\b/i.test(statement)) {
        const firm = arg(expectIn(statement, new RegExp(`FIRMNR\\s*=\\s*${VALUE}`, 'i'), 'FIRMNR = firm')[1]!);
        return answer('other', () => resultOf(['NR', 'NAME'], tables.warehouses.filter((w) => w.FIRMNR === firm)));
      }
      if (/FROM\s+L_CURRENCYLIST\b/i.test(statement)) {
        const firm = arg(expectIn(statement, new RegExp(`FIRMNR\\s+IN\\s*\\(\\s*0\\s*,\\s*${VALUE}\\s*\\)`, 'i'), 'FIRMNR IN (0, firm)')[1]!);
        return answer('other', () => resultOf(['FIRMNR', 'CURTYPE', 'CURCODE'], tables.currencies.filter((c) => c.FIRMNR === 0 || c.FIRMNR === firm)));
      }
      if (/INFORMATION_SCHEMA\.COLUMNS/i.test(statement)) {
        const table = arg(expectIn(statement, new RegExp(`TABLE_NAME\\s*=\\s*${VALUE}`, 'i'), 'TABLE_NAME =')[1]!);
        const column = arg(expectIn(statement, new RegExp(`COLUMN_NAME\\s*=\\s*${VALUE}`, 'i'), 'COLUMN_NAME =')[1]!);
        const present = table === 'LG_001_PRCLIST' && column === 'ACTIVE' && tables.pricesHaveActive;
        return answer('other', () => resultOf(['COLUMN_NAME'], present ? [{ COLUMN_NAME: 'ACTIVE' }] : []));
      }
      if (/GETDATE\(\)\s+AS\s+NOW_/i.test(statement)) return answer('other', () => resultOf(['NOW_'], [{ NOW_: tables.now }]));

      const items = /FROM\s+LG_(\d{3})_ITEMS\s+I\b/i.exec(statement);
      if (items) {
        const top = Number(arg(expectIn(statement, new RegExp(`^\\s*SELECT\\s+TOP\\s*\\(\\s*${VALUE}\\s*\\)`, 'i'), 'SELECT TOP (page size)')[1]!));
        expectIn(statement, 'ORDER BY I.LOGICALREF', 'ORDER BY I.LOGICALREF: the keyset order');
        expectIn(statement, `FROM LG_${items[1]}_UNITSETL U WHERE U.UNITSETREF = I.UNITSETREF AND U.MAINUNIT = 1`, 'the main unit of the item\'s unit set');
        const types = expectIn(statement, /I\.CARDTYPE\s+IN\s*\(([\d\s,]+)\)/i, 'I.CARDTYPE IN (...)')[1]!.split(',').map(Number);
        const afterMatch = new RegExp(`I\\.LOGICALREF\\s*>\\s*${VALUE}`, 'i').exec(statement);
        if (afterMatch && parameterType(afterMatch[1]!, parameters) !== undefined && parameterType(afterMatch[1]!, parameters) !== 'int') throw new Error('fake Logo: LOGICALREF is an int key');
        const after = afterMatch ? Number(arg(afterMatch[1]!)) : undefined;
        return answer('catalog', () => {
          if (firmOf(items[1]!) === undefined) throw invalidObject(`LG_${items[1]}_ITEMS`);
          const page = tables.items
            .filter((i) => types.includes(i.CARDTYPE) && (after === undefined || i.LOGICALREF > after))
            .sort((a, b) => a.LOGICALREF - b.LOGICALREF)
            .slice(0, top)
            .map((i) => ({ ...i, MAINUNITREF: tables.unitLines.filter((u) => u.UNITSETREF === i.UNITSETREF && u.MAINUNIT === 1).sort((a, b) => a.LOGICALREF - b.LOGICALREF)[0]?.LOGICALREF ?? null }));
          return resultOf(['LOGICALREF', 'CODE', 'NAME', 'ACTIVE', 'CARDTYPE', 'VAT', 'SELLVAT', 'STGRPCODE', 'MAINUNITREF'], page);
        });
      }
      const range = (column: string) => {
        const match = expectIn(statement, new RegExp(`${column.replace('.', '\\.')}\\s+BETWEEN\\s+${VALUE}\\s+AND\\s+${VALUE}`, 'i'), `${column} BETWEEN first AND last key of the page`);
        const [from, to] = [Number(arg(match[1]!)), Number(arg(match[2]!))];
        return (key: number) => key >= from && key <= to;
      };
      const barcodes = /FROM\s+LG_(\d{3})_UNITBARCODE\s+B\b/i.exec(statement);
      if (barcodes) {
        const inRange = range('B.ITEMREF');
        return answer('catalog', () => {
          if (firmOf(barcodes[1]!) === undefined) throw invalidObject(`LG_${barcodes[1]}_UNITBARCODE`);
          const rows = tables.barcodes.filter((b) => inRange(b.ITEMREF)).sort((a, b) => a.ITEMREF - b.ITEMREF || a.LINENR - b.LINENR);
          return resultOf(['ITEMREF', 'UNITLINEREF', 'LINENR', 'BARCODE'], rows);
        });
      }
      const prices = /FROM\s+LG_(\d{3})_PRCLIST\s+P\b/i.exec(statement);
      if (prices) {
        const inRange = range('P.CARDREF');
        const sales = mentions(statement, 'P.PTYPE = 2');
        const general = mentions(statement, "ISNULL(P.CLIENTCODE, '') = ''") && mentions(statement, "ISNULL(P.CLSPECODE, '') = ''");
        const activeOnly = mentions(statement, 'P.ACTIVE = 0');
        const code = new RegExp(`P\\.CODE\\s*=\\s*${VALUE}`, 'i').exec(statement);
        const wantedCode = code ? arg(code[1]!) : undefined;
        return answer('catalog', () => {
          if (firmOf(prices[1]!) === undefined) throw invalidObject(`LG_${prices[1]}_PRCLIST`);
          if (activeOnly && !tables.pricesHaveActive) throw invalidColumn('ACTIVE');
          const rows = tables.prices
            .filter((p) => inRange(p.CARDREF) && (!sales || p.PTYPE === 2) && (!general || ((p.CLIENTCODE ?? '') === '' && (p.CLSPECODE ?? '') === '')))
            .filter((p) => (!activeOnly || p.ACTIVE === 0) && (wantedCode === undefined || p.CODE === wantedCode))
            .sort((a, b) => a.CARDREF - b.CARDREF || a.PRIORITY - b.PRIORITY);
          return resultOf(['LOGICALREF', 'CARDREF', 'CODE', 'PRICE', 'CURRENCY', 'INCVAT', 'UOMREF', 'BEGDATE', 'ENDDATE', 'PRIORITY'], rows);
        });
      }
      const totals = /FROM\s+LG_(\d{3})_(\d{2})_GNTOTST\s+S\b/i.exec(statement);
      if (totals) {
        const inRange = range('S.STOCKREF');
        return answer('catalog', () => {
          const firm = firmOf(totals[1]!);
          if (firm === undefined || !tables.periods.some((p) => p.FIRMNR === firm && p.NR === Number(totals[2]))) throw invalidObject(`LG_${totals[1]}_${totals[2]}_GNTOTST`);
          const rows = tables.totals.filter((t) => inRange(t.STOCKREF)).sort((a, b) => a.STOCKREF - b.STOCKREF || a.INVENNO - b.INVENNO);
          return resultOf(['STOCKREF', 'INVENNO', 'ONHAND'], rows);
        });
      }
      throw new Error(`fake Logo database: a statement it does not expect:\n${statement}`);
    },
  };
}

export const LOGO_LOGIN = { user: 'erpsync_okur', password: 'Okuma-Şifresi-7', database: 'LOGO' };

export function startLogoSqlFake(knobs: LogoKnobs = {}): ErpSqlFake<LogoTables> {
  return startErpSqlFake(knobs, LOGO_LOGIN, logoCatalog, logoDatabase);
}

/** A connection to the SQL fake; `mistake` makes it wrong in that one way. */
export function logoSqlConnection(_fake: SqlFake, mistake?: ConnectionMistake, settings: Record<string, string> = {}): ContractConnection {
  return {
    settings: { server: 'logo-sunucu.local', database: LOGO_LOGIN.database, user: LOGO_LOGIN.user, firm: mistake === 'unknown-tenant' ? '999' : '1', period: '1', pageSize: '10', ...settings },
    secrets: { password: mistake === 'wrong-credentials' ? 'yanlış-şifre' : LOGO_LOGIN.password },
  };
}

export interface LogoRestKnobs extends LogoKnobs {
  /** The service was set up with a client: the login must carry HTTP Basic with it. */
  client?: { id: string; secret: string };
  /** Answer an expired token the way LogoRestClient saw it: 200 with ModelState.LoginError, not 401. */
  loginErrorInBody?: boolean;
}

export interface LogoRestFake extends FakeErp {
  readonly user: string;
  readonly password: string;
  readonly tables: LogoTables;
  readonly tokensIssued: number;
}

/**
 * A fake Logo Objects REST service in front of the same database: a password
 * grant at `/api/v1/token` (the firm number beside the user), and
 * `/api/v1/queries?tsql=` running the statement, answering `{count, items}`,
 * or SQL Server's error in `ModelState` under its number.
 */
export async function startLogoRestFake(knobs: LogoRestKnobs = {}): Promise<LogoRestFake> {
  const { tables, expectedBarcodes } = knobs.tables ? { tables: knobs.tables, expectedBarcodes: [] } : logoCatalog(knobs);
  const database = logoDatabase(tables);
  const user = 'LOGO';
  const password = 'Logo-Şifre-1';
  const tokens = new TokenBook(knobs.tokenExpiresAfter);
  const fake = await startFake({
    knobs,
    expectedBarcodes,
    route: ({ method, url, headers, body }) => {
      if (method === 'POST' && url.pathname === '/api/v1/token') {
        return {
          kind: 'auth',
          reply: () => {
            const form = new URLSearchParams(body);
            if (knobs.client && headers.authorization !== `Basic ${Buffer.from(`${knobs.client.id}:${knobs.client.secret}`).toString('base64')}`) {
              return { status: 400, json: { error: 'invalid_client', error_description: 'Client credentials are invalid.' } };
            }
            if (form.get('grant_type') !== 'password' || form.get('username') !== user || form.get('password') !== password || !/^\d+$/.test(form.get('firmno') ?? '')) {
              return { status: 400, json: { error: 'invalid_grant', error_description: 'Kullanıcı adı veya şifre hatalı.' } };
            }
            return { status: 200, json: { access_token: tokens.issue('logo'), token_type: 'bearer', expires_in: 1199 } };
          },
        };
      }
      if (method === 'GET' && url.pathname === '/api/v1/queries') {
        return {
          kind: 'catalog',
          reply: () => {
            const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
            if (!tokens.use(token)) {
              return knobs.loginErrorInBody
                ? { status: 200, json: { Message: 'The request is invalid.', ModelState: { LoginError: ['Oturum süresi doldu.'] } } }
                : { status: 401, json: { Message: 'Authorization has been denied for this request.' } };
            }
            const tsql = url.searchParams.get('tsql') ?? '';
            try {
              const result = database.route(tsql, {}).answer();
              return { status: 200, json: { count: result.rows.length, items: result.rows } };
            } catch (error) {
              if (error instanceof SqlError) return { status: 400, json: { Message: 'The request is invalid.', ModelState: { [String(error.number)]: [error.message] } } };
              return { status: 500, json: { Message: String(error) } };
            }
          },
        };
      }
      return undefined;
    },
  });
  return {
    baseUrl: fake.baseUrl,
    requests: fake.requests,
    expectedBarcodes: fake.expectedBarcodes,
    close: fake.close,
    user,
    password,
    tables,
    get tokensIssued() {
      return tokens.issued;
    },
  };
}

export function logoRestConnection(fake: LogoRestFake, mistake?: ConnectionMistake, settings: Record<string, string> = {}): ContractConnection {
  return {
    settings: { accessMode: 'rest', restUser: fake.user, firm: mistake === 'unknown-tenant' ? '999' : '1', period: '1', pageSize: '10', ...settings },
    secrets: { restPassword: mistake === 'wrong-credentials' ? 'yanlış-şifre' : fake.password },
  };
}
