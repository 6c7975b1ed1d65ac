import { writeFile } from 'atomically';
import { constants, existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { LockHeldError, acquireLock } from '../lock/lock.js';
import type { Lock } from '../lock/lock.js';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { registerSecret } from './redact.js';
import type { SecretStore } from './store.js';

/** node:crypto and node:fs/promises load when a secret is first read or written, not with every command that opens a home. */
const nodeCrypto = () => process.getBuiltinModule('node:crypto');
const fsPromises = () => process.getBuiltinModule('node:fs/promises');

const m = defineMessages({
  en: {
    unreadable: 'cannot read the secrets file {path}: {reason}',
    unreadableHint: 'Run erp-sync as the user that owns the file, or fix its permissions (chmod 600).',
    wrongPassphrase: 'the passphrase does not open the secrets file {path}',
    wrongPassphraseHint:
      'Set {passphraseVariable} (or {keyFileVariable}) to the passphrase the file was created with; if it is right, the file header is damaged: restore the file from a backup.',
    keyAmbiguous: 'both {passphraseVariable} and {keyFileVariable} are set',
    keyAmbiguousHint: 'Unset one of them, so it is clear which one unlocks the secrets file.',
    noPassphrase: 'the file secret store needs a key: neither {passphraseVariable} nor {keyFileVariable} is set, and there is no key file at {defaultKeyFile}',
    noPassphraseHint: 'Run `erp-sync connect` at a terminal and choose the encrypted file: it offers to create the key file. Or set {passphraseVariable}, or put a passphrase in a file with mode 0600 and set {keyFileVariable} to its path.',
    keyFileExists: 'the key file {path} already exists; it was left as it is',
    keyFileExistsHint: 'It unlocks secrets.enc: keep it. To start over, move both away first.',
    keyFileUnwritable: 'cannot create the key file {path}: {reason}',
    keyFileUnopenable: 'cannot open the key file {path}: {reason}',
    keyFileUnopenableHint: 'Check {keyFileVariable}; it must name a regular file (not a symlink) readable by this user.',
    keyFileNotRegular: 'the key file {path} is not a regular file',
    keyFileNotRegularHint: 'Point {keyFileVariable} at a regular file that holds the passphrase.',
    keyFileMode: 'the key file {path} is readable by other users (mode {mode}); refusing to use it',
    keyFileModeHint: 'Run: chmod 600 {path}',
    keyFileEmpty: 'the key file {path} is empty',
    keyFileEmptyHint: 'Write the passphrase into it, e.g.: head -c 32 /dev/urandom | base64 > {path}',
    damaged: 'the secrets file {path} is damaged or was modified ({why}); it was left unchanged',
    damagedHint: 'Restore {file} from a backup, or move it away and connect again to store the secrets anew.',
    tooShort: 'too short',
    notSecretsFile: 'not an erp-sync secrets file',
    kdfOutOfRange: 'key derivation parameters out of range',
    authenticationFailed: 'authentication failed',
    version: 'the secrets file {path} has format version {version}, which this erp-sync does not read',
    versionHint: 'Upgrade erp-sync to the version that wrote the file.',
    busy: 'the secrets file {path} has been locked by another erp-sync process (pid {pid}) for more than {seconds} s',
    busyHint: 'Try again when that process has finished; if it hangs, stop it (its lock is {path}.lock).',
    unwritable: 'cannot write the secrets file {path}: {reason}',
    unwritableHint: 'Check that {directory} exists, has free space and is writable by this user.',
  },
  tr: {
    unreadable: '{path} gizli bilgi dosyası okunamıyor: {reason}',
    unreadableHint: "erp-sync'i dosyanın sahibi olan kullanıcıyla çalıştırın ya da dosyanın izinlerini düzeltin (chmod 600).",
    wrongPassphrase: '{path} gizli bilgi dosyası bu parolayla açılamıyor',
    wrongPassphraseHint:
      'Dosya oluşturulurken kullanılan parolayı {passphraseVariable} (veya {keyFileVariable}) ile verin; parola doğruysa dosyanın başlığı bozulmuştur: dosyayı yedekten geri yükleyin.',
    keyAmbiguous: '{passphraseVariable} ve {keyFileVariable} birlikte tanımlanmış',
    keyAmbiguousHint: 'Gizli bilgi dosyasını hangisinin açacağı belli olsun diye birini kaldırın.',
    noPassphrase: 'file gizli bilgi deposu bir anahtar gerektiriyor: ne {passphraseVariable} ne de {keyFileVariable} tanımlı, {defaultKeyFile} konumunda da anahtar dosyası yok',
    keyFileExists: '{path} anahtar dosyası zaten var; olduğu gibi bırakıldı',
    keyFileExistsHint: 'secrets.enc dosyasını o açar: saklayın. Baştan başlamak için önce ikisini de başka yere taşıyın.',
    keyFileUnwritable: '{path} anahtar dosyası oluşturulamıyor: {reason}',
    noPassphraseHint:
      '`erp-sync connect` komutunu bir terminalde çalıştırıp şifreli dosyayı seçin: anahtar dosyasını oluşturmayı önerir. Ya da {passphraseVariable} ortam değişkenini tanımlayın ya da parolayı izinleri 0600 olan bir dosyaya yazıp o dosyanın yolunu {keyFileVariable} ile verin.',
    keyFileUnopenable: '{path} anahtar dosyası açılamıyor: {reason}',
    keyFileUnopenableHint: '{keyFileVariable} değişkenini kontrol edin; bu kullanıcının okuyabildiği normal bir dosyayı (sembolik bağlantı değil) göstermelidir.',
    keyFileNotRegular: '{path} anahtar dosyası normal bir dosya değil',
    keyFileNotRegularHint: '{keyFileVariable} değişkenini parolayı içeren normal bir dosyaya yönlendirin.',
    keyFileMode: '{path} anahtar dosyasını başka kullanıcılar da okuyabiliyor (izinler {mode}); bu dosya kullanılmayacak',
    keyFileModeHint: 'Şunu çalıştırın: chmod 600 {path}',
    keyFileEmpty: '{path} anahtar dosyası boş',
    keyFileEmptyHint: 'Dosyaya parolayı yazın, örneğin: head -c 32 /dev/urandom | base64 > {path}',
    damaged: '{path} gizli bilgi dosyası bozuk ya da değiştirilmiş ({why}); dosyaya dokunulmadı',
    damagedHint: '{file} dosyasını yedekten geri yükleyin ya da başka bir yere taşıyıp gizli bilgileri yeniden kaydetmek için tekrar bağlanın.',
    tooShort: 'çok kısa',
    notSecretsFile: 'bir erp-sync gizli bilgi dosyası değil',
    kdfOutOfRange: 'anahtar türetme parametreleri izin verilen aralığın dışında',
    authenticationFailed: 'doğrulama başarısız',
    version: '{path} gizli bilgi dosyasının biçim sürümü {version}; bu erp-sync sürümü bu biçimi okuyamıyor',
    versionHint: "erp-sync'i dosyayı yazan sürüme yükseltin.",
    busy: '{path} gizli bilgi dosyası {seconds} saniyeden uzun süredir başka bir erp-sync işlemi (pid {pid}) tarafından kilitli tutuluyor',
    busyHint: 'O işlem bittiğinde tekrar deneyin; takılı kaldıysa durdurun (kilit dosyası: {path}.lock).',
    unwritable: '{path} gizli bilgi dosyası yazılamıyor: {reason}',
    unwritableHint: '{directory} klasörünün var olduğunu, diskte boş alan bulunduğunu ve bu kullanıcının oraya yazabildiğini kontrol edin.',
  },
});

/** Why a file counts as damaged, in the words of the catalog. */
type DamageReason = 'tooShort' | 'notSecretsFile' | 'kdfOutOfRange' | 'authenticationFailed';

/**
 * File format, version 1 (all integers single bytes):
 *
 *   magic "ERPSYNC-SECRETS\n" (16) | version (1) | log2 N (1) | r (1) | p (1)
 *   | scrypt salt (16) | key check (32) | AES-GCM IV (12) | ciphertext | GCM tag (16)
 *
 * The key is scrypt(passphrase, salt, N, r, p). The whole header is the GCM
 * additional data, so any field a later version adds is authenticated too (a
 * changed salt, parameter or key check already yields the wrong key). The key
 * check, HMAC-SHA256(key, "erp-sync key check"), tells a wrong passphrase
 * apart from a damaged file; it helps a guesser no more than the GCM tag does,
 * as every guess still costs one scrypt. A new version byte lets the format
 * change while old files stay readable.
 */
const MAGIC = Buffer.from('ERPSYNC-SECRETS\n', 'latin1');
const VERSION = 1;
const SALT_BYTES = 16;
const CHECK_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 4 + SALT_BYTES + CHECK_BYTES + IV_BYTES;
const CHECK_LABEL = 'erp-sync key check';

/** OWASP's scrypt baseline: 128 MiB and about 0.4 s per derivation, once per run. */
const KDF = { log2N: 17, r: 8, p: 1 };
/** Bounds for parameters read from a file, so a crafted header cannot ask for gigabytes or hours. */
const KDF_LIMITS = { log2N: [14, 20], r: [1, 16], p: [1, 4] } as const;
const KDF_MAX_MEMORY = 2 ** 30;

export const PASSPHRASE_VARIABLE = 'ERP_SYNC_PASSPHRASE';
export const KEY_FILE_VARIABLE = 'ERP_SYNC_KEY_FILE';
const keyVariables = { passphraseVariable: PASSPHRASE_VARIABLE, keyFileVariable: KEY_FILE_VARIABLE };

/** Maps, not plain objects: a connection named `__proto__` must stay an ordinary name. */
type Secrets = Map<string, Map<string, string>>;
interface Kdf {
  log2N: number;
  r: number;
  p: number;
  salt: Buffer;
}
interface Unlocked {
  secrets: Secrets;
  kdf: Kdf;
  key: Buffer;
}

/** One write at a time per file within this process, so two rotated tokens saved together both survive. */
const writeQueues = new Map<string, Promise<unknown>>();
/** How long a write waits for another process's write (one key derivation and an fsync) before giving up. */
const LOCK_WAIT_MS = 30_000;

/**
 * Secrets in one encrypted file (AES-256-GCM), unlocked by the passphrase in
 * ERP_SYNC_PASSPHRASE, by the contents of the key file named in
 * ERP_SYNC_KEY_FILE, or else by the key file `connect` offers to create in
 * the erp-sync home (`defaultKeyFile`). Key files must have mode 0600. For
 * servers without a keychain.
 */
export class FileSecretStore implements SecretStore {
  readonly kind = 'file' as const;
  readonly path: string;
  readonly defaultKeyFile: string;
  readonly #env: NodeJS.ProcessEnv;
  /** scrypt is deliberately slow and memory-hungry; reads running side by side share one derivation per salt. */
  #derived: { salt: Buffer; key: Promise<Buffer> } | undefined;

  constructor(options: { path: string; defaultKeyFile: string; env?: NodeJS.ProcessEnv }) {
    this.path = options.path;
    this.defaultKeyFile = options.defaultKeyFile;
    this.#env = options.env ?? process.env;
  }

  /** Whether nothing would unlock the file: no passphrase, no key file named, none in the home. `connect` then offers to make one. */
  needsKey(): boolean {
    return !this.#env[PASSPHRASE_VARIABLE] && !this.#env[KEY_FILE_VARIABLE] && !existsSync(this.defaultKeyFile);
  }

  async get(connection: string, field: string): Promise<string | undefined> {
    const unlocked = await this.#read();
    return unlocked?.secrets.get(connection)?.get(field);
  }

  async set(connection: string, field: string, value: string): Promise<void> {
    registerSecret(value);
    await this.#update((secrets) => {
      const fields = secrets.get(connection) ?? new Map<string, string>();
      secrets.set(connection, fields.set(field, value));
    });
  }

  async delete(connection: string, field: string): Promise<void> {
    await this.#update((secrets) => {
      const fields = secrets.get(connection);
      if (!fields?.delete(field)) return false;
      if (fields.size === 0) secrets.delete(connection);
    });
  }

  /** Checks the key source and, when the file exists, that it decrypts with it. */
  async unavailableReason(): Promise<string | undefined> {
    try {
      await this.#passphrase();
      await this.#read();
      return undefined;
    } catch (error) {
      return error instanceof UserError ? `${error.message}. ${error.hint}` : errorMessage(error);
    }
  }

  /** Runs `change` on the decrypted secrets and writes them back, unless it returns false. */
  async #update(change: (secrets: Secrets) => boolean | void): Promise<void> {
    const previous = writeQueues.get(this.path) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() =>
      withFileLock(this.path, async () => {
        const existing = await this.#read();
        const secrets: Secrets = existing?.secrets ?? new Map();
        if (change(secrets) === false) return;
        await writeAtomically(this.path, encrypt(existing ?? (await this.#create(secrets))));
      }),
    );
    writeQueues.set(this.path, next);
    try {
      await next;
    } finally {
      if (writeQueues.get(this.path) === next) writeQueues.delete(this.path);
    }
  }

  async #create(secrets: Secrets): Promise<Unlocked> {
    const kdf: Kdf = { ...KDF, salt: nodeCrypto().randomBytes(SALT_BYTES) };
    return { secrets, kdf, key: await this.#deriveKey(kdf) };
  }

  /** Undefined when the file does not exist yet. */
  async #read(): Promise<Unlocked | undefined> {
    let data: Buffer;
    try {
      data = await fsPromises().readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new UserError(m('unreadable', { path: this.path, reason: errorMessage(error) }), {
        code: 'SECRETS_FILE_UNREADABLE',
        exitCode: ExitCode.config,
        hint: m('unreadableHint'),
        cause: error,
      });
    }
    const header = parseHeader(data, this.path);
    const key = await this.#deriveKey(header.kdf);
    if (!nodeCrypto().timingSafeEqual(keyCheck(key), header.check)) {
      throw new UserError(m('wrongPassphrase', { path: this.path }), {
        code: 'SECRETS_FILE_WRONG_PASSPHRASE',
        exitCode: ExitCode.config,
        hint: m('wrongPassphraseHint', keyVariables),
      });
    }
    const secrets = decrypt(data, key, this.path);
    for (const fields of secrets.values()) for (const value of fields.values()) registerSecret(value);
    return { secrets, kdf: header.kdf, key };
  }

  #deriveKey(kdf: Kdf): Promise<Buffer> {
    if (this.#derived?.salt.equals(kdf.salt)) return this.#derived.key;
    const key = this.#passphrase().then((passphrase) => {
      const N = 2 ** kdf.log2N;
      return new Promise<Buffer>((resolve, reject) =>
        nodeCrypto().scrypt(passphrase, kdf.salt, 32, { N, r: kdf.r, p: kdf.p, maxmem: 256 * N * kdf.r }, (error, derived) => (error ? reject(error) : resolve(derived))),
      );
    });
    const derived = { salt: kdf.salt, key };
    this.#derived = derived;
    // A missing passphrase may be set before the next call; only a successful derivation is kept.
    key.catch(() => {
      if (this.#derived === derived) this.#derived = undefined;
    });
    return key;
  }

  async #passphrase(): Promise<Buffer> {
    const passphrase = this.#env[PASSPHRASE_VARIABLE];
    const keyFile = this.#env[KEY_FILE_VARIABLE];
    if (passphrase && keyFile) {
      throw new UserError(m('keyAmbiguous', keyVariables), {
        code: 'SECRETS_FILE_KEY_AMBIGUOUS',
        exitCode: ExitCode.config,
        hint: m('keyAmbiguousHint'),
      });
    }
    if (passphrase) {
      registerSecret(passphrase);
      return Buffer.from(passphrase, 'utf8');
    }
    if (keyFile) return readKeyFile(keyFile);
    if (existsSync(this.defaultKeyFile)) return readKeyFile(this.defaultKeyFile);
    throw new UserError(m('noPassphrase', { ...keyVariables, defaultKeyFile: this.defaultKeyFile }), {
      code: 'SECRETS_FILE_NO_PASSPHRASE',
      exitCode: ExitCode.config,
      hint: m('noPassphraseHint', keyVariables),
    });
  }
}

async function readKeyFile(path: string): Promise<Buffer> {
  let handle;
  try {
    handle = await fsPromises().open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw new UserError(m('keyFileUnopenable', { path, reason: errorMessage(error) }), {
      code: 'SECRETS_KEY_FILE_UNREADABLE',
      exitCode: ExitCode.config,
      hint: m('keyFileUnopenableHint', keyVariables),
      cause: error,
    });
  }
  try {
    // fstat on the open descriptor: the mode checked is the mode of the file read.
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new UserError(m('keyFileNotRegular', { path }), {
        code: 'SECRETS_KEY_FILE_UNREADABLE',
        exitCode: ExitCode.config,
        hint: m('keyFileNotRegularHint', keyVariables),
      });
    }
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new UserError(m('keyFileMode', { path, mode: (stat.mode & 0o777).toString(8).padStart(4, '0') }), {
        code: 'SECRETS_KEY_FILE_MODE',
        exitCode: ExitCode.config,
        hint: m('keyFileModeHint', { path }),
      });
    }
    const content = trimFinalNewline(await handle.readFile());
    if (content.length === 0) {
      throw new UserError(m('keyFileEmpty', { path }), {
        code: 'SECRETS_KEY_FILE_EMPTY',
        exitCode: ExitCode.config,
        hint: m('keyFileEmptyHint', { path }),
      });
    }
    registerSecret(content.toString('utf8'));
    return content;
  } finally {
    await handle.close();
  }
}

/**
 * A new key file: 32 random bytes, base64url, created with mode 0600 and
 * never over an existing one (that one unlocks a secrets file already).
 */
export async function createKeyFile(path: string): Promise<void> {
  const key = nodeCrypto().randomBytes(32).toString('base64url');
  let handle;
  try {
    await fsPromises().mkdir(dirname(path), { recursive: true, mode: 0o700 });
    handle = await fsPromises().open(path, 'wx', 0o600);
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new UserError(m(exists ? 'keyFileExists' : 'keyFileUnwritable', { path, reason: errorMessage(error) }), {
      code: exists ? 'SECRETS_KEY_FILE_EXISTS' : 'SECRETS_KEY_FILE_UNWRITABLE',
      exitCode: ExitCode.config,
      hint: exists ? m('keyFileExistsHint') : m('unwritableHint', { directory: dirname(path) }),
      cause: error,
    });
  }
  try {
    await handle.writeFile(`${key}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  registerSecret(key);
}

/** A key file written with `echo` or an editor ends in a newline that is not part of the passphrase. */
export function trimFinalNewline(content: Buffer): Buffer {
  let end = content.length;
  if (content[end - 1] === 0x0a) end--;
  if (content[end - 1] === 0x0d) end--;
  return content.subarray(0, end);
}

function keyCheck(key: Buffer): Buffer {
  return nodeCrypto().createHmac('sha256', key).update(CHECK_LABEL).digest();
}

function damaged(path: string, why: DamageReason): UserError {
  return new UserError(m('damaged', { path, why: m(why) }), {
    code: 'SECRETS_FILE_CORRUPT',
    exitCode: ExitCode.config,
    hint: m('damagedHint', { file: basename(path) }),
  });
}

function parseHeader(data: Buffer, path: string): { kdf: Kdf; check: Buffer } {
  if (data.length < HEADER_BYTES + TAG_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw damaged(path, data.length < HEADER_BYTES + TAG_BYTES ? 'tooShort' : 'notSecretsFile');
  }
  let offset = MAGIC.length;
  const version = data[offset++];
  if (version !== VERSION) {
    throw new UserError(m('version', { path, version: String(version) }), {
      code: 'SECRETS_FILE_VERSION',
      exitCode: ExitCode.config,
      hint: m('versionHint'),
    });
  }
  const [log2N, r, p] = [data[offset++]!, data[offset++]!, data[offset++]!];
  const within = (value: number, [min, max]: readonly [number, number]) => value >= min && value <= max;
  if (!within(log2N, KDF_LIMITS.log2N) || !within(r, KDF_LIMITS.r) || !within(p, KDF_LIMITS.p) || 128 * 2 ** log2N * r > KDF_MAX_MEMORY) {
    throw damaged(path, 'kdfOutOfRange');
  }
  const salt = data.subarray(offset, (offset += SALT_BYTES));
  const check = data.subarray(offset, (offset += CHECK_BYTES));
  return { kdf: { log2N, r, p, salt }, check };
}

function encrypt({ secrets, kdf, key }: Unlocked): Buffer {
  const iv = nodeCrypto().randomBytes(IV_BYTES);
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION, kdf.log2N, kdf.r, kdf.p]), kdf.salt, keyCheck(key), iv]);
  const cipher = nodeCrypto().createCipheriv('aes-256-gcm', key, iv).setAAD(header);
  const plaintext = JSON.stringify(Object.fromEntries([...secrets].map(([connection, fields]) => [connection, Object.fromEntries(fields)])));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([header, ciphertext, cipher.getAuthTag()]);
}

function decrypt(data: Buffer, key: Buffer, path: string): Secrets {
  const header = data.subarray(0, HEADER_BYTES);
  const iv = header.subarray(HEADER_BYTES - IV_BYTES);
  const decipher = nodeCrypto().createDecipheriv('aes-256-gcm', key, iv).setAAD(header).setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(data.subarray(HEADER_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw damaged(path, 'authenticationFailed');
  }
  const parsed = JSON.parse(plaintext.toString('utf8')) as Record<string, Record<string, string>>;
  return new Map(Object.entries(parsed).map(([connection, fields]) => [connection, new Map(Object.entries(fields))]));
}

/**
 * Runs a read-modify-write of the secrets file holding `<file>.lock`, so
 * that other processes' writes (a `connect` while a run saves a rotated
 * token) are not lost. A lock left by a dead process is taken over.
 */
async function withFileLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let lock: Lock;
  for (;;) {
    try {
      lock = acquireLock(dirname(path), basename(path));
      break;
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      if (Date.now() > deadline) {
        throw new UserError(m('busy', { path, pid: String(error.owner.pid), seconds: LOCK_WAIT_MS / 1000 }), {
          code: 'SECRETS_FILE_BUSY',
          exitCode: ExitCode.tempFail,
          hint: m('busyHint', { path }),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  }
  try {
    return await work();
  } finally {
    lock.release();
  }
}

/**
 * Through a temporary file in the same directory, created 0600, fsynced and
 * renamed over the old one (atomically, which retries the rename while
 * Windows or its virus scanner holds the file open), then the directory
 * fsynced so the rename itself survives a power cut. A crash leaves either
 * the old file or the new one.
 */
async function writeAtomically(path: string, data: Buffer): Promise<void> {
  const directory = dirname(path);
  try {
    await fsPromises().mkdir(directory, { recursive: true, mode: 0o700 });
    await writeFile(path, data, { mode: 0o600 });
  } catch (error) {
    throw new UserError(m('unwritable', { path, reason: errorMessage(error) }), {
      code: 'SECRETS_FILE_UNWRITABLE',
      exitCode: ExitCode.config,
      hint: m('unwritableHint', { directory }),
      cause: error,
    });
  }
  // Windows cannot open a directory to flush it; NTFS journals the rename itself.
  if (process.platform !== 'win32') {
    const dir = await fsPromises().open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
