import { setTimeout as sleep } from 'node:timers/promises';
import { defineMessages } from '../i18n/index.js';
import { DriverError } from './contract.js';
import type { FieldHelp, FieldSpec, MapContext } from './contract.js';
import { booleanSetting } from './settings.js';

/**
 * Reading an ERP's own SQL Server database (Logo, Netsis, Mikro), on the
 * driver floor.
 *
 * The boundary is a {@link SqlExecutor}: one method that runs one statement
 * and hands back its rows. In production it is mssql (src/driver/sqlserver.ts,
 * loaded only when a connection opens one); in tests a fake that checks each
 * statement and answers with recorded result sets. Everything above that
 * boundary lives here and is tested: the refusal to run anything but a read,
 * the statement timeout, retries of transient failures, and turning SQL
 * Server's errors into messages that name the server, the table, the column
 * or the grant at fault.
 */

const m = defineMessages({
  en: {
    notRead: 'refused to send a statement that is not a single read ({reason}); this is a bug in a driver',
    notReadFirst: 'it does not start with SELECT or WITH',
    notReadMany: 'it holds more than one statement',
    notReadWord: 'it contains {word}',
    notReadUnclosed: 'a quote, bracket or comment in it is not closed',
    loginRejected: '{service}: SQL Server {server} did not accept the login "{user}" (wrong user name or password)',
    loginRejectedHint: 'Check the SQL login and its password (SQL Server Management Studio, Security → Logins), then run `erp-sync connect {connection}` again.',
    unknownDatabase: '{service}: unknown company: SQL Server {server} has no database "{database}" that the login "{user}" may open',
    unknownDatabaseHint: 'Check the database setting against the database list in SQL Server Management Studio, and that the login is a user of that database (docs/onprem.md).',
    unreachable: '{service}: SQL Server {server} could not be reached ({reason})',
    unreachableHint: 'Check that SQL Server is running, that TCP/IP is enabled for it and that the Windows firewall lets port {port} through (docs/onprem.md).',
    dns: '{service}: the server name "{host}" could not be resolved',
    dnsHint: 'Check the server setting: the name or IP address of the Windows server SQL Server runs on.',
    instance: '{service}: SQL Server Browser on {host} did not name a port for the instance "{instance}" ({reason})',
    instanceHint: 'Check the instance setting, or leave it empty and set port to the instance\'s TCP port (SQL Server Configuration Manager → TCP/IP → IPAll). The SQL Server Browser service answers on UDP 1434.',
    tls: '{service}: the TLS connection to SQL Server {server} failed ({reason})',
    tlsHint: 'An on-premise SQL Server often has a self-signed certificate: `--set trustServerCertificate=true` keeps the connection encrypted without checking the certificate. A server too old for TLS 1.2 needs `--set encrypt=false`.',
    unencrypted: '{service}: SQL Server {server} answered that it does not encrypt, and the {connection} connection requires encryption (encrypt=true): erp-sync closed the connection before sending the login and its password',
    unencryptedHint: 'SQL Server offers encryption even without a certificate installed, so check that {server} is really the ERP\'s SQL Server: the connection\'s server, instance and port settings, and that this name or address leads to that machine on this network, not to another computer answering in its place. Only if this server truly cannot encrypt, give the {connection} connection `--set encrypt=false` knowingly: the password and every row then cross the network unencrypted.',
    timeout: '{service}: SQL Server {server} did not answer in time (a statement may take at most {seconds} s, the timeoutMs setting)',
    dropped: '{service}: the connection to SQL Server {server} was dropped before the answer was complete ({reason})',
    transient: '{service}: SQL Server {server} cancelled a statement: {message} (error {number})',
    noObject: '{service}: the table or view {object} does not exist in the database "{database}", or the login "{user}" cannot see it',
    noObjectHint: 'Check the connection\'s settings; docs/onprem.md lists every table erp-sync reads.',
    noColumn: '{service}: this database has no column {column} where erp-sync reads it ({message})',
    noColumnHint: 'This version of the ERP may name it differently. Send this message to erp-sync support.',
    denied: '{service}: the login "{user}" may not read {object}: {message}',
    deniedSelectHint: 'Grant it as the ERP\'s administrator: GRANT SELECT ON {object} TO [{user}]; docs/onprem.md lists every grant erp-sync needs.',
    deniedExecuteHint: 'Grant it as the ERP\'s administrator: GRANT EXECUTE ON {object} TO [{user}]; docs/onprem.md lists every grant erp-sync needs.',
    refused: '{service}: SQL Server {server} refused a statement: {message} (error {number})',
    refusedHint: 'erp-sync\'s query does not fit this installation. Run `erp-sync preview` to see what is read, and send this message to erp-sync support.',
    noPassword: 'the {connection} connection has no password for the SQL login "{user}"',
    noSetting: 'the {connection} connection has no {setting} setting ({label})',
    connectAgain: 'Run `erp-sync connect {connection}` again.',
    badPort: 'the port setting "{value}" is not a TCP port',
  },
  tr: {
    notRead: 'tek bir okuma olmayan bir sorgu gönderilmedi ({reason}); bu bir sürücü hatasıdır',
    notReadFirst: 'SELECT ya da WITH ile başlamıyor',
    notReadMany: 'birden fazla sorgu içeriyor',
    notReadWord: '{word} içeriyor',
    notReadUnclosed: 'içindeki bir tırnak, köşeli parantez ya da açıklama kapanmamış',
    loginRejected: '{service}: SQL Server {server}, "{user}" girişini kabul etmedi (kullanıcı adı ya da şifre yanlış)',
    loginRejectedHint: 'SQL girişini ve şifresini kontrol edin (SQL Server Management Studio, Security → Logins), ardından `erp-sync connect {connection}` komutunu yeniden çalıştırın.',
    unknownDatabase: '{service}: bilinmeyen şirket: SQL Server {server} üzerinde "{user}" girişinin açabileceği "{database}" adında bir veritabanı yok',
    unknownDatabaseHint: 'database ayarını SQL Server Management Studio’daki veritabanı listesiyle karşılaştırın ve girişin o veritabanında kullanıcı olduğunu kontrol edin (docs/onprem.md).',
    unreachable: '{service}: SQL Server {server} sunucusuna ulaşılamadı ({reason})',
    unreachableHint: 'SQL Server’ın çalıştığını, TCP/IP’nin açık olduğunu ve Windows güvenlik duvarının {port} numaralı porta izin verdiğini kontrol edin (docs/onprem.md).',
    dns: '{service}: "{host}" sunucu adı çözümlenemedi',
    dnsHint: 'server ayarını kontrol edin: SQL Server’ın çalıştığı Windows sunucusunun adı ya da IP adresi.',
    instance: '{service}: {host} üzerindeki SQL Server Browser "{instance}" örneği için bir port bildirmedi ({reason})',
    instanceHint: 'instance ayarını kontrol edin ya da boş bırakıp port ayarına örneğin TCP portunu yazın (SQL Server Configuration Manager → TCP/IP → IPAll). SQL Server Browser servisi UDP 1434’te yanıt verir.',
    tls: '{service}: SQL Server {server} ile TLS bağlantısı kurulamadı ({reason})',
    tlsHint: 'Şirket içindeki SQL Server’ların sertifikası çoğu zaman kendinden imzalıdır: `--set trustServerCertificate=true` bağlantıyı şifreli tutar ama sertifikayı denetlemez. TLS 1.2 desteklemeyen eski bir sunucu `--set encrypt=false` ister.',
    unencrypted: '{service}: SQL Server {server} şifreleme yapmadığını bildirdi, {connection} bağlantısı ise şifreleme istiyor (encrypt=true): erp-sync, giriş bilgilerini ve şifreyi göndermeden bağlantıyı kapattı',
    unencryptedHint: 'SQL Server, kurulu bir sertifikası olmasa bile şifreleme sunar; bu yüzden {server} adresinin gerçekten ERP’nin SQL Server’ı olduğunu kontrol edin: bağlantının server, instance ve port ayarlarını ve bu ağda o ad ya da adresin, yerine yanıt veren başka bir bilgisayara değil, o makineye gittiğini. Yalnızca bu sunucu gerçekten şifreleme yapamıyorsa {connection} bağlantısına `--set encrypt=false` ayarını bilerek verin: şifre ve bütün satırlar ağda şifresiz gider.',
    timeout: '{service}: SQL Server {server} zamanında yanıt vermedi (bir sorgu en fazla {seconds} sn sürebilir, timeoutMs ayarı)',
    dropped: '{service}: SQL Server {server} ile bağlantı, yanıt tamamlanmadan koptu ({reason})',
    transient: '{service}: SQL Server {server} bir sorguyu iptal etti: {message} (hata {number})',
    noObject: '{service}: {object} tablosu ya da görünümü "{database}" veritabanında yok ya da "{user}" girişi onu göremiyor',
    noObjectHint: 'Bağlantının ayarlarını kontrol edin; erp-sync’in okuduğu tabloların hepsi docs/onprem.md’de.',
    noColumn: '{service}: bu veritabanında erp-sync’in okuduğu {column} sütunu yok ({message})',
    noColumnHint: 'ERP’nin bu sürümü onu başka bir adla tutuyor olabilir. Bu mesajı erp-sync desteğine gönderin.',
    denied: '{service}: "{user}" girişinin {object} nesnesini okuma izni yok: {message}',
    deniedSelectHint: 'ERP yöneticisi olarak izin verin: GRANT SELECT ON {object} TO [{user}]; erp-sync’in istediği bütün izinler docs/onprem.md’de.',
    deniedExecuteHint: 'ERP yöneticisi olarak izin verin: GRANT EXECUTE ON {object} TO [{user}]; erp-sync’in istediği bütün izinler docs/onprem.md’de.',
    refused: '{service}: SQL Server {server} bir sorguyu reddetti: {message} (hata {number})',
    refusedHint: 'erp-sync’in sorgusu bu kuruluma uymuyor. Okunanları görmek için `erp-sync preview` çalıştırın ve bu mesajı erp-sync desteğine gönderin.',
    noPassword: '{connection} bağlantısında "{user}" SQL girişi için şifre yok',
    noSetting: '{connection} bağlantısında {setting} ayarı ({label}) yok',
    connectAgain: '`erp-sync connect {connection}` komutunu yeniden çalıştırın.',
    badPort: 'port ayarındaki "{value}" bir TCP portu değil',
  },
});

/** What a cell holds once it has crossed the boundary: JSON values only (dates as ISO text, GUIDs as text). */
export type SqlScalar = string | number | boolean | null;
export type SqlRow = Readonly<Record<string, SqlScalar>>;

export interface SqlResult {
  /** The result set's column names, in order, even when it has no rows. */
  readonly columns: readonly string[];
  readonly rows: readonly SqlRow[];
}

/**
 * A parameter's SQL type. A key is compared in its column's own type, so that
 * the server can seek its index and sorts and compares it the same way:
 * `varchar` for Netsis' STOK_KODU, `nvarchar` for Mikro's codes.
 */
export type SqlParameterType = 'int' | 'varchar' | 'nvarchar' | 'uniqueidentifier';

export interface SqlParameter {
  readonly type: SqlParameterType;
  readonly value: string | number | null;
}

/** Named parameters: `{ after: { type: 'int', value: 120 } }` is `@after` in the statement. */
export type SqlParameters = Readonly<Record<string, SqlParameter>>;

/**
 * The one thing that talks to SQL Server. Kept this thin on purpose: it sends
 * the statement with its parameters bound and returns the rows, and reports
 * failures as {@link SqlError}s; everything else is decided above it.
 */
export interface SqlExecutor {
  /** Runs one statement (already checked to be a read) and resolves with all its rows; statements bound their rows themselves (TOP). */
  query(statement: string, parameters: SqlParameters, signal: AbortSignal): Promise<SqlResult>;
  close(): Promise<void>;
}

/** Where and as whom to log in. */
export interface SqlServerConfig {
  /** Host name or IP address. */
  readonly server: string;
  /** TCP port; undefined with a named instance (SQL Server Browser finds its port), else 1433. */
  readonly port: number | undefined;
  /** A named instance (`SQLEXPRESS`), or undefined for the default one. */
  readonly instance: string | undefined;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly encrypt: boolean;
  readonly trustServerCertificate: boolean;
  /** The longest a login, and each statement, may take before it is cancelled. */
  readonly timeoutMs: number;
}

/** Opens an executor for a server; the connection itself is made on the first statement. */
export type SqlConnector = (config: SqlServerConfig) => SqlExecutor;

/**
 * How an executor reports a failure, whatever library it sits on.
 *
 * - `login`: the server refused the login (`number` 18456) or the database (4060)
 * - `unreachable`: refused, reset or timed out while connecting
 * - `dns`: the host name does not resolve
 * - `instance`: SQL Server Browser gave no port for the named instance
 * - `tls`: the TLS handshake failed (a certificate not trusted, no common protocol)
 * - `unencrypted`: encryption was required, and the server answered that it would not encrypt; nothing more was sent
 * - `timeout`: a statement ran past the timeout and was cancelled
 * - `dropped`: the connection broke while a statement was running
 * - `server`: the server raised an error for the statement: see `number`
 */
export type SqlErrorKind = 'login' | 'unreachable' | 'dns' | 'instance' | 'tls' | 'unencrypted' | 'timeout' | 'dropped' | 'server';

export class SqlError extends Error {
  readonly kind: SqlErrorKind;
  /** SQL Server's error number, where the server raised one. */
  readonly number: number | undefined;
  constructor(kind: SqlErrorKind, message: string, options: { number?: number | undefined; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'SqlError';
    this.kind = kind;
    this.number = options.number;
  }
}

/** Thrown by the read-only guard: a driver tried to send something other than one read. A bug, never a setting. */
export class SqlNotAReadError extends Error {
  constructor(reason: string) {
    super(m('notRead', { reason }));
    this.name = 'SqlNotAReadError';
  }
}

/** Words that have no place in a read: statements that write, run code, change the session or reach other servers. */
const forbiddenWords = [
  'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'TRUNCATE', 'DROP', 'ALTER', 'CREATE', 'EXEC', 'EXECUTE', 'GRANT', 'REVOKE', 'DENY',
  'BACKUP', 'RESTORE', 'DBCC', 'KILL', 'SHUTDOWN', 'RECONFIGURE', 'OPENROWSET', 'OPENDATASOURCE', 'OPENQUERY', 'OPENXML', 'BULK',
  'INTO', 'WAITFOR', 'USE', 'SET', 'DECLARE', 'BEGIN', 'COMMIT', 'ROLLBACK', 'SAVE', 'GOTO', 'NEXT', 'TRAN', 'TRANSACTION', 'CURSOR',
];
const forbidden = new RegExp(`\\b(${forbiddenWords.join('|')})\\b|\\b(sp|xp)_\\w+`, 'i');

/**
 * Refuses anything but one read: a single statement that starts with SELECT
 * or WITH and has none of {@link forbiddenWords} outside string literals,
 * quoted identifiers and comments. Every statement a driver sends goes
 * through it, and the executor checks again before anything reaches the
 * server. Scalar functions may be called: SQL Server does not let a function
 * change data.
 */
export function assertReadOnly(statement: string): void {
  const code = withoutLiterals(statement).trim().replace(/;\s*$/, '');
  if (!/^(SELECT|WITH)\b/i.test(code)) throw new SqlNotAReadError(m('notReadFirst'));
  if (code.includes(';')) throw new SqlNotAReadError(m('notReadMany'));
  const word = forbidden.exec(code);
  if (word) throw new SqlNotAReadError(m('notReadWord', { word: word[0].toUpperCase() }));
}

/**
 * The statement with every string literal, quoted identifier and comment
 * blanked out, read left to right as SQL Server reads it (a `--` inside a
 * literal is text, a quote inside a comment is not a quote, comments nest).
 * Refuses one that is not closed.
 */
function withoutLiterals(statement: string): string {
  let out = '';
  let i = 0;
  const closing = (open: number, close: string): number => {
    for (let j = open + 1; j < statement.length; j++) {
      if (statement.startsWith(close, j)) {
        if (statement.startsWith(close, j + close.length)) {
          j += close.length;
          continue;
        }
        return j;
      }
    }
    throw new SqlNotAReadError(m('notReadUnclosed'));
  };
  // SQL Server nests block comments: `/* /* */ still a comment */`.
  const commentEnd = (open: number): number => {
    let depth = 0;
    for (let j = open; j < statement.length; j++) {
      if (statement.startsWith('/*', j)) {
        depth++;
        j++;
      } else if (statement.startsWith('*/', j)) {
        depth--;
        j++;
        if (depth === 0) return j + 1;
      }
    }
    throw new SqlNotAReadError(m('notReadUnclosed'));
  };
  while (i < statement.length) {
    const ch = statement[i]!;
    if (ch === "'") {
      i = closing(i, "'") + 1;
      out += "''";
    } else if (ch === '[') {
      i = closing(i, ']') + 1;
      out += '[x]';
    } else if (ch === '"') {
      i = closing(i, '"') + 1;
      out += '"x"';
    } else if (statement.startsWith('--', i)) {
      const end = statement.indexOf('\n', i);
      i = end === -1 ? statement.length : end;
      out += ' ';
    } else if (statement.startsWith('/*', i)) {
      i = commentEnd(i);
      out += ' ';
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

export interface SqlSessionOptions {
  executor: SqlExecutor;
  config: SqlServerConfig;
  /** `Logo (shop)`: names the source in every message. */
  service: string;
  /** The connection's name, for hints that give a command. */
  connection: string;
  /** Retries after the first attempt, for transient failures only. */
  retries: number;
  minDelayMs: number;
  maxDelayMs?: number;
  signal: AbortSignal;
  /** A sentence to add when a table or view is missing, where the driver knows why it might be (a wrong firm number). */
  missingObjectHint?: ((object: string) => string | undefined) | undefined;
}

/**
 * A read-only session on one SQL Server database: every statement is checked
 * to be a read, runs under the statement timeout, is retried with backoff
 * when SQL Server or the network failed in a way that passes (a deadlock, a
 * dropped connection, a timeout), and fails otherwise with a DriverError a
 * merchant's IT person can act on.
 */
export class SqlSession {
  readonly #options: SqlSessionOptions;
  readonly #server: string;

  constructor(options: SqlSessionOptions) {
    this.#options = options;
    this.#server = describeServer(options.config);
  }

  /** `192.168.1.10:1433`, `LOGOSRV\SQLEXPRESS`: how the messages name the server. */
  get server(): string {
    return this.#server;
  }

  async query(statement: string, parameters: SqlParameters = {}): Promise<SqlResult> {
    assertReadOnly(statement);
    const { retries, minDelayMs, signal } = this.#options;
    const maxDelayMs = this.#options.maxDelayMs ?? 30_000;
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      try {
        return await this.#options.executor.query(statement, parameters, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        const failure = this.#describe(error);
        if (!failure.transient || attempt >= retries) throw failure.error;
        const delay = Math.min(maxDelayMs, minDelayMs * 2 ** attempt) * (1 + Math.random());
        await sleep(delay, undefined, { signal });
      }
    }
  }

  close(): Promise<void> {
    return this.#options.executor.close();
  }

  /** What a failure means for the run: the error to report, and whether repeating the statement may help. */
  #describe(error: unknown): { error: unknown; transient: boolean } {
    if (!(error instanceof SqlError)) return { error, transient: false };
    const { config, service, connection } = this.#options;
    const server = this.#server;
    const user = config.user;
    const port = String(config.port ?? 1433);
    const fail = (code: DriverError['code'], message: string, hint?: string) => ({ error: new DriverError(code, message, { hint, cause: error }), transient: false });
    const passing = (message: string, hint?: string) => ({ error: new DriverError('UNAVAILABLE', message, { hint, cause: error }), transient: true });
    switch (error.kind) {
      case 'login':
        if (error.number === 4060 || /cannot open database/i.test(error.message)) {
          return fail('CONFIGURATION', m('unknownDatabase', { service, server, database: config.database, user }), m('unknownDatabaseHint'));
        }
        return fail('CREDENTIALS_REJECTED', m('loginRejected', { service, server, user }), m('loginRejectedHint', { connection }));
      case 'unreachable':
        return passing(m('unreachable', { service, server, reason: error.message }), m('unreachableHint', { port }));
      case 'dns':
        return fail('CONFIGURATION', m('dns', { service, host: config.server }), m('dnsHint'));
      case 'instance':
        return fail('CONFIGURATION', m('instance', { service, host: config.server, instance: config.instance ?? '', reason: error.message }), m('instanceHint'));
      case 'tls':
        return fail('CONFIGURATION', m('tls', { service, server, reason: error.message }), m('tlsHint'));
      case 'unencrypted':
        return fail('CONFIGURATION', m('unencrypted', { service, server, connection }), m('unencryptedHint', { server, connection }));
      case 'timeout':
        return passing(m('timeout', { service, server, seconds: Math.round(config.timeoutMs / 100) / 10 }));
      case 'dropped':
        return passing(m('dropped', { service, server, reason: error.message }));
      case 'server':
        return this.#serverError(error, fail, passing);
    }
  }

  #serverError(
    error: SqlError,
    fail: (code: DriverError['code'], message: string, hint?: string) => { error: unknown; transient: boolean },
    passing: (message: string, hint?: string) => { error: unknown; transient: boolean },
  ): { error: unknown; transient: boolean } {
    const { config, service } = this.#options;
    const server = this.#server;
    const number = error.number ?? 0;
    const message = error.message.replace(/\s+$/, '');
    if (transientServerErrors.has(number)) return passing(m('transient', { service, server, message, number: String(number) }));
    if (number === 208) {
      const object = /'([^']+)'/.exec(message)?.[1] ?? message;
      const hint = this.#options.missingObjectHint?.(object);
      return fail('CONFIGURATION', m('noObject', { service, object, database: config.database, user: config.user }), hint ? `${hint} ${m('noObjectHint')}` : m('noObjectHint'));
    }
    if (number === 207) {
      const column = /'([^']+)'/.exec(message)?.[1] ?? '?';
      return fail('CONFIGURATION', m('noColumn', { service, column, message }), m('noColumnHint'));
    }
    if (number === 229 || number === 230 || number === 262 || number === 300) {
      const object = /object '([^']+)'/i.exec(message)?.[1] ?? /'([^']+)'/.exec(message)?.[1] ?? '?';
      const schema = /schema '([^']+)'/i.exec(message)?.[1];
      const qualified = schema ? `${schema}.${object}` : object;
      const execute = /EXECUTE/i.test(message);
      return fail('CONFIGURATION', m('denied', { service, user: config.user, object: qualified, message }), m(execute ? 'deniedExecuteHint' : 'deniedSelectHint', { object: qualified, user: config.user }));
    }
    if (number === 18456 || number === 18452) {
      return fail('CREDENTIALS_REJECTED', m('loginRejected', { service, server, user: config.user }), m('loginRejectedHint', { connection: this.#options.connection }));
    }
    if (number === 4060) return fail('CONFIGURATION', m('unknownDatabase', { service, server, database: config.database, user: config.user }), m('unknownDatabaseHint'));
    return fail('CONFIGURATION', m('refused', { service, server, message, number: String(number) }), m('refusedHint'));
  }
}

/**
 * SQL Server errors that pass: a deadlock victim (1205), a lock wait that
 * timed out (1222), a server shutting down or a connection it closed (233,
 * 6005, 10053, 10054, 10060), and the failover and throttling errors of
 * Azure SQL and Always On (40197, 40501, 40613, 49918, 49919, 49920, 4221).
 */
const transientServerErrors = new Set([1205, 1222, 233, 6005, 10053, 10054, 10060, 40197, 40501, 40613, 49918, 49919, 49920, 4221]);

export function describeServer(config: Pick<SqlServerConfig, 'server' | 'port' | 'instance'>): string {
  if (config.port !== undefined) return `${config.server}:${config.port}`;
  if (config.instance) return `${config.server}\\${config.instance}`;
  return `${config.server}:1433`;
}

/** Where a field is asked for: in every connection, or only when another setting has a value (`accessMode=sql`). */
type Condition = FieldSpec['onlyWhen'];

/**
 * The fields of a SQL Server login, for a driver's `fields`: server, instance,
 * port, database, user, password, encrypt, trustServerCertificate. Where the
 * driver has another access mode, `onlyWhen` leaves them out of the prompts
 * of that mode and `required` is false (the driver itself names what is
 * missing in its SQL mode).
 */
export function sqlServerFields(options: { required: boolean; onlyWhen?: Condition; database: FieldHelp }): FieldSpec[] {
  const { required } = options;
  const when = options.onlyWhen ? { onlyWhen: options.onlyWhen } : {};
  return [
    {
      name: 'server', label: 'SQL Server host', labelTr: 'SQL Server sunucusu', secret: false, required, kind: 'text', ...when,
      help: { en: 'The name or IP address of the Windows server SQL Server runs on, without the instance: 192.168.1.10, LOGOSRV.', tr: 'SQL Server’ın çalıştığı Windows sunucusunun adı ya da IP adresi, örnek adı olmadan: 192.168.1.10, LOGOSRV.' },
    },
    {
      name: 'instance', label: 'Named instance', labelTr: 'Adlandırılmış örnek (instance)', secret: false, required: false, kind: 'text', ...when,
      help: { en: 'The instance after the backslash (SQLEXPRESS in LOGOSRV\\SQLEXPRESS); empty for the default instance or when port is set.', tr: 'Ters bölüden sonraki örnek adı (LOGOSRV\\SQLEXPRESS içinde SQLEXPRESS); varsayılan örnek ya da port verildiyse boş.' },
    },
    {
      name: 'port', label: 'TCP port', labelTr: 'TCP portu', secret: false, required: false, kind: 'integer', ...when,
      help: { en: 'SQL Server\'s TCP port; empty means 1433, or the port SQL Server Browser gives for the named instance.', tr: 'SQL Server’ın TCP portu; boşsa 1433 ya da adlandırılmış örnek için SQL Server Browser’ın bildirdiği port.' },
    },
    { name: 'database', label: 'Database', labelTr: 'Veritabanı', secret: false, required, kind: 'text', ...when, help: options.database },
    {
      name: 'user', label: 'SQL login (read-only)', labelTr: 'SQL girişi (salt okunur)', secret: false, required, kind: 'text', ...when,
      help: { en: 'A SQL Server login that may only read what erp-sync reads (docs/onprem.md shows how to make one); never sa.', tr: 'Yalnızca erp-sync’in okuduklarını okuyabilen bir SQL Server girişi (nasıl açılacağı docs/onprem.md’de); asla sa değil.' },
    },
    { name: 'password', label: 'SQL login password', labelTr: 'SQL girişi şifresi', secret: true, required, kind: 'text', ...when },
    {
      name: 'encrypt', label: 'Encrypt the connection', labelTr: 'Bağlantıyı şifrele', secret: false, required: false, kind: 'choice', choices: ['true', 'false'], default: 'true', ...when,
      help: { en: 'TLS to SQL Server; false only for a server too old for TLS 1.2.', tr: 'SQL Server ile TLS; yalnızca TLS 1.2 desteklemeyen eski bir sunucu için false.' },
    },
    {
      name: 'trustServerCertificate', label: 'Trust the server\'s certificate', labelTr: 'Sunucu sertifikasına güven', secret: false, required: false, kind: 'choice', choices: ['true', 'false'], default: 'false', ...when,
      help: { en: 'true for the self-signed certificate most on-premise SQL Servers have: still encrypted, but the certificate is not checked.', tr: 'Şirket içindeki çoğu SQL Server’daki kendinden imzalı sertifika için true: bağlantı yine şifreli, ama sertifika denetlenmez.' },
    },
  ];
}

/**
 * The SQL Server login of a connection, from the fields of
 * {@link sqlServerFields}: refuses, naming it, a setting that is missing or
 * not a port. The statement timeout is the connection's (`openSql` adds it).
 */
export function sqlServerConfig(
  ctx: MapContext & { connection: string; secrets: Readonly<Record<string, string>> },
  fields: readonly FieldSpec[],
): Omit<SqlServerConfig, 'timeoutMs'> {
  const { settings, connection } = ctx;
  const required = (name: 'server' | 'database' | 'user'): string => {
    const value = settings[name]?.trim();
    if (value) return value;
    const field = fields.find((f) => f.name === name);
    throw new DriverError('CONFIGURATION', m('noSetting', { connection, setting: name, label: field?.label ?? name }), { hint: m('connectAgain', { connection }) });
  };
  const server = required('server');
  const database = required('database');
  const user = required('user');
  const password = ctx.secrets.password;
  if (!password) throw new DriverError('CONFIGURATION', m('noPassword', { connection, user }), { hint: m('connectAgain', { connection }) });
  const rawPort = settings.port?.trim();
  let port: number | undefined;
  if (rawPort) {
    port = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || port < 1 || port > 65535) throw new DriverError('CONFIGURATION', m('badPort', { value: rawPort }), { hint: m('connectAgain', { connection }) });
  }
  const instance = settings.instance?.trim() || undefined;
  return {
    server,
    // A port given wins: SQL Server Browser is asked only for an instance without one.
    port: port ?? (instance ? undefined : 1433),
    instance: port === undefined ? instance : undefined,
    database,
    user,
    password,
    encrypt: booleanSetting(settings, 'encrypt', true),
    trustServerCertificate: booleanSetting(settings, 'trustServerCertificate', false),
  };
}

/**
 * A statement with its parameters written in as literals, for a service that
 * runs SQL text but binds no parameters (Logo's REST `/queries`). Only the
 * types {@link SqlParameterType} allows are written, each the one way SQL
 * Server reads it: whole numbers as digits, text as an N'...' literal with
 * its quotes doubled, GUIDs checked to be GUIDs.
 */
export function inlineParameters(statement: string, parameters: SqlParameters): string {
  return statement.replace(/@(\w+)/g, (whole, name: string) => {
    const parameter = parameters[name];
    if (!parameter) return whole;
    const { type, value } = parameter;
    if (value === null) return 'NULL';
    switch (type) {
      case 'int':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`@${name} is not a whole number`);
        return String(value);
      case 'uniqueidentifier':
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(String(value))) throw new TypeError(`@${name} is not a GUID`);
        return `'${String(value)}'`;
      case 'varchar':
        return `'${String(value).replace(/'/g, "''")}'`;
      case 'nvarchar':
        return `N'${String(value).replace(/'/g, "''")}'`;
    }
  });
}

const h = defineMessages({
  en: {
    missingColumns: 'the ERP answered the {what} query without the columns {columns}',
    notWhole: 'the {name} setting "{value}" is not a whole number',
    tooLarge: 'the {name} setting {value} is larger than {max}',
    notChoice: 'the {name} setting "{value}" is not one of: {choices}',
    warehouseHelp: 'all, or a warehouse number',
  },
  tr: {
    missingColumns: 'ERP {what} sorgusuna {columns} sütunları olmadan yanıt verdi',
    notWhole: '{name} ayarındaki "{value}" değeri bir tam sayı değil',
    tooLarge: '{name} ayarındaki {value} değeri {max} değerinden büyük',
    notChoice: '{name} ayarındaki "{value}" değeri şunlardan biri değil: {choices}',
    warehouseHelp: 'all ya da bir depo numarası',
  },
});

/**
 * Refuses an answer that lacks a column the driver reads: a view that
 * changed, a service that answered something else. The statement named the
 * columns, so an answer without them is not one the driver can read.
 */
export function requireColumns(result: SqlResult, columns: readonly string[], what: string): void {
  const have = new Set(result.columns.map((c) => c.toUpperCase()));
  const missing = columns.filter((c) => !have.has(c.toUpperCase()));
  if (missing.length > 0) throw new DriverError('MALFORMED_RESPONSE', h('missingColumns', { what, columns: missing.join(', ') }));
}

/** A whole-number setting, checked: `fallback` when unset; refuses, naming it, anything else. */
export function wholeNumberSetting(settings: MapContext['settings'], name: string, fallback: number | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = settings[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new DriverError('CONFIGURATION', h('notWhole', { name, value: raw }));
  const value = Number(raw);
  if (value > max) throw new DriverError('CONFIGURATION', h('tooLarge', { name, value: raw, max: String(max) }));
  return value;
}

/** One of a setting's choices; `fallback` when unset. */
export function choiceSetting<C extends string>(settings: MapContext['settings'], name: string, choices: readonly C[], fallback: C): C {
  const raw = settings[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const found = choices.find((c) => c.toLowerCase() === raw.toLowerCase());
  if (!found) throw new DriverError('CONFIGURATION', h('notChoice', { name, value: raw, choices: choices.join(', ') }));
  return found;
}

/** The warehouse setting: `all` (the default) or a warehouse number. */
export function warehouseSetting(settings: MapContext['settings']): number | 'all' {
  const raw = settings.warehouse?.trim();
  if (raw === undefined || raw === '' || raw.toLowerCase() === 'all' || raw.toLocaleLowerCase('tr') === 'tümü') return 'all';
  if (!/^-?\d+$/.test(raw)) throw new DriverError('CONFIGURATION', h('notWhole', { name: 'warehouse', value: raw }) + ` (${h('warehouseHelp')})`);
  return Number(raw);
}

/**
 * A date as the ERP's clock shows it, `2026-11-22T14:05:00`, whether it came
 * from mssql (an ISO instant of the server's wall clock) or as text from a
 * REST service: comparable as text, never shifted by a time zone.
 */
export function wallClock(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?/.exec(value.trim());
  if (!match) return undefined;
  const time = match[2] ?? '00:00:00';
  return `${match[1]}T${time.length === 5 ? `${time}:00` : time}`;
}
