import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { configure, startReceiver } from './support.js';
import type { Receiver } from './support.js';

let world: World | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await world?.close();
  await receiver?.close();
  world = receiver = undefined;
});

interface AlertRow {
  kind: string;
  closed_at: string | null;
  notified_open_at: string | null;
  notified_close_at: string | null;
  notify_attempts: number;
  notify_error: string | null;
}

const alerts = (w: World) => w.query<AlertRow>(`SELECT * FROM alerts ORDER BY id`);

describe('alerts through a real webhook receiver', () => {
  it('opens once after three failing runs, not again while failing, and closes once on recovery', async () => {
    world = await createWorld({ products: 50 });
    receiver = await startReceiver();
    // The webhook embeds a token: `--set` refuses it, so it never reaches config.json; it is a secret of the marketplace.
    const refused = await world.cli('connect', 'marketplace', '--set', `alertWebhook=${receiver.url}/hooks/erp-sync`);
    expect(refused.code).toBe(64);
    expect(refused.stderr).toMatch(/"alertWebhook" is a secret/);
    world.env.ERP_SYNC_MARKETPLACE_ALERT_WEBHOOK = `${receiver.url}/hooks/erp-sync?channel=ops`;
    world.erp.faults.failNext = 1_000_000;

    const failed = [];
    for (let i = 0; i < 2; i++) {
      const { result, summary } = await world.run();
      expect(result.code).toBe(75);
      failed.push(summary);
    }
    expect(receiver.received).toHaveLength(0);
    expect(alerts(world)).toHaveLength(0);

    expect((await world.run()).result.code).toBe(75);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.paths).toEqual(['/hooks/erp-sync?channel=ops']);
    const opened = receiver.received[0]!;
    expect(opened).toMatchObject({
      event: 'alert.opened', connection: 'shop', problem: 'failing', since: failed[0]!.startedAt,
      command: 'erp-sync logs --failed --connection shop',
    });
    expect(opened.text).toMatch(/^erp-sync: connection "shop" .*3 runs in a row failed.*erp-sync logs --failed --connection shop$/);
    expect(String(opened.text)).not.toContain('\n');

    expect((await world.run()).result.code).toBe(75);
    expect(receiver.received).toHaveLength(1);

    world.erp.faults.failNext = 0;
    expect((await world.run()).result.code).toBe(0);
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]).toMatchObject({ event: 'alert.closed', connection: 'shop', problem: 'failing', alertId: opened.alertId });
    expect(receiver.received[1]!.text).toMatch(/recovered/);

    expect((await world.run()).result.code).toBe(0);
    expect(receiver.received).toHaveLength(2);
    const [row] = alerts(world);
    expect(alerts(world)).toHaveLength(1);
    expect(row).toMatchObject({ kind: 'failing', notify_error: null, notify_attempts: 2 });
    expect(row!.closed_at && row!.notified_open_at && row!.notified_close_at).toBeTruthy();
  });

  it('opens at once when credentials are rejected, using the connection\'s own webhook', async () => {
    world = await createWorld({ products: 20 });
    receiver = await startReceiver();
    world.env.ERP_SYNC_SHOP_ALERT_WEBHOOK = receiver.url;
    world.env.ERP_SYNC_MARKETPLACE_ALERT_WEBHOOK = `${receiver.url}/not-this-one`;
    const wrongKey = { ...world.env, ERP_SYNC_SHOP_API_KEY: 'wrong-key-123' };

    expect((await runCli(['run'], wrongKey)).code).toBe(77);
    expect(receiver.received).toEqual([expect.objectContaining({ event: 'alert.opened', connection: 'shop', problem: 'credentials' })]);
    expect(JSON.stringify(receiver.received)).not.toContain('wrong-key-123');
    expect((await runCli(['run'], wrongKey)).code).toBe(77);
    expect(receiver.received).toHaveLength(1);

    expect((await world.run()).result.code).toBe(0);
    expect(receiver.received.map((r) => r.event)).toEqual(['alert.opened', 'alert.closed']);
    expect(new Set(receiver.paths)).toEqual(new Set(['/']));
  });

  it('notices a connection without a successful sync for longer than its freshness window', async () => {
    world = await createWorld({ products: 20 });
    receiver = await startReceiver();
    world.env.ERP_SYNC_MARKETPLACE_ALERT_WEBHOOK = receiver.url;
    configure(world.home, { connection: { name: 'shop', settings: { freshnessMinutes: '240' } } });
    expect((await world.run()).result.code).toBe(0);
    // The timer died three hours ago: its last run is that old.
    const lastSync = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const db = new Database(join(world.home, 'erp-sync.db'));
    db.prepare(`UPDATE runs SET finished_at = ?`).run(lastSync);
    db.close();

    // Within a 240-minute window nothing is wrong; any command that opens the database checks.
    expect((await world.run('--dry-run')).result.code).toBe(0);
    expect(receiver.received).toHaveLength(0);

    configure(world.home, { connection: { name: 'shop', settings: { freshnessMinutes: '120' } } });
    expect((await world.run('--dry-run')).result.code).toBe(0);
    expect(receiver.received).toEqual([expect.objectContaining({ event: 'alert.opened', connection: 'shop', problem: 'stale', since: lastSync })]);
    expect((await world.run('--dry-run')).result.code).toBe(0);
    expect(receiver.received).toHaveLength(1);

    expect((await world.run()).result.code).toBe(0);
    expect(receiver.received.map((r) => r.event)).toEqual(['alert.opened', 'alert.closed']);
    expect(alerts(world)).toHaveLength(1);
  });

  it('never fails a run because the webhook is down, and sends the notification the next time', async () => {
    world = await createWorld({ products: 20 });
    receiver = await startReceiver();
    receiver.failing = true;
    world.env.ERP_SYNC_MARKETPLACE_ALERT_WEBHOOK = receiver.url;
    const wrongKey = { ...world.env, ERP_SYNC_SHOP_API_KEY: 'wrong-key-123' };

    const refused = await runCli(['run'], wrongKey);
    expect(refused.code).toBe(77);
    // A first attempt and two retries, then the run ends as it would have.
    expect(receiver.received).toHaveLength(3);
    expect(alerts(world)).toEqual([expect.objectContaining({ kind: 'credentials', notified_open_at: null, notify_error: expect.stringMatching(/alert webhook.*500/) })]);

    // `status` says the alert has not reached the webhook, and why; opening the database, it tries again.
    const status = await runCli(['status'], wrongKey);
    expect(status.stdout).toMatch(/the webhook notification is not sent yet: alert webhook: .*answered HTTP 500/);
    expect(receiver.received).toHaveLength(6);

    receiver.failing = false;
    // Any command that opens the database sends what is due, even one that changes no alert.
    expect((await runCli(['run', '--dry-run'], wrongKey)).code).toBe(77);
    expect(receiver.received).toHaveLength(7);
    expect(receiver.received[6]).toMatchObject({ event: 'alert.opened', problem: 'credentials' });
    expect(alerts(world)[0]!.notified_open_at).not.toBeNull();
  });
});
