import { spawnSync } from 'node:child_process';

/** `CI=false` and `CI=0` are common ways to say "not CI" and count as unset. */
const underCi = (): boolean => !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** True when every command is on PATH. */
export function hasCommands(...commands: string[]): boolean {
  return commands.every((command) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0);
}

/**
 * Whether tests that need an external tool run here. When `available()` is
 * false they are skipped with a printed reason on a developer's machine, but
 * under CI this throws: a CI image that lost a package must fail the run, not
 * turn it green by skipping. Use as `describe.runIf(requireTool(...))`, or inside a
 * test as `skip(!requireTool(...))` so the test is reported skipped rather than passed.
 */
export function requireTool(name: string, available: () => boolean, install: string): boolean {
  if (available()) return true;
  const message = `${name} is not available here (install: ${install})`;
  if (underCi()) throw new Error(`${message}; CI is set, so these tests fail instead of being skipped`);
  process.stderr.write(`skipped: ${message}\n`);
  return false;
}
