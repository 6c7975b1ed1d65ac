import { afterEach, describe, expect, it } from 'vitest';
import { mikro } from '../../drivers/mikro.js';
import type { MikroRecord } from '../../drivers/mikro.js';
import type { ProductCandidate } from '../../src/driver/contract.js';
import { contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import { mikroConnection, mikroFixture, startMikroSqlFake } from '../fakes/mikro.js';
import type { MikroTables } from '../fakes/mikro.js';

/**
 * The mikro driver against test/fakes/fixtures/mikro/odd-rows.json (v16):
 * GUID row keys whose first bytes are out of order (SQL Server sorts a
 * uniqueidentifier by its last bytes), a cancelled master barcode, colour and
 * size barcodes, a box barcode, a card with only size barcodes, passive,
 * cancelled and sales-stopped cards, a price in another currency, a depot's
 * own price, a payment-plan price and a cancelled one beside the list price,
 * two general prices written at different times, negative stock in a depot.
 */

const odd = () => mikroFixture('odd-rows.json');

/** The fixture as a v15 database: integer row keys, in the same order. */
function asV15(tables: MikroTables): MikroTables {
  const number = (key: number | string) => Number.parseInt(String(key).slice(-12), 16);
  return { ...tables, version: 15, cards: tables.cards.map((c) => ({ ...c, key: number(c.key) })), barcodes: tables.barcodes.map((b) => ({ ...b, key: number(b.key) })) };
}

describe('mikro driver', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  function sql(settings: Record<string, string> = {}, tables: MikroTables = odd()) {
    const fake = startMikroSqlFake({ tables });
    const ctx = contractContext(mikro, '', mikroConnection(fake, undefined, settings), {}, fake.connector);
    cleanups.push(() => ctx.close());
    return { fake, ctx };
  }

  const bySku = (candidates: ProductCandidate[]): Record<string, ProductCandidate> => Object.fromEntries(candidates.map((c) => [String(c.sku), c]));

  it('sells one offer per stock card on its master barcode, at list 1\'s price, with Mikro\'s own KDV rate and quantity on hand', async () => {
    const { ctx } = sql();
    const { records, candidates } = await pullAll(mikro, ctx);
    expect((records as MikroRecord[]).map((r) => r.item.sto_kod)).toEqual(['M-001', 'M-002', 'M-003', 'M-004', 'M-005']);
    const offers = bySku(candidates);
    expect(offers['M-001']).toEqual({
      barcode: '8693000000112', sku: 'M-001', name: 'Örgü Kazak', price: '349.99', currency: 'TRY', priceIncludesVat: true, vatRate: '20', stock: '11', active: true, brand: 'YUN', category: 'GIYIM',
    });
    expect(offers['M-002']).toMatchObject({ barcode: null, price: '600', stock: '2', active: false });
    expect(offers['M-003']).toMatchObject({ barcode: '8693000000310', price: '450', active: false });
    expect(offers['M-004']).toMatchObject({ price: '25', currency: 'Mikro döviz 1', active: true });
    expect(offers['M-005']).toMatchObject({ price: '64.9', vatRate: '10', stock: '4.5' });
    // The record keeps the rows the choice was made from, and the list's definition.
    const first = records[0] as MikroRecord;
    expect(first.barcodes).toHaveLength(4);
    expect(first.list).toEqual({ sfl_sirano: 1, sfl_kdvdahil: 1 });
  });

  it('takes whether prices include KDV from the list chosen, and names the lists there are for one that is not', async () => {
    const offers = bySku((await pullAll(mikro, sql({ priceList: '2' }).ctx)).candidates);
    expect(offers['M-001']).toMatchObject({ price: '280', priceIncludesVat: false });
    expect(offers['M-002']).toMatchObject({ price: null });

    const failure = await expectFailure(mikro.testConnection(sql({ priceList: '9' }).ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toBe('Mikro has no sales price list 9 (STOK_SATIS_FIYAT_LISTE_TANIMLARI); the lists are: 1 Perakende, 2 Toptan');
  });

  it('where the lists do not say whether they include KDV, asks the connection (no default), and follows the list where it does say', async () => {
    const silent = { ...odd(), listsHaveKdvDahil: false };
    const unchosen = sql({}, silent);
    const failure = await expectFailure(mikro.testConnection(unchosen.ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toContain('has no sfl_kdvdahil');
    expect(failure.hint).toContain('--set listIncludesVat=true');
    expect(await expectFailure(pullAll(mikro, sql({}, silent).ctx))).toMatchObject({ exitCode: 78 });
    expect(unchosen.fake.statements.some((s) => /sfl_kdvdahil\s+FROM/i.test(s.statement))).toBe(false);

    const chosen = await pullAll(mikro, sql({ listIncludesVat: 'false' }, silent).ctx);
    expect(bySku(chosen.candidates)['M-001']).toMatchObject({ price: '349.99', priceIncludesVat: false });
    expect((chosen.records[0] as MikroRecord).list).toEqual({ sfl_sirano: 1, sfl_kdvdahil: null });
    // List 1 says KDV dahil: the list wins over the setting.
    expect(bySku((await pullAll(mikro, sql({ listIncludesVat: 'false' }).ctx)).candidates)['M-001']).toMatchObject({ priceIncludesVat: true });
  });

  it('reads one depot\'s quantity and its own price with warehouse, binding the depot number', async () => {
    const { fake, ctx } = sql({ warehouse: '2' });
    const offers = bySku((await pullAll(mikro, ctx)).candidates);
    expect([offers['M-001']!.stock, offers['M-005']!.stock, offers['M-005']!.price]).toEqual(['3', '6.5', '62.5']);
    const items = fake.statements.find((s) => /FROM STOKLAR S\b/.test(s.statement) && /TOP/.test(s.statement))!;
    expect(items.statement).toContain('dbo.fn_DepodakiMiktar(S.sto_kod, @depot, GETDATE()) AS STOCK_QTY');
    expect(items.parameters.depot).toEqual({ type: 'int', value: 2 });

    const unknown = await expectFailure(pullAll(mikro, sql({ warehouse: '5' }).ctx));
    expect(unknown.message).toBe('Mikro has no depot 5 (DEPOLAR); the depots are: 1, 2');
  });

  it('reads the wholesale KDV pointer when asked', async () => {
    const { fake, ctx } = sql({ vatColumn: 'sto_toptan_vergi' });
    expect(bySku((await pullAll(mikro, ctx)).candidates)['M-005']!.vatRate).toBe('20');
    expect(fake.statements.some((s) => s.statement.includes('dbo.fn_VergiYuzde(S.sto_toptan_vergi) AS VAT_PERCENT'))).toBe(true);
  });

  it('v16: pages by sto_Guid in SQL Server\'s order, each key bound as a uniqueidentifier', async () => {
    const { fake, ctx } = sql({ pageSize: '2' });
    const { pages, candidates } = await pullAll(mikro, ctx);
    expect(pages).toBe(3);
    expect(candidates.map((c) => c.sku)).toEqual(['M-001', 'M-002', 'M-003', 'M-004', 'M-005']);
    const items = fake.statements.filter((s) => /FROM STOKLAR S\b/.test(s.statement) && /SELECT TOP/.test(s.statement));
    expect(items.map((s) => s.parameters.after ?? null)).toEqual([
      null,
      { type: 'uniqueidentifier', value: 'FF000002-1A2B-4C3D-8E4F-000000000020' },
      { type: 'uniqueidentifier', value: '7A000004-1A2B-4C3D-8E4F-000000000040' },
    ]);
    expect(items.every((s) => /ORDER BY S\.sto_Guid/.test(s.statement))).toBe(true);
  });

  it('v15: asks the database, then pages by sto_RECno as an int', async () => {
    const { fake, ctx } = sql({ pageSize: '2' }, asV15(odd()));
    const { candidates } = await pullAll(mikro, ctx);
    expect(candidates.map((c) => c.barcode)).toEqual(['8693000000112', null, '8693000000310', '8693000000419', '8693000000518']);
    const items = fake.statements.filter((s) => /FROM STOKLAR S\b/.test(s.statement) && /SELECT TOP/.test(s.statement));
    expect(items.map((s) => s.parameters.after ?? null)).toEqual([null, { type: 'int', value: 32 }, { type: 'int', value: 64 }]);
    expect(fake.statements.some((s) => /sto_Guid/.test(s.statement) && !/INFORMATION_SCHEMA/.test(s.statement))).toBe(false);
  });

  it('a version setting the database contradicts: exit 78, says which column is missing', async () => {
    const failure = await expectFailure(mikro.testConnection(sql({ version: '15' }).ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toBe('the version setting says Mikro v15, but STOKLAR has no sto_RECno');
    expect(failure.hint).toContain('version=auto');
  });

  it('does without the barcode columns an older layout lacks', async () => {
    const tables = odd();
    tables.barcodeColumns = [];
    tables.barcodes = tables.barcodes.filter((b) => !b.bar_iptal && !b.bar_bedenpntr && !b.bar_renkpntr);
    const { fake, ctx } = sql({}, tables);
    const offers = bySku((await pullAll(mikro, ctx)).candidates);
    expect(offers['M-001']!.barcode).toBe('8693000000112');
    const barcodes = fake.statements.find((s) => /FROM BARKOD_TANIMLARI B/.test(s.statement))!;
    expect(barcodes.statement).not.toMatch(/bar_master|bar_renkpntr|bar_bedenpntr|bar_iptal/);
  });

  it('a function the login may not run: exit 78, names it and the GRANT EXECUTE that fixes it', async () => {
    const fake = startMikroSqlFake({
      tables: odd(),
      sqlFaults: [{ from: 1, times: Infinity, kind: 'sql', number: 229, message: "The EXECUTE permission was denied on the object 'fn_EldekiMiktar', database 'MikroDB_V16_MAGAZA', schema 'dbo'." }],
    });
    const ctx = contractContext(mikro, '', mikroConnection(fake), {}, fake.connector);
    cleanups.push(() => ctx.close());
    const failure = await expectFailure(mikro.testConnection(ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toContain('may not read dbo.fn_EldekiMiktar');
    expect(failure.hint).toContain('GRANT EXECUTE ON dbo.fn_EldekiMiktar TO [erpsync_okur]');
  });
});
