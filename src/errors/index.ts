/**
 * Exit codes follow sysexits(3) so cron, systemd (RestartPreventExitStatus=) and
 * scripts can act on them. Item-level rejections and invalid rows are data
 * problems: reported, never a failing exit code.
 */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 64,
  safety: 65,
  tempFail: 75,
  credentials: 77,
  config: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The severity order used when several connections end differently in one command. */
const severity: Record<ExitCode, number> = { 0: 0, 75: 1, 65: 2, 78: 3, 77: 4, 64: 5, 1: 6 };
export function worstExitCode(codes: Iterable<ExitCode>): ExitCode {
  let worst: ExitCode = ExitCode.ok;
  for (const code of codes) if (severity[code] > severity[worst]) worst = code;
  return worst;
}

export interface UserErrorOptions {
  /** A stable machine-readable code, e.g. `ERP_UNREACHABLE`. */
  code: string;
  exitCode: ExitCode;
  /** What to do about it, one sentence. */
  hint?: string;
  cause?: unknown;
}

/**
 * An expected failure: the message names what failed and `hint` says what to do.
 * The CLI prints both and exits with `exitCode`; it never prints a stack.
 */
export class UserError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(message: string, options: UserErrorOptions) {
    super(message, { cause: options.cause });
    this.name = 'UserError';
    this.code = options.code;
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

export const isUserError = (error: unknown): error is UserError => error instanceof UserError;

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What a wrapped error is read for: its code and its message. */
interface CauseLink {
  code?: unknown;
  message?: unknown;
}

/**
 * An error and the errors it wraps, outermost first, at most `depth` of them:
 * the standard `cause` (undici, Node), or mssql's `originalError`.
 */
export function* causeChain(error: unknown, depth = 6): Generator<CauseLink> {
  let current: unknown = error;
  for (let i = 0; current && i < depth; i++) {
    yield current as CauseLink;
    current = (current as { originalError?: unknown }).originalError ?? (current as { cause?: unknown }).cause;
  }
}
