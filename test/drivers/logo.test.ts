import { afterEach, describe, expect, it } from 'vitest';
import { logo } from '../../drivers/logo.js';
import type { LogoRecord } from '../../drivers/logo.js';
import { assertReadOnly } from '../../src/driver/sql.js';
import { contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import { logoFixture, logoRestConnection, logoSqlConnection, startLogoRestFake, startLogoSqlFake } from '../fakes/logo.js';
import type { LogoRestKnobs, LogoTables } from '../fakes/logo.js';

/**
 * The logo driver against firm 001 of test/fakes/fixtures/logo/odd-rows.json:
 * a passive item, a raw material, several barcodes per unit and per unit set,
 * price cards that expired, start later, belong to a customer, a box, a
 * purchase, or are passive, currencies by number, warehouse rows with and
 * without their all-warehouses row, and an item that never moved.
 */

const odd = () => logoFixture('odd-rows.json');

/** What the fixture's sold items are, read by hand from the fixture. */
const expected = {
  11: { barcode: '8691000000118', sku: 'ÇAY-001', name: 'Çaydanlık Büyük', price: '239.9', currency: 'TRY', priceIncludesVat: true, vatRate: '20', stock: '17', active: true, category: 'MUTFAK' },
  12: { barcode: '8691000000217', sku: 'IŞK-002', price: '99.5', currency: 'USD', priceIncludesVat: false, vatRate: '20', stock: '4', active: false },
  14: { barcode: '9786050000016', sku: 'KTP-004', price: '85', currency: 'TL', priceIncludesVat: true, vatRate: '20', stock: 0, active: true },
  15: { barcode: null, sku: 'KOL-005', price: '64.75', currency: 'TRY', vatRate: '10', stock: 5, active: true },
  16: { barcode: '8691000000613', sku: 'MAM-006', price: '47', stock: '2.5', active: true },
};

describe('logo driver', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  function sql(settings: Record<string, string> = {}, tables: LogoTables = odd()) {
    const fake = startLogoSqlFake({ tables });
    const ctx = contractContext(logo, '', logoSqlConnection(fake, undefined, settings), {}, fake.connector);
    cleanups.push(() => ctx.close());
    return { fake, ctx };
  }

  async function rest(settings: Record<string, string> = {}, knobs: LogoRestKnobs = {}) {
    const fake = await startLogoRestFake({ tables: odd(), ...knobs });
    const ctx = contractContext(logo, fake.baseUrl, logoRestConnection(fake, undefined, settings));
    cleanups.push(async () => {
      await ctx.close();
      await fake.close();
    });
    return { fake, ctx };
  }

  const byRef = (records: unknown[], candidates: unknown[]) =>
    Object.fromEntries((records as LogoRecord[]).map((record, i) => [Number(record.item.LOGICALREF), candidates[i]]));

  it('sells one offer per item card of the types chosen, on the main unit\'s first barcode, at the price in force, with the all-warehouses stock', async () => {
    const { ctx } = sql();
    const { records, candidates } = await pullAll(logo, ctx);
    expect(records.map((r) => (r as LogoRecord).item.LOGICALREF)).toEqual([11, 12, 14, 15, 16]);
    const offers = byRef(records, candidates);
    for (const [ref, offer] of Object.entries(expected)) expect(offers[ref], `item ${ref}`).toMatchObject(offer);
    // The record keeps every row the choice was made from, for `preview` and `explain`.
    const first = records[0] as LogoRecord;
    expect(first.barcodes.map((b) => b.BARCODE)).toEqual(['8691000000118', expect.any(String), expect.any(String)]);
    expect(first.prices.map((p) => p.CODE)).toEqual(expect.arrayContaining(['GENEL', 'PAZARYERI']));
    expect(first.prices.map((p) => p.CODE)).not.toContain('BAYI');
    expect(first.prices.map((p) => p.CODE)).not.toContain('ALIS');
    expect(first.prices.map((p) => p.CODE)).not.toContain('ESKI');
    expect(first.stock.map((s) => s.INVENNO)).toEqual([-1, 0, 1]);
    expect(first.asOf).toBe('2026-11-22T14:05:00');
  });

  it('reads a warehouse\'s own row when one is chosen, and 0 for an item that has none', async () => {
    const { ctx } = sql({ warehouse: '1' });
    const { records, candidates } = await pullAll(logo, ctx);
    const offers = byRef(records, candidates);
    expect([offers[11], offers[12], offers[14], offers[15]].map((o) => (o as { stock: unknown }).stock)).toEqual(['12', 0, 0, '3']);
  });

  it('names the warehouses there are when the one chosen is not among them', async () => {
    const { ctx } = sql({ warehouse: '7' });
    const failure = await expectFailure(pullAll(logo, ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toContain('no warehouse 7');
    expect(failure.message).toContain('0 Merkez Ambar, 1 Şube Ambarı');
  });

  it('names the periods there are when the period is wrong, and reads the period\'s own stock table', async () => {
    const { ctx } = sql({ period: '3' });
    const failure = await expectFailure(logo.testConnection(ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toMatch(/no period 3 .*periods are: 1, 2/);

    const second = sql({ period: '2' });
    await pullAll(logo, second.ctx);
    expect(second.fake.statements.some((s) => /FROM LG_001_02_GNTOTST S/.test(s.statement))).toBe(true);
  });

  it('an unknown firm is an unknown company, with the firms that exist', async () => {
    const { ctx } = sql({ firm: '7' });
    const failure = await expectFailure(pullAll(logo, ctx));
    expect(failure).toMatchObject({ exitCode: 78 });
    expect(failure.message).toBe('unknown company: Logo has no firm 7 (L_CAPIFIRM); the firms are: 1');
  });

  it('sells the raw materials too only when their card type is chosen', async () => {
    const { ctx } = sql({ cardTypes: '1, 2, 3, 10, 12' });
    const { records } = await pullAll(logo, ctx);
    expect(records.map((r) => (r as LogoRecord).item.LOGICALREF)).toEqual([11, 12, 13, 14, 15, 16]);
  });

  it('sends VAT by default and warns about the cards whose sales KDV differs; SELLVAT when chosen', async () => {
    const { ctx } = sql();
    const { records, candidates } = await pullAll(logo, ctx);
    expect(byRef(records, candidates)[14]).toMatchObject({ vatRate: '20' });
    expect(ctx.warnings).toEqual(['1 products have a sales KDV rate (SELLVAT) other than their KDV rate (VAT); erp-sync sends VAT, as the vatColumn setting says']);

    const chosen = sql({ vatColumn: 'SELLVAT' });
    const again = await pullAll(logo, chosen.ctx);
    expect(byRef(again.records, again.candidates)[14]).toMatchObject({ vatRate: '10' });
  });

  it('reads only the price cards of one code when priceCode is set, bound as a parameter', async () => {
    const { fake, ctx } = sql({ priceCode: 'GENEL' });
    const { records, candidates } = await pullAll(logo, ctx);
    expect(byRef(records, candidates)[11]).toMatchObject({ price: '249.9' });
    const prices = fake.statements.find((s) => /FROM LG_001_PRCLIST P/.test(s.statement))!;
    expect(prices.statement).toContain('P.CODE = @priceCode');
    expect(prices.parameters.priceCode).toEqual({ type: 'nvarchar', value: 'GENEL' });
  });

  it('leaves the ACTIVE filter out where this Logo\'s price cards have no such column', async () => {
    const tables = odd();
    tables.pricesHaveActive = false;
    tables.prices = tables.prices.filter((p) => p.CODE !== 'ESKI');
    const { fake, ctx } = sql({}, tables);
    const { records, candidates } = await pullAll(logo, ctx);
    expect(byRef(records, candidates)[11]).toMatchObject({ price: '239.9' });
    expect(fake.statements.filter((s) => /PRCLIST/.test(s.statement)).every((s) => !/ACTIVE/.test(s.statement))).toBe(true);
  });

  it('pages by LOGICALREF, each page\'s rows read within its first and last key, the firm and period in every table name', async () => {
    const { fake, ctx } = sql({ pageSize: '2', firm: '1', period: '1' });
    const { pages } = await pullAll(logo, ctx);
    expect(pages).toBe(3);
    const items = fake.statements.filter((s) => /FROM LG_001_ITEMS I/.test(s.statement));
    expect(items.map((s) => s.parameters.after?.value ?? null)).toEqual([null, 12, 15]);
    expect(items.every((s) => s.parameters.pageSize?.value === 2 && /SELECT TOP \(@pageSize\)/.test(s.statement))).toBe(true);
    const ranges = fake.statements.filter((s) => /BETWEEN @from AND @to/.test(s.statement)).map((s) => [s.parameters.from?.value, s.parameters.to?.value]);
    expect(ranges).toEqual([[11, 12], [11, 12], [11, 12], [14, 15], [14, 15], [14, 15], [16, 16], [16, 16], [16, 16]]);
    for (const table of ['LG_001_UNITSETL', 'LG_001_UNITBARCODE', 'LG_001_PRCLIST', 'LG_001_01_GNTOTST']) {
      expect(fake.statements.some((s) => s.statement.includes(table)), table).toBe(true);
    }
  });

  it('testConnection logs in and reads every table it needs, one row of each', async () => {
    const { fake, ctx } = sql();
    await logo.testConnection(ctx);
    // The table each statement reads: its last FROM (the items statement reads the unit lines in a subquery first).
    const read = fake.statements.map((s) => [...s.statement.matchAll(/FROM (\S+)/g)].pop()?.[1] ?? s.statement);
    expect(read).toEqual(['(login)', 'L_CAPIFIRM', 'L_CAPIPERIOD', 'INFORMATION_SCHEMA.COLUMNS', 'L_CURRENCYLIST', 'GETDATE()', 'LG_001_ITEMS', 'LG_001_UNITBARCODE', 'LG_001_PRCLIST', 'LG_001_01_GNTOTST'].map((t) => (t === 'GETDATE()' ? expect.stringContaining('GETDATE') : t)));
    expect(fake.statements.find((s) => /LG_001_ITEMS/.test(s.statement))!.parameters.pageSize?.value).toBe(1);
  });

  it('opens SQL Server as the connection says: encrypted and the certificate checked unless told otherwise, a named instance or a port', async () => {
    const { fake, ctx } = sql();
    await logo.testConnection(ctx);
    expect(fake.configs[0]).toMatchObject({ server: 'logo-sunucu.local', port: 1433, instance: undefined, encrypt: true, trustServerCertificate: false });
    const selfSigned = sql({ instance: 'LOGO', trustServerCertificate: 'true' });
    await logo.testConnection(selfSigned.ctx);
    expect(selfSigned.fake.configs[0]).toMatchObject({ port: undefined, instance: 'LOGO', encrypt: true, trustServerCertificate: true });
    const old = sql({ port: '50123', encrypt: 'false' });
    await logo.testConnection(old.ctx);
    expect(old.fake.configs[0]).toMatchObject({ port: 50123, instance: undefined, encrypt: false });
  });

  it('asks for SQL Server settings it lacks by name, before connecting', async () => {
    const fake = startLogoSqlFake({ tables: odd() });
    const { server: _gone, ...settings } = logoSqlConnection(fake).settings!;
    const ctx = contractContext(logo, '', { ...logoSqlConnection(fake), settings }, {}, fake.connector);
    cleanups.push(() => ctx.close());
    const failure = await expectFailure(logo.testConnection(ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toContain('server');
    expect(fake.statements).toEqual([]);
  });

  describe('through the Logo Objects REST service', () => {
    it('reads the same offers with the same statements, their parameters written in, each under IIS\'s 2,048-character query limit', async () => {
      const viaSql = await pullAll(logo, sql().ctx);
      const { fake, ctx } = await rest();
      const viaRest = await pullAll(logo, ctx);
      expect(viaRest.candidates).toEqual(viaSql.candidates);
      const queries = fake.requests.filter((r) => r.url.startsWith('/api/v1/queries'));
      expect(queries.length).toBeGreaterThan(5);
      for (const request of queries) {
        expect(request.url.length).toBeLessThan(2048);
        const tsql = new URL(request.url, 'http://x').searchParams.get('tsql')!;
        expect(() => assertReadOnly(tsql)).not.toThrow();
        expect(tsql).not.toMatch(/@\w+/);
      }
      expect(fake.requests.filter((r) => r.kind === 'auth')).toHaveLength(1);
      const login = new URLSearchParams(fake.requests[0]!.body);
      expect(Object.fromEntries(login)).toEqual({ grant_type: 'password', username: 'LOGO', firmno: '1', password: fake.password });
    });

    it('writes a text parameter in as a literal that cannot end early', async () => {
      const tables = odd();
      tables.prices.push({ ...tables.prices[1]!, LOGICALREF: 999, CODE: "O'NEIL; DROP", PRICE: 777, PRIORITY: 0 });
      const fake = await startLogoRestFake({ tables });
      const ctx = contractContext(logo, fake.baseUrl, logoRestConnection(fake, undefined, { priceCode: "O'NEIL; DROP" }));
      cleanups.push(async () => {
        await ctx.close();
        await fake.close();
      });
      const { records, candidates } = await pullAll(logo, ctx);
      expect(byRef(records, candidates)[11]).toMatchObject({ price: '777' });
      const prices = fake.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('tsql') ?? '').find((tsql) => tsql.includes('FROM LG_001_PRCLIST'))!;
      expect(prices).toContain("P.CODE = N'O''NEIL; DROP'");
    });

    it('sends the client id as HTTP Basic where the service was set up with one', async () => {
      const client = { id: 'erp-sync', secret: 'istemci-sırrı' };
      const { fake, ctx } = await rest({ restClientId: client.id }, { client });
      Object.assign(ctx.secrets, { restClientSecret: client.secret });
      await logo.testConnection(ctx);
      expect(fake.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`);
    });

    it('takes a LoginError in an answer as an expired token and logs in again once', async () => {
      const { fake, ctx } = await rest({}, { tokenExpiresAfter: 3, loginErrorInBody: true });
      const { candidates } = await pullAll(logo, ctx);
      expect(candidates).toHaveLength(5);
      expect(fake.tokensIssued).toBe(2);
    });

    it('reports SQL Server\'s error from ModelState by what it means: a firm\'s table missing names the firm setting', async () => {
      const tables = odd();
      tables.firms.push({ NR: 3 });
      tables.periods.push({ FIRMNR: 3, NR: 1 });
      const fake = await startLogoRestFake({ tables });
      const ctx = contractContext(logo, fake.baseUrl, logoRestConnection(fake, undefined, { firm: '3' }));
      cleanups.push(async () => {
        await ctx.close();
        await fake.close();
      });
      const failure = await expectFailure(pullAll(logo, ctx));
      expect(failure.exitCode).toBe(78);
      expect(failure.message).toContain('LG_003_ITEMS does not exist');
      expect(failure.hint).toContain('Tables of firm 3 start with LG_003_');
    });

    it('wrong user or password: exit 77, with what Logo said', async () => {
      const { fake, ctx } = await rest();
      Object.assign(ctx.secrets, { restPassword: 'yanlış' });
      const failure = await expectFailure(logo.testConnection(ctx));
      expect(failure.exitCode).toBe(77);
      expect(failure.message).toContain('Kullanıcı adı veya şifre hatalı');
      expect(fake.requests.filter((r) => r.kind === 'catalog')).toEqual([]);
    });
  });
});
