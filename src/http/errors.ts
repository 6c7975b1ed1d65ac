/**
 * One table decides what is transient (worth a retry) and what is not, for
 * every service erp-sync talks to: ERPs and the marketplace alike.
 */
export type HttpFailureKind =
  | 'refused'
  | 'dns'
  | 'tls'
  | 'timeout'
  | 'reset'
  | 'too-large'
  | 'malformed'
  | 'http';

export class HttpError extends Error {
  /** `Entegra (shop)`, `marketplace`. */
  readonly service: string;
  readonly kind: HttpFailureKind;
  readonly status: number | undefined;
  readonly transient: boolean;
  /** From Retry-After (seconds or an HTTP date), when the service sent one. */
  readonly retryAfterMs: number | undefined;
  /** The start of the answer's body, already redacted, for logs and `explain`. */
  readonly body: string | undefined;
  readonly url: string;

  constructor(init: {
    service: string;
    kind: HttpFailureKind;
    url: string;
    message: string;
    status?: number;
    retryAfterMs?: number;
    body?: string;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.name = 'HttpError';
    this.service = init.service;
    this.kind = init.kind;
    this.url = init.url;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.body = init.body;
    this.transient = isTransient(init.kind, init.status);
  }
}

export function isTransient(kind: HttpFailureKind, status: number | undefined): boolean {
  switch (kind) {
    case 'refused':
    case 'timeout':
    case 'reset':
    case 'malformed':
      return true;
    case 'dns':
    case 'tls':
    case 'too-large':
      return false;
    case 'http':
      return status === 408 || status === 429 || (status !== undefined && status >= 500);
  }
}

const networkCodes: Record<string, HttpFailureKind> = {
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'refused',
  ENETUNREACH: 'refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'timeout',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ECONNABORTED: 'reset',
};

/** Maps a low-level error from undici or Node to a failure kind, or undefined if it is not a network error. */
export function classifyNetworkError(error: unknown): HttpFailureKind | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (code in networkCodes) return networkCodes[code];
      if (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL') || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE') {
        return 'tls';
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What a person should read for each failure kind. */
export function describeFailure(service: string, kind: HttpFailureKind, url: string, status?: number): string {
  const host = safeHost(url);
  switch (kind) {
    case 'refused':
      return `${service}: the connection to ${host} was refused. Is the service running and the address right?`;
    case 'dns':
      return `${service}: the host name ${host} could not be resolved. Check the address and the network's DNS.`;
    case 'tls':
      return `${service}: the TLS certificate of ${host} was not accepted. Check the address (https) and the server's certificate.`;
    case 'timeout':
      return `${service}: ${host} did not answer in time.`;
    case 'reset':
      return `${service}: the connection to ${host} was dropped before the answer was complete.`;
    case 'too-large':
      return `${service}: the answer from ${host} was larger than the allowed maximum.`;
    case 'malformed':
      return `${service}: ${host} sent an answer that is not valid JSON.`;
    case 'http':
      return `${service}: ${host} answered HTTP ${status}${statusHint(status)}`;
  }
}

function statusHint(status: number | undefined): string {
  switch (status) {
    case 400:
      return ' (bad request).';
    case 401:
      return ' (the credentials were rejected).';
    case 403:
      return ' (access denied: the account lacks permission for this).';
    case 404:
      return ' (not found: check the address and any company or tenant id).';
    case 408:
      return ' (request timeout).';
    case 422:
      return ' (the request was refused as invalid).';
    case 429:
      return ' (too many requests: rate limited).';
    default:
      return status !== undefined && status >= 500 ? ' (a server error on their side).' : '.';
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const trimmed = raw.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
