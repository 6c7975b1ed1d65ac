import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { requireTool } from '../support/requirements.js';
import { CHROMIUM_INSTALL, connectTarget, hasChromium, http, launchChromium, nonLoopbackAddress, startServe } from './support.js';
import type { Serving, TargetSandbox } from './support.js';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);
const TIME_ZONE = 'Europe/Istanbul';
const SCRIPT_NAME = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> Işıklı Çanta';

/** Skipped with the reason printed when there is no browser, except under CI, where that fails the run. */
const withChromium = describe.runIf(requireTool('chromium', hasChromium, CHROMIUM_INSTALL));

interface RunRecord {
  id: number; finished_at: string; pulled: number; pushed: number; created: number; updated: number;
  pending_approval: number; rejected: number; failed: number; invalid: number;
}

withChromium('the web page in a real browser', () => {
  let world: World;
  let serving: Serving;
  let browser: Browser;
  const pendingBarcodes = new Set<string>();
  const barcode = (i: number) => world.erp.catalog.item(i)!.barcode;
  const sku = (i: number) => world.erp.catalog.item(i)!.sku;
  const lastRun = () => world.query<RunRecord>(`SELECT * FROM runs ORDER BY id DESC LIMIT 1`)[0]!;
  const csp: string[] = [];

  async function open(locale: 'en-US' | 'tr-TR', viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ locale, timezoneId: TIME_ZONE, viewport, acceptDownloads: true });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) csp.push(message.text());
    });
    await page.goto(serving.url);
    await page.locator('article[data-connection="shop"] [data-count="pushed"]').filter({ hasNotText: '–' }).waitFor();
    return { context, page };
  }

  beforeAll(async () => {
    world = await createWorld({ products: 60, batchSize: 20, inMasterCatalog: (b) => !pendingBarcodes.has(b) });
    const { catalog } = world.erp;
    pendingBarcodes.add(barcode(2)).add(barcode(3));
    world.marketplace.faults.rejectBarcodes.add(barcode(4));
    catalog.patch(5, { price: 'on iki lira' });
    catalog.patch(11, { name: SCRIPT_NAME, price: '-5.00' });
    const first = await world.run();
    expect(first.summary).toMatchObject({ status: 'succeeded', invalid: 2, rejected: 1, pendingApproval: 2 });
    catalog.change(10);
    await world.run();
    ({ serving, browser } = await serveAndBrowse(world));
  });

  afterAll(async () => {
    await stopServing(serving, browser);
    await world?.close();
  });

  it('shows each connection with its last successful sync and the last run\'s counts', async () => {
    const { context, page } = await open('en-US');
    const run = lastRun();
    const card = page.locator('article[data-connection="shop"]');
    await expect.poll(() => card.locator('.health-text').textContent()).toBe('Connected and healthy');
    const time = card.locator('.last-sync time');
    expect(await time.getAttribute('datetime')).toBe(run.finished_at);
    const exact = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' })
      .format(new Date(run.finished_at)).replace(',', '');
    expect(await time.getAttribute('title')).toBe(exact);
    expect(await time.innerText()).toMatch(/seconds? ago|now|minutes? ago/);
    const counts = Object.fromEntries(
      await Promise.all(['pulled', 'pushed', 'created', 'updated', 'pendingApproval', 'rejected', 'failed', 'invalid'].map(async (key) => [key, Number(await card.locator(`[data-count="${key}"]`).textContent())])),
    );
    expect(counts).toEqual({
      pulled: run.pulled, pushed: run.pushed, created: run.created, updated: run.updated,
      pendingApproval: run.pending_approval, rejected: run.rejected, failed: run.failed, invalid: run.invalid,
    });
    expect(run.pushed).toBeGreaterThan(0);
    expect(await card.locator('.item-links').textContent()).toBe('3 failed items · 2 pending approval');
    // One target: its block names it and says how it is, and leaves the counts to the card.
    const block = card.locator('section[data-target="marketplace"]');
    expect([await block.locator('.target-title').textContent(), await block.locator('.target-name').textContent()]).toEqual(['Offer API', 'marketplace']);
    expect(await block.locator('.target-health').textContent()).toBe('Delivering, no problems');
    expect(await block.locator('.last-delivery time').getAttribute('datetime')).toBe(run.finished_at);
    expect(await block.locator('[data-target-count]').count()).toBe(0);
    expect(await page.locator('#target-filter').isHidden()).toBe(true);
    await page.screenshot({ path: new URL('web-desktop-en.png', ARTIFACTS).pathname, fullPage: true });
    await context.close();
  });

  it('finds a failed item by barcode, stock code or a Turkish name typed in any case', async () => {
    const { context, page } = await open('en-US');
    const rows = page.locator('#items-failed tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    const search = page.getByLabel('Search (barcode, stock code, name)');
    await search.fill(barcode(4));
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toMatch(/rejected/);
    await search.fill(sku(5).toLowerCase());
    await expect.poll(() => rows.allInnerTexts()).toEqual([expect.stringContaining('PRICE_NOT_A_NUMBER')]);
    await search.fill('IŞIKLI ÇANTA');
    await expect.poll(() => rows.allInnerTexts()).toEqual([expect.stringContaining('PRICE_NEGATIVE')]);
    await search.fill('');
    await page.getByLabel('Error code').selectOption('PRICE_NOT_A_NUMBER');
    await expect.poll(() => rows.allInnerTexts()).toEqual([expect.stringContaining(barcode(5))]);
    await context.close();
  });

  it('downloads the rows the filters show as CSV', async () => {
    const { context, page } = await open('en-US');
    await expect.poll(() => page.locator('#items-failed tbody tr').count()).toBe(3);
    const all = await download(page);
    const expected = world.query<{ barcode: string; code: string }>(
      `SELECT barcode, code FROM item_state WHERE outcome IN ('invalid', 'rejected', 'failed') ORDER BY barcode`,
    );
    expect(all.header).toEqual(['connection', 'target', 'barcode', 'sku', 'name', 'outcome', 'code', 'explanation', 'message', 'runId', 'at']);
    expect(all.rows.map((r) => [r[2], r[6]]).sort()).toEqual(expected.map((e) => [e.barcode, e.code]));
    expect(all.rows.find((r) => r[2] === barcode(11))?.[4]).toBe(SCRIPT_NAME);
    expect(all.rows.find((r) => r[2] === barcode(5))?.[7]).toBe('The price in the ERP is not a number.');
    expect(all.rows.find((r) => r[2] === barcode(4))?.[1]).toBe('marketplace');

    await page.getByLabel('Search (barcode, stock code, name)').fill(barcode(4));
    await expect.poll(() => page.locator('#items-failed tbody tr').count()).toBe(1);
    const filtered = await download(page);
    expect(filtered.rows.map((r) => [r[2], r[5]])).toEqual([[barcode(4), 'rejected']]);
    await context.close();
  });

  it('lists the offers pending marketplace approval on their own tab', async () => {
    const { context, page } = await open('en-US');
    await page.getByRole('tab', { name: 'Pending approval' }).click();
    const rows = page.locator('#items-pending tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const text = (await rows.allInnerTexts()).join('\n');
    for (const b of pendingBarcodes) expect(text).toContain(b);
    await context.close();
  });

  it('shows a product name with markup as text and runs none of it', async () => {
    const { context, page } = await open('en-US');
    const cell = page.locator('#items-failed tbody td', { hasText: 'Işıklı Çanta' });
    await expect.poll(() => cell.textContent()).toBe(SCRIPT_NAME);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('#items-failed script, #items-failed img').count()).toBe(0);
    expect(csp).toEqual([]);
    await context.close();
  });

  it('opens a run\'s item events from the run history', async () => {
    const { context, page } = await open('en-US');
    const first = world.query<{ id: number }>(`SELECT id FROM runs ORDER BY id LIMIT 1`)[0]!.id;
    const total = world.query<{ n: number }>(`SELECT count(*) AS n FROM events WHERE run_id = ?`, first)[0]!.n;
    await page.getByRole('button', { name: `Items of run #${first}` }).click();
    await expect.poll(() => page.locator('#run-events-table tbody tr').count()).toBe(total);
    expect(await page.evaluate('document.activeElement.id')).toBe('run-events-h');
    await context.close();
  });

  it('speaks Turkish to a Turkish browser and fits a phone screen', async () => {
    const { context, page } = await open('tr-TR', { width: 390, height: 844 });
    const card = page.locator('article[data-connection="shop"]');
    await expect.poll(() => card.locator('.health-text').textContent()).toBe('Durum: Bağlı, sorun yok');
    expect(await card.getByRole('button').textContent()).toBe('Şimdi senkronize et');
    expect(await card.locator('.last-sync time').getAttribute('title')).toMatch(/^\d\d\.\d\d\.\d{4} \d\d:\d\d$/);
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: new URL('web-phone-tr.png', ARTIFACTS).pathname, fullPage: true });
    await page.getByRole('link', { name: 'English' }).click();
    await page.goto(serving.url);
    expect(await page.locator('article[data-connection="shop"]').getByRole('button').textContent()).toBe('Sync now');
    await context.close();
  });

  it('asks for the access token when served on a network address, then keeps the session', async ({ skip }) => {
    const address = nonLoopbackAddress();
    skip(!requireTool('a non-loopback IPv4 address', () => address !== undefined, 'a network interface with an IPv4 address'));
    const network = await startServe({ ...world.env, ERP_SYNC_PASSPHRASE: 'web page test passphrase' }, '--host', '0.0.0.0', '--secret-store', 'file');
    try {
      const token = /web\/accessToken\):\n(\S+)\n/.exec(network.stdout())![1]!;
      const context = await browser.newContext({ locale: 'tr-TR', timezoneId: TIME_ZONE });
      const page = await context.newPage();
      await page.goto(`http://${address}:${network.port}/`);
      const field = page.getByLabel('Erişim anahtarı');
      await field.fill('yanlış');
      await page.getByRole('button', { name: 'Oturum aç' }).click();
      expect(await page.getByRole('alert').textContent()).toBe('Bu erişim anahtarı doğru değil.');
      await page.screenshot({ path: new URL('web-login-tr.png', ARTIFACTS).pathname });
      await page.getByLabel('Erişim anahtarı').fill(token);
      await page.getByRole('button', { name: 'Oturum aç' }).click();
      await page.locator('article[data-connection="shop"] [data-count="pushed"]').filter({ hasNotText: '–' }).waitFor();
      const cookie = (await context.cookies()).find((c) => c.name === 'erp_sync_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      expect(await page.content()).not.toContain(token);
      await page.reload();
      await page.locator('article[data-connection="shop"]').waitFor();
      await context.close();
    } finally {
      await network.stop();
    }
  });

  it('"Sync now" queues a run, disables the button while it runs and updates the card when it ends', async () => {
    const before = lastRun();
    const changed = world.erp.catalog.change(20);
    // Long enough for the page to see the run in progress, even on a loaded machine.
    world.erp.faults.latencyMs = 1500;
    const { context, page } = await open('en-US');
    const card = page.locator('article[data-connection="shop"]');
    const button = card.getByRole('button', { name: 'Sync now' });
    await button.click();
    await expect.poll(() => card.locator('.card-notice').textContent()).toBe('Queued: your products are being synced in the background');
    await expect.poll(() => button.isDisabled()).toBe(true);
    await expect.poll(() => card.locator('.running').isVisible(), { timeout: 5_000 }).toBe(true);
    await expect.poll(() => card.locator('.last-run').textContent(), { timeout: 45_000 }).toBe(`Last run #${before.id + 1} (synced)`);
    world.erp.faults.latencyMs = 0;
    const after = lastRun();
    expect(after.pushed).toBe(changed.length);
    for (const key of ['pushed', 'updated', 'pending_approval'] as const) {
      const shown = key === 'pending_approval' ? 'pendingApproval' : key;
      expect(Number(await card.locator(`[data-count="${shown}"]`).textContent()), key).toBe(after[key]);
    }
    expect(await card.locator('.last-sync time').getAttribute('datetime')).toBe(after.finished_at);
    // The page polls every 1.5 s while a run is in progress; the child process exits just after recording it.
    await expect.poll(() => button.isDisabled(), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => card.locator('.card-notice').textContent()).toBe('');
    await page.screenshot({ path: new URL('web-desktop-after-sync.png', ARTIFACTS).pathname, fullPage: true });
    await context.close();
  });
});

withChromium('the web page with more failed items than fit on one page', () => {
  let world: World;
  let serving: Serving;
  let browser: Browser;
  const INVALID = 250;

  beforeAll(async () => {
    world = await createWorld({ products: 260, batchSize: 100 });
    for (let i = 0; i < INVALID; i++) world.erp.catalog.patch(i, { price: 'yok' });
    expect((await world.run()).summary).toMatchObject({ invalid: INVALID, pushed: 10 });
    ({ serving, browser } = await serveAndBrowse(world));
  });

  afterAll(async () => {
    await stopServing(serving, browser);
    await world?.close();
  });

  it('pages through them 200 at a time, each item on exactly one page, and a filter starts again from the first', async () => {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: TIME_ZONE });
    const page = await context.newPage();
    await page.goto(serving.url);
    const count = page.locator('#items-count');
    const barcodes = () => page.locator('#items-failed tbody tr td:nth-child(3)').allInnerTexts();
    const previous = page.getByRole('button', { name: 'Previous 200' });
    const next = page.getByRole('button', { name: 'Next 200' });

    await expect.poll(() => count.innerText()).toBe('1–200 of 250 items');
    const first = await barcodes();
    expect(first).toHaveLength(200);
    expect(await previous.isDisabled()).toBe(true);

    await next.click();
    await expect.poll(() => count.innerText()).toBe('201–250 of 250 items');
    const second = await barcodes();
    expect(second).toHaveLength(50);
    expect(await next.isDisabled()).toBe(true);
    await count.scrollIntoViewIfNeeded();
    await page.screenshot({ path: new URL('web-items-second-page-en.png', ARTIFACTS).pathname });
    const expected = Array.from({ length: INVALID }, (_, i) => world.erp.catalog.item(i)!.barcode);
    expect([...first, ...second].sort()).toEqual(expected.sort());

    await previous.click();
    await expect.poll(() => count.innerText()).toBe('1–200 of 250 items');
    expect(await barcodes()).toEqual(first);

    await next.click();
    await expect.poll(() => count.innerText()).toBe('201–250 of 250 items');
    await page.getByLabel('Search (barcode, stock code, name)').fill(first[0]!);
    await expect.poll(() => count.innerText()).toBe('1 of 1 items');
    expect(await page.locator('#items-pager').isHidden()).toBe(true);
    await context.close();
  });
});

withChromium('the web page of a connection that feeds three marketplaces', () => {
  let world: World;
  let serving: Serving;
  let browser: Browser;
  const sandboxes: TargetSandbox[] = [];
  const notOnTrendyol = new Set<string>();
  const barcode = (i: number) => world.erp.catalog.item(i)!.barcode;

  interface TargetRunRecord { target: string; status: string; pushed: number; rejected: number; not_listed: number; failed: number; awaiting: number; submitted: number }
  const targetRuns = () => world.query<TargetRunRecord>(`SELECT * FROM run_targets WHERE run_id = (SELECT max(id) FROM runs) ORDER BY target`);

  beforeAll(async () => {
    world = await createWorld({ products: 40, batchSize: 20 });
    notOnTrendyol.add(barcode(1)).add(barcode(2));
    // Trendyol answers within the run: two barcodes it has no product for, one it refuses.
    const trendyol = await connectTarget(world, 'trendyol', { pendingPolls: 0, listed: (b) => !notOnTrendyol.has(b) }, { resultWaitSeconds: '1' });
    trendyol.faults.failItems.set(barcode(3), 'Ürün satışa kapalı');
    // N11 takes the batch, and the run ends before it answers.
    const n11 = await connectTarget(world, 'n11', { pendingPolls: 0, listed: () => true }, { resultWaitSeconds: '0' });
    sandboxes.push(trendyol, n11);
    // Invalid in the ERP: no marketplace gets it.
    world.erp.catalog.patch(5, { price: 'yok' });
    const { summary } = await world.run();
    expect(summary.targets.map((t) => [t.target, t.status])).toEqual([['marketplace', 'succeeded'], ['n11', 'succeeded'], ['trendyol', 'succeeded']]);
    ({ serving, browser } = await serveAndBrowse(world));
  });

  afterAll(async () => {
    await stopServing(serving, browser);
    await Promise.all(sandboxes.map((s) => s.close()));
    await world?.close();
  });

  async function open(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: TIME_ZONE, viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    await page.goto(serving.url);
    await page.locator('article[data-connection="shop"] section[data-target="trendyol"] [data-target-count="pushed"]').filter({ hasNotText: '–' }).waitFor();
    return { context, page };
  }

  it('shows a block per target with its marketplace, health, last delivery, last run and what waits', async () => {
    const { context, page } = await open();
    const card = page.locator('article[data-connection="shop"]');
    const finishedAt = world.query<{ finished_at: string }>(`SELECT finished_at FROM runs ORDER BY id DESC LIMIT 1`)[0]!.finished_at;
    const rows = targetRuns();
    expect(await card.locator('section[data-target]').evaluateAll((blocks) => blocks.map((b) => b.getAttribute('data-target')))).toEqual(['marketplace', 'n11', 'trendyol']);
    for (const row of rows) {
      const block = card.locator(`section[data-target="${row.target}"]`);
      const shown = Object.fromEntries(
        await Promise.all(['pushed', 'rejected', 'notListed', 'failed', 'awaiting'].map(async (key) => [key, Number(await block.locator(`[data-target-count="${key}"]`).textContent())])),
      );
      expect(shown, row.target).toEqual({ pushed: row.pushed, rejected: row.rejected, notListed: row.not_listed, failed: row.failed, awaiting: row.awaiting });
      expect(await block.locator('.target-health').textContent(), row.target).toBe('Delivering, no problems');
      expect(await block.locator('.last-delivery time').getAttribute('datetime'), row.target).toBe(finishedAt);
    }
    expect(rows.find((r) => r.target === 'trendyol')).toMatchObject({ rejected: 1, not_listed: 2 });
    const awaiting = world.query<{ n: number }>(`SELECT coalesce(sum(offers), 0) AS n FROM outbox WHERE target = 'n11' AND submitted_at IS NOT NULL`)[0]!.n;
    expect(awaiting).toBe(39);

    expect(await card.locator('section[data-target="trendyol"] .target-title').textContent()).toBe('Trendyol');
    expect(await card.locator('section[data-target="trendyol"] .target-name').count()).toBe(0);
    expect(await card.locator('section[data-target="trendyol"] .target-items').textContent()).toBe('1 failed items · 2 not listed (create them on the marketplace first)');
    expect(await card.locator('section[data-target="n11"] .target-items').textContent()).toBe(`${awaiting} awaiting the marketplace's result`);
    expect(await card.locator('section[data-target="marketplace"] .target-items').textContent()).toBe('');
    await page.screenshot({ path: new URL('web-three-targets-en.png', ARTIFACTS).pathname, fullPage: true });
    await context.close();
  });

  it('shows each target\'s part of a run in the run history and filters its item events by target', async () => {
    const { context, page } = await open();
    const run = world.query<{ id: number }>(`SELECT max(id) AS id FROM runs`)[0]!.id;
    const trendyol = targetRuns().find((r) => r.target === 'trendyol')!;
    const n11 = targetRuns().find((r) => r.target === 'n11')!;
    const row = page.locator('#runs tbody tr').first();
    expect(await row.locator('li[data-target="trendyol"]').textContent()).toBe(`trendyol: ${trendyol.pushed} pushed · 1 rejected · 2 not listed`);
    expect(await row.locator('li[data-target="n11"]').textContent()).toBe(`n11: 0 pushed · ${n11.awaiting} awaiting result`);

    await page.getByRole('button', { name: `Items of run #${run}` }).click();
    const events = page.locator('#run-events-table tbody tr');
    const count = (target: string) => world.query<{ n: number }>(`SELECT count(*) AS n FROM events WHERE run_id = ? AND target IN ('', ?)`, run, target)[0]!.n;
    const all = world.query<{ n: number }>(`SELECT count(*) AS n FROM events WHERE run_id = ?`, run)[0]!.n;
    await expect.poll(() => page.locator('#run-events-count').textContent()).toBe(`${Math.min(all, 500)} of ${all} item events`);
    await page.locator('#run-events-filter select[name="target"]').selectOption('trendyol');
    await expect.poll(() => events.count()).toBe(count('trendyol'));
    const targets = new Set(await events.locator('td:nth-child(2)').allInnerTexts());
    expect([...targets].sort()).toEqual(['every marketplace', 'trendyol']);
    await context.close();
  });

  it('filters the failed items by marketplace, the ERP\'s invalid products under every one', async () => {
    const { context, page } = await open();
    const rows = page.locator('#items-failed tbody tr');
    const cells = async () => (await rows.evaluateAll((trs) => trs.map((tr) => [tr.children[1]!.textContent, tr.children[2]!.textContent, tr.children[5]!.textContent]))).sort();
    await expect.poll(() => rows.count()).toBe(4);
    const filter = page.locator('#filters select[name="target"]');
    expect(await filter.locator('option').allTextContents()).toEqual(['All', 'marketplace', 'n11', 'trendyol']);
    await filter.selectOption('trendyol');
    await expect.poll(cells).toEqual([
      ['every marketplace', barcode(5), 'invalid'],
      ['trendyol', barcode(1), 'not listed'],
      ['trendyol', barcode(2), 'not listed'],
      ['trendyol', barcode(3), 'rejected'],
    ].sort());
    expect(await page.locator('#csv').getAttribute('href')).toContain('target=trendyol');
    await filter.selectOption('n11');
    await expect.poll(cells).toEqual([['every marketplace', barcode(5), 'invalid']]);
    await context.close();
  });

  it('serves /metrics with each target\'s series labelled by connection and target', async () => {
    const answer = await http('127.0.0.1', serving.port, '/metrics', { headers: { host: `127.0.0.1:${serving.port}` } });
    expect(answer.status).toBe(200);
    const value = (name: string, target: string) => {
      const line = answer.body.split('\n').find((l) => l.startsWith(`${name}{connection="shop",target="${target}"} `));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };
    for (const row of targetRuns()) {
      expect(value('erp_sync_target_last_run_items_pushed', row.target), row.target).toBe(row.pushed);
      expect(value('erp_sync_target_last_run_items_not_listed', row.target), row.target).toBe(row.not_listed);
      expect(value('erp_sync_target_healthy', row.target), row.target).toBe(1);
    }
    expect(value('erp_sync_target_not_listed_offers', 'trendyol')).toBe(2);
    expect(value('erp_sync_target_failing_offers', 'trendyol')).toBe(1);
    expect(value('erp_sync_target_awaiting_offers', 'n11')).toBe(39);
    expect(value('erp_sync_target_awaiting_offers', 'trendyol')).toBe(0);
    const finishedAt = world.query<{ finished_at: string }>(`SELECT finished_at FROM runs ORDER BY id DESC LIMIT 1`)[0]!.finished_at;
    expect(value('erp_sync_target_last_delivery_timestamp_seconds', 'n11')).toBe(Date.parse(finishedAt) / 1000);
    expect(answer.body).toContain('erp_sync_target_info{connection="shop",target="n11",kind="n11"} 1\n');
    expect(answer.body).toContain('erp_sync_target_info{connection="shop",target="marketplace",kind="offer-api"} 1\n');
    for (const secret of Object.values(world.env).filter((v): v is string => typeof v === 'string' && v.length > 8 && !v.includes('/'))) {
      expect(answer.body).not.toContain(secret);
    }
  });
});

/** `erp-sync serve` on the world's home, and a browser for its page; screenshots go to test-artifacts/. */
async function serveAndBrowse(world: World): Promise<{ serving: Serving; browser: Browser }> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return { serving: await startServe(world.env), browser: await launchChromium() };
}

async function stopServing(serving: Serving | undefined, browser: Browser | undefined): Promise<void> {
  await browser?.close();
  await serving?.stop();
}

async function download(page: Page): Promise<{ header: string[]; rows: string[][] }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
  const text = readFileSync(await file.path(), 'utf8');
  expect(text.startsWith('\uFEFF')).toBe(true);
  const [header, ...rows] = parseCsv(text.slice(1));
  return { header: header!, rows };
}

/** RFC 4180, enough for the export: quoted fields with doubled quotes and CRLF line ends. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}

