/**
 * Redaction: every string that leaves the process (log lines, error messages,
 * `--json`, the web page, ERP answers stored for support) passes through
 * `redact`. Secret values read at run time are registered here, so a password
 * an ERP echoes back in an error body is masked too.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Secret values known to redaction, and the pattern that finds them (made again after a new one). */
class Known {
  readonly values = new Set<string>();
  #pattern: RegExp | undefined;

  add(value: string): void {
    if (this.values.has(value)) return;
    this.values.add(value);
    this.#pattern = undefined;
  }

  mask(text: string): string {
    if (this.values.size === 0) return text;
    this.#pattern ??= new RegExp([...this.values].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
    return text.replace(this.#pattern, MASK);
  }
}

const everywhere = new Known();
const scope = new AsyncLocalStorage<Known>();

export const MASK = '***';

/** Known from now on: everywhere in the process, or only inside the scope it was read in (`withSecretScope`). */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4 || everywhere.values.has(value)) return;
  (scope.getStore() ?? everywhere).add(value);
}

/**
 * Runs `work` with the secrets read inside it known there, and forgotten
 * when it ends. A hosted worker runs each job so: what it prints of a job
 * is printed inside it, and its list of secrets does not grow with every
 * tenant it has ever served.
 */
export function withSecretScope<T>(work: () => T): T {
  return scope.run(new Known(), work);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Keys whose values are secret wherever they appear, in JSON, form bodies or headers. */
const secretKey =
  '(?:password|passwd|pass|secret|client_secret|api[_-]?key|apikey|api[_-]?secret|token|access_token|refresh_token|access|refresh|authorization|x-api-key)';

const jsonField = new RegExp(`("${secretKey}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
const formField = new RegExp(`(\\b${secretKey}=)[^&\\s"]+`, 'gi');
const authHeader = /\b(Bearer|Basic|JWT|Token)\s+[A-Za-z0-9._~+/=-]{6,}/g;
/** The password in scheme://user:password@host; the user name stays, as curl shows it, so a person can tell which account. */
const urlCredentials = /(\/\/[^/\s:@]+:)[^/\s@]+@/g;

export function redact(text: string): string {
  if (!text) return text;
  // Known values first: a pattern below may mask only the part of a secret it recognizes.
  const inScope = scope.getStore();
  let out = everywhere.mask(text);
  if (inScope) out = inScope.mask(out);
  return out
    .replace(jsonField, `$1"${MASK}"`)
    .replace(formField, `$1${MASK}`)
    .replace(authHeader, `$1 ${MASK}`)
    .replace(urlCredentials, `$1${MASK}@`);
}

/** Redacts every string inside a JSON-like value. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = new RegExp(`^${secretKey}$`, 'i').test(key) && inner != null ? MASK : redactDeep(inner);
    }
    return out as T;
  }
  return value;
}
