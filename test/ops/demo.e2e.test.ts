import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/model/run.js';
import { CLI, json, runCli } from '../support/cli.js';

/**
 * The demo a newcomer tries first: its world stays, every command it
 * suggests works as printed, and `demo --serve` brings the world back with
 * its sandboxes and the web page. The built CLI, as its own process.
 */

const home = mkdtempSync(join(tmpdir(), 'erp-sync-demo-'));
const env = { ERP_SYNC_HOME: home, NO_COLOR: '1', LANG: 'C' };
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The commands a text tells the reader to run: `erp-sync …` in backticks, indented on a line of its own, or after a colon; none with a placeholder. */
function suggested(text: string): string[] {
  const quoted = [...text.matchAll(/`(erp-sync [^`]+)`/g)].map((match) => match[1]!);
  const lines = [...text.matchAll(/^ {2}(erp-sync [^\n]+?)\s*$/gm)].map((match) => match[1]!);
  const trailing = [...text.matchAll(/: (erp-sync [^,\n]+?)(?:,|$)/gm)].map((match) => match[1]!.trim());
  return [...new Set([...quoted, ...lines, ...trailing])].filter((command) => !/[<>]/.test(command));
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('erp-sync demo', () => {
  let printed: string[] = [];

  it('keeps its world in its own home, apart from the merchant\'s connections, and says how to look around it', async () => {
    const demo = await runCli(['demo', '--products', '200'], env);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain(`The demo's world stays in ${join(home, 'demo')}`);
    expect(existsSync(join(home, 'demo', 'erp-sync.db'))).toBe(true);
    expect(existsSync(join(home, 'demo', 'sandbox-world.json'))).toBe(true);
    // The merchant's own home has no connection from the demo.
    expect(existsSync(join(home, 'config.json'))).toBe(false);
    expect((await runCli(['status'], env)).stdout).toContain('No connections yet');

    printed = suggested(demo.stdout);
    expect(printed).toEqual(expect.arrayContaining([
      'erp-sync --demo logs --failed', 'erp-sync --demo status', 'erp-sync --demo explain 8690000000234', 'erp-sync demo --serve', 'erp-sync demo', 'erp-sync drivers',
    ]));
  });

  it('every command it suggests works as printed', async () => {
    // `erp-sync demo` (which starts the world over) is the one tested above; --serve is tested below.
    for (const command of printed.filter((c) => !c.startsWith('erp-sync demo'))) {
      const result = await runCli(command.split(' ').slice(1), env);
      expect(result.code, `${command}\n${result.stderr}`).toBe(0);
      expect(result.stdout.length, command).toBeGreaterThan(0);
    }
    const failed = await runCli(['--demo', 'logs', '--failed'], env);
    expect(failed.stdout).toContain('PRICE_NOT_A_NUMBER');
    expect(failed.stdout).toContain('BARCODE_CHECK_DIGIT');
    expect((await runCli(['--demo', 'explain', '8690000000234'], env)).stdout).toContain('the price "yok" is not a number');
  });

  it('--serve brings the world back with its sandboxes and the web page; a change made in the sandbox is all the next run pushes', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'demo', '--serve', '--port', String(port)], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const appears = async (pattern: RegExp) => {
      for (let waited = 0; !pattern.test(screen); waited += 50) {
        if (waited > 20_000) throw new Error(`${pattern} did not appear:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return pattern.exec(screen)!;
    };
    try {
      await appears(new RegExp(`serving its page at http://127\\.0\\.0\\.1:${port}/`));
      expect(screen).toContain('Type c and Enter to change 5 products in the sandbox ERP');
      for (const command of suggested(screen)) expect(['erp-sync --demo run']).toContain(command);

      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      const status = await (await fetch(`http://127.0.0.1:${port}/api/status`)).text();
      expect(status).toContain('"demo"');

      // Nothing changed since the demo: nothing to push.
      const idle = json<{ runs: RunSummary[] }>(await runCli(['--demo', 'run', '--json'], env)).runs[0]!;
      expect(idle).toMatchObject({ status: 'succeeded', pushed: 0 });

      child.stdin.write('c\n');
      const changed = (await appears(/Changed in the sandbox ERP: ([\d, ]+)\n/))[1]!.split(', ');
      expect(changed).toHaveLength(5);
      const run = json<{ runs: RunSummary[] }>(await runCli(['--demo', 'run', '--json'], env)).runs[0]!;
      expect(run).toMatchObject({ status: 'succeeded', changed: 5, pushed: 5 });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(screen).toContain(`Stopped; the demo's world is kept in ${join(home, 'demo')}`);
    // What the marketplace took is kept with the world: a run on the kept world has nothing to send again.
    const world = JSON.parse(readFileSync(join(home, 'demo', 'sandbox-world.json'), 'utf8')) as { offers: unknown[] };
    expect(world.offers.length).toBe(197);
  });
});
