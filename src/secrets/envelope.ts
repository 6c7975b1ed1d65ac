import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExitCode, UserError, errorMessage } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';

/**
 * Hosted mode's secrets at rest: each value sealed on its own with
 * AES-256-GCM under a master key, a random 96-bit IV per value, and the row
 * it belongs to (tenant, connection, field) as additional authenticated
 * data, so a ciphertext copied into another row, another tenant's included,
 * does not open. The id of the key it was sealed under is kept beside it,
 * so a key can be rotated: new values are sealed under the current key, and
 * values sealed under a retired one still open while it is given.
 *
 * Two seams for a KMS: a `KeyProvider` hands out keys by id (a KMS-backed
 * one would unwrap data keys), or an `Envelope` seals and opens values
 * itself (a KMS that never lets a key out).
 */

const MASTER_KEY_VARIABLE = 'ERP_SYNC_MASTER_KEY';
const MASTER_KEY_FILE_VARIABLE = 'ERP_SYNC_MASTER_KEY_FILE';

const m = defineMessages({
  en: {
    missing: 'hosted mode needs a master key to seal and open the tenants\' secrets: neither {fileVariable} nor {variable} is set',
    missingHint: 'Make one with `openssl rand -base64 32 > master.key` (mode 0600, kept apart from database backups) and set {fileVariable}=master.key.',
    both: 'both {fileVariable} and {variable} are set',
    bothHint: 'Unset one of them, so it is clear which master key is in force.',
    unreadable: 'cannot read the master key file {path}: {reason}',
    unreadableHint: 'Check {fileVariable}: it must name a file this user can read.',
    invalid: 'master key {position} in {source} is not 32 bytes written as base64 or hex',
    invalidHint: 'A master key is 32 random bytes, e.g. from `openssl rand -base64 32` or `openssl rand -hex 32`; several keys (the current one first, then retired ones) go on separate lines or between commas.',
    unknownKey: 'the secret "{field}" of "{owner}" was sealed under master key {keyId}, which is not among the keys given ({keys})',
    unknownKeyHint: 'This is not the master key this database\'s secrets were written with: set {fileVariable} to that key (a rotated-out key stays on a later line until every secret is sealed anew).',
    tampered: 'the secret "{field}" of "{owner}" does not open under master key {keyId}: it was altered, or copied from another row',
    tamperedHint: 'Store it again with `erp-sync hosted connect`; nothing was read from it.',
  },
  tr: {
    missing: 'barındırılan kip, kiracıların gizli bilgilerini mühürleyip açmak için bir ana anahtar ister: ne {fileVariable} ne de {variable} tanımlı',
    missingHint: '`openssl rand -base64 32 > master.key` ile bir tane oluşturun (izinler 0600, veritabanı yedeklerinden ayrı saklanır) ve {fileVariable}=master.key verin.',
    both: '{fileVariable} ve {variable} birlikte tanımlanmış',
    bothHint: 'Hangi ana anahtarın geçerli olduğu belli olsun diye birini kaldırın.',
    unreadable: '{path} ana anahtar dosyası okunamıyor: {reason}',
    unreadableHint: '{fileVariable} değişkenini kontrol edin: bu kullanıcının okuyabildiği bir dosyayı göstermelidir.',
    invalid: '{source} içindeki {position}. ana anahtar base64 ya da hex ile yazılmış 32 bayt değil',
    invalidHint: 'Ana anahtar 32 rastgele bayttır, örneğin `openssl rand -base64 32` ya da `openssl rand -hex 32` çıktısı; birden çok anahtar (önce geçerli olan, sonra emekliye ayrılanlar) ayrı satırlara ya da virgüllerle ayrılarak yazılır.',
    unknownKey: '"{owner}" için "{field}" gizli bilgisi {keyId} ana anahtarıyla mühürlenmiş; bu anahtar verilenler arasında yok ({keys})',
    unknownKeyHint: 'Bu, veritabanındaki gizli bilgilerin yazıldığı ana anahtar değil: {fileVariable} ile o anahtarı verin (değiştirilen eski anahtar, tüm gizli bilgiler yeniden mühürlenene dek sonraki bir satırda kalır).',
    tampered: '"{owner}" için "{field}" gizli bilgisi {keyId} ana anahtarıyla açılmıyor: değiştirilmiş ya da başka bir satırdan kopyalanmış',
    tamperedHint: '`erp-sync hosted connect` ile yeniden kaydedin; ondan hiçbir şey okunmadı.',
  },
});

/** A value sealed at rest: the key's id, and the IV, ciphertext and GCM tag in base64. */
export interface Sealed {
  keyId: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** Where a value sealed belongs, for messages and as the additional authenticated data. */
export interface SealContext {
  tenant: string;
  owner: string;
  field: string;
}

/** Seals and opens secrets; AES-256-GCM under a KeyProvider here, a KMS's own later. */
export interface Envelope {
  /** The id of the key new values are sealed under. */
  readonly keyId: string;
  seal(plaintext: string, context: SealContext): Promise<Sealed>;
  /** Throws a UserError naming the row when the key is not given or the value was altered. */
  open(sealed: Sealed, context: SealContext): Promise<string>;
}

/** Master keys by id: the current one seals, every one given opens. */
export interface KeyProvider {
  readonly currentKeyId: string;
  /** Every key id this provider can open, for the message when a value's is not among them. */
  readonly keyIds: readonly string[];
  key(id: string): Promise<Buffer | undefined>;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;

/** A key's id: names it in the database without telling anything about it. */
export function keyIdOf(key: Buffer): string {
  return createHmac('sha256', key).update('erp-sync master key id').digest('hex').slice(0, 16);
}

function parseKey(text: string, position: number, source: string): Buffer {
  const value = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex')
    : /^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(value) ? Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
    : undefined;
  if (key?.length !== KEY_BYTES) {
    throw new UserError(m('invalid', { position, source }), { code: 'MASTER_KEY_INVALID', exitCode: ExitCode.config, hint: m('invalidHint') });
  }
  return key;
}

/**
 * Master keys from `ERP_SYNC_MASTER_KEY_FILE` (a file, one key a line) or
 * `ERP_SYNC_MASTER_KEY` (keys between commas): 32 bytes each, base64 or hex.
 * The first is current; the others are retired keys, still read.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly #keys: Map<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new RangeError('a key provider needs at least one key');
    this.#keys = new Map(keys.map((key) => [keyIdOf(key), key]));
    this.currentKeyId = keyIdOf(keys[0]!);
  }

  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): LocalKeyProvider {
    const file = env[MASTER_KEY_FILE_VARIABLE];
    const inline = env[MASTER_KEY_VARIABLE];
    const names = { fileVariable: MASTER_KEY_FILE_VARIABLE, variable: MASTER_KEY_VARIABLE };
    if (file && inline) throw new UserError(m('both', names), { code: 'MASTER_KEY_AMBIGUOUS', exitCode: ExitCode.config, hint: m('bothHint') });
    if (!file && !inline) throw new UserError(m('missing', names), { code: 'MASTER_KEY_MISSING', exitCode: ExitCode.config, hint: m('missingHint', names) });
    let text: string;
    let source: string;
    if (file) {
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new UserError(m('unreadable', { path: file, reason: errorMessage(error) }), { code: 'MASTER_KEY_UNREADABLE', exitCode: ExitCode.config, hint: m('unreadableHint', names) });
      }
      source = file;
    } else {
      text = inline!;
      source = MASTER_KEY_VARIABLE;
    }
    const parts = text.split(/[\n,]/).map((part) => part.trim()).filter((part) => part !== '' && !part.startsWith('#'));
    if (parts.length === 0) throw new UserError(m('invalid', { position: 1, source }), { code: 'MASTER_KEY_INVALID', exitCode: ExitCode.config, hint: m('invalidHint') });
    return new LocalKeyProvider(parts.map((part, i) => parseKey(part, i + 1, source)));
  }

  get keyIds(): readonly string[] {
    return [...this.#keys.keys()];
  }

  async key(id: string): Promise<Buffer | undefined> {
    return this.#keys.get(id);
  }
}

/** The additional authenticated data: the row a value belongs to, so it opens nowhere else. */
function aad(context: SealContext): Buffer {
  return Buffer.from(['erp-sync secret v1', context.tenant, context.owner, context.field].join('\0'), 'utf8');
}

/** AES-256-GCM with a random 96-bit IV per value, keys from a KeyProvider. */
export class AesGcmEnvelope implements Envelope {
  readonly #keys: KeyProvider;

  constructor(keys: KeyProvider) {
    this.#keys = keys;
  }

  get keyId(): string {
    return this.#keys.currentKeyId;
  }

  async seal(plaintext: string, context: SealContext): Promise<Sealed> {
    const keyId = this.#keys.currentKeyId;
    const key = await this.#keys.key(keyId);
    if (!key) throw new Error(`the key provider has no key for its own current id ${keyId}`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    cipher.setAAD(aad(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId, iv: iv.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
  }

  async open(sealed: Sealed, context: SealContext): Promise<string> {
    const names = { owner: context.owner, field: context.field, keyId: sealed.keyId, fileVariable: MASTER_KEY_FILE_VARIABLE };
    const key = await this.#keys.key(sealed.keyId);
    if (!key) {
      throw new UserError(m('unknownKey', { ...names, keys: this.#keys.keyIds.join(', ') }), { code: 'MASTER_KEY_WRONG', exitCode: ExitCode.config, hint: m('unknownKeyHint', names) });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'), { authTagLength: 16 });
      decipher.setAAD(aad(context));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new UserError(m('tampered', names), { code: 'SECRET_TAMPERED', exitCode: ExitCode.config, hint: m('tamperedHint'), cause: error });
    }
  }
}

/**
 * The envelope of the master keys the environment names, read when a secret
 * is first sealed or opened: commands that touch no secret (status,
 * history) run without the key.
 */
export function envelopeFromEnvironment(env: NodeJS.ProcessEnv = process.env): Envelope {
  let inner: AesGcmEnvelope | undefined;
  const open = () => (inner ??= new AesGcmEnvelope(LocalKeyProvider.fromEnvironment(env)));
  return {
    get keyId() {
      return open().keyId;
    },
    seal: (plaintext, context) => open().seal(plaintext, context),
    open: (sealed, context) => open().open(sealed, context),
  };
}
