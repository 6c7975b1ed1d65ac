import { spawn } from 'node:child_process';

export interface SyncLauncherOptions {
  /** The built CLI (bin/erp-sync.js). */
  cli: string;
  log(line: string): void;
}

/**
 * "Sync now": each run is `erp-sync run --connection NAME --json` in its own
 * process, so a crash or a runaway driver cannot take the web server down,
 * and the run takes the same lock as one started by cron. A started child
 * counts as running until it exits, which covers the moment before it has
 * taken the lock.
 */
export class SyncLauncher {
  readonly #options: SyncLauncherOptions;
  readonly #children = new Map<string, ReturnType<typeof spawn>>();

  constructor(options: SyncLauncherOptions) {
    this.#options = options;
  }

  isStarting(connection: string): boolean {
    return this.#children.has(connection);
  }

  start(connection: string): void {
    const child = spawn(process.execPath, [this.#options.cli, 'run', '--connection', connection, '--json'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#children.set(connection, child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    const done = (outcome: string) => {
      if (this.#children.get(connection) !== child) return;
      this.#children.delete(connection);
      this.#options.log(`sync of "${connection}" ${outcome}${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`);
    };
    child.on('error', (error) => done(`could not start (${error.message})`));
    child.on('close', (code, signal) => done(signal ? `ended by ${signal}` : `ended with exit code ${code}`));
  }

  /**
   * Asks the runs in flight to stop as `erp-sync run` does on SIGTERM (the
   * batch in flight finishes and is recorded) and waits for them, so none is
   * left writing to a closed pipe.
   */
  async stop(): Promise<void> {
    const children = [...this.#children.values()];
    await Promise.all(
      children.map((child) => {
        const closed = new Promise((resolve) => child.once('close', resolve));
        child.kill('SIGTERM');
        return closed;
      }),
    );
  }
}
