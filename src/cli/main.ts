import { Command, InvalidArgumentError, Option } from 'commander';
import { createRequire } from 'node:module';
import { ExitCode, isUserError } from '../errors/index.js';
import type { ExitCode as ExitCodeType } from '../errors/index.js';
import { setLanguage, t } from '../i18n/index.js';
import { redact } from '../secrets/redact.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

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
    .addHelpText('after', exitCodes)
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', (command) => {
      const lang = command.optsWithGlobals().lang as 'tr' | 'en' | undefined;
      if (lang) setLanguage(lang);
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
    .action(async (options) => exit(await (await import('./commands/demo.js')).demoCommand(options)));

  cli
    .command('connect')
    .description('add or update a connection: an ERP driver, or the marketplace')
    .argument('<target>', 'a driver id (see `erp-sync drivers`) or "marketplace"')
    .option('--name <name>', 'connection name (default: the driver id)')
    .option('--base-url <url>', 'API address (on-premise installs, tests)')
    .option('--set <field=value>', 'a non-secret setting; repeatable', collect)
    .option('--secret-store <store>', 'where secrets are read from: env, keychain, file, systemd', 'env')
    .option('--json', 'print the saved connection as JSON')
    .action(async (target, options) => exit(await (await import('./commands/connect.js')).connectCommand(target, options)));

  cli
    .command('drivers')
    .description('list the ERP drivers and the fields each one needs')
    .option('--json', 'print JSON')
    .action(async (options) => exit(await (await import('./commands/drivers.js')).driversCommand(options)));

  return cli;
}

let exitCode: ExitCodeType = ExitCode.ok;
function exit(code: ExitCodeType): void {
  exitCode = code;
}

process.umask(0o077);
try {
  await program().parseAsync(process.argv);
  process.exitCode = exitCode;
} catch (error) {
  process.exitCode = report(error);
}

function report(error: unknown): number {
  if (isUserError(error)) {
    process.stderr.write(`${t('error.prefix')}: ${redact(error.message)}\n`);
    if (error.hint) process.stderr.write(`${t('error.try')}: ${redact(error.hint)}\n`);
    return error.exitCode;
  }
  const code = (error as { code?: string; exitCode?: number }).code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    return code === 'commander.helpDisplayed' || code === 'commander.version' ? ExitCode.ok : ExitCode.usage;
  }
  if ((error as { name?: string }).name === 'ExitPromptError') return 130;
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`${t('error.prefix')}: ${redact(detail)}\n${t('error.bug')} (erp-sync ${version}, node ${process.version})\n`);
  return ExitCode.internal;
}
