import { ExitCode, worstExitCode } from '../../errors/index.js';
import { runConnection } from '../../engine/run.js';
import type { RunSummary } from '../../model/run.js';
import { t } from '../../i18n/index.js';
import { driverOf, selectConnections } from '../connections.js';
import { openContext } from '../context.js';
import { logJson, logMode } from '../log-format.js';
import { createOutput } from '../output.js';
import { createRunReporter } from '../progress.js';
import { renderRun, renderRunError } from '../render-run.js';
import { stopGracefully } from '../signals.js';

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
  const mode = logMode();
  const warn = (text: string) => {
    if (mode.json) logJson('warn', 'warning', text);
    else if (!mode.quiet) out.warn(text);
  };
  const removeHandlers = stopGracefully(stop, (signal) => warn(t('run.stopping', { signal })));
  try {
    const selected = selectConnections(ctx.config, options.connection);
    const runs: RunSummary[] = [];
    for (const connection of selected) {
      const driver = driverOf(connection);
      const reporter = createRunReporter(connection.name, driver);
      const summary = await runConnection({
        db: ctx.db(),
        home: ctx.home,
        connection,
        driver,
        targets: ctx.config.targetsOf(connection),
        secretStore: (kind) => ctx.secretStore(kind),
        dryRun: options.dryRun,
        resync: options.resync,
        allowMassVanish: options.allowMassVanish,
        concurrency: options.concurrency,
        signal: stop.signal,
        onProgress: (progress) => reporter.onProgress(progress),
        onWarning: (message) => warn(`${connection.name}: ${message}`),
      });
      reporter.finish(summary);
      runs.push(summary);
      if (mode.quiet) reportErrorOnly(summary, mode.json);
      else if (!out.json) for (const line of renderRun(summary)) out.line(line);
      if (stop.signal.aborted) break;
    }
    if (out.json) out.document({ runs });
    return worstExitCode(runs.map((r) => r.exitCode));
  } finally {
    removeHandlers();
    ctx.close();
  }
}

/** `--quiet`: a run that ended well prints nothing at all. */
function reportErrorOnly(summary: RunSummary, json: boolean): void {
  if (!summary.error) return;
  if (json) logJson('error', 'run.error', `${summary.connection}: ${summary.error.message}`, { connection: summary.connection, runId: summary.runId, ...summary.error });
  else for (const line of renderRunError(summary)) process.stderr.write(`${line}\n`);
}
