import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { finished, json } from '../support/cli.js';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import type { RunSummary } from '../../src/model/run.js';
import { expectMarketplaceEqualsErp, waitFor } from './support.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const pushedSoFar = (w: World) => {
  try {
    return w.query<{ pushed: number }>(`SELECT pushed FROM runs ORDER BY id DESC LIMIT 1`)[0]?.pushed ?? 0;
  } catch {
    return 0;
  }
};

describe('graceful stop of the built CLI', () => {
  it('SIGTERM mid-push finishes the batch in flight, records the run as interrupted, releases the lock and exits 75', async () => {
    world = await createWorld({ products: 1000, batchSize: 50 });
    world.marketplace.faults.latencyMs = 150;
    const child = world.start('run', '--connection', 'shop', '--json');
    const done = finished(child);
    await waitFor(() => existsSync(join(world!.home, 'erp-sync.db')) && pushedSoFar(world!) > 0, 20_000, 'the first acknowledged batch');
    child.kill('SIGTERM');
    const result = await done;

    expect(result.code, result.stderr).toBe(75);
    const summary = json<{ runs: RunSummary[] }>(result).runs[0]!;
    expect(summary).toMatchObject({ status: 'interrupted', failed: 0 });
    expect(summary.error?.code).toBe('INTERRUPTED');
    expect(summary.pushed).toBeGreaterThan(0);
    expect(summary.pushed).toBeLessThan(1000);
    expect(summary.pushed % 50).toBe(0);
    expect(world.query(`SELECT status FROM runs`)).toEqual([{ status: 'interrupted' }]);
    expect(existsSync(join(world.home, 'locks', 'shop.lock'))).toBe(false);
    // The batch in flight was answered and recorded: nothing waits in the outbox, the snapshot has what the marketplace has.
    expect(world.query(`SELECT id FROM outbox`)).toHaveLength(0);
    expect(world.query(`SELECT barcode FROM snapshot`)).toHaveLength(world.marketplace.offers.size);
    expect(world.marketplace.offers.size).toBe(summary.pushed);

    world.marketplace.faults.latencyMs = 0;
    const rest = await world.run();
    expect(rest.result.code).toBe(0);
    expect(rest.summary.pushed).toBe(1000 - summary.pushed);
    expectMarketplaceEqualsErp(world);
    expect(world.marketplace.maxApplicationsPerKey()).toBe(1);
  });

  it('a second signal exits at once, and the next run still applies nothing twice', async () => {
    world = await createWorld({ products: 1000, batchSize: 50 });
    // Each batch takes 5 s at the marketplace, so both signals land while one is in flight, however busy the machine.
    world.marketplace.faults.latencyMs = 5000;
    const child = world.start('run', '--connection', 'shop', '--json');
    const done = finished(child);
    await waitFor(() => existsSync(join(world!.home, 'erp-sync.db')) && pushedSoFar(world!) > 0, 20_000, 'the first acknowledged batch');
    let stderr = '';
    child.stderr!.on('data', (chunk: string) => (stderr += chunk));
    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    await waitFor(() => /received SIGTERM/.test(stderr), 5000, 'the first signal to be noticed');
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(143);
    // It did not wait for the batch in flight (five seconds at the marketplace).
    expect(Date.now() - stoppedAt).toBeLessThan(3000);

    // The batch in flight still lands at the marketplace; the next run starts after it has.
    world.marketplace.faults.latencyMs = 0;
    await new Promise((resolve) => setTimeout(resolve, 5100));
    const rest = await world.run();
    expect(rest.result.code).toBe(0);
    expectMarketplaceEqualsErp(world);
    expect(world.marketplace.maxApplicationsPerKey()).toBe(1);
  });
});
