import { describe, expect, it } from 'vitest';
import { maskUrl } from '../../src/http/errors.js';
import { describeRoute, noProxyMatch, routeFor } from '../../src/http/route.js';
import { redact } from '../../src/secrets/redact.js';

/** Which proxy a request takes, read from the environment as curl reads it. */

describe('routeFor', () => {
  it('takes the HTTPS proxy for https and the HTTP proxy for http, the lower-case name first', () => {
    const env = { HTTPS_PROXY: 'http://secure.corp:3128', HTTP_PROXY: 'http://plain.corp:8080', https_proxy: 'http://lower.corp:3128' };
    expect(routeFor('https://api.example.com/v1', { env })).toMatchObject({ proxy: new URL('http://lower.corp:3128'), proxyVariable: 'https_proxy' });
    expect(routeFor('http://erp.local:8080/', { env })).toMatchObject({ proxy: new URL('http://plain.corp:8080'), proxyVariable: 'HTTP_PROXY' });
  });

  it('falls back on the HTTP proxy for https when only that one is set, and goes direct when none is', () => {
    expect(routeFor('https://api.example.com', { env: { HTTP_PROXY: 'http://plain.corp:8080' } }).proxyVariable).toBe('HTTP_PROXY');
    expect(routeFor('https://api.example.com', { env: {} })).toMatchObject({ proxy: undefined, bypassedBy: undefined });
    // An empty value switches the proxy off, as in curl.
    expect(routeFor('https://api.example.com', { env: { https_proxy: '', HTTPS_PROXY: 'http://p:1' } }).proxy).toBeUndefined();
  });

  it('reads a proxy written without a scheme as http, and refuses one that is not an address', () => {
    expect(routeFor('https://a.example', { env: { HTTPS_PROXY: 'proxy.corp:3128' } }).proxy?.href).toBe('http://proxy.corp:3128/');
    expect(() => routeFor('https://a.example', { env: { HTTPS_PROXY: 'socks5://proxy.corp:1080' } })).toThrow(/HTTPS_PROXY is not a proxy address erp-sync can use: "socks5:\/\/proxy.corp:1080"/);
  });

  it('names the NO_PROXY entry that sends a service around the proxy', () => {
    const env = { HTTPS_PROXY: 'http://p.corp:3128', NO_PROXY: 'localhost, .shop.lan,erp.example.com:8443' };
    expect(routeFor('https://logo.shop.lan/api', { env })).toMatchObject({ proxy: undefined, bypassedBy: '.shop.lan' });
    expect(routeFor('https://erp.example.com:8443/', { env }).bypassedBy).toBe('erp.example.com:8443');
    expect(routeFor('https://erp.example.com/', { env }).proxy?.host).toBe('p.corp:3128');
  });
});

describe('noProxyMatch', () => {
  const url = (s: string) => new URL(s);
  it('matches a domain and its subdomains, with or without a leading dot or *.', () => {
    expect(noProxyMatch(url('https://corp.example'), 'corp.example')).toBe('corp.example');
    expect(noProxyMatch(url('https://erp.corp.example'), '.corp.example')).toBe('.corp.example');
    expect(noProxyMatch(url('https://erp.corp.example'), '*.corp.example')).toBe('*.corp.example');
    expect(noProxyMatch(url('https://notcorp.example'), 'corp.example')).toBeUndefined();
  });
  it('matches a port only where one is given, counting the scheme\'s default', () => {
    expect(noProxyMatch(url('https://erp.lan'), 'erp.lan:443')).toBe('erp.lan:443');
    expect(noProxyMatch(url('https://erp.lan:8443'), 'erp.lan:443')).toBeUndefined();
  });
  it('matches everything with *, and addresses and IPv6 literally', () => {
    expect(noProxyMatch(url('http://10.0.0.5:8080'), '*')).toBe('*');
    expect(noProxyMatch(url('http://10.0.0.5:8080'), '10.0.0.5')).toBe('10.0.0.5');
    expect(noProxyMatch(url('http://[::1]:8080'), '[::1]')).toBe('[::1]');
    expect(noProxyMatch(url('http://127.0.0.1'), 'localhost')).toBeUndefined();
  });
});

describe('showing a proxy', () => {
  it('keeps the user name and masks the password, in a route and in any redacted text', () => {
    const env = { HTTPS_PROXY: 'http://shop:S3cret-pw@proxy.corp:3128' };
    const route = routeFor('https://api.example.com', { env });
    expect(describeRoute(route)).toBe('through the proxy http://shop:***@proxy.corp:3128 (HTTPS_PROXY); trusting the system\'s certificate authorities');
    expect(maskUrl('http://shop:S3cret-pw@proxy.corp:3128/')).toBe('http://shop:***@proxy.corp:3128');
    expect(redact('failed via http://shop:Other-pw@proxy.corp:3128')).toBe('failed via http://shop:***@proxy.corp:3128');
    // The password of a proxy in use is masked wherever it turns up, not only in a URL.
    expect(redact('the proxy said S3cret-pw')).toBe('the proxy said ***');
  });
});
