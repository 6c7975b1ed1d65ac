/**
 * Redaction: every string that leaves the process (log lines, error messages,
 * `--json`, the web page, ERP answers stored for support) passes through
 * `redact`. Secret values read at run time are registered here, so a password
 * an ERP echoes back in an error body is masked too.
 */
const known = new Set<string>();
let pattern: RegExp | undefined;

export const MASK = '***';

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4 || known.has(value)) return;
  known.add(value);
  pattern = undefined;
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
  let out = text;
  // Known values first: a pattern below may mask only the part of a secret it recognizes.
  if (known.size > 0) {
    pattern ??= new RegExp([...known].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
    out = out.replace(pattern, MASK);
  }
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
