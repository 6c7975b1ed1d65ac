import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import type { DetailedPeerCertificate } from 'node:tls';
import { Client } from 'undici';
import { causeChain } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { summarize } from './certificates.js';
import type { CertificateSummary } from './certificates.js';
import { HttpError } from './errors.js';
import type { Route } from './route.js';

const m = defineMessages({
  en: {
    refused: '{service}: the TLS certificate of {host} was refused: {reason}. It is issued to "{subject}" by "{issuer}", valid from {from} to {to} (SHA-256 {fingerprint}).',
    refusedUnseen: '{service}: the TLS certificate of {host} was refused: {reason}.',
    untrusted: 'its certificate authority "{root}" is not one this machine trusts',
    untrustedUnseen: 'it is issued by a certificate authority this machine does not trust',
    expired: 'it expired on {to}',
    notYetValid: 'it is not valid before {from}',
    wrongName: 'it is not issued for {host}',
    other: '{code}',
    untrustedHint:
      'If "{root}" is your company\'s or the ERP\'s own certificate authority, save its certificate (PEM, or .cer as Windows exports it) and trust it for this connection only: `erp-sync connect {target} --set caFile=PATH`. If a proxy that inspects TLS signs it, trust the proxy\'s authority for every connection with NODE_EXTRA_CA_CERTS=PATH.',
    expiredHint: 'Have the certificate on {host} renewed; if it is still valid, this machine\'s clock is wrong.',
    clockHint: 'Check this machine\'s clock (and its time zone).',
    wrongNameHint: 'It is valid for {names}: use one of these names in the address (`erp-sync connect {target} --base-url https://NAME…`).',
    otherHint: 'Check the address (https://) and the server\'s certificate.',
    yourConnection: '<driver> --name <connection>',
  },
  tr: {
    refused: '{service}: {host} sunucusunun TLS sertifikası reddedildi: {reason}. Sertifika "{subject}" adına, "{issuer}" tarafından verilmiş; {from} ile {to} arasında geçerli (SHA-256 {fingerprint}).',
    refusedUnseen: '{service}: {host} sunucusunun TLS sertifikası reddedildi: {reason}.',
    untrusted: 'sertifika yetkilisi "{root}" bu makinenin güvendiği yetkililerden değil',
    untrustedUnseen: 'bu makinenin güvenmediği bir sertifika yetkilisi tarafından verilmiş',
    expired: 'süresi {to} tarihinde dolmuş',
    notYetValid: '{from} tarihinden önce geçerli değil',
    wrongName: '{host} için verilmemiş',
    other: '{code}',
    untrustedHint:
      '"{root}" şirketinizin ya da ERP’nin kendi sertifika yetkilisiyse sertifikasını (PEM ya da Windows’un dışa aktardığı .cer) kaydedin ve yalnızca bu bağlantı için güvenin: `erp-sync connect {target} --set caFile=DOSYA`. TLS trafiğini inceleyen bir vekil sunucu imzalıyorsa onun yetkilisine tüm bağlantılar için NODE_EXTRA_CA_CERTS=DOSYA ile güvenin.',
    expiredHint: '{host} üzerindeki sertifikayı yeniletin; hâlâ geçerliyse bu makinenin saati yanlıştır.',
    clockHint: 'Bu makinenin saatini (ve saat dilimini) kontrol edin.',
    wrongNameHint: 'Sertifika şu adlar için geçerli: {names}. Adreste bunlardan birini kullanın (`erp-sync connect {target} --base-url https://AD…`).',
    otherHint: 'Adresi (https://) ve sunucunun sertifikasını kontrol edin.',
    yourConnection: '<sürücü> --name <bağlantı>',
  },
});

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED',
]);

export interface TlsFailure {
  service: string;
  url: URL;
  route: Route;
  cause: unknown;
  timeoutMs: number;
  /** `entegra --name shop`, `marketplace`: for the command in the hint. */
  connectTarget: string | undefined;
}

/**
 * A refused certificate in words a person can act on: which certificate (as
 * the server presents it, fetched again over the same route without judging
 * it, and never used for a request), why, and how to fix it.
 */
export async function explainTlsFailure(failure: TlsFailure): Promise<HttpError> {
  const { url } = failure;
  const code = tlsCode(failure.cause) ?? 'TLS';
  const chain = await presentedChain(url, failure.route, failure.timeoutMs).catch(() => undefined);
  const leaf = chain?.[0] ? summarize(chain[0]) : undefined;
  const root = chain?.at(-1) ? summarize(chain.at(-1)!) : undefined;
  const vars = {
    service: failure.service, host: url.host, code, target: failure.connectTarget ?? m('yourConnection'),
    ...(leaf ? { subject: leaf.subject, issuer: leaf.issuer, from: leaf.validFrom, to: leaf.validTo, fingerprint: leaf.fingerprint, names: leaf.names.join(', ') } : {}),
    // The top of the chain the server sent names the authority to trust; a server that sends its certificate alone names it as issuer.
    root: root ? (root.subject === root.issuer ? root.subject : root.issuer) : '',
  };
  const [reason, hint] = explanation(code, leaf, vars);
  return new HttpError({
    service: failure.service,
    kind: 'tls',
    url: url.href,
    message: m(leaf ? 'refused' : 'refusedUnseen', { ...vars, reason }),
    hint,
    cause: failure.cause,
  });
}

function explanation(code: string, leaf: CertificateSummary | undefined, vars: Record<string, string>): [string, string] {
  if (UNTRUSTED.has(code)) return [m(leaf ? 'untrusted' : 'untrustedUnseen', vars), m('untrustedHint', vars)];
  if (code === 'CERT_HAS_EXPIRED') return [m('expired', vars), m('expiredHint', vars)];
  if (code === 'CERT_NOT_YET_VALID') return [m('notYetValid', vars), m('clockHint')];
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && leaf) return [m('wrongName', vars), m('wrongNameHint', vars)];
  return [m('other', vars), m('otherHint')];
}

/** The certificate error's code, from wherever undici wrapped it. */
function tlsCode(error: unknown): string | undefined {
  for (const { code } of causeChain(error)) {
    if (typeof code === 'string' && (UNTRUSTED.has(code) || code.startsWith('CERT_') || code.startsWith('ERR_TLS') || code.includes('CERT'))) return code;
  }
  return undefined;
}

/**
 * The chain the server presents, leaf first, read over a connection that
 * accepts any certificate and is closed as soon as the handshake is done:
 * nothing is ever sent on it.
 */
async function presentedChain(url: URL, route: Route, timeoutMs: number): Promise<X509Certificate[] | undefined> {
  const port = Number(url.port) || 443;
  const tunnel = route.proxy ? await proxyTunnel(route.proxy, url.hostname, port, timeoutMs) : undefined;
  return new Promise((resolve) => {
    const socket = connect({
      host: url.hostname,
      port,
      ...(tunnel ? { socket: tunnel } : {}),
      ...(isIP(url.hostname) ? {} : { servername: url.hostname }),
      rejectUnauthorized: false,
    });
    const done = (chain: X509Certificate[] | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(chain);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('secureConnect', () => done(chainOf(socket.getPeerCertificate(true))));
    socket.once('error', () => done(undefined));
  });
}

function chainOf(peer: DetailedPeerCertificate): X509Certificate[] | undefined {
  const chain: X509Certificate[] = [];
  for (let current: DetailedPeerCertificate | undefined = peer; current?.raw && chain.length < 10; ) {
    chain.push(new X509Certificate(current.raw));
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    current = next && next !== current && next.fingerprint256 !== current.fingerprint256 ? next : undefined;
  }
  return chain.length > 0 ? chain : undefined;
}

async function proxyTunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Duplex | undefined> {
  const client = new Client(proxy.origin, { connect: { timeout: timeoutMs } });
  const authorization = proxy.username
    ? { 'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` }
    : {};
  try {
    const { socket, statusCode } = await client.connect({ path: `${host}:${port}`, headers: { host: `${host}:${port}`, ...authorization }, signal: AbortSignal.timeout(timeoutMs) });
    if (statusCode === 200) return socket;
    socket.destroy();
    return undefined;
  } finally {
    // The tunnel's socket is handed over: closing the client does not close it.
    void client.close().catch(() => undefined);
  }
}
