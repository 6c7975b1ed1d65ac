import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { barcodeFor } from '../../src/sandbox/catalog.js';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { json, runCli } from '../support/cli.js';
import { hasCommands, requireTool } from '../support/requirements.js';
import type { ItemEventRow, PendingItem, ProblemItem, RunRow } from '../../src/store/queries.js';

// CSI and OSC sequences: colours, cursor movement, progress bar redraws.
const ESCAPE = /\u001b[[\]]/;

const REJECTED = [3, 13].map(barcodeFor);
const INVALID = barcodeFor(5);
const PENDING_INDEXES = [7, 57, 107, 157];
/** The marketplace fails every batch holding item 40: the rest of its batch goes through, it alone does not. */
const FAILING = [barcodeFor(40)];

let world: World;
let firstRun: number;

/** The CLI with colours allowed: anything it colours must come from a terminal, which tests never have. */
const colourEnv = () => Object.fromEntries(Object.entries(world.env).filter(([key]) => key !== 'NO_COLOR'));

beforeAll(async () => {
  world = await createWorld({ products: 200, batchSize: 20, inMasterCatalog: (barcode) => !PENDING_INDEXES.map(barcodeFor).includes(barcode) });
  for (const barcode of REJECTED) world.marketplace.faults.rejectBarcodes.add(barcode);
  world.marketplace.faults.failBarcodes.add(barcodeFor(40));
  world.erp.catalog.patch(5, { price: 'on iki lira' });
  world.erp.catalog.patch(20, { name: 'IŞIKLI Makyaj Aynası' });
  const { result, summary } = await world.run();
  expect(result.code).toBe(75);
  expect(summary).toMatchObject({ status: 'partial', invalid: 1, rejected: 2, failed: 1 });
  firstRun = summary.runId!;
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe('erp-sync logs', () => {
  it('lists the latest runs with their counts, as text, JSON and CSV', async () => {
    const text = await world.cli('logs');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`#${firstRun}\\b.*shop`));
    expect(text.stdout).toMatch(/rejected 2 · failed 1/);

    const { runs } = json<{ runs: RunRow[] }>(await world.cli('logs', '--json'));
    expect(runs[0]).toMatchObject({ id: firstRun, connection: 'shop', status: 'partial', pulled: 200, invalid: 1, rejected: 2, failed: 1 });

    const csv = parse((await world.cli('logs', '--csv')).stdout, { columns: true, bom: true }) as Record<string, string>[];
    expect(csv[0]).toMatchObject({ id: String(firstRun), status: 'partial', rejected: '2', failed: '1' });
  });

  it('--failed holds the rejected, invalid and undelivered items, the same in JSON and CSV', async () => {
    const { failed, total } = json<{ failed: ProblemItem[]; total: number }>(await world.cli('logs', '--failed', '--json'));
    const byOutcome = (outcome: string) => failed.filter((i) => i.outcome === outcome).map((i) => i.barcode).sort();
    expect(byOutcome('rejected')).toEqual(REJECTED);
    expect(byOutcome('invalid')).toEqual([INVALID]);
    expect(byOutcome('failed')).toEqual(FAILING);
    expect(total).toBe(4);
    expect(failed.find((i) => i.barcode === INVALID)).toMatchObject({ code: 'PRICE_NOT_A_NUMBER', connection: 'shop' });

    const csv = parse((await world.cli('logs', '--failed', '--csv')).stdout, { columns: true, bom: true }) as Record<string, string>[];
    expect(csv.map((r) => r.barcode).sort()).toEqual(failed.map((i) => i.barcode).sort());
    expect(csv.find((r) => r.barcode === INVALID)).toMatchObject({ outcome: 'invalid', code: 'PRICE_NOT_A_NUMBER' });
    expect(csv.find((r) => r.barcode === INVALID)!.explanation).toMatch(/price/i);
  });

  it('--failed narrows by --code and --since; --code means nothing to --pending', async () => {
    const byCode = json<{ failed: ProblemItem[]; total: number }>(await world.cli('logs', '--failed', '--code', 'HTTP_503', '--json'));
    expect(byCode.failed.map((i) => i.barcode).sort()).toEqual(FAILING);
    expect(byCode.total).toBe(FAILING.length);
    expect(json<{ failed: ProblemItem[] }>(await world.cli('logs', '--failed', '--since', '24h', '--json')).failed).toHaveLength(4);
    expect(json<{ failed: ProblemItem[] }>(await world.cli('logs', '--failed', '--since', '2099-01-01', '--json')).failed).toEqual([]);
    const pendingCode = await world.cli('logs', '--pending', '--code', 'HTTP_503');
    expect(pendingCode.code).toBe(64);
    expect(pendingCode.stderr).toContain('--code');
  });

  it('--pending holds the offers waiting for approval', async () => {
    const { pending } = json<{ pending: PendingItem[] }>(await world.cli('logs', '--pending', '--json'));
    expect(pending.map((p) => p.barcode).sort()).toEqual(PENDING_INDEXES.map(barcodeFor));
  });

  it('item events of a run carry stage, outcome, code, a plain message and the marketplace answer', async () => {
    const { events } = json<{ events: ItemEventRow[] }>(await world.cli('logs', '--run', String(firstRun), '--limit', '500', '--json'));
    const rejected = events.find((e) => e.barcode === REJECTED[0]);
    expect(rejected).toMatchObject({ runId: firstRun, stage: 'push', outcome: 'rejected', connection: 'shop' });
    expect(rejected!.code).toBeTruthy();
    const failed = events.find((e) => e.barcode === FAILING[0]);
    expect(failed).toMatchObject({ outcome: 'failed', code: 'HTTP_503' });
    expect(failed!.message).toMatch(/Attempt 1 of 5: the offer is sent again next run, on its own\./);

    const text = await world.cli('--lang', 'tr', 'logs', '--run', String(firstRun), '--search', REJECTED[0]!);
    expect(text.stdout).toContain(REJECTED[0]);
    expect(text.stdout).toContain('reddedildi');
    expect(text.stdout).toContain('Pazaryerinin kuralları bu ürüne izin vermiyor.');
    expect(text.stdout).toContain('pazaryeri yanıtı: This product cannot be listed');
  });

  it('--search matches names in either case with Turkish letters, typed with or without them', async () => {
    for (const search of ['ışıklı', 'Işıklı makyaj', 'isikli', 'AYNASI']) {
      const { events } = json<{ events: ItemEventRow[] }>(await world.cli('logs', '--search', search, '--json'));
      expect(events.map((e) => e.barcode), search).toContain(barcodeFor(20));
      expect(new Set(events.map((e) => e.barcode)), search).toEqual(new Set([barcodeFor(20)]));
    }
  });

  it('writes no escape codes when stdout is not a terminal, even with colours allowed', async () => {
    for (const args of [['logs'], ['logs', '--failed'], ['status'], ['explain', REJECTED[0]!]]) {
      const result = await runCli(args, colourEnv());
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout, args.join(' ')).not.toMatch(ESCAPE);
    }
  });
});

describe('erp-sync status and explain', () => {
  it('status says when the last sync was and what fails', async () => {
    const status = json<{ connections: { connection: string; health: string; failing: number; pendingApproval: number; lastRun: RunRow; lastSuccess: RunRow | null }[]; schedule: unknown }>(
      await world.cli('status', '--json'),
    );
    const shop = status.connections.find((c) => c.connection === 'shop')!;
    expect(shop).toMatchObject({ health: 'broken', failing: 4, pendingApproval: 4, lastSuccess: null });
    expect(shop.lastRun).toMatchObject({ id: firstRun, status: 'partial' });
    const text = await world.cli('status');
    expect(text.stdout).toMatch(/Failing:\s+4 items/);
    expect(text.stdout).toMatch(/Pending approval:\s+4 offers/);
    expect(text.stdout).toMatch(/Last sync:\s+never/);
    // A run's status is worded alike by status, logs and connections (and the web page).
    expect(text.stdout).toMatch(new RegExp(`#${firstRun} partly synced`));
    expect((await world.cli('logs')).stdout).toMatch(new RegExp(`#${firstRun}\\b.*partly synced`));
    expect((await world.cli('--lang', 'tr', 'status')).stdout).toMatch(new RegExp(`#${firstRun} kısmen senkronize edildi`));
    expect((await world.cli('connections')).stdout).toMatch(/Last sync: .* \(partly synced\)/);
  });

  it('explain shows the ERP record, the marketplace answer and the verdict', async () => {
    type Target = { target: string; verdict: string; acknowledged: { status: string } | null; waiting: unknown[] };
    type Explained = { connections: { staged: { raw: unknown; valid: boolean } | null; targets: Target[] }[]; history: ItemEventRow[] };
    const rejected = json<Explained>(await world.cli('explain', REJECTED[0]!, '--json'));
    expect(rejected.connections[0]).toMatchObject({ staged: { valid: true }, targets: [{ target: 'marketplace', verdict: 'rejected', acknowledged: { status: 'rejected' } }] });
    expect(rejected.connections[0]!.staged!.raw).toBeTruthy();
    expect(rejected.history[0]).toMatchObject({ outcome: 'rejected' });

    const invalid = json<Explained>(await world.cli('explain', INVALID, '--json'));
    expect(invalid.connections[0]).toMatchObject({ staged: { valid: false }, targets: [{ verdict: 'invalid', acknowledged: null }] });
    expect(JSON.stringify(invalid.connections[0]!.staged!.raw)).toContain('on iki lira');

    const pending = json<Explained>(await world.cli('explain', barcodeFor(7), '--json'));
    expect(pending.connections[0]!.targets).toMatchObject([{ verdict: 'pending_approval' }]);

    const failing = json<Explained>(await world.cli('explain', FAILING[0]!, '--json'));
    expect(failing.connections[0]!.targets[0]!.verdict).toBe('failed');
    expect(failing.connections[0]!.targets[0]!.waiting).toEqual([]);

    const bySku = world.query<{ sku: string }>(`SELECT sku FROM staging WHERE barcode = ?`, barcodeFor(7))[0]!.sku;
    expect(json<Explained>(await world.cli('explain', bySku, '--json')).connections[0]!.targets).toMatchObject([{ verdict: 'pending_approval' }]);

    const missing = await world.cli('explain', '0000000000000');
    expect(missing.code).toBe(64);
    expect(missing.stderr).toMatch(/logs --search/);
  });
});

describe('erp-sync run output', () => {
  it('prints a few plain lines without a terminal, nothing with --quiet, JSON lines with --log-format json', async () => {
    world.erp.catalog.change(5);
    const plain = await runCli(['run', '--connection', 'shop'], colourEnv());
    expect(plain.stderr).toMatch(/shop: pulling products from Sandbox ERP/);
    expect(plain.stderr).toMatch(/shop: 200 products pulled \(4 pages/);
    expect(plain.stderr).toMatch(/to push/);
    expect(plain.stdout + plain.stderr).not.toMatch(ESCAPE);
    expect(plain.stderr.split('\n').length).toBeLessThan(12);

    const quiet = await world.cli('run', '--connection', 'shop', '--quiet');
    expect(quiet.stdout).toBe('');
    // Item 40 still fails, so the one error is all there is.
    expect(quiet.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^shop: Error: .*not delivered/),
      expect.stringMatching(/^shop: Try: /),
    ]);

    const logged = await world.cli('run', '--connection', 'shop', '--log-format', 'json', '--json');
    const lines = logged.stderr.trim().split('\n').map((line) => JSON.parse(line) as { event: string; level: string });
    expect(lines.map((l) => l.event)).toEqual(['run.start', 'run.pull', 'run.diff', 'run.finish']);
    // The same lines as the plain ones, the pull's end included, with their figures as fields.
    expect(lines[1]).toMatchObject({ message: expect.stringMatching(/^shop: 200 products pulled \(4 pages/), pages: 4, products: 200 });
    // Item 40 failed again, alone: the run is partial, and an error.
    expect(lines.find((l) => l.event === 'run.finish')).toMatchObject({ level: 'error', status: 'partial', connection: 'shop' });
    expect(json<{ runs: unknown[] }>(logged).runs).toHaveLength(1);

    // An error that ends a command is one JSON line too, with its code and what to do.
    const refused = await world.cli('connect', 'nosuch', '--log-format', 'json');
    expect(refused.code).toBe(64);
    const [line, ...rest] = refused.stderr.trim().split('\n');
    expect(rest).toEqual([]);
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', event: 'command.error', code: 'UNKNOWN_DRIVER', exitCode: 64, hint: expect.stringMatching(/demo/) });
  });
});

describe('a connection name that is not there', () => {
  it('gets the same error from every command, naming the connections there are', async () => {
    const commands = [
      ['run', '--connection', 'shopp'], ['preview', '--connection', 'shopp'], ['rules', 'shopp', 'show'], ['test', 'shopp'],
      ['disconnect', 'shopp', '--yes'], ['logs', '--connection', 'shopp'], ['explain', REJECTED[0]!, '--connection', 'shopp'],
    ];
    for (const args of commands) {
      const result = await world.cli(...args, '--log-format', 'json');
      expect(result.code, args.join(' ')).toBe(64);
      expect(JSON.parse(result.stderr.trim()), args.join(' ')).toMatchObject({
        event: 'command.error', code: 'UNKNOWN_CONNECTION', message: 'there is no connection named "shopp"', hint: expect.stringContaining('shop'),
      });
    }
    const turkish = await world.cli('--lang', 'tr', 'logs', '--connection', 'shopp');
    expect(turkish.stderr).toContain('"shopp" adında bir bağlantı yok');
    expect(turkish.stderr).toContain('Bağlantılar: shop.');
  });
});

describe('--failed once items go through', () => {
  it('drops undelivered items when they are delivered, invalid ones when fixed or gone, rejected ones when accepted', async () => {
    world.marketplace.faults.failBarcodes.clear();
    world.erp.catalog.patch(5, { price: '12.00' });
    world.marketplace.faults.rejectBarcodes.delete(REJECTED[0]!);
    world.erp.catalog.patch(3, { price: '77.70' });
    const { summary } = await world.run();
    expect(summary.status).toBe('succeeded');

    const { failed } = json<{ failed: ProblemItem[] }>(await world.cli('logs', '--failed', '--json'));
    expect(failed.map((i) => i.barcode)).toEqual([REJECTED[1]]);

    // An invalid product that leaves the ERP leaves the list too, though nothing is pushed for it.
    world.erp.catalog.patch(30, { price: 'yok' });
    await world.run();
    expect(json<{ failed: ProblemItem[] }>(await world.cli('logs', '--failed', '--json')).failed.map((i) => i.barcode)).toContain(barcodeFor(30));
    world.erp.catalog.remove(30);
    await world.run();
    expect(json<{ failed: ProblemItem[] }>(await world.cli('logs', '--failed', '--json')).failed.map((i) => i.barcode)).toEqual([REJECTED[1]]);

    const status = json<{ connections: { connection: string; health: string; failing: number }[] }>(await world.cli('status', '--json'));
    expect(status.connections[0]).toMatchObject({ connection: 'shop', failing: 1, health: 'attention' });
  });
});

describe('retention at the end of a run', () => {
  it('deletes runs and events older than 90 days, keeping the latest successful run', async () => {
    const db = new Database(join(world.home, 'erp-sync.db'));
    const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
    const recent = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const [oldest, secondOldest] = (db.prepare(`SELECT id FROM runs ORDER BY id LIMIT 2`).all() as { id: number }[]).map((r) => r.id);
    db.prepare(`UPDATE runs SET started_at = ? WHERE id = ?`).run(old, oldest);
    db.prepare(`UPDATE events SET at = ? WHERE run_id = ?`).run(old, oldest);
    db.prepare(`UPDATE runs SET started_at = ? WHERE id = ?`).run(recent, secondOldest);
    const lastSuccess = (db.prepare(`SELECT max(id) AS id FROM runs WHERE status = 'succeeded'`).get() as { id: number }).id;
    db.prepare(`UPDATE runs SET started_at = ? WHERE id = ?`).run(old, lastSuccess);
    const eventsOfOldest = (db.prepare(`SELECT count(*) AS n FROM events WHERE run_id = ?`).get(oldest) as { n: number }).n;
    expect(eventsOfOldest).toBeGreaterThan(0);
    db.close();

    // A failing run: the backdated success stays the latest one, so it must survive the prune.
    world.erp.faults.failNext = 10;
    await world.run();
    const runs = world.query<{ id: number }>(`SELECT id FROM runs ORDER BY id`).map((r) => r.id);
    expect(runs).not.toContain(oldest);
    expect(runs).toContain(secondOldest);
    expect(runs).toContain(lastSuccess);
    expect(world.query<{ n: number }>(`SELECT count(*) AS n FROM events WHERE run_id = ?`, oldest)[0]!.n).toBe(0);
    expect(world.query<{ n: number }>(`SELECT count(*) AS n FROM events WHERE run_id = ?`, secondOldest)[0]!.n).toBeGreaterThan(0);
  });
});

describe('erp-sync schedule and doctor', () => {
  it('prints a crontab line with absolute paths, the home and no flock', async () => {
    const result = await world.cli('schedule', '--cron', '--every', '15m', '--print');
    expect(result.code).toBe(0);
    const line = result.stdout.trim();
    expect(line).toMatch(/^\d{1,2}-59\/15 \* \* \* \* ERP_SYNC_HOME='[^']+' (LANG='[^']*' )?'\/[^']*node[^']*' '\/[^']+erp-sync\.js' run --quiet # erp-sync schedule$/);
    expect(line).toContain(world.home);
    expect(line).not.toContain('flock');
  });

  it('refuses an interval that cannot be scheduled evenly', async () => {
    const result = await world.cli('schedule', '--every', '7m', '--print');
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/15m/);
  });

  describe.runIf(requireTool('systemd-analyze', () => hasCommands('systemd-analyze'), 'apt-get install systemd'))('systemd units', () => {
    it('prints a service and timer that systemd-analyze verify accepts', async () => {
      const result = await world.cli('schedule', '--systemd', '--every', '15m', '--print');
      expect(result.code).toBe(0);
      const [, service, timer] = result.stdout.split(/^# erp-sync\.(?:service|timer)\n/m);
      expect(service).toMatch(/^Type=oneshot$/m);
      expect(service).toMatch(/^Environment=ERP_SYNC_HOME=\//m);
      expect(service).toMatch(/^SuccessExitStatus=75$/m);
      expect(timer).toMatch(/^Persistent=true$/m);
      expect(timer).toMatch(/^OnCalendar=\*-\*-\* \*:00\/15:00$/m);
      expect(timer).toMatch(/^RandomizedDelaySec=\d+$/m);
      const dir = mkdtempSync(join(tmpdir(), 'erp-sync-units-'));
      try {
        writeFileSync(join(dir, 'erp-sync.service'), service!);
        writeFileSync(join(dir, 'erp-sync.timer'), timer!);
        const verify = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'erp-sync.service'), join(dir, 'erp-sync.timer')], { encoding: 'utf8' });
        // Complaints about the host (no running systemd in a container) are not about the units.
        const complaints = verify.stderr.split('\n').filter((l) => l.includes('erp-sync.'));
        expect(complaints, verify.stderr).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('names the systemd credentials of connections that keep their secrets there', async () => {
      const env = { ...world.env, ERP_SYNC_HOME: world.home };
      expect((await runCli(['connect', 'demo', '--name', 'warehouse', '--base-url', world.erp.url, '--secret-store', 'systemd'], env)).code).toBe(0);
      const result = await runCli(['schedule', '--systemd', '--print'], env);
      expect(result.stdout).toMatch(/^LoadCredentialEncrypted=erp-sync\.warehouse\.apiKey:\/etc\/credstore\.encrypted\/erp-sync\.warehouse\.apiKey$/m);
      expect((await runCli(['disconnect', 'warehouse', '--yes'], env)).code).toBe(0);
    });
  });

  it('doctor checks the installation and says how to fix what is wrong', async () => {
    const result = await world.cli('doctor', '--json');
    const { checks } = json<{ checks: { id: string; status: string; fix?: string }[] }>(result);
    const status = Object.fromEntries(checks.map((c) => [c.id, c.status]));
    expect(status).toMatchObject({
      home: 'ok', integrity: 'ok', 'secrets:shop': 'ok', 'connection:shop': 'ok', 'secrets:marketplace': 'ok', marketplace: 'ok', 'clock:shop': 'ok', 'clock:marketplace': 'ok',
    });
    expect(checks.find((c) => c.id === 'schedule')).toMatchObject({ status: 'warn', fix: 'erp-sync schedule --every 15m --install' });
    expect(result.code).toBe(0);

    const broken = await runCli(['doctor'], { ...world.env, ERP_SYNC_MARKETPLACE_TOKEN: 'wrong-token' });
    expect(broken.code).toBe(77);
    expect(broken.stdout).toMatch(/✗ Marketplace: /);
    expect(broken.stdout).toMatch(/Fix: /);
  });
});
