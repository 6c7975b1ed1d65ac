import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noRules, parseRulesText } from './parse.js';
import type { Rules } from './types.js';

/**
 * A connection's rules live in their own file under the home directory,
 * `rules/<connection>.yaml`, kept exactly as the merchant wrote it (comments
 * included), rather than in the connection's settings: `erp-sync connect`
 * rewrites the settings from its flags, and a document of nested rules does
 * not fit a flat map of strings.
 */
export function rulesPath(home: string, connection: string): string {
  return join(home, 'rules', `${connection}.yaml`);
}

/** Where `erp-sync rules <connection> edit` keeps an edit that did not validate, to reopen it next time. */
export function rulesDraftPath(home: string, connection: string): string {
  return `${rulesPath(home, connection)}.draft`;
}

export function readRulesText(home: string, connection: string): string | undefined {
  return readOptional(rulesPath(home, connection));
}

export function readRulesDraft(home: string, connection: string): string | undefined {
  return readOptional(rulesDraftPath(home, connection));
}

/** The connection's rules, validated; no rules when it has no file. Throws a RulesError naming every problem. */
export function loadRules(home: string, connection: string): Rules {
  const text = readRulesText(home, connection);
  return text === undefined ? noRules : parseRulesText(text, rulesPath(home, connection));
}

/** Writes validated text and drops any draft. */
export function saveRulesText(home: string, connection: string, text: string): void {
  writePrivate(home, rulesPath(home, connection), text);
  rmSync(rulesDraftPath(home, connection), { force: true });
}

export function saveRulesDraft(home: string, connection: string, text: string): void {
  writePrivate(home, rulesDraftPath(home, connection), text);
}

export function removeRules(home: string, connection: string): void {
  rmSync(rulesPath(home, connection), { force: true });
  rmSync(rulesDraftPath(home, connection), { force: true });
}

/** Atomically, readable by its owner only: a crash leaves the old file or the new one. */
function writePrivate(home: string, path: string, text: string): void {
  mkdirSync(join(home, 'rules'), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
