import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { selectConnections } from '../connections.js';
import { openHosted } from '../hosted.js';
import { createOutput } from '../output.js';

export interface HostedSyncOptions {
  tenant: string;
  json?: boolean;
}

const m = defineMessages({
  en: {
    queued: '{connection}: queued (job {id}); a worker runs it as soon as one is free.',
    already: '{connection}: a run is waiting or running already (job {id}); nothing added.',
  },
  tr: {
    queued: '{connection}: kuyruğa eklendi (iş {id}); ilk boşalan worker çalıştırır.',
    already: '{connection}: bekleyen ya da süren bir çalışma zaten var (iş {id}); hiçbir şey eklenmedi.',
  },
});

/** `erp-sync hosted sync --tenant T [connection]`: a run of the connection (or each of the tenant's) now, unless one is waiting or running. */
export async function hostedSyncCommand(connection: string | undefined, options: HostedSyncOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openHosted(options.tenant);
  try {
    const selected = selectConnections(ctx.session.config, connection);
    const jobs = [];
    for (const c of selected) {
      const job = await ctx.queue().enqueue(ctx.tenant, c.name);
      jobs.push({ connection: c.name, ...job });
      if (!out.json) out.line(m(job.added ? 'queued' : 'already', { connection: c.name, id: job.id }));
    }
    if (out.json) out.document({ tenant: ctx.tenant, jobs });
    return ExitCode.ok;
  } finally {
    await ctx.close();
  }
}
