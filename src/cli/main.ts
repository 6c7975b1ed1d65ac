import { version } from './version.js';

/**
 * The entry point. `erp-sync --version` answers from here, before anything
 * else is loaded; every other command line goes to the program, which loads
 * only the module of the command it runs. (No top-level await: the build is
 * CommonJS, see tsup.config.ts.)
 */
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${version}\n`);
} else {
  void import('./program.js');
}
