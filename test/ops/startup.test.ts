import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { runCli } from '../support/cli.js';

/**
 * What a command loads before it does anything, read from the built CLI
 * itself: a preload records every file the ES module loader resolves, the
 * CommonJS modules required and node's built-ins. Speed is the benchmark's
 * (scenario 0); this holds the shape that makes it: one shared chunk, and
 * what `status` never uses left unloaded.
 */
let world: World;
let dir: string;

interface Loaded {
  /** Every URL the ES module loader resolved. */
  esm: string[];
  /** erp-sync's own files under dist/. */
  dist: string[];
  /** CommonJS modules, by path. */
  required: string[];
  /** node's built-in modules, as `process.moduleLoadList` names them. */
  builtins: string[];
}

const PRELOAD = `
import { createRequire, register } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
const out = process.env.ERP_SYNC_TEST_LOADED;
register('data:text/javascript,' + encodeURIComponent(\`
  import { appendFileSync } from 'node:fs';
  export async function resolve(specifier, context, next) {
    const resolved = await next(specifier, context);
    appendFileSync(\${JSON.stringify(out + '.esm')}, resolved.url + '\\\\n');
    return resolved;
  }
\`));
const require = createRequire(import.meta.url);
process.on('exit', () => {
  let esm = '';
  try { esm = readFileSync(out + '.esm', 'utf8'); } catch {}
  writeFileSync(out, JSON.stringify({ esm: esm.split('\\n').filter(Boolean), required: Object.keys(require.cache), builtins: process.moduleLoadList }));
});
`;

async function loadedBy(args: string[], env: NodeJS.ProcessEnv = world.env): Promise<Loaded> {
  const out = join(dir, `loaded-${args.join('-')}.json`);
  const result = await runCli(args, { ...env, NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'preload.mjs')).href}`, ERP_SYNC_TEST_LOADED: out });
  expect(result.code, result.stderr).toBe(0);
  const loaded = JSON.parse(readFileSync(out, 'utf8')) as { esm: string[]; required: string[]; builtins: string[] };
  return {
    esm: loaded.esm,
    dist: [...new Set(loaded.esm.filter((url) => /\/dist\/[^/]+\.js$/.test(url)))],
    required: loaded.required,
    builtins: loaded.builtins.filter((name) => name.startsWith('NativeModule ')).map((name) => name.slice('NativeModule '.length)),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'erp-sync-startup-'));
  writeFileSync(join(dir, 'preload.mjs'), PRELOAD);
  world = await createWorld({ products: 20 });
  const { result } = await world.run();
  expect(result.code).toBe(0);
}, 60_000);

afterAll(async () => {
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('what a command loads', () => {
  it('status loads about a dozen of erp-sync\'s files, SQLite by require() and not as an ES module, and not node:crypto', async () => {
    const loaded = await loadedBy(['status']);
    expect(loaded.dist.length).toBeGreaterThan(2);
    expect(loaded.dist.length, loaded.dist.join('\n')).toBeLessThanOrEqual(14);
    expect(loaded.required.some((path) => /better-sqlite3[\\/]lib[\\/]index\.js$/.test(path))).toBe(true);
    expect(loaded.esm.filter((url) => url.includes('better-sqlite3'))).toEqual([]);
    expect(loaded.builtins).not.toContain('crypto');
  });

  it('--help loads the program alone: no command module, none of what the commands share, no SQLite', async () => {
    const help = await loadedBy(['--help']);
    const status = await loadedBy(['status']);
    expect(status.dist.filter((file) => !help.dist.includes(file)).length).toBeGreaterThan(1);
    // Besides cli.js and shared chunks (chunk-*.js), a file is named after the module it starts from: a command's, or the program's.
    const modules = help.dist.map((file) => file.replace(/.*\//, '').replace(/-[A-Z0-9]{8}\.js$/, '')).filter((name) => name !== 'chunk' && name !== 'cli.js');
    expect(modules).toEqual(['program']);
    expect([...help.required, ...help.esm].filter((path) => path.includes('better-sqlite3'))).toEqual([]);
  });

  it('a run still loads node:crypto and SQLite, when it takes its lock and opens its database', async () => {
    world.erp.catalog.change(2);
    const loaded = await loadedBy(['run', '--connection', 'shop']);
    expect(loaded.builtins).toContain('crypto');
    expect(loaded.required.some((path) => /better-sqlite3[\\/]lib[\\/]index\.js$/.test(path))).toBe(true);
  });

  it('on a Node.js without process.getBuiltinModule (before 20.16), says which Node.js it needs, in the merchant\'s language', async () => {
    const preload = join(dir, 'old-node.mjs');
    writeFileSync(preload, 'delete process.getBuiltinModule;\n');
    const env = { ...world.env, NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` };
    const english = await runCli(['status'], env);
    expect(english.code).toBe(78);
    expect(english.stderr).toMatch(/erp-sync needs Node\.js 20\.16 or newer; this is Node\.js \d+\.\d+\.\d+/);
    expect(english.stderr).toMatch(/Try: Install the current Node\.js LTS/);
    const turkish = await runCli(['--lang', 'tr', 'status'], env);
    expect(turkish.code).toBe(78);
    expect(turkish.stderr).toMatch(/Node\.js 20\.16 veya daha yenisini gerektirir/);
  });
});
