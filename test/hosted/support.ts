import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { ConnectionConfig, TargetConfig } from '../../src/config/config.js';
import { SyncQueue } from '../../src/hosted/queue.js';
import { openTenant } from '../../src/hosted/tenant.js';
import type { TenantSession } from '../../src/hosted/tenant.js';
import { AesGcmEnvelope, LocalKeyProvider } from '../../src/secrets/envelope.js';
import type { Envelope } from '../../src/secrets/envelope.js';
import { saveTenant } from '../../src/store/tenants.js';
import { startCli } from '../support/cli.js';
import { REDIS_URL } from '../support/hosted.js';

/**
 * A hosted world for one test file: its own PostgreSQL database, its own
 * Redis database (0-15; each file takes another), a master key, and the
 * built CLI's `erp-sync worker` as separate processes.
 */
export interface Hosted {
  databaseUrl: string;
  redisUrl: string;
  masterKey: string;
  envelope: Envelope;
  env: NodeJS.ProcessEnv;
  redis: Redis;
  queue: SyncQueue;
  close(): Promise<void>;
}

export async function hostedWorld(databaseUrl: string, redisDb: number, env: NodeJS.ProcessEnv = {}): Promise<Hosted> {
  const redisUrl = `${REDIS_URL.replace(/\/\d*$/, '')}/${redisDb}`;
  const masterKey = randomBytes(32).toString('base64');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  await redis.flushdb();
  const fullEnv = { ERP_SYNC_DATABASE_URL: databaseUrl, ERP_SYNC_REDIS_URL: redisUrl, ERP_SYNC_MASTER_KEY: masterKey, NO_COLOR: '1', LANG: 'C', ...env };
  const queue = new SyncQueue(redis, fullEnv);
  return {
    databaseUrl, redisUrl, masterKey, redis, queue, env: fullEnv,
    envelope: new AesGcmEnvelope(new LocalKeyProvider([Buffer.from(masterKey, 'base64')])),
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}

export interface TenantSetup {
  tenant: string;
  connections: { name: string; erpUrl: string; apiKey: string; settings?: Record<string, string>; targets?: string[] }[];
  targets: { name: string; url: string; token: string; settings?: Record<string, string> }[];
}

/** What `hosted tenant add` and `hosted connect` save, written through the same store (fast, for many tenants). */
export async function provision(world: Hosted, setup: TenantSetup): Promise<void> {
  const session = openTenant(world.databaseUrl, setup.tenant, world.envelope);
  try {
    saveTenant(session.db, setup.tenant);
    const at = new Date().toISOString();
    for (const t of setup.targets) {
      const target: TargetConfig = { name: t.name, kind: 'offer-api', baseUrl: t.url, settings: { retryMinDelayMs: '20', ...t.settings }, secretStore: 'database', createdAt: at, updatedAt: at };
      session.config.saveTarget(target);
      await session.secrets.set(t.name, 'token', t.token);
    }
    for (const c of setup.connections) {
      const connection: ConnectionConfig = {
        name: c.name, driver: 'demo', baseUrl: c.erpUrl, settings: { pageSize: '50', retryMinDelayMs: '20', ...c.settings }, secretStore: 'database',
        createdAt: at, updatedAt: at, ...(c.targets ? { targets: c.targets } : {}),
      };
      session.config.saveConnection(connection);
      await session.secrets.set(c.name, 'apiKey', c.apiKey);
    }
  } finally {
    session.close();
  }
}

/** A tenant's session, for reading what the workers wrote. */
export function tenantSession(world: Hosted, tenant: string): TenantSession {
  return openTenant(world.databaseUrl, tenant, world.envelope);
}

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** The port of its /metrics and /healthz. */
  port: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `erp-sync worker` as its own process, with a short job lock so a killed worker's job is taken up in seconds. */
export function startWorker(world: Hosted, args: string[] = []): WorkerProcess {
  const child = startCli(['worker', '--port', '0', '--lock-seconds', '4', '--grace-seconds', '5', ...args], world.env);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const port = (async () => {
    for (let i = 0; i < 600; i++) {
      const match = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (match) return Number(match[1]);
      if (child.exitCode !== null) throw new Error(`the worker exited ${child.exitCode}:\n${output}`);
      await sleep(50);
    }
    throw new Error(`the worker did not start:\n${output}`);
  })();
  return { child, output: () => output, port, exited };
}

export async function stopWorker(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGKILL');
  await worker.exited;
}

export async function waitUntil<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every key in the Redis database and every value under it, as text: what a secret must never be part of. */
export async function redisContents(redis: Redis): Promise<string[]> {
  const texts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      texts.push(key);
      const type = await redis.type(key);
      if (type === 'string') texts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') texts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') texts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') texts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') texts.push(JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES')));
      else if (type === 'stream') texts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return texts;
}

/** The most requests in any window of `ms` among these times. */
export function busiestWindow(times: readonly number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
