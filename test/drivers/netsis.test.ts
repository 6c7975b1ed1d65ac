import { afterEach, describe, expect, it } from 'vitest';
import { netsis, repairTurkish } from '../../drivers/netsis.js';
import type { NetsisSqlRecord } from '../../drivers/netsis.js';
import type { ProductCandidate } from '../../src/driver/contract.js';
import { contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import { netsisFixture, netsisRestConnection, netsisSqlConnection, startNetsisRestFake, startNetsisSqlFake } from '../fakes/netsis.js';
import type { NetsisRestKnobs, NetsisTables } from '../fakes/netsis.js';

/**
 * The netsis driver against test/fakes/fixtures/netsis/odd-rows.json: a code
 * with a leading space and a trailing tab, cards whose barcode is in BARKOD3
 * or only in TBLSTOKBAR, cards locked for sale or altogether, names from a
 * database kept in Windows-1252, quantities in two branches and several
 * depots, with a depot-0 row that is their total, one that is not, and a card
 * that has none.
 */

const odd = () => netsisFixture('odd-rows.json');

describe('netsis driver', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  function sql(settings: Record<string, string> = {}, tables: NetsisTables = odd()) {
    const fake = startNetsisSqlFake({ tables });
    const ctx = contractContext(netsis, '', netsisSqlConnection(fake, undefined, settings), {}, fake.connector);
    cleanups.push(() => ctx.close());
    return { fake, ctx };
  }

  async function rest(settings: Record<string, string> = {}, knobs: NetsisRestKnobs = {}) {
    const fake = await startNetsisRestFake({ tables: odd(), ...knobs });
    const ctx = contractContext(netsis, fake.baseUrl, netsisRestConnection(fake, undefined, settings));
    cleanups.push(async () => {
      await ctx.close();
      await fake.close();
    });
    return { fake, ctx };
  }

  const bySku = (candidates: ProductCandidate[]): Record<string, ProductCandidate> => Object.fromEntries(candidates.map((c) => [String(c.sku), c]));

  it('sells one offer per stock card, on BARKOD1 or the first barcode there is, the depot-0 rows of every branch as its stock', async () => {
    const { ctx } = sql();
    const { records, candidates } = await pullAll(netsis, ctx);
    expect((records as NetsisSqlRecord[]).map((r) => r.card.STOK_KODU)).toEqual([' STK-002\t', 'STK-001', 'STK-003', 'STK-004', 'STK-005']);
    const offers = bySku(candidates);
    expect(offers['STK-001']).toEqual({
      barcode: '8692000000115', sku: 'STK-001', name: 'Ýnce Çaydanlýk', price: '120.5', currency: 'TRY', priceIncludesVat: true, vatRate: '20', stock: '18', active: true, category: 'MUTFAK',
    });
    expect(offers['STK-002']).toMatchObject({ barcode: '8692000000214', stock: '7.25', active: true });
    expect(offers['STK-003']).toMatchObject({ barcode: '8692000000313', stock: 0, vatRate: '1' });
    expect(offers['STK-004']).toMatchObject({ barcode: '8692000000412', stock: '9', active: false });
    expect(offers['STK-005']).toMatchObject({ barcode: '8692000000511', stock: 0, active: false });
  });

  it('repairs Ð Ý Þ ð ý þ to Ğ İ Ş ğ ı ş with fixTurkish, in names, codes and groups, and nothing else', async () => {
    const { ctx } = sql({ fixTurkish: 'true' });
    const { candidates } = await pullAll(netsis, ctx);
    expect(candidates.map((c) => c.name)).toEqual(['Şemsiye Büyük', 'İnce Çaydanlık', 'Dağ Çileği Reçeli', 'Kırmızı Çanta', 'Ütü Masası']);
    expect(repairTurkish('ÐÝÞðýþ Çç Öö Üü Ii')).toBe('ĞİŞğış Çç Öö Üü Ii');
  });

  it('warns when a depot-0 row is not the sum of its depots, and when no card has one', async () => {
    const { ctx } = sql();
    await pullAll(netsis, ctx);
    expect(ctx.warnings).toEqual([expect.stringContaining('the all-depots row (DEPO_KODU=0) of 1 products in TBLSTOKPH is not the sum of their depots')]);

    const tables = odd();
    tables.stock = tables.stock.filter((row) => row.DEPO_KODU !== 0);
    const none = sql({}, tables);
    const { candidates } = await pullAll(netsis, none.ctx);
    expect(candidates.every((c) => c.stock === 0)).toBe(true);
    expect(none.ctx.warnings).toEqual([expect.stringContaining('no product in TBLSTOKPH has an all-depots row (DEPO_KODU=0)')]);
  });

  it('adds up every row with depotZero=depot, reads one depot with warehouse, one branch with branch', async () => {
    const every = bySku((await pullAll(netsis, sql({ depotZero: 'depot' }).ctx)).candidates);
    expect([every['STK-001']!.stock, every['STK-003']!.stock]).toEqual(['36', '7']);

    const depot = bySku((await pullAll(netsis, sql({ warehouse: '2' }).ctx)).candidates);
    expect([depot['STK-001']!.stock, depot['STK-003']!.stock, depot['STK-004']!.stock]).toEqual(['5', '2', 0]);

    const { fake, ctx } = sql({ branch: '0' });
    const branch = bySku((await pullAll(netsis, ctx)).candidates);
    expect(branch['STK-001']!.stock).toBe('15');
    const stock = fake.statements.find((s) => /FROM TBLSTOKPH P/.test(s.statement))!;
    expect(stock.statement).toContain('P.SUBE_KODU = @branch');
    expect(stock.parameters.branch).toEqual({ type: 'int', value: 0 });
  });

  it('sells at the price column chosen', async () => {
    const { fake, ctx } = sql({ priceField: 'SATIS_FIAT2' });
    const offers = bySku((await pullAll(netsis, ctx)).candidates);
    expect(offers['STK-001']!.price).toBe('110');
    expect(fake.statements.find((s) => /FROM TBLSTSABIT/.test(s.statement))!.statement).toMatch(/S\.SATIS_FIAT2\b/);
  });

  it('pages by STOK_KODU compared as varchar, the page\'s barcodes and stock read between its first and last code', async () => {
    const { fake, ctx } = sql({ pageSize: '2' });
    const { pages } = await pullAll(netsis, ctx);
    expect(pages).toBe(3);
    const cards = fake.statements.filter((s) => /FROM TBLSTSABIT S/.test(s.statement));
    expect(cards.map((s) => s.parameters.after ?? null)).toEqual([null, { type: 'varchar', value: 'STK-001' }, { type: 'varchar', value: 'STK-004' }]);
    const extras = fake.statements.filter((s) => /FROM TBLSTOKBAR B/.test(s.statement));
    expect(extras.map((s) => [s.parameters.from?.value, s.parameters.to?.value])).toEqual([[' STK-002\t', 'STK-001'], ['STK-003', 'STK-004'], ['STK-005', 'STK-005']]);
  });

  it('does without TBLSTOKBAR where the database has none', async () => {
    const tables = odd();
    tables.extraBarcodes = undefined;
    const { fake, ctx } = sql({}, tables);
    const offers = bySku((await pullAll(netsis, ctx)).candidates);
    expect(offers['STK-003']!.barcode).toBeNull();
    expect(fake.statements.some((s) => /FROM TBLSTOKBAR/.test(s.statement))).toBe(false);
  });

  it('a company database the login may not open is an unknown company', async () => {
    const { ctx } = sql({ database: 'NETSIS2019' });
    const failure = await expectFailure(netsis.testConnection(ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toContain('unknown company');
    expect(failure.message).toContain('"NETSIS2019"');
  });

  describe('through NetOpenX', () => {
    it('takes one token for the run, logs in with the branch and the company, and revokes it at the end', async () => {
      const { fake, ctx } = await rest({ branch: '3', restDbUser: 'NETSISDB' });
      const { candidates } = await pullAll(netsis, ctx);
      expect(candidates).toHaveLength(5);
      expect(fake.tokensIssued).toBe(1);
      expect(fake.seatsHeld).toBe(0);
      expect(Object.fromEntries(fake.logins[0]!)).toEqual({
        grant_type: 'password', username: 'NETSIS', password: fake.password, branchcode: '3', dbname: 'NETSIS2026', dbuser: 'NETSISDB', dbpassword: '', dbtype: '0',
      });
      const revokes = fake.requests.filter((r) => r.url === '/api/v2/revoke');
      expect(revokes).toHaveLength(1);
      expect(revokes[0]!.at).toBeGreaterThanOrEqual(Math.max(...fake.requests.filter((r) => r.kind === 'catalog').map((r) => r.at)));
    });

    it('gives the seat back when the pull fails, and after testConnection', async () => {
      const { fake, ctx } = await rest({}, { faults: [{ from: 1, times: Infinity, kind: 'status', status: 503 }] });
      expect((await expectFailure(pullAll(netsis, ctx))).exitCode).toBe(75);
      expect(fake.tokensIssued).toBe(1);
      expect(fake.seatsHeld).toBe(0);

      const healthy = await rest();
      await netsis.testConnection(healthy.ctx);
      expect(healthy.fake.seatsHeld).toBe(0);
      expect(healthy.fake.requests.find((r) => r.kind === 'catalog')!.url).toBe('/api/v2/Items?limit=1&offset=0');
    });

    it('every licence seat in use: exit 75, says so, tries again next run', async () => {
      const { ctx } = await rest({}, { seatsTaken: true });
      const failure = await expectFailure(netsis.testConnection(ctx));
      expect(failure.exitCode).toBe(75);
      expect(failure.message).toContain('every Netsis licence seat is in use');
      expect(failure.message).toContain('SsoMaxUserCountExceeded');
    });

    it('reads NetOpenX\'s fields whatever their case, a KDV rate kept as a fraction as a percentage', async () => {
      const tables = odd();
      tables.cards[0]!.KDV_ORANI = 0.2;
      const fake = await startNetsisRestFake({ tables });
      const ctx = contractContext(netsis, fake.baseUrl, netsisRestConnection(fake, undefined, { fixTurkish: 'true' }));
      cleanups.push(async () => {
        await ctx.close();
        await fake.close();
      });
      const offers = bySku((await pullAll(netsis, ctx)).candidates);
      expect(offers['STK-001']).toEqual({
        barcode: '8692000000115', sku: 'STK-001', name: 'İnce Çaydanlık', price: '120.5', currency: 'TRY', priceIncludesVat: true, vatRate: '20', stock: '18', active: true, category: 'MUTFAK',
      });
      const upper = netsis.mapRecord({ STOKTEMELBILGI: { STOK_KODU: 'X-1', STOK_ADI: 'Büyük', BARKOD1: '8692000000115', SATIS_FIAT1: 5, KDV_ORANI: 10, MIKTAR: 2, KILIT: 'H' } }, { settings: { priceIncludesVat: 'false' } });
      expect(upper).toEqual([expect.objectContaining({ sku: 'X-1', barcode: '8692000000115', price: '5', vatRate: '10', stock: '2', priceIncludesVat: false })]);
    });

    it('refuses a depot setting it cannot honour: NetOpenX gives one quantity per item', async () => {
      const { fake, ctx } = await rest({ warehouse: '2' });
      const failure = await expectFailure(netsis.testConnection(ctx));
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toContain('accessMode=sql');
      expect(fake.requests).toEqual([]);
    });
  });
});
