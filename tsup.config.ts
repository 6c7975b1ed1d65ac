import { readFile } from 'node:fs/promises';
import { transform } from 'esbuild';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';
import type { Options } from 'tsup';

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
 * commander requires node:child_process when it loads, for subcommands that
 * are programs of their own, which erp-sync has none of. Loading it costs
 * every command several milliseconds, so commander gets it on first use.
 */
const commanderSpawnOnUse: Plugin = {
  name: 'commander-spawn-on-use',
  setup(build) {
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager)) throw new Error(`commander no longer starts with "${eager}": review the commander-spawn-on-use plugin`);
      return { contents: source.replace(eager, "const childProcess = { spawn: (...args) => process.getBuiltinModule('node:child_process').spawn(...args) };"), loader: 'js' };
    });
  },
};

/**
 * Each chunk esbuild splits out as an ES module, rewritten as a CommonJS one
 * (tsup's own CommonJS splitting passes chunks through sucrase, which also
 * rewrites `?.`, `??` and class fields into slower helpers: tsup#1087).
 * Chunks already name one another `.cjs`; `import()` of a chunk becomes
 * require(), import.meta.url the chunk's own file URL, and the chunk stays in
 * strict mode, as every ES module is. The chunk's map leads back to the
 * sources through the ES module chunk's own map, which tsup merges.
 */
const commonJsChunks: NonNullable<Options['plugins']>[number] = {
  name: 'commonjs-chunks',
  async renderChunk(code, chunk) {
    const importMetaUrl = code.includes('import.meta.url');
    const result = await transform(code, {
      format: 'cjs',
      target: 'node20',
      platform: 'node',
      supported: { 'dynamic-import': false },
      define: importMetaUrl ? { 'import.meta.url': '__importMetaUrl' } : {},
      banner: `"use strict";${importMetaUrl ? "var __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" : ''}`,
      sourcemap: 'external',
      // The name tsup merges this map under; the ES module chunk is not kept in it, only its own sources.
      sourcefile: chunk.path,
      sourcesContent: false,
    });
    if (result.warnings.length > 0) throw new Error(`${chunk.path}: ${result.warnings.map((warning) => warning.text).join('; ')}`);
    return { code: result.code, map: result.map };
  },
};

/**
 * One bundle for the CLI, its pure-JavaScript dependencies inside it: a
 * command's start costs a few parsed chunks, not hundreds of files found and
 * read in node_modules. Native addons stay where npm built them (better-sqlite3's
 * JavaScript is bundled, its addon loaded by path: src/store/db.ts), and so
 * do hosted mode's clients and exceljs, which only an .xlsx catalog loads
 * and which is larger than all the rest together. Commands are split into
 * chunks loaded when their command runs, so `--help` never loads SQLite.
 *
 * The source is ES modules; the build is CommonJS. On Node 20, starting the
 * ES module loader and loading a dozen chunks through it costs a command
 * about 30 ms more than require() does (`status` 191 against 160 ms), and a
 * command such as `status` is meant to answer in under 150 ms.
 */
export default defineConfig({
  entry: { cli: 'src/cli/main.ts' },
  format: ['esm'],
  outExtension: () => ({ js: '.cjs' }),
  plugins: [commonJsChunks],
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  splitting: true,
  sourcemap: true,
  clean: true,
  esbuildPlugins: [sharedGround, commanderSpawnOnUse],
  shims: false,
  // Hosted mode's clients (bullmq, ioredis, rate-limiter-flexible, and pg-native, which builds against
  // libpq) stay outside too: only `erp-sync worker` and `erp-sync hosted` load them, never an agent's command.
  // So does `bindings`, better-sqlite3's search for its addon, which erp-sync never lets it make.
  noExternal: [/^(?!@napi-rs\/keyring$|exceljs$|bullmq$|ioredis$|rate-limiter-flexible$|pg-native$|pg-types$|bindings$)/],
});
