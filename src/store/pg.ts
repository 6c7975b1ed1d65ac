import { createRequire } from 'node:module';
import type { Db, SqlStatement } from './db.js';

/**
 * PostgreSQL behind the same synchronous `Db` the store modules write to on
 * SQLite, for hosted mode: libpq's synchronous calls (pg-native), one
 * session per job. Each statement is a blocking round trip, so one worker
 * process's database time is serial, as it is on SQLite; a fleet scales by
 * processes. What the facade does, and nothing more:
 *
 * - placeholders: `?`, `:name` and `@name` become `$n` (PostgreSQL's `::`
 *   casts, string literals and comments are left alone); the SQL itself is
 *   the store module's, written for both dialects or chosen by `isPg`;
 * - results: booleans read as 1/0 and 64-bit counts as numbers, as SQLite
 *   gives them; `run()` reports the rows changed and a `RETURNING id`;
 * - transactions: BEGIN/COMMIT, nested calls as savepoints, rolled back on a throw;
 * - the tenant: every session is bound to one (`erp_sync.tenant`), and the
 *   schema's row-level security shows and accepts only that tenant's rows.
 */

interface NativeClient {
  connectSync(conninfo: string): void;
  querySync(text: string, values?: (string | null)[]): Record<string, unknown>[];
  prepareSync(name: string, text: string, params: number): void;
  executeSync(name: string, values: (string | null)[]): Record<string, unknown>[];
  end(callback?: () => void): void;
  pq: { cmdTuples(): string; resultErrorFields(): Record<string, string> | undefined; finish(): void; transactionStatus(): number };
}
type NativeClientClass = new (options: { types: unknown }) => NativeClient;

type Slot = { positional: number } | { named: string };

/** A statement's text for PostgreSQL and where each `$n` takes its value from. */
export interface Placeholders {
  text: string;
  slots: Slot[];
}

/** Rewrites `?`, `:name` and `@name` to `$1…$n`; a name used twice is one parameter. */
export function placeholders(sql: string): Placeholders {
  let text = '';
  const slots: Slot[] = [];
  const named = new Map<string, number>();
  let positional = 0;
  for (let i = 0; i < sql.length; ) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || c === '"') {
      let end = i + 1;
      for (;;) {
        end = sql.indexOf(c, end);
        if (end < 0) { end = sql.length; break; }
        if (sql[end + 1] === c) { end += 2; continue; }
        end += 1;
        break;
      }
      text += sql.slice(i, end);
      i = end;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      text += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      text += sql.slice(i, stop);
      i = stop;
    } else if (c === ':' && next === ':') {
      text += '::';
      i += 2;
    } else if (c === '?') {
      slots.push({ positional: positional++ });
      text += `$${slots.length}`;
      i += 1;
    } else if ((c === ':' || c === '@') && next !== undefined && /[A-Za-z_]/.test(next)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))![0];
      let index = named.get(name);
      if (index === undefined) {
        slots.push({ named: name });
        index = slots.length;
        named.set(name, index);
      }
      text += `$${index}`;
      i += 1 + name.length;
    } else {
      text += c;
      i += 1;
    }
  }
  return { text, slots };
}

/** A parameter as libpq takes it: text, or null. */
function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return refuseNul(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  throw new TypeError(`a ${typeof value} cannot be a statement parameter`);
}

function isBag(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** A database error as SQLite's reads: its message, and PostgreSQL's SQLSTATE as `code`. */
export class PgError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message.trim());
    this.name = 'PgError';
    this.code = code;
  }
}

/**
 * PostgreSQL's text cannot hold the NUL character. A value with one is
 * refused here, before it is sent: a statement the server refused would
 * abort the whole transaction, where SQLite refuses the one statement and a
 * page's staging goes on without the product.
 */
export function refuseNul(value: string): string {
  if (value.includes('\u0000')) throw new PgError('PostgreSQL cannot store text with a NUL character (\\u0000)', '22021');
  return value;
}

let nativeClass: NativeClientClass | undefined;

/** pg-native, an optional dependency: it builds against libpq, which only hosted machines need. */
function native(): NativeClientClass {
  if (!nativeClass) {
    const require = createRequire(import.meta.url);
    try {
      nativeClass = require('pg-native') as NativeClientClass;
    } catch (error) {
      throw new Error(
        `hosted mode needs the pg-native package, which builds against libpq: install libpq-dev (Debian) and run npm ci again (${(error as Error).message})`,
      );
    }
  }
  return nativeClass;
}

const BOOL = 16;
const INT8 = 20;
const NUMERIC = 1700;

/** SQLite's shapes for what PostgreSQL types differently: 1/0 for booleans, numbers for counts and sums. */
function typeParsers(): unknown {
  const require = createRequire(import.meta.url);
  const types = require('pg-types') as { getTypeParser(oid: number, format?: string): (value: string) => unknown };
  return {
    getTypeParser(oid: number, format?: string) {
      if (oid === BOOL) return (value: string) => (value === 't' ? 1 : 0);
      if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
      return types.getTypeParser(oid, format);
    },
  };
}

export interface PgSessionOptions {
  /** Names the session in pg_stat_activity (and so in a lock holder's name): the worker's host and pid. */
  applicationName?: string;
  /**
   * When the server has dropped the session (a restart, a failover,
   * pg_terminate_backend), a statement or BEGIN outside any transaction opens
   * a new one and runs again, once. Only for a session that holds nothing a
   * new one would lack and whose statements may run twice (one the server ran
   * just before it dropped the session runs again): a web page's, which
   * reads, never a run's, whose advisory lock dies with its session.
   */
  reconnect?: boolean;
}

/** libpq's PQTRANS_UNKNOWN: the connection is bad, nothing can be sent on it. */
const SESSION_LOST = 4;

export class PgDatabase implements Db {
  readonly tenant: string;
  /** The address the session was opened on, as given. */
  readonly url: string;
  readonly #options: PgSessionOptions;
  #client: NativeClient;
  readonly #prepared = new Map<string, { name: string; placeholders: Placeholders }>();
  #depth = 0;
  #open = true;

  /**
   * A session bound to one tenant: row-level security shows it only that
   * tenant's rows. A role that row-level security does not bind (a
   * superuser, BYPASSRLS) is refused: with it every tenant would see all.
   */
  constructor(url: string, tenant: string, options: PgSessionOptions = {}) {
    if (!tenant) throw new Error('a PostgreSQL session needs a tenant');
    this.tenant = tenant;
    this.url = url;
    this.#options = options;
    this.#client = this.#startSession();
  }

  #startSession(): NativeClient {
    const Client = native();
    const client = new Client({ types: typeParsers() });
    const query = (text: string, values?: (string | null)[]) => guarded(client, () => client.querySync(text, values));
    try {
      try {
        client.connectSync(sessionConninfo(this.url));
      } catch (error) {
        // SQLSTATE's "cannot connect now" class, as a statement's failure names its own.
        throw new PgError((error as Error).message, '08001');
      }
      query(`SET client_min_messages = warning`);
      const role = query(`SELECT current_user AS name, rolsuper OR rolbypassrls AS unbound FROM pg_roles WHERE rolname = current_user`)[0];
      if (role?.unbound) {
        throw new PgError(
          `the PostgreSQL role "${String(role.name)}" is a superuser or has BYPASSRLS, so row-level security would not keep tenants apart; connect as a role made with NOSUPERUSER NOBYPASSRLS (see the README's hosted mode)`,
          '42501',
        );
      }
      query(`SELECT set_config('erp_sync.tenant', $1, false)`, [this.tenant]);
      if (this.#options.applicationName) query(`SELECT set_config('application_name', $1, false)`, [this.#options.applicationName.slice(0, 63)]);
    } catch (error) {
      client.pq.finish();
      keepUntilClosed(client);
      throw error;
    }
    return client;
  }

  /** Runs `work`; on a session the server dropped, outside a transaction and where allowed, once more on a new one. */
  #again<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (!this.#options.reconnect || !this.#open || this.#depth > 0 || this.#client.pq.transactionStatus() !== SESSION_LOST) throw error;
      // While the server is still away this throws, and the lost session stays for the next statement to try again.
      const fresh = this.#startSession();
      const lost = this.#client;
      this.#client = fresh;
      this.#prepared.clear();
      lost.pq.finish();
      keepUntilClosed(lost);
      return work();
    }
  }

  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  prepare(source: string): SqlStatement {
    return new PgStatement(this, source);
  }

  exec(source: string): this {
    this.#again(() => this.#query(source));
    return this;
  }

  /** Runs a statement: prepared once per session, then executed with the parameters in place. */
  execute(source: string, params: readonly unknown[]): { rows: Record<string, unknown>[]; changes: number } {
    return this.#again(() => {
      let entry = this.#prepared.get(source);
      if (!entry) {
        entry = { name: `s${this.#prepared.size + 1}`, placeholders: placeholders(source) };
        this.#guard(() => this.#client.prepareSync(entry!.name, entry!.placeholders.text, entry!.placeholders.slots.length));
        this.#prepared.set(source, entry);
      }
      const values = bind(entry.placeholders, params, source);
      const rows = this.#guard(() => this.#client.executeSync(entry!.name, values));
      return { rows, changes: Number(this.#client.pq.cmdTuples()) || 0 };
    });
  }

  transaction: Db['transaction'] = ((work: (...args: unknown[]) => unknown) => {
    const run = (...args: unknown[]) => {
      const savepoint = this.#depth > 0 ? `s${this.#depth}` : undefined;
      if (savepoint) this.#query(`SAVEPOINT ${savepoint}`);
      else this.#again(() => this.#query('BEGIN'));
      this.#depth++;
      let result: unknown;
      try {
        result = work(...args);
      } catch (error) {
        this.#depth--;
        this.#rollback(savepoint);
        throw error;
      }
      this.#depth--;
      try {
        this.#query(savepoint ? `RELEASE SAVEPOINT ${savepoint}` : 'COMMIT');
      } catch (error) {
        this.#rollback(savepoint);
        throw error;
      }
      return result;
    };
    return Object.assign(run, { immediate: run, deferred: run, exclusive: run, default: run });
  }) as unknown as Db['transaction'];

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#client.pq.finish();
    keepUntilClosed(this.#client);
  }

  /** Undoes a failed transaction or savepoint; on a dead session there is nothing to undo, and the first error is the one to tell. */
  #rollback(savepoint: string | undefined): void {
    if (!this.#open) return;
    try {
      this.#query(savepoint ? `ROLLBACK TO SAVEPOINT ${savepoint}` : 'ROLLBACK');
    } catch {
      // The session is gone: the server rolled the transaction back itself.
    }
  }

  #query(text: string, values?: (string | null)[]): Record<string, unknown>[] {
    return this.#guard(() => this.#client.querySync(text, values));
  }

  #guard<T>(work: () => T): T {
    return guarded(this.#client, work);
  }
}

/** Runs a call into libpq; its failure becomes a PgError with the SQLSTATE the server sent. */
function guarded<T>(client: NativeClient, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw new PgError((error as Error).message, client.pq.resultErrorFields()?.sqlState);
  }
}

/**
 * libpq's binding closes its socket watcher asynchronously (uv_close), and
 * the watcher lives inside the client: a client garbage-collected before
 * the event loop's next close phase (a long synchronous stretch, which is
 * how this store works) frees it under libuv, which then aborts the
 * process. Closed clients are held until that phase has passed.
 */
const closing = new Set<NativeClient>();
function keepUntilClosed(client: NativeClient): void {
  closing.add(client);
  // The first turn's check phase comes before its close phase; the second's, after it.
  setImmediate(() => setImmediate(() => closing.delete(client)));
}

function bind(placeholders: Placeholders, params: readonly unknown[], source: string): (string | null)[] {
  const positional: unknown[] = [];
  let bag: Record<string, unknown> = {};
  for (const param of params) {
    if (isBag(param)) bag = { ...bag, ...param };
    else positional.push(param);
  }
  return placeholders.slots.map((slot) => {
    if ('positional' in slot) {
      if (slot.positional >= positional.length) throw new RangeError(`too few parameters for: ${source}`);
      return toText(positional[slot.positional]);
    }
    if (!(slot.named in bag)) throw new RangeError(`missing named parameter "${slot.named}" for: ${source}`);
    return toText(bag[slot.named]);
  });
}

class PgStatement implements SqlStatement {
  readonly #db: PgDatabase;
  readonly #source: string;
  #pluck = false;

  constructor(db: PgDatabase, source: string) {
    this.#db = db;
    this.#source = source;
  }

  pluck(toggle = true): this {
    this.#pluck = toggle;
    return this;
  }

  run(...params: unknown[]): { changes: number; lastInsertRowid: number } {
    const { rows, changes } = this.#db.execute(this.#source, params);
    const id = rows[0]?.id;
    return { changes, lastInsertRowid: typeof id === 'number' ? id : 0 };
  }

  get(...params: unknown[]): unknown {
    const row = this.#db.execute(this.#source, params).rows[0];
    return row === undefined ? undefined : this.#shape(row);
  }

  all(...params: unknown[]): unknown[] {
    return this.#db.execute(this.#source, params).rows.map((row) => this.#shape(row));
  }

  /** Reads the rows whole before handing them out: keep what is iterated to a page (`LIMIT`) on PostgreSQL. */
  *iterate(...params: unknown[]): IterableIterator<unknown> {
    yield* this.all(...params);
  }

  #shape(row: Record<string, unknown>): unknown {
    if (!this.#pluck) return row;
    for (const key in row) return row[key];
    return undefined;
  }
}

/**
 * The session's bounds, added to the address unless it sets them itself.
 * Every call into libpq blocks the worker's event loop, so none may wait
 * long: connecting gives up after 5 s, a silent network is noticed within
 * about 15 s (TCP keepalives and tcp_user_timeout; the server frees the
 * run's advisory lock as soon as it notices too), a statement stops after
 * 20 s and an abandoned transaction after 60 s. All stay under the 30 s a
 * worker's job lock lasts.
 */
const SESSION_BOUNDS: Record<string, string> = {
  connect_timeout: '5',
  keepalives: '1',
  keepalives_idle: '10',
  keepalives_interval: '5',
  keepalives_count: '3',
  tcp_user_timeout: '15000',
  options: '-c statement_timeout=20s -c idle_in_transaction_session_timeout=60s',
};

/** `url` (a postgresql:// address or a key=value conninfo) with the session's bounds where it sets none. */
export function sessionConninfo(url: string): string {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    // Appended percent-encoded: URLSearchParams writes a space as "+", which libpq does not read as one.
    const { searchParams } = new URL(url);
    const added = Object.entries(SESSION_BOUNDS).filter(([key]) => !searchParams.has(key)).map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
    if (added.length === 0) return url;
    const [base, fragment] = url.split('#', 2) as [string, string | undefined];
    return `${base}${base.includes('?') ? '&' : '?'}${added.join('&')}${fragment === undefined ? '' : `#${fragment}`}`;
  }
  const given = new Set([...url.matchAll(/(?:^|\s)([a-z_]+)\s*=/g)].map((match) => match[1]));
  const added = Object.entries(SESSION_BOUNDS).filter(([key]) => !given.has(key)).map(([key, value]) => `${key}='${value.replace(/[\\']/g, '\\$&')}'`);
  return [url, ...added].filter(Boolean).join(' ');
}

/** Whether `db` is PostgreSQL, for the few statements whose SQL differs. */
export function isPg(db: Db): db is PgDatabase {
  return db instanceof PgDatabase;
}

/**
 * Brings one part of the PostgreSQL schema up to date: each part (the
 * engine's tables, hosted mode's tenants and secrets) numbers its own
 * migrations, applied in order, each in one transaction. An advisory lock
 * keeps two workers starting together from applying the same one twice.
 * A process checks each part of each database once: a worker's jobs open
 * sessions all day.
 */
export function migratePg(db: PgDatabase, part: string, migrations: readonly string[]): void {
  const key = `${db.url}\0${part}`;
  if (migrated.has(key)) return;
  db.transaction(() => {
    // A migration may build an index over every tenant's rows, and a process waits here while another migrates:
    // neither is a statement the session's timeout is meant for.
    db.exec(`SET LOCAL statement_timeout = 0`);
    db.prepare(`SELECT pg_advisory_xact_lock(hashtext('erp_sync_schema'))`).get();
    db.exec(`CREATE TABLE IF NOT EXISTS erp_sync_schema (part text PRIMARY KEY, version integer NOT NULL)`);
    const current = (db.prepare(`SELECT version FROM erp_sync_schema WHERE part = ?`).pluck().get(part) as number | undefined) ?? 0;
    for (let version = current; version < migrations.length; version++) db.exec(migrations[version]!);
    if (migrations.length > current) {
      db.prepare(`INSERT INTO erp_sync_schema (part, version) VALUES (?, ?) ON CONFLICT (part) DO UPDATE SET version = excluded.version`).run(part, migrations.length);
    }
  })();
  migrated.add(key);
}

/** The schema parts, by database and part, this process has brought up to date. */
const migrated = new Set<string>();
