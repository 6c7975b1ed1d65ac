import chalk from 'chalk';

/**
 * How a command talks to people on stderr, set once from the global options:
 * `--quiet` keeps only errors; `--log-format json` turns every progress
 * line, warning and error into one JSON object per line (for journald and
 * log shippers), with no colours.
 */
export interface LogMode {
  quiet: boolean;
  json: boolean;
}

const mode: LogMode = { quiet: false, json: false };

/**
 * chalk honours FORCE_COLOR but not NO_COLOR (no-color.org): a non-empty
 * NO_COLOR turns colours off unless FORCE_COLOR says otherwise.
 */
export function configureLogging(options: { quiet?: boolean; logFormat?: string }, env: NodeJS.ProcessEnv = process.env): void {
  mode.quiet = !!options.quiet;
  mode.json = options.logFormat === 'json';
  if ((env.NO_COLOR && !('FORCE_COLOR' in env)) || mode.json) chalk.level = 0;
}

export function logMode(): Readonly<LogMode> {
  return mode;
}

export type LogLevel = 'info' | 'warn' | 'error';

/** One structured log line on stderr: `{"time", "level", "event", "message", ...fields}`. */
export function logJson(level: LogLevel, event: string, message: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, message, ...fields })}\n`);
}
