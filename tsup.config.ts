import { defineConfig } from 'tsup';

// One bundle for the CLI. Native and large runtime dependencies stay external so
// `npm ci` installs them as usual; commands are split into lazily loaded chunks
// so `--help` never loads better-sqlite3.
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
  skipNodeModulesBundle: true,
});
