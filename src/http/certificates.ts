import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineMessages } from '../i18n/index.js';

/** node:crypto loads on the first certificate read, not with every command that can name a connection's CA. */
const x509 = (data: string | Buffer): X509Certificate => new (process.getBuiltinModule('node:crypto').X509Certificate)(data);

/** Certificate files a connection trusts (`caFile`), read and described; no TLS here, so settings can check one cheaply. */

const m = defineMessages({
  en: {
    unreadable: 'cannot read {path}: {reason}',
    noCertificate: '{path} holds no certificate (PEM "-----BEGIN CERTIFICATE-----" or DER, as Windows exports a .cer)',
  },
  tr: {
    unreadable: '{path} okunamıyor: {reason}',
    noCertificate: '{path} bir sertifika içermiyor (PEM "-----BEGIN CERTIFICATE-----" ya da Windows’un .cer olarak dışa aktardığı DER)',
  },
});

/** A `caFile` as read: its path and the certificates in it, PEM. */
export interface CertificateFile {
  path: string;
  certificates: string[];
}

export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Reads a CA file, PEM (one or more certificates) or DER; throws an Error whose message says what is wrong. */
export function readCertificateFile(path: string): CertificateFile {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    throw new Error(m('unreadable', { path, reason: (error as NodeJS.ErrnoException).code ?? String(error) }));
  }
  const pem = pemCertificates(data.toString('latin1')).filter((block) => parses(block));
  if (pem.length > 0) return { path, certificates: pem };
  try {
    return { path, certificates: [x509(data).toString()] };
  } catch {
    throw new Error(m('noCertificate', { path }));
  }
}

function parses(pem: string): boolean {
  try {
    x509(pem);
    return true;
  } catch {
    return false;
  }
}

/** The words a person recognizes a certificate by. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** SHA-256, colon-separated hex, as browsers show it. */
  fingerprint: string;
  /** The DNS names and addresses it is valid for. */
  names: string[];
}

export function summarize(certificate: X509Certificate): CertificateSummary {
  const commonName = (dn: string) => /(?:^|\n)CN=([^\n]+)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');
  return {
    subject: commonName(certificate.subject),
    issuer: commonName(certificate.issuer),
    validFrom: new Date(certificate.validFrom).toISOString().slice(0, 10),
    validTo: new Date(certificate.validTo).toISOString().slice(0, 10),
    fingerprint: certificate.fingerprint256,
    names: (certificate.subjectAltName ?? '').split(/,\s*/).filter(Boolean).map((name) => name.replace(/^(DNS|IP Address):/, '')),
  };
}

export const summarizePem = (pem: string): CertificateSummary => summarize(x509(pem));
