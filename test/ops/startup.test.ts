import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createWorld } from '../support/world.js';
import type { World } from '../support/world.js';
import { runCli } from '../support/cli.js';

/**
 * What a command loads before it does anything, read from the built CLI
 * itself: a preload records the modules required (erp-sync's chunks under
 * dist/ among them) and node's built-ins. Speed is the benchmark's (scenario
 * 0); this holds the shape that makes it: a CommonJS build, so node never
 * starts its ES module loader, one shared chunk, and what `status` never uses
 * left unloaded.
 */
let world: World;
let dir: string;

interface Loaded {
  /** erp-sync's own files under dist/. */
  dist: string[];
  /** Every module required, by path. */
  required: string[];
  /** node's built-in modules, as `process.moduleLoadList` names them. */
  builtins: string[];
}

const PRELOAD = `
const { writeFileSync } = require('node:fs');
process.on('exit', () => {
  writeFileSync(process.env.ERP_SYNC_TEST_LOADED, JSON.stringify({ required: Object.keys(require.cache), builtins: process.moduleLoadList }));
});
`;

/** What a process needs to run `preload` first and tell it where to write what it records. */
const preloading = (preload: string, out: string) => ({ NODE_OPTIONS: `--require ${JSON.stringify(preload)}`, ERP_SYNC_TEST_LOADED: out });

/** node's built-in modules loaded by a bare node running `args`, with the same preload. */
function builtinsOf(args: string[]): string[] {
  const out = join(dir, 'loaded-bare.json');
  const result = spawnSync(process.execPath, args, { env: { ...process.env, ...preloading(join(dir, 'preload.cjs'), out) } });
  expect(result.status, String(result.stderr)).toBe(0);
  return builtinNames((JSON.parse(readFileSync(out, 'utf8')) as { builtins: string[] }).builtins);
}

const builtinNames = (list: string[]) => list.filter((name) => name.startsWith('NativeModule ')).map((name) => name.slice('NativeModule '.length));

async function loadedBy(args: string[], env: NodeJS.ProcessEnv = world.env): Promise<Loaded> {
  const out = join(dir, `loaded-${args.join('-')}.json`);
  const result = await runCli(args, { ...env, ...preloading(join(dir, 'preload.cjs'), out) });
  expect(result.code, result.stderr).toBe(0);
  const loaded = JSON.parse(readFileSync(out, 'utf8')) as { required: string[]; builtins: string[] };
  return {
    dist: loaded.required.filter((path) => /[\\/]dist[\\/][^\\/]+\.cjs$/.test(path)),
    required: loaded.required,
    builtins: builtinNames(loaded.builtins),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'erp-sync-startup-'));
  writeFileSync(join(dir, 'preload.cjs'), PRELOAD);
  world = await createWorld({ products: 20 });
  const { result } = await world.run();
  expect(result.code).toBe(0);
}, 60_000);

afterAll(async () => {
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('what a command loads', () => {
  const addon = /better-sqlite3[\\/]build[\\/]Release[\\/]better_sqlite3\.node$/;

  it('status loads about ten of erp-sync\'s chunks by require(), never node\'s ES module loader, and none of the built-ins it does not use', async () => {
    const loaded = await loadedBy(['status']);
    expect(loaded.dist.length).toBeGreaterThan(2);
    expect(loaded.dist.length, loaded.dist.join('\n')).toBeLessThanOrEqual(12);
    // Node 20 loads the ES module loader's own modules when the first ES module loads; a later node may load them with itself.
    const esmLoader = (builtins: string[]) => builtins.filter((name) => name.startsWith('internal/modules/esm/'));
    const bare = builtinsOf(['-e', '0']);
    expect(esmLoader(loaded.builtins).filter((name) => !esmLoader(bare).includes(name))).toEqual([]);
    // better-sqlite3's JavaScript is inside the chunks; its addon comes from node_modules.
    expect(loaded.required.filter((path) => path.includes('node_modules'))).toEqual([expect.stringMatching(addon)]);
    for (const unused of ['crypto', 'child_process', 'fs/promises']) expect(loaded.builtins).not.toContain(unused);
  });

  it('--help loads the program alone: no command module, none of what the commands share, no SQLite', async () => {
    const help = await loadedBy(['--help']);
    const status = await loadedBy(['status']);
    expect(status.dist.filter((file) => !help.dist.includes(file)).length).toBeGreaterThan(1);
    // Besides cli.cjs and shared chunks (chunk-*.cjs), a file is named after the module it starts from: a command's, or the program's.
    const modules = help.dist.map((file) => file.replace(/.*[\\/]/, '').replace(/-[A-Z0-9]{8}\.cjs$/, '')).filter((name) => name !== 'chunk' && name !== 'cli.cjs');
    expect(modules).toEqual(['program']);
    expect(help.required.filter((path) => addon.test(path))).toEqual([]);
  });

  it('a run still loads node:crypto and SQLite, when it takes its lock and opens its database', async () => {
    world.erp.catalog.change(2);
    const loaded = await loadedBy(['run', '--connection', 'shop']);
    expect(loaded.builtins).toContain('crypto');
    expect(loaded.required.some((path) => addon.test(path))).toBe(true);
  });

  it('the chunks require one another without a cycle: CommonJS, unlike ES modules, would hand a chunk in a cycle a half-loaded one', () => {
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
    const requires = new Map(
      readdirSync(dist)
        .filter((file) => file.endsWith('.cjs'))
        .map((file) => [file, [...readFileSync(join(dist, file), 'utf8').matchAll(/require\(["']\.\/([^"']+\.cjs)["']\)/g)].map((match) => match[1]!)]),
    );
    expect(requires.size).toBeGreaterThan(10);
    expect([...requires.values()].flat().length).toBeGreaterThan(requires.size);
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (path.includes(file)) return void cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      if (done.has(file)) return;
      for (const next of requires.get(file) ?? []) visit(next, [...path, file]);
      done.add(file);
    };
    for (const file of requires.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('asks node for its compile cache where node has one (22.8 and later), before any chunk loads', async () => {
    const preload = join(dir, 'compile-cache.cjs');
    writeFileSync(preload, `
      const nodeModule = require('node:module');
      nodeModule.enableCompileCache = () => {
        const chunks = Object.keys(require.cache).filter((path) => /[\\\\/]dist[\\\\/]/.test(path));
        require('node:fs').writeFileSync(process.env.ERP_SYNC_TEST_LOADED, JSON.stringify(chunks));
      };
    `);
    const out = join(dir, 'compile-cache.json');
    const result = await runCli(['--version'], { ...world.env, ...preloading(preload, out) });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([]);
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
