import { findDriver } from '../../../drivers/index.js';
import { ExitCode, UserError, worstExitCode } from '../../errors/index.js';
import { runConnection } from '../../engine/run.js';
import type { RunSummary } from '../../engine/run.js';
import { t } from '../../i18n/index.js';
import { openContext } from '../context.js';
import { createOutput } from '../output.js';
import { renderRun } from '../render-run.js';

export interface RunOptions {
  connection?: string;
  dryRun?: boolean;
  resync?: boolean;
  allowMassVanish?: boolean;
  concurrency?: number;
  json?: boolean;
}

/** `erp-sync run`: every connection (or one), one after the other. */
export async function runCommand(options: RunOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openContext();
  const stop = new AbortController();
  const removeHandlers = stopGracefully(stop, (signal) => out.warn(t('run.stopping', { signal })));
  try {
    const all = ctx.config.connections();
    const selected = options.connection ? all.filter((c) => c.name === options.connection) : all;
    if (options.connection && selected.length === 0) {
      throw new UserError(`there is no connection named "${options.connection}"`, {
        code: 'UNKNOWN_CONNECTION',
        exitCode: ExitCode.usage,
        hint: all.length > 0 ? `Known connections: ${all.map((c) => c.name).join(', ')}.` : 'Connect one with `erp-sync connect <driver> --name NAME`.',
      });
    }
    if (selected.length === 0) {
      throw new UserError(t('run.noConnections'), { code: 'NO_CONNECTIONS', exitCode: ExitCode.config });
    }
    const runs: RunSummary[] = [];
    for (const connection of selected) {
      const driver = findDriver(connection.driver);
      if (!driver) {
        throw new UserError(`connection "${connection.name}" uses the unknown driver "${connection.driver}"`, {
          code: 'UNKNOWN_DRIVER', exitCode: ExitCode.config, hint: 'See `erp-sync drivers`, and connect it again.',
        });
      }
      const summary = await runConnection({
        db: ctx.db(),
        home: ctx.home,
        connection,
        driver,
        marketplace: ctx.config.marketplace(),
        secretStore: (kind) => ctx.secretStore(kind),
        dryRun: options.dryRun,
        resync: options.resync,
        allowMassVanish: options.allowMassVanish,
        concurrency: options.concurrency,
        signal: stop.signal,
        onWarning: (message) => out.warn(`${connection.name}: ${message}`),
      });
      runs.push(summary);
      if (!out.json) for (const line of renderRun(summary)) out.line(line);
      if (stop.signal.aborted) break;
    }
    if (out.json) out.document({ runs });
    return worstExitCode(runs.map((r) => r.exitCode));
  } finally {
    removeHandlers();
    ctx.close();
  }
}

/**
 * SIGINT or SIGTERM (Ctrl-C, `systemctl stop`): the batch in flight finishes
 * and is recorded, the run is marked interrupted and the lock released. A
 * second signal exits at once; the outbox makes even that safe.
 */
function stopGracefully(controller: AbortController, notify: (signal: string) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    notify(signal);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
