import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { ConfigStore, MARKETPLACE } from '../../src/config/config.js';
import type { RunSummary } from '../../src/model/run.js';
import { expectedOffers } from '../support/world.js';
import type { World } from '../support/world.js';

/**
 * Changes settings the way `erp-sync connect --set` stores them, for settings
 * a test needs that the connect command does not offer (yet).
 */
export function configure(home: string, change: { marketplace?: Record<string, string>; connection?: { name: string; settings: Record<string, string> } }): void {
  const config = new ConfigStore(home);
  if (change.marketplace) {
    const marketplace = config.target(MARKETPLACE)!;
    config.saveTarget({ ...marketplace, settings: { ...marketplace.settings, ...change.marketplace } });
  }
  if (change.connection) {
    const connection = config.connection(change.connection.name)!;
    config.saveConnection({ ...connection, settings: { ...connection.settings, ...change.connection.settings } });
  }
}

/** The marketplace holds exactly the ERP's catalog: same barcodes, prices and stock, every offer active. */
export function expectMarketplaceEqualsErp(world: World): void {
  const expected = expectedOffers(world.erp);
  const live = [...world.marketplace.offers.values()].filter((o) => o.active);
  expect(live.length).toBe(expected.size);
  for (const offer of live) {
    expect({ sku: offer.sku, name: offer.name, price: offer.price, stock: offer.stock, vatRate: offer.vatRate }, offer.barcode).toEqual(expected.get(offer.barcode));
  }
}

/** Runs until a run exits 0, at most `maxRuns` times; returns every run. */
export async function runUntilDone(world: World, maxRuns: number): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  while (runs.length < maxRuns) {
    const { result, summary } = await world.run();
    runs.push(summary);
    if (result.code === 0) return runs;
  }
  throw new Error(`still failing after ${maxRuns} runs: ${runs.map((r) => `${r.exitCode} ${r.error?.code ?? ''}`).join(', ')}`);
}

export async function waitFor<T>(probe: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export interface Receiver {
  url: string;
  /** JSON bodies received, in order (failed answers included). */
  received: Record<string, unknown>[];
  /** Paths and queries the POSTs arrived at. */
  paths: string[];
  /** Answer 500 to every POST while set. */
  failing: boolean;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 answering "ok" as plain text, like Slack. */
export async function startReceiver(): Promise<Receiver> {
  const state = { received: [] as Record<string, unknown>[], paths: [] as string[], failing: false };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      state.received.push(JSON.parse(body) as Record<string, unknown>);
      state.paths.push(req.url ?? '');
      res.writeHead(state.failing ? 500 : 200, { 'content-type': 'text/plain' }).end(state.failing ? 'down' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}
