import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { PgDatabase, PgError, migratePg, placeholders, sessionConninfo } from '../../src/store/pg.js';
import { PG_URL, freshDatabase, requirePostgres } from '../support/hosted.js';
import { requireTool } from '../support/requirements.js';

/** A role made with BYPASSRLS by .ci/run: erp-sync must refuse it. */
function unboundUrl(): string {
  const url = new URL(PG_URL);
  url.username = 'erp_sync_unbound';
  url.password = 'erp_sync_unbound';
  return url.toString();
}

function unboundRoleAnswers(): boolean {
  try {
    new PgDatabase(unboundUrl(), 'probe').close();
    return true;
  } catch (error) {
    return error instanceof PgError && /BYPASSRLS/.test(error.message);
  }
}

/**
 * A TCP relay to PostgreSQL in a worker thread (libpq's calls block this
 * thread): stopping it is the server going away for the sessions through it,
 * refusing new ones until it starts again on the same port.
 */
async function startRelay(target: URL): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void>; close(): Promise<void> }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const net = require('node:net');
     let server; const sockets = new Set(); let port = 0;
     const listen = () => new Promise((resolve) => {
       server = net.createServer((client) => {
         const upstream = net.connect(workerData.port, workerData.host);
         for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); }
         client.pipe(upstream).pipe(client);
       });
       server.listen(port, '127.0.0.1', () => { port = server.address().port; resolve(); });
     });
     parentPort.on('message', async (what) => {
       if (what === 'start') await listen();
       else { await new Promise((resolve) => { server.close(resolve); for (const s of sockets) s.destroy(); }); }
       parentPort.postMessage(port);
     });`,
    { eval: true, workerData: { host: target.hostname, port: Number(target.port || 5432) } },
  );
  const ask = (what: 'start' | 'stop') => new Promise<number>((resolve) => { worker.once('message', resolve); worker.postMessage(what); });
  const port = await ask('start');
  return { port, stop: async () => void (await ask('stop')), start: async () => void (await ask('start')), close: async () => void (await worker.terminate()) };
}

describe('placeholders', () => {
  it('numbers ? in order, gives a name used twice one number, and leaves casts, strings and comments alone', () => {
    const sql = `SELECT ?::jsonb, ':not' AS "a?b", x = :name -- what ? :this\n AND y = @name AND z = ? /* ? */`;
    expect(placeholders(sql)).toEqual({
      text: `SELECT $1::jsonb, ':not' AS "a?b", x = $2 -- what ? :this\n AND y = $2 AND z = $3 /* ? */`,
      slots: [{ positional: 0 }, { named: 'name' }, { positional: 1 }],
    });
  });

  it("reads a doubled quote as part of the string", () => {
    expect(placeholders(`SELECT 'it''s ?', ?`).text).toBe(`SELECT 'it''s ?', $1`);
  });
});

describe.runIf(requirePostgres())('PostgreSQL behind the store interface', () => {
  let url: string;
  let db: PgDatabase;

  beforeAll(() => {
    url = freshDatabase('pg_facade');
    db = new PgDatabase(url, 'acme');
    migratePg(db, 'facade-test', [
      `CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant text NOT NULL DEFAULT current_setting('erp_sync.tenant'), name text, n integer);
       ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
       CREATE POLICY own ON t USING (tenant = current_setting('erp_sync.tenant')) WITH CHECK (tenant = current_setting('erp_sync.tenant'));`,
    ]);
  });
  afterAll(() => db?.close());

  it('runs a migration to its end however long it takes, past the session\'s statement timeout, and the timeout holds again after it', () => {
    db.exec(`SET statement_timeout = '100ms'`);
    try {
      migratePg(db, 'slow-migration-test', [`SELECT pg_sleep(0.3)`]);
      expect(db.prepare(`SELECT version FROM erp_sync_schema WHERE part = 'slow-migration-test'`).pluck().get()).toBe(1);
      expect(() => db.prepare(`SELECT pg_sleep(0.3)`).get()).toThrow(/statement timeout/);
    } finally {
      db.exec(`SET statement_timeout = '20s'`);
    }
  });

  it('runs statements as better-sqlite3 does: ids, counts, booleans as 1/0, pluck, named and positional parameters', () => {
    const first = db.prepare(`INSERT INTO t (name, n) VALUES (?, ?) RETURNING id`).run('çiğ köfte', 3);
    expect(first).toEqual({ changes: 1, lastInsertRowid: expect.any(Number) });
    db.prepare(`INSERT INTO t (name, n) VALUES (:name, :n)`).run({ name: 'İstanbul', n: 4 });
    expect(db.prepare(`SELECT count(*) FROM t`).pluck().get()).toBe(2);
    expect(db.prepare(`SELECT name, n > 3 AS big FROM t WHERE n >= ? ORDER BY n`).all(3)).toEqual([
      { name: 'çiğ köfte', big: 0 },
      { name: 'İstanbul', big: 1 },
    ]);
    expect(db.prepare(`UPDATE t SET n = n + 1 WHERE n > ?`).run(0).changes).toBe(2);
  });

  it('rolls a failed transaction back, and a failed nested one back to its savepoint', () => {
    const before = db.prepare(`SELECT count(*) FROM t`).pluck().get();
    const insert = db.prepare(`INSERT INTO t (name) VALUES (?)`);
    expect(() => db.transaction(() => { insert.run('a'); throw new Error('boom'); })()).toThrow('boom');
    expect(db.prepare(`SELECT count(*) FROM t`).pluck().get()).toBe(before);
    db.transaction(() => {
      insert.run('kept');
      expect(() => db.transaction(() => { insert.run('dropped'); throw new Error('inner'); })()).toThrow('inner');
    })();
    expect(db.prepare(`SELECT name FROM t WHERE name IN ('kept', 'dropped')`).pluck().all()).toEqual(['kept']);
    expect(db.inTransaction).toBe(false);
  });

  it("shows a session only its own tenant's rows, and refuses writing another tenant's", () => {
    const other = new PgDatabase(url, 'other');
    try {
      expect(other.prepare(`SELECT count(*) FROM t`).pluck().get()).toBe(0);
      other.prepare(`INSERT INTO t (name) VALUES (?)`).run('theirs');
      expect(db.prepare(`SELECT count(*) FROM t WHERE name = 'theirs'`).pluck().get()).toBe(0);
      expect(() => other.prepare(`INSERT INTO t (tenant, name) VALUES ('acme', 'forged')`).run()).toThrow(PgError);
    } finally {
      other.close();
    }
  });

  it('bounds every statement and abandoned transaction, so no call into libpq holds the worker for long', () => {
    expect(db.prepare(`SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS t`).get()).toEqual({ s: '20s', t: '1min' });
  });

  it('comes out of a transaction whose COMMIT fails whole: nothing of it kept, and the next one is a transaction of its own', () => {
    db.exec(`CREATE TABLE once (x integer UNIQUE DEFERRABLE INITIALLY DEFERRED)`);
    const insert = db.prepare(`INSERT INTO once (x) VALUES (?)`);
    expect(() => db.transaction(() => { insert.run(1); insert.run(1); })()).toThrow(PgError);
    expect(db.inTransaction).toBe(false);
    expect(() => db.transaction(() => { insert.run(2); db.transaction(() => insert.run(3))(); throw new Error('outer'); })()).toThrow('outer');
    expect(db.prepare(`SELECT count(*) FROM once`).pluck().get()).toBe(0);
  });

  it('refuses a role that row-level security does not bind', ({ skip }) => {
    skip(!requireTool('a BYPASSRLS role (erp_sync_unbound, which .ci/run makes)', unboundRoleAnswers, 'see .ci/run'));
    expect(() => new PgDatabase(unboundUrl(), 'acme')).toThrow(/BYPASSRLS/);
  });

  it("names PostgreSQL's SQLSTATE as the error's code", () => {
    try {
      db.prepare(`SELECT * FROM missing_table`).all();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PgError);
      expect((error as PgError).code).toBe('42P01');
    }
  });
});

describe.runIf(requirePostgres())('a session the server drops', () => {
  let url: string;
  let admin: PgDatabase;
  const opened: PgDatabase[] = [];
  const open = (options: ConstructorParameters<typeof PgDatabase>[2]) => {
    const db = new PgDatabase(url, 'acme', options);
    opened.push(db);
    return db;
  };
  const pid = (db: PgDatabase) => db.prepare(`SELECT pg_backend_pid()`).pluck().get() as number;
  /** What pg_terminate_backend does is what a restart or a failover does to every session: the server closes it. */
  const drop = (db: PgDatabase) => expect(admin.prepare(`SELECT pg_terminate_backend(?)`).pluck().get(pid(db))).toBe(1);

  beforeAll(() => {
    url = freshDatabase('pg_dropped');
    admin = new PgDatabase(url, 'admin');
  });
  afterAll(() => {
    for (const db of opened) db.close();
    admin?.close();
  });

  it('with reconnect, the next statement runs on a new session bound to the same tenant, under the same name', () => {
    const db = open({ reconnect: true, applicationName: 'erp-sync page test' });
    const settings = db.prepare(`SELECT current_setting('erp_sync.tenant') AS tenant, current_setting('application_name') AS name`);
    expect(settings.get()).toEqual({ tenant: 'acme', name: 'erp-sync page test' });
    const before = pid(db);
    drop(db);
    expect(settings.get()).toEqual({ tenant: 'acme', name: 'erp-sync page test' });
    expect(pid(db)).not.toBe(before);
  });

  it('without it, the statement fails and says so: a run must not go on without the lock its session held', () => {
    const db = open({});
    drop(db);
    expect(() => pid(db)).toThrow(PgError);
  });

  it('with reconnect, a transaction begun after the drop begins on a new session', () => {
    const db = open({ reconnect: true });
    const before = pid(db);
    drop(db);
    expect(db.transaction(() => pid(db))()).not.toBe(before);
  });

  it('while the server is away, each statement fails as a connection failure (08001) and the next tries again, until one runs', async () => {
    const relay = await startRelay(new URL(PG_URL));
    try {
      const through = new URL(url);
      through.port = String(relay.port);
      const relayed = new PgDatabase(through.toString(), 'acme', { reconnect: true });
      opened.push(relayed);
      const before = pid(relayed);
      await relay.stop();
      for (let i = 0; i < 2; i++) expect(() => pid(relayed)).toThrow(expect.objectContaining({ name: 'PgError', code: '08001' }));
      await relay.start();
      expect(pid(relayed)).not.toBe(before);
      expect(relayed.prepare(`SELECT current_setting('erp_sync.tenant')`).pluck().get()).toBe('acme');
    } finally {
      await relay.close();
    }
  });

  it('inside a transaction, the statement fails rather than finish the transaction on a session that never began it', () => {
    const db = open({ reconnect: true });
    expect(() =>
      db.transaction(() => {
        drop(db);
        pid(db);
      })(),
    ).toThrow(PgError);
    expect(db.inTransaction).toBe(false);
    expect(pid(db)).toEqual(expect.any(Number));
  });
});

describe('sessionConninfo', () => {
  it('adds the session bounds to an address that sets none, and keeps the ones it sets', () => {
    const url = new URL(sessionConninfo('postgresql://u:p@db:5432/erp?connect_timeout=2'));
    expect(url.searchParams.get('connect_timeout')).toBe('2');
    expect(url.searchParams.get('keepalives')).toBe('1');
    expect(url.searchParams.get('options')).toBe('-c statement_timeout=20s -c idle_in_transaction_session_timeout=60s');
  });

  it('appends them to a key=value conninfo, quoted', () => {
    const conninfo = sessionConninfo('host=db dbname=erp connect_timeout=3');
    expect(conninfo).toContain('host=db dbname=erp connect_timeout=3 ');
    expect(conninfo).not.toMatch(/connect_timeout='5'/);
    expect(conninfo).toContain(`options='-c statement_timeout=20s -c idle_in_transaction_session_timeout=60s'`);
  });
});
