import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { requireTool } from '../support/requirements.js';
import { CHROMIUM_INSTALL, hasChromium, launchChromium, nonLoopbackAddress, startServe } from './support.js';
import type { Serving } from './support.js';

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
    serving = await startServe(world.env);
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await serving?.stop();
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
    expect(all.header).toEqual(['connection', 'barcode', 'sku', 'name', 'outcome', 'code', 'explanation', 'message', 'runId', 'at']);
    expect(all.rows.map((r) => [r[1], r[5]]).sort()).toEqual(expected.map((e) => [e.barcode, e.code]));
    expect(all.rows.find((r) => r[1] === barcode(11))?.[3]).toBe(SCRIPT_NAME);
    expect(all.rows.find((r) => r[1] === barcode(5))?.[6]).toBe('The price in the ERP is not a number.');

    await page.getByLabel('Search (barcode, stock code, name)').fill(barcode(4));
    await expect.poll(() => page.locator('#items-failed tbody tr').count()).toBe(1);
    const filtered = await download(page);
    expect(filtered.rows.map((r) => [r[1], r[4]])).toEqual([[barcode(4), 'rejected']]);
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
    serving = await startServe(world.env);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await serving?.stop();
    await world?.close();
  });

  it('pages through them 200 at a time, each item on exactly one page, and a filter starts again from the first', async () => {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: TIME_ZONE });
    const page = await context.newPage();
    await page.goto(serving.url);
    const count = page.locator('#items-count');
    const barcodes = () => page.locator('#items-failed tbody tr td:nth-child(2)').allInnerTexts();
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
    mkdirSync(ARTIFACTS, { recursive: true });
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

