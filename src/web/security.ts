import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** Addresses only this machine can reach: 127.0.0.0/8 and ::1 (also as IPv4-mapped IPv6). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/** Whether `serve --host` keeps the page on this machine, so no access token is needed. */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}

/**
 * Whether a Host header names this machine's loopback interface. A page on
 * another site that rebinds its own DNS name to 127.0.0.1 sends its own name
 * here, so refusing every other name keeps it from reading the API.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/i.exec(host);
  if (!match) return false;
  const name = (match[1] ?? match[2]!).toLowerCase();
  return name === 'localhost' || isLoopbackAddress(name);
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares two secrets in constant time, whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export const SESSION_COOKIE = 'erp_sync_session';
const SESSION_MS = 12 * 60 * 60 * 1000;

/**
 * Browser sessions after the access token was given, kept in memory: a
 * restart signs everyone out, which is fine for one shop's agent. CSRF tokens
 * are derived from the session (or "local" for loopback requests) with a key
 * that lives as long as the process, so there is nothing more to store.
 */
export class Sessions {
  readonly #key = randomBytes(32);
  readonly #expiry = new Map<string, number>();

  create(now = Date.now()): string {
    const id = randomBytes(32).toString('base64url');
    this.#expiry.set(id, now + SESSION_MS);
    for (const [other, expires] of this.#expiry) if (expires <= now) this.#expiry.delete(other);
    return id;
  }

  isValid(id: string | undefined, now = Date.now()): boolean {
    if (!id) return false;
    const expires = this.#expiry.get(id);
    return expires !== undefined && expires > now;
  }

  csrfToken(scope: string): string {
    return createHmac('sha256', this.#key).update(scope).digest('base64url');
  }

  checkCsrf(scope: string, given: string | undefined): boolean {
    return given !== undefined && sameSecret(given, this.csrfToken(scope));
  }
}

export function sessionCookie(id: string): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}`;
}

export function readCookies(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** A POST from a page of another origin carries that origin; our own page's matches the Host header. */
export function originMatchesHost(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** 192 random bits: far beyond guessing, short enough to paste. */
export const generateAccessToken = () => randomBytes(24).toString('base64url');

/**
 * The headers every answer carries. No inline script or style is ever
 * allowed: app.js and style.css are files, and everything app.js shows is
 * set as text, so a product name with markup stays text.
 */
export const securityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // Not no-referrer: under it browsers send "Origin: null" with our own form posts, which the origin check refuses.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
};
