import { ExitCode } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { hostedConnectionSettings, readSettingsForView } from '../../settings/schema.js';
import { openHosted } from '../hosted.js';
import { createOutput } from '../output.js';
import { formatTime } from '../when.js';

export interface HostedScheduleOptions {
  tenant: string;
  json?: boolean;
}

const m = defineMessages({
  en: {
    scheduled: '{connection}: every {minutes} minutes, next run {next}',
    removed: '{connection}: no such connection any more; its schedule was removed',
    none: 'Tenant "{tenant}" has no connections to schedule.',
  },
  tr: {
    scheduled: '{connection}: her {minutes} dakikada bir, sonraki çalışma {next}',
    removed: '{connection}: böyle bir bağlantı artık yok; zamanlaması kaldırıldı',
    none: '"{tenant}" kiracısının zamanlanacak bağlantısı yok.',
  },
});

/**
 * `erp-sync hosted schedule --tenant T`: a BullMQ job scheduler per
 * connection, every `syncEveryMinutes` (15), each at an offset of its own
 * within the interval (its first scheduled run is due within it; `hosted
 * sync` runs one now). Schedules of connections that are gone are removed.
 */
export async function hostedScheduleCommand(options: HostedScheduleOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openHosted(options.tenant);
  try {
    const queue = ctx.queue();
    const connections = ctx.session.config.connections();
    for (const c of connections) {
      await queue.schedule(ctx.tenant, c.name, readSettingsForView(hostedConnectionSettings, c.settings).syncEveryMinutes);
    }
    const removed: string[] = [];
    const all = await queue.schedules(ctx.tenant);
    for (const s of all) {
      if (connections.some((c) => c.name === s.connection)) continue;
      await queue.unschedule(ctx.tenant, s.connection);
      removed.push(s.connection);
    }
    const schedules = all.filter((s) => !removed.includes(s.connection));
    if (out.json) {
      out.document({ tenant: ctx.tenant, schedules, removed });
    } else {
      if (connections.length === 0) out.line(m('none', { tenant: ctx.tenant }));
      for (const s of schedules) out.line(m('scheduled', { connection: s.connection, minutes: s.everyMinutes, next: s.next ? formatTime(s.next) : '-' }));
      for (const connection of removed) out.line(m('removed', { connection }));
    }
    return ExitCode.ok;
  } finally {
    await ctx.close();
  }
}
