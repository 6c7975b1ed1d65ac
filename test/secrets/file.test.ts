import { chmod, copyFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setLanguage } from '../../src/i18n/index.js';
import { runTsChild } from '../support/cli.js';
import { FileSecretStore, createKeyFile } from '../../src/secrets/file.js';
import { openSecretStore } from '../../src/secrets/index.js';
import { redact } from '../../src/secrets/redact.js';

/** The tests run concurrently, so each gets its own home and all are removed together at the end. */
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'erp-sync-file-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));
const newHome = () => mkdtemp(join(root, 'home-'));

/** Written by the first release of the format with the passphrase `fixture passphrase`; never set in this file's tests, so masking proves that reads register secrets. */
const fixture = fileURLToPath(new URL('./fixtures/v1-secrets.enc', import.meta.url));
const writer = fileURLToPath(new URL('./file-writer-child.ts', import.meta.url));

const withPassphrase = (home: string, passphrase: string) => openSecretStore('file', { home, env: { ERP_SYNC_PASSPHRASE: passphrase } });

/** Each test pays for one or two scrypt derivations (~0.4 s); running them side by side keeps the file short. */
describe.concurrent('FileSecretStore', () => {
  it('round-trips secrets through a 0600 file that holds no plaintext and leaves no temp files', async () => {
    const home = await newHome();
    const writer = withPassphrase(home, 'correct horse');
    expect(await writer.unavailableReason()).toBeUndefined();
    expect(await writer.get('shop', 'password')).toBeUndefined();
    await writer.set('shop', 'password', 'Shop-Pass-1');
    await writer.set('shop', 'apiKey', 'Shop-Key-2');
    await writer.set('__proto__', 'token', 'Proto-Token-3');
    await writer.set('shop', 'password', 'Shop-Pass-4');

    const reader = withPassphrase(home, 'correct horse');
    expect(await reader.get('shop', 'password')).toBe('Shop-Pass-4');
    expect(await reader.get('shop', 'apiKey')).toBe('Shop-Key-2');
    expect(await reader.get('__proto__', 'token')).toBe('Proto-Token-3');
    expect(await reader.get('other', 'password')).toBeUndefined();

    const path = join(home, 'secrets.enc');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(home)).toEqual(['secrets.enc']);
    const raw = (await readFile(path)).toString('latin1');
    expect(raw.startsWith('ERPSYNC-SECRETS\n\x01')).toBe(true);
    for (const plain of ['Shop-Pass', 'Shop-Key', 'shop', 'password']) expect(raw).not.toContain(plain);

    await reader.delete('shop', 'password');
    await reader.delete('shop', 'password');
    expect(await reader.get('shop', 'password')).toBeUndefined();
    expect(await reader.get('shop', 'apiKey')).toBe('Shop-Key-2');
    expect(redact('the ERP said Shop-Key-2 is invalid')).toBe('the ERP said *** is invalid');
  });

  it('keeps both of two secrets saved at the same time', async () => {
    const home = await newHome();
    const store = withPassphrase(home, 'pw-concurrent');
    await Promise.all([store.set('a', 'token', 'Token-A'), store.set('b', 'token', 'Token-B'), store.set('c', 'token', 'Token-C')]);
    expect([await store.get('a', 'token'), await store.get('b', 'token'), await store.get('c', 'token')]).toEqual(['Token-A', 'Token-B', 'Token-C']);
    expect(await readdir(home)).toEqual(['secrets.enc']);
  });

  it('keeps every secret that several processes save at the same moment', async () => {
    const home = await newHome();
    await withPassphrase(home, 'pw-processes').set('first', 'token', 'Token-0');
    // Each process reads, derives the key (~0.4 s) and writes back: without a lock across processes, all but one write would be lost.
    const at = String(Date.now() + 2000);
    const names = ['p1', 'p2', 'p3', 'p4'];
    const codes = await Promise.all(names.map((name) => runTsChild(writer, [home, name, `Token-${name}`, at])));
    expect(codes).toEqual([0, 0, 0, 0]);
    const store = withPassphrase(home, 'pw-processes');
    expect(await Promise.all(['first', ...names].map((name) => store.get(name, 'token')))).toEqual(['Token-0', ...names.map((name) => `Token-${name}`)]);
    expect(await readdir(home)).toEqual(['secrets.enc']);
  });

  it('says the passphrase is wrong, and neither reads nor overwrites the file', async () => {
    const home = await newHome();
    await withPassphrase(home, 'right').set('shop', 'password', 'Shop-Pass-5');
    const before = await readFile(join(home, 'secrets.enc'));

    const wrong = withPassphrase(home, 'wrong');
    await expect(wrong.get('shop', 'password')).rejects.toMatchObject({ code: 'SECRETS_FILE_WRONG_PASSPHRASE', hint: expect.stringContaining('ERP_SYNC_PASSPHRASE') });
    await expect(wrong.set('shop', 'password', 'Attacker-Value')).rejects.toMatchObject({ code: 'SECRETS_FILE_WRONG_PASSPHRASE' });
    expect(await wrong.unavailableReason()).toMatch(/^the passphrase does not open the secrets file .*secrets\.enc\. Set ERP_SYNC_PASSPHRASE/);
    expect(await readFile(join(home, 'secrets.enc'))).toEqual(before);
  });

  it('asks for a passphrase when none is configured, and for only one when both are', async () => {
    const home = await newHome();
    const none = openSecretStore('file', { home, env: {} });
    await expect(none.set('shop', 'password', 'Shop-Pass-6')).rejects.toMatchObject({ code: 'SECRETS_FILE_NO_PASSPHRASE' });
    expect(await none.unavailableReason()).toMatch(/needs a key: neither ERP_SYNC_PASSPHRASE nor ERP_SYNC_KEY_FILE is set, and there is no key file at .*secrets\.key.*offers to create the key file/);
    const both = openSecretStore('file', { home, env: { ERP_SYNC_PASSPHRASE: 'x', ERP_SYNC_KEY_FILE: join(home, 'key') } });
    await expect(both.set('shop', 'password', 'Shop-Pass-6')).rejects.toMatchObject({ code: 'SECRETS_FILE_KEY_AMBIGUOUS' });
    expect(await readdir(home)).toEqual([]);
  });

  it('creates a random 0600 key file in the home, never over an existing one, and unlocks the file with it unasked', async () => {
    const home = await newHome();
    const keyFile = join(home, 'secrets.key');
    const store = openSecretStore('file', { home, env: {} }) as FileSecretStore;
    expect(store.needsKey()).toBe(true);
    await createKeyFile(keyFile);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const key = (await readFile(keyFile, 'utf8')).trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(redact(`the key is ${key}`)).toBe('the key is ***');
    expect(store.needsKey()).toBe(false);
    await store.set('shop', 'password', 'Shop-Pass-K');
    expect(await withPassphrase(home, key).get('shop', 'password')).toBe('Shop-Pass-K');

    await expect(createKeyFile(keyFile)).rejects.toMatchObject({ code: 'SECRETS_KEY_FILE_EXISTS' });
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(key);
    // A passphrase or key file named in the environment still comes first.
    expect(await openSecretStore('file', { home, env: { ERP_SYNC_PASSPHRASE: 'other' } }).unavailableReason()).toMatch(/does not open/);
  });

  it('reads the passphrase from a 0600 key file without its final newline, and refuses one others can read', async () => {
    const home = await newHome();
    const keyFile = join(home, 'secrets.key');
    await writeFile(keyFile, 'key-file-passphrase\n', { mode: 0o600 });
    const fromKeyFile = openSecretStore('file', { home, env: { ERP_SYNC_KEY_FILE: keyFile } });
    await fromKeyFile.set('shop', 'password', 'Shop-Pass-7');
    expect(await withPassphrase(home, 'key-file-passphrase').get('shop', 'password')).toBe('Shop-Pass-7');

    await chmod(keyFile, 0o640);
    const loose = new FileSecretStore({ path: join(home, 'secrets.enc'), defaultKeyFile: join(home, 'secrets.key'), env: { ERP_SYNC_KEY_FILE: keyFile } });
    await expect(loose.get('shop', 'password')).rejects.toMatchObject({
      code: 'SECRETS_KEY_FILE_MODE',
      message: expect.stringContaining('mode 0640'),
      hint: `Run: chmod 600 ${keyFile}`,
    });
    expect(await loose.unavailableReason()).toMatch(/readable by other users.*chmod 600/);
  });

  it.each([
    ['cut inside the header', 40],
    ['cut inside the ciphertext', -20],
    ['missing the last byte of the tag', -1],
  ])('rejects a file %s and leaves it as it is', async (_, cut) => {
    const home = await newHome();
    const path = join(home, 'secrets.enc');
    await withPassphrase(home, 'pw-truncate').set('shop', 'password', 'Shop-Pass-8');
    const size = (await stat(path)).size;
    await truncate(path, cut > 0 ? cut : size + cut);
    const truncated = await readFile(path);

    const store = withPassphrase(home, 'pw-truncate');
    await expect(store.get('shop', 'password')).rejects.toMatchObject({ code: 'SECRETS_FILE_CORRUPT', message: expect.stringContaining('left unchanged') });
    await expect(store.set('shop', 'password', 'Shop-Pass-9')).rejects.toMatchObject({ code: 'SECRETS_FILE_CORRUPT' });
    expect(await readFile(path)).toEqual(truncated);
    expect(await readdir(home)).toEqual(['secrets.enc']);
  });

  it.each([
    ['the ciphertext', (data: Buffer) => data.length - 20],
    ['the IV in the header', () => 16 + 4 + 16 + 32],
  ])('fails authentication when %s was changed, and overwrites nothing', async (_, offset) => {
    const home = await newHome();
    const path = join(home, 'secrets.enc');
    await withPassphrase(home, 'pw-tamper').set('shop', 'password', 'Shop-Pass-10');
    const tampered = await readFile(path);
    tampered[offset(tampered)]! ^= 0x01;
    await writeFile(path, tampered);

    const store = withPassphrase(home, 'pw-tamper');
    await expect(store.get('shop', 'password')).rejects.toMatchObject({ code: 'SECRETS_FILE_CORRUPT', message: expect.stringContaining('authentication failed') });
    await expect(store.delete('shop', 'password')).rejects.toMatchObject({ code: 'SECRETS_FILE_CORRUPT' });
    expect(await readFile(path)).toEqual(tampered);
  });

  it('still reads a version 1 file, and masks what it read in all output', async () => {
    const home = await newHome();
    await copyFile(fixture, join(home, 'secrets.enc'));
    const store = withPassphrase(home, 'fixture passphrase');
    expect(await store.get('shop', 'password')).toBe('Fixture-Pass-1');
    expect(await store.get('shop', 'refresh_token')).toBe('Fixture-Token-2');
    expect(redact('{"error":"Fixture-Pass-1 rejected, try Fixture-Token-2"}')).toBe('{"error":"*** rejected, try ***"}');
  });

  it('names the format version it cannot read', async () => {
    const home = await newHome();
    const path = join(home, 'secrets.enc');
    await withPassphrase(home, 'pw-version').set('shop', 'password', 'Shop-Pass-11');
    const data = await readFile(path);
    data[16] = 2;
    await writeFile(path, data);
    await expect(withPassphrase(home, 'pw-version').get('shop', 'password')).rejects.toMatchObject({ code: 'SECRETS_FILE_VERSION', message: expect.stringContaining('format version 2') });
  });
});

/**
 * The language is process-wide: these run one after another, after the concurrent tests above,
 * so no English assertion ever sees Turkish.
 */
describe('FileSecretStore in Turkish', () => {
  beforeEach(() => setLanguage('tr'));

  it('says in Turkish that the passphrase does not open the file, and what to do', async () => {
    const home = await newHome();
    await withPassphrase(home, 'doğru parola').set('shop', 'password', 'Shop-Pass-12');
    const path = join(home, 'secrets.enc');

    const wrong = withPassphrase(home, 'yanlış parola');
    await expect(wrong.get('shop', 'password')).rejects.toMatchObject({
      code: 'SECRETS_FILE_WRONG_PASSPHRASE',
      message: `${path} gizli bilgi dosyası bu parolayla açılamıyor`,
      hint: 'Dosya oluşturulurken kullanılan parolayı ERP_SYNC_PASSPHRASE (veya ERP_SYNC_KEY_FILE) ile verin; parola doğruysa dosyanın başlığı bozulmuştur: dosyayı yedekten geri yükleyin.',
    });
    expect(await wrong.unavailableReason()).toBe(
      `${path} gizli bilgi dosyası bu parolayla açılamıyor. Dosya oluşturulurken kullanılan parolayı ERP_SYNC_PASSPHRASE (veya ERP_SYNC_KEY_FILE) ile verin; parola doğruysa dosyanın başlığı bozulmuştur: dosyayı yedekten geri yükleyin.`,
    );
  });

  it('asks in Turkish for a passphrase when none is configured', async () => {
    const home = await newHome();
    const none = openSecretStore('file', { home, env: {} });
    await expect(none.set('shop', 'password', 'Shop-Pass-13')).rejects.toMatchObject({
      code: 'SECRETS_FILE_NO_PASSPHRASE',
      message: `file gizli bilgi deposu bir anahtar gerektiriyor: ne ERP_SYNC_PASSPHRASE ne de ERP_SYNC_KEY_FILE tanımlı, ${join(home, 'secrets.key')} konumunda da anahtar dosyası yok`,
      hint: '`erp-sync connect` komutunu bir terminalde çalıştırıp şifreli dosyayı seçin: anahtar dosyasını oluşturmayı önerir. Ya da ERP_SYNC_PASSPHRASE ortam değişkenini tanımlayın ya da parolayı izinleri 0600 olan bir dosyaya yazıp o dosyanın yolunu ERP_SYNC_KEY_FILE ile verin.',
    });
    expect(await readdir(home)).toEqual([]);
  });

  it('names a damaged file and why, and an empty key file, in Turkish with the command line as it is', async () => {
    const home = await newHome();
    const path = join(home, 'secrets.enc');
    await writeFile(path, 'not a secrets file, but long enough to hold a whole header and a tag. '.repeat(3));
    await expect(withPassphrase(home, 'pw-tr').get('shop', 'password')).rejects.toMatchObject({
      code: 'SECRETS_FILE_CORRUPT',
      message: `${path} gizli bilgi dosyası bozuk ya da değiştirilmiş (bir erp-sync gizli bilgi dosyası değil); dosyaya dokunulmadı`,
      hint: 'secrets.enc dosyasını yedekten geri yükleyin ya da başka bir yere taşıyıp gizli bilgileri yeniden kaydetmek için tekrar bağlanın.',
    });

    const keyHome = await newHome();
    const keyFile = join(keyHome, 'secrets.key');
    await writeFile(keyFile, '\n', { mode: 0o600 });
    await expect(openSecretStore('file', { home: keyHome, env: { ERP_SYNC_KEY_FILE: keyFile } }).set('shop', 'password', 'Shop-Pass-14')).rejects.toMatchObject({
      code: 'SECRETS_KEY_FILE_EMPTY',
      message: `${keyFile} anahtar dosyası boş`,
      hint: `Dosyaya parolayı yazın, örneğin: head -c 32 /dev/urandom | base64 > ${keyFile}`,
    });
  });
});
