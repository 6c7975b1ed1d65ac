import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setLanguage } from '../../src/i18n/index.js';
import { listSecretStoreKinds, openSecretStore } from '../../src/secrets/index.js';
import { redact } from '../../src/secrets/redact.js';
import { systemdCredentialName } from '../../src/secrets/systemd.js';

describe('SystemdSecretStore', () => {
  let credentials: string;
  beforeEach(async () => {
    credentials = await mkdtemp(join(tmpdir(), 'erp-sync-credentials-'));
  });
  afterEach(() => rm(credentials, { recursive: true, force: true }));

  const open = (env: NodeJS.ProcessEnv) => openSecretStore('systemd', { home: '/nonexistent', env });

  it('reads erp-sync.<connection>.<field> from CREDENTIALS_DIRECTORY, without a final newline', async () => {
    await writeFile(join(credentials, 'erp-sync.shop.password'), 'Systemd-Pass-1\n', { mode: 0o400 });
    await writeFile(join(credentials, 'erp-sync.shop.api_key'), 'Systemd-Key-2', { mode: 0o400 });
    const store = open({ CREDENTIALS_DIRECTORY: credentials });
    expect(await store.unavailableReason()).toBeUndefined();
    expect(await store.get('shop', 'password')).toBe('Systemd-Pass-1');
    expect(await store.get('shop', 'api_key')).toBe('Systemd-Key-2');
    expect(await store.get('shop', 'token')).toBeUndefined();
    expect(redact('rejected Systemd-Pass-1')).toBe('rejected ***');
  });

  it('is read-only: set prints the systemd-creds command, delete refuses a present credential only', async () => {
    await writeFile(join(credentials, 'erp-sync.shop.password'), 'Systemd-Pass-3');
    const store = open({ CREDENTIALS_DIRECTORY: credentials });
    await expect(store.set('shop', 'token', 'x')).rejects.toMatchObject({
      code: 'SECRETS_SYSTEMD_READ_ONLY',
      hint: expect.stringContaining(
        'systemd-ask-password -n "erp-sync.shop.token:" | systemd-creds encrypt --name=erp-sync.shop.token - /etc/credstore.encrypted/erp-sync.shop.token',
      ),
    });
    await expect(store.set('shop', 'token', 'x')).rejects.toMatchObject({ hint: expect.stringContaining('LoadCredentialEncrypted=erp-sync.shop.token:/etc/credstore.encrypted/erp-sync.shop.token') });
    await expect(store.delete('shop', 'token')).resolves.toBeUndefined();
    await expect(store.delete('shop', 'password')).rejects.toMatchObject({ code: 'SECRETS_SYSTEMD_READ_ONLY' });
  });

  it('is unavailable outside a systemd service, and says what to do', async () => {
    const store = open({});
    expect(await store.unavailableReason()).toMatch(/CREDENTIALS_DIRECTORY is not set.*--secret-store keychain\|file\|env/);
    await expect(store.get('shop', 'password')).rejects.toMatchObject({ code: 'SECRETS_SYSTEMD_UNAVAILABLE' });
    expect(await open({ CREDENTIALS_DIRECTORY: join(credentials, 'missing') }).unavailableReason()).toMatch(/cannot be used.*ENOENT/);
  });

  it('says in Turkish that it is unavailable or read-only, with the commands and directives untranslated', async () => {
    setLanguage('tr');
    await expect(open({}).get('shop', 'password')).rejects.toMatchObject({
      code: 'SECRETS_SYSTEMD_UNAVAILABLE',
      message:
        'systemd gizli bilgi deposu kullanılamıyor: CREDENTIALS_DIRECTORY tanımlı değil, yani erp-sync LoadCredential= veya LoadCredentialEncrypted= içeren bir systemd servisinde çalışmıyor',
      hint: "erp-sync'i kendi systemd biriminden çalıştırın ya da --secret-store keychain|file|env kullanın.",
    });
    await expect(open({ CREDENTIALS_DIRECTORY: credentials }).set('shop', 'token', 'x')).rejects.toMatchObject({
      code: 'SECRETS_SYSTEMD_READ_ONLY',
      message: 'systemd gizli bilgi deposu salt okunurdur: shop bağlantısının token alanını erp-sync.shop.token kimlik bilgisi olarak ekleyin',
      hint:
        'Root olarak şunu çalıştırın: `mkdir -p -m 700 /etc/credstore.encrypted && systemd-ask-password -n "erp-sync.shop.token:" | systemd-creds encrypt --name=erp-sync.shop.token - /etc/credstore.encrypted/erp-sync.shop.token`; ' +
        'ardından birimin [Service] bölümüne `LoadCredentialEncrypted=erp-sync.shop.token:/etc/credstore.encrypted/erp-sync.shop.token` satırını ekleyin ve birimi yeniden başlatın.',
    });
    expect(await open({ CREDENTIALS_DIRECTORY: join(credentials, 'missing') }).unavailableReason()).toMatch(/^CREDENTIALS_DIRECTORY \(.*missing\) kullanılamıyor: .*ENOENT.*systemd biriminden başlatın\.$/);
  });

  it('refuses names that would not map to one credential', async () => {
    expect(systemdCredentialName('shop-2', 'refresh_token')).toBe('erp-sync.shop-2.refresh_token');
    expect(() => systemdCredentialName('shop.tr', 'password')).toThrow(expect.objectContaining({ code: 'SECRETS_INVALID_NAME' }));
    expect(() => systemdCredentialName('shop', '../password')).toThrow(/cannot be part of a systemd credential name/);
    await expect(open({ CREDENTIALS_DIRECTORY: credentials }).get('shop', '../../etc/passwd')).rejects.toMatchObject({ code: 'SECRETS_INVALID_NAME' });
  });
});

describe('openSecretStore', () => {
  it('opens every listed kind and refuses an unknown one', () => {
    const kinds = listSecretStoreKinds().map(({ kind }) => kind);
    expect(kinds).toEqual(['keychain', 'file', 'systemd', 'env']);
    for (const kind of kinds) expect(openSecretStore(kind, { home: '/tmp', env: {} }).kind).toBe(kind);
    expect(() => openSecretStore('vault' as never, { home: '/tmp' })).toThrow('unsupported secret store: "vault"');
  });

  it('describes the kinds and refuses an unknown one in Turkish', () => {
    setLanguage('tr');
    expect(listSecretStoreKinds().find(({ kind }) => kind === 'file')?.description).toBe(
      'erp-sync klasöründe, ERP_SYNC_PASSPHRASE, ERP_SYNC_KEY_FILE ya da yanındaki secrets.key anahtar dosyasıyla açılan şifreli bir dosya',
    );
    expect(() => openSecretStore('vault' as never, { home: '/tmp' })).toThrow(
      expect.objectContaining({ message: 'desteklenmeyen gizli bilgi deposu: "vault"', hint: 'Şunlardan birini kullanın: keychain, file, systemd, env.' }),
    );
  });
});
