import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseSecretStore } from '../../src/secrets/database.js';
import { AesGcmEnvelope, LocalKeyProvider, keyIdOf } from '../../src/secrets/envelope.js';
import type { Sealed } from '../../src/secrets/envelope.js';
import { UserError } from '../../src/errors/index.js';
import { PgDatabase } from '../../src/store/pg.js';
import { TenantConfig, migrateHosted, readSealed, saveTenant, writeSealed } from '../../src/store/tenants.js';
import { freshDatabase, requirePostgres } from '../support/hosted.js';

const key = () => randomBytes(32);
const context = { tenant: 'acme', owner: 'shop', field: 'apiKey' };

async function refusal(work: Promise<unknown>): Promise<UserError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a refusal');
}

describe('sealing a secret (AES-256-GCM under a master key)', () => {
  it('opens what it sealed; a new IV every time; the key named by an id that tells nothing of it', async () => {
    const master = key();
    const envelope = new AesGcmEnvelope(new LocalKeyProvider([master]));
    const a = await envelope.seal('çok gizli şifre', context);
    const b = await envelope.seal('çok gizli şifre', context);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(12);
    expect(a.keyId).toBe(keyIdOf(master));
    expect(a.keyId).not.toContain(master.toString('hex').slice(0, 8));
    expect(await envelope.open(a, context)).toBe('çok gizli şifre');
  });

  it('refuses a value altered in any part, or moved to another row, tenant or field', async () => {
    const envelope = new AesGcmEnvelope(new LocalKeyProvider([key()]));
    const sealed = await envelope.seal('s3cret-value', context);
    const flip = (text: string) => {
      const bytes = Buffer.from(text, 'base64');
      bytes[0]! ^= 1;
      return bytes.toString('base64');
    };
    for (const altered of [{ ...sealed, ciphertext: flip(sealed.ciphertext) }, { ...sealed, tag: flip(sealed.tag) }, { ...sealed, iv: flip(sealed.iv) }, { ...sealed, tag: sealed.tag.slice(0, 8) }]) {
      const error = await refusal(envelope.open(altered, context));
      expect(error.code).toBe('SECRET_TAMPERED');
      expect(error.message).toContain('"apiKey" of "shop"');
      expect(error.message).not.toContain('s3cret');
    }
    for (const elsewhere of [{ ...context, tenant: 'other' }, { ...context, owner: 'shop2' }, { ...context, field: 'password' }]) {
      expect((await refusal(envelope.open(sealed, elsewhere))).code).toBe('SECRET_TAMPERED');
    }
  });

  it('refuses the wrong master key with a clear error, and opens under a retired key while it is still given', async () => {
    const old = key();
    const sealed = await new AesGcmEnvelope(new LocalKeyProvider([old])).seal('value-1', context);
    const wrong = await refusal(new AesGcmEnvelope(new LocalKeyProvider([key()])).open(sealed, context));
    expect(wrong.code).toBe('MASTER_KEY_WRONG');
    expect(wrong.message).toContain(`sealed under master key ${keyIdOf(old)}, which is not among the keys given`);
    expect(wrong.hint).toContain('ERP_SYNC_MASTER_KEY_FILE');

    const current = key();
    const rotated = new AesGcmEnvelope(new LocalKeyProvider([current, old]));
    expect(await rotated.open(sealed, context)).toBe('value-1');
    expect((await rotated.seal('value-2', context)).keyId).toBe(keyIdOf(current));
  });

  it('reads master keys from the environment or a file: base64 or hex, several with the current one first, and names what is wrong', () => {
    const [a, b] = [key(), key()];
    const fromEnv = LocalKeyProvider.fromEnvironment({ ERP_SYNC_MASTER_KEY: `${a.toString('base64')},${b.toString('hex')}` });
    expect(fromEnv.currentKeyId).toBe(keyIdOf(a));
    expect(fromEnv.keyIds).toEqual([keyIdOf(a), keyIdOf(b)]);
    const codeOf = (env: NodeJS.ProcessEnv) => {
      try {
        LocalKeyProvider.fromEnvironment(env);
        return 'ok';
      } catch (error) {
        return (error as UserError).code;
      }
    };
    expect(codeOf({})).toBe('MASTER_KEY_MISSING');
    expect(codeOf({ ERP_SYNC_MASTER_KEY: randomBytes(16).toString('base64') })).toBe('MASTER_KEY_INVALID');
    expect(codeOf({ ERP_SYNC_MASTER_KEY: 'correct horse battery staple' })).toBe('MASTER_KEY_INVALID');
    expect(codeOf({ ERP_SYNC_MASTER_KEY: a.toString('hex'), ERP_SYNC_MASTER_KEY_FILE: '/nowhere' })).toBe('MASTER_KEY_AMBIGUOUS');
    expect(codeOf({ ERP_SYNC_MASTER_KEY_FILE: '/nonexistent/master.key' })).toBe('MASTER_KEY_UNREADABLE');
  });
});

describe.runIf(requirePostgres())('secrets and connections of tenants in PostgreSQL', () => {
  let url: string;
  let acme: PgDatabase;
  let other: PgDatabase;
  const envelope = new AesGcmEnvelope(new LocalKeyProvider([key()]));

  beforeAll(() => {
    url = freshDatabase('hosted_secrets');
    acme = new PgDatabase(url, 'acme');
    migrateHosted(acme);
    saveTenant(acme, 'Acme');
    other = new PgDatabase(url, 'other');
    saveTenant(other, 'Other');
  });
  afterAll(() => {
    acme?.close();
    other?.close();
  });

  it('keeps a secret sealed at rest: the raw table holds its ciphertext and key id, never the value', async () => {
    const store = new DatabaseSecretStore(acme, envelope);
    const value = 'Plaintext-Secret-4242';
    await store.set('shop', 'apiKey', value);
    expect(await store.get('shop', 'apiKey')).toBe(value);
    const raw = acme.prepare(`SELECT * FROM hosted_secrets`).all() as Record<string, unknown>[];
    expect(raw).toHaveLength(1);
    const text = JSON.stringify(raw);
    expect(text).not.toContain(value);
    expect(text).not.toContain(Buffer.from(value).toString('base64'));
    expect(text).not.toContain(Buffer.from(value).toString('hex'));
    expect(raw[0]).toMatchObject({ tenant: 'acme', owner: 'shop', field: 'apiKey', key_id: envelope.keyId });
    expect(await store.get('shop', 'missing')).toBeUndefined();
    await store.delete('shop', 'apiKey');
    expect(await store.get('shop', 'apiKey')).toBeUndefined();
  });

  it('refuses a ciphertext altered in the table, or copied into another tenant\'s row', async () => {
    const store = new DatabaseSecretStore(acme, envelope);
    await store.set('shop', 'password', 'hunter2-hunter2');
    const sealed = readSealed(acme, 'shop', 'password')!;
    acme.prepare(`UPDATE hosted_secrets SET ciphertext = ? WHERE owner = 'shop' AND field = 'password'`).run(Buffer.from('garbage!!').toString('base64'));
    expect((await refusal(store.get('shop', 'password'))).code).toBe('SECRET_TAMPERED');

    // The other tenant copies acme's row as it was, byte for byte: its AAD names acme, so it does not open.
    writeSealed(other, 'shop', 'password', sealed as Sealed);
    expect((await refusal(new DatabaseSecretStore(other, envelope).get('shop', 'password'))).code).toBe('SECRET_TAMPERED');
  });

  it('shows a tenant only its own tenants, connections and secrets rows, and refuses writing another\'s', async () => {
    const config = new TenantConfig(acme);
    const at = new Date().toISOString();
    config.saveConnection({ name: 'shop', driver: 'demo', baseUrl: 'http://127.0.0.1:1', settings: { pageSize: '10' }, secretStore: 'database', createdAt: at, updatedAt: at });
    config.saveTarget({ name: 'marketplace', kind: 'offer-api', baseUrl: 'http://127.0.0.1:2', settings: {}, secretStore: 'database' });
    await new DatabaseSecretStore(acme, envelope).set('shop', 'apiKey', 'acme-only-key');

    const theirs = new TenantConfig(other);
    expect(theirs.connections()).toEqual([]);
    expect(theirs.targets()).toEqual([]);
    expect(theirs.connection('shop')).toBeUndefined();
    expect(other.prepare(`SELECT tenant FROM hosted_tenants`).pluck().all()).toEqual(['other']);
    expect(other.prepare(`SELECT count(*) FROM hosted_configs`).pluck().get()).toBe(0);
    expect(other.prepare(`SELECT count(*) FROM hosted_secrets WHERE tenant = 'acme'`).pluck().get()).toBe(0);
    expect(await new DatabaseSecretStore(other, envelope).get('shop', 'apiKey')).toBeUndefined();
    expect(() => other.prepare(`INSERT INTO hosted_configs (tenant, name, role, config, updated_at) VALUES ('acme', 'x', 'connection', '{}', 'now')`).run()).toThrow(/row-level security/);
    expect(() => other.prepare(`UPDATE hosted_secrets SET ciphertext = 'x' WHERE tenant = 'acme'`).run()).not.toThrow();
    expect(await new DatabaseSecretStore(acme, envelope).get('shop', 'apiKey')).toBe('acme-only-key');
    expect(config.connection('shop')).toMatchObject({ name: 'shop', driver: 'demo', settings: { pageSize: '10' } });
  });
});
