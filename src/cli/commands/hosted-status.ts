import chalk from 'chalk';
import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { tenantRow } from '../../store/tenants.js';
import { openHosted } from '../hosted.js';
import { connectionReports, renderConnections } from '../render-status.js';
import type { ConnectionReport } from '../render-status.js';
import { formatTime } from '../when.js';

export interface HostedStatusOptions {
  tenant: string;
  json?: boolean;
}

const m = defineMessages({
  en: {
    header: 'Tenant {tenant} ({name})',
    schedule: 'Schedule: every {minutes} minutes, next run {next}',
    noSchedule: 'Schedule: none; set one up with `erp-sync hosted schedule --tenant {tenant}`',
    job: 'Job {id}: {state}, attempt {attempts}, queued {time}',
    jobFailed: 'Job {id}: failed after {attempts} attempts: {reason}',
    noConnections: 'No connections yet: `erp-sync hosted connect <driver> --tenant {tenant} --name NAME`.',
  },
  tr: {
    header: 'Kiracı {tenant} ({name})',
    schedule: 'Zamanlama: her {minutes} dakikada bir, sonraki çalışma {next}',
    noSchedule: 'Zamanlama: yok; kurmak için `erp-sync hosted schedule --tenant {tenant}`',
    job: 'İş {id}: {state}, deneme {attempts}, kuyruğa giriş {time}',
    jobFailed: 'İş {id}: {attempts} denemeden sonra başarısız: {reason}',
    noConnections: 'Henüz bağlantı yok: `erp-sync hosted connect <sürücü> --tenant {tenant} --name AD`.',
  },
});

interface QueueView {
  schedule: { everyMinutes: number; next: string | null } | null;
  jobs: { id: string; state: string; attempts: number; failedReason: string | null; at: string }[];
}

/**
 * `erp-sync hosted status --tenant T`: each of the tenant's connections as
 * `status` shows one (read from PostgreSQL through the same read models),
 * with its schedule and its jobs in the queue.
 */
export async function hostedStatusCommand(options: HostedStatusOptions): Promise<ExitCode> {
  const ctx = openHosted(options.tenant);
  try {
    const { session } = ctx;
    const tenant = tenantRow(session.db)!;
    const connections = connectionReports(session.db, session.config, (connection) => session.runningNow(connection) ?? null);
    const queue = ctx.queue();
    const [schedules, jobs] = await Promise.all([queue.schedules(ctx.tenant), queue.jobsOf(ctx.tenant)]);
    const queued = new Map<string, QueueView>(connections.map((c) => [c.connection, {
      schedule: schedules.find((s) => s.connection === c.connection) ?? null,
      jobs: jobs.filter((j) => j.connection === c.connection).map(({ connection: _, ...job }) => job),
    }]));
    if (options.json) {
      const document = { tenant, connections: connections.map((c) => ({ ...c, queue: queued.get(c.connection) })) };
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    } else {
      process.stdout.write(`${render(ctx.tenant, tenant.name, connections, queued).join('\n')}\n`);
    }
    return ExitCode.ok;
  } finally {
    await ctx.close();
  }
}

function render(tenant: string, name: string, connections: ConnectionReport[], queued: Map<string, QueueView>): string[] {
  const lines = [chalk.bold(m('header', { tenant, name })), ''];
  if (connections.length === 0) return [...lines, m('noConnections', { tenant })];
  const queue = (c: ConnectionReport) => {
    const view = queued.get(c.connection);
    return [
      `  ${view?.schedule ? m('schedule', { minutes: view.schedule.everyMinutes, next: view.schedule.next ? formatTime(view.schedule.next) : '-' }) : chalk.yellow(m('noSchedule', { tenant }))}`,
      ...(view?.jobs ?? []).map((job) => `  ${job.state === 'failed' ? chalk.red(m('jobFailed', { id: job.id, attempts: job.attempts, reason: job.failedReason ?? '' })) : m('job', { id: job.id, state: job.state, attempts: job.attempts + 1, time: formatTime(job.at) })}`),
    ];
  };
  return [...lines, ...renderConnections(connections, { hints: false, more: queue })];
}
