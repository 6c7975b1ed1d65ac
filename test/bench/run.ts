/**
 * `npm run bench`: where erp-sync stands against the limits it does not
 * control. Starts the sandbox ERP and marketplace in this process, runs each
 * scenario through the built CLI as a separate process, prints a table and
 * writes bench-results.json. Every figure is the median of several runs.
 *
 *   npm run bench                              all scenarios, default sizes
 *   npm run bench -- --scenario 2 --sizes 10000,100000
 *   npm run bench -- --scenario 1 --products 50000 --repeat 5
 *   npm run bench -- --scenario 0               start-up alone
 *   npm run bench -- --scenario 8               hosted mode (needs PostgreSQL and Redis, as .ci/run starts them)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { PgDatabase } from '../../src/store/pg.js';
import { SyncQueue } from '../../src/hosted/queue.js';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SandboxErp } from '../../src/sandbox/erp.js';
import { SandboxMarketplace } from '../../src/sandbox/marketplace.js';
import { SandboxTrendyol } from '../../src/sandbox/trendyol.js';
import { SandboxHepsiburada } from '../../src/sandbox/hepsiburada.js';
import { SandboxN11 } from '../../src/sandbox/n11.js';
import type { AsyncTargetSandbox } from '../../src/sandbox/async-target.js';
import type { RunSummary, TargetSummary } from '../../src/model/run.js';

const CLI = fileURLToPath(new URL('../../bin/erp-sync.js', import.meta.url));

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string' },
    products: { type: 'string' },
    sizes: { type: 'string' },
    repeat: { type: 'string', default: '3' },
  },
});
const repeat = Number(args.repeat);
const only = args.scenario ? new Set(args.scenario.split(',').map(Number)) : undefined;

interface Measured {
  summary: RunSummary;
  wallMs: number;
  peakRssMb: number;
  erpRequests: number;
  pushRequests: number;
  pushBytes: number;
  rateLimited: number;
}

/** One world: both sandboxes and an ERP_SYNC_HOME with the connection set up. */
class World {
  readonly home = mkdtempSync(join(tmpdir(), 'erp-sync-bench-'));
  readonly erp: SandboxErp;
  readonly marketplace: SandboxMarketplace;
  constructor(products: number) {
    this.erp = new SandboxErp({ products, apiKey: 'bench-key', maxPageSize: 1000 });
    this.marketplace = new SandboxMarketplace({ token: 'bench-token' });
  }
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, ERP_SYNC_HOME: this.home, ERP_SYNC_SHOP_API_KEY: 'bench-key', ERP_SYNC_MARKETPLACE_TOKEN: 'bench-token', NO_COLOR: '1', LANG: 'C' };
  }
  async start(settings: string[] = []): Promise<this> {
    await this.erp.start();
    await this.marketplace.start();
    await cli(['connect', 'marketplace', '--base-url', this.marketplace.url], this.env);
    await cli(['connect', 'demo', '--name', 'shop', '--base-url', this.erp.url, ...settings.flatMap((s) => ['--set', s])], this.env);
    return this;
  }
  async run(...extra: string[]): Promise<Measured> {
    const before = { erp: this.erp.stats.productRequests, push: this.marketplace.stats.batchRequests, bytes: this.marketplace.stats.bytesReceived, limited: this.erp.stats.rateLimited };
    const started = performance.now();
    const result = await cli(['run', '--connection', 'shop', '--json', ...extra], this.env);
    const wallMs = performance.now() - started;
    const summary = (JSON.parse(result.stdout) as { runs: RunSummary[] }).runs[0]!;
    if (summary.exitCode !== 0) throw new Error(`run failed: ${JSON.stringify(summary.error)}`);
    return {
      summary,
      wallMs,
      peakRssMb: summary.peakRssMb,
      erpRequests: this.erp.stats.productRequests - before.erp,
      pushRequests: this.marketplace.stats.batchRequests - before.push,
      pushBytes: this.marketplace.stats.bytesReceived - before.bytes,
      rateLimited: this.erp.stats.rateLimited - before.limited,
    };
  }
  async close(): Promise<void> {
    await Promise.all([this.erp.close(), this.marketplace.close()]);
    rmSync(this.home, { recursive: true, force: true });
  }
}

const trendyolAccount = { sellerId: '104729', apiKey: 'bench-ty-key', apiSecret: 'bench-ty-secret' };
const hepsiburadaAccount = { merchantId: '3f95e71f-c39e-4266-9eb4-c154807e87f7', serviceKey: 'bench-hb-key', userAgent: 'bench_dev' };
const n11Account = { appKey: 'bench-n11-key', appSecret: 'bench-n11-secret' };

/**
 * The same ERP feeding Trendyol, Hepsiburada and N11 sandboxes instead of the
 * offer API. Their results are ready at the first poll; each run waits for
 * them (the default resultWaitSeconds), so a target's time is submit to result.
 * Their documented rate limits are lifted (rateLimit=100/1s) so the first
 * full sync of the setup does not take minutes at Hepsiburada's 120 a minute.
 */
class TargetsWorld extends World {
  readonly sandboxes: AsyncTargetSandbox[] = [
    new SandboxTrendyol({ ...trendyolAccount, listed: () => true, pendingPolls: 0 }),
    new SandboxHepsiburada({ ...hepsiburadaAccount, listed: () => true, pendingPolls: 0 }),
    new SandboxN11({ ...n11Account, listed: () => true, pendingPolls: 0 }),
  ];
  override get env(): NodeJS.ProcessEnv {
    return {
      ...super.env,
      ERP_SYNC_TRENDYOL_API_KEY: trendyolAccount.apiKey, ERP_SYNC_TRENDYOL_API_SECRET: trendyolAccount.apiSecret,
      ERP_SYNC_HEPSIBURADA_SERVICE_KEY: hepsiburadaAccount.serviceKey, ERP_SYNC_N11_APP_KEY: n11Account.appKey, ERP_SYNC_N11_APP_SECRET: n11Account.appSecret,
    };
  }
  override async start(settings: string[] = []): Promise<this> {
    await this.erp.start();
    for (const sandbox of this.sandboxes) await sandbox.start();
    const [trendyol, hepsiburada, n11] = this.sandboxes as [AsyncTargetSandbox, AsyncTargetSandbox, AsyncTargetSandbox];
    const common = ['--set', 'rateLimit=100/1s', '--yes', '--no-test'];
    await cli(['connect', 'trendyol', '--base-url', trendyol.baseUrl, '--set', `sellerId=${trendyolAccount.sellerId}`, ...common], this.env);
    await cli(['connect', 'hepsiburada', '--base-url', hepsiburada.baseUrl, '--set', `merchantId=${hepsiburadaAccount.merchantId}`, '--set', `userAgent=${hepsiburadaAccount.userAgent}`,
      '--set', 'minIntervalMinutes=0', ...common], this.env);
    await cli(['connect', 'n11', '--base-url', n11.baseUrl, ...common], this.env);
    await cli(['connect', 'demo', '--name', 'shop', '--base-url', this.erp.url, ...settings.flatMap((s) => ['--set', s])], this.env);
    return this;
  }
  override async close(): Promise<void> {
    await Promise.all(this.sandboxes.map((s) => s.close()));
    await super.close();
  }
}

function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 || argv[0] === 'run' ? resolve({ code, stdout, stderr }) : reject(new Error(`erp-sync ${argv.join(' ')} exited ${code}: ${stderr}`))));
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Runs `measure` `repeat` times on fresh worlds and keeps the median of each figure. */
async function medianOf<T extends Record<string, number>>(times: number, measure: () => Promise<T>): Promise<T> {
  const samples: T[] = [];
  for (let i = 0; i < times; i++) samples.push(await measure());
  const out = {} as Record<string, number>;
  for (const key of Object.keys(samples[0]!)) out[key] = median(samples.map((s) => s[key]!));
  return out as T;
}

interface Row {
  scenario: string;
  figure: string;
  value: number;
  unit: string;
  target?: string;
  pass?: boolean;
}
const rows: Row[] = [];
const record = (row: Row) => {
  rows.push(row);
  const verdict = row.pass === undefined ? '' : row.pass ? '  ok' : '  MISSED';
  console.error(`  ${row.scenario.padEnd(22)} ${row.figure.padEnd(44)} ${fmt(row.value).padStart(12)} ${row.unit.padEnd(10)} ${row.target ?? ''}${verdict}`);
};
const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 2 }));

/**
 * Wall time of one process from spawn to exit, in ms. spawnSync, so the
 * figure holds no turn of this process's event loop (nothing here needs the
 * sandboxes while a command starts: `status` reads only the home).
 */
function timed(argv: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const child = spawnSync(process.execPath, argv, { env, stdio: 'ignore' });
  if (child.status !== 0) throw new Error(`${argv.join(' ')} exited ${child.status ?? child.signal}`);
  return performance.now() - started;
}

/**
 * What a person waits for before a command does anything: `--version`, and
 * `status` on a home with a connection and a run behind it, beside node's
 * own start (`node -e 0`), the floor no bundling lowers. The three are taken
 * in turn, so a busy moment on the machine weighs on each alike. Where
 * NODE_EXTRA_CA_CERTS is set, node reads and parses that file at every start
 * before any script runs (a system bundle: 30-40 ms on these machines), so
 * the three are measured again without it.
 */
async function startUp(): Promise<void> {
  const times = Math.max(21, repeat);
  const world = await new World(1_000).start();
  try {
    await world.run();
    const environments: Array<[string, NodeJS.ProcessEnv]> = [['', world.env]];
    if (world.env.NODE_EXTRA_CA_CERTS) {
      const { NODE_EXTRA_CA_CERTS: _, ...without } = world.env;
      environments.push([', without NODE_EXTRA_CA_CERTS', without]);
    }
    for (const [label, env] of environments) {
      const samples = { node: [] as number[], version: [] as number[], status: [] as number[] };
      for (let i = 0; i < times; i++) {
        samples.node.push(timed(['-e', '0'], env));
        samples.version.push(timed([CLI, '--version'], env));
        samples.status.push(timed([CLI, 'status'], env));
      }
      const node = median(samples.node);
      record({ scenario: '0 start-up', figure: `node -e 0 (median of ${times}${label})`, value: Math.round(node), unit: 'ms' });
      for (const [name, values] of [['erp-sync --version', samples.version], ['erp-sync status', samples.status]] as const) {
        const ms = median(values);
        record({ scenario: '0 start-up', figure: `${name} (node's own: ${fmt(Math.round(node))} ms${label})`, value: Math.round(ms), unit: 'ms', target: '< 150', pass: ms < 150 });
      }
    }
  } finally {
    await world.close();
  }
}

async function throughput(products: number): Promise<void> {
  const figures = await medianOf(repeat, async () => {
    const world = await new World(products).start(['pageSize=1000']);
    try {
      const first = await world.run();
      const rerun = await world.run();
      world.erp.catalog.change(1);
      const changed = await world.run();
      // What status costs on a home this size, beside node's own start: its counts must not read every offer.
      const statusMs = median(Array.from({ length: 7 }, () => timed([CLI, 'status'], world.env)));
      const nodeMs = median(Array.from({ length: 7 }, () => timed(['-e', '0'], world.env)));
      // Products per second of the run itself (lock to finish), and of the whole process including node's start.
      const rate = (m: Measured) => products / (m.summary.durationMs / 1000);
      const wallRate = (m: Measured) => products / (m.wallMs / 1000);
      return {
        firstPerSec: rate(first), firstWall: wallRate(first), firstErp: first.erpRequests, firstPush: first.pushRequests, firstPushed: first.summary.pushed,
        rerunPerSec: rate(rerun), rerunWall: wallRate(rerun), rerunErp: rerun.erpRequests, rerunPush: rerun.pushRequests, rerunPushed: rerun.summary.pushed,
        changedPerSec: rate(changed), changedWall: wallRate(changed), changedErp: changed.erpRequests, changedPush: changed.pushRequests, changedPushed: changed.summary.pushed,
        statusMs, nodeMs,
      };
    } finally {
      await world.close();
    }
  });
  const s = `1 throughput ${products / 1000}k`;
  record({ scenario: s, figure: 'first full sync: products/s', value: Math.round(figures.firstPerSec), unit: 'products/s' });
  record({ scenario: s, figure: 'first full sync: products/s, with process start', value: Math.round(figures.firstWall), unit: 'products/s' });
  record({ scenario: s, figure: 'first full sync: requests (ERP + marketplace)', value: figures.firstErp + figures.firstPush, unit: 'requests' });
  record({ scenario: s, figure: 'first full sync: offers pushed', value: figures.firstPushed, unit: 'offers' });
  record({ scenario: s, figure: 'no-change rerun: products/s', value: Math.round(figures.rerunPerSec), unit: 'products/s', target: '>= 50,000', pass: figures.rerunPerSec >= 50_000 });
  record({ scenario: s, figure: 'no-change rerun: products/s, with process start', value: Math.round(figures.rerunWall), unit: 'products/s' });
  record({ scenario: s, figure: 'no-change rerun: requests (ERP + marketplace)', value: figures.rerunErp + figures.rerunPush, unit: 'requests' });
  record({ scenario: s, figure: 'no-change rerun: offers pushed', value: figures.rerunPushed, unit: 'offers', target: '0', pass: figures.rerunPushed === 0 });
  record({ scenario: s, figure: '1% changed: products/s', value: Math.round(figures.changedPerSec), unit: 'products/s' });
  record({ scenario: s, figure: '1% changed: products/s, with process start', value: Math.round(figures.changedWall), unit: 'products/s' });
  record({ scenario: s, figure: '1% changed: requests (ERP + marketplace)', value: figures.changedErp + figures.changedPush, unit: 'requests' });
  record({ scenario: s, figure: '1% changed: offers pushed', value: figures.changedPushed, unit: 'offers', target: `${products / 100}`, pass: figures.changedPushed === products / 100 });
  record({ scenario: s, figure: `erp-sync status on this home (node's own: ${fmt(Math.round(figures.nodeMs))} ms)`, value: Math.round(figures.statusMs), unit: 'ms' });
}

async function memory(sizes: number[]): Promise<void> {
  const peaks = new Map<number, number>();
  for (const size of sizes) {
    const times = size >= 1_000_000 ? Math.min(repeat, 2) : repeat;
    const figures = await medianOf(times, async () => {
      const world = await new World(size).start(['pageSize=1000']);
      try {
        const first = await world.run();
        return { peak: first.peakRssMb, seconds: first.wallMs / 1000 };
      } finally {
        await world.close();
      }
    });
    peaks.set(size, figures.peak);
    record({ scenario: `2 memory ${size.toLocaleString('en-US')}`, figure: `peak RSS of run (first full sync, ${fmt(figures.seconds)} s)`, value: Math.round(figures.peak), unit: 'MB', target: size >= 1_000_000 ? '< 250' : undefined, pass: size >= 1_000_000 ? figures.peak < 250 : undefined });
  }
  const big = peaks.get(1_000_000);
  const mid = peaks.get(100_000);
  if (big && mid) record({ scenario: '2 memory', figure: 'peak at 1,000,000 ÷ peak at 100,000', value: big / mid, unit: '×', target: '<= 1.3', pass: big / mid <= 1.3 });
}

async function latencyBound(): Promise<void> {
  const products = 20_000;
  const figures = await medianOf(repeat, async () => {
    const world = await new World(products).start(['pageSize=100']);
    try {
      // The pull of a connection already in sync, as every scheduled run after the first is.
      await world.run();
      world.erp.faults.latencyMs = 50;
      const run = await world.run('--dry-run');
      const concurrency = 4;
      const ideal = (run.erpRequests * 50) / concurrency;
      return { ratio: run.summary.pullMs / ideal, pullMs: run.summary.pullMs, pages: run.erpRequests };
    } finally {
      await world.close();
    }
  });
  record({ scenario: '3 latency-bound pull', figure: `pull ${fmt(figures.pullMs)} ms for ${figures.pages} pages ÷ (pages × 50 ms ÷ 4)`, value: figures.ratio, unit: '×', target: '<= 1.2', pass: figures.ratio <= 1.2 });
}

async function rateBound(): Promise<void> {
  const pages = 200;
  const figures = await medianOf(repeat, async () => {
    // 200 pages of 100 records: 25,000 products in blocks of 10 items per 8 records.
    const world = await new World((pages * 100 * 10) / 8).start(['pageSize=100', 'rateLimit=20/1s']);
    world.erp.setRateLimit({ requests: 20, perMs: 1000 });
    try {
      const run = await world.run('--dry-run');
      return { ratio: run.summary.pullMs / ((run.erpRequests / 20) * 1000), pullMs: run.summary.pullMs, limited: run.rateLimited, pages: run.erpRequests };
    } finally {
      await world.close();
    }
  });
  record({ scenario: '4 rate-bound pull', figure: `pull ${fmt(figures.pullMs)} ms for ${figures.pages} pages ÷ (pages ÷ 20/s)`, value: figures.ratio, unit: '×', target: '<= 1.1', pass: figures.ratio <= 1.1 });
  record({ scenario: '4 rate-bound pull', figure: '429 answers received', value: figures.limited, unit: '429s', target: '0', pass: figures.limited === 0 });
}

async function whatIsSent(products: number): Promise<void> {
  const figures = await medianOf(repeat, async () => {
    const world = await new World(products).start(['pageSize=1000']);
    try {
      await world.run();
      world.erp.catalog.change(1);
      const delta = await world.run();
      const full = await world.run('--resync');
      return { deltaBytes: delta.pushBytes, deltaRequests: delta.pushRequests, fullBytes: full.pushBytes, fullRequests: full.pushRequests };
    } finally {
      await world.close();
    }
  });
  const s = `5 what is sent ${products / 1000}k`;
  record({ scenario: s, figure: '1% change: bytes / requests pushed', value: figures.deltaBytes, unit: `B / ${figures.deltaRequests} req` });
  record({ scenario: s, figure: 'full push (--resync): bytes / requests', value: figures.fullBytes, unit: `B / ${figures.fullRequests} req` });
  const share = (figures.deltaBytes / figures.fullBytes) * 100;
  record({ scenario: s, figure: '1% change bytes as % of full push', value: share, unit: '%', target: '<= 2', pass: share <= 2 });
}

async function naiveVersusDefaults(products: number): Promise<void> {
  const figures = await medianOf(repeat, async () => {
    const world = await new World(products).start(['pageSize=100']);
    world.erp.faults.latencyMs = 50;
    try {
      await world.run();
      world.erp.catalog.change(1);
      const smart = await world.run();
      world.erp.catalog.change(1);
      const naive = await world.run('--concurrency', '1', '--resync');
      return { smartMs: smart.wallMs, naiveMs: naive.wallMs, smartBytes: smart.pushBytes, naiveBytes: naive.pushBytes };
    } finally {
      await world.close();
    }
  });
  const s = `6 naive vs defaults ${products / 1000}k`;
  record({ scenario: s, figure: `wall time: naive ${fmt(Math.round(figures.naiveMs))} ms, erp-sync ${fmt(Math.round(figures.smartMs))} ms`, value: figures.naiveMs / figures.smartMs, unit: '× faster' });
  record({ scenario: s, figure: `bytes: naive ${fmt(figures.naiveBytes)}, erp-sync ${fmt(figures.smartBytes)}`, value: figures.naiveBytes / figures.smartBytes, unit: '× less' });
}

async function targets(products: number): Promise<void> {
  const figures = await medianOf(repeat, async () => {
    const single = await new World(products).start(['pageSize=1000']);
    let one: Measured;
    try {
      await single.run();
      single.erp.catalog.change(1);
      one = await single.run();
    } finally {
      await single.close();
    }
    const three = await new TargetsWorld(products).start(['pageSize=1000']);
    try {
      await three.run();
      three.erp.catalog.change(1);
      const run = await three.run();
      const of = (name: string) => run.summary.targets.find((t) => t.target === name) as TargetSummary;
      const [trendyol, hepsiburada, n11] = ['trendyol', 'hepsiburada', 'n11'].map(of) as [TargetSummary, TargetSummary, TargetSummary];
      return {
        singleMs: one.summary.durationMs, singlePushMs: one.summary.targets[0]!.durationMs, singleBytes: one.pushBytes, singleRequests: one.pushRequests,
        threeMs: run.summary.durationMs,
        trendyolMs: trendyol.durationMs, trendyolBytes: trendyol.bytes, trendyolRequests: trendyol.requests, trendyolPushed: trendyol.pushed,
        hepsiburadaMs: hepsiburada.durationMs, hepsiburadaBytes: hepsiburada.bytes, hepsiburadaRequests: hepsiburada.requests, hepsiburadaPushed: hepsiburada.pushed,
        n11Ms: n11.durationMs, n11Bytes: n11.bytes, n11Requests: n11.requests, n11Pushed: n11.pushed,
      };
    } finally {
      await three.close();
    }
  });
  const s = `7 three targets ${products / 1000}k`;
  const changed = products / 100;
  record({ scenario: s, figure: `1% changed, offer API alone: run ms (push ${fmt(Math.round(figures.singlePushMs))} ms)`, value: Math.round(figures.singleMs), unit: 'ms' });
  record({ scenario: s, figure: '1% changed, offer API alone: bytes / requests', value: figures.singleBytes, unit: `B / ${figures.singleRequests} req` });
  record({ scenario: s, figure: '1% changed, three marketplaces: run ms', value: Math.round(figures.threeMs), unit: 'ms' });
  for (const name of ['trendyol', 'hepsiburada', 'n11'] as const) {
    const f = figures as Record<string, number>;
    record({ scenario: s, figure: `${name}: submit to results, ms`, value: Math.round(f[`${name}Ms`]!), unit: 'ms' });
    record({ scenario: s, figure: `${name}: bytes / requests`, value: f[`${name}Bytes`]!, unit: `B / ${f[`${name}Requests`]} req` });
    record({ scenario: s, figure: `${name}: offers confirmed`, value: f[`${name}Pushed`]!, unit: 'offers', target: `${changed}`, pass: f[`${name}Pushed`] === changed });
  }
}

const HOSTED_PG = process.env.ERP_SYNC_BENCH_PG ?? 'postgresql://erp_sync:erp_sync@127.0.0.1:5432/postgres';
/** A Redis database of the bench's own, emptied before it starts. */
const HOSTED_REDIS = process.env.ERP_SYNC_BENCH_REDIS ?? 'redis://127.0.0.1:6379/7';

/**
 * Hosted mode's fleet on this machine: `tenants` tenants with two demo
 * connections each (1,000 products, the offer API), state in a PostgreSQL
 * database of the bench's own, jobs in Redis. Workers are real
 * `erp-sync worker` processes.
 */
class HostedWorld {
  readonly erp = new SandboxErp({ products: 1_000, apiKey: 'bench-key', maxPageSize: 1000 });
  readonly marketplace = new SandboxMarketplace({ token: 'bench-token' });
  readonly connections: { tenant: string; connection: string }[] = [];
  readonly #database = 'erp_sync_bench_hosted';
  readonly #key = randomBytes(32).toString('base64');
  readonly #redis = new Redis(HOSTED_REDIS, { maxRetriesPerRequest: null });
  readonly sync = new SyncQueue(this.#redis);
  readonly #workers: ChildProcess[] = [];

  constructor(readonly tenants: number) {}

  get env(): NodeJS.ProcessEnv {
    const url = new URL(HOSTED_PG);
    url.pathname = `/${this.#database}`;
    return {
      ...process.env, ERP_SYNC_DATABASE_URL: url.toString(), ERP_SYNC_REDIS_URL: HOSTED_REDIS,
      ERP_SYNC_MASTER_KEY: this.#key, ERP_SYNC_A_API_KEY: 'bench-key', ERP_SYNC_B_API_KEY: 'bench-key', ERP_SYNC_MARKETPLACE_TOKEN: 'bench-token',
      NO_COLOR: '1', LANG: 'C',
    };
  }

  async start(): Promise<this> {
    const admin = new PgDatabase(HOSTED_PG, 'bench');
    try {
      admin.exec(`DROP DATABASE IF EXISTS ${this.#database} WITH (FORCE)`);
      admin.exec(`CREATE DATABASE ${this.#database}`);
    } finally {
      admin.close();
    }
    await this.#redis.flushdb();
    await this.erp.start();
    await this.marketplace.start();
    for (let t = 1; t <= this.tenants; t++) {
      const tenant = `shop-${t}`;
      await cli(['hosted', 'tenant', 'add', tenant], this.env);
      await cli(['hosted', 'connect', 'marketplace', '--tenant', tenant, '--base-url', this.marketplace.url, '--no-test'], this.env);
      for (const connection of ['a', 'b']) {
        await cli(['hosted', 'connect', 'demo', '--tenant', tenant, '--name', connection, '--base-url', this.erp.url, '--set', 'pageSize=1000', '--no-test'], this.env);
        this.connections.push({ tenant, connection });
      }
    }
    return this;
  }

  /** Starts `count` worker processes and waits until each answers /healthz. */
  async startWorkers(count: number, concurrency: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const port = 7521 + i;
      this.#workers.push(spawn(process.execPath, [CLI, 'worker', '--concurrency', String(concurrency), '--port', String(port)], { env: this.env, stdio: 'ignore' }));
      for (let tries = 0; ; tries++) {
        const healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (healthy) break;
        if (tries > 200) throw new Error(`worker ${i} did not become healthy`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stopWorkers(): Promise<void> {
    await Promise.all(this.#workers.splice(0).map((worker) => new Promise((resolve) => {
      worker.once('close', resolve);
      worker.kill('SIGTERM');
    })));
  }

  /**
   * Queues a run of every connection and waits until all are done: the
   * wall time from the first enqueue to the last completion, and each job's
   * own time (BullMQ's processedOn to finishedOn).
   */
  async syncAll(): Promise<{ wallMs: number; jobMs: number[] }> {
    const queue = this.sync.queue;
    const before = await queue.getJobCounts('completed', 'failed');
    const started = performance.now();
    for (const { tenant, connection } of this.connections) await this.sync.enqueue(tenant, connection);
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if ((counts.failed ?? 0) > (before.failed ?? 0)) throw new Error('a hosted job failed');
      if ((counts.completed ?? 0) - (before.completed ?? 0) >= this.connections.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const wallMs = performance.now() - started;
    const jobs = await queue.getCompleted(0, this.connections.length - 1);
    return { wallMs, jobMs: jobs.map((job) => (job.finishedOn ?? 0) - (job.processedOn ?? 0)) };
  }

  async close(): Promise<void> {
    await this.stopWorkers();
    await this.sync.close();
    this.#redis.disconnect();
    await Promise.all([this.erp.close(), this.marketplace.close()]);
  }
}

/**
 * Hosted mode: connections synced per minute by 1, 2 and 4 worker processes
 * (each running up to 4 jobs at once) on this machine, every connection a
 * 1,000-product catalog with 1% changed since its last run; and a job's own
 * time beside the CLI's run of the same connection (SQLite, same catalog,
 * same change). Queueing the runs is inside the wall time.
 */
async function hosted(tenants: number): Promise<void> {
  const s = `8 hosted ${tenants * 2} connections`;
  const world = await new HostedWorld(tenants).start();
  try {
    await world.startWorkers(2, 4);
    await world.syncAll();
    await world.stopWorkers();
    for (const workers of [1, 2, 4]) {
      const samples: number[] = [];
      for (let i = 0; i < repeat; i++) {
        world.erp.catalog.change(1);
        await world.startWorkers(workers, 4);
        samples.push((await world.syncAll()).wallMs);
        await world.stopWorkers();
      }
      const perMinute = (world.connections.length * 60_000) / median(samples);
      record({ scenario: s, figure: `${workers} worker process${workers > 1 ? 'es' : ''} × 4 jobs: connections synced / min`, value: Math.round(perMinute), unit: 'per min' });
    }
    world.erp.catalog.change(1);
    await world.startWorkers(1, 1);
    const { jobMs } = await world.syncAll();
    await world.stopWorkers();
    const alone = await new World(1_000).start(['pageSize=1000']);
    const cliMs: number[] = [];
    try {
      await alone.run();
      for (let i = 0; i < Math.max(repeat, 5); i++) {
        alone.erp.catalog.change(1);
        cliMs.push((await alone.run()).summary.durationMs);
      }
    } finally {
      await alone.close();
    }
    const job = median(jobMs);
    const run = median(cliMs);
    record({ scenario: s, figure: `one job alone, 1% changed (CLI's run: ${fmt(Math.round(run))} ms)`, value: Math.round(job), unit: 'ms' });
    record({ scenario: s, figure: 'per-job overhead over the CLI\'s run', value: Math.round(job - run), unit: 'ms' });
  } finally {
    await world.close();
  }
}

const started = performance.now();
console.error(`erp-sync benchmark on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; median of ${repeat}`);
const products = args.products ? Number(args.products) : undefined;
if (!only || only.has(0)) await startUp();
if (!only || only.has(1)) await throughput(products ?? 100_000);
if (!only || only.has(2)) await memory(args.sizes ? args.sizes.split(',').map(Number) : [10_000, 100_000, 1_000_000]);
if (!only || only.has(3)) await latencyBound();
if (!only || only.has(4)) await rateBound();
if (!only || only.has(5)) await whatIsSent(products ?? 20_000);
if (!only || only.has(6)) await naiveVersusDefaults(products ?? 20_000);
if (!only || only.has(7)) await targets(products ?? 100_000);
if (!only || only.has(8)) await hosted(20);
const results = { machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version }, repeat, seconds: Math.round((performance.now() - started) / 1000), rows };
writeFileSync('bench-results.json', `${JSON.stringify(results, null, 2)}\n`);
console.error(`done in ${results.seconds} s; figures written to bench-results.json`);
if (rows.some((r) => r.pass === false)) process.exitCode = 1;
