import { spawn } from 'node:child_process';
import { paths } from '../config/home.js';
import { lockHolder } from '../lock/lock.js';

/**
 * How the page starts runs and tells which are going: the agent's (a CLI
 * child per "sync now", the lock files under the home), or hosted mode's
 * (a job in the queue, the lock in PostgreSQL).
 */
export interface RunControl {
  isRunning(connection: string): boolean;
  /** "Sync now": `already` when a run of the connection is going or waiting. */
  start(connection: string): Promise<'queued' | 'already'>;
  /** Lets the runs the page started stop cleanly. */
  stop(): Promise<void>;
}

/** The agent's: `erp-sync run --connection NAME` as a child process, seen running while it holds its lock. */
export function agentRuns(options: SyncLauncherOptions & { home: string }): RunControl {
  const launcher = new SyncLauncher(options);
  const isRunning = (connection: string) => launcher.isStarting(connection) || lockHolder(paths.locks(options.home), connection) !== undefined;
  return {
    isRunning,
    async start(connection) {
      if (isRunning(connection)) return 'already';
      launcher.start(connection);
      return 'queued';
    },
    stop: () => launcher.stop(),
  };
}

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
class SyncLauncher {
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
