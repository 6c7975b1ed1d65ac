import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Pool, ProxyAgent } from 'undici';
import type { Dispatcher } from 'undici';
import { ExitCode, UserError } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { registerSecret } from '../secrets/redact.js';
import { pemCertificates, summarizePem } from './certificates.js';
import { maskUrl } from './errors.js';
import type { CertificateFile } from './certificates.js';

const m = defineMessages({
  en: {
    badProxy: '{variable} is not a proxy address erp-sync can use: "{value}"',
    badProxyHint: 'Set it to http://HOST:PORT as for curl, with USER:PASSWORD@ in front of the host if the proxy wants them; https:// proxies work too.',
    direct: 'direct (no proxy is set)',
    bypassed: 'direct: NO_PROXY lists {entry}',
    proxied: 'through the proxy {proxy} ({variable})',
    systemCa: 'trusting the system\'s certificate authorities',
    extraCa: 'trusting the system\'s certificate authorities and {path} ({names})',
  },
  tr: {
    badProxy: '{variable}, erp-sync’in kullanabileceği bir vekil sunucu (proxy) adresi değil: "{value}"',
    badProxyHint: 'curl’deki gibi http://SUNUCU:PORT biçiminde verin; vekil sunucu kullanıcı adı ve parola istiyorsa sunucunun önüne KULLANICI:PAROLA@ ekleyin; https:// vekil sunucular da çalışır.',
    direct: 'doğrudan (vekil sunucu tanımlı değil)',
    bypassed: 'doğrudan: NO_PROXY {entry} adresini içeriyor',
    proxied: '{proxy} vekil sunucusu üzerinden ({variable})',
    systemCa: 'sistemin sertifika yetkililerine güvenerek',
    extraCa: 'sistemin sertifika yetkililerine ve {path} dosyasına ({names}) güvenerek',
  },
});

/**
 * How requests to one service travel: directly or through a proxy, and
 * which certificate authorities their TLS trusts. Decided once per HTTP
 * client from the environment and the connection's `caFile`, and the same
 * decision is what `doctor` and `test` show.
 */
export interface Route {
  /** The proxy, credentials included; undefined: straight to the service. */
  proxy: URL | undefined;
  /** The variable that named the proxy (HTTPS_PROXY, http_proxy...). */
  proxyVariable: string | undefined;
  /** The NO_PROXY entry that sends this service around a configured proxy. */
  bypassedBy: string | undefined;
  /** The connection's own extra certificate authority; the system's are trusted either way. */
  ca: CertificateFile | undefined;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * The proxy for a URL, as curl and undici's EnvHttpProxyAgent read the
 * environment: https_proxy/HTTPS_PROXY for https (falling back on the HTTP
 * proxy), http_proxy/HTTP_PROXY for http, the lower-case name first; none
 * when a NO_PROXY entry matches the host (`*` matches all; `.corp` and
 * `corp` match corp and its subdomains; `host:port` only that port).
 * Loopback is not exempt unless NO_PROXY says so, as with curl.
 */
export function routeFor(target: string | URL, options: { env?: NodeJS.ProcessEnv; ca?: CertificateFile | undefined } = {}): Route {
  const env = options.env ?? process.env;
  const url = new URL(target);
  const http = pick(env, 'http_proxy', 'HTTP_PROXY');
  const https = url.protocol === 'https:' ? pick(env, 'https_proxy', 'HTTPS_PROXY') : undefined;
  const chosen = https?.value ? https : http;
  const route: Route = { proxy: undefined, proxyVariable: undefined, bypassedBy: undefined, ca: options.ca };
  if (!chosen?.value) return route;
  const bypassedBy = noProxyMatch(url, pick(env, 'no_proxy', 'NO_PROXY')?.value ?? '');
  if (bypassedBy !== undefined) return { ...route, bypassedBy };
  return { ...route, proxy: parseProxy(chosen.variable, chosen.value), proxyVariable: chosen.variable };
}

function pick(env: NodeJS.ProcessEnv, lower: string, upper: string): { variable: string; value: string } | undefined {
  if (env[lower] !== undefined) return { variable: lower, value: env[lower]! };
  if (env[upper] !== undefined) return { variable: upper, value: env[upper]! };
  return undefined;
}

/** The NO_PROXY entry matching the URL's host and port, if any. */
export function noProxyMatch(url: URL, noProxy: string): string | undefined {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
  for (const entry of noProxy.split(/[,\s]+/).filter(Boolean)) {
    if (entry === '*') return entry;
    const parsed = /^(.+):(\d+)$/.exec(entry);
    const name = (parsed ? parsed[1]! : entry).replace(/^\*?\./, '').replace(/^\[|\]$/g, '').toLowerCase();
    if (parsed && Number(parsed[2]) !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return entry;
  }
  return undefined;
}

/** A proxy URL; one written without a scheme (proxy.corp:3128), as many set it, is http. Its password is masked in all output from here on. */
function parseProxy(variable: string, value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    throw new UserError(m('badProxy', { variable, value: maskUrl(value) }), { code: 'BAD_PROXY', exitCode: ExitCode.config, hint: m('badProxyHint') });
  }
  if (url.password) {
    registerSecret(url.password);
    registerSecret(decodeURIComponent(url.password));
  }
  return url;
}

/**
 * The trust store for a connection with its own CA: the system's roots, the
 * certificates of NODE_EXTRA_CA_CERTS (which Node leaves out once a list is
 * given), and the connection's.
 */
function trusted(ca: CertificateFile, env: NodeJS.ProcessEnv): string[] {
  const extra = env.NODE_EXTRA_CA_CERTS ? readExtraCertificates(env.NODE_EXTRA_CA_CERTS) : [];
  return [...rootCertificates, ...extra, ...ca.certificates];
}

function readExtraCertificates(path: string): string[] {
  try {
    return pemCertificates(readFileSync(path, 'utf8'));
  } catch {
    // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; the system's roots still apply.
    return [];
  }
}

export interface DispatcherOptions {
  connections: number;
  connectTimeoutMs: number;
  /** undici's idle timeouts, for headers and between body chunks. */
  idleTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * The keep-alive pool that sends a service's requests along its route:
 * undici's Pool to the origin, or its ProxyAgent through the proxy (a
 * CONNECT tunnel, for http as for https, so the proxy never reads a
 * request). The connection's CA is trusted by the service's TLS only,
 * never by the proxy's own.
 */
export function routeDispatcher(origin: string, route: Route, options: DispatcherOptions): Dispatcher {
  const ca = route.ca ? trusted(route.ca, options.env ?? process.env) : undefined;
  const timeouts = { headersTimeout: options.idleTimeoutMs, bodyTimeout: options.idleTimeoutMs, keepAliveTimeout: 10_000 };
  if (!route.proxy) {
    return new Pool(origin, { ...timeouts, connections: options.connections, connectTimeout: options.connectTimeoutMs, ...(ca ? { connect: { ca } } : {}) });
  }
  return new ProxyAgent({
    uri: route.proxy.href,
    ...timeouts,
    connections: options.connections,
    requestTls: { timeout: options.connectTimeoutMs, ...(ca ? { ca } : {}) },
    proxyTls: { timeout: options.connectTimeoutMs },
  });
}

/** The route in one line, for `doctor` and `test`: the proxy (its password masked) or why none, and whom TLS trusts. */
export function describeRoute(route: Route): string {
  const way = route.proxy
    ? m('proxied', { proxy: maskUrl(route.proxy), variable: route.proxyVariable ?? '' })
    : route.bypassedBy !== undefined ? m('bypassed', { entry: route.bypassedBy }) : m('direct');
  const names = route.ca?.certificates.map((pem) => {
    const summary = summarizePem(pem);
    return `"${summary.subject}" ≤ ${summary.validTo}`;
  });
  return `${way}; ${route.ca ? m('extraCa', { path: route.ca.path, names: names!.join(', ') }) : m('systemCa')}`;
}

/**
 * The Date header of a service's answer to HEAD, along the service's route,
 * whatever its status: the clock check needs the time, not the page.
 */
export async function serverDate(target: string, route: Route, timeoutMs: number): Promise<string | undefined> {
  const url = new URL(target);
  const dispatcher = routeDispatcher(url.origin, route, { connections: 1, connectTimeoutMs: timeoutMs, idleTimeoutMs: timeoutMs });
  try {
    const response = await dispatcher.request({ origin: url.origin, path: url.pathname + url.search, method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    await response.body.dump();
    const date = response.headers.date;
    return Array.isArray(date) ? date[0] : date;
  } finally {
    await dispatcher.close();
  }
}
