import { ExitCode, UserError } from '../errors/index.js';
import { checkTenantId, databaseUrl, redisUrl } from '../hosted/env.js';
import { SyncQueue, openRedis } from '../hosted/queue.js';
import { openTenant } from '../hosted/tenant.js';
import type { TenantSession } from '../hosted/tenant.js';
import { defineMessages } from '../i18n/index.js';
import { envelopeFromEnvironment } from '../secrets/envelope.js';
import { tenantRow } from '../store/tenants.js';
import type { RunControl } from '../web/sync.js';

/** What the `erp-sync hosted` commands share: the tenant's session in PostgreSQL, and the queue in Redis. */

const m = defineMessages({
  en: {
    unknownTenant: 'there is no tenant "{tenant}"',
    unknownTenantHint: 'Add it first: erp-sync hosted tenant add {tenant}',
  },
  tr: {
    unknownTenant: '"{tenant}" adında bir kiracı yok',
    unknownTenantHint: 'Önce ekleyin: erp-sync hosted tenant add {tenant}',
  },
});

export interface HostedContext {
  readonly tenant: string;
  readonly session: TenantSession;
  /** The queue, connected on first use (only the commands that enqueue or read it need Redis). */
  queue(): SyncQueue;
  close(): Promise<void>;
}

/** Opens the tenant's session; unless `adding`, the tenant must have been added. */
export function openHosted(tenant: string, options: { adding?: boolean; reconnect?: boolean } = {}, env: NodeJS.ProcessEnv = process.env): HostedContext {
  checkTenantId(tenant);
  const session = openTenant(databaseUrl(env), tenant, envelopeFromEnvironment(env), { reconnect: options.reconnect });
  if (!options.adding && !tenantRow(session.db)) {
    session.close();
    throw new UserError(m('unknownTenant', { tenant }), { code: 'UNKNOWN_TENANT', exitCode: ExitCode.usage, hint: m('unknownTenantHint', { tenant }) });
  }
  let redis: ReturnType<typeof openRedis> | undefined;
  let queue: SyncQueue | undefined;
  return {
    tenant,
    session,
    queue() {
      if (!queue) {
        redis = openRedis(redisUrl(env), 'command');
        queue = new SyncQueue(redis, env);
      }
      return queue;
    },
    async close() {
      session.close();
      await queue?.close();
      redis?.disconnect();
    },
  };
}

/** "Sync now" on a hosted tenant's page: a job in the queue; a connection runs while its lock in PostgreSQL is held. */
export function queueRuns(ctx: HostedContext): RunControl {
  return {
    isRunning: (connection) => ctx.session.runningNow(connection) !== undefined,
    start: async (connection) => ((await ctx.queue().enqueue(ctx.tenant, connection)).added ? 'queued' : 'already'),
    stop: async () => undefined,
  };
}
