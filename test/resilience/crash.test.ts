import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { finished } from '../support/cli.js';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { expectMarketplaceEqualsErp, waitFor } from './support.js';
import { seededRandom } from '../../src/sandbox/catalog.js';

/**
 * kill -9 at seeded random points of pull, diff and push, then one run
 * without faults: the marketplace must hold exactly the ERP's catalog and no
 * batch may have been applied twice. In one of the worlds the marketplace
 * also fails now and then, and always over one offer, so the kills land in
 * splits, in offers sent alone and in batches dropped for newer content.
 * Replay a failure with CRASH_SEED=<seed>.
 */
const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const WORLDS = 3;
const KILLS_PER_WORLD = 11;
const PRODUCTS = 2000;

type Phase = 'pull' | 'diff' | 'push';

interface RunRow {
  id: number;
  status: string;
  pull_complete: number;
  pushed: number;
}

function latestRun(world: World): RunRow | undefined {
  if (!existsSync(join(world.home, 'erp-sync.db'))) return undefined;
  try {
    return world.query<RunRow>(`SELECT id, status, pull_complete, pushed FROM runs ORDER BY id DESC LIMIT 1`)[0];
  } catch {
    // The first run is still creating the schema.
    return undefined;
  }
}

/** Starts a run and kills it with SIGKILL at the aimed phase; returns the phase the run was really in. */
async function killDuring(world: World, aim: Phase, rand: () => number): Promise<Phase | 'finished'> {
  const before = latestRun(world)?.id ?? 0;
  const child = world.start('run', '--connection', 'shop', '--json');
  const done = finished(child);
  let exited = false;
  void done.then(() => (exited = true));
  const run = () => {
    const row = latestRun(world);
    return row && row.id > before ? row : undefined;
  };
  const waitForRun = (test: (row: RunRow) => boolean) =>
    waitFor(() => exited || (run() && test(run()!)), 20_000, `a run in its ${aim} phase`);
  if (aim === 'pull') {
    await waitForRun(() => true);
    await sleep(rand() * 250);
  } else if (aim === 'diff') {
    await waitForRun((row) => row.pull_complete === 1);
  } else {
    await waitForRun((row) => row.pushed > 0);
    await sleep(rand() * 400);
  }
  if (exited) return 'finished';
  child.kill('SIGKILL');
  const result = await done;
  // The run may end on its own between the last look and the kill: 'close'
  // comes only after its pipes drain. That run finished; any other end fails.
  if (result.signal === null && result.code === 0) return 'finished';
  expect(result.signal, result.stderr).toBe('SIGKILL');
  const row = run();
  return !row || row.pull_complete === 0 ? 'pull' : row.pushed === 0 ? 'diff' : 'push';
}

async function crashWorld(index: number): Promise<{ world: World; landed: (Phase | 'finished')[] }> {
  const rand = seededRandom(seed + index);
  const world = await createWorld({ products: PRODUCTS, batchSize: 100, pageSize: 100 });
  world.erp.faults.latencyMs = 10;
  world.marketplace.faults.latencyMs = 20;
  if (index === WORLDS - 1) {
    world.marketplace.faults.failBarcodes.add(world.erp.catalog.item(5)!.barcode);
    world.marketplace.faults.errorRate = 0.1;
  }
  const landed: (Phase | 'finished')[] = [];
  // A run that finishes before its kill lands does not count: try again, within a bound.
  for (let attempt = 0; landed.filter((p) => p !== 'finished').length < KILLS_PER_WORLD && attempt < KILLS_PER_WORLD * 3; attempt++) {
    const aim = (['pull', 'diff', 'push'] as const)[Math.floor(rand() * 3)]!;
    landed.push(await killDuring(world, aim, rand));
    // The ERP keeps changing between runs, so replayed batches meet newer content.
    if (rand() < 0.4) world.erp.catalog.change(1 + Math.floor(rand() * 3));
  }
  return { world, landed };
}

describe('crash safety: kill -9 at random points, then one clean run', () => {
  it(`leaves the marketplace equal to the ERP with nothing applied twice (seed ${seed})`, async () => {
    process.stdout.write(`crash test seed: ${seed} (replay with CRASH_SEED=${seed})\n`);
    const worlds = await Promise.all(Array.from({ length: WORLDS }, (_, i) => crashWorld(i)));
    try {
      const landed = worlds.flatMap((w) => w.landed);
      const kills = landed.filter((p) => p !== 'finished');
      process.stdout.write(`kill points: ${kills.length} (pull ${count(kills, 'pull')}, diff ${count(kills, 'diff')}, push ${count(kills, 'push')})\n`);
      expect(kills.length).toBeGreaterThanOrEqual(30);
      for (const phase of ['pull', 'push'] as const) expect(count(kills, phase), phase).toBeGreaterThan(0);

      for (const { world } of worlds) {
        world.erp.faults.latencyMs = 0;
        world.marketplace.faults.latencyMs = 0;
        world.marketplace.faults.errorRate = 0;
        world.marketplace.faults.failBarcodes.clear();
        // The offer the marketplace kept failing on may be parked by now: sent again on request.
        expect((await world.cli('retry', '--all')).code).toBe(0);
        const clean = await world.run();
        expect(clean.result.code, clean.result.stderr).toBe(0);
        expectMarketplaceEqualsErp(world);
        expect(world.marketplace.maxApplicationsPerKey()).toBe(1);
        expect(world.query(`SELECT id FROM outbox`)).toHaveLength(0);
        expect(world.query(`SELECT id FROM runs WHERE status = 'running'`)).toHaveLength(0);
        const steady = await world.run();
        expect(steady.summary).toMatchObject({ pushed: 0, new: 0, changed: 0, vanished: 0 });
      }
    } finally {
      await Promise.all(worlds.map((w) => w.world.close()));
    }
  }, 300_000);
});

function count(list: readonly string[], value: string): number {
  return list.filter((v) => v === value).length;
}
