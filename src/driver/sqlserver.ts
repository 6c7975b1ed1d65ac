import type * as Mssql from 'mssql';
import { causeChain } from '../errors/index.js';
import { SqlError, assertReadOnly } from './sql.js';
import type { SqlConnector, SqlExecutor, SqlParameterType, SqlParameters, SqlResult, SqlScalar, SqlServerConfig } from './sql.js';

/**
 * The SQL Server executor on mssql (tedious underneath: pure JavaScript, no
 * native build). Deliberately thin: it opens a small pool with a read-only
 * application intent, binds parameters with their SQL types, runs the
 * statement under the statement timeout, hands the rows back as plain JSON
 * values, and says what a failure was (a {@link SqlError}). Retries, the
 * meaning of an error, and everything about the ERP live above it, in
 * src/driver/sql.ts and the drivers, where they are tested against a fake.
 *
 * mssql is loaded on the first statement, never when a command that does not
 * read SQL Server starts.
 *
 * With `encrypt`, a server that answers it will not encrypt is refused before
 * the login is sent ({@link refuseUnencryptedLogin}).
 */
export const mssqlConnector: SqlConnector = (config) => new MssqlExecutor(config);

class MssqlExecutor implements SqlExecutor {
  readonly #config: SqlServerConfig;
  #pool: Promise<Mssql.ConnectionPool> | undefined;
  #closed = false;

  constructor(config: SqlServerConfig) {
    this.#config = config;
  }

  async query(statement: string, parameters: SqlParameters, signal: AbortSignal): Promise<SqlResult> {
    // Checked again here, where nothing can go around it.
    assertReadOnly(statement);
    const sql = await loadMssql();
    const pool = await this.#connect(sql);
    const request = pool.request();
    for (const [name, parameter] of Object.entries(parameters)) request.input(name, sqlType(sql, parameter.type), parameter.value);
    const cancel = () => request.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const result = await request.query(statement);
      return plainResult(result.recordset);
    } catch (error) {
      throw describe(error);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.then((p) => p.close()).catch(() => undefined);
  }

  /** One pool per session, made on the first statement; a failed connect is forgotten, so a retry connects again. */
  #connect(sql: typeof Mssql): Promise<Mssql.ConnectionPool> {
    if (this.#pool) return this.#pool;
    const { server, port, instance, database, user, password, encrypt, trustServerCertificate, timeoutMs } = this.#config;
    const pool = new sql.ConnectionPool({
      server,
      ...(port !== undefined ? { port } : {}),
      database,
      user,
      password,
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      // One statement at a time, and the next page's while the last one is staged.
      pool: { min: 0, max: 2, idleTimeoutMillis: 30_000 },
      // A connection lent from the pool is checked by its socket, not by a SELECT 1 sent to the ERP's server before every statement.
      validateConnection: 'socket',
      ...(encrypt ? { beforeConnect: refuseUnencryptedLogin } : {}),
      options: {
        encrypt,
        trustServerCertificate,
        ...(instance ? { instanceName: instance } : {}),
        // ApplicationIntent=ReadOnly: an Always On listener routes to a readable secondary; a lone server ignores it.
        readOnlyIntent: true,
        appName: 'erp-sync',
        useUTC: true,
      },
    });
    // A pool error outside a request (the server closed an idle connection) is not a failure of the run.
    pool.on('error', () => undefined);
    const connecting = pool.connect().catch((error: unknown) => {
      if (this.#pool === connecting) this.#pool = undefined;
      throw describe(error);
    });
    this.#pool = connecting;
    return connecting;
  }
}

/**
 * With `encrypt`, tedious 19 asks for TLS in its PRELOGIN, but starts TLS
 * only when the server answers ON or REQ: to NOT_SUP or OFF it goes on
 * without TLS and sends the LOGIN7, the password in it, in the clear. A SQL
 * Server asked for encryption offers it (one without a certificate of its own
 * makes a self-signed one), and MS-TDS has a client that asked for it end the
 * connection when the server cannot encrypt, as Microsoft's SqlClient does;
 * so such an answer comes from a server set up without TLS or from a machine
 * posing as the ERP's server. `encrypt: 'strict'` (TDS 8.0, TLS before any
 * TDS) would refuse it too, but only SQL Server 2022 speaks it.
 *
 * mssql hands over each tedious Connection as it starts to connect, before
 * any answer from the server can have been read; this puts a check in front
 * of the step that runs between the PRELOGIN answer and the LOGIN7, for
 * every connection the pool opens, re-routed and retried ones included.
 * Tedious is pinned (package.json), its types declare the method, and
 * test/driver/sqlserver.test.ts fails if the check stops running.
 */
function refuseUnencryptedLogin(connection: Mssql.Connection): void {
  const negotiate = connection.performTlsNegotiation;
  connection.performTlsNegotiation = function (prelogin, signal) {
    if (prelogin.encryptionString !== 'ON' && prelogin.encryptionString !== 'REQ') return Promise.reject(new UnencryptedServerError(prelogin.encryptionString));
    return negotiate.call(this, prelogin, signal);
  };
}

const UNENCRYPTED = 'EUNENCRYPTED';

/** The server's PRELOGIN answered a request for TLS without offering it; the connection ends there. */
class UnencryptedServerError extends Error {
  readonly code = UNENCRYPTED;
  constructor(answer: string | undefined) {
    super(`the server answered the request for encryption with ${answer || 'no ENCRYPTION option'} instead of ON; the connection was closed before the login`);
    this.name = 'UnencryptedServerError';
  }
}

let mssql: Promise<typeof Mssql> | undefined;

function loadMssql(): Promise<typeof Mssql> {
  // mssql is CommonJS: its exports are the ES module's default.
  return (mssql ??= import('mssql').then((module) => (module as unknown as { default: typeof Mssql }).default));
}

function sqlType(sql: typeof Mssql, type: SqlParameterType): Mssql.ISqlType | (() => Mssql.ISqlType) {
  switch (type) {
    case 'int':
      return sql.Int;
    case 'varchar':
      return sql.VarChar(8000);
    case 'nvarchar':
      return sql.NVarChar(4000);
    case 'uniqueidentifier':
      return sql.UniqueIdentifier;
  }
}

/** The recordset as plain JSON values: dates as ISO text, numbers as numbers, binary as hex, in the result's column order. */
function plainResult(recordset: Mssql.IRecordSet<Record<string, unknown>> | undefined): SqlResult {
  if (!recordset) return { columns: [], rows: [] };
  const columns = Object.values(recordset.columns)
    .sort((a, b) => a.index - b.index)
    .map((column) => column.name);
  const rows = recordset.map((row) => {
    const plain: Record<string, SqlScalar> = {};
    for (const column of columns) plain[column] = plainValue(row[column]);
    return plain;
  });
  return { columns, rows };
}

function plainValue(value: unknown): SqlScalar {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return String(value);
}

/** What an mssql or tedious error was, as a {@link SqlError}. */
function describe(error: unknown): unknown {
  if (error instanceof SqlError) return error;
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const number = (error as { number?: unknown }).number;
  const codes = causeCodes(error);
  const message = error.message;
  if (code === 'ELOGIN') return new SqlError('login', message, { number: /cannot open database/i.test(message) ? 4060 : 18456, cause: error });
  if (code === 'EINSTLOOKUP') return new SqlError('instance', message, { cause: error });
  if (codes.includes(UNENCRYPTED)) return new SqlError('unencrypted', message, { cause: error });
  if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_NONAME')) return new SqlError('dns', message, { cause: error });
  if (codes.some((c) => /CERT|TLS|SSL|EPROTO/.test(c)) || code === 'EENCRYPT') return new SqlError('tls', message, { cause: error });
  if (typeof number === 'number' && code === 'EREQUEST') return new SqlError('server', message, { number, cause: error });
  if (code === 'ETIMEOUT') {
    // A connect that timed out never reached the server; a statement that did was cancelled by the timeout.
    return error.name === 'ConnectionError' ? new SqlError('unreachable', message, { cause: error }) : new SqlError('timeout', message, { cause: error });
  }
  // A connection reset while a statement runs reaches mssql as the socket's own code (ECONNRESET: "socket hang up").
  if (code === 'ESOCKET' || code === 'ECONNCLOSED' || code === 'ENOTOPEN' || code === 'ECLOSE' || code === 'ECONNRESET' || code === 'EPIPE') {
    const connecting = error.name === 'ConnectionError' && !/after|closed/i.test(message);
    return new SqlError(connecting ? 'unreachable' : 'dropped', message, { cause: error });
  }
  return error;
}

/** Every `code` along an error's causes (mssql's originalError, tedious' cause, Node's socket error). */
function causeCodes(error: unknown): string[] {
  return [...causeChain(error)].map(({ code }) => code).filter((code): code is string => typeof code === 'string');
}
