import { defineConfig } from 'tsup';

/**
 * One bundle for the CLI, its pure-JavaScript dependencies inside it: a
 * command's start costs a few parsed chunks, not hundreds of files found and
 * read in node_modules. Native modules stay external (npm builds them for the
 * machine), and so does exceljs, which only an .xlsx catalog loads and which
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
  shims: false,
  noExternal: [/^(?!better-sqlite3$|@napi-rs\/keyring$|exceljs$)/],
  // Bundled CommonJS packages (commander, undici) call require() for Node's own modules.
  banner: { js: "import { createRequire as __erpSyncRequire } from 'node:module'; const require = __erpSyncRequire(import.meta.url);" },
});
