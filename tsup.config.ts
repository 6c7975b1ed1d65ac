import { readFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';

/** Every command module also imports src/cli/shared.ts, so what the commands share lands in few chunks (see there). */
const sharedGround: Plugin = {
  name: 'shared-ground',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]cli[\\/]commands[\\/][^\\/]+\.ts$/ }, async (args) => ({
      contents: `import '../shared.js'; ${await readFile(args.path, 'utf8')}`,
      loader: 'ts',
    }));
  },
};

/**
 * One bundle for the CLI, its pure-JavaScript dependencies inside it: a
 * command's start costs a few parsed chunks, not hundreds of files found and
 * read in node_modules. Native modules stay external (npm builds them for the
 * machine), and so do hosted mode's clients and exceljs, which only an .xlsx catalog loads and which
 * is larger than all the rest together. Commands are split into chunks loaded
 * when their command runs, so `--help` never loads SQLite.
 */
export default defineConfig({
  entry: { cli: 'src/cli/main.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  splitting: true,
  sourcemap: true,
  clean: true,
  esbuildPlugins: [sharedGround],
  shims: false,
  // Hosted mode's clients (bullmq, ioredis, rate-limiter-flexible, and pg-native, which builds against
  // libpq) stay outside too: only `erp-sync worker` and `erp-sync hosted` load them, never an agent's command.
  noExternal: [/^(?!better-sqlite3$|@napi-rs\/keyring$|exceljs$|bullmq$|ioredis$|rate-limiter-flexible$|pg-native$|pg-types$)/],
  // Bundled CommonJS packages (commander, undici) call require() for Node's own modules.
  banner: { js: "import { createRequire as __erpSyncRequire } from 'node:module'; const require = __erpSyncRequire(import.meta.url);" },
});
