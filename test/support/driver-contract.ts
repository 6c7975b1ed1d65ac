/**
 * The driver contract suite: one set of vitest tests every driver must pass
 * against its fake ERP (test/fakes/<erp>.ts). test/drivers/contract.test.ts
 * runs it for every entry of the driver registry (drivers/index.ts), so a
 * driver cannot be registered without it:
 *
 *   describeDriverContract({
 *     driver: sentos,
 *     startFake: (knobs) => startSentosFake(knobs),
 *     connection: (fake, mistake) => ({
 *       settings: { ... },
 *       secrets: { apiKey: 'k', apiSecret: mistake === 'wrong-credentials' ? 'yanlış' : 's' },
 *     }),
 *     multiPageCatalog: 47,
 *     supports: { variants: true, paging: true, totals: true },
 *   });
 *
 * What the fake must do (see test/fakes/common.ts, whose `startFake` does most of it):
 * - return a `FakeErp`: `baseUrl`, `requests` (every request, with `at`, `kind`
 *   and the answered `status`), and `expectedBarcodes` (one entry per offer the
 *   catalog holds, '' for an offer without a barcode);
 * - honour the `FakeKnobs`: `products`, `variants`, `duplicateBarcode`,
 *   `missingBarcode`, `tokenExpiresAfter`, `faults` (applied to requests of
 *   kind `catalog` only, counted from 1 in arrival order) and `underDeliver`;
 * - tag logins and token refreshes as kind `auth`, product pages as `catalog`;
 * - accept the credentials `connection(fake)` returns and reject those of
 *   `connection(fake, 'wrong-credentials')`; with `supports.unknownTenant`,
 *   answer `connection(fake, 'unknown-tenant')` the way the ERP answers an
 *   unknown company or tenant id.
 *
 * A driver that reads a local file (`source: 'file'`) has a fake that writes
 * the file: `products`, `duplicateBarcode`, `missingBarcode` and a
 * `malformed` fault (a file that cannot be read) apply, and `close()`
 * removes it; the suite's HTTP checks do not apply to it.
 *
 * A driver that reads the ERP's SQL Server (`source: 'sql'`) has a fake SQL
 * Server (test/fakes/sql.ts): its `connector` replaces mssql in the context,
 * its `requests` are the statements it ran (logins as kind `auth`), and it
 * honours `sqlFaults` (a SQL Server error, a dropped connection, a statement
 * slower than the timeout, an answer missing a column) instead of `faults`.
 * For it the suite's HTTP checks are replaced by SQL ones: every statement a
 * read, the statement timeout the connection's, every session closed,
 * deadlocks, dropped connections and timeouts ridden out or failing the pull
 * (exit 75), and an unreachable server reached through the real mssql
 * (exit 75, naming it).
 *
 * The suite builds contexts with `createDriverContext`, with retries shortened
 * through the `retries`, `retryMinDelayMs` and `timeoutMs` settings, and checks:
 * the whole catalog arrives exactly once (also for an empty catalog, for
 * duplicate and missing barcodes, and for variants); `mapRecord` is pure; a
 * money setting that no ERP documents (priceIncludesVat) has no default and a
 * connection without it refuses before asking the ERP anything; a token
 * expiring mid-run is refreshed once and invisibly; a scaled-down
 * `rateLimit` (3/1s) is never exceeded and costs no more than ~10% over what
 * it allows; 429/5xx/timeouts/a truncated page are ridden out; a partial pull
 * (5xx storm, timeout storm, truncated page, malformed page, short delivery)
 * always throws; and each failure maps through `describeRunFailure` to the
 * right exit code (77 credentials, 78 unknown company or missing file, 75 the
 * rest) with a message naming the problem.
 *
 * A driver with two ways in (SQL and REST) runs the suite once for each, with
 * `label` telling them apart.
 *
 * `pullAll`, `contractContext` and `expectFailure` are exported for
 * driver-specific tests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createDriverContext } from '../../src/driver/context.js';
import type { Driver, DriverContext, ProductCandidate } from '../../src/driver/contract.js';
import { assertReadOnly } from '../../src/driver/sql.js';
import type { SqlConnector } from '../../src/driver/sql.js';
import { describeRunFailure } from '../../src/engine/failure.js';
import type { Failure } from '../../src/engine/failure.js';
import { WINDOW_SLACK_MS } from '../../src/http/limiter.js';
import type { FakeErp, FakeKnobs, RecordedRequest } from '../fakes/common.js';
import type { SqlFake, SqlFakeKnobs } from '../fakes/sql.js';

export type ConnectionMistake = 'wrong-credentials' | 'unknown-tenant';

export interface ContractConnection {
  settings?: Record<string, string>;
  secrets?: Record<string, string>;
}

export interface DriverContractOptions<F extends FakeErp = FakeErp> {
  driver: Driver;
  /** What the driver reads: an ERP's HTTP API (the default), a local file (the default for `driver.local`), or its SQL Server. */
  source?: 'http' | 'file' | 'sql';
  /** Tells apart two runs of the suite for one driver: `SQL access`, `REST access`. */
  label?: string;
  /** Starts the driver's fake server with the given knobs. */
  startFake(knobs: SqlFakeKnobs): F | Promise<F>;
  /**
   * Settings and secrets of a connection to `fake` (the suite adds `baseUrl`
   * and its retry/timeout/rate-limit settings). With `mistake`, a connection
   * that is wrong in exactly that way.
   */
  connection(fake: F, mistake?: ConnectionMistake): ContractConnection;
  /**
   * A product count that spans at least three pages and ends on a partial
   * page; with `supports.paging`, the pull must need more than 3 requests
   * (the rate-limit check runs at `rateLimit: 3/1s`).
   */
  multiPageCatalog: number;
  supports: {
    /** Products carry variants that become offers of their own. */
    variants?: boolean;
    /** The driver logs in for an access token that can expire in the middle of a run. */
    tokens?: boolean;
    /** The catalog comes in several pages (needed for the rate-limit check). */
    paging?: boolean;
    /** The ERP reports the catalog's size, so a short delivery is detectable. */
    totals?: boolean;
    /** A company or tenant id is part of the connection and can be wrong. */
    unknownTenant?: boolean;
  };
}

export interface PullResult {
  records: unknown[];
  candidates: ProductCandidate[];
  pages: number;
}

/** Settings that keep failing tests fast: two quick retries, a 1 s timeout. */
export const fastRetrySettings: Readonly<Record<string, string>> = { retries: '2', retryMinDelayMs: '5', timeoutMs: '1000' };

export interface ContractContext extends DriverContext {
  close(): Promise<void>;
  /** Secrets written back through `saveSecret`, in order. */
  readonly saved: Array<{ field: string; value: string }>;
  readonly warnings: string[];
}

/**
 * A driver context for tests: `settings` override `fastRetrySettings`;
 * `saveSecret` records what it was given and updates `secrets` in place, as
 * the real secret store would for the next read.
 */
export function contractContext(
  driver: Driver,
  baseUrl: string,
  connection: ContractConnection,
  extraSettings: Record<string, string> = {},
  sqlConnector?: SqlConnector,
): ContractContext {
  const secrets: Record<string, string> = { ...connection.secrets };
  const saved: Array<{ field: string; value: string }> = [];
  const warnings: string[] = [];
  const ctx = createDriverContext({
    driver,
    connection: 'contract',
    baseUrl,
    settings: { ...fastRetrySettings, ...connection.settings, ...extraSettings },
    secrets,
    saveSecret: async (field, value) => {
      saved.push({ field, value });
      secrets[field] = value;
    },
    warn: (message) => warnings.push(message),
    ...(sqlConnector ? { sqlConnector } : {}),
  });
  return Object.assign(ctx, { saved, warnings });
}

/** Runs a whole pull: every page through `mapRecord`. */
export async function pullAll(driver: Driver, ctx: DriverContext): Promise<PullResult> {
  const records: unknown[] = [];
  const candidates: ProductCandidate[] = [];
  let pages = 0;
  for await (const page of driver.pullPages(ctx)) {
    pages++;
    for (const record of page.records) {
      records.push(record);
      candidates.push(...driver.mapRecord(record, ctx));
    }
  }
  return { records, candidates, pages };
}

/** Awaits a failure and returns how the engine would report it. */
export async function expectFailure(promise: Promise<unknown>): Promise<Failure> {
  let failure: Failure | undefined;
  await promise.then(
    () => undefined,
    (error: unknown) => {
      failure = describeRunFailure(error);
    },
  );
  if (!failure) throw new Error('expected the operation to fail, but it completed');
  return failure;
}

/** Barcodes as a sorted multiset ('' for none), so duplicates and omissions both show. */
export function barcodeMultiset(values: ReadonlyArray<ProductCandidate['barcode']>): string[] {
  return values.map((b) => (b === undefined || b === null ? '' : String(b))).sort();
}

/** The most requests that arrived in any window of `windowMs` starting at a request. */
export function busiestWindow(requests: readonly Pick<RecordedRequest, 'at'>[], windowMs: number): number {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

/** Freezes a value and everything in it, so a function that changes its input throws. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const plainWordsForCredentials = /password|credential|api key|token|şifre/i;

export function describeDriverContract<F extends FakeErp>(options: DriverContractOptions<F>): void {
  const { driver, supports } = options;
  const source = options.source ?? (driver.local ? 'file' : 'http');
  const cleanups: Array<() => Promise<void>> = [];
  const connectorOf = (fake: F) => (fake as Partial<SqlFake>).connector;

  async function setup(knobs: SqlFakeKnobs = {}, mistake?: ConnectionMistake, extraSettings: Record<string, string> = {}) {
    const fake = await options.startFake(knobs);
    const connection = options.connection(fake, mistake);
    const ctx = contractContext(driver, fake.baseUrl, connection, extraSettings, connectorOf(fake));
    cleanups.push(async () => {
      await ctx.close();
      await fake.close();
    });
    return { fake, ctx, connection };
  }

  const secretValues = (connection: ContractConnection) => Object.values(connection.secrets ?? {}).filter((v) => v.length >= 4);

  describe(`${driver.id} driver contract${options.label ? ` (${options.label})` : ''}`, () => {
    afterEach(async () => {
      await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    });

    it('declares every field with an English and a Turkish label, secrets flagged', () => {
      expect(driver.fields.length).toBeGreaterThan(0);
      for (const field of driver.fields) {
        expect(field.label.trim(), field.name).not.toBe('');
        expect(field.labelTr.trim(), field.name).not.toBe('');
        if (/password|secret/i.test(field.name)) expect(field.secret, field.name).toBe(true);
      }
    });

    it('passes testConnection against a healthy ERP', async () => {
      const { ctx } = await setup({ products: 3 });
      await expect(driver.testConnection(ctx)).resolves.toBeUndefined();
    });

    it('pulls the whole catalog exactly once when it does not fill the last page', async () => {
      const { fake, ctx } = await setup({ products: options.multiPageCatalog });
      const result = await pullAll(driver, ctx);
      expect(fake.expectedBarcodes.length).toBeGreaterThanOrEqual(options.multiPageCatalog);
      expect(barcodeMultiset(result.candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
      if (supports.paging) expect(result.pages).toBeGreaterThanOrEqual(3);
      expect(result.candidates.every((c) => typeof c.name === 'string' && c.name.length > 0)).toBe(true);
      expect(result.candidates.some((c) => /[çğıİöşü]/.test(c.name ?? ''))).toBe(true);
    });

    it('maps records purely: the same record gives the same offers and is left untouched', async () => {
      const { ctx } = await setup({ products: options.multiPageCatalog, variants: supports.variants ?? false });
      const result = await pullAll(driver, ctx);
      const frozen = result.records.map((record) => deepFreeze(structuredClone(record)));
      expect(frozen.flatMap((record) => driver.mapRecord(record, { settings: ctx.settings }))).toEqual(result.candidates);
    });

    it('pulls an empty catalog as complete and empty', async () => {
      const { ctx } = await setup({ products: 0 });
      const result = await pullAll(driver, ctx);
      expect(result.candidates).toEqual([]);
    });

    it('hands duplicate and missing barcodes on to the validator unchanged', async () => {
      const { fake, ctx } = await setup({ products: 12, duplicateBarcode: true, missingBarcode: true });
      const result = await pullAll(driver, ctx);
      const barcodes = barcodeMultiset(result.candidates.map((c) => c.barcode));
      expect(barcodes).toEqual(barcodeMultiset(fake.expectedBarcodes));
      expect(barcodes).toContain('');
      const present = barcodes.filter((b) => b !== '');
      expect(new Set(present).size).toBeLessThan(present.length);
    });

    it.runIf(supports.variants)('turns each variant into an offer of its own', async () => {
      const { fake, ctx } = await setup({ products: options.multiPageCatalog, variants: true });
      const result = await pullAll(driver, ctx);
      expect(result.candidates.length).toBeGreaterThan(result.records.length);
      expect(barcodeMultiset(result.candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
    });

    const vatField = driver.fields.find((field) => field.name === 'priceIncludesVat');
    it.runIf(vatField !== undefined)('asks whether prices include VAT with no default, and refuses a connection that never chose: exit 78, naming the setting, asking the ERP nothing', async () => {
      expect(vatField).toMatchObject({ required: true, kind: 'choice', choices: ['true', 'false'] });
      expect(vatField!.default).toBeUndefined();
      const fake = await options.startFake({ products: 3 });
      const { priceIncludesVat: _chosen, ...settings } = options.connection(fake).settings ?? {};
      const ctx = contractContext(driver, fake.baseUrl, { ...options.connection(fake), settings }, {}, connectorOf(fake));
      cleanups.push(async () => {
        await ctx.close();
        await fake.close();
      });
      for (const failure of [await expectFailure(driver.testConnection(ctx)), await expectFailure(pullAll(driver, ctx))]) {
        expect(failure.exitCode).toBe(78);
        expect(failure.message).toContain('priceIncludesVat');
        expect(failure.hint).toMatch(/--set priceIncludesVat=true/);
      }
      expect(fake.requests).toEqual([]);
    });

    it('a file or an answer it cannot read: exit 75, says it is unreadable', async () => {
      const from = supports.paging ? 2 : 1;
      const { ctx } = await setup(
        source === 'sql' ? { products: options.multiPageCatalog, sqlFaults: [{ from, times: Infinity, kind: 'malformed' }] } : { products: options.multiPageCatalog, faults: [{ from, times: Infinity, kind: 'malformed' }] },
      );
      const failure = await expectFailure(pullAll(driver, ctx));
      expect(failure.code).toBe('ERP_MALFORMED_RESPONSE');
      expect(failure.exitCode).toBe(75);
    });

    it.runIf(source === 'file')('a file that is not there: exit 78, names it', async () => {
      const fake = await options.startFake({ products: 3 });
      const connection = options.connection(fake);
      await fake.close();
      const ctx = contractContext(driver, fake.baseUrl, connection);
      cleanups.push(() => ctx.close());
      for (const failure of [await expectFailure(driver.testConnection(ctx)), await expectFailure(pullAll(driver, ctx))]) {
        expect(failure.exitCode).toBe(78);
        expect(failure.message).toContain(String(connection.settings?.path));
      }
    });

    it.runIf(supports.tokens)('refreshes a token that expires mid-run once, invisibly, even when several requests hit the 401', async () => {
      const { fake, ctx } = await setup({ products: options.multiPageCatalog, tokenExpiresAfter: 1 });
      const result = await pullAll(driver, ctx);
      expect(barcodeMultiset(result.candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
      const rejected = fake.requests.filter((r) => r.kind === 'catalog' && r.status === 401);
      expect(rejected.length).toBeGreaterThanOrEqual(ctx.concurrency > 1 ? 2 : 1);
      expect(fake.requests.filter((r) => r.kind === 'auth')).toHaveLength(2);
    });

    it.runIf(supports.paging && source === 'http')('never exceeds the rate limit and loses no more than ~10% to it', async () => {
      const limit = 3;
      const windowMs = 1000;
      const { fake, ctx } = await setup({ products: options.multiPageCatalog }, undefined, { rateLimit: `${limit}/1s` });
      const result = await pullAll(driver, ctx);
      expect(barcodeMultiset(result.candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
      const requests = fake.requests;
      expect(requests.length, 'multiPageCatalog must need more requests than the scaled-down limit').toBeGreaterThan(limit);
      expect(busiestWindow(requests, windowMs)).toBeLessThanOrEqual(limit);
      // No idle window: each window takes the limit's length plus the limiter's 10 ms slack and an answer's time, for which
      // a loaded machine gets half a window in all; a limiter that waited a window too many would take longer.
      const fewestWindows = Math.ceil(requests.length / limit) - 1;
      const span = requests[requests.length - 1]!.at - requests[0]!.at;
      expect(span).toBeLessThanOrEqual(fewestWindows * (windowMs + WINDOW_SLACK_MS) + windowMs / 2);
    });

    describe.runIf(source === 'http')('rides out transient failures', () => {
      const transient: Array<[string, FakeKnobs['faults']]> = [
        ['429 with Retry-After', [{ from: 2, times: 1, kind: 'status', status: 429, retryAfter: '1' }]],
        ['429 without Retry-After', [{ from: 2, times: 2, kind: 'status', status: 429 }]],
        ['500, 502 and 503', [
          { from: 1, times: 1, kind: 'status', status: 500 },
          { from: 3, times: 1, kind: 'status', status: 502 },
          { from: 5, times: 1, kind: 'status', status: 503 },
        ]],
        ['an answer slower than the timeout', [{ from: 2, times: 1, kind: 'hang', ms: 3000 }]],
        ['a truncated page once', [{ from: 2, times: 1, kind: 'truncate' }]],
      ];
      it.each(transient)('%s', async (_label, faults) => {
        const { fake, ctx } = await setup({ products: options.multiPageCatalog, faults });
        const result = await pullAll(driver, ctx);
        expect(barcodeMultiset(result.candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
        expect(fake.requests.some((r) => r.fault !== undefined)).toBe(true);
      });
    });

    describe.runIf(source === 'http')('never counts a partial pull as complete', () => {
      it('a 503 storm after the first page: exit 75, names the status', async () => {
        const { ctx } = await setup({ products: options.multiPageCatalog, faults: [{ from: 2, times: Infinity, kind: 'status', status: 503 }] });
        const failure = await expectFailure(pullAll(driver, ctx));
        expect(failure.exitCode).toBe(75);
        expect(failure.message).toMatch(/503/);
      });

      it('a truncated page that stays truncated: exit 75', async () => {
        const { ctx } = await setup({ products: options.multiPageCatalog, faults: [{ from: supports.paging ? 2 : 1, times: Infinity, kind: 'truncate' }] });
        const failure = await expectFailure(pullAll(driver, ctx));
        expect(failure.exitCode).toBe(75);
        expect(failure.message).toMatch(/not valid JSON|dropped/);
      });

      it('an ERP that stops answering: exit 75, says it did not answer in time', async () => {
        const { ctx } = await setup({ products: options.multiPageCatalog, faults: [{ from: 2, times: Infinity, kind: 'hang', ms: 5000 }] }, undefined, {
          timeoutMs: '200',
          retries: '1',
        });
        const failure = await expectFailure(pullAll(driver, ctx));
        expect(failure.exitCode).toBe(75);
        expect(failure.message).toMatch(/did not answer in time/);
      });

      it.runIf(supports.totals)('fewer products than the ERP reported: exit 75, incomplete', async () => {
        const { ctx } = await setup({ products: options.multiPageCatalog, underDeliver: true });
        const failure = await expectFailure(pullAll(driver, ctx));
        expect(failure.code).toBe('ERP_INCOMPLETE_PULL');
        expect(failure.exitCode).toBe(75);
      });
    });

    describe.runIf(source !== 'file')('says what is wrong with a connection', () => {
      it('wrong credentials: exit 77 in plain words, from testConnection and from a pull, without echoing secrets', async () => {
        const { ctx, connection } = await setup({ products: 3 }, 'wrong-credentials');
        for (const failure of [await expectFailure(driver.testConnection(ctx)), await expectFailure(pullAll(driver, ctx))]) {
          expect(failure.exitCode).toBe(77);
          expect(failure.message).toMatch(plainWordsForCredentials);
          for (const secret of secretValues(connection)) expect(failure.message).not.toContain(secret);
        }
      });

      it.runIf(supports.unknownTenant)('an unknown company or tenant id: exit 78, says so', async () => {
        const { ctx } = await setup({ products: 3 }, 'unknown-tenant');
        for (const failure of [await expectFailure(driver.testConnection(ctx)), await expectFailure(pullAll(driver, ctx))]) {
          expect(failure.exitCode).toBe(78);
          expect(failure.message).toMatch(/unknown (company|tenant)/i);
        }
      });

      it.runIf(source === 'http')('an unreachable host: exit 75, names the host', async () => {
        const port = await closedPort();
        const fake = await options.startFake({ products: 1 });
        const connection = options.connection(fake);
        await fake.close();
        const ctx = contractContext(driver, `http://127.0.0.1:${port}`, connection);
        cleanups.push(() => ctx.close());
        const failure = await expectFailure(driver.testConnection(ctx));
        expect(failure.exitCode).toBe(75);
        expect(failure.message).toContain(`127.0.0.1:${port}`);
      });

      // Through the real mssql, not the fake: nothing listens on the port, as when SQL Server is stopped or the firewall drops it.
      it.runIf(source === 'sql')('an unreachable SQL Server, reached through mssql: exit 75, names the server and port', async () => {
        const port = await closedPort();
        const fake = await options.startFake({ products: 1 });
        const connection = options.connection(fake);
        const ctx = contractContext(driver, '', { ...connection, settings: { ...connection.settings, server: '127.0.0.1', port: String(port) } });
        cleanups.push(() => ctx.close());
        for (const failure of [await expectFailure(driver.testConnection(ctx)), await expectFailure(pullAll(driver, ctx))]) {
          expect(failure.exitCode).toBe(75);
          expect(failure.message).toContain(`127.0.0.1:${port}`);
          expect(failure.hint).toMatch(/firewall/);
        }
      });
    });

    describe.runIf(source === 'sql')('reads SQL Server the way a shop\'s IT person expects', () => {
      it('sends only single reads, under the connection\'s statement timeout, in pages that move on, and closes every session', async () => {
        const { fake, ctx } = await setup({ products: options.multiPageCatalog }, undefined, { timeoutMs: '4321' });
        const sql = fake as unknown as SqlFake;
        await driver.testConnection(ctx);
        const result = await pullAll(driver, ctx);
        expect(barcodeMultiset(result.candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
        expect(sql.statements.filter((s) => s.kind === 'catalog').length).toBeGreaterThan(3);
        for (const statement of sql.statements) {
          if (statement.statement === '(login)') continue;
          expect(() => assertReadOnly(statement.statement), statement.statement).not.toThrow();
        }
        expect(new Set(sql.configs.map((c) => c.timeoutMs))).toEqual(new Set([4321]));
        // A keyset that moves on: the page key a statement reads after is never read after again.
        const afters = sql.statements.filter((s) => 'after' in s.parameters).map((s) => JSON.stringify(s.parameters.after!.value));
        expect(afters.length).toBeGreaterThanOrEqual(2);
        expect(new Set(afters).size).toBe(afters.length);
        expect(sql.openExecutors).toBe(0);
      });

      const transient: Array<[string, SqlFakeKnobs['sqlFaults']]> = [
        ['a deadlock (SQL Server error 1205)', [{ from: 2, times: 1, kind: 'sql', number: 1205 }]],
        ['a connection dropped in the middle of a statement', [{ from: 3, times: 1, kind: 'dropped' }]],
        ['a statement slower than the timeout, once', [{ from: 2, times: 1, kind: 'hang', ms: 3000 }]],
      ];
      it.each(transient)('rides out %s', async (_label, sqlFaults) => {
        const { fake, ctx } = await setup({ products: options.multiPageCatalog, sqlFaults });
        const result = await pullAll(driver, ctx);
        expect(barcodeMultiset(result.candidates.map((c) => c.barcode))).toEqual(barcodeMultiset(fake.expectedBarcodes));
        expect((fake as unknown as SqlFake).statements.some((s) => s.fault !== undefined)).toBe(true);
      });

      it('a deadlock storm after the first page: exit 75, names the error, nothing counted complete', async () => {
        const { ctx } = await setup({ products: options.multiPageCatalog, sqlFaults: [{ from: 2, times: Infinity, kind: 'sql', number: 1205 }] });
        const failure = await expectFailure(pullAll(driver, ctx));
        expect(failure.exitCode).toBe(75);
        expect(failure.message).toMatch(/1205/);
      });

      it('a server that stops answering: exit 75, says it did not answer in time', async () => {
        const { ctx } = await setup({ products: options.multiPageCatalog, sqlFaults: [{ from: 2, times: Infinity, kind: 'hang', ms: 5000 }] }, undefined, { timeoutMs: '200', retries: '1' });
        const failure = await expectFailure(pullAll(driver, ctx));
        expect(failure.exitCode).toBe(75);
        expect(failure.message).toMatch(/did not answer in time/);
      });

      it('a table the login may not read: exit 78, names the table and the GRANT that fixes it', async () => {
        const { ctx } = await setup({ products: 3, sqlFaults: [{ from: 1, times: Infinity, kind: 'sql', number: 229, message: "The SELECT permission was denied on the object 'ERP_TABLE', database 'ERPDB', schema 'dbo'." }] });
        const failure = await expectFailure(pullAll(driver, ctx));
        expect(failure.exitCode).toBe(78);
        expect(failure.message).toContain('dbo.ERP_TABLE');
        expect(failure.hint).toMatch(/GRANT SELECT ON dbo\.ERP_TABLE TO \[/);
      });
    });
  });
}
