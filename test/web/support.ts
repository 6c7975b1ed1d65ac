import { existsSync } from 'node:fs';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import type { AsyncTargetOptions } from '../../src/sandbox/async-target.js';
import { SandboxN11 } from '../../src/sandbox/n11.js';
import { SandboxTrendyol } from '../../src/sandbox/trendyol.js';
import { envVarName } from '../../src/secrets/store.js';
import { finished, startCli } from '../support/cli.js';
import type { CliResult } from '../support/cli.js';
import { n11Account, n11Connection, trendyolAccount, trendyolConnection } from '../support/target-accounts.js';
import type { World } from '../support/world.js';

/**
 * Debian's chromium, or the browser ERP_SYNC_TEST_CHROMIUM names (a path that does not exist
 * makes the run behave as on a machine without a browser.
 */
export const CHROMIUM = process.env.ERP_SYNC_TEST_CHROMIUM || '/usr/bin/chromium';
export const hasChromium = () => existsSync(CHROMIUM);
export const CHROMIUM_INSTALL = `apt-get install -y chromium (Debian), or point ERP_SYNC_TEST_CHROMIUM at one; looked for ${CHROMIUM}`;

export interface Serving {
  /** The port it listens on (--port 0 lets the OS choose). */
  port: number;
  url: string;
  child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stop(): Promise<CliResult>;
}

/** Starts the built `erp-sync serve` and waits until it says where it listens. */
export async function startServe(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Serving> {
  const child = startCli(['serve', '--port', '0', ...args], env);
  const done = finished(child);
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer | string) => (stdout += String(chunk)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stdout}`)), 20_000);
    child.stdout!.on('data', () => {
      const match = /http:\/\/\S+:(\d+)\//.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void done.then((result) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${result.code}:\n${result.stdout}\n${result.stderr}`));
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    child,
    stdout: () => stdout,
    async stop() {
      child.kill('SIGTERM');
      return done;
    },
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A raw HTTP request, so tests choose the Host header and the address they
 * connect to (fetch forbids setting Host).
 */
export function http(
  address: string,
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An IPv4 address of this machine that is not loopback, if it has one. */
export function nonLoopbackAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/**
 * Headless Debian chromium, never a downloaded browser. launch() gives it a
 * fresh temporary profile of its own (Playwright refuses --user-data-dir here).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A sandbox Trendyol or N11 connected through the built CLI as a target every connection of the world feeds. */
export type TargetSandbox = SandboxTrendyol | SandboxN11;

/**
 * Starts the sandbox marketplace of `kind` on 127.0.0.1 and connects it with
 * `erp-sync connect <kind>` (tested before it is saved, like a merchant's),
 * its secrets in the world's environment. `settings` go in with --set.
 */
export async function connectTarget(world: World, kind: 'trendyol' | 'n11', options: AsyncTargetOptions, settings: Record<string, string>): Promise<TargetSandbox> {
  const sandbox = kind === 'trendyol' ? await new SandboxTrendyol({ ...trendyolAccount, ...options }).start() : await new SandboxN11({ ...n11Account, ...options }).start();
  const connection = kind === 'trendyol' ? trendyolConnection : n11Connection;
  for (const [field, value] of Object.entries(connection.secrets)) world.env[envVarName(kind, field)] = value;
  const flags = Object.entries({ ...connection.settings, ...settings }).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
  const result = await world.cli('connect', kind, '--base-url', sandbox.baseUrl, ...flags);
  if (result.code !== 0) throw new Error(`connect ${kind} failed: ${result.stderr}`);
  return sandbox;
}
