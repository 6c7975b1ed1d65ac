import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import { errorMessage } from '../errors/index.js';
import { redact } from '../secrets/redact.js';
import { PgDatabase } from '../store/pg.js';
import { databaseAnswers } from '../store/tenants.js';
import type { HostedWorker } from './worker.js';

interface ProbeOptions {
  worker: HostedWorker;
  redis: Redis;
  databaseUrl: string;
  log(line: string): void;
}

/** How long /healthz waits for each service before it counts as down. */
const PROBE_MS = 2000;

/**
 * A worker's own two pages: `/metrics` (Prometheus text) and `/healthz`,
 * 200 while it reaches both Redis and PostgreSQL, 503 with the one it does
 * not reach otherwise (a load balancer or an orchestrator restarts it).
 * Nothing secret on either: tenant ids, connection names and counts.
 */
export function createProbeServer(options: ProbeOptions): Server & { closeProbe(): void } {
  let probe: PgDatabase | undefined;

  async function health(): Promise<string[]> {
    const problems: string[] = [];
    try {
      await withTimeout(options.redis.ping(), PROBE_MS);
    } catch (error) {
      problems.push(`redis: ${redact(errorMessage(error))}`);
    }
    try {
      probe ??= new PgDatabase(withConnectTimeout(options.databaseUrl), 'healthz');
      databaseAnswers(probe);
    } catch (error) {
      probe?.close();
      probe = undefined;
      problems.push(`postgresql: ${redact(errorMessage(error))}`);
    }
    return problems;
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker.invalid').pathname;
    const send = (status: number, type: string, body: string) =>
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    (async () => {
      if (req.method !== 'GET') return send(405, 'text/plain; charset=utf-8', 'only GET\n');
      if (path === '/healthz') {
        const problems = await health();
        return send(problems.length === 0 ? 200 : 503, 'text/plain; charset=utf-8', problems.length === 0 ? 'ok\n' : `unhealthy\n${problems.join('\n')}\n`);
      }
      if (path === '/metrics') {
        const [depth, lastSuccesses] = await Promise.all([options.worker.queue.depth(), options.worker.queue.lastSuccesses()]);
        return send(200, 'text/plain; version=0.0.4; charset=utf-8', options.worker.metrics.text({ depth, lastSuccesses, running: options.worker.active }));
      }
      return send(404, 'text/plain; charset=utf-8', 'not found: /metrics or /healthz\n');
    })().catch((error: unknown) => {
      options.log(`probe: ${redact(errorMessage(error))}`);
      if (!res.headersSent) send(503, 'text/plain; charset=utf-8', 'unavailable\n');
      else res.destroy();
    });
  });
  return Object.assign(server, {
    closeProbe() {
      probe?.close();
      probe = undefined;
    },
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The probe's session gives up connecting after two seconds: /healthz answers, down or not. */
function withConnectTimeout(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.searchParams.has('connect_timeout')) parsed.searchParams.set('connect_timeout', '2');
    return parsed.toString();
  } catch {
    return url;
  }
}
