import { Command, InvalidArgumentError, Option } from 'commander';
import { ExitCode, UserError, isUserError } from '../errors/index.js';
import type { ExitCode as ExitCodeType } from '../errors/index.js';
import { demoEnvironment } from '../config/home.js';
import { defineMessages, setCommandName, setLanguage, t } from '../i18n/index.js';
import { redact } from '../secrets/redact.js';
import { secretStoreKinds } from '../secrets/store.js';
import { configureLogging, logJson } from './log-format.js';
import { version } from './version.js';


const exitCodes = `
Exit codes (sysexits):
  0   done (invalid products and marketplace rejections are reported, not failures)
  1   unexpected internal error (a bug)
  64  usage error
  65  a safety guard stopped the run (e.g. too many products vanished at once)
  75  temporary failure, try again later (ERP or marketplace unreachable,
      offers left undelivered after retries, or another run holds the lock)
  77  credentials rejected by the ERP or the marketplace
  78  configuration error or missing credentials`;

const m = defineMessages({
  en: {
    oldNode: 'erp-sync needs Node.js 20.16 or newer; this is Node.js {version}',
    oldNodeHint: 'Install the current Node.js LTS from nodejs.org, then run the command again.',
  },
  tr: {
    oldNode: "erp-sync, Node.js 20.16 veya daha yenisini gerektirir; bu makinedeki Node.js {version}",
    oldNodeHint: "nodejs.org'dan güncel Node.js LTS sürümünü kurup komutu yeniden çalıştırın.",
  },
});

/** Modules load Node's heavier built-ins (crypto, child_process) on first use, with process.getBuiltinModule (Node 20.16). */
function checkNode(): void {
  if (typeof process.getBuiltinModule !== 'function') {
    throw new UserError(m('oldNode', { version: process.versions.node }), { code: 'NODE_TOO_OLD', exitCode: ExitCode.config, hint: m('oldNodeHint') });
  }
}

const integer = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(value);
};
const decimal = (value: string) => {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('must be a number');
  return Number(value);
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Command modules are imported only when their command runs, so `--help` never loads SQLite. */
function program(): Command {
  const cli = new Command('erp-sync')
    .description('Sync your ERP catalog to the marketplace: pull, diff, push only what changed.')
    .version(version)
    .addOption(new Option('--lang <lang>', 'language of messages').choices(['tr', 'en']))
    .option('--demo', 'work on the world `erp-sync demo` keeps, not on your own connections')
    .addHelpText('after', exitCodes)
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', (command) => {
      const lang = command.optsWithGlobals().lang as 'tr' | 'en' | undefined;
      if (lang) setLanguage(lang);
      checkNode();
      // Before any command reads the home: everything it does, and every run it starts, is on the demo's world.
      if (command.optsWithGlobals().demo) {
        Object.assign(process.env, demoEnvironment());
        setCommandName('erp-sync --demo');
      }
    });

  cli
    .command('run')
    .description('pull every product from the ERP, push the changed offers to the marketplace')
    .option('--connection <name>', 'only this connection (default: all)')
    .option('--dry-run', 'show what would be pushed; push nothing, change no snapshot')
    .option('--resync', 'push every valid product, whatever the marketplace already has')
    .option('--allow-mass-vanish', 'push even if more products vanished than the safety guard allows')
    .option('--concurrency <n>', 'ERP pages fetched at once', integer('--concurrency'))
    .option('--json', 'print only a JSON summary on stdout')
    .addHelpText('after', exitCodes)
    .action(async (options) => exit(await (await import('./commands/run.js')).runCommand(options)));

  cli
    .command('demo')
    .description('run a whole sync twice against a sandbox ERP and marketplace on 127.0.0.1 (no account, no network)')
    .option('--products <n>', 'catalog size', integer('--products'), 1000)
    .option('--change-percent <p>', 'share of the catalog changed between the two runs', decimal, 5)
    .option('--json', 'print only { "runs": [first, second] } on stdout')
    .option('--serve', 'keep the demo\'s sandbox ERP and marketplace running and serve the web page on its world')
    .option('--port <n>', 'with --serve: the web page\'s port', integer('--port'), 7420)
    .action(async (options) => exit(await (await import('./commands/demo.js')).demoCommand(options)));

  cli
    .command('connect')
    .description('add or update a connection: an ERP driver, or a marketplace target (trendyol, hepsiburada, n11, marketplace)')
    .argument('<target>', 'a driver id (see `erp-sync drivers`), trendyol, hepsiburada, n11, marketplace (the offer API), or the name of a saved connection or target')
    .option('--name <name>', 'connection name (default: the driver id)')
    .option('--base-url <url>', 'API address (on-premise installs, tests)')
    .option('--set <field=value>', 'a non-secret setting; repeatable', collect)
    .option('--secret-store <store>', 'where secrets are kept: keychain, file, systemd, env (asked at a terminal; otherwise the current one, or env)')
    .option('--secret-file <field=path>', 'read a secret from a file, e.g. password=/run/secrets/erp; repeatable', collect)
    .option('-y, --yes', 'never prompt: values from flags, environment variables and --secret-file')
    .option('--no-test', 'save without testing the connection')
    .option('--targets <names>', 'an ERP connection: the marketplace targets it feeds, comma-separated (default: all)')
    .option('--json', 'print the saved connection as JSON (never prompts)')
    .action(async (target, options) => exit(await (await import('./commands/connect.js')).connectCommand(target, options)));

  cli
    .command('drivers')
    .description('list the ERP drivers and the fields each one needs')
    .option('--json', 'print JSON')
    .action(async (options) => exit(await (await import('./commands/drivers.js')).driversCommand(options)));

  cli
    .command('serve')
    .description('serve the web page and JSON API: status, run history, failed items, "sync now"')
    .option('--port <n>', 'port to listen on', integer('--port'), 7420)
    .option('--host <address>', 'address to listen on; anything but loopback asks for an access token', '127.0.0.1')
    .option('--open', 'open the page in a browser')
    .addOption(new Option('--secret-store <store>', 'where the access token is kept (default: the marketplace\'s store)').choices(secretStoreKinds))
    .option('--tenant <id>', 'hosted mode: serve this tenant\'s page from PostgreSQL, behind the bearer token in ERP_SYNC_WEB_ACCESS_TOKEN')
    .action(async (options) => exit(await (await import('./commands/serve.js')).serveCommand(options)));

  cli
    .command('disconnect')
    .description('remove a connection, or the marketplace, and its secrets; its sync history stays unless --purge')
    .argument('<name>', 'the connection (see `erp-sync connections`), or marketplace')
    .option('--purge', 'also delete its sync history (runs, item log, snapshot)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (name, options) => exit(await (await import('./commands/disconnect.js')).disconnectCommand(name, options)));

  cli
    .command('connections')
    .description('list the connections: driver, address, secret store, last sync (never a secret)')
    .option('--json', 'print JSON')
    .action(async (options) => exit(await (await import('./commands/connections.js')).connectionsCommand(options)));

  cli
    .command('test')
    .description('test a saved connection (or "marketplace") with its secrets')
    .argument('<name>', 'the connection')
    .action(async (name) => exit(await (await import('./commands/test-connection.js')).testCommand(name)));

  cli
    .command('rules')
    .description('show, set or edit the rules of a connection: price markup and rounding, stock buffer, field mapping, scope')
    .argument('<connection>', 'the connection')
    .argument('[action]', 'show (default), set [FILE] (YAML or JSON; stdin without FILE) or edit (opens $EDITOR)')
    .argument('[file]', 'with set: the rules file, or - for stdin')
    .option('--json', 'print JSON')
    .action(async (connection, action, file, options) => exit(await (await import('./commands/rules.js')).rulesCommand(connection, action, file, options)));

  cli
    .command('preview')
    .description('show a sample of products as the ERP sends them, normalized, and as they would be pushed after rules; changes nothing')
    .option('--connection <name>', 'only this connection (default: all)')
    .option('--limit <n>', 'products per connection', integer('--limit'), 20)
    .option('--barcode <barcode>', 'show this product (repeatable)', collect)
    .option('--json', 'print only { "previews": [...] } on stdout')
    .action(async (options) => exit(await (await import('./commands/preview.js')).previewCommand(options)));

  cli
    .addOption(new Option('--quiet', 'print only errors (for cron: mail only when something is wrong)'))
    .addOption(new Option('--log-format <format>', 'text, or json: one JSON object per line on stderr').choices(['text', 'json']).default('text'))
    .hook('preAction', (command) => configureLogging(command.optsWithGlobals()));

  cli
    .command('logs')
    .description('the latest runs; with filters, item events: what was pushed, rejected, invalid or failed, and why')
    .option('--failed', 'items failing now (invalid, rejected, undelivered); an item drops out once it goes through')
    .option('--pending', 'offers waiting for the marketplace\'s approval')
    .option('--run <id>', 'item events of one run', integer('--run'))
    .option('--connection <name>', 'only this connection')
    .option('--target <name>', 'only this marketplace target\'s deliveries (and the invalid products no target gets)')
    .option('--since <when>', 'item events since 30m, 24h, 7d or a date (2026-11-01); with --failed/--pending, items last recorded since then')
    .option('--search <text>', 'barcode, stock code or part of the name (Turkish letters match either case)')
    .option('--code <code>', 'only this error code, e.g. PRICE_NOT_A_NUMBER or HTTP_503 (item events, or --failed)')
    .option('--limit <n>', 'at most this many rows', integer('--limit'))
    .option('--json', 'print JSON on stdout')
    .option('--csv', 'print CSV (for Excel) on stdout')
    .action(async (options) => exit(await (await import('./commands/logs.js')).logsCommand(options)));

  cli
    .command('retry')
    .description('send again, with the next run, offers parked as dead letters, rejected or not listed by a marketplace')
    .option('--connection <name>', 'only this connection')
    .option('--target <name>', 'only offers to this marketplace target')
    .option('--barcode <barcode>', 'only this offer (repeatable)', collect)
    .option('--all', 'every parked, rejected or not listed offer of every connection')
    .option('--json', 'print the offers to be sent again, as JSON')
    .action(async (options) => exit(await (await import('./commands/retry.js')).retryCommand(options)));

  cli
    .command('status')
    .description('each connection at a glance: last sync, last run, failing items, pending approval, alerts, schedule')
    .option('--json', 'print JSON on stdout')
    .action(async (options) => exit(await (await import('./commands/status.js')).statusCommand(options)));

  cli
    .command('explain')
    .description('everything about one product: the ERP record, what was pushed, the marketplace\'s answer, its history')
    .argument('<barcode-or-sku>', 'the product\'s barcode or stock code (exact)')
    .option('--connection <name>', 'only this connection')
    .option('--json', 'print JSON on stdout')
    .action(async (key, options) => exit(await (await import('./commands/explain.js')).explainCommand(key, options)));

  cli
    .command('schedule')
    .description('run erp-sync unattended: print or install a systemd timer, a crontab line or a Windows Task Scheduler task, or remove it')
    .option('--every <interval>', 'how often: minutes dividing an hour (15m) or hours dividing a day (1h)', '15m')
    .option('--systemd', 'a systemd service and timer (the default where systemd runs)')
    .option('--cron', 'a crontab line')
    .option('--windows', 'a Windows Task Scheduler task (the default on Windows)')
    .option('--user', 'a systemd unit of this user instead of a system unit')
    .option('--install', 'install and enable it')
    .option('--print', 'only print it (the default)')
    .option('--remove', 'remove an installed schedule')
    .action(async (options) => exit(await (await import('./commands/schedule.js')).scheduleCommand(options)));

  const hosted = cli
    .command('hosted')
    .description('hosted mode: many merchants (tenants) synced by a fleet of `erp-sync worker` processes, state in PostgreSQL, jobs in Redis');
  hosted
    .command('tenant')
    .description('the merchants a fleet syncs')
    .command('add')
    .description('add a tenant (or rename it)')
    .argument('<id>', 'the tenant\'s id: lower-case letters, digits, - and _')
    .option('--name <name>', 'a name people know it by (default: the id)')
    .option('--json', 'print JSON')
    .action(async (id, options) => exit(await (await import('./commands/hosted-tenant.js')).hostedTenantAddCommand(id, options)));
  hosted
    .command('connect')
    .description('add or update a tenant\'s ERP connection or marketplace target; secrets from ERP_SYNC_<NAME>_<FIELD> or stdin, never argv')
    .argument('<target>', 'a driver id, trendyol, hepsiburada, n11, marketplace (the offer API), or a saved connection\'s or target\'s name')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--name <name>', 'connection or target name (default: the driver id or target kind)')
    .option('--base-url <url>', 'API address')
    .option('--set <field=value>', 'a non-secret setting (syncEveryMinutes among them); repeatable', collect)
    .option('--targets <names>', 'an ERP connection: the tenant\'s targets it feeds, comma-separated (default: all)')
    .option('--secrets-stdin', 'read secrets from stdin: FIELD=VALUE lines, or one JSON object')
    .option('--no-test', 'save without testing the connection')
    .option('--json', 'print the saved connection as JSON')
    .action(async (target, options) => exit(await (await import('./commands/hosted-connect.js')).hostedConnectCommand(target, options)));
  hosted
    .command('sync')
    .description('queue a run of a tenant\'s connection (or of each) now, unless one is waiting or running')
    .argument('[connection]', 'the connection (default: all of the tenant\'s)')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--json', 'print JSON')
    .action(async (connection, options) => exit(await (await import('./commands/hosted-sync.js')).hostedSyncCommand(connection, options)));
  hosted
    .command('schedule')
    .description('create or refresh the schedule of each of a tenant\'s connections (every syncEveryMinutes, default 15)')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--json', 'print JSON')
    .action(async (options) => exit(await (await import('./commands/hosted-schedule.js')).hostedScheduleCommand(options)));
  hosted
    .command('status')
    .description('a tenant\'s connections at a glance, with their schedules and jobs')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--json', 'print JSON on stdout')
    .action(async (options) => exit(await (await import('./commands/hosted-status.js')).hostedStatusCommand(options)));
  hosted
    .command('history')
    .description('a tenant\'s latest runs and their counts')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--connection <name>', 'only this connection')
    .option('--limit <n>', 'at most this many runs', integer('--limit'))
    .option('--json', 'print JSON on stdout')
    .action(async (options) => exit(await (await import('./commands/hosted-history.js')).hostedHistoryCommand(options)));

  cli
    .command('worker')
    .description('hosted mode: run the tenants\' syncs from the queue in Redis (ERP_SYNC_DATABASE_URL, ERP_SYNC_REDIS_URL, ERP_SYNC_MASTER_KEY_FILE)')
    .option('--concurrency <n>', 'connection runs at once in this process', integer('--concurrency'), 4)
    .option('--port <n>', 'port of /metrics and /healthz (0: any free one)', integer('--port'), 7421)
    .option('--host <address>', 'address of /metrics and /healthz', '127.0.0.1')
    .option('--grace-seconds <n>', 'on SIGTERM, how long runs in hand may go on before they stop and go back to the queue', integer('--grace-seconds'), 20)
    .option('--lock-seconds <n>', 'how long a job stays claimed without a sign of life from its worker; a dead worker\'s job runs again after it', integer('--lock-seconds'), 30)
    .action(async (options) => exit(await (await import('./commands/worker.js')).workerCommand(options)));

  cli
    .command('doctor')
    .description('check the installation (permissions, database, secrets, connections, schedule, clock) and say how to fix it')
    .option('--json', 'print JSON on stdout')
    .action(async (options) => exit(await (await import('./commands/doctor.js')).doctorCommand(options)));

  return cli;
}

let exitCode: ExitCodeType = ExitCode.ok;
function exit(code: ExitCodeType): void {
  exitCode = code;
}

process.umask(0o077);
program()
  .parseAsync(process.argv)
  .then(
    () => (process.exitCode = exitCode),
    (error: unknown) => (process.exitCode = report(error)),
  );

/**
 * The last word on an error no command handled: plain lines, or one JSON
 * line under `--log-format json` (read from argv, since the error may come
 * before the option was parsed).
 */
function report(error: unknown): number {
  const json = wantsJsonLogs(process.argv);
  if (isUserError(error)) {
    if (json) {
      logJson('error', 'command.error', redact(error.message), { code: error.code, hint: error.hint === undefined ? null : redact(error.hint), exitCode: error.exitCode });
    } else {
      process.stderr.write(`${t('error.prefix')}: ${redact(error.message)}\n`);
      if (error.hint) process.stderr.write(`${t('error.try')}: ${redact(error.hint)}\n`);
    }
    return error.exitCode;
  }
  const code = (error as { code?: string; exitCode?: number }).code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    return code === 'commander.helpDisplayed' || code === 'commander.version' ? ExitCode.ok : ExitCode.usage;
  }
  if ((error as { name?: string }).name === 'ExitPromptError') return 130;
  const detail = redact(error instanceof Error ? (error.stack ?? error.message) : String(error));
  if (json) {
    logJson('error', 'command.crash', `${t('error.bug')} (erp-sync ${version}, node ${process.version})`, { detail, exitCode: ExitCode.internal });
  } else {
    process.stderr.write(`${t('error.prefix')}: ${detail}\n${t('error.bug')} (erp-sync ${version}, node ${process.version})\n`);
  }
  return ExitCode.internal;
}

function wantsJsonLogs(argv: readonly string[]): boolean {
  const at = argv.lastIndexOf('--log-format');
  return argv.includes('--log-format=json') || (at >= 0 && argv[at + 1] === 'json');
}
