import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommands } from './requirements.js';

/** openssl is what makes a certificate authority of the tests' own. */
export const hasOpenssl = () => hasCommands('openssl');

export interface TestAuthority {
  /** The CA's certificate, PEM: what a connection's caFile names. */
  caFile: string;
  /** A key and certificate for a server, signed by the CA, valid for `names`. */
  issue(name: string, names: readonly string[]): { key: string; cert: string };
}

/**
 * A certificate authority made for one test run, in `dir`: "erp-sync Test
 * Root CA", EC keys (fast to make), valid two days.
 */
export function createAuthority(dir: string): TestAuthority {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2',
    '-subj', '/CN=erp-sync Test Root CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  let serial = 0;
  return {
    caFile,
    issue(name, names) {
      const base = join(dir, `server-${++serial}`);
      openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`);
      const alt = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      writeFileSync(`${base}.ext`, `subjectAltName=${alt}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
      openssl('x509', '-req', '-in', `${base}.csr`, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(serial + 1000), '-out', `${base}.pem`, '-days', '2', '-extfile', `${base}.ext`);
      return { key: readFileSync(`${base}.key`, 'utf8'), cert: readFileSync(`${base}.pem`, 'utf8') };
    },
  };
}
