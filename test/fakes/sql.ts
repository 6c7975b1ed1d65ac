import { setTimeout as sleep } from 'node:timers/promises';
import { SqlError, assertReadOnly } from '../../src/driver/sql.js';
import type { SqlConnector, SqlParameter, SqlParameters, SqlResult, SqlRow, SqlScalar, SqlServerConfig } from '../../src/driver/sql.js';
import type { FakeErp, FakeKnobs, RecordedRequest, RouteKind } from './common.js';

/**
 * A fake SQL Server for the drivers that read an ERP's database, in place of
 * mssql (the executor boundary of src/driver/sql.ts). It logs in as SQL
 * Server does (a wrong password is error 18456, a database the login may not
 * open 4060), refuses anything but a read, records every statement with its
 * parameters, and hands each one to the ERP's fake database
 * ({@link FakeSqlDatabase}), which checks the statement's text (the tables
 * and columns it names for the settings given, the keyset it pages by) and
 * answers with result sets shaped like that ERP's tables. Faults are
 * injected into statements of kind `catalog`, counted from 1 as they arrive,
 * like the HTTP fakes' (test/fakes/common.ts).
 *
 * The same fake databases answer through HTTP (Logo's REST `/queries`) and
 * through a TDS listener the built CLI logs in to (test/fakes/tds.ts).
 */

/** A fault in a catalog statement, instead of its answer. */
export type SqlFault = { from: number; times: number } & (
  /** SQL Server raises this error for the statement (1205: chosen as a deadlock victim). */
  | { kind: 'sql'; number: number; message?: string }
  /** The connection breaks while the statement runs. */
  | { kind: 'dropped' }
  /** The statement takes this long; past the statement timeout it is cancelled, as SQL Server's client does. */
  | { kind: 'hang'; ms: number }
  /** The answer lacks a column the statement named (a view that changed). */
  | { kind: 'malformed' }
);

export interface SqlFakeKnobs extends FakeKnobs {
  sqlFaults?: readonly SqlFault[];
}

/** How a fake database answers one statement. */
export interface SqlRoute {
  kind: RouteKind;
  /** The result set; may throw a {@link SqlError} the way SQL Server would (208 for a table that is not there). */
  answer(): SqlResult;
}

/** An ERP's database as far as its driver reads it: recognises each statement, or throws for one it does not expect. */
export interface FakeSqlDatabase {
  route(statement: string, parameters: SqlParameters): SqlRoute;
}

export interface RecordedStatement {
  statement: string;
  parameters: SqlParameters;
  at: number;
  kind: RouteKind;
  /** The rows answered, or the error raised. */
  outcome: { rows: number } | { error: string };
  fault?: SqlFault['kind'];
}

export interface SqlFake extends FakeErp {
  /** Opens executors on this fake, for `createDriverContext({ sqlConnector })`. */
  readonly connector: SqlConnector;
  /** Every statement that reached the database, in order. */
  readonly statements: readonly RecordedStatement[];
  /** Every configuration an executor was opened with. */
  readonly configs: readonly SqlServerConfig[];
  /** Executors opened and not yet closed. */
  readonly openExecutors: number;
  readonly login: FakeLogin;
}

export interface FakeLogin {
  user: string;
  password: string;
  database: string;
}

export function startSqlFake(options: { knobs: SqlFakeKnobs; login: FakeLogin; database: FakeSqlDatabase; expectedBarcodes: readonly string[] }): SqlFake {
  const statements: RecordedStatement[] = [];
  const requests: RecordedRequest[] = [];
  const configs: SqlServerConfig[] = [];
  const { login, database, knobs } = options;
  let catalogCount = 0;
  let open = 0;

  const record = (entry: RecordedStatement) => {
    statements.push(entry);
    requests.push({
      method: 'SQL',
      url: entry.statement,
      headers: {},
      body: JSON.stringify(entry.parameters),
      at: entry.at,
      kind: entry.kind,
      status: 'rows' in entry.outcome ? 200 : 500,
      ...(entry.fault ? { fault: entry.fault === 'hang' ? 'hang' : entry.fault === 'malformed' ? 'malformed' : 'status' } : {}),
    });
  };

  const connector: SqlConnector = (config) => {
    configs.push(config);
    open++;
    let loggedIn = false;
    let closed = false;
    return {
      async query(statement, parameters, signal) {
        if (closed) throw new SqlError('dropped', 'the executor was closed');
        assertReadOnly(statement);
        if (!loggedIn) {
          const at = Date.now();
          if (config.user !== login.user || config.password !== login.password) {
            record({ statement: '(login)', parameters: {}, at, kind: 'auth', outcome: { error: '18456' } });
            throw new SqlError('login', `Login failed for user '${config.user}'.`, { number: 18456 });
          }
          if (config.database !== login.database) {
            record({ statement: '(login)', parameters: {}, at, kind: 'auth', outcome: { error: '4060' } });
            throw new SqlError('login', `Cannot open database "${config.database}" requested by the login. The login failed.`, { number: 4060 });
          }
          record({ statement: '(login)', parameters: {}, at, kind: 'auth', outcome: { rows: 0 } });
          loggedIn = true;
        }
        const at = Date.now();
        const route = database.route(statement, parameters);
        let fault: SqlFault | undefined;
        if (route.kind === 'catalog') {
          const n = ++catalogCount;
          fault = knobs.sqlFaults?.find((f) => n >= f.from && n < f.from + f.times);
        }
        try {
          if (fault?.kind === 'sql') throw new SqlError('server', fault.message ?? `Transaction (Process ID 61) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.`, { number: fault.number });
          if (fault?.kind === 'dropped') throw new SqlError('dropped', 'Connection lost - read ECONNRESET');
          if (fault?.kind === 'hang') {
            const wait = Math.min(fault.ms, config.timeoutMs);
            await sleep(wait, undefined, { signal });
            if (fault.ms > config.timeoutMs) {
              throw new SqlError('timeout', `Timeout: Request failed to complete in ${config.timeoutMs}ms`);
            }
          }
          const result = route.answer();
          const answered = fault?.kind === 'malformed' ? dropColumn(result) : result;
          record({ statement, parameters, at, kind: route.kind, outcome: { rows: answered.rows.length }, ...(fault ? { fault: fault.kind } : {}) });
          return structuredClone(answered);
        } catch (error) {
          if (!(signal.aborted && (error as Error).name === 'AbortError')) {
            record({ statement, parameters, at, kind: route.kind, outcome: { error: (error as Error).message }, ...(fault ? { fault: fault.kind } : {}) });
          }
          throw error;
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        open--;
      },
    };
  };

  return {
    baseUrl: '',
    requests,
    expectedBarcodes: options.expectedBarcodes,
    close: async () => undefined,
    connector,
    statements,
    configs,
    get openExecutors() {
      return open;
    },
    login,
  };
}

/** A fake ERP database with its tables at hand, to change between runs. */
export type ErpSqlFake<T> = SqlFake & { readonly tables: T };

/**
 * An ERP's database behind the fake SQL Server: the tables of a fixture
 * (`knobs.tables`), or generated from the knobs, answered by the ERP's
 * `database`, for the login it accepts.
 */
export function startErpSqlFake<T, K extends SqlFakeKnobs & { tables?: T }>(
  knobs: K,
  login: FakeLogin,
  generate: (knobs: K) => { tables: T; expectedBarcodes: string[] },
  database: (tables: T) => FakeSqlDatabase,
): ErpSqlFake<T> {
  const { tables, expectedBarcodes } = knobs.tables ? { tables: knobs.tables, expectedBarcodes: [] } : generate(knobs);
  return Object.assign(startSqlFake({ knobs, login, database: database(tables), expectedBarcodes }), { tables });
}

/** The answer without its last column, as from a view that no longer has it. */
function dropColumn(result: SqlResult): SqlResult {
  const gone = result.columns[result.columns.length - 1];
  return {
    columns: result.columns.slice(0, -1),
    rows: result.rows.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => key !== gone))),
  };
}

/**
 * A value in a statement: `@name` bound as a parameter (mssql), or written in
 * as a literal (Logo's REST `/queries`): digits, 'text' or N'text'.
 */
export function argument(token: string, parameters: SqlParameters): SqlScalar {
  const t = token.trim();
  if (t.startsWith('@')) {
    const parameter: SqlParameter | undefined = parameters[t.slice(1)];
    if (!parameter) throw new Error(`fake SQL Server: the statement uses ${t}, which is not bound`);
    return parameter.value;
  }
  if (/^-?\d+$/.test(t)) return Number(t);
  const text = /^N?'((?:[^']|'')*)'$/.exec(t);
  if (text) return text[1]!.replace(/''/g, "'");
  if (/^NULL$/i.test(t)) return null;
  throw new Error(`fake SQL Server: cannot read the value ${t}`);
}

/** The SQL type a parameter was bound with, or undefined for a literal. */
export function parameterType(token: string, parameters: SqlParameters): SqlParameter['type'] | undefined {
  const t = token.trim();
  return t.startsWith('@') ? parameters[t.slice(1)]?.type : undefined;
}

/** A value token in a statement: a parameter or a literal. */
export const VALUE = String.raw`(@\w+|-?\d+|N?'(?:[^']|'')*')`;

/** Matches `pattern` (whitespace-insensitive: any run of spaces in it matches any run in the statement) or throws, naming what was expected. */
export function expectIn(statement: string, pattern: RegExp | string, what: string): RegExpExecArray {
  const source = typeof pattern === 'string' ? pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, String.raw`\s+`) : pattern.source;
  const match = new RegExp(source, typeof pattern === 'string' ? 'i' : pattern.flags).exec(statement);
  if (!match) throw new Error(`fake SQL Server: expected ${what} in:\n${statement}`);
  return match;
}

/** Whether the statement contains `text`, whitespace-insensitively. */
export function mentions(statement: string, text: string): boolean {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, String.raw`\s+`), 'i').test(statement);
}

/** A result set from rows and the columns to keep, in that order. */
export function resultOf(columns: readonly string[], rows: readonly Record<string, unknown>[]): SqlResult {
  return {
    columns: [...columns],
    rows: rows.map((row) => {
      const out: Record<string, SqlScalar> = {};
      for (const column of columns) out[column] = (row[column] ?? null) as SqlScalar;
      return out as SqlRow;
    }),
  };
}

/** SQL Server's error for a table or view that is not there. */
export function invalidObject(name: string): SqlError {
  return new SqlError('server', `Invalid object name '${name}'.`, { number: 208 });
}

/** SQL Server's error for a column that is not there. */
export function invalidColumn(name: string): SqlError {
  return new SqlError('server', `Invalid column name '${name}'.`, { number: 207 });
}

/** SQL Server's error for an object the login may not read. */
export function permissionDenied(object: string, database: string, permission = 'SELECT'): SqlError {
  return new SqlError('server', `The ${permission} permission was denied on the object '${object}', database '${database}', schema 'dbo'.`, { number: 229 });
}
