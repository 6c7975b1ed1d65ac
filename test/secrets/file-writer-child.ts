/**
 * One process saving one secret into a shared file store, at a moment given
 * on the command line so that several start their read-modify-write together
 * (see file.test.ts). Prints nothing; exits non-zero on failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openSecretStore } from '../../src/secrets/index.js';

const [home, connection, value, at] = process.argv.slice(2) as [string, string, string, string];
const store = openSecretStore('file', { home, env: { ERP_SYNC_PASSPHRASE: 'pw-processes' } });
await sleep(Math.max(0, Number(at) - Date.now()));
await store.set(connection, 'token', value);
