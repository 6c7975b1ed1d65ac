import chalk from 'chalk';

/**
 * Where command output goes. With --json, stdout carries only the JSON
 * document and everything a person reads goes to stderr.
 */
export interface Output {
  json: boolean;
  /** A line for people: stdout normally, stderr under --json. */
  line(text?: string): void;
  /** The JSON document (only under --json). */
  document(value: unknown): void;
  warn(text: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    line: (text = '') => (json ? process.stderr : process.stdout).write(`${text}\n`),
    document: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    warn: (text) => process.stderr.write(`${chalk.yellow('!')} ${text}\n`),
  };
}

/** A run's status in the colour of how it went. */
export const statusColour = (status: string) =>
  status === 'succeeded' ? chalk.green : ['partial', 'interrupted', 'running', 'locked'].includes(status) ? chalk.yellow : chalk.red;

/** `host:port` as a person types it, an IPv6 address in brackets. */
export const hostPort = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;
