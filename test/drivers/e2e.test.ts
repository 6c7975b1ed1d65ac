import { describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import ExcelJS from 'exceljs';
import { ConfigStore } from '../../src/config/config.js';
import type { RunSummary } from '../../src/model/run.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { json, runCli } from '../support/cli.js';
import type { CliResult } from '../support/cli.js';
import { barcodeFor, turkishName } from '../fakes/common.js';
import type { FakeErp } from '../fakes/common.js';
import { bizimhesapToken, startBizimhesapFake } from '../fakes/bizimhesap.js';
import type { BizimhesapFake, BizimhesapKnobs } from '../fakes/bizimhesap.js';
import { entegraCatalog, startEntegraFake } from '../fakes/entegra.js';
import type { EntegraKnobs } from '../fakes/entegra.js';
import { LOGO_LOGIN, logoRestConnection, startLogoRestFake, startLogoSqlFake } from '../fakes/logo.js';
import type { LogoTables } from '../fakes/logo.js';
import { MIKRO_LOGIN, startMikroSqlFake } from '../fakes/mikro.js';
import type { MikroTables } from '../fakes/mikro.js';
import { NETSIS_LOGIN, netsisRestConnection, startNetsisRestFake, startNetsisSqlFake } from '../fakes/netsis.js';
import type { NetsisTables } from '../fakes/netsis.js';
import { parasutCatalog, startParasutFake } from '../fakes/parasut.js';
import type { ParasutKnobs } from '../fakes/parasut.js';
import { sentosCredentials, startSentosFake } from '../fakes/sentos.js';
import type { SentosFake } from '../fakes/sentos.js';
import type { SqlFake } from '../fakes/sql.js';
import { startTdsServer } from '../fakes/tds.js';
import type { ConnectionPreview } from '../../src/engine/preview.js';

/**
 * Issue 3, end to end: for every driver, `erp-sync run` through the built CLI
 * (its own process and ERP_SYNC_HOME) from the driver's fake ERP, or a real
 * CSV / XLSX file, into the sandbox marketplace. The marketplace must end up
 * holding exactly the ERP's valid catalog, with every value as the ERP served
 * it; a second run pushes nothing; a third pushes exactly what changed.
 *
 * Expected offers are computed here from each fake's own catalog data, never
 * through a driver's mapRecord.
 */

const TOKEN = 'e2e-marketplace-token-9';
const PASSPHRASE = 'e2e-parola-Şifre-1';

/** An offer as the marketplace should hold it. `name` may be a matcher (variants carry the parent's name). */
interface CatalogOffer {
  barcode: string;
  sku: string;
  name: unknown;
  price: string;
  stock: number;
  vatRate: number;
  currency: string;
  active: boolean;
  priceIncludesVat: boolean;
}

type OfferView = Omit<CatalogOffer, 'barcode'>;

interface Expectation {
  /** The valid offers by barcode: a barcode present, with a right GTIN check digit, and unique in the catalog. */
  offers: Map<string, OfferView>;
  /** Catalog entries that must be reported invalid (both of a duplicated pair count). */
  invalid: number;
}

/** The GTIN check digit, computed here rather than with the engine's validator. */
function gtinCheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += Number(body[body.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10;
}

/** A barcode the engine accepts: present, not a number Excel wrote in scientific notation, and a right check digit where it has a GTIN's length. */
function usableBarcode(barcode: string): boolean {
  if (barcode === '' || /^\d+([.,]\d+)?E\+?\d+$/i.test(barcode)) return false;
  if (!/^\d+$/.test(barcode) || ![8, 12, 13, 14].includes(barcode.length)) return true;
  return gtinCheckDigit(barcode.slice(0, -1)) === Number(barcode.at(-1));
}

function expectation(catalog: readonly CatalogOffer[]): Expectation {
  const seen = new Map<string, number>();
  for (const offer of catalog) seen.set(offer.barcode, (seen.get(offer.barcode) ?? 0) + 1);
  const valid = catalog.filter((offer) => usableBarcode(offer.barcode) && seen.get(offer.barcode) === 1);
  return { offers: new Map(valid.map(({ barcode, ...view }) => [barcode, view])), invalid: catalog.length - valid.length };
}

/** "100.9", 1298.25 → "100.90", "1298.25". */
const money = (value: string | number) => Number(value).toFixed(2);
/** "2.234,40" (Turkish) → "2234.40". */
const turkishMoney = (value: string) => money(value.replace(/\./g, '').replace(',', '.'));
const lira = (currency: string) => (['TL', 'TRL', 'YTL'].includes(currency) ? 'TRY' : currency);

function marketplaceView(marketplace: SandboxMarketplace): Map<string, OfferView> {
  return new Map(
    [...marketplace.offers].map(([barcode, o]) => [
      barcode,
      { sku: o.sku, name: o.name, price: o.price, stock: o.stock, vatRate: o.vatRate, currency: o.currency, active: o.active, priceIncludesVat: o.priceIncludesVat },
    ]),
  );
}

/** The fake's own list of offers must be what this file read from its catalog, so the expectation covers every offer it serves. */
function expectSameBarcodes(fake: FakeErp, catalog: readonly CatalogOffer[]): void {
  expect(catalog.map((o) => o.barcode).sort()).toEqual([...fake.expectedBarcodes].sort());
}

/** The test's own onTestFinished: the tests run concurrently, so cleanups go through their context. */
type Finally = TestContext['onTestFinished'];

interface Agent {
  marketplace: SandboxMarketplace;
  run(): Promise<{ result: CliResult; summary: RunSummary }>;
  /** The run's invalid items, read from the agent's database. */
  invalid(runId: number | null): Array<{ code: string; barcode: string | null }>;
  /** Points the connection at another server, as if the ERP's catalog had changed behind the same address. */
  repoint(baseUrl: string): void;
  /** Any other command, with the connection's environment. */
  cli(...args: string[]): Promise<CliResult>;
}

interface AgentOptions {
  driver: string;
  baseUrl?: string;
  settings: Record<string, string>;
  /** Secrets as ERP_SYNC_SHOP_* variables. With the env store they are there at every run; with the file store only at connect. */
  secrets?: Record<string, string>;
  store?: 'env' | 'file';
  /** Connect without the connection test (which would use up the ERP's first token). */
  noTest?: boolean;
}

/** A sandbox marketplace, an empty ERP_SYNC_HOME, and the connections "marketplace" and "shop" made with `erp-sync connect`. */
async function startAgent(options: AgentOptions, onFinished: Finally): Promise<Agent> {
  const home = mkdtempSync(join(tmpdir(), 'erp-sync-e2e-'));
  const marketplace = await new SandboxMarketplace({ token: TOKEN }).start();
  let db: Database.Database | undefined;
  onFinished(async () => {
    db?.close();
    await marketplace.close();
    rmSync(home, { recursive: true, force: true });
  });
  const store = options.store ?? 'env';
  const base = { ERP_SYNC_HOME: home, ERP_SYNC_MARKETPLACE_TOKEN: TOKEN, NO_COLOR: '1', LANG: 'C', ...(store === 'file' ? { ERP_SYNC_PASSPHRASE: PASSPHRASE } : {}) };
  const connectEnv = { ...base, ...options.secrets };
  const runEnv = store === 'env' ? connectEnv : base;
  const engine = { retries: '1', retryMinDelayMs: '5', rateLimit: '100/1s', ...options.settings };
  const setup = [
    await runCli(['connect', 'marketplace', '--yes', '--base-url', marketplace.url, '--set', 'retries=1', '--set', 'retryMinDelayMs=5'], connectEnv),
    await runCli(
      [
        'connect', options.driver, '--name', 'shop', '--yes', '--secret-store', store,
        ...(options.baseUrl ? ['--base-url', options.baseUrl] : []),
        ...Object.entries(engine).flatMap(([key, value]) => ['--set', `${key}=${value}`]),
        ...(options.noTest ? ['--no-test'] : []),
      ],
      connectEnv,
    ),
  ];
  for (const result of setup) expect(result.code, result.stdout + result.stderr).toBe(0);
  return {
    marketplace,
    async run() {
      const result = await runCli(['run', '--connection', 'shop', '--json'], runEnv);
      return { result, summary: json<{ runs: RunSummary[] }>(result).runs[0]! };
    },
    invalid(runId) {
      db ??= new Database(join(home, 'erp-sync.db'), { readonly: true, fileMustExist: true });
      return db.prepare(`SELECT code, barcode FROM events WHERE run_id = ? AND outcome = 'invalid' ORDER BY id`).all(runId) as Array<{ code: string; barcode: string | null }>;
    },
    repoint(baseUrl) {
      const config = new ConfigStore(home);
      config.saveConnection({ ...config.connection('shop')!, baseUrl });
    },
    cli: (...args) => runCli(args, runEnv),
  };
}

/** The first run: exit 0, the valid catalog created, everything else reported invalid, and the marketplace holding exactly the catalog. */
async function expectFirstRun(agent: Agent, expected: Expectation): Promise<RunSummary> {
  const { result, summary } = await agent.run();
  expect(result.code, result.stderr).toBe(0);
  expect(summary).toMatchObject({
    status: 'succeeded', pullComplete: true, invalid: expected.invalid, new: expected.offers.size,
    pushed: expected.offers.size, created: expected.offers.size, rejected: 0, failed: 0,
  });
  expect(expected.offers.size).toBeGreaterThanOrEqual(4);
  expect(marketplaceView(agent.marketplace)).toEqual(expected.offers);
  return summary;
}

/** Nothing changed in the ERP: nothing is pushed. */
async function expectQuietRun(agent: Agent, expected: Expectation): Promise<RunSummary> {
  const applied = agent.marketplace.stats.offersApplied;
  const { result, summary } = await agent.run();
  expect(result.code, result.stderr).toBe(0);
  expect(summary).toMatchObject({ status: 'succeeded', pushed: 0, new: 0, changed: 0, vanished: 0, unchanged: expected.offers.size, invalid: expected.invalid });
  expect(agent.marketplace.stats.offersApplied).toBe(applied);
  return summary;
}

/** A run after the ERP changed: exactly the barcodes in `changed` are written to the marketplace, and it ends holding `expected`. */
async function expectChangeRun(agent: Agent, changed: string[], expected: Map<string, OfferView>): Promise<RunSummary> {
  const before = new Map(agent.marketplace.stats.applicationsPerBarcode);
  const { result, summary } = await agent.run();
  expect(result.code, result.stderr).toBe(0);
  expect(summary).toMatchObject({ status: 'succeeded', pushed: changed.length, failed: 0, rejected: 0 });
  const written = [...agent.marketplace.stats.applicationsPerBarcode].filter(([barcode, n]) => n > (before.get(barcode) ?? 0)).map(([barcode]) => barcode);
  expect(written.sort()).toEqual([...changed].sort());
  expect(marketplaceView(agent.marketplace)).toEqual(expected);
  expect(agent.marketplace.maxApplicationsPerKey()).toBe(1);
  return summary;
}

/** The offer that vanished from the ERP: kept, with stock 0 and inactive. */
function vanished(offers: Map<string, OfferView>, barcode: string): Map<string, OfferView> {
  const offer = offers.get(barcode);
  expect(offer, `${barcode} was an offer`).toBeDefined();
  return new Map(offers).set(barcode, { ...offer!, stock: 0, active: false });
}

/** The run's invalid items by code, each with its barcode ('' for none). */
function invalidCodes(agent: Agent, runId: number | null): Map<string, string[]> {
  const codes = new Map<string, string[]>();
  for (const { code, barcode } of agent.invalid(runId)) codes.set(code, [...(codes.get(code) ?? []), barcode ?? '']);
  return codes;
}

function expectDuplicateAndMissingReported(agent: Agent, runId: number | null, duplicate: string): void {
  const codes = invalidCodes(agent, runId);
  expect(codes.get('BARCODE_DUPLICATE')).toEqual([duplicate, duplicate]);
  expect(codes.get('BARCODE_MISSING')).toEqual(['']);
}

// Up to five of these run at once, each starting several CLI processes: two busy cores need more than the default minute.
describe.concurrent('erp-sync run, end to end, from each ERP driver into the marketplace', { timeout: 180_000 }, () => {
  it('entegra: variants as their own offers, TRL as TRY, a missing barcode, and a token that expires mid-run', async ({ onTestFinished }) => {
    // (With variants, the duplicateBarcode knob gives product 1 the barcode of product 0's parent, which is no offer: no duplicate to see here.)
    const knobs: EntegraKnobs = { products: 42, variants: true, missingBarcode: true, tokenExpiresAfter: 2 };
    const fake = await startEntegraFake(knobs);
    onTestFinished(() => fake.close());
    const catalog = entegraOffers(knobs);
    expectSameBarcodes(fake, catalog);
    const expected = expectation(catalog);

    const agent = await startAgent({
      driver: 'entegra', baseUrl: fake.baseUrl, settings: { email: fake.email, priceIncludesVat: 'false' }, secrets: { ERP_SYNC_SHOP_PASSWORD: fake.password }, noTest: true,
    }, onTestFinished);
    const first = await expectFirstRun(agent, expected);
    expect(invalidCodes(agent, first.runId).get('BARCODE_MISSING')).toEqual(['']);
    // The first token stopped after two pages; the run refreshed it and carried on.
    expect(fake.requests.some((r) => r.kind === 'catalog' && r.status === 401)).toBe(true);
    expect(fake.requests.filter((r) => r.kind === 'auth').map((r) => [r.url, r.status])).toEqual([
      ['/api/user/token/obtain/', 201],
      ['/api/user/token/refresh/', 200],
    ]);
    await expectQuietRun(agent, expected);

    // The last product (no variants) is removed from Entegra.
    const smaller = await startEntegraFake({ ...knobs, products: 41 });
    onTestFinished(() => smaller.close());
    agent.repoint(smaller.baseUrl);
    const gone = barcodeFor(41);
    const summary = await expectChangeRun(agent, [gone], vanished(expected.offers, gone));
    expect(summary).toMatchObject({ vanished: 1, unchanged: expected.offers.size - 1 });
  });

  it('parasut: the rotated refresh token is written back to the file store and starts the next run', async ({ onTestFinished }) => {
    const knobs: ParasutKnobs = { products: 59, duplicateBarcode: true, missingBarcode: true };
    const fake = await startParasutFake(knobs);
    onTestFinished(() => fake.close());
    const catalog = parasutOffers(knobs);
    expectSameBarcodes(fake, catalog);
    const expected = expectation(catalog);

    const agent = await startAgent({
      driver: 'parasut',
      baseUrl: fake.baseUrl,
      settings: { companyId: String(fake.companyId), clientId: fake.clientId, username: fake.username, priceIncludesVat: 'false' },
      secrets: { ERP_SYNC_SHOP_CLIENT_SECRET: fake.clientSecret, ERP_SYNC_SHOP_PASSWORD: fake.password },
      store: 'file',
    }, onTestFinished);
    // The connection test logged in with the password; from then on the saved refresh token is used.
    const afterConnect = fake.currentRefreshToken;
    expect(grants(fake.requests)).toEqual([{ grant_type: 'password', refresh_token: null }]);

    const first = await expectFirstRun(agent, expected);
    expectDuplicateAndMissingReported(agent, first.runId, barcodeFor(0));
    const afterFirst = fake.currentRefreshToken;
    await expectQuietRun(agent, expected);
    // Each run renewed with the refresh token the one before it saved, and never sent the password.
    expect(grants(fake.requests)).toEqual([
      { grant_type: 'password', refresh_token: null },
      { grant_type: 'refresh_token', refresh_token: afterConnect },
      { grant_type: 'refresh_token', refresh_token: afterFirst },
    ]);
    expect(fake.currentRefreshToken).not.toBe(afterFirst);

    // The last product is removed; this Paraşüt has never seen the saved refresh token, so the run falls back to the password.
    const smaller = await startParasutFake({ ...knobs, products: 58 });
    onTestFinished(() => smaller.close());
    agent.repoint(smaller.baseUrl);
    const gone = barcodeFor(58);
    await expectChangeRun(agent, [gone], vanished(expected.offers, gone));
    expect(grants(smaller.requests).map((g) => g.grant_type)).toEqual(['refresh_token', 'password']);
  });

  it('sentos: Turkish-formatted prices, stock summed over warehouses, variants, a duplicate and a missing barcode', async ({ onTestFinished }) => {
    const fake = await startSentosFake({ products: 35, variants: true, duplicateBarcode: true, missingBarcode: true });
    onTestFinished(() => fake.close());
    const catalog = sentosOffers(fake);
    expectSameBarcodes(fake, catalog);
    const expected = expectation(catalog);

    const agent = await startAgent({
      driver: 'sentos',
      baseUrl: fake.baseUrl,
      settings: { pageSize: '10', priceIncludesVat: 'true' },
      secrets: { ERP_SYNC_SHOP_API_KEY: sentosCredentials.apiKey, ERP_SYNC_SHOP_API_SECRET: sentosCredentials.apiSecret },
    }, onTestFinished);
    const first = await expectFirstRun(agent, expected);
    expect(fake.requests.filter((r) => r.kind === 'catalog' && r.url.includes('size=10')).length).toBeGreaterThanOrEqual(4);
    expectDuplicateAndMissingReported(agent, first.runId, barcodeFor(1));
    await expectQuietRun(agent, expected);

    // One product's price and one warehouse's stock change in Sentos.
    const product = fake.products.find((p) => p.barcode === barcodeFor(10))!;
    product.sale_price = '3.456,78';
    product.stocks[1]!.stock = 40;
    const changed = expectation(sentosOffers(fake)).offers;
    expect(changed.get(barcodeFor(10))).toMatchObject({ price: '3456.78', stock: 10 % 7 + 40 });
    const summary = await expectChangeRun(agent, [barcodeFor(10)], changed);
    expect(summary).toMatchObject({ changed: 1, updated: 1, vanished: 0 });
  });

  it('bizimhesap: the whole catalog in one streamed answer, variant rows, a duplicate and a missing barcode', async ({ onTestFinished }) => {
    const knobs: BizimhesapKnobs = { products: 66, variants: true, duplicateBarcode: true, missingBarcode: true, chunkProducts: 10 };
    const fake = await startBizimhesapFake(knobs);
    onTestFinished(() => fake.close());
    const catalog = bizimhesapOffers(fake);
    expectSameBarcodes(fake, catalog);
    const expected = expectation(catalog);

    const agent = await startAgent({ driver: 'bizimhesap', baseUrl: fake.baseUrl, settings: { priceIncludesVat: 'true' }, secrets: { ERP_SYNC_SHOP_TOKEN: bizimhesapToken } }, onTestFinished);
    const first = await expectFirstRun(agent, expected);
    expectDuplicateAndMissingReported(agent, first.runId, barcodeFor(1));
    await expectQuietRun(agent, expected);

    // The last product (a variant row) is removed from Bizimhesap.
    const smaller = await startBizimhesapFake({ ...knobs, products: 65 });
    onTestFinished(() => smaller.close());
    agent.repoint(smaller.baseUrl);
    const gone = barcodeFor(65);
    await expectChangeRun(agent, [gone], vanished(expected.offers, gone));
  });

  // The on-premise ERPs' SQL Server is a fake database behind a TDS listener: the CLI reads it through the real mssql and tedious.
  it('logo over SQL Server: test, preview with the rows read, the price in force and the all-warehouses stock, a changed price and a removed card', async ({ onTestFinished }) => {
    const fake = startLogoSqlFake({ products: 31, duplicateBarcode: true, missingBarcode: true });
    const catalog = logoOffers(fake.tables);
    expectSameBarcodes(fake, catalog);
    const expected = expectation(catalog);
    const agent = await startSqlAgent(fake, 'logo', { database: LOGO_LOGIN.database, user: LOGO_LOGIN.user, firm: '1', period: '1', pageSize: '10' }, LOGO_LOGIN.password, onTestFinished);

    const shown = await expectPreview(agent, barcodeFor(3));
    // The rows as Logo keeps them: a second barcode line, the expired, customer's, box and purchase prices beside the one in force, every warehouse.
    expect(shown.raw).toMatchObject({ item: { CODE: 'MLZ-00004', ACTIVE: 0 }, barcodes: expect.arrayContaining([expect.objectContaining({ LINENR: 2 })]) });
    expect((shown.raw as { prices: unknown[] }).prices.length).toBeGreaterThan(1);
    expect((shown.raw as { stock: Array<{ INVENNO: number }> }).stock.map((row) => row.INVENNO)).toEqual([-1, 0, 1]);
    expect(shown.normalized).toMatchObject({ price: expected.offers.get(barcodeFor(3))!.price, stock: expected.offers.get(barcodeFor(3))!.stock, priceIncludesVat: true });

    const first = await expectFirstRun(agent, expected);
    expectDuplicateAndMissingReported(agent, first.runId, barcodeFor(0));
    await expectQuietRun(agent, expected);

    // In Logo: a new sales price for card 5, and the last card deleted.
    const card = fake.tables.items.find((i) => i.CODE === 'MLZ-00005')!;
    fake.tables.prices.find((p) => p.CARDREF === card.LOGICALREF && p.PTYPE === 2 && p.PRICE > 100 && p.UOMREF === 51 && !p.CLIENTCODE)!.PRICE = 777.5;
    const last = fake.tables.items.findLast((i) => i.CARDTYPE !== 10)!;
    fake.tables.items.splice(fake.tables.items.indexOf(last), 1);
    const after = expectation(logoOffers(fake.tables)).offers;
    expect(after.get(barcodeFor(4))).toMatchObject({ price: '777.50' });
    after.set(barcodeFor(30), expected.offers.get(barcodeFor(30))!);
    await expectChangeRun(agent, [barcodeFor(4), barcodeFor(30)], vanished(after, barcodeFor(30)));
  });

  it('netsis over SQL Server: names repaired from a Western code page, every barcode slot, the depot-0 total, a card locked for sales', async ({ onTestFinished }) => {
    const fake = startNetsisSqlFake({ products: 24, westernCodePage: true, missingBarcode: true });
    const catalog = netsisOffers(fake.tables);
    expectSameBarcodes(fake, catalog);
    const expected = expectation(catalog);
    const agent = await startSqlAgent(
      fake, 'netsis', { database: NETSIS_LOGIN.database, user: NETSIS_LOGIN.user, fixTurkish: 'true', priceIncludesVat: 'false', pageSize: '10' }, NETSIS_LOGIN.password, onTestFinished,
    );
    // Card 11 keeps its barcode in TBLSTOKBAR only.
    const shown = await expectPreview(agent, barcodeFor(10));
    expect(shown.raw).toMatchObject({ card: { STOK_KODU: 'STK-00011', BARKOD1: '' }, barcodes: [{ BARKOD: barcodeFor(10) }] });
    expect(shown.name).toBe(turkishName(10));
    await expectFirstRun(agent, expected);
    await expectQuietRun(agent, expected);
  });

  it('mikro v16 over SQL Server: the master barcode, list 1 (KDV dahil), Mikro\'s own KDV rate and quantity on hand', async ({ onTestFinished }) => {
    const fake = startMikroSqlFake({ products: 27, version: 16, duplicateBarcode: true });
    const catalog = mikroOffers(fake.tables);
    expectSameBarcodes(fake, catalog);
    const expected = expectation(catalog);
    const agent = await startSqlAgent(fake, 'mikro', { database: MIKRO_LOGIN.database, user: MIKRO_LOGIN.user, pageSize: '10' }, MIKRO_LOGIN.password, onTestFinished);
    const shown = await expectPreview(agent, barcodeFor(3));
    expect(shown.raw).toMatchObject({ item: { sto_kod: 'M000004', VAT_PERCENT: 10, STOCK_QTY: 9 }, list: { sfl_sirano: 1, sfl_kdvdahil: 1 } });
    await expectFirstRun(agent, expected);
    await expectQuietRun(agent, expected);
  });

  it('logo and netsis through their REST services: connect, test, preview and run as over SQL', async ({ onTestFinished }) => {
    const logo = await startLogoRestFake({ products: 23 });
    onTestFinished(() => logo.close());
    const { settings: logoSettings, secrets: logoSecrets } = logoRestConnection(logo);
    const logoAgent = await startAgent({ driver: 'logo', baseUrl: logo.baseUrl, settings: logoSettings!, secrets: { ERP_SYNC_SHOP_REST_PASSWORD: logoSecrets!.restPassword! } }, onTestFinished);
    expect((await expectPreview(logoAgent, barcodeFor(3))).raw).toMatchObject({ item: { CODE: 'MLZ-00004' } });
    await expectFirstRun(logoAgent, expectation(logoOffers(logo.tables)));

    const netsis = await startNetsisRestFake({ products: 23 });
    onTestFinished(() => netsis.close());
    const { settings: netsisSettings, secrets: netsisSecrets } = netsisRestConnection(netsis, undefined, { priceIncludesVat: 'false' });
    const netsisAgent = await startAgent({ driver: 'netsis', baseUrl: netsis.baseUrl, settings: netsisSettings!, secrets: { ERP_SYNC_SHOP_REST_PASSWORD: netsisSecrets!.restPassword! } }, onTestFinished);
    expect((await expectPreview(netsisAgent, barcodeFor(3))).raw).toMatchObject({ StokTemelBilgi: { Stok_Kodu: 'STK-00004' } });
    // NetOpenX sends BARKOD1..3 only: a card whose barcode is in TBLSTOKBAR alone has none through it.
    await expectFirstRun(netsisAgent, expectation(netsisOffers({ ...netsis.tables, extraBarcodes: [] })));
    // Every licence seat a command took was given back.
    expect(netsis.seatsHeld).toBe(0);
  });

  it('csv: a UTF-8 file with a BOM, semicolons, Turkish headers and decimal commas, edited between runs', async ({ onTestFinished }) => {
    const dir = mkdtempSync(join(tmpdir(), 'erp-sync-e2e-csv-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'stok listesi.csv');
    const rows = fileRows();
    writeFileSync(path, csvText(rows));
    const expected = expectation(rows.map(fileOffer));

    const agent = await startAgent({ driver: 'csv', settings: { path, priceIncludesVat: 'true' } }, onTestFinished);
    const first = await expectFirstRun(agent, expected);
    expectDuplicateAndMissingReported(agent, first.runId, gtin('869123400009'));
    expect(invalidCodes(agent, first.runId).get('BARCODE_SCIENTIFIC_NOTATION')).toEqual(['8,69E+12']);
    await expectQuietRun(agent, expected);

    // The ERP exports again: one price changed, one product gone.
    const [changedRow, goneRow] = [rows[1]!, rows[5]!];
    const edited = rows.filter((row) => row !== goneRow).map((row) => (row === changedRow ? { ...row, price: '92,75' } : row));
    writeFileSync(path, csvText(edited));
    const after = new Map(expected.offers).set(changedRow.barcode, expectation(edited.map(fileOffer)).offers.get(changedRow.barcode)!);
    expect(after.get(changedRow.barcode)).toMatchObject({ price: '92.75' });
    const summary = await expectChangeRun(agent, [changedRow.barcode, goneRow.barcode], vanished(after, goneRow.barcode));
    expect(summary).toMatchObject({ changed: 1, vanished: 1 });
  });

  it('csv: an XLSX workbook written by Excel (exceljs), numbers as numbers, a title above the headers', async ({ onTestFinished }) => {
    const dir = mkdtempSync(join(tmpdir(), 'erp-sync-e2e-xlsx-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'ürünler.xlsx');
    const rows = fileRows();
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Ürünler');
    sheet.addRow(['Stok Listesi — 22.11.2026']);
    sheet.addRow(fileHeaders);
    for (const row of rows) {
      // Excel keeps a numeric barcode as a number unless the cell is text.
      const barcode = row.barcode === '' ? null : /^\d+$/.test(row.barcode) ? Number(row.barcode) : row.barcode;
      sheet.addRow([barcode, row.sku, row.name, Number(turkishMoney(row.price)), Number(row.stock), Number(row.vat), row.currency]);
    }
    await workbook.xlsx.writeFile(path);
    const expected = expectation(rows.map(fileOffer));

    const agent = await startAgent({ driver: 'csv', settings: { path, priceIncludesVat: 'true' } }, onTestFinished);
    await expectFirstRun(agent, expected);
    await expectQuietRun(agent, expected);
  });
});

/** A TDS listener in front of a fake ERP database, and an agent whose connection "shop" reads it (encrypt=false: the listener speaks no TLS); `test` passes. */
async function startSqlAgent(fake: SqlFake, driver: string, settings: Record<string, string>, password: string, onFinished: Finally): Promise<Agent> {
  const tds = await startTdsServer(fake);
  onFinished(() => tds.close());
  const agent = await startAgent({ driver, settings: { server: '127.0.0.1', port: String(tds.port), encrypt: 'false', ...settings }, secrets: { ERP_SYNC_SHOP_PASSWORD: password } }, onFinished);
  const test = await agent.cli('test', 'shop');
  expect(test.code, test.stderr).toBe(0);
  expect(test.stdout).toContain('shop: the connection works.');
  return agent;
}

/** `erp-sync preview` of one barcode: the record read, the values after the mapping, normalized and as pushed; nothing is sent. */
async function expectPreview(agent: Agent, barcode: string): Promise<ConnectionPreview['items'][number]> {
  const result = await agent.cli('preview', '--connection', 'shop', '--barcode', barcode, '--json');
  expect(result.code, result.stderr).toBe(0);
  const item = json<{ previews: ConnectionPreview[] }>(result).previews[0]!.items[0]!;
  expect(item).toMatchObject({ barcode, outcome: 'push' });
  expect(item.pushed).toEqual(item.normalized);
  const text = await agent.cli('preview', '--connection', 'shop', '--barcode', barcode);
  expect(text.stdout).toMatch(/^ {2}read +\{/m);
  expect(agent.marketplace.offers.size).toBe(0);
  return item;
}

/**
 * What Logo serves, read from the fake's tables: the item cards of the types sold; the main unit's barcode of the lowest line;
 * the one general sales price of the main unit in force on the server's date; the all-warehouses stock (INVENNO -1).
 */
function logoOffers(tables: LogoTables): CatalogOffer[] {
  const today = tables.now.slice(0, 10);
  const currency = (type: number) => (type === 0 ? 'TRY' : lira(tables.currencies.find((c) => c.CURTYPE === type)!.CURCODE));
  return tables.items.filter((item) => [1, 2, 3, 12].includes(item.CARDTYPE)).map((item) => {
    const main = tables.unitLines.find((u) => u.UNITSETREF === item.UNITSETREF && u.MAINUNIT === 1)!.LOGICALREF;
    const barcodes = tables.barcodes.filter((b) => b.ITEMREF === item.LOGICALREF && b.UNITLINEREF === main).sort((a, b) => a.LINENR - b.LINENR);
    const prices = tables.prices.filter(
      (p) => p.CARDREF === item.LOGICALREF && p.PTYPE === 2 && !p.CLIENTCODE && p.UOMREF === main && (p.BEGDATE ?? '').slice(0, 10) <= today && (p.ENDDATE ?? '9999').slice(0, 10) >= today,
    );
    expect(prices, item.CODE).toHaveLength(1);
    const price = prices[0]!;
    return {
      barcode: barcodes[0]?.BARCODE ?? '', sku: item.CODE, name: item.NAME, price: money(price.PRICE),
      stock: tables.totals.find((t) => t.STOCKREF === item.LOGICALREF && t.INVENNO === -1)!.ONHAND,
      vatRate: item.VAT, currency: currency(price.CURRENCY), active: item.ACTIVE === 0, priceIncludesVat: price.INCVAT === 1,
    };
  });
}

/**
 * What Netsis serves: each stock card on the first of BARKOD1..3 that is filled, else its first TBLSTOKBAR barcode; SATIS_FIAT1 in
 * lira; the depot-0 row's quantity; locked for sales is inactive. Names as they were before a Western code page mangled them.
 */
function netsisOffers(tables: NetsisTables): CatalogOffer[] {
  return tables.cards.map((card, i) => {
    const extra = (tables.extraBarcodes ?? []).filter((b) => b.STOK_KODU === card.STOK_KODU).map((b) => b.BARKOD).sort();
    const total = tables.stock.find((row) => row.STOK_KODU === card.STOK_KODU && row.DEPO_KODU === 0)!;
    return {
      barcode: [card.BARKOD1, card.BARKOD2, card.BARKOD3].find((b) => b) ?? extra[0] ?? '', sku: card.STOK_KODU, name: turkishName(i), price: money(card.SATIS_FIAT1),
      stock: total.TOP_GIRIS_MIK - total.TOP_CIKIS_MIK, vatRate: card.KDV_ORANI, currency: 'TRY', active: card.KILIT !== 'E' && card.SATISKILIT !== 'E', priceIncludesVat: false,
    };
  });
}

/** What Mikro serves: the master barcode; list 1's general price (depot 0, no payment plan, not cancelled), KDV dahil as the list says; fn_VergiYuzde, fn_EldekiMiktar. */
function mikroOffers(tables: MikroTables): CatalogOffer[] {
  const list = tables.lists.find((l) => l.sfl_sirano === 1)!;
  return tables.cards.map((card) => {
    const prices = tables.prices.filter((p) => p.sfiyat_stokkod === card.sto_kod && p.sfiyat_listesirano === 1 && p.sfiyat_deposirano === 0 && p.sfiyat_odemeplan === 0 && p.sfiyat_iptal === 0);
    expect(prices, card.sto_kod).toHaveLength(1);
    return {
      barcode: tables.barcodes.find((b) => b.bar_stokkodu === card.sto_kod && b.bar_master === 1)?.bar_kodu ?? '', sku: card.sto_kod, name: card.sto_isim,
      price: money(prices[0]!.sfiyat_fiyati), stock: tables.onHand.filter((h) => h.sto_kod === card.sto_kod).reduce((sum, h) => sum + h.quantity, 0),
      vatRate: tables.vatPercents[card.sto_perakende_vergi]!, currency: 'TRY', active: !card.sto_pasif_fl && !card.sto_iptal && !card.sto_satis_dursun,
      priceIncludesVat: list.sfl_kdvdahil === 1,
    };
  });
}

/**
 * What Entegra serves, read from the fake's catalog: each variant is an offer, at its own price1 when it has one, else at the
 * product's price1 adjusted by its price difference; a product with variants is not an offer.
 */
function entegraOffers(knobs: EntegraKnobs): CatalogOffer[] {
  return entegraCatalog(knobs).products.flatMap((product) => {
    const field = (key: string) => String(product[key]);
    const variants = product.variatios as Array<Record<string, string>>;
    const shared = { vatRate: Number(field('kdv_id')), currency: lira(field('currencyType')), active: field('status') === '1', priceIncludesVat: false };
    if (variants.length === 0) {
      return [{ barcode: field('barcode'), sku: field('productCode'), name: field('name'), price: money(field('price1')), stock: Number(field('quantity')), ...shared }];
    }
    return variants.map((v) => {
      const own = Number(v.price1);
      const price = own > 0 ? own : Number(field('price1')) + (v.price_prefix === '-' ? -1 : 1) * Number(v.price || 0);
      return { barcode: v.barcode!, sku: v.productCode!, name: expect.stringContaining(field('name')), price: money(price), stock: Number(v.quantity), ...shared };
    });
  });
}

/** What Paraşüt serves: one offer per product; archived products inactive. */
function parasutOffers(knobs: ParasutKnobs): CatalogOffer[] {
  return parasutCatalog(knobs).products.map((p) => {
    const a = p.attributes as Record<string, string | number | boolean | null>;
    return {
      barcode: (a.barcode as string | null) ?? '', sku: String(a.code), name: a.name, price: money(a.list_price as number), stock: Number(a.stock_count),
      vatRate: Number(a.vat_rate), currency: lira(String(a.currency)), active: a.archived !== true, priceIncludesVat: false,
    };
  });
}

/** What Sentos serves: variants are the offers where a product has them, at the product's price; stock is the sum over warehouses; KDV 20 by default. */
function sentosOffers(fake: SentosFake): CatalogOffer[] {
  const total = (stocks: readonly { stock: number | string }[]) => stocks.reduce((sum, row) => sum + Number(row.stock), 0);
  return fake.products.flatMap((p) => {
    const shared = { price: turkishMoney(p.sale_price), vatRate: 20, currency: lira(p.currency), active: true, priceIncludesVat: true };
    if (!p.variants) return [{ barcode: p.barcode, sku: p.sku, name: p.name, stock: total(p.stocks), ...shared }];
    return p.variants.map((v) => ({ barcode: v.barcode, sku: v.sku, name: expect.stringContaining(p.name), stock: total(v.stocks), ...shared }));
  });
}

/** What Bizimhesap serves: every row is an offer, a variant row at its own variantPrice, or at the product's price when that is 0, "0" or "". */
function bizimhesapOffers(fake: BizimhesapFake): CatalogOffer[] {
  return Array.from({ length: fake.size }, (_, i) => {
    const p = fake.product(i);
    return {
      barcode: p.barcode, sku: p.code, name: p.variant ? expect.stringContaining(p.title) : p.title, price: money(Number(p.variantPrice) > 0 ? p.variantPrice : p.price),
      stock: p.quantity, vatRate: p.tax, currency: lira(p.currency), active: p.isActive === 1, priceIncludesVat: true,
    };
  });
}

/** A GTIN-13 with its check digit. */
function gtin(body: string): string {
  return body + gtinCheckDigit(body);
}

const fileHeaders = ['Barkod', 'Stok Kodu', 'Ürün Adı', 'Fiyat', 'Stok', 'KDV', 'Para Birimi'];

interface FileRow {
  barcode: string;
  sku: string;
  name: string;
  /** As a Turkish export writes it: "1.249,90". */
  price: string;
  stock: string;
  vat: string;
  currency: string;
}

/** Six good products, a barcode used twice, a row without a barcode, and one Excel wrote in scientific notation. */
function fileRows(): FileRow[] {
  return [
    { barcode: gtin('869123400001'), sku: 'STK-001', name: 'Işıklı Ayna Büyük', price: '1.249,90', stock: '12', vat: '20', currency: 'TL' },
    { barcode: gtin('869123400002'), sku: 'STK-002', name: 'İnce Çaydanlık', price: '89,5', stock: '0', vat: '10', currency: 'TRY' },
    { barcode: gtin('869123400003'), sku: 'STK-003', name: 'Şık Şemsiye; Özel Seri', price: '15', stock: '7', vat: '1', currency: 'TRL' },
    { barcode: gtin('869123400004'), sku: 'STK-004', name: 'Gümüş Güğüm', price: '2.000,00', stock: '3', vat: '20', currency: 'TL' },
    { barcode: gtin('869123400005'), sku: 'STK-005', name: 'Örgü Kazak "Doğal"', price: '349,99', stock: '25', vat: '10', currency: 'TL' },
    { barcode: gtin('869123400006'), sku: 'STK-006', name: 'Ütü Masası', price: '1.100,10', stock: '4', vat: '20', currency: 'TL' },
    { barcode: gtin('869123400009'), sku: 'STK-009', name: 'Kırmızı Çanta', price: '450,00', stock: '2', vat: '20', currency: 'TL' },
    { barcode: gtin('869123400009'), sku: 'STK-010', name: 'Kırmızı Çanta Küçük', price: '400,00', stock: '5', vat: '20', currency: 'TL' },
    { barcode: '', sku: 'STK-011', name: 'İpek Şal', price: '600,00', stock: '9', vat: '20', currency: 'TL' },
    { barcode: '8,69E+12', sku: 'STK-012', name: 'Çini Kupa', price: '59,90', stock: '3', vat: '20', currency: 'TL' },
  ];
}

function fileOffer(row: FileRow): CatalogOffer {
  return {
    barcode: row.barcode, sku: row.sku, name: row.name, price: turkishMoney(row.price), stock: Number(row.stock), vatRate: Number(row.vat),
    currency: lira(row.currency), active: true, priceIncludesVat: true,
  };
}

/** UTF-8 with a BOM, `;` between cells, CRLF line ends, quotes where a cell needs them: Turkish Excel's "CSV (noktalı virgülle ayrılmış)". */
function csvText(rows: readonly FileRow[]): string {
  const cell = (value: string) => (/[;"\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  const lines = [fileHeaders, ...rows.map((r) => [r.barcode, r.sku, r.name, r.price, r.stock, r.vat, r.currency])];
  return `\ufeff${lines.map((cells) => cells.map(cell).join(';')).join('\r\n')}\r\n`;
}

function grants(requests: FakeErp['requests']): Array<{ grant_type: string | null; refresh_token: string | null }> {
  return requests
    .filter((r) => r.kind === 'auth')
    .map((r) => new URLSearchParams(r.body))
    .map((form) => ({ grant_type: form.get('grant_type'), refresh_token: form.get('refresh_token') }));
}
