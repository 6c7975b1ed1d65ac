import { ExitCode, UserError, errorMessage } from '../../errors/index.js';
import { databaseUrl, redisUrl } from '../../hosted/env.js';
import { openRedis } from '../../hosted/queue.js';
import { createProbeServer } from '../../hosted/server.js';
import { openTenant } from '../../hosted/tenant.js';
import { HostedWorker } from '../../hosted/worker.js';
import { defineMessages } from '../../i18n/index.js';
import { AesGcmEnvelope, LocalKeyProvider } from '../../secrets/envelope.js';
import { redact } from '../../secrets/redact.js';
import { logJson, logMode } from '../log-format.js';
import { hostPort } from '../output.js';
import { stopGracefully } from '../signals.js';

export interface WorkerOptions {
  concurrency: number;
  port: number;
  host: string;
  graceSeconds: number;
  lockSeconds: number;
}

const m = defineMessages({
  en: {
    started: 'erp-sync worker {pid}: up to {concurrency} runs at once; /metrics and /healthz on http://{address}/',
    stopping: 'received {signal}: taking no more jobs; runs in hand have {seconds} s to finish, then stop and go back to the queue (a second signal exits at once)',
    stopped: 'erp-sync worker {pid} stopped',
    cannotListen: 'cannot listen on {address}: {reason}',
    cannotListenHint: 'Pass --port with a free port, or --host with an address of this machine.',
  },
  tr: {
    started: 'erp-sync worker {pid}: aynı anda en fazla {concurrency} çalışma; /metrics ve /healthz http://{address}/ adresinde',
    stopping: '{signal} alındı: yeni iş alınmıyor; eldeki çalışmaların bitmek için {seconds} sn süresi var, sonra durup kuyruğa geri dönerler (ikinci bir sinyal hemen çıkar)',
    stopped: 'erp-sync worker {pid} durdu',
    cannotListen: '{address} adresinde dinlenemiyor: {reason}',
    cannotListenHint: '--port ile boş bir bağlantı noktası ya da --host ile bu makinenin bir adresini verin.',
  },
});

/**
 * `erp-sync worker`: hosted mode's process. Takes sync jobs off the queue in
 * Redis, up to --concurrency at once; as many processes on as many machines
 * as wanted. SIGTERM or SIGINT stops it gracefully; a second one at once.
 */
export async function workerCommand(options: WorkerOptions): Promise<ExitCode> {
  const log = (level: 'info' | 'warn' | 'error', event: string, message: string, fields: Record<string, unknown> = {}) => {
    const mode = logMode();
    if (mode.quiet && level !== 'error') return;
    if (mode.json) logJson(level, event, redact(message), fields);
    else process.stderr.write(`${new Date().toISOString()} ${level} ${event}: ${redact(message)}\n`);
  };
  const database = databaseUrl();
  const redis = redisUrl();
  // The master key and the database are checked before the first job is taken.
  const envelope = new AesGcmEnvelope(LocalKeyProvider.fromEnvironment());
  openTenant(database, 'erp-sync-worker', envelope).close();

  const connections = { queue: openRedis(redis, 'worker'), limits: openRedis(redis, 'limits') };
  const worker = new HostedWorker({
    databaseUrl: database, redis: connections, envelope, concurrency: options.concurrency,
    lockMs: options.lockSeconds * 1000, graceMs: options.graceSeconds * 1000, log,
  });
  const server = createProbeServer({ worker, redis: connections.queue, databaseUrl: database, log: (line) => log('warn', 'probe', line) });
  const address = hostPort(options.host, options.port);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  }).catch((error: unknown) => {
    connections.queue.disconnect();
    connections.limits.disconnect();
    throw new UserError(m('cannotListen', { address, reason: errorMessage(error) }), { code: 'LISTEN_FAILED', exitCode: ExitCode.config, hint: m('cannotListenHint') });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : options.port;
  worker.start();
  log('info', 'worker.started', m('started', { pid: String(process.pid), concurrency: options.concurrency, address: hostPort(options.host, port) }), { pid: process.pid, port });

  // A second signal exits at once: the jobs in hand stall, and another worker takes them up.
  const stop = new AbortController();
  const signal = await new Promise<string>((resolve) => stopGracefully(stop, resolve));
  log('info', 'worker.stopping', m('stopping', { signal, seconds: options.graceSeconds }));
  await worker.stop();
  server.closeProbe();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await Promise.all([connections.queue.quit().catch(() => undefined), connections.limits.quit().catch(() => undefined)]);
  log('info', 'worker.stopped', m('stopped', { pid: String(process.pid) }));
  return ExitCode.ok;
}
