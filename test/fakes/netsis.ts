import type { SqlParameters } from '../../src/driver/sql.js';
import { TokenBook, barcodeFor, jsonFixture, pageOf, startFake, turkishName } from './common.js';
import type { FakeErp } from './common.js';
import { VALUE, argument, expectIn, parameterType, resultOf, startErpSqlFake } from './sql.js';
import type { ErpSqlFake, FakeSqlDatabase, SqlFake, SqlFakeKnobs, SqlRoute } from './sql.js';
import type { ConnectionMistake, ContractConnection } from '../support/driver-contract.js';

/**
 * A fake Netsis company database (docs/onprem.md, What erp-sync reads): TBLSTSABIT (stock
 * cards: three barcodes, four sale prices, KDV_ORANI, the locks), TBLSTOKBAR
 * (further barcodes) and TBLSTOKPH (quantities in and out per branch and
 * depot, with a depot-0 row that is the total of the others), answering the
 * netsis driver's statements. Codes are compared as the varchar they are.
 *
 * And a fake NetOpenX REST service in front of the same cards: a password
 * grant at `/api/v2/token` with the branch and database beside the user,
 * `/api/v2/Items?limit&offset` with `{IsSuccessful, Data, TotalCount}`, and
 * `/api/v2/revoke`; it counts the licence seats its tokens hold.
 */

export interface NetsisTables {
  cards: Array<{
    STOK_KODU: string; STOK_ADI: string; GRUP_KODU: string | null; SATIS_FIAT1: number; SATIS_FIAT2: number; SATIS_FIAT3: number; SATIS_FIAT4: number;
    KDV_ORANI: number; BARKOD1: string | null; BARKOD2: string | null; BARKOD3: string | null; KILIT: string; SATISKILIT: string;
  }>;
  /** TBLSTOKBAR's rows; undefined when the database has no such table. */
  extraBarcodes: Array<{ STOK_KODU: string; BARKOD: string }> | undefined;
  stock: Array<{ STOK_KODU: string; SUBE_KODU: number; DEPO_KODU: number; TOP_GIRIS_MIK: number; TOP_CIKIS_MIK: number }>;
}

export interface NetsisKnobs extends SqlFakeKnobs {
  /** Serve these tables (a fixture) instead of a generated catalog. */
  tables?: NetsisTables;
  /** Keep names as a database in Windows-1252 hands them over: Ð Ý Þ ð ý þ for Ğ İ Ş ğ ı ş. */
  westernCodePage?: boolean;
}

const toWestern: Record<string, string> = { Ğ: 'Ð', İ: 'Ý', Ş: 'Þ', ğ: 'ð', ı: 'ý', ş: 'þ' };

/** What a Windows-1252 database makes of Turkish text. */
export function western(text: string): string {
  return text.replace(/[ĞİŞğış]/g, (ch) => toWestern[ch]!);
}

/**
 * A generated company: `products` stock cards; most with BARKOD1, some with
 * BARKOD2 as well, one in seven with only BARKOD2 filled, one in eleven with
 * none of the three but a TBLSTOKBAR row; some locked for sales; quantities
 * in depots 1 and 2 of branch 0 and the depot-0 row with their total.
 */
export function netsisCatalog(knobs: NetsisKnobs = {}): { tables: NetsisTables; expectedBarcodes: string[] } {
  const count = knobs.products ?? 25;
  const tables: NetsisTables = { cards: [], extraBarcodes: [], stock: [] };
  const expectedBarcodes: string[] = [];
  for (let i = 0; i < count; i++) {
    const code = `STK-${String(i + 1).padStart(5, '0')}`;
    let barcode = barcodeFor(i);
    if (knobs.duplicateBarcode && i === 1) barcode = barcodeFor(0);
    const missing = knobs.missingBarcode && i === 2;
    const name = knobs.westernCodePage ? western(turkishName(i)) : turkishName(i);
    const slot = missing ? 0 : i % 11 === 10 ? 4 : i % 7 === 6 ? 2 : 1;
    tables.cards.push({
      STOK_KODU: code, STOK_ADI: name, GRUP_KODU: `G${i % 3}`,
      SATIS_FIAT1: 100 + i + 0.5, SATIS_FIAT2: 90 + i, SATIS_FIAT3: 80 + i, SATIS_FIAT4: 0,
      KDV_ORANI: i % 4 === 3 ? 10 : 20,
      BARKOD1: slot === 1 ? barcode : '', BARKOD2: slot === 2 ? barcode : slot === 1 && i % 5 === 0 ? barcodeFor(i, 40) : null, BARKOD3: null,
      KILIT: 'H', SATISKILIT: i % 9 === 8 ? 'E' : 'H',
    });
    if (slot === 4) tables.extraBarcodes!.push({ STOK_KODU: code, BARKOD: barcode });
    if (i % 6 === 0) tables.extraBarcodes!.push({ STOK_KODU: code, BARKOD: barcodeFor(i, 70) });
    expectedBarcodes.push(missing ? '' : barcode);
    const one = { STOK_KODU: code, SUBE_KODU: 0 };
    tables.stock.push({ ...one, DEPO_KODU: 0, TOP_GIRIS_MIK: 12 + i, TOP_CIKIS_MIK: 4 });
    tables.stock.push({ ...one, DEPO_KODU: 1, TOP_GIRIS_MIK: 10 + i, TOP_CIKIS_MIK: 3 });
    tables.stock.push({ ...one, DEPO_KODU: 2, TOP_GIRIS_MIK: 2, TOP_CIKIS_MIK: 1 });
  }
  return { tables, expectedBarcodes };
}

export function netsisFixture(name: string): NetsisTables {
  return jsonFixture<NetsisTables>(`netsis/${name}`);
}

/** SQL Server's comparison of varchar codes under a case-insensitive collation: trailing spaces and case aside. */
function codeKey(code: string): string {
  return code.replace(/ +$/, '').toUpperCase();
}
function compareCodes(a: string, b: string): number {
  const [x, y] = [codeKey(a), codeKey(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

export function netsisDatabase(tables: NetsisTables): FakeSqlDatabase {
  const priceColumns = ['SATIS_FIAT1', 'SATIS_FIAT2', 'SATIS_FIAT3', 'SATIS_FIAT4'];
  return {
    route(statement: string, parameters: SqlParameters): SqlRoute {
      const arg = (token: string) => argument(token, parameters);
      const varchar = (token: string, what: string) => {
        const type = parameterType(token, parameters);
        if (type !== undefined && type !== 'varchar') throw new Error(`fake Netsis: ${what} is a varchar column; a ${type} parameter would make SQL Server convert every row`);
        return String(arg(token));
      };
      if (/INFORMATION_SCHEMA\.TABLES/i.test(statement)) {
        const table = arg(expectIn(statement, new RegExp(`TABLE_NAME\\s*=\\s*${VALUE}`, 'i'), 'TABLE_NAME =')[1]!);
        return { kind: 'other', answer: () => resultOf(['TABLE_NAME'], table === 'TBLSTOKBAR' && tables.extraBarcodes ? [{ TABLE_NAME: 'TBLSTOKBAR' }] : []) };
      }
      if (/FROM\s+TBLSTSABIT\s+S\b/i.test(statement)) {
        const top = Number(arg(expectIn(statement, new RegExp(`^\\s*SELECT\\s+TOP\\s*\\(\\s*${VALUE}\\s*\\)`, 'i'), 'SELECT TOP (page size)')[1]!));
        expectIn(statement, 'ORDER BY S.STOK_KODU', 'ORDER BY S.STOK_KODU: the keyset order');
        const selected = priceColumns.filter((c) => new RegExp(`S\\.${c}\\b`).test(statement));
        if (selected.length !== 1) throw new Error(`fake Netsis: expected exactly one sale price column in:\n${statement}`);
        const afterMatch = new RegExp(`S\\.STOK_KODU\\s*>\\s*${VALUE}`, 'i').exec(statement);
        const after = afterMatch ? varchar(afterMatch[1]!, 'STOK_KODU') : undefined;
        const columns = ['STOK_KODU', 'STOK_ADI', 'GRUP_KODU', selected[0]!, 'KDV_ORANI', 'BARKOD1', 'BARKOD2', 'BARKOD3', 'KILIT', 'SATISKILIT'];
        for (const column of columns) if (!new RegExp(`S\\.${column}\\b`).test(statement)) throw new Error(`fake Netsis: ${column} not selected`);
        return {
          kind: 'catalog',
          answer: () => resultOf(columns, tables.cards.filter((c) => after === undefined || compareCodes(c.STOK_KODU, after) > 0).sort((a, b) => compareCodes(a.STOK_KODU, b.STOK_KODU)).slice(0, top)),
        };
      }
      const between = (column: string) => {
        const match = expectIn(statement, new RegExp(`${column.replace('.', '\\.')}\\s+BETWEEN\\s+${VALUE}\\s+AND\\s+${VALUE}`, 'i'), `${column} BETWEEN the page's first and last code`);
        const [from, to] = [varchar(match[1]!, column), varchar(match[2]!, column)];
        return (code: string) => compareCodes(code, from) >= 0 && compareCodes(code, to) <= 0;
      };
      if (/FROM\s+TBLSTOKBAR\s+B\b/i.test(statement)) {
        const inRange = between('B.STOK_KODU');
        return {
          kind: 'catalog',
          answer: () => {
            if (!tables.extraBarcodes) throw new Error('fake Netsis: TBLSTOKBAR read although the database has none');
            const rows = tables.extraBarcodes.filter((b) => inRange(b.STOK_KODU)).sort((a, b) => compareCodes(a.STOK_KODU, b.STOK_KODU) || compareCodes(a.BARKOD, b.BARKOD));
            return resultOf(['STOK_KODU', 'BARKOD'], rows);
          },
        };
      }
      if (/FROM\s+TBLSTOKPH\s+P\b/i.test(statement)) {
        const inRange = between('P.STOK_KODU');
        const branchMatch = new RegExp(`P\\.SUBE_KODU\\s*=\\s*${VALUE}`, 'i').exec(statement);
        const branch = branchMatch ? Number(arg(branchMatch[1]!)) : undefined;
        return {
          kind: 'catalog',
          answer: () =>
            resultOf(
              ['STOK_KODU', 'SUBE_KODU', 'DEPO_KODU', 'TOP_GIRIS_MIK', 'TOP_CIKIS_MIK'],
              tables.stock.filter((s) => inRange(s.STOK_KODU) && (branch === undefined || s.SUBE_KODU === branch)).sort((a, b) => compareCodes(a.STOK_KODU, b.STOK_KODU) || a.SUBE_KODU - b.SUBE_KODU || a.DEPO_KODU - b.DEPO_KODU),
            ),
        };
      }
      throw new Error(`fake Netsis database: a statement it does not expect:\n${statement}`);
    },
  };
}

export const NETSIS_LOGIN = { user: 'erpsync_okur', password: 'Netsis-Okur-3', database: 'NETSIS2026' };

export function startNetsisSqlFake(knobs: NetsisKnobs = {}): ErpSqlFake<NetsisTables> {
  return startErpSqlFake(knobs, NETSIS_LOGIN, netsisCatalog, netsisDatabase);
}

/** A connection to the SQL fake (prices KDV dahil); `mistake` makes it wrong in that one way. */
export function netsisSqlConnection(_fake: SqlFake, mistake?: ConnectionMistake, settings: Record<string, string> = {}): ContractConnection {
  return {
    settings: {
      server: '192.168.1.20', instance: 'NETSIS', database: mistake === 'unknown-tenant' ? 'NETSIS1999' : NETSIS_LOGIN.database, user: NETSIS_LOGIN.user,
      priceIncludesVat: 'true', pageSize: '10', ...settings,
    },
    secrets: { password: mistake === 'wrong-credentials' ? 'yanlış-şifre' : NETSIS_LOGIN.password },
  };
}

export interface NetsisRestKnobs extends NetsisKnobs {
  /** Every licence seat is taken: a login is refused with SsoMaxUserCountExceeded. */
  seatsTaken?: boolean;
}

export interface NetsisRestFake extends FakeErp {
  readonly user: string;
  readonly password: string;
  readonly tables: NetsisTables;
  /** Tokens issued and not revoked: the licence seats erp-sync still holds. */
  readonly seatsHeld: number;
  readonly tokensIssued: number;
  /** The forms of every login, for checking the fields sent. */
  readonly logins: URLSearchParams[];
}

/** A NetOpenX Items entry for a card: the fields NetOpenX names in StokTemelBilgi, in its casing. */
function restItem(card: NetsisTables['cards'][number], stock: number): Record<string, unknown> {
  return {
    StokTemelBilgi: {
      Stok_Kodu: card.STOK_KODU, Sube_Kodu: 0, ISLETME_KODU: 1, Stok_Adi: card.STOK_ADI, Grup_Kodu: card.GRUP_KODU, KDV_Orani: card.KDV_ORANI, Miktar: stock,
      Satis_Fiat1: card.SATIS_FIAT1, Satis_Fiat2: card.SATIS_FIAT2, Satis_Fiat3: card.SATIS_FIAT3, Satis_Fiat4: card.SATIS_FIAT4, Fiat_birimi: '1',
      Barkod1: card.BARKOD1, Barkod2: card.BARKOD2, Barkod3: card.BARKOD3, DEPO_KODU: 0, Kilit: card.KILIT, SatisKilit: card.SATISKILIT,
    },
    StokEkBilgi: { Stok_Kodu: card.STOK_KODU, Tur: 'D', Birim_Maliyet: 0 },
  };
}

export async function startNetsisRestFake(knobs: NetsisRestKnobs = {}): Promise<NetsisRestFake> {
  const { tables, expectedBarcodes: sqlExpected } = knobs.tables ? { tables: knobs.tables, expectedBarcodes: [] } : netsisCatalog(knobs);
  // NetOpenX sends BARKOD1..3 only: a card whose barcode lives in TBLSTOKBAR has none there.
  const expectedBarcodes = sqlExpected.map((barcode, i) => (tables.cards[i] && [tables.cards[i]!.BARKOD1, tables.cards[i]!.BARKOD2, tables.cards[i]!.BARKOD3].some((b) => b) ? barcode : ''));
  const user = 'NETSIS';
  const password = 'Netsis-Şifre-9';
  const tokens = new TokenBook(knobs.tokenExpiresAfter);
  const revoked = new Set<string>();
  const issued: string[] = [];
  const logins: URLSearchParams[] = [];
  const pageSize = 500;
  const items = () => tables.cards.map((card) => {
    const rows = tables.stock.filter((s) => s.STOK_KODU === card.STOK_KODU && s.DEPO_KODU === 0);
    return restItem(card, rows.reduce((sum, s) => sum + s.TOP_GIRIS_MIK - s.TOP_CIKIS_MIK, 0));
  });
  const fake = await startFake({
    knobs,
    expectedBarcodes,
    route: ({ method, url, headers, body }) => {
      if (method === 'POST' && url.pathname === '/api/v2/token') {
        return {
          kind: 'auth',
          reply: () => {
            const form = new URLSearchParams(body);
            logins.push(form);
            if (knobs.seatsTaken) return { status: 400, json: { error: 'invalid_grant', error_description: 'SsoMaxUserCountExceeded' } };
            if (form.get('grant_type') !== 'password' || form.get('username') !== user || form.get('password') !== password) {
              return { status: 400, json: { error: 'invalid_grant', error_description: 'Kullanıcı adı veya şifre hatalı' } };
            }
            if (form.get('dbname') !== NETSIS_LOGIN.database) return { status: 400, json: { error: 'invalid_grant', error_description: `Şirket bulunamadı: ${form.get('dbname')}` } };
            const token = tokens.issue('nox');
            issued.push(token);
            return { status: 200, json: { access_token: token, token_type: 'bearer', expires_in: 1200 } };
          },
        };
      }
      if (method === 'GET' && url.pathname === '/api/v2/revoke') {
        return {
          kind: 'other',
          reply: () => {
            const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
            if (token) revoked.add(token);
            return { status: 200, json: { IsSuccessful: true } };
          },
        };
      }
      if (method === 'GET' && url.pathname === '/api/v2/Items') {
        return {
          kind: 'catalog',
          reply: () => {
            const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
            if (!token || revoked.has(token) || !tokens.use(token)) return { status: 401, json: { Message: 'Authorization has been denied for this request.' } };
            const limit = Math.min(Number(url.searchParams.get('limit') ?? pageSize), 1000);
            const offset = Number(url.searchParams.get('offset') ?? 0);
            const all = items();
            const served = knobs.underDeliver ? all.slice(0, Math.max(0, all.length - 1)) : all;
            const data = pageOf(served, Math.floor(offset / limit) + 1, limit);
            return { status: 200, json: { IsSuccessful: true, Data: data, TotalCount: all.length, Offset: offset, Limit: limit } };
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
    logins,
    get seatsHeld() {
      return issued.filter((token) => !revoked.has(token)).length;
    },
    get tokensIssued() {
      return tokens.issued;
    },
  };
}

export function netsisRestConnection(fake: NetsisRestFake, mistake?: ConnectionMistake, settings: Record<string, string> = {}): ContractConnection {
  return {
    settings: { accessMode: 'rest', restUser: fake.user, database: mistake === 'unknown-tenant' ? 'NETSIS1999' : NETSIS_LOGIN.database, priceIncludesVat: 'true', pageSize: '10', ...settings },
    secrets: { restPassword: mistake === 'wrong-credentials' ? 'yanlış-şifre' : fake.password },
  };
}
