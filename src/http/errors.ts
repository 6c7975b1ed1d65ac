import { causeChain } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';

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
  | 'invalid-request'
  | 'proxy'
  | 'http';

export class HttpError extends Error {
  /** `Entegra (shop)`, `marketplace`. */
  readonly service: string;
  readonly kind: HttpFailureKind;
  readonly status: number | undefined;
  readonly transient: boolean;
  /** False when repeating the request cannot help even though the failure is transient (an unreadable answer to a spent key). */
  readonly retry: boolean;
  /** From Retry-After (seconds or an HTTP date), when the service sent one. */
  readonly retryAfterMs: number | undefined;
  /** The start of the answer's body, already redacted, for logs and `explain`. */
  readonly body: string | undefined;
  readonly url: string;
  /** What to do, where the failure itself knows better than its kind (a refused certificate, a proxy that wants a password). */
  readonly hint: string | undefined;

  constructor(init: {
    service: string;
    kind: HttpFailureKind;
    url: string;
    message: string;
    status?: number;
    retryAfterMs?: number;
    body?: string;
    retry?: boolean;
    hint?: string;
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
    this.hint = init.hint;
    this.transient = isTransient(init.kind, init.status);
    this.retry = init.retry ?? true;
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
    case 'invalid-request':
      return false;
    case 'http':
      return status === 408 || status === 429 || (status !== undefined && status >= 500);
    case 'proxy':
      // The proxy could not reach the service (502, 504): maybe next time. 407 and 403 are its settings.
      return status === undefined || status >= 500;
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
  // undici refuses to send a header value HTTP cannot carry (a secret with ş or ı in it).
  UND_ERR_INVALID_ARG: 'invalid-request',
};

/** Maps a low-level error from undici or Node to a failure kind, or undefined if it is not a network error. */
export function classifyNetworkError(error: unknown): HttpFailureKind | undefined {
  for (const { code } of causeChain(error)) {
    if (typeof code !== 'string') continue;
    if (code in networkCodes) return networkCodes[code];
    if (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL') || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE') return 'tls';
  }
  return undefined;
}

const m = defineMessages({
  en: {
    refused: '{service}: the connection to {host} was refused. Is the service running and the address right?',
    dns: '{service}: the host name {host} could not be resolved. Check the address and the network\'s DNS.',
    tls: '{service}: the TLS certificate of {host} was not accepted. Check the address (https) and the server\'s certificate.',
    timeout: '{service}: {host} did not answer in time.',
    reset: '{service}: the connection to {host} was dropped before the answer was complete.',
    'too-large': '{service}: the answer from {host} was larger than the allowed maximum.',
    malformed: '{service}: {host} sent an answer that is not valid JSON.',
    'invalid-request': '{service}: the request to {host} could not be sent: a value in it holds characters an HTTP header cannot carry (letters such as ş, ğ or ı in a key, token or setting).',
    proxy: '{service}: the proxy could not pass the request on to {host}.',
    http: '{service}: {host} answered HTTP {status}{meaning}',
    status400: ' (bad request).',
    status401: ' (the credentials were rejected).',
    status403: ' (access denied: the account lacks permission for this).',
    status404: ' (not found: check the address and any company or tenant id).',
    status408: ' (request timeout).',
    status422: ' (the request was refused as invalid).',
    status429: ' (too many requests: rate limited).',
    status5xx: ' (a server error on their side).',
    proxyRefused: '{service}: the proxy {proxy} ({variable}) refused the connection. Is it running, and is the address right?',
    proxyDns: '{service}: the host name of the proxy {proxy} ({variable}) could not be resolved.',
    proxyDnsHint: 'Check {variable} and the network\'s DNS.',
    proxyTimeout: '{service}: the proxy {proxy} ({variable}) did not answer in time.',
    proxyAuth: '{service}: the proxy {proxy} ({variable}) wants a user name and password (407 Proxy Authentication Required).',
    proxyAuthHint: 'Put them in {variable}, as USER:PASSWORD@ in front of the proxy\'s host and port, with @ : / % in the password written as %40 %3A %2F %25.',
    proxyDenied: '{service}: the proxy {proxy} ({variable}) does not let erp-sync reach {host} (HTTP {status}).',
    proxyDeniedHint: 'Ask the network administrator to allow {host} through the proxy, or list it in NO_PROXY if it can be reached directly.',
    proxyUpstream: '{service}: the proxy {proxy} ({variable}) could not reach {host} (HTTP {status}).',
  },
  tr: {
    refused: '{service}: {host} adresine bağlantı reddedildi. Servis çalışıyor ve adres doğru mu?',
    dns: '{service}: {host} alan adı çözümlenemedi. Adresi ve ağın DNS ayarlarını kontrol edin.',
    tls: '{service}: {host} sunucusunun TLS sertifikası kabul edilmedi. Adresi (https) ve sunucunun sertifikasını kontrol edin.',
    timeout: '{service}: {host} zamanında yanıt vermedi.',
    reset: '{service}: {host} ile bağlantı, yanıt tamamlanmadan koptu.',
    'too-large': '{service}: {host} yanıtı izin verilen en büyük boyuttan büyüktü.',
    malformed: '{service}: {host} geçerli JSON olmayan bir yanıt gönderdi.',
    'invalid-request': '{service}: {host} adresine istek gönderilemedi: içindeki bir değer HTTP başlığının taşıyamayacağı karakterler içeriyor (anahtar, belirteç ya da ayarda ş, ğ, ı gibi harfler).',
    proxy: '{service}: vekil sunucu isteği {host} adresine iletemedi.',
    http: '{service}: {host} HTTP {status} yanıtı verdi{meaning}',
    status400: ' (hatalı istek).',
    status401: ' (giriş bilgileri reddedildi).',
    status403: ' (erişim reddedildi: hesabın bunun için yetkisi yok).',
    status404: ' (bulunamadı: adresi ve varsa firma numarasını kontrol edin).',
    status408: ' (istek zaman aşımı).',
    status422: ' (istek geçersiz bulunarak reddedildi).',
    status429: ' (çok fazla istek: istek sınırına takıldı).',
    status5xx: ' (karşı tarafta bir sunucu hatası).',
    proxyRefused: '{service}: {proxy} vekil sunucusu ({variable}) bağlantıyı reddetti. Çalışıyor ve adresi doğru mu?',
    proxyDns: '{service}: {proxy} vekil sunucusunun ({variable}) alan adı çözümlenemedi.',
    proxyDnsHint: '{variable} değişkenini ve ağın DNS ayarlarını kontrol edin.',
    proxyTimeout: '{service}: {proxy} vekil sunucusu ({variable}) zamanında yanıt vermedi.',
    proxyAuth: '{service}: {proxy} vekil sunucusu ({variable}) kullanıcı adı ve parola istiyor (407 Proxy Authentication Required).',
    proxyAuthHint: 'Bunları {variable} değişkenine, vekil sunucunun adres ve portunun önüne KULLANICI:PAROLA@ olarak yazın; paroladaki @ : / % karakterlerini %40 %3A %2F %25 olarak yazın.',
    proxyDenied: '{service}: {proxy} vekil sunucusu ({variable}) erp-sync’in {host} adresine ulaşmasına izin vermiyor (HTTP {status}).',
    proxyDeniedHint: 'Ağ yöneticisinden {host} adresine vekil sunucu üzerinden izin vermesini isteyin ya da doğrudan ulaşılabiliyorsa NO_PROXY listesine ekleyin.',
    proxyUpstream: '{service}: {proxy} vekil sunucusu ({variable}) {host} adresine ulaşamadı (HTTP {status}).',
  },
});

const STATUS_MEANINGS = [400, 401, 403, 404, 408, 422, 429] as const;

/** What a person should read for each failure kind, in the current language. */
export function describeFailure(service: string, kind: HttpFailureKind, url: string, status?: number): string {
  const host = safeHost(url);
  if (kind !== 'http') return m(kind, { service, host });
  return m('http', { service, host, status: String(status), meaning: statusMeaning(status) });
}

function statusMeaning(status: number | undefined): string {
  const known = STATUS_MEANINGS.find((s) => s === status);
  if (known !== undefined) return m(`status${known}`);
  return status !== undefined && status >= 500 ? m('status5xx') : '.';
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

/**
 * What went wrong on the way through a proxy, in the proxy's own words: with
 * a proxy set, every connection erp-sync opens is to the proxy, so a refused
 * or unresolved one is the proxy's; the service's own failures come back as
 * the status of the proxy's answer to CONNECT. Undefined for anything else.
 */
export function proxyFailure(init: { service: string; url: string; kind: HttpFailureKind; cause: unknown; proxy: URL; variable: string }): HttpError | undefined {
  const vars = { service: init.service, proxy: maskUrl(init.proxy), variable: init.variable, host: safeHost(init.url) };
  const base = { service: init.service, url: init.url, cause: init.cause };
  const status = tunnelStatus(init.cause);
  if (status !== undefined) {
    if (status === 407) return new HttpError({ ...base, kind: 'proxy', status, message: m('proxyAuth', vars), hint: m('proxyAuthHint', vars) });
    if (status < 500) return new HttpError({ ...base, kind: 'proxy', status, message: m('proxyDenied', { ...vars, status: String(status) }), hint: m('proxyDeniedHint', vars) });
    return new HttpError({ ...base, kind: 'proxy', status, message: m('proxyUpstream', { ...vars, status: String(status) }) });
  }
  if (init.kind === 'refused') return new HttpError({ ...base, kind: 'refused', message: m('proxyRefused', vars) });
  if (init.kind === 'dns') return new HttpError({ ...base, kind: 'dns', message: m('proxyDns', vars), hint: m('proxyDnsHint', vars) });
  if (init.kind === 'timeout' && connectTimedOut(init.cause)) return new HttpError({ ...base, kind: 'timeout', message: m('proxyTimeout', vars) });
  return undefined;
}

/** undici's tunnel gives the proxy's refusal only in its message: "Proxy response (407) !== 200 when HTTP Tunneling". */
function tunnelStatus(error: unknown): number | undefined {
  for (const { message } of causeChain(error)) {
    const match = /Proxy response \((\d{3})\)/.exec(typeof message === 'string' ? message : '');
    if (match) return Number(match[1]);
  }
  return undefined;
}

function connectTimedOut(error: unknown): boolean {
  return [...causeChain(error)].some(({ code }) => code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT');
}

/** A URL as it may be shown: a password in it replaced by ***, no trailing slash. */
export function maskUrl(value: string | URL): string {
  return String(value).replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^/@\s]*@/i, '$1:***@').replace(/\/$/, '');
}
