/**
 * The target contract suite: one set of vitest tests every marketplace
 * target adapter (src/marketplace/target.ts) must pass against its sandbox
 * marketplace (src/sandbox/<kind>.ts). test/targets/contract.test.ts runs it
 * for every entry of `targetAdapters`, so an adapter cannot be registered
 * without it:
 *
 *   describeTargetContract({
 *     adapter: trendyol,
 *     startFake: (options) => new SandboxTrendyol({ sellerId: '1234', apiKey, apiSecret, ...options }).start(),
 *     connection: (mistake) => ({ settings: { sellerId: '1234' }, secrets: { apiKey, apiSecret: mistake ? 'yanlış' : apiSecret } }),
 *     sent: (item) => ({ stock: Number(item.fields.quantity), price: String(item.fields.salePrice) }),
 *     writeEndpoints: ['price-and-inventory'],
 *   });
 *
 * What the sandbox must do (AsyncTargetSandbox does most of it): serve the
 * marketplace's own paths and shapes at `baseUrl`; accept the credentials
 * `connection()` returns and refuse those of `connection('wrong-credentials')`
 * and any request without the marketplace's required headers with 401 or
 * 403; queue submissions and apply them by its own clock, honouring the
 * options (`pendingPolls`, `processingMs`, `resultRetentionMs`) and
 * `faults`; keep stats; and answer `listed(key)` with the stock and price it
 * holds for a listed key.
 *
 * The suite checks: fields in both languages, secrets flagged; `project()`
 * pure and deterministic, KDV added to a net price half up with a warning,
 * stock 0 for an inactive offer, another currency refused; a batch of
 * `maxBatch` submitted in one request and polled to done; pending until
 * applied; per-item failures with the marketplace's words; an unknown
 * product `not_listed`; `expired` once the result is no longer kept;
 * `current()` telling matches, differs and not listed; a submission whose
 * answer was lost showing in `current()`; wrong credentials an HttpError
 * 401/403 (exit 77); the rate limit kept and a 429 waited out; the required
 * headers; missing settings refused (exit 78); and no secret in anything
 * thrown.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { describeRunFailure } from '../../src/engine/failure.js';
import { HttpClient } from '../../src/http/client.js';
import { HttpError } from '../../src/http/errors.js';
import { TargetCode } from '../../src/marketplace/codes.js';
import { SubmitRefused } from '../../src/marketplace/target.js';
import type { ItemOutcome, PollAnswer, TargetAdapter, TargetItem, TargetSession } from '../../src/marketplace/target.js';
import type { Offer } from '../../src/model/product.js';
import type { AsyncTargetOptions, AsyncTargetSandbox } from '../../src/sandbox/async-target.js';
import { busiestWindow, deepFreeze } from './driver-contract.js';

export type TargetMistake = 'wrong-credentials';

export interface TargetConnection {
  settings: Record<string, string>;
  secrets: Record<string, string>;
}

export interface TargetContractOptions<F extends AsyncTargetSandbox = AsyncTargetSandbox> {
  adapter: TargetAdapter;
  /** Starts the adapter's sandbox with these options (the suite adds keepHistory). */
  startFake(options: AsyncTargetOptions): Promise<F>;
  /** Settings and secrets the sandbox accepts; with `mistake`, wrong in exactly that way. */
  connection(mistake?: TargetMistake): TargetConnection;
  /** What an item sends, in common terms: its stock and its (sale) price. */
  sent(item: TargetItem): { stock: number; price: string };
  /** The endpoints (as the sandbox's stats name them) one submission posts to, once each. */
  writeEndpoints: readonly string[];
}

/** An offer as the engine hands it over: product `n`, priced with KDV, in stock. */
export function offer(n: number, overrides: Partial<Offer> = {}): Offer {
  return {
    barcode: `8690000${String(n).padStart(6, '0')}`,
    sku: `SKU-${n}`,
    name: `Çelik Termos ${n} (İnox)`,
    price: '149.90',
    currency: 'TRY',
    vatRate: 20,
    priceIncludesVat: true,
    stock: 5,
    active: true,
    ...overrides,
  };
}

/** The offer projected, failing the test when the adapter cannot take it. */
export function projected(adapter: TargetAdapter, o: Offer, settings: Record<string, string> = {}): TargetItem {
  const projection = adapter.project(o, settings);
  if (!projection.ok) throw new Error(`expected ${o.barcode} to project: ${projection.problem.message}`);
  return projection.item;
}

/** Polls until the answer is no longer pending; fails after `limit` polls. */
export async function pollUntilSettled(session: TargetSession, ticket: string, items: readonly TargetItem[], limit = 10): Promise<Exclude<PollAnswer, { state: 'pending' }>> {
  for (let i = 0; i < limit; i++) {
    const answer = await session.poll(ticket, items);
    if (answer.state !== 'pending') return answer;
  }
  throw new Error(`still pending after ${limit} polls`);
}

export function outcomeOf(answer: PollAnswer, barcode: string): ItemOutcome | undefined {
  return answer.state === 'done' ? answer.outcomes.find((o) => o.barcode === barcode) : undefined;
}

/** A client like the engine's, with quick retries. */
export function targetClient(adapter: TargetAdapter, baseUrl: string, options: { retries?: number; rateLimit?: { requests: number; perMs: number } } = {}): HttpClient {
  return new HttpClient({
    service: `${adapter.name} (contract)`,
    baseUrl,
    retries: options.retries ?? 2,
    minDelayMs: 5,
    timeoutMs: 2000,
    rateLimit: options.rateLimit,
  });
}

/**
 * A session on a started sandbox, opened as the engine opens one (the
 * connection's settings, then `settings`); `open` opens another with more
 * settings on the same client, `close` closes the client and the sandbox.
 */
export function openOn(adapter: TargetAdapter, fake: AsyncTargetSandbox, connection: TargetConnection, settings: Record<string, string> = {}, client: Parameters<typeof targetClient>[2] = {}) {
  const http = targetClient(adapter, fake.baseUrl, client);
  const open = (more: Record<string, string> = {}) =>
    adapter.open({ target: adapter.kind, settings: { ...connection.settings, ...settings, ...more }, secrets: connection.secrets, http });
  const close = async () => {
    await http.close();
    await fake.close();
  };
  return { http, open, session: open(), close };
}

/** Everything a thrown error carries that a person or a log could see. */
function visible(error: unknown): string {
  const parts = [String(error)];
  if (error instanceof Error) parts.push(error.message, error.stack ?? '', JSON.stringify({ ...error }));
  if (error instanceof HttpError) parts.push(error.body ?? '', error.url);
  if (error instanceof SubmitRefused) parts.push(error.marketplaceText);
  const failure = describeRunFailure(error);
  parts.push(failure.message, failure.hint ?? '');
  return parts.join('\n');
}

export function describeTargetContract<F extends AsyncTargetSandbox>(options: TargetContractOptions<F>): void {
  const { adapter } = options;
  const cleanups: Array<() => Promise<void>> = [];

  async function setup(fakeOptions: AsyncTargetOptions = {}, setupOptions: { mistake?: TargetMistake; retries?: number; rateLimit?: { requests: number; perMs: number } } = {}) {
    const fake = await options.startFake({ keepHistory: true, ...fakeOptions });
    const connection = options.connection(setupOptions.mistake);
    const { http, session, close } = openOn(adapter, fake, connection, {}, setupOptions);
    cleanups.push(close);
    return { fake, http, session, connection };
  }

  /** Lists products 1..count on the sandbox, holding other values than the offers will send. */
  function listOffers(fake: F, count: number, from = 1): Offer[] {
    return Array.from({ length: count }, (_, i) => {
      const o = offer(from + i, { stock: 5 + ((from + i) % 7), price: `${100 + ((from + i) % 50)}.90` });
      fake.listProduct({ barcode: o.barcode, sku: o.sku, stock: 1, price: '10.00' });
      return o;
    });
  }

  const secretsOf = (connection: TargetConnection) => Object.values(connection.secrets).filter((v) => v.length >= 4);

  describe(`${adapter.kind} target contract`, () => {
    afterEach(async () => {
      await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    });

    it('declares its fields in English and Turkish, secrets flagged, and limits a marketplace can live with', () => {
      expect(adapter.fields.length).toBeGreaterThan(0);
      for (const field of adapter.fields) {
        expect(field.label.trim(), field.name).not.toBe('');
        expect(field.labelTr.trim(), field.name).not.toBe('');
        expect(field.help?.en.trim(), field.name).toBeTruthy();
        expect(field.help?.tr.trim(), field.name).toBeTruthy();
        if (/key|secret|password/i.test(field.name)) expect(field.secret, field.name).toBe(true);
      }
      expect(adapter.defaultBaseUrl).toMatch(/^https:\/\//);
      expect(adapter.maxBatch).toBeGreaterThanOrEqual(1);
      expect(adapter.settleMs).toBeGreaterThanOrEqual(15 * 60_000);
      expect(adapter.resultRetentionMs).toBeGreaterThan(adapter.pollIntervalMs);
      expect(adapter.rateLimit.requests).toBeGreaterThanOrEqual(1);
    });

    it('projects an offer purely: the same offer gives the same fields, in the same order; a name change sends nothing new', () => {
      const settings = deepFreeze({ ...options.connection().settings });
      const o = deepFreeze(offer(1));
      const first = adapter.project(o, settings);
      const second = adapter.project(structuredClone(o), settings);
      expect(second).toEqual(first);
      if (!first.ok || !second.ok) throw new Error('offer 1 must project');
      expect(JSON.stringify(second.item.fields)).toBe(JSON.stringify(first.item.fields));
      expect(first.item.barcode).toBe(o.barcode);
      expect(first.warnings).toEqual([]);
      expect(options.sent(first.item)).toEqual({ stock: 5, price: '149.90' });
      expect(projected(adapter, offer(1, { name: 'Another name' }), settings).fields).toEqual(first.item.fields);
      expect(projected(adapter, offer(1, { price: '150.00' }), settings).fields).not.toEqual(first.item.fields);
      expect(projected(adapter, offer(1, { stock: 6 }), settings).fields).not.toEqual(first.item.fields);
    });

    it('sends prices with KDV included: a net price gets KDV added, rounded half up, and a warning naming the barcode', () => {
      const net = adapter.project(offer(2, { price: '10.05', vatRate: 10, priceIncludesVat: false }), {});
      expect(net.ok).toBe(true);
      if (!net.ok) return;
      expect(options.sent(net.item).price).toBe('11.06');
      expect(net.warnings).toHaveLength(1);
      expect(net.warnings[0]).toMatchObject({ code: TargetCode.PRICE_VAT_ADDED });
      expect(net.warnings[0]!.message).toContain(offer(2).barcode);
      expect(options.sent(projected(adapter, offer(2, { price: '0.10', vatRate: 1, priceIncludesVat: false }))).price).toBe('0.10');
      expect(options.sent(projected(adapter, offer(2, { price: '99.99', vatRate: 20, priceIncludesVat: false }))).price).toBe('119.99');
      const free = adapter.project(offer(2, { price: '10.05', vatRate: 0, priceIncludesVat: false }), {});
      expect(free.ok && free.warnings).toEqual([]);
      expect(free.ok && options.sent(free.item).price).toBe('10.05');
    });

    it('sends stock 0 for an offer that is not active, and refuses a currency other than TRY', () => {
      const inactive = adapter.project(offer(3, { active: false, stock: 7 }), {});
      expect(inactive.ok && options.sent(inactive.item).stock).toBe(0);
      expect(inactive.ok && inactive.warnings).toEqual([]);
      const dollars = adapter.project(offer(3, { currency: 'USD' }), {});
      expect(dollars.ok).toBe(false);
      if (dollars.ok) return;
      expect(dollars.problem.code).toBe(TargetCode.CURRENCY_NOT_SUPPORTED);
      expect(dollars.problem.message).toContain(offer(3).barcode);
      expect(dollars.problem.message).toContain('USD');
    });

    it('submits a batch of maxBatch items in one request and polls it to done: every item applied once, with what was sent', async () => {
      const { fake, session } = await setup();
      const offers = listOffers(fake, adapter.maxBatch);
      const items = offers.map((o) => projected(adapter, o));
      const ticket = await session.submit(items);
      for (const endpoint of options.writeEndpoints) expect(fake.stats.requestsPerEndpoint.get(endpoint), endpoint).toBe(1);
      const answer = await pollUntilSettled(session, ticket, items);
      expect(answer.state).toBe('done');
      if (answer.state !== 'done') return;
      expect(answer.outcomes).toHaveLength(items.length);
      expect(answer.outcomes.every((o) => o.status === 'applied')).toBe(true);
      for (const item of items) {
        expect(fake.listed(item.key), item.key).toEqual(options.sent(item));
        expect(fake.stats.applicationsPerKey.get(item.key)).toBeGreaterThanOrEqual(1);
      }
      expect(Math.max(...[...fake.stats.valuesPerKey.values()].map((values) => values.length))).toBeLessThanOrEqual(options.writeEndpoints.length);
    });

    it('answers pending until the marketplace has applied the batch, and done after', async () => {
      const { fake, session } = await setup({ pendingPolls: 0, processingMs: 60_000 });
      const items = listOffers(fake, 3).map((o) => projected(adapter, o));
      const ticket = await session.submit(items);
      expect(await session.poll(ticket, items)).toEqual({ state: 'pending' });
      expect(fake.listed(items[0]!.key)).toEqual({ stock: 1, price: '10.00' });
      fake.advance(60_000);
      const answer = await session.poll(ticket, items);
      expect(answer.state).toBe('done');
      expect(fake.listed(items[0]!.key)).toEqual(options.sent(items[0]!));
    });

    it('reports an item the marketplace refused with its words, the others applied', async () => {
      const { fake, session } = await setup();
      const items = listOffers(fake, 3).map((o) => projected(adapter, o));
      const words = 'Bu ürünün satışı durdurulmuştur (kategori kuralı)';
      fake.faults.failItems.set(items[1]!.key, words);
      const answer = await pollUntilSettled(session, await session.submit(items), items);
      expect(outcomeOf(answer, items[0]!.barcode)).toEqual({ barcode: items[0]!.barcode, status: 'applied' });
      expect(outcomeOf(answer, items[2]!.barcode)).toEqual({ barcode: items[2]!.barcode, status: 'applied' });
      const refused = outcomeOf(answer, items[1]!.barcode);
      expect(refused).toMatchObject({ status: 'rejected', code: TargetCode.MARKETPLACE_REJECTED });
      if (refused?.status !== 'rejected') return;
      expect(refused.marketplaceText).toContain(words);
      expect(refused.message).toContain(words);
      expect(refused.message).toContain(items[1]!.barcode);
      expect(fake.listed(items[1]!.key)).toEqual({ stock: 1, price: '10.00' });
    });

    it('reports a product the marketplace has no listing for as not listed, saying what to do', async () => {
      const { fake, session } = await setup();
      const listed = listOffers(fake, 1).map((o) => projected(adapter, o));
      const unknown = projected(adapter, offer(99));
      const items = [...listed, unknown];
      const answer = await pollUntilSettled(session, await session.submit(items), items);
      expect(outcomeOf(answer, listed[0]!.barcode)?.status).toBe('applied');
      const outcome = outcomeOf(answer, unknown.barcode);
      expect(outcome?.status).toBe('not_listed');
      if (outcome?.status !== 'not_listed') return;
      expect(outcome.message).toContain(unknown.barcode);
      expect(outcome.message).toMatch(/create/i);
      expect(outcome.marketplaceText).not.toBe('');
    });

    it('answers expired once the marketplace no longer keeps the result', async () => {
      const { fake, session } = await setup({ resultRetentionMs: adapter.resultRetentionMs });
      const items = listOffers(fake, 2).map((o) => projected(adapter, o));
      const ticket = await session.submit(items);
      fake.advance(adapter.resultRetentionMs + 1000);
      expect(await session.poll(ticket, items)).toEqual({ state: 'expired' });
    });

    it('reads current values: matches, differs, not listed; every barcode asked for has an entry', async () => {
      const { fake, session } = await setup();
      const [same, other] = [offer(1), offer(2)];
      const sameItem = projected(adapter, same);
      fake.listProduct({ barcode: same.barcode, sku: same.sku, ...options.sent(sameItem) });
      fake.listProduct({ barcode: other.barcode, sku: other.sku, stock: 1, price: '149.90' });
      const items = [sameItem, projected(adapter, other), projected(adapter, offer(3))];
      const states = await session.current(items);
      expect(Object.fromEntries(states)).toEqual({ [items[0]!.barcode]: 'matches', [items[1]!.barcode]: 'differs', [items[2]!.barcode]: 'not_listed' });
    });

    it('a submission whose answer was lost is applied all the same, and current() shows what was applied', async () => {
      const { fake, session } = await setup({}, { retries: 0 });
      const items = listOffers(fake, 4).map((o) => projected(adapter, o));
      fake.faults.dropAfterAccept = 1;
      const error = await session.submit(items).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(HttpError);
      expect(fake.stats.submissions).toBeGreaterThanOrEqual(1);
      const states = await session.current(items);
      for (const item of items) {
        const held = fake.listed(item.key);
        expect(held?.price, item.key).toBe(options.sent(item).price);
        expect(states.get(item.barcode), item.key).toBe(held?.stock === options.sent(item).stock ? 'matches' : 'differs');
      }
    });

    it('wrong credentials: an HttpError 401 or 403 (exit 77) from test() and submit(), without a secret in it', async () => {
      const { fake, session, connection } = await setup({}, { mistake: 'wrong-credentials' });
      const items = listOffers(fake, 1).map((o) => projected(adapter, o));
      for (const error of [await session.test().catch((e: unknown) => e), await session.submit(items).catch((e: unknown) => e)]) {
        expect(error).toBeInstanceOf(HttpError);
        expect([401, 403]).toContain((error as HttpError).status);
        expect(describeRunFailure(error).exitCode).toBe(77);
        for (const secret of [...secretsOf(connection), ...secretsOf(options.connection())]) expect(visible(error)).not.toContain(secret);
      }
      expect(fake.stats.submissions).toBe(0);
    });

    it('sends the headers the marketplace requires: a request without them is refused', async () => {
      const { fake, http, session } = await setup();
      await session.test();
      const bare = await http.request({ path: '/' }).catch((e: unknown) => e);
      expect(bare).toBeInstanceOf(HttpError);
      expect([401, 403]).toContain((bare as HttpError).status);
      expect(fake.stats.requests.map((r) => r.status)).toEqual([200, (bare as HttpError).status]);
    });

    it('keeps to its rate limit, and waits out a 429 before asking again', async () => {
      const limit = { requests: 3, perMs: 1000 };
      const { fake, session } = await setup({}, { rateLimit: limit });
      fake.setRateLimit(limit);
      await Promise.all(Array.from({ length: 7 }, () => session.test()));
      expect(fake.stats.rateLimited).toBe(0);
      expect(busiestWindow(fake.stats.requests, limit.perMs)).toBeLessThanOrEqual(limit.requests);

      const { fake: limited, session: patient } = await setup();
      limited.faults.rateLimitNext = 1;
      limited.faults.retryAfterSeconds = 1;
      await patient.test();
      const [refused, next] = limited.stats.requests;
      expect(refused?.status).toBe(429);
      expect(next?.status).toBe(200);
      expect(next!.at - refused!.at).toBeGreaterThanOrEqual(950);
    });

    it('a marketplace that is down: the HttpError 503 after the retries, from submit() and poll()', async () => {
      const { fake, session } = await setup();
      const items = listOffers(fake, 2).map((o) => projected(adapter, o));
      const ticket = await session.submit(items);
      fake.faults.down = true;
      for (const error of [await session.submit(items).catch((e: unknown) => e), await session.poll(ticket, items).catch((e: unknown) => e)]) {
        expect(error).toBeInstanceOf(HttpError);
        expect((error as HttpError).status).toBe(503);
        expect(describeRunFailure(error).exitCode).toBe(75);
      }
    });

    it('refuses to open without its settings and secrets: exit 78, naming what is missing and none of the secrets given', () => {
      const { settings, secrets } = options.connection();
      const http = targetClient(adapter, 'http://127.0.0.1:9');
      cleanups.push(() => http.close());
      for (const field of adapter.fields.filter((f) => f.required && f.default === undefined)) {
        const without = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).filter(([name]) => name !== field.name));
        const error = (() => {
          try {
            adapter.open({ target: adapter.kind, settings: without(settings), secrets: without(secrets), http });
            return undefined;
          } catch (e) {
            return e;
          }
        })();
        const failure = describeRunFailure(error);
        expect(failure.exitCode, field.name).toBe(78);
        expect(failure.message).toContain(field.name);
        for (const secret of secretsOf({ settings, secrets })) expect(visible(error)).not.toContain(secret);
      }
    });
  });
}
