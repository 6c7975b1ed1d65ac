import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The floors of docs/ARCHITECTURE.md, checked on every import: a module
 * imports from its own floor or the floors below, never up; drivers know
 * nothing of SQLite or the marketplace; the engine nothing of terminals; no
 * command imports another; only the SQL Server executor imports mssql, and
 * only src/hosted bullmq, ioredis and rate-limiter-flexible; the database's
 * SQL is written in src/store only, and so is the choice between SQLite and
 * PostgreSQL (whose client only src/store/pg.ts loads).
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Each area of the code and its floor: 0 is the ground. */
const FLOORS: Record<string, number> = {
  'src/model': 0, 'src/errors': 0, 'src/i18n': 0,
  'src/lock': 1, 'src/secrets': 1, 'src/config': 1, 'src/http': 1, 'src/settings': 1, 'src/driver': 1, 'src/store': 1,
  'src/marketplace': 1, 'src/schedule': 1,
  'src/rules': 2, 'drivers': 2, 'src/sandbox': 2, 'src/report': 2,
  'src/engine': 3,
  'src/web': 4, 'src/cli': 4, 'src/hosted': 4,
};

/** Areas that may import from fewer places than their floor allows. */
const ONLY: Record<string, readonly string[]> = {
  // A driver knows its ERP's API and nothing else: no SQLite, no marketplace, no terminal.
  drivers: ['drivers', 'src/driver', 'src/http', 'src/i18n', 'src/errors', 'src/model'],
};

/** Packages that draw on a terminal: the CLI's alone. */
const TERMINAL_PACKAGES = ['chalk', 'commander', '@inquirer/prompts', 'cli-progress'];

/** Hosted mode's queue and shared limits: `src/hosted` alone talks to Redis, so an agent's command never loads them. */
const HOSTED_PACKAGES = ['bullmq', 'ioredis', 'rate-limiter-flexible'];

/** SQL Server's client: one thin executor uses it, so that everything above it is tested against a fake. */
const SQL_SERVER_PACKAGES = ['mssql', 'tedious'];
const SQL_SERVER_EXECUTOR = 'src/driver/sqlserver.ts';

export interface SourceFile {
  path: string;
  text: string;
}

function areaOf(path: string): string | undefined {
  return Object.keys(FLOORS).find((area) => path === area || path.startsWith(`${area}/`));
}

function importsOf(file: SourceFile): string[] {
  const specs: string[] = [];
  const pattern = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  for (const match of file.text.matchAll(pattern)) specs.push((match[1] ?? match[2])!);
  return specs;
}

/** Every import that breaks a rule, as "from → to: why". */
export function importViolations(files: readonly SourceFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const area = areaOf(file.path);
    if (!area) continue;
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) {
        if (TERMINAL_PACKAGES.includes(spec) && area !== 'src/cli') problems.push(`${file.path} → ${spec}: only the CLI draws on a terminal`);
        if (SQL_SERVER_PACKAGES.includes(spec) && file.path !== SQL_SERVER_EXECUTOR) problems.push(`${file.path} → ${spec}: only ${SQL_SERVER_EXECUTOR} talks to SQL Server`);
        if (HOSTED_PACKAGES.includes(spec) && area !== 'src/hosted') problems.push(`${file.path} → ${spec}: only src/hosted talks to Redis`);
        continue;
      }
      const target = normalize(join(dirname(file.path), spec)).replace(/\.js$/, '.ts');
      const targetArea = areaOf(target);
      if (!targetArea || targetArea === area) {
        if (file.path.startsWith('src/cli/commands/') && target.startsWith('src/cli/commands/')) {
          problems.push(`${file.path} → ${target}: a command imports no other command`);
        }
        continue;
      }
      if (FLOORS[targetArea]! > FLOORS[area]!) problems.push(`${file.path} → ${target}: floor ${FLOORS[area]} may not import floor ${FLOORS[targetArea]}`);
      else if (ONLY[area] && !ONLY[area].includes(targetArea)) problems.push(`${file.path} → ${target}: ${area} imports only from ${ONLY[area].join(', ')}`);
      else if (area === 'src/web' && targetArea === 'src/cli') problems.push(`${file.path} → ${target}: the web page does not import the CLI`);
      else if (area === 'src/hosted' && targetArea === 'src/cli') problems.push(`${file.path} → ${target}: hosted mode's services do not import the CLI`);
    }
  }
  return problems;
}

const SQL = /\b(?:SELECT\b[\s\S]{0,400}?\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(?:TEMP\s+)?(?:TABLE|INDEX)|DROP\s+TABLE)\b/;
const DATABASE_CALLS = /\.(?:prepare|pragma)\(|\bdb\.exec\(/;

/** Files outside src/store that write SQL for the database, or call it directly. */
export function sqlOutsideStore(files: readonly SourceFile[]): string[] {
  return files
    .filter((file) => file.path.startsWith('src/') && !file.path.startsWith('src/store/'))
    .filter((file) => SQL.test(file.text) || DATABASE_CALLS.test(file.text))
    .map((file) => file.path);
}

/** PostgreSQL's client (pg-native over libpq, and its type parsers): loaded by the facade alone. */
const PG_CLIENT = /['"]pg-(?:native|types)['"]/;
const PG_FACADE = 'src/store/pg.ts';
/** Telling the databases apart: the store's business, never the engine's or the interfaces'. */
const DIALECT_CALLS = /\b(?:isPg|dialectOf|sqliteOf)\(/;

/** Files that load PostgreSQL's client outside its facade, or choose SQL by database outside src/store. */
export function databaseSpecificOutsideStore(files: readonly SourceFile[]): string[] {
  return files
    .filter((file) => file.path.startsWith('src/') || file.path.startsWith('drivers/'))
    .filter((file) => (PG_CLIENT.test(file.text) && file.path !== PG_FACADE) || (DIALECT_CALLS.test(file.text) && !file.path.startsWith('src/store/')))
    .map((file) => file.path);
}

function sources(): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push({ path, text: readFileSync(join(ROOT, path), 'utf8') });
    }
  };
  walk('src');
  walk('drivers');
  return files;
}

describe('the floors of the codebase', () => {
  const files = sources();

  it('covers every file with a floor', () => {
    expect(files.filter((f) => !areaOf(f.path)).map((f) => f.path)).toEqual([]);
    expect(files.length).toBeGreaterThan(100);
  });

  it('imports only down, or across one floor, by the rules', () => {
    expect(importViolations(files)).toEqual([]);
  });

  it('writes the database\'s SQL in src/store only', () => {
    expect(sqlOutsideStore(files)).toEqual([]);
  });

  it('keeps PostgreSQL\'s client in src/store/pg.ts, and the choice between the databases in src/store', () => {
    expect(databaseSpecificOutsideStore(files)).toEqual([]);
    expect(databaseSpecificOutsideStore([
      { path: 'src/store/pg.ts', text: `require('pg-native')` },
      { path: 'src/store/staging.ts', text: `const sql = dialectOf(db);` },
      { path: 'src/store/runs.ts', text: `require('pg-native')` },
      { path: 'src/engine/stage.ts', text: `if (isPg(db)) flush();` },
    ])).toEqual(['src/store/runs.ts', 'src/engine/stage.ts']);
  });

  it('notices an import up, across to the CLI, a command importing a command, SQL Server\'s client outside its executor, and SQL outside the store', () => {
    const bad: SourceFile[] = [
      { path: 'src/model/product.ts', text: `import { runConnection } from '../engine/run.js';` },
      { path: 'drivers/acme.ts', text: `import type { Db } from '../src/store/db.js';` },
      { path: 'src/web/server.ts', text: `import { renderRun } from '../cli/render-run.js';` },
      { path: 'src/cli/commands/run.ts', text: `export { statusCommand } from './status.js';` },
      { path: 'src/engine/run.ts', text: `const loaded = await import('chalk');` },
      { path: 'drivers/acme.ts', text: `import sql from 'mssql';` },
      { path: 'src/cli/commands/run.ts', text: `import { Queue } from 'bullmq';` },
      { path: 'src/hosted/worker.ts', text: `import { renderRun } from '../cli/render-run.js';` },
    ];
    expect(importViolations(bad)).toEqual([
      'src/model/product.ts → src/engine/run.ts: floor 0 may not import floor 3',
      'drivers/acme.ts → src/store/db.ts: drivers imports only from drivers, src/driver, src/http, src/i18n, src/errors, src/model',
      'src/web/server.ts → src/cli/render-run.ts: the web page does not import the CLI',
      'src/cli/commands/run.ts → src/cli/commands/status.ts: a command imports no other command',
      'src/engine/run.ts → chalk: only the CLI draws on a terminal',
      'drivers/acme.ts → mssql: only src/driver/sqlserver.ts talks to SQL Server',
      'src/cli/commands/run.ts → bullmq: only src/hosted talks to Redis',
      'src/hosted/worker.ts → src/cli/render-run.ts: hosted mode\'s services do not import the CLI',
    ]);
    expect(sqlOutsideStore([
      { path: 'src/engine/run.ts', text: 'db.prepare(`SELECT id FROM runs`)' },
      { path: 'src/store/runs.ts', text: 'db.prepare(`SELECT id FROM runs`)' },
      { path: 'src/web/data.ts', text: "const q = 'DELETE FROM events WHERE id = ?';" },
    ])).toEqual(['src/engine/run.ts', 'src/web/data.ts']);
  });
});
