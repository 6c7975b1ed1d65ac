import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { TOKEN, createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { startEntegraFake } from '../fakes/entegra.js';
import type { EntegraFake } from '../fakes/entegra.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasValidCheckDigit } from '../../src/model/barcode.js';
import { configure, expectMarketplaceEqualsErp, runUntilDone, waitFor } from './support.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Nothing was applied twice: every Idempotency-Key once. */
function expectAppliedOnce(w: World): void {
  expect(w.marketplace.maxApplicationsPerKey()).toBe(1);
}

describe('fault injection: the marketplace ends up equal to the ERP, nothing applied twice', () => {
  it('429 storms with Retry-After, from the marketplace and from the ERP', async () => {
    world = await createWorld({ products: 600, batchSize: 100 });
    configure(world.home, { connection: { name: 'shop', settings: { rateLimit: '40/1s', retries: '4' } } });
    world.erp.setRateLimit({ requests: 6, perMs: 1000 });
    world.marketplace.faults.rateLimitNext = 4;
    world.marketplace.faults.retryAfterSeconds = 1;

    const runs = await runUntilDone(world, 3);
    expect(world.erp.stats.rateLimited).toBeGreaterThan(0);
    expect(world.marketplace.faults.rateLimitNext).toBe(0);
    // Every batch waited out its Retry-After: four 429s of one second each.
    expect(runs.reduce((ms, r) => ms + r.durationMs, 0)).toBeGreaterThan(2000);
    expectMarketplaceEqualsErp(world);
    expectAppliedOnce(world);
  });

  it('intermittent 500 and 503 answers', async () => {
    world = await createWorld({ products: 600, batchSize: 30 });
    world.erp.faults.failNext = 2;
    world.marketplace.faults.errorRate = 0.35;
    const runs = await runUntilDone(world, 5);
    expect(world.marketplace.stats.batchRequests).toBeGreaterThan(world.marketplace.stats.batchesApplied);
    expect(runs.length).toBeLessThanOrEqual(5);
    world.marketplace.faults.errorRate = 0;
    world.erp.catalog.change(3);
    await runUntilDone(world, 1);
    expectMarketplaceEqualsErp(world);
    expectAppliedOnce(world);
  });

  it('a marketplace that times out, applies the batch anyway, and stops being pushed to once three batches and a split of the last fail', async () => {
    world = await createWorld({ products: 500, batchSize: 100 });
    // undici checks its timeouts about once a second, so they are whole seconds here.
    configure(world.home, { marketplace: { timeoutMs: '1000', retries: '0' } });
    world.marketplace.faults.latencyMs = 1800;
    const slow = await world.run();
    expect(slow.result.code).toBe(75);
    expect(slow.summary.error?.code).toBe('MARKETPLACE_UNAVAILABLE');
    expect(slow.summary.error?.message).toMatch(/did not answer in time/);
    // Three batches failed in a row, then both halves of the last (a bad offer in each batch would have let one through):
    // the marketplace takes nothing, and the other two batches wait for the next run.
    expect(world.marketplace.stats.batchRequests).toBe(3 + 2);
    expect(world.query(`SELECT id FROM outbox`)).toHaveLength(3);
    // The marketplace is still working on the last of them when the run gives up on it.
    await waitFor(() => world!.marketplace.stats.batchesApplied >= 5, 10_000, 'the marketplace to apply what it was sent');

    world.marketplace.faults.latencyMs = 0;
    const next = await world.run();
    expect(next.result.code).toBe(0);
    // The three batches the marketplace had applied are answered from its idempotency store.
    expect(world.marketplace.stats.replays).toBeGreaterThanOrEqual(3);
    expectMarketplaceEqualsErp(world);
    expectAppliedOnce(world);
  });

  it('connections reset by the ERP, and dropped by the marketplace after applying a batch', async () => {
    world = await createWorld({ products: 800, batchSize: 100 });
    configure(world.home, { connection: { name: 'shop', settings: { retries: '3' } } });
    world.erp.faults.resetNext = 3;
    world.marketplace.faults.dropAfterApply = 3;
    await runUntilDone(world, 2);
    expect(world.erp.faults.resetNext).toBe(0);
    expect(world.marketplace.stats.replays).toBe(3);
    expectMarketplaceEqualsErp(world);
    expectAppliedOnce(world);
  });

  it('a marketplace that answers only half of the offers it applied', async () => {
    world = await createWorld({ products: 400, batchSize: 100 });
    world.marketplace.faults.answerHalf = 2;
    const first = await world.run();
    expect(first.result.code).toBe(75);
    expect(first.summary).toMatchObject({ pushed: 300, failed: 100 });
    expect(first.summary.error?.code).toBe('UNDELIVERED');
    const second = await world.run();
    expect(second.result.code).toBe(0);
    expect(second.summary.pushed).toBe(100);
    expectMarketplaceEqualsErp(world);
    expectAppliedOnce(world);
  });
});

describe('a run that fails says what happened and what to do in the language of the person reading', () => {
  it('a marketplace down: Turkish from the lead-in to the hint, English without --lang', async () => {
    world = await createWorld({ products: 300, batchSize: 50 });
    configure(world.home, { marketplace: { retries: '0' } });
    world.marketplace.faults.failNext = 1_000;
    const turkish = await world.cli('--lang', 'tr', 'run', '--connection', 'shop');
    expect(turkish.code).toBe(75);
    const said = turkish.stdout + turkish.stderr;
    expect(said).toMatch(/Hata: marketplace: 127\.0\.0\.1:\d+ HTTP 503 yanıtı verdi \(karşı tarafta bir sunucu hatası\)\. Pazaryeri paketleri almıyor/);
    expect(said).toContain('Deneyin: Hiçbir şey kaybolmadı: kalanları sonraki çalışma gönderir.');
    expect(said).not.toMatch(/answered|Nothing is lost|batches in a row/);

    const english = await world.cli('run', '--connection', 'shop');
    expect(english.code).toBe(75);
    expect(english.stdout + english.stderr).toMatch(/answered HTTP 503 \(a server error on their side\)\. The marketplace is not taking batches/);
    expect(english.stdout + english.stderr).toContain('Nothing is lost: the next run sends what is left.');
  });
});

describe('fault injection against the Entegra fake: token expiry and timeouts mid-run', () => {
  let fake: EntegraFake | undefined;
  let marketplace: SandboxMarketplace | undefined;
  let home: string | undefined;
  afterEach(async () => {
    await fake?.close();
    await marketplace?.close();
    if (home) rmSync(home, { recursive: true, force: true });
    fake = marketplace = home = undefined;
  });

  it('refreshes an access token that expires mid-pull, retries pages that hang, and pushes the whole catalog', async () => {
    fake = await startEntegraFake({
      products: 90, variants: true, pageSize: 10, tokenExpiresAfter: 3,
      faults: [{ from: 5, times: 2, kind: 'hang', ms: 3000 }, { from: 8, times: 1, kind: 'status', status: 503 }],
    });
    marketplace = await new SandboxMarketplace({ token: TOKEN }).start();
    home = mkdtempSync(join(tmpdir(), 'erp-sync-entegra-'));
    const env = { ERP_SYNC_HOME: home, ERP_SYNC_SHOP_PASSWORD: fake.password, ERP_SYNC_MARKETPLACE_TOKEN: TOKEN, NO_COLOR: '1', LANG: 'C' };
    for (const args of [
      ['connect', 'marketplace', '--base-url', marketplace.url, '--set', 'batchSize=25', '--set', 'retries=2', '--set', 'retryMinDelayMs=5'],
      ['connect', 'entegra', '--name', 'shop', '--base-url', fake.baseUrl, '--set', `email=${fake.email}`, '--set', 'priceIncludesVat=false', '--set', 'retries=3', '--set', 'retryMinDelayMs=5', '--set', 'timeoutMs=1000', '--no-test'],
    ]) {
      const setup = await runCli(args, env);
      expect(setup.code, setup.stderr).toBe(0);
    }

    const result = await runCli(['run', '--json'], env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // The first token stopped working after three pages; a refresh replaced it without failing the run.
    expect(fake.requests.filter((r) => r.kind === 'catalog' && r.status === 401).length).toBeGreaterThan(0);
    expect(fake.tokensIssued).toBeGreaterThanOrEqual(2);
    expect(fake.requests.filter((r) => r.fault === 'hang')).toHaveLength(2);
    // Every offer with a usable barcode is pushed.
    const valid = fake.expectedBarcodes.filter((b) => hasValidCheckDigit(b));
    expect(valid.length).toBeGreaterThan(5);
    expect(new Set(marketplace.offers.keys())).toEqual(new Set(valid));
    expect(marketplace.maxApplicationsPerKey()).toBe(1);

    const again = await runCli(['run', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).runs[0]).toMatchObject({ pushed: 0, unchanged: valid.length });
  });
});
