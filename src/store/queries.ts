import { sqliteOf } from './db.js';
import type { Db, SqliteDb } from './db.js';
import { parkedOffers } from './delivery.js';
import { dialectOf } from './dialect.js';
import type { PushCounters, RunCounts } from '../model/run.js';
import type { NormalizedProduct } from '../model/product.js';

/**
 * Read models shared by the CLI (`logs`, `status`, `explain`) and the web
 * page. Every function reads only, returns plain camelCase objects ready for
 * JSON, and bounds its result with a limit so a 100k-item table never ends
 * up in memory at once.
 */

export interface RunRow extends RunCounts {
  id: number;
  connection: string;
  driver: string;
  /** running, succeeded, partial, failed, guarded, interrupted. */
  status: string;
  dryRun: boolean;
  resync: boolean;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  pullComplete: boolean;
  /** Offers sent to asynchronous marketplaces and not answered when the run ended. */
  awaiting: number;
  exitCode: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface ItemEventRow {
  id: number;
  runId: number;
  connection: string;
  /** The marketplace target of a delivery event; '' for what the pull found. */
  target: string;
  at: string;
  barcode: string | null;
  sku: string | null;
  name: string | null;
  /** pull, validate, push. */
  stage: string;
  /** invalid, warning, created, updated, pending_approval, rejected, not_listed, failed. */
  outcome: string;
  code: string | null;
  message: string | null;
  /** The relevant, already redacted, part of the ERP's or marketplace's answer. */
  detail: unknown;
}

/** An item whose latest outcome is a problem that still stands. */
export interface ProblemItem {
  connection: string;
  /** The target that refused or did not list the offer; '' for an invalid product (no target gets it). */
  target: string;
  /** The item's key: its barcode, else `sku:<SKU>`, else `name:<name>`. */
  item: string;
  barcode: string | null;
  sku: string | null;
  name: string | null;
  outcome: 'failed' | 'rejected' | 'not_listed' | 'invalid';
  code: string | null;
  message: string | null;
  runId: number;
  /** When the problem was last recorded (a persisting invalid product is recorded once, when it appeared). */
  at: string;
}

/** An offer the marketplace accepted into its approval queue and has not answered for since. */
export interface PendingItem {
  connection: string;
  target: string;
  barcode: string;
  sku: string;
  name: string;
  offerId: string | null;
  price: string;
  currency: string;
  stock: number;
  runId: number | null;
  /** When the marketplace answered pending_approval. */
  since: string;
}

export interface AlertRow {
  id: number;
  connection: string;
  kind: string;
  message: string;
  openedAt: string;
  lastSeenAt: string;
  runId: number | null;
  /** Why the webhook has not been told of this alert yet, when it was tried and failed. */
  notSent: string | null;
}

export interface ConnectionStatus {
  connection: string;
  /** The latest run that succeeded without a dry run: the last time the marketplace fully matched the ERP. */
  lastSuccess: RunRow | null;
  /** The latest run that was not a dry run, whatever its result (possibly still running). */
  lastRun: RunRow | null;
  /** The latest run that was not a dry run and is not running any more. */
  lastFinished: RunRow | null;
  failing: number;
  pendingApproval: number;
  /** Offers parked as dead letters: not sent until they change or `erp-sync retry` asks. */
  parked: number;
  openAlerts: AlertRow[];
  /** Each marketplace the connection delivered to, by name. */
  targets: TargetStatus[];
}

/** Where one connection stands with one marketplace target. */
export interface TargetStatus {
  target: string;
  kind: string;
  /** What the connection's latest run that reached this target did there. */
  lastRun: TargetRunRow | null;
  /** When a run last delivered everything due to this target. */
  lastSuccessAt: string | null;
  failing: number;
  pendingApproval: number;
  /** Offers this marketplace does not list: sent again only when they change, or on `erp-sync retry`. */
  notListed: number;
  parked: number;
  /** Offers sent and not answered yet. */
  awaiting: number;
}

/** What one run did for one target (the run_targets table). */
export interface TargetRunRow extends PushCounters {
  runId: number;
  target: string;
  kind: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  new: number;
  changed: number;
  vanished: number;
  unchanged: number;
  awaiting: number;
  parked: number;
  requests: number;
  bytes: number;
  durationMs: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface RunFilter {
  connection?: string | undefined;
  /** ISO timestamp: runs started at or after it. */
  since?: string | undefined;
  /** Default 20. */
  limit?: number | undefined;
  /** Dry runs are left out unless asked for. */
  includeDryRuns?: boolean | undefined;
}

export interface EventFilter {
  runId?: number | undefined;
  connection?: string | undefined;
  /** Only this target's delivery events (and the pull's, which concern every target). */
  target?: string | undefined;
  /** ISO timestamp: events at or after it. */
  since?: string | undefined;
  /** Matched against barcode, SKU and name; see {@link foldForSearch}. */
  search?: string | undefined;
  outcome?: string | readonly string[] | undefined;
  code?: string | undefined;
  /** Default 100. */
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface ItemFilter {
  connection?: string | undefined;
  /** Only this target's problems (and invalid products, which no target gets). */
  target?: string | undefined;
  /** With a target: only problems of delivering to it, not invalid products. */
  delivery?: boolean | undefined;
  search?: string | undefined;
  /** Error code; failed items only. */
  code?: string | undefined;
  /** Only these outcomes; failed items only. */
  outcomes?: readonly ProblemItem['outcome'][] | undefined;
  /** ISO timestamp: items whose problem (or wait for approval) was recorded at or after it. */
  since?: string | undefined;
  /** Default 100. */
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Turkish letters and their plain forms; İ and I both become i, as do i and ı. */
const PLAIN: Record<string, string> = {
  ç: 'c', Ç: 'c', ğ: 'g', Ğ: 'g', ı: 'i', İ: 'i', ö: 'o', Ö: 'o', ş: 's', Ş: 's', ü: 'u', Ü: 'u', â: 'a', Â: 'a', î: 'i', Î: 'i', û: 'u', Û: 'u',
};

/**
 * The form both sides of a search are compared in: Turkish letters to their
 * plain forms and everything in lower case, so the Turkish pairs İ/i and I/ı
 * match each other, and so do "kilim", "KİLİM" and an ASCII "KILIM" typed on
 * a foreign keyboard, or "cay" and "ÇAY". Runs once per row searched, hence
 * the table instead of Unicode normalization for the common letters.
 */
export function foldForSearch(text: string): string {
  return text.replace(/[^\x00-\x7f]/g, (c) => PLAIN[c] ?? c.normalize('NFD').replace(/\p{M}/gu, '')).toLowerCase();
}

const FOLD = 'erp_sync_fold';
const withFold = new WeakSet<SqliteDb>();

/** Registers the search folding as a deterministic SQLite function, once per connection; PostgreSQL's schema declares its own. */
function registerFold(db: Db): void {
  const sqlite = sqliteOf(db);
  if (!sqlite || withFold.has(sqlite)) return;
  sqlite.function(FOLD, { deterministic: true }, (value: unknown) => (typeof value === 'string' ? foldForSearch(value) : null));
  withFold.add(sqlite);
}

/** A bound WHERE clause assembled from optional filters. */
class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  add(clause: string, ...params: unknown[]): this {
    this.clauses.push(clause);
    this.params.push(...params);
    return this;
  }
  get sql(): string {
    return this.clauses.length > 0 ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

/**
 * Digits (a barcode, most stock codes) are the same in every case, so such a
 * search compares the columns as stored and skips calling into JavaScript
 * for each row.
 */
function searchClause(db: Db, where: Where, search: string | undefined, alias: string): void {
  const needle = search?.trim();
  if (!needle) return;
  const sql = dialectOf(db);
  if (/^[0-9 ._/-]+$/.test(needle)) {
    const column = (name: string) => sql.contains(`${alias}.${name}`, '?');
    where.add(`(${column('barcode')} OR ${column('sku')} OR ${column('name')})`, needle, needle, needle);
    return;
  }
  registerFold(db);
  const separator = sql.separator;
  where.add(
    sql.contains(`${FOLD}(coalesce(${alias}.barcode, '') || ${separator} || coalesce(${alias}.sku, '') || ${separator} || coalesce(${alias}.name, ''))`, '?'),
    foldForSearch(needle),
  );
}

/** How many rows of a table (with its alias) match; for paging, so limit and offset play no part. */
function countOf(db: Db, table: string, where: Where): number {
  return db.prepare(`SELECT count(*) FROM ${table} ${where.sql}`).pluck().get(...where.params) as number;
}

const limitOf = (limit: number | undefined, fallback: number) => Math.max(0, Math.floor(limit ?? fallback));
const offsetOf = (offset: number | undefined) => Math.max(0, Math.floor(offset ?? 0));

const RUN_COLUMNS = `id, connection, driver, status, dry_run, resync, started_at, finished_at, duration_ms, pull_complete, pulled, invalid,
  new, changed, vanished, unchanged, pushed, created, updated, pending_approval, rejected, not_listed, failed, awaiting,
  (SELECT coalesce(sum(t.submitted), 0) FROM run_targets t WHERE t.run_id = runs.id) AS submitted, exit_code, error_code, error_message`;

interface RunRecord {
  id: number; connection: string; driver: string; status: string; dry_run: number; resync: number; started_at: string;
  finished_at: string | null; duration_ms: number | null; pull_complete: number; pulled: number; invalid: number; new: number;
  changed: number; vanished: number; unchanged: number; pushed: number; created: number; updated: number; pending_approval: number;
  rejected: number; not_listed: number; failed: number; awaiting: number; submitted: number; exit_code: number | null;
  error_code: string | null; error_message: string | null;
}

function toRun(r: RunRecord): RunRow {
  return {
    id: r.id, connection: r.connection, driver: r.driver, status: r.status, dryRun: r.dry_run === 1, resync: r.resync === 1,
    startedAt: r.started_at, finishedAt: r.finished_at, durationMs: r.duration_ms, pullComplete: r.pull_complete === 1,
    pulled: r.pulled, invalid: r.invalid, new: r.new, changed: r.changed, vanished: r.vanished, unchanged: r.unchanged,
    pushed: r.pushed, created: r.created, updated: r.updated, pendingApproval: r.pending_approval, rejected: r.rejected,
    notListed: r.not_listed, failed: r.failed, awaiting: r.awaiting, submitted: r.submitted, exitCode: r.exit_code, errorCode: r.error_code,
    errorMessage: r.error_message,
  };
}

/** The latest runs, newest first. */
export function recentRuns(db: Db, filter: RunFilter = {}): RunRow[] {
  const where = new Where();
  if (filter.connection !== undefined) where.add('connection = ?', filter.connection);
  if (filter.since !== undefined) where.add('started_at >= ?', filter.since);
  if (!filter.includeDryRuns) where.add('dry_run = 0');
  const rows = db
    .prepare(`SELECT ${RUN_COLUMNS} FROM runs ${where.sql} ORDER BY id DESC LIMIT ?`)
    .all(...where.params, limitOf(filter.limit, 20)) as RunRecord[];
  return rows.map(toRun);
}

/** How many runs a connection has on record, dry runs included. */
export function countRuns(db: Db, connection: string): number {
  return db.prepare('SELECT count(*) FROM runs WHERE connection = ?').pluck().get(connection) as number;
}

/** How many runs delivered to a target, dry runs included. */
export function countTargetRuns(db: Db, target: string): number {
  return db.prepare('SELECT count(*) FROM run_targets WHERE target = ?').pluck().get(target) as number;
}

/** One run by id. */
export function getRun(db: Db, id: number): RunRow | undefined {
  const row = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as RunRecord | undefined;
  return row && toRun(row);
}

interface EventRecord {
  id: number; run_id: number; connection: string; target: string; at: string; barcode: string | null; sku: string | null; name: string | null;
  stage: string; outcome: string; code: string | null; message: string | null; detail: string | null;
}

function parseDetail(detail: string | null): unknown {
  if (detail === null) return null;
  try {
    return JSON.parse(detail);
  } catch {
    // Details longer than the stored limit are cut mid-JSON: the text is still what support needs.
    return detail;
  }
}

function toEvent(r: EventRecord): ItemEventRow {
  return {
    id: r.id, runId: r.run_id, connection: r.connection, target: r.target, at: r.at, barcode: r.barcode, sku: r.sku, name: r.name,
    stage: r.stage, outcome: r.outcome, code: r.code, message: r.message, detail: parseDetail(r.detail),
  };
}

function eventWhere(db: Db, filter: EventFilter): Where {
  const where = new Where();
  if (filter.runId !== undefined) where.add('e.run_id = ?', filter.runId);
  // The unary + keeps SQLite from reading every event of the connection through events_by_item and sorting them: newest-first by rowid stops at the limit.
  if (filter.connection !== undefined) where.add(`${dialectOf(db).notIndexed('e.connection')} = ?`, filter.connection);
  if (filter.target !== undefined) where.add(`e.target IN ('', ?)`, filter.target);
  if (filter.since !== undefined) where.add('e.at >= ?', filter.since);
  if (filter.code !== undefined) where.add('e.code = ?', filter.code);
  if (filter.outcome !== undefined) {
    const outcomes = typeof filter.outcome === 'string' ? [filter.outcome] : [...filter.outcome];
    where.add(`e.outcome IN (${outcomes.map(() => '?').join(', ') || 'NULL'})`, ...outcomes);
  }
  searchClause(db, where, filter.search, 'e');
  return where;
}

/** Item events, newest first. */
export function itemEvents(db: Db, filter: EventFilter = {}): ItemEventRow[] {
  const where = eventWhere(db, filter);
  const rows = db
    .prepare(
      `SELECT e.id, e.run_id, e.connection, e.target, e.at, e.barcode, e.sku, e.name, e.stage, e.outcome, e.code, e.message, e.detail
         FROM events e ${where.sql} ORDER BY e.id DESC LIMIT ? OFFSET ?`,
    )
    .all(...where.params, limitOf(filter.limit, 100), offsetOf(filter.offset)) as EventRecord[];
  return rows.map(toEvent);
}

/** How many item events match (for paging); limit and offset are ignored. */
export function countItemEvents(db: Db, filter: EventFilter = {}): number {
  return countOf(db, 'events e', eventWhere(db, filter));
}

function problemWhere(db: Db, filter: ItemFilter): Where {
  const where = new Where().add(`i.outcome IN ('failed', 'rejected', 'not_listed', 'invalid')`);
  if (filter.connection !== undefined) where.add('i.connection = ?', filter.connection);
  if (filter.target !== undefined) where.add(filter.delivery ? 'i.target = ?' : `i.target IN ('', ?)`, filter.target);
  if (filter.code !== undefined) where.add('i.code = ?', filter.code);
  if (filter.outcomes !== undefined) where.add(`i.outcome IN (${filter.outcomes.map(() => '?').join(', ') || 'NULL'})`, ...filter.outcomes);
  if (filter.since !== undefined) where.add('i.at >= ?', filter.since);
  // An invalid product stands while the latest pull has it invalid; a target's problem with it is moot meanwhile (no target gets it).
  where.add(
    `(CASE WHEN i.outcome = 'invalid' THEN i.barcode IS NULL OR i.barcode = ''
        OR EXISTS (SELECT 1 FROM staging s WHERE s.connection = i.connection AND s.barcode = i.barcode AND s.valid = 0)
      ELSE i.target = '' OR NOT EXISTS (SELECT 1 FROM staging s WHERE s.connection = i.connection AND s.barcode = i.barcode AND s.valid = 0) END)`,
  );
  searchClause(db, where, filter.search, 'i');
  return where;
}

/**
 * Problems that still stand: items whose latest outcome is failed, rejected or
 * invalid. A later success replaces the latest outcome, so a fixed item drops
 * out by itself; an invalid item also drops out once the latest pull no longer
 * has it, or has it valid again (an unchanged product is not pushed, so its
 * outcome would otherwise stay invalid). Invalid records without a barcode are
 * never staged and cannot be checked that way: they stay listed until a later
 * outcome replaces them.
 * Newest problem first.
 */
export function failedItems(db: Db, filter: ItemFilter = {}): ProblemItem[] {
  const where = problemWhere(db, filter);
  return db
    .prepare(
      `SELECT i.connection, i.target, i.item, i.barcode, i.sku, i.name, i.outcome, i.code, i.message, i.run_id AS "runId", i.at
         FROM item_state i ${where.sql} ORDER BY i.at DESC, i.item, i.target LIMIT ? OFFSET ?`,
    )
    .all(...where.params, limitOf(filter.limit, 100), offsetOf(filter.offset)) as ProblemItem[];
}

export function countFailedItems(db: Db, filter: ItemFilter = {}): number {
  return countOf(db, 'item_state i', problemWhere(db, filter));
}

/** The error codes among the failed items that match every filter but the code, sorted. */
export function failedCodes(db: Db, filter: ItemFilter = {}): string[] {
  const where = problemWhere(db, { ...filter, code: undefined }).add('i.code IS NOT NULL');
  return db.prepare(`SELECT DISTINCT i.code FROM item_state i ${where.sql} ORDER BY i.code`).pluck().all(...where.params) as string[];
}

function pendingWhere(db: Db, filter: ItemFilter): Where {
  const where = new Where().add(`p.status = 'pending_approval'`);
  if (filter.connection !== undefined) where.add('p.connection = ?', filter.connection);
  if (filter.target !== undefined) where.add('p.target = ?', filter.target);
  if (filter.since !== undefined) where.add('p.acked_at >= ?', filter.since);
  searchClause(db, where, filter.search, 'p');
  return where;
}

/**
 * Offers the marketplace holds for approval (the barcode is not in its master
 * catalog), per the snapshot: the marketplace's latest answer for each offer.
 */
export function pendingItems(db: Db, filter: ItemFilter = {}): PendingItem[] {
  const where = pendingWhere(db, filter);
  return db
    .prepare(
      `SELECT p.connection, p.target, p.barcode, p.sku, p.name, p.offer_id AS "offerId", p.price, p.currency, p.stock, p.run_id AS "runId", p.acked_at AS since
         FROM snapshot p ${where.sql} ORDER BY p.acked_at DESC, p.barcode LIMIT ? OFFSET ?`,
    )
    .all(...where.params, limitOf(filter.limit, 100), offsetOf(filter.offset)) as PendingItem[];
}

export function countPendingItems(db: Db, filter: ItemFilter = {}): number {
  return countOf(db, 'snapshot p', pendingWhere(db, filter));
}


/** Alerts not closed yet, oldest first. */
export function openAlerts(db: Db, connection?: string): AlertRow[] {
  const where = new Where().add('closed_at IS NULL');
  if (connection !== undefined) where.add('connection = ?', connection);
  return db
    .prepare(
      `SELECT id, connection, kind, message, opened_at AS "openedAt", last_seen_at AS "lastSeenAt", run_id AS "runId",
              CASE WHEN notified_open_at IS NULL THEN notify_error END AS "notSent"
         FROM alerts ${where.sql} ORDER BY opened_at, id`,
    )
    .all(...where.params) as AlertRow[];
}

const TARGET_RUN_COLUMNS = `t.run_id AS "runId", t.target, t.kind, t.status, r.started_at AS "startedAt", r.finished_at AS "finishedAt", t.new, t.changed,
  t.vanished, t.unchanged, t.submitted, t.pushed, t.created, t.updated, t.pending_approval AS "pendingApproval", t.rejected,
  t.not_listed AS "notListed", t.failed, t.awaiting, t.parked, t.requests, t.bytes, t.duration_ms AS "durationMs", t.error_code AS "errorCode",
  t.error_message AS "errorMessage"`;

/** What each target did in these runs, by run. */
export function targetRuns(db: Db, runIds: readonly number[]): Map<number, TargetRunRow[]> {
  const rows = db
    .prepare(`SELECT ${TARGET_RUN_COLUMNS} FROM run_targets t JOIN runs r ON r.id = t.run_id WHERE t.run_id IN (SELECT CAST(j.value AS INTEGER) FROM ${dialectOf(db).jsonValues('?', 'j')}) ORDER BY t.run_id, t.target`)
    .all(JSON.stringify(runIds)) as TargetRunRow[];
  const byRun = new Map<number, TargetRunRow[]>();
  for (const row of rows) byRun.set(row.runId, [...(byRun.get(row.runId) ?? []), row]);
  return byRun;
}

/**
 * Where a connection stands with each target it delivered to: `targets` are
 * the configured ones (a new target shows before its first run), beside every
 * target its runs and snapshot know.
 */
export function targetStatus(db: Db, connection: string, targets: readonly { name: string; kind: string }[] = []): TargetStatus[] {
  const known = db
    .prepare(
      `SELECT l.target, (SELECT t.kind FROM run_targets t WHERE t.run_id = l.last AND t.target = l.target) AS kind
         FROM (SELECT t.target, max(t.run_id) AS last FROM run_targets t JOIN runs r ON r.id = t.run_id WHERE r.connection = ? GROUP BY t.target) AS l
        ORDER BY l.target`,
    )
    .all(connection) as { target: string; kind: string }[];
  const kinds = new Map([...known.map((k) => [k.target, k.kind] as const), ...targets.map((t) => [t.name, t.kind] as const)]);
  const lastRun = db.prepare(
    `SELECT ${TARGET_RUN_COLUMNS} FROM run_targets t JOIN runs r ON r.id = t.run_id
      WHERE r.connection = ? AND t.target = ? AND r.dry_run = 0 AND t.status <> 'skipped' ORDER BY t.run_id DESC LIMIT 1`,
  );
  const lastSuccess = db.prepare(
    `SELECT max(r.finished_at) FROM run_targets t JOIN runs r ON r.id = t.run_id WHERE r.connection = ? AND t.target = ? AND t.status = 'succeeded' AND r.dry_run = 0`,
  ).pluck();
  const counts = db.prepare(
    `SELECT (SELECT count(*) FROM snapshot WHERE connection = :connection AND target = :target AND status = 'pending_approval') AS "pendingApproval",
            (SELECT count(*) FROM snapshot WHERE connection = :connection AND target = :target AND status = 'not_listed') AS "notListed",
            (SELECT coalesce(sum(offers), 0) FROM outbox WHERE connection = :connection AND target = :target AND submitted_at IS NOT NULL) AS awaiting`,
  );
  return [...kinds.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([target, kind]) => ({
    target,
    kind,
    lastRun: (lastRun.get(connection, target) as TargetRunRow | undefined) ?? null,
    lastSuccessAt: (lastSuccess.get(connection, target) as string | null) ?? null,
    failing: countFailedItems(db, { connection, target: target, delivery: true }),
    ...(counts.get({ connection, target }) as { pendingApproval: number; notListed: number; awaiting: number }),
    parked: parkedOffers(db, connection, target),
  }));
}

/** Every connection that has ever run, by name. */
export function knownConnections(db: Db): string[] {
  return (db.prepare(`SELECT DISTINCT connection FROM runs ORDER BY connection`).all() as { connection: string }[]).map((r) => r.connection);
}

/**
 * The state of each connection at a glance. `connections` are the configured
 * ones (so a connection that never ran still shows); without it, every
 * connection that has run.
 */
export function connectionStatus(
  db: Db,
  connections: readonly string[] = knownConnections(db),
  targets: (connection: string) => readonly { name: string; kind: string }[] = () => [],
): ConnectionStatus[] {
  const lastSuccess = db.prepare(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE connection = ? AND status = 'succeeded' AND dry_run = 0 ORDER BY id DESC LIMIT 1`,
  );
  const lastRun = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE connection = ? AND dry_run = 0 ORDER BY id DESC LIMIT 1`);
  const lastFinished = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE connection = ? AND dry_run = 0 AND status <> 'running' ORDER BY id DESC LIMIT 1`);
  return connections.map((connection) => {
    const success = lastSuccess.get(connection) as RunRecord | undefined;
    const last = lastRun.get(connection) as RunRecord | undefined;
    const finished = last && last.status !== 'running' ? last : (lastFinished.get(connection) as RunRecord | undefined);
    return {
      connection,
      lastSuccess: success ? toRun(success) : null,
      lastRun: last ? toRun(last) : null,
      lastFinished: finished ? toRun(finished) : null,
      failing: countFailedItems(db, { connection }),
      pendingApproval: countPendingItems(db, { connection }),
      parked: parkedOffers(db, connection),
      openAlerts: openAlerts(db, connection),
      targets: targetStatus(db, connection, targets(connection)),
    };
  });
}

/** What the latest pull holds for one product: the ERP's record and the normalized values. */
export interface StagedProduct {
  connection: string;
  barcode: string;
  sku: string;
  name: string;
  price: string | null;
  currency: string | null;
  vatRate: string | null;
  priceIncludesVat: boolean | null;
  stock: number | null;
  active: boolean | null;
  valid: boolean;
  errorCode: string | null;
  /** Content hash of the normalized values: equal to the acknowledged offer's when nothing changed since. */
  hash: string | null;
  /** The ERP's record as it arrived (JSON, possibly cut at 4,000 characters). */
  raw: unknown;
}

/** What the marketplace last acknowledged for one offer: the offer as pushed, and the answer. */
export interface AcknowledgedOffer extends NormalizedProduct {
  connection: string;
  /** Which marketplace acknowledged it. */
  target: string;
  /** created, updated, pending_approval, rejected, not_listed, unconfirmed. */
  status: string;
  hash: string;
  /** The staged product's content hash this offer was made from: equal to the staged hash when nothing changed since. */
  base: string | null;
  offerId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  ackedAt: string;
  runId: number | null;
}

/** A batch holding the offer, written but not answered yet: it is sent again on the next run. */
export interface WaitingBatch {
  connection: string;
  target: string;
  outboxId: number;
  /** For an asynchronous marketplace: when it was sent, and its id there (none while its fate is unknown). */
  submittedAt: string | null;
  ticket: string | null;
  runId: number;
  createdAt: string;
  attempts: number;
  lastError: string | null;
}

export interface ItemStateRow {
  connection: string;
  /** '' for what the pull found; the target's name for a delivery's outcome. */
  target: string;
  item: string;
  barcode: string | null;
  sku: string | null;
  name: string | null;
  outcome: string;
  code: string | null;
  message: string | null;
  runId: number;
  at: string;
}

export interface ProductExplanation {
  /** What the latest pull holds, per connection where the product was found. */
  staged: StagedProduct[];
  acknowledged: AcknowledgedOffer[];
  /** The latest outcome per connection and target. */
  state: ItemStateRow[];
  waiting: WaitingBatch[];
  /** Recent item events, newest first. */
  history: ItemEventRow[];
}

/**
 * Everything known about one product, found by exact barcode or SKU, across
 * connections unless one is given. The SKU is resolved to barcodes first so
 * the event history is read through the (connection, barcode) index.
 */
export function explainProduct(db: Db, key: string, options: { connection?: string | undefined; historyLimit?: number | undefined } = {}): ProductExplanation {
  const connections = options.connection === undefined ? knownConnections(db) : [options.connection];
  const staging = db.prepare(
    `SELECT s.connection, s.barcode, s.sku, s.name, s.price, s.currency, s.vat_rate, s.price_includes_vat, s.stock, s.active, s.valid,
            s.error_code, s.hash, r.raw
       FROM staging s LEFT JOIN staging_raw r ON r.connection = s.connection AND r.barcode = s.barcode
      WHERE s.connection = ? AND (s.barcode = ? OR s.sku = ?) ORDER BY s.barcode`,
  );
  const snapshot = db.prepare(
    `SELECT connection, target, barcode, sku, name, price, currency, vat_rate, price_includes_vat, stock, active, status, hash, base, offer_id,
            error_code, error_message, acked_at, run_id
       FROM snapshot WHERE connection = ? AND (barcode = ? OR sku = ?) ORDER BY barcode, target`,
  );
  const stateByItem = db.prepare(
    `SELECT connection, target, item, barcode, sku, name, outcome, code, message, run_id AS "runId", at FROM item_state WHERE connection = ? AND item = ? ORDER BY target`,
  );
  const stateBySku = db.prepare(
    `SELECT connection, target, item, barcode, sku, name, outcome, code, message, run_id AS "runId", at FROM item_state WHERE connection = ? AND sku = ? ORDER BY target`,
  );
  const outbox = db.prepare(
    `SELECT o.id, o.target, o.run_id, o.created_at, o.attempts, o.last_error, o.submitted_at, o.ticket
       FROM outbox_items i JOIN outbox o ON o.id = i.outbox_id WHERE i.connection = ? AND i.barcode = ? ORDER BY o.id`,
  );
  const eventsByBarcode = db.prepare(
    `SELECT id, run_id, connection, target, at, barcode, sku, name, stage, outcome, code, message, detail FROM events
      WHERE connection = ? AND barcode = ? ORDER BY id DESC LIMIT ?`,
  );
  const eventsWithoutBarcode = db.prepare(
    `SELECT id, run_id, connection, target, at, barcode, sku, name, stage, outcome, code, message, detail FROM events
      WHERE connection = ? AND barcode IS NULL AND sku = ? ORDER BY id DESC LIMIT ?`,
  );
  const historyLimit = limitOf(options.historyLimit, 20);
  const result: ProductExplanation = { staged: [], acknowledged: [], state: [], waiting: [], history: [] };

  for (const connection of connections) {
    const stagedRows = staging.all(connection, key, key) as {
      connection: string; barcode: string; sku: string; name: string; price: string | null; currency: string | null; vat_rate: string | null;
      price_includes_vat: number | null; stock: number | null; active: number | null; valid: number; error_code: string | null; hash: string | null;
      raw: string | null;
    }[];
    for (const r of stagedRows) {
      result.staged.push({
        connection, barcode: r.barcode, sku: r.sku, name: r.name, price: r.price, currency: r.currency, vatRate: r.vat_rate,
        priceIncludesVat: r.price_includes_vat === null ? null : r.price_includes_vat === 1, stock: r.stock,
        active: r.active === null ? null : r.active === 1, valid: r.valid === 1, errorCode: r.error_code, hash: r.hash, raw: parseDetail(r.raw),
      });
    }
    const snapshotRows = snapshot.all(connection, key, key) as {
      target: string; barcode: string; sku: string; name: string; price: string; currency: string; vat_rate: string; price_includes_vat: number;
      stock: number; active: number; status: string; hash: string; base: string | null; offer_id: string | null; error_code: string | null;
      error_message: string | null; acked_at: string; run_id: number | null;
    }[];
    for (const r of snapshotRows) {
      result.acknowledged.push({
        connection, target: r.target, barcode: r.barcode, sku: r.sku, name: r.name, price: r.price, currency: r.currency, vatRate: r.vat_rate,
        priceIncludesVat: r.price_includes_vat === 1, stock: r.stock, active: r.active === 1, status: r.status, hash: r.hash, base: r.base, offerId: r.offer_id,
        errorCode: r.error_code, errorMessage: r.error_message, ackedAt: r.acked_at, runId: r.run_id,
      });
    }

    const states = new Map<string, ItemStateRow>();
    const keep = (row: ItemStateRow) => states.set(`${row.target}\u001f${row.item}`, row);
    for (const row of stateBySku.all(connection, key) as ItemStateRow[]) keep(row);
    for (const row of stateByItem.all(connection, key) as ItemStateRow[]) keep(row);
    const barcodes = new Set<string>([
      ...stagedRows.map((r) => r.barcode),
      ...snapshotRows.map((r) => r.barcode),
      ...[...states.values()].flatMap((s) => (s.barcode ? [s.barcode] : [])),
    ]);
    for (const barcode of barcodes) {
      for (const row of stateByItem.all(connection, barcode) as ItemStateRow[]) keep(row);
    }
    result.state.push(...states.values());

    for (const barcode of barcodes) {
      const rows = outbox.all(connection, barcode) as {
        id: number; target: string; run_id: number; created_at: string; attempts: number; last_error: string | null; submitted_at: string | null; ticket: string | null;
      }[];
      for (const r of rows) {
        if (result.waiting.some((w) => w.outboxId === r.id)) continue;
        result.waiting.push({
          connection, target: r.target, outboxId: r.id, runId: r.run_id, createdAt: r.created_at, attempts: r.attempts, lastError: r.last_error,
          submittedAt: r.submitted_at, ticket: r.ticket,
        });
      }
    }

    const events = [
      ...[...barcodes].flatMap((barcode) => eventsByBarcode.all(connection, barcode, historyLimit) as EventRecord[]),
      ...(eventsWithoutBarcode.all(connection, key, historyLimit) as EventRecord[]),
    ];
    result.history.push(...events.map(toEvent));
  }
  result.history = result.history.sort((a, b) => b.id - a.id).slice(0, historyLimit);
  return result;
}

/** The latest run of each connection that pushed (succeeded or partial); dry runs push nothing and do not count. */
export function lastSyncs(db: Db): Map<string, { runId: number; status: 'succeeded' | 'partial'; finishedAt: string }> {
  const rows = db
    .prepare(
      `SELECT connection, id AS "runId", status, finished_at AS "finishedAt" FROM runs
       WHERE id IN (SELECT MAX(id) FROM runs WHERE status IN ('succeeded', 'partial') AND dry_run = 0 GROUP BY connection)`,
    )
    .all() as { connection: string; runId: number; status: 'succeeded' | 'partial'; finishedAt: string }[];
  return new Map(rows.map(({ connection, ...sync }) => [connection, sync]));
}

/**
 * When a connection started failing: the start of the first run after its
 * last success (or its first run ever), dry runs aside.
 */
export function failingSince(db: Db, connection: string, lastSuccessId: number | undefined): string | null {
  return db
    .prepare(`SELECT min(started_at) FROM runs WHERE connection = ? AND dry_run = 0 AND id > ? AND status <> 'running'`)
    .pluck()
    .get(connection, lastSuccessId ?? 0) as string | null;
}
