import { describe, expect, it } from 'vitest';
import { DriverError } from '../../src/driver/contract.js';
import { paginateByKey } from '../../src/driver/paginate.js';
import type { KeyedPage } from '../../src/driver/paginate.js';
import { SqlError, SqlNotAReadError, SqlSession, assertReadOnly, inlineParameters, sqlServerConfig, sqlServerFields, wallClock } from '../../src/driver/sql.js';
import type { SqlExecutor, SqlResult, SqlServerConfig } from '../../src/driver/sql.js';
import { describeRunFailure } from '../../src/engine/failure.js';

/** The SQL source under the on-premise drivers: what it refuses, how it retries, what its errors say. */

describe('the read-only guard', () => {
  it.each([
    'SELECT TOP (@pageSize) I.LOGICALREF FROM LG_001_ITEMS I WHERE I.LOGICALREF > @after ORDER BY I.LOGICALREF',
    'select 1',
    'WITH t AS (SELECT 1 AS x) SELECT x FROM t;',
    "SELECT N'DELETE; DROP TABLE x' AS note",
    'SELECT [UPDATE], "INSERT" FROM [dbo].[odd names]',
    'SELECT dbo.fn_EldekiMiktar(S.sto_kod) AS STOCK_QTY FROM STOKLAR S -- EXEC in a comment\n',
    '/* DROP */ SELECT 1',
    '/* outer /* inner */ still a comment: DELETE */ SELECT 1',
  ])('lets a single read through: %s', (statement) => {
    expect(() => assertReadOnly(statement)).not.toThrow();
  });

  it.each([
    ['UPDATE LG_001_ITEMS SET ACTIVE = 1', 'does not start with SELECT or WITH'],
    ['EXEC sp_who', 'does not start with SELECT or WITH'],
    ['SELECT 1; DELETE FROM STOKLAR', 'more than one statement'],
    ['SELECT 1; SELECT 2', 'more than one statement'],
    ['SELECT * INTO copy FROM STOKLAR', 'contains INTO'],
    ['WITH t AS (SELECT 1 AS x) DELETE FROM STOKLAR', 'contains DELETE'],
    ['SELECT * FROM OPENROWSET(BULK \'c:\\x\', SINGLE_CLOB) AS x', 'contains OPENROWSET'],
    ['SELECT 1 WAITFOR DELAY \'00:01\'', 'contains WAITFOR'],
    ["SELECT 'unterminated", 'is not closed'],
    ['SELECT * FROM x /* unterminated comment', 'is not closed'],
    ["SELECT 'a' --'\n; DROP TABLE x", 'more than one statement'],
    ['SELECT xp_cmdshell', 'contains XP_CMDSHELL'],
    // SQL Server nests comments: the quote is inside the comment, so DELETE is code, not text.
    ["SELECT 1 /* /* */ ' */ DELETE FROM STOKLAR --'", 'contains DELETE'],
    ['SELECT 1 /* /* */', 'is not closed'],
  ])('refuses %s', (statement, reason) => {
    expect(() => assertReadOnly(statement)).toThrow(SqlNotAReadError);
    expect(() => assertReadOnly(statement)).toThrow(reason);
  });

  it('is a bug, not a setting: reported as one', () => {
    let error: unknown;
    try {
      assertReadOnly('DROP TABLE STOKLAR');
    } catch (e) {
      error = e;
    }
    expect(describeRunFailure(error)).toMatchObject({ code: 'INTERNAL', hint: expect.stringContaining('This is a bug in erp-sync') });
  });
});

describe('writing parameters in for a service that binds none', () => {
  it('writes each type the one way SQL Server reads it, quotes doubled', () => {
    const statement = inlineParameters('SELECT 1 FROM T WHERE A > @after AND B = @code AND C = @v AND D = @g AND E = @none AND F = @unbound', {
      after: { type: 'int', value: 120 },
      code: { type: 'nvarchar', value: "O'NEIL'; DROP TABLE T --" },
      v: { type: 'varchar', value: 'STK-001' },
      g: { type: 'uniqueidentifier', value: '0A000001-1A2B-4C3D-8E4F-000000000010' },
      none: { type: 'int', value: null },
    });
    expect(statement).toBe("SELECT 1 FROM T WHERE A > 120 AND B = N'O''NEIL''; DROP TABLE T --' AND C = 'STK-001' AND D = '0A000001-1A2B-4C3D-8E4F-000000000010' AND E = NULL AND F = @unbound");
    expect(() => assertReadOnly(statement)).not.toThrow();
  });

  it('refuses a value that is not of its type rather than write it in', () => {
    expect(() => inlineParameters('SELECT @a', { a: { type: 'int', value: '1 OR 1=1' } })).toThrow(TypeError);
    expect(() => inlineParameters('SELECT @a', { a: { type: 'uniqueidentifier', value: "x' OR '1'='1" } })).toThrow(TypeError);
  });
});

describe('the SQL Server settings of a connection', () => {
  const ctx = (settings: Record<string, string>, secrets: Record<string, string> = { password: 'p' }) => ({ connection: 'dukkan', settings, secrets });
  const base = { server: 'LOGOSRV', database: 'LOGO', user: 'okur' };
  const fields = sqlServerFields({ required: true, database: { en: 'db', tr: 'vt' } });

  it('asks SQL Server Browser for a named instance only when no port is given; 1433 otherwise', () => {
    expect(sqlServerConfig(ctx(base), fields)).toMatchObject({ port: 1433, instance: undefined, encrypt: true, trustServerCertificate: false });
    expect(sqlServerConfig(ctx({ ...base, instance: 'SQLEXPRESS' }), fields)).toMatchObject({ port: undefined, instance: 'SQLEXPRESS' });
    expect(sqlServerConfig(ctx({ ...base, instance: 'SQLEXPRESS', port: '50123' }), fields)).toMatchObject({ port: 50123, instance: undefined });
    expect(sqlServerConfig(ctx({ ...base, encrypt: 'false', trustServerCertificate: 'evet' }), fields)).toMatchObject({ encrypt: false, trustServerCertificate: true });
  });

  it('names what is missing or wrong', () => {
    expect(() => sqlServerConfig(ctx({ ...base, server: ' ' }), fields)).toThrow('the dukkan connection has no server setting (SQL Server host)');
    expect(() => sqlServerConfig(ctx(base, {}), fields)).toThrow('the dukkan connection has no password for the SQL login "okur"');
    expect(() => sqlServerConfig(ctx({ ...base, port: '70000' }), fields)).toThrow('the port setting "70000" is not a TCP port');
  });
});

describe('a SQL session', () => {
  const config: SqlServerConfig = { server: '10.0.0.5', port: 1433, instance: undefined, database: 'LOGO', user: 'okur', password: 'p', encrypt: true, trustServerCertificate: false, timeoutMs: 30_000 };

  /** An executor that fails with each error given, in turn, then answers. */
  function failing(...errors: unknown[]): SqlExecutor & { calls: number } {
    const executor = {
      calls: 0,
      async query(): Promise<SqlResult> {
        const error = errors[executor.calls++];
        if (error) throw error;
        return { columns: ['A'], rows: [{ A: 1 }] };
      },
      async close() {},
    };
    return executor;
  }

  const session = (executor: SqlExecutor, retries = 2, missingObjectHint?: (o: string) => string | undefined) =>
    new SqlSession({ executor, config, service: 'Logo (dukkan)', connection: 'dukkan', retries, minDelayMs: 1, signal: new AbortController().signal, missingObjectHint });

  async function failure(error: unknown, retries = 0) {
    let thrown: unknown;
    await session(failing(error, error, error, error), retries).query('SELECT 1').catch((e: unknown) => (thrown = e));
    return describeRunFailure(thrown);
  }

  it('repeats a statement after what passes (a deadlock, a dropped connection, a timeout), with backoff, up to the retries', async () => {
    const executor = failing(new SqlError('server', 'deadlocked', { number: 1205 }), new SqlError('dropped', 'ECONNRESET'), new SqlError('timeout', 'Timeout'));
    await expect(session(executor, 3).query('SELECT 1')).resolves.toEqual({ columns: ['A'], rows: [{ A: 1 }] });
    expect(executor.calls).toBe(4);
    const tooMany = failing(new SqlError('dropped', 'x'), new SqlError('dropped', 'x'), new SqlError('dropped', 'x'));
    await expect(session(tooMany, 1).query('SELECT 1')).rejects.toBeInstanceOf(DriverError);
    expect(tooMany.calls).toBe(2);
  });

  it('never repeats what will not pass', async () => {
    const executor = failing(new SqlError('login', "Login failed for user 'okur'.", { number: 18456 }));
    await expect(session(executor, 5).query('SELECT 1')).rejects.toMatchObject({ code: 'CREDENTIALS_REJECTED' });
    expect(executor.calls).toBe(1);
  });

  it.each([
    [new SqlError('login', "Login failed for user 'okur'.", { number: 18456 }), 77, 'Logo (dukkan): SQL Server 10.0.0.5:1433 did not accept the login "okur" (wrong user name or password)'],
    [new SqlError('login', 'Cannot open database "LOGO" requested by the login. The login failed.', { number: 4060 }), 78, 'unknown company: SQL Server 10.0.0.5:1433 has no database "LOGO"'],
    [new SqlError('unreachable', 'Failed to connect to 10.0.0.5:1433 - Could not connect (sequence)'), 75, 'SQL Server 10.0.0.5:1433 could not be reached'],
    [new SqlError('dns', 'getaddrinfo ENOTFOUND'), 78, 'the server name "10.0.0.5" could not be resolved'],
    [new SqlError('tls', 'self-signed certificate'), 78, 'the TLS connection to SQL Server 10.0.0.5:1433 failed (self-signed certificate)'],
    [new SqlError('unencrypted', 'the server answered the request for encryption with NOT_SUP'), 78, 'SQL Server 10.0.0.5:1433 answered that it does not encrypt, and the dukkan connection requires encryption (encrypt=true): erp-sync closed the connection before sending the login'],
    [new SqlError('timeout', 'Timeout: Request failed to complete in 30000ms'), 75, 'did not answer in time (a statement may take at most 30 s, the timeoutMs setting)'],
    [new SqlError('server', "Invalid column name 'SELLVAT'.", { number: 207 }), 78, 'this database has no column SELLVAT where erp-sync reads it'],
    [new SqlError('server', "Conversion failed when converting the nvarchar value 'x' to data type int.", { number: 245 }), 78, 'refused a statement: Conversion failed'],
  ])('%s → exit %i', async (error, exitCode, message) => {
    const described = await failure(error);
    expect(described.exitCode).toBe(exitCode);
    expect(described.message).toContain(message);
  });

  it('tells how to fix a certificate the server has not got signed, and a port the firewall closes', async () => {
    expect((await failure(new SqlError('tls', 'self-signed certificate'))).hint).toContain('--set trustServerCertificate=true');
    expect((await failure(new SqlError('unencrypted', 'NOT_SUP'))).hint).toMatch(/check that 10\.0\.0\.5:1433 is really the ERP's SQL Server.*Only if this server truly cannot encrypt, give the dukkan connection `--set encrypt=false` knowingly/);
    expect((await failure(new SqlError('unreachable', 'refused'))).hint).toContain('Windows firewall lets port 1433 through');
  });

  it('names a missing table with the driver\'s reason, and a denied one with its GRANT', async () => {
    let thrown: unknown;
    await session(failing(new SqlError('server', "Invalid object name 'LG_009_ITEMS'.", { number: 208 })), 0, (o) => (o.startsWith('LG_009') ? 'Firm 9?' : undefined))
      .query('SELECT 1')
      .catch((e: unknown) => (thrown = e));
    expect(describeRunFailure(thrown)).toMatchObject({ exitCode: 78, message: expect.stringContaining('the table or view LG_009_ITEMS does not exist in the database "LOGO"'), hint: expect.stringMatching(/^Firm 9\? /) });
    const denied = await failure(new SqlError('server', "The SELECT permission was denied on the object 'L_CAPIFIRM', database 'LOGO', schema 'dbo'.", { number: 229 }));
    expect(denied.hint).toContain('GRANT SELECT ON dbo.L_CAPIFIRM TO [okur]');
  });

  it('stops at once when the run is stopped, also while it waits to retry', async () => {
    const stop = new AbortController();
    const executor = failing(new SqlError('dropped', 'x'), new SqlError('dropped', 'x'));
    const s = new SqlSession({ executor, config, service: 's', connection: 'c', retries: 5, minDelayMs: 10_000, signal: stop.signal });
    const pending = s.query('SELECT 1');
    setTimeout(() => stop.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('checks every statement before the executor sees it', async () => {
    const executor = failing();
    await expect(session(executor).query('DELETE FROM STOKLAR')).rejects.toBeInstanceOf(SqlNotAReadError);
    expect(executor.calls).toBe(0);
  });
});

describe('keyset paging', () => {
  /** Pages of a table of keys 1..n, `size` at a time, with the requests and how many were in flight at most. */
  function table(n: number, size: number) {
    const keys = Array.from({ length: n }, (_, i) => (i + 1) * 10);
    const afters: Array<number | undefined> = [];
    let inflight = 0;
    let most = 0;
    const fetchPage = async (after: number | undefined): Promise<KeyedPage<number>> => {
      afters.push(after);
      inflight++;
      most = Math.max(most, inflight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inflight--;
      const page = keys.filter((k) => after === undefined || k > after).slice(0, size);
      return { records: page.map((k) => ({ k })), rows: page.length, firstKey: page[0], lastKey: page[page.length - 1] };
    };
    return { fetchPage, afters, most: () => most };
  }

  async function collect(pages: AsyncIterable<{ records: readonly unknown[] }>): Promise<unknown[][]> {
    const out: unknown[][] = [];
    for await (const page of pages) out.push([...page.records]);
    return out;
  }

  it('reads after the last key until a short page, with at most the next page asked for while one is handed on', async () => {
    const t = table(25, 10);
    const pages = await collect(paginateByKey({ fetchPage: t.fetchPage, pageSize: 10 }));
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(t.afters).toEqual([undefined, 100, 200]);
    expect(t.most()).toBe(1);
  });

  it('asks once more after a page that is exactly full, and ends at the empty one', async () => {
    const t = table(20, 10);
    const pages = await collect(paginateByKey({ fetchPage: t.fetchPage, pageSize: 10 }));
    expect(pages.map((p) => p.length)).toEqual([10, 10]);
    expect(t.afters).toEqual([undefined, 100, 200]);
  });

  it('refuses a page that starts where it was asked to read after, or holds more rows than a page may', async () => {
    const stuck = async (): Promise<KeyedPage<number>> => ({ records: [{}, {}], rows: 2, firstKey: 5, lastKey: 5 });
    await expect(collect(paginateByKey({ fetchPage: stuck, pageSize: 2 }))).rejects.toThrow('starting at the key it was asked to read after (5)');
    const long = async (): Promise<KeyedPage<number>> => ({ records: [{}, {}, {}], rows: 3, firstKey: 1, lastKey: 3 });
    await expect(collect(paginateByKey({ fetchPage: long, pageSize: 2 }))).rejects.toMatchObject({ code: 'MALFORMED_RESPONSE' });
  });
});

describe('dates as the ERP\'s clock shows them', () => {
  it.each([
    ['2026-11-22T14:05:00.000Z', '2026-11-22T14:05:00'],
    ['2026-11-22T14:05:00', '2026-11-22T14:05:00'],
    ['2026-11-22 14:05', '2026-11-22T14:05:00'],
    ['2026-11-22', '2026-11-22T00:00:00'],
  ])('%s → %s', (value, expected) => {
    expect(wallClock(value)).toBe(expected);
  });

  it('is undefined for what is not a date', () => {
    expect(wallClock(null)).toBeUndefined();
    expect(wallClock('yarın')).toBeUndefined();
  });
});
