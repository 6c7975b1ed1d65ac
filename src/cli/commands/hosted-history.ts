import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { recentRuns, targetRuns } from '../../store/queries.js';
import { requireConnectionOrHistory } from '../connections.js';
import { openHosted } from '../hosted.js';
import { page } from '../pager.js';
import { runsText } from '../render-runs.js';

export interface HostedHistoryOptions {
  tenant: string;
  connection?: string;
  limit?: number;
  json?: boolean;
}

const m = defineMessages({
  en: { noRuns: 'Tenant "{tenant}" has no runs yet: `erp-sync hosted sync --tenant {tenant}` queues one.' },
  tr: { noRuns: '"{tenant}" kiracısının henüz çalışması yok: `erp-sync hosted sync --tenant {tenant}` bir tane kuyruğa ekler.' },
});

/** `erp-sync hosted history --tenant T`: the tenant's latest runs, as `erp-sync logs` shows an agent's. */
export async function hostedHistoryCommand(options: HostedHistoryOptions): Promise<ExitCode> {
  const ctx = openHosted(options.tenant);
  try {
    const { db, config } = ctx.session;
    if (options.connection !== undefined) requireConnectionOrHistory(config, db, options.connection);
    const runs = recentRuns(db, { connection: options.connection, limit: options.limit ?? 20 });
    const targets = targetRuns(db, runs.map((r) => r.id));
    const withTargets = runs.map((r) => ({ ...r, targets: targets.get(r.id) ?? [] }));
    if (options.json) process.stdout.write(`${JSON.stringify({ tenant: ctx.tenant, runs: withTargets }, null, 2)}\n`);
    else await page(runs.length === 0 ? [m('noRuns', { tenant: ctx.tenant })] : runsText(withTargets, { hints: false }));
    return ExitCode.ok;
  } finally {
    await ctx.close();
  }
}
