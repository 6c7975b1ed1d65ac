import { afterEach, describe, expect, it } from 'vitest';
import { SqlError, SqlNotAReadError } from '../../src/driver/sql.js';
import type { SqlExecutor, SqlParameters, SqlServerConfig } from '../../src/driver/sql.js';
import { mssqlConnector } from '../../src/driver/sqlserver.js';
import { resultOf, startSqlFake } from '../fakes/sql.js';
import type { SqlFake, SqlFakeKnobs } from '../fakes/sql.js';
import { startTdsServer } from '../fakes/tds.js';
import type { TdsServer, TdsServerOptions } from '../fakes/tds.js';

/**
 * The executor on mssql and tedious, against a fake SQL Server speaking TDS
 * on 127.0.0.1 (test/fakes/tds.ts): what it sends on the wire, how values
 * cross in both directions, and what each failure becomes.
 */

const LOGIN = { user: 'erpsync_okur', password: 'Okur-Şifre-1', database: 'ERPDB' };
const ECHO = 'SELECT A, B, C, D, E FROM ECHO WHERE X = @x';

/** A database that answers `ECHO` with the parameters it was given and a row of each type, and `SLOW` like any statement. */
function echoDatabase(seen: SqlParameters[]) {
  return {
    route(statement: string, parameters: SqlParameters) {
      seen.push(parameters);
      return {
        kind: 'catalog' as const,
        answer: () =>
          /FROM ECHO/.test(statement)
            ? resultOf(['A', 'B', 'C', 'D', 'E'], [{ A: 42, B: 1234.5678, C: true, D: 'Işıklı Ayna — Ğüşiöç', E: null }, { A: -7, B: 0.1, C: false, D: '', E: null }])
            : resultOf(['N'], [{ N: 1 }]),
      };
    },
  };
}

let tds: TdsServer | undefined;
const executors: SqlExecutor[] = [];
afterEach(async () => {
  await Promise.all(executors.splice(0).map((e) => e.close()));
  await tds?.close();
  tds = undefined;
});

async function open(knobs: SqlFakeKnobs = {}, config: Partial<SqlServerConfig> = {}, server: TdsServerOptions = {}): Promise<{ fake: SqlFake; executor: SqlExecutor; seen: SqlParameters[] }> {
  const seen: SqlParameters[] = [];
  const fake = startSqlFake({ knobs, login: LOGIN, database: echoDatabase(seen), expectedBarcodes: [] });
  tds = await startTdsServer(fake, server);
  const executor = mssqlConnector({
    server: '127.0.0.1', port: tds.port, instance: undefined, ...LOGIN, encrypt: false, trustServerCertificate: false, timeoutMs: 5000, ...config,
  });
  executors.push(executor);
  return { fake, executor, seen };
}

const signal = () => new AbortController().signal;

describe('the SQL Server executor on mssql', () => {
  it('binds each parameter in its SQL type and hands the rows back as plain values, in column order', async () => {
    const { executor, seen } = await open();
    const parameters: SqlParameters = {
      x: { type: 'int', value: 120 },
      code: { type: 'varchar', value: 'STK-ŞĞİ-01' },
      name: { type: 'nvarchar', value: 'Çaydanlık "İnce"' },
      key: { type: 'uniqueidentifier', value: '0A000001-1A2B-4C3D-8E4F-000000000010' },
      none: { type: 'int', value: null },
    };
    const result = await executor.query(`${ECHO} AND Y = @code AND Z = @name AND K = @key AND N = @none`, parameters, signal());
    // Only the statement itself reaches the server: no SELECT 1 to check the connection first.
    expect(seen).toEqual([parameters]);
    expect(result).toEqual({
      columns: ['A', 'B', 'C', 'D', 'E'],
      rows: [{ A: 42, B: 1234.5678, C: true, D: 'Işıklı Ayna — Ğüşiöç', E: null }, { A: -7, B: 0.1, C: false, D: '', E: null }],
    });
  });

  it('logs in as the application erp-sync with a read-only intent, without TLS when encrypt is false', async () => {
    const { executor } = await open();
    await executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal());
    // mssql logs in once to check the server, then once for the pool.
    expect(tds!.logins.length).toBeGreaterThan(0);
    for (const login of tds!.logins) expect(login).toEqual({ encryption: 'notSupported', user: LOGIN.user, database: LOGIN.database, appName: 'erp-sync', readOnlyIntent: true });
  });

  it.each(['notSupported', 'off'] as const)('with encrypt, a server that answers encryption %s is refused before the password is sent', async (answer) => {
    const { executor } = await open({}, { encrypt: true, trustServerCertificate: true }, { encryption: answer });
    const error = await executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlError);
    expect(error).toMatchObject({ kind: 'unencrypted' });
    expect(String((error as Error).message)).not.toContain(LOGIN.password);
    // The client asked for TLS; the server's answer ended the connection: no LOGIN7 packet, not even a part of one.
    expect(tds!.packets).toContain('prelogin');
    expect(tds!.packets).not.toContain('login7');
    expect(tds!.logins).toEqual([]);
  });

  it('with encrypt, a server that offers encryption gets a TLS handshake, never a login in the clear', async () => {
    const { executor } = await open({}, { encrypt: true, trustServerCertificate: true }, { encryption: 'on' });
    // This listener speaks no TLS: it hangs up at the client's handshake.
    const error = await executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlError);
    expect(error).not.toMatchObject({ kind: 'unencrypted' });
    expect(tds!.packets.slice(0, 2)).toEqual(['prelogin', 'tls']);
    expect(tds!.packets).not.toContain('login7');
  });

  it('refuses anything but a read before it connects', async () => {
    const { fake, executor } = await open();
    await expect(executor.query('DELETE FROM STOKLAR', {}, signal())).rejects.toBeInstanceOf(SqlNotAReadError);
    expect(fake.statements).toEqual([]);
    expect(tds!.logins).toEqual([]);
  });

  it.each([
    ['a wrong password', { password: 'yanlış' }, { kind: 'login', number: 18456 }],
    ['a database the login may not open', { database: 'YOK' }, { kind: 'login', number: 4060 }],
  ])('%s is a login failure SQL Server numbered', async (_label, config, failure) => {
    const { executor } = await open({}, config);
    await expect(executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal())).rejects.toMatchObject({ name: 'SqlError', ...failure });
  });

  it('reports a server error with its number, and the connection serves the next statement', async () => {
    const { executor } = await open({ sqlFaults: [{ from: 1, times: 1, kind: 'sql', number: 229, message: "The SELECT permission was denied on the object 'ECHO', database 'ERPDB', schema 'dbo'." }] });
    await expect(executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal())).rejects.toMatchObject({ kind: 'server', number: 229, message: expect.stringContaining("object 'ECHO'") });
    await expect(executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal())).resolves.toMatchObject({ columns: ['A', 'B', 'C', 'D', 'E'] });
  });

  it('a connection dropped mid-statement is "dropped", and the next statement connects again', async () => {
    const { executor } = await open({ sqlFaults: [{ from: 1, times: 1, kind: 'dropped' }] });
    await expect(executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal())).rejects.toMatchObject({ kind: 'dropped' });
    await expect(executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal())).resolves.toMatchObject({ rows: [{ A: 42 }, { A: -7 }] });
    expect(tds!.logins.length).toBeGreaterThanOrEqual(2);
  });

  it('cancels a statement that runs past the timeout on the server too, and keeps the connection', async () => {
    const { fake, executor } = await open({ sqlFaults: [{ from: 1, times: 1, kind: 'hang', ms: 60_000 }] }, { timeoutMs: 300 });
    const started = Date.now();
    const error: unknown = await executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlError);
    expect(error).toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
    const logins = tds!.logins.length;
    await expect(executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal())).resolves.toMatchObject({ rows: [{ A: 42 }, { A: -7 }] });
    expect(tds!.logins.length).toBe(logins);
    expect(fake.statements.filter((s) => s.statement === ECHO)).toHaveLength(1);
  });

  it('stops a running statement when the run is stopped', async () => {
    const { executor } = await open({ sqlFaults: [{ from: 1, times: 1, kind: 'hang', ms: 60_000 }] });
    const stop = new AbortController();
    const pending = executor.query(ECHO, { x: { type: 'int', value: 1 } }, stop.signal);
    setTimeout(() => stop.abort(), 100);
    await expect(pending).rejects.toBeDefined();
    await expect(executor.query(ECHO, { x: { type: 'int', value: 1 } }, signal())).resolves.toMatchObject({ rows: [{ A: 42 }, { A: -7 }] });
  });

  it('an address where nothing listens is unreachable, naming no secret', async () => {
    const { executor } = await open();
    await tds!.close();
    tds = undefined;
    const error = await executor.query(ECHO, {}, signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unreachable' });
    expect(String((error as Error).message)).not.toContain(LOGIN.password);
  });
});
