import type { SqlParameters } from '../../src/driver/sql.js';
import { barcodeFor, jsonFixture, turkishName } from './common.js';
import { VALUE, argument, expectIn, invalidColumn, mentions, parameterType, resultOf, startErpSqlFake } from './sql.js';
import type { ErpSqlFake, FakeSqlDatabase, SqlFake, SqlFakeKnobs, SqlRoute } from './sql.js';
import type { ConnectionMistake, ContractConnection } from '../support/driver-contract.js';

/**
 * A fake Mikro firm database (docs/onprem.md, What erp-sync reads), v15 or v16: STOKLAR
 * keyed by sto_RECno (v15) or sto_Guid (v16, no RECno at all),
 * BARKOD_TANIMLARI, STOK_SATIS_FIYAT_LISTELERI and the lists' definitions
 * (with sfl_kdvdahil), DEPOLAR, and Mikro's functions fn_VergiYuzde (a KDV
 * pointer to its percentage), fn_EldekiMiktar and fn_DepodakiMiktar (the
 * quantity on hand, in all depots or one). It answers the mikro driver's
 * statements, refusing a key column this version does not have.
 */

export interface MikroTables {
  version: 15 | 16;
  cards: Array<{
    key: number | string; sto_kod: string; sto_isim: string; sto_pasif_fl: number | null; sto_iptal: number | null; sto_satis_dursun: number | null;
    sto_anagrup_kod: string | null; sto_marka_kodu: string | null; sto_perakende_vergi: number; sto_toptan_vergi: number;
  }>;
  /** fn_VergiYuzde: KDV pointer → percentage. */
  vatPercents: Record<string, number>;
  /** What fn_EldekiMiktar (all depots) and fn_DepodakiMiktar (one) add up. */
  onHand: Array<{ sto_kod: string; depot: number; quantity: number }>;
  barcodes: Array<{
    key: number | string; bar_stokkodu: string; bar_kodu: string; bar_birimpntr: number; bar_master?: number; bar_renkpntr?: number; bar_bedenpntr?: number; bar_iptal?: number;
  }>;
  /** BARKOD_TANIMLARI's optional columns this database has. */
  barcodeColumns: string[];
  prices: Array<{
    sfiyat_stokkod: string; sfiyat_listesirano: number; sfiyat_deposirano: number; sfiyat_odemeplan: number; sfiyat_iptal: number;
    sfiyat_fiyati: number; sfiyat_doviz: number; sfiyat_lastup_date: string;
  }>;
  lists: Array<{ sfl_sirano: number; sfl_aciklama: string; sfl_kdvdahil: number }>;
  /** false for a layout whose list definitions have no sfl_kdvdahil column (the lists then do not say whether they include KDV). */
  listsHaveKdvDahil?: boolean;
  depots: Array<{ dep_no: number }>;
}

export interface MikroKnobs extends SqlFakeKnobs {
  tables?: MikroTables;
  version?: 15 | 16;
}

/** A v16 row key that sorts by its last group, as SQL Server sorts a uniqueidentifier (its last six bytes first). */
export function mikroGuid(n: number): string {
  const tail = n.toString(16).toUpperCase().padStart(12, '0');
  const head = ((n * 2654435761) >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${head}-1A2B-4C3D-8E4F-${tail}`;
}

/** SQL Server's order of uniqueidentifiers: bytes 10–15, then 8–9, 6–7, 4–5, 0–3. */
function compareGuids(a: string, b: string): number {
  const groups = (g: string) => {
    const [p1, p2, p3, p4, p5] = g.toUpperCase().split('-');
    return [p5, p4, p3, p2, p1].join('');
  };
  const [x, y] = [groups(a), groups(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A generated firm: `products` stock cards, each with a master barcode of
 * the main unit, some with a box barcode (unit 2) as well; some passive,
 * cancelled or stopped for sales; prices in list 1 (KDV dahil) and list 2
 * (KDV hariç), a depot-2 price beside the general one for some, a payment
 * plan row and a cancelled row that are not prices; stock in depots 1 and 2.
 */
export function mikroCatalog(knobs: MikroKnobs = {}): { tables: MikroTables; expectedBarcodes: string[] } {
  const version = knobs.version ?? 16;
  const count = knobs.products ?? 25;
  const tables: MikroTables = {
    version,
    cards: [],
    vatPercents: { 0: 0, 1: 0, 2: 1, 3: 10, 4: 20 },
    onHand: [],
    barcodes: [],
    barcodeColumns: ['bar_master', 'bar_renkpntr', 'bar_bedenpntr', 'bar_iptal'],
    prices: [],
    lists: [{ sfl_sirano: 1, sfl_aciklama: 'Perakende', sfl_kdvdahil: 1 }, { sfl_sirano: 2, sfl_aciklama: 'Toptan', sfl_kdvdahil: 0 }],
    depots: [{ dep_no: 1 }, { dep_no: 2 }],
  };
  const expectedBarcodes: string[] = [];
  let barcodeKey = 0;
  const key = (n: number) => (version === 15 ? n : mikroGuid(n));
  for (let i = 0; i < count; i++) {
    const code = `M${String(i + 1).padStart(6, '0')}`;
    tables.cards.push({
      key: key(1000 + i * 7), sto_kod: code, sto_isim: turkishName(i), sto_pasif_fl: i % 7 === 6 ? 1 : 0, sto_iptal: i % 13 === 12 ? 1 : null, sto_satis_dursun: i % 11 === 10 ? 1 : 0,
      sto_anagrup_kod: `ANA${i % 3}`, sto_marka_kodu: 'KARACA', sto_perakende_vergi: i % 4 === 3 ? 3 : 4, sto_toptan_vergi: 4,
    });
    let barcode = barcodeFor(i);
    if (knobs.duplicateBarcode && i === 1) barcode = barcodeFor(0);
    if (knobs.missingBarcode && i === 2) {
      expectedBarcodes.push('');
    } else {
      tables.barcodes.push({ key: key(++barcodeKey), bar_stokkodu: code, bar_kodu: barcode, bar_birimpntr: 1, bar_master: 1, bar_renkpntr: 0, bar_bedenpntr: 0, bar_iptal: 0 });
      expectedBarcodes.push(barcode);
    }
    if (i % 3 === 0) tables.barcodes.push({ key: key(++barcodeKey), bar_stokkodu: code, bar_kodu: barcodeFor(i, 20), bar_birimpntr: 2, bar_master: 0, bar_renkpntr: 0, bar_bedenpntr: 0, bar_iptal: 0 });
    const price = { sfiyat_stokkod: code, sfiyat_odemeplan: 0, sfiyat_iptal: 0, sfiyat_doviz: 0, sfiyat_lastup_date: '2026-10-01T09:00:00.000Z' };
    tables.prices.push({ ...price, sfiyat_listesirano: 1, sfiyat_deposirano: 0, sfiyat_fiyati: 150 + i + 0.25 });
    tables.prices.push({ ...price, sfiyat_listesirano: 2, sfiyat_deposirano: 0, sfiyat_fiyati: 110 + i });
    if (i % 4 === 0) tables.prices.push({ ...price, sfiyat_listesirano: 1, sfiyat_deposirano: 2, sfiyat_fiyati: 140 + i });
    if (i % 5 === 0) tables.prices.push({ ...price, sfiyat_listesirano: 1, sfiyat_deposirano: 0, sfiyat_odemeplan: 3, sfiyat_fiyati: 170 + i });
    if (i % 6 === 0) tables.prices.push({ ...price, sfiyat_listesirano: 1, sfiyat_deposirano: 0, sfiyat_iptal: 1, sfiyat_fiyati: 10 });
    tables.onHand.push({ sto_kod: code, depot: 1, quantity: 5 + i }, { sto_kod: code, depot: 2, quantity: 1 });
  }
  return { tables, expectedBarcodes };
}

export function mikroFixture(name: string): MikroTables {
  return jsonFixture<MikroTables>(`mikro/${name}`);
}

export function mikroDatabase(tables: MikroTables): FakeSqlDatabase {
  const keyColumn = tables.version === 15 ? 'sto_RECno' : 'sto_Guid';
  const keyType = tables.version === 15 ? 'int' : 'uniqueidentifier';
  const compareKeys = (a: number | string, b: number | string) => (typeof a === 'number' && typeof b === 'number' ? a - b : compareGuids(String(a), String(b)));
  const codeKey = (code: string) => code.replace(/ +$/, '').toLocaleUpperCase('tr');
  const cardsByCode = () => new Map(tables.cards.map((c) => [codeKey(c.sto_kod), c]));
  const barcodeColumns = ['bar_stokkodu', 'bar_kodu', 'bar_birimpntr', ...tables.barcodeColumns];
  return {
    route(statement: string, parameters: SqlParameters): SqlRoute {
      const arg = (token: string) => argument(token, parameters);
      const keyValue = (token: string) => {
        const type = parameterType(token, parameters);
        if (type !== undefined && type !== keyType) throw new Error(`fake Mikro v${tables.version}: ${keyColumn} is compared as ${keyType}, not ${type}`);
        return arg(token) as number | string;
      };
      const usedKey = /\bS\.(sto_RECno|sto_Guid)\b/i.exec(statement)?.[1];
      if (usedKey && usedKey !== keyColumn && !/INFORMATION_SCHEMA/i.test(statement)) return { kind: 'catalog', answer: () => { throw invalidColumn(usedKey); } };

      if (/INFORMATION_SCHEMA\.COLUMNS/i.test(statement)) {
        expectIn(
          statement,
          /TABLE_NAME\s+IN\s*\(\s*'STOKLAR'\s*,\s*'BARKOD_TANIMLARI'\s*,\s*'STOK_SATIS_FIYAT_LISTE_TANIMLARI'\s*\)/i,
          "TABLE_NAME IN ('STOKLAR', 'BARKOD_TANIMLARI', 'STOK_SATIS_FIYAT_LISTE_TANIMLARI')",
        );
        const asked = /COLUMN_NAME\s+IN\s*\(([^)]*)\)/i.exec(statement)?.[1]?.split(',').map((c) => c.trim().replace(/'/g, '')) ?? [];
        const present = [
          { TABLE_NAME: 'STOKLAR', COLUMN_NAME: keyColumn },
          { TABLE_NAME: 'BARKOD_TANIMLARI', COLUMN_NAME: tables.version === 15 ? 'bar_RECno' : 'bar_Guid' },
          ...tables.barcodeColumns.map((c) => ({ TABLE_NAME: 'BARKOD_TANIMLARI', COLUMN_NAME: c })),
          ...(tables.listsHaveKdvDahil === false ? [] : [{ TABLE_NAME: 'STOK_SATIS_FIYAT_LISTE_TANIMLARI', COLUMN_NAME: 'sfl_kdvdahil' }]),
        ];
        return { kind: 'other', answer: () => resultOf(['TABLE_NAME', 'COLUMN_NAME'], present.filter((p) => asked.includes(p.COLUMN_NAME))) };
      }
      if (/FROM\s+STOK_SATIS_FIYAT_LISTE_TANIMLARI\b/i.test(statement)) {
        const withFlag = mentions(statement, 'sfl_kdvdahil');
        return {
          kind: 'other',
          answer: () => {
            if (withFlag && tables.listsHaveKdvDahil === false) throw invalidColumn('sfl_kdvdahil');
            return resultOf(['sfl_sirano', 'sfl_aciklama', ...(withFlag ? ['sfl_kdvdahil'] : [])], tables.lists);
          },
        };
      }
      if (/FROM\s+DEPOLAR\b/i.test(statement)) return { kind: 'other', answer: () => resultOf(['dep_no'], tables.depots) };

      const between = () => {
        const match = expectIn(statement, new RegExp(`S\\.${keyColumn}\\s+BETWEEN\\s+${VALUE}\\s+AND\\s+${VALUE}`, 'i'), `S.${keyColumn} BETWEEN the page's first and last key`);
        const [from, to] = [keyValue(match[1]!), keyValue(match[2]!)];
        return (key: number | string) => compareKeys(key, from) >= 0 && compareKeys(key, to) <= 0;
      };
      if (/FROM\s+BARKOD_TANIMLARI\s+B\s+JOIN\s+STOKLAR\s+S\s+ON\s+S\.sto_kod\s*=\s*B\.bar_stokkodu/i.test(statement)) {
        const inRange = between();
        const selected = [...statement.matchAll(/\bB\.(bar_\w+)/g)].map((match) => match[1]!).filter((c, i, all) => all.indexOf(c) === i && c !== 'bar_RECno' && c !== 'bar_Guid');
        return {
          kind: 'catalog',
          answer: () => {
            const unknown = selected.find((c) => !barcodeColumns.includes(c));
            if (unknown) throw invalidColumn(unknown);
            const cards = cardsByCode();
            const rows = tables.barcodes
              .filter((b) => { const card = cards.get(codeKey(b.bar_stokkodu)); return card !== undefined && inRange(card.key); })
              .sort((a, b) => codeKey(a.bar_stokkodu).localeCompare(codeKey(b.bar_stokkodu)) || compareKeys(a.key, b.key));
            return resultOf(selected, rows);
          },
        };
      }
      if (/FROM\s+STOK_SATIS_FIYAT_LISTELERI\s+F\s+JOIN\s+STOKLAR\s+S\s+ON\s+S\.sto_kod\s*=\s*F\.sfiyat_stokkod/i.test(statement)) {
        const inRange = between();
        const list = Number(arg(expectIn(statement, new RegExp(`F\\.sfiyat_listesirano\\s*=\\s*${VALUE}`, 'i'), 'F.sfiyat_listesirano = list')[1]!));
        const planZero = mentions(statement, 'F.sfiyat_odemeplan = 0');
        const notCancelled = mentions(statement, 'ISNULL(F.sfiyat_iptal, 0) = 0');
        const depots = new RegExp(`F\\.sfiyat_deposirano\\s+IN\\s*\\(\\s*0\\s*,\\s*${VALUE}\\s*\\)`, 'i').exec(statement);
        const wanted = depots ? [0, Number(arg(depots[1]!))] : mentions(statement, 'F.sfiyat_deposirano = 0') ? [0] : undefined;
        return {
          kind: 'catalog',
          answer: () => {
            const cards = cardsByCode();
            const rows = tables.prices
              .filter((p) => { const card = cards.get(codeKey(p.sfiyat_stokkod)); return card !== undefined && inRange(card.key); })
              .filter((p) => p.sfiyat_listesirano === list && (!planZero || p.sfiyat_odemeplan === 0) && (!notCancelled || p.sfiyat_iptal === 0) && (!wanted || wanted.includes(p.sfiyat_deposirano)))
              .sort((a, b) => codeKey(a.sfiyat_stokkod).localeCompare(codeKey(b.sfiyat_stokkod)));
            return resultOf(['sfiyat_stokkod', 'sfiyat_fiyati', 'sfiyat_doviz', 'sfiyat_deposirano', 'sfiyat_lastup_date'], rows);
          },
        };
      }
      if (/FROM\s+STOKLAR\s+S\b/i.test(statement)) {
        const top = Number(arg(expectIn(statement, new RegExp(`^\\s*SELECT\\s+TOP\\s*\\(\\s*${VALUE}\\s*\\)`, 'i'), 'SELECT TOP (page size)')[1]!));
        expectIn(statement, `ORDER BY S.${keyColumn}`, `ORDER BY S.${keyColumn}: the keyset order`);
        expectIn(statement, `S.${keyColumn} AS ROW_KEY`, 'the row key');
        const vat = expectIn(statement, /dbo\.fn_VergiYuzde\(S\.(sto_perakende_vergi|sto_toptan_vergi)\)\s+AS\s+VAT_PERCENT/i, 'dbo.fn_VergiYuzde(pointer) AS VAT_PERCENT')[1]! as 'sto_perakende_vergi' | 'sto_toptan_vergi';
        const inDepot = new RegExp(`dbo\\.fn_DepodakiMiktar\\(S\\.sto_kod,\\s*${VALUE},\\s*GETDATE\\(\\)\\)\\s+AS\\s+STOCK_QTY`, 'i').exec(statement);
        if (!inDepot) expectIn(statement, 'dbo.fn_EldekiMiktar(S.sto_kod) AS STOCK_QTY', 'dbo.fn_EldekiMiktar or dbo.fn_DepodakiMiktar AS STOCK_QTY');
        const depot = inDepot ? Number(arg(inDepot[1]!)) : undefined;
        const afterMatch = new RegExp(`S\\.${keyColumn}\\s*>\\s*${VALUE}`, 'i').exec(statement);
        const after = afterMatch ? keyValue(afterMatch[1]!) : undefined;
        return {
          kind: 'catalog',
          answer: () => {
            const page = tables.cards
              .filter((c) => after === undefined || compareKeys(c.key, after) > 0)
              .sort((a, b) => compareKeys(a.key, b.key))
              .slice(0, top)
              .map((c) => ({
                ...c,
                ROW_KEY: c.key,
                VAT_PERCENT: tables.vatPercents[String(c[vat])] ?? 0,
                STOCK_QTY: tables.onHand.filter((h) => codeKey(h.sto_kod) === codeKey(c.sto_kod) && (depot === undefined || h.depot === depot)).reduce((sum, h) => sum + h.quantity, 0),
              }));
            return resultOf(['ROW_KEY', 'sto_kod', 'sto_isim', 'sto_pasif_fl', 'sto_iptal', 'sto_satis_dursun', 'sto_anagrup_kod', 'sto_marka_kodu', 'VAT_PERCENT', 'STOCK_QTY'], page);
          },
        };
      }
      throw new Error(`fake Mikro database: a statement it does not expect:\n${statement}`);
    },
  };
}

export const MIKRO_LOGIN = { user: 'erpsync_okur', password: 'Mikro-Okur-5', database: 'MikroDB_V16_MAGAZA' };

export function startMikroSqlFake(knobs: MikroKnobs = {}): ErpSqlFake<MikroTables> {
  return startErpSqlFake(knobs, MIKRO_LOGIN, mikroCatalog, mikroDatabase);
}

export function mikroConnection(_fake: SqlFake, mistake?: ConnectionMistake, settings: Record<string, string> = {}): ContractConnection {
  return {
    settings: { server: 'MIKROSRV', instance: 'MIKRO', database: mistake === 'unknown-tenant' ? 'MikroDB_V16_YOK' : MIKRO_LOGIN.database, user: MIKRO_LOGIN.user, pageSize: '10', ...settings },
    secrets: { password: mistake === 'wrong-credentials' ? 'yanlış-şifre' : MIKRO_LOGIN.password },
  };
}
