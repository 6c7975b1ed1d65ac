import { DriverError } from '../driver/contract.js';
import { HttpError } from '../http/errors.js';
import { ExitCode, UserError } from '../errors/index.js';

export interface Failure {
  /** Stable code for logs, alerts and `--json`. */
  code: string;
  /** What went wrong, naming the service; already redacted. */
  message: string;
  /** What to do about it. */
  hint: string | undefined;
  exitCode: ExitCode;
}

/**
 * Maps whatever stopped a pull or a push to an exit code and words a person
 * can act on. This is the one place that decides "try again later" (75),
 * "credentials rejected" (77) and "configuration" (78).
 */
export function describeRunFailure(error: unknown): Failure {
  if (error instanceof UserError) {
    return { code: error.code, message: error.message, hint: error.hint, exitCode: error.exitCode };
  }
  if (error instanceof DriverError) {
    switch (error.code) {
      case 'CREDENTIALS_REJECTED':
        return { code: 'ERP_CREDENTIALS_REJECTED', message: error.message, hint: error.hint ?? 'Check the credentials with `erp-sync test <connection>` and connect again.', exitCode: ExitCode.credentials };
      case 'CONFIGURATION':
        return { code: 'ERP_CONFIGURATION', message: error.message, hint: error.hint ?? 'Check the connection settings with `erp-sync connections`.', exitCode: ExitCode.config };
      case 'MALFORMED_RESPONSE':
        return { code: 'ERP_MALFORMED_RESPONSE', message: error.message, hint: error.hint ?? 'This is usually temporary; if it persists, contact the ERP vendor with this message.', exitCode: ExitCode.tempFail };
      case 'INCOMPLETE_PULL':
        return { code: 'ERP_INCOMPLETE_PULL', message: error.message, hint: error.hint ?? 'The next run will try again.', exitCode: ExitCode.tempFail };
    }
  }
  if (error instanceof HttpError) {
    if (error.status === 401 || error.status === 403) {
      return {
        code: 'CREDENTIALS_REJECTED',
        message: error.message,
        hint: error.status === 401 ? 'Check the credentials and connect again.' : 'Ask the vendor to grant this account API access.',
        exitCode: ExitCode.credentials,
      };
    }
    if (error.transient) {
      return { code: 'SERVICE_UNAVAILABLE', message: error.message, hint: 'Nothing was lost; the next run will try again.', exitCode: ExitCode.tempFail };
    }
    if (error.kind === 'dns' || error.kind === 'tls' || error.status === 404) {
      return { code: 'SERVICE_ADDRESS', message: error.message, hint: 'Check the base URL of the connection.', exitCode: ExitCode.config };
    }
    return {
      code: 'SERVICE_REFUSED',
      message: error.message + (error.body ? ` Answer: ${error.body.slice(0, 200)}` : ''),
      hint: `Retrying will not help: check the connection's settings and base URL; if they are right, send this message to ${error.service}'s support.`,
      exitCode: ExitCode.tempFail,
    };
  }
  if ((error as { name?: string } | undefined)?.name === 'AbortError') {
    return { code: 'INTERRUPTED', message: 'the run was interrupted', hint: 'The next run picks up where this one stopped.', exitCode: ExitCode.tempFail };
  }
  return {
    code: 'INTERNAL',
    message: `an unexpected error: ${error instanceof Error ? error.message : String(error)}`,
    hint: 'This is a bug in erp-sync; please report it with `erp-sync --version` and this message.',
    exitCode: ExitCode.internal,
  };
}
