import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { parasut } from '../../drivers/parasut.js';
import { setLanguage } from '../../src/i18n/index.js';
import { createDriverContext } from '../../src/driver/context.js';
import { barcodeMultiset, contractContext, expectFailure, pullAll } from '../support/driver-contract.js';
import type { ContractConnection } from '../support/driver-contract.js';
import { jsonFixture } from '../fakes/common.js';
import { parasutConnection as connect, startParasutFake } from '../fakes/parasut.js';
import type { ParasutFake, ParasutKnobs } from '../fakes/parasut.js';

describe('parasut driver', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  async function start(knobs: ParasutKnobs) {
    const fake = await startParasutFake(knobs);
    cleanups.push(() => fake.close());
    return fake;
  }

  function context(fake: ParasutFake, connection: ContractConnection, settings: Record<string, string> = {}) {
    const ctx = contractContext(parasut, fake.baseUrl, connection, settings);
    cleanups.push(() => ctx.close());
    return ctx;
  }

  const grants = (fake: ParasutFake) =>
    fake.requests.filter((r) => r.kind === 'auth').map((r) => Object.fromEntries(new URLSearchParams(r.body)) as Record<string, string>);

  it('logs in with a form-encoded password grant and sends the token as Bearer', async () => {
    const fake = await start({ products: 3 });
    const ctx = context(fake, connect(fake));
    await pullAll(parasut, ctx);
    const login = fake.requests.find((r) => r.kind === 'auth')!;
    expect(login.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(grants(fake)).toEqual([
      {
        grant_type: 'password',
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
        username: fake.username,
        password: fake.password,
        redirect_uri: 'urn:ietf:wg:oauth:2.0:oob',
      },
    ]);
    const page = fake.requests.find((r) => r.kind === 'catalog')!;
    expect(page.headers.authorization).toMatch(/^Bearer erisim-1-/);
    expect(new URL(page.url, fake.baseUrl).searchParams.get('page[size]')).toBe('10');
  });

  it('asks for 25 products a page unless told otherwise', async () => {
    const fake = await start({ products: 30 });
    const connection = connect(fake);
    delete connection.settings!.pageSize;
    const ctx = context(fake, connection);
    const { candidates } = await pullAll(parasut, ctx);
    expect(candidates).toHaveLength(30);
    const pages = fake.requests.filter((r) => r.kind === 'catalog').map((r) => new URL(r.url, fake.baseUrl).searchParams);
    expect(pages.every((p) => p.get('page[size]') === '25')).toBe(true);
    // The first wave asks for as many pages as run at once; those past the end are dropped (or cancelled unanswered).
    const numbers = pages.map((p) => Number(p.get('page[number]')));
    expect(numbers).toEqual(expect.arrayContaining([1, 2]));
    expect(Math.max(...numbers)).toBeLessThanOrEqual(Math.max(2, ctx.concurrency));
  });

  it('asks for no more than Paraşüt’s 25 a page, and says so when the setting wants more', async () => {
    const fake = await start({ products: 60 });
    const ctx = context(fake, connect(fake), { pageSize: '100' });
    const { candidates } = await pullAll(parasut, ctx);
    expect(candidates).toHaveLength(60);
    const sizes = fake.requests.filter((r) => r.kind === 'catalog').map((r) => new URL(r.url, fake.baseUrl).searchParams.get('page[size]'));
    expect(new Set(sizes)).toEqual(new Set(['25']));
    expect(ctx.warnings).toEqual(['the pageSize setting 100 is more than Paraşüt serves a page; 25 is used']);
  });

  it('reads a page shaped like Paraşüt’s answer: a missing barcode, an archived product, strings and numbers, EUR', async () => {
    const fixture = jsonFixture<{ data: Record<string, unknown>[] }>('parasut/products-page.json');
    const fake = await start({ catalog: fixture.data });
    const { candidates } = await pullAll(parasut, context(fake, connect(fake), { priceIncludesVat: 'true' }));
    expect(candidates.map((c) => [c.sku, c.barcode, c.price, c.currency, c.vatRate, c.stock, c.active, c.priceIncludesVat])).toEqual([
      ['ÇY-001', '8695550000017', '849.9', 'TRL', '20', '14', true, true],
      ['ÇY-002', '8695550000024', '399.0', 'TRL', '20.0', '0.0', true, true],
      ['HZ-001', null, '250', 'TRL', '20', '0', true, true],
      ['ŞL-010', '8695550000031', '1250', 'TRL', '10', '3', false, true],
      ['EU-001', '8695550000048', '45.5', 'EUR', '20', '8', true, true],
    ]);
  });

  it('saves each rotated refresh token and refreshes with the newest one', async () => {
    const fake = await start({ products: 35, tokenExpiresAfter: 1 });
    const ctx = context(fake, connect(fake));
    const { candidates } = await pullAll(parasut, ctx);
    expect(barcodeMultiset(candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
    const [login, refresh] = grants(fake);
    expect(login?.grant_type).toBe('password');
    expect(ctx.saved.map((s) => s.field)).toEqual(['refreshToken', 'refreshToken']);
    expect(refresh).toMatchObject({ grant_type: 'refresh_token', refresh_token: ctx.saved[0]!.value, client_id: fake.clientId, client_secret: fake.clientSecret });
    expect(ctx.saved[1]!.value).toBe(fake.currentRefreshToken);
    expect(ctx.saved[1]!.value).not.toBe(ctx.saved[0]!.value);
  });

  it('starts the next run from the saved refresh token, without the password', async () => {
    const fake = await start({ products: 12 });
    const first = context(fake, connect(fake));
    await pullAll(parasut, first);
    const saved = first.saved.at(-1)!.value;

    const second = context(fake, connect(fake, undefined, { refreshToken: saved }));
    const { candidates } = await pullAll(parasut, second);
    expect(candidates).toHaveLength(12);
    const secondRunGrants = grants(fake).slice(1);
    expect(secondRunGrants).toEqual([expect.objectContaining({ grant_type: 'refresh_token', refresh_token: saved })]);
    expect(second.saved).toEqual([{ field: 'refreshToken', value: fake.currentRefreshToken }]);
  });

  it('falls back to the password when the stored refresh token was already used', async () => {
    const fake = await start({ products: 12 });
    const stale = fake.mintRefreshToken();
    fake.mintRefreshToken();
    const ctx = context(fake, connect(fake, undefined, { refreshToken: stale }));
    const { candidates } = await pullAll(parasut, ctx);
    expect(candidates).toHaveLength(12);
    expect(grants(fake).map((g) => g.grant_type)).toEqual(['refresh_token', 'password']);
    expect(ctx.saved).toEqual([{ field: 'refreshToken', value: fake.currentRefreshToken }]);
  });

  it('finishes the pull, with a warning, when the new refresh token cannot be saved', async () => {
    const fake = await start({ products: 5 });
    const warnings: string[] = [];
    const connection = connect(fake);
    const ctx = createDriverContext({
      driver: parasut,
      connection: 'env-only',
      baseUrl: fake.baseUrl,
      settings: connection.settings,
      secrets: connection.secrets,
      saveSecret: async () => {
        throw new Error('the env secret store is read-only');
      },
      warn: (message) => warnings.push(message),
    });
    cleanups.push(() => ctx.close());
    const { candidates } = await pullAll(parasut, ctx);
    expect(candidates).toHaveLength(5);
    expect(warnings).toEqual([expect.stringMatching(/could not save Paraşüt's new refresh token.*read-only.*log in with the password/)]);
  });

  it('names a wrong client ID or secret apart from a wrong password', async () => {
    const fake = await start({ products: 1 });
    const ctx = context(fake, { ...connect(fake), secrets: { clientSecret: 'başka-gizli', password: fake.password } });
    const failure = await expectFailure(parasut.testConnection(ctx));
    expect(failure.exitCode).toBe(77);
    expect(failure.message).toMatch(/wrong client ID or client secret/);
    expect(failure.message).not.toContain('başka-gizli');
  });

  it('reports a wrong password and a wrong company number in Turkish when the process runs in Turkish', async () => {
    const fake = await start({ products: 1 });
    const wrong = context(fake, connect(fake, 'wrong-credentials'));
    const unknown = context(fake, connect(fake, 'unknown-tenant'));
    setLanguage('tr');
    const rejected = await expectFailure(parasut.testConnection(wrong));
    expect(rejected.exitCode).toBe(77);
    expect(rejected.message).toBe(`Paraşüt ${fake.username} e-posta adresini bu şifreyle kabul etmedi (e-posta ya da şifre yanlış)`);
    expect(rejected.hint).toMatch(/^Bilgileri kontrol edin, ardından `erp-sync connect .+` komutunu yeniden çalıştırın\.$/);
    const company = await expectFailure(parasut.testConnection(unknown));
    expect(company.exitCode).toBe(78);
    expect(company.message).toBe('bilinmeyen firma numarası 999999: bu hesapta Paraşüt’te bu numarayla kayıtlı bir firma yok');
  });

  it('refuses a company number that is not a number before calling Paraşüt', async () => {
    const fake = await start({ products: 1 });
    const connection = connect(fake);
    const ctx = context(fake, { ...connection, settings: { ...connection.settings, companyId: 'firma-115' } });
    const failure = await expectFailure(pullAll(parasut, ctx));
    expect(failure.exitCode).toBe(78);
    expect(failure.message).toMatch(/company number must be a whole number/);
    expect(fake.requests).toEqual([]);
  });

  it('maps JSON:API attributes, reading decimals sent as numbers or as strings', async () => {
    for (const [decimalsAsStrings, whole] of [
      [false, (n: number) => String(n)],
      [true, (n: number) => `${n}.0`],
    ] as const) {
      const fake = await start({ products: 6, decimalsAsStrings });
      const { candidates } = await pullAll(parasut, context(fake, connect(fake)));
      expect(candidates[5]).toEqual({
        barcode: '8690000060009',
        sku: 'PRS-6',
        name: 'Doğal Çaydanlık 6',
        price: '105.5',
        currency: 'TRL',
        vatRate: whole(20),
        priceIncludesVat: false,
        stock: whole(7),
        active: false,
      });
      expect(candidates[3]).toMatchObject({ vatRate: whole(10), stock: whole(5), active: true });
      expect(candidates[4]).toMatchObject({ vatRate: whole(20), stock: whole(0), active: true });
    }
  });

  it.each(['TRL', 'TRY', 'USD'] as const)('leaves the currency %s as sent', async (currency) => {
    const fake = await start({ products: 3, currency });
    const { candidates } = await pullAll(parasut, context(fake, connect(fake), { priceIncludesVat: 'false' }));
    expect(candidates.map((c) => [c.currency, c.priceIncludesVat])).toEqual([
      [currency, false],
      [currency, false],
      [currency, false],
    ]);
  });

  it('keeps to 60 requests a minute and 10 per 10 seconds by default (both documented limits)', async () => {
    const fake = await start({ products: 80 });
    const connection = connect(fake);
    const abort = new AbortController();
    const ctx = createDriverContext({
      driver: parasut,
      connection: 'default-limit',
      baseUrl: fake.baseUrl,
      settings: { ...connection.settings, pageSize: '1' },
      secrets: connection.secrets,
      signal: abort.signal,
    });
    cleanups.push(() => ctx.close());
    expect(parasut.rateLimit).toEqual({ requests: 10, perMs: 10_000 });
    const pull = pullAll(parasut, ctx);
    pull.catch(() => undefined);
    for (let waited = 0; fake.requests.length < 10 && waited < 5000; waited += 20) await sleep(20);
    await sleep(500);
    expect(fake.requests).toHaveLength(10);
    abort.abort();
    await expect(pull).rejects.toThrow();
  });
});
