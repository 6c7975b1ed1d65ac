import { version } from './version.js';

/**
 * The entry point. `erp-sync --version` answers from here, before anything
 * else is loaded; every other command line goes to the program, which loads
 * only the module of the command it runs.
 */
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${version}\n`);
} else {
  await import('./program.js');
}
