import { hostname } from 'node:os';
import type { ConnectionConfig, TargetConfig } from '../config/config.js';
import { alertWebhookField, connectionSettings, readSettingsForView } from '../settings/schema.js';
import { connectionHealth } from '../model/health.js';
import { ExitCode, errorMessage } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { redact, registerSecret } from '../secrets/redact.js';
import type { SecretStore, SecretStoreKind } from '../secrets/store.js';
import type { Db } from '../store/db.js';
import {
  alertSeen, alertsToNotify, claimNotification, closeAlert, insertAlert, lastSuccessAt, noteNotifyError, openAlert, recentAttempts,
  recordNotification,
} from '../store/alerts.js';
import type { AlertKind, AlertRecord } from '../store/alerts.js';
import type { RunSummary } from '../model/run.js';

/**
 * Alerts: one row per incident, open until the connection has a successful
 * sync again with no offer parked. An incident opens when a connection fails
 * three runs in a row, when its credentials are rejected (77) or a safety
 * guard stops it (65), when an offer is parked as a dead letter, and when it
 * has had no successful sync for longer than its freshness window (a dead
 * timer runs nothing, so every command that opens the database checks).
 * A connection has at most one open alert: whatever else goes wrong while it
 * is open belongs to the same incident and is not announced again.
 *
 * If a webhook is configured, each alert is POSTed once when it opens and once
 * when it closes. Delivery never fails a run; what could not be sent is sent by
 * the next command that opens the database.
 */


export interface AlertSettings {
  /**
   * The connection's webhook, else a target's (every connection's),
   * else ERP_SYNC_ALERT_WEBHOOK. Read from the secret store only when a
   * notification is due; rejects when the store cannot be read.
   */
  webhook(): Promise<string | undefined>;
  /** No successful sync for longer than this opens an alert; 0 turns the check off. */
  freshnessMinutes: number;
}

export interface Alert {
  id: number;
  connection: string;
  kind: AlertKind;
  message: string;
  /** When the problem began: the first failing run, the last successful sync, or the run that hit it. */
  since: string;
  openedAt: string;
  lastSeenAt: string;
  closedAt: string | null;
  runId: number | null;
  /** The command that shows what went wrong. */
  command: string;
  hint: string | undefined;
  notifiedOpenAt: string | null;
  notifiedCloseAt: string | null;
  notifyError: string | null;
}

/** Runs that failed in a row before an alert opens (credentials and guards open one at once). */
const FAILED_RUNS_BEFORE_ALERT = 3;
/** Longer than any delivery can take (three attempts of five seconds plus backoff). */
const LEASE_MS = 60_000;

const m = defineMessages({
  en: {
    webhookUnreadable: 'the alert webhook could not be read from the secret store: {reason}',
    failing: '{count} runs in a row failed; the last one: {error}',
    credentials: 'the credentials were rejected: {error}',
    guarded: 'a safety guard stopped the sync: {error}',
    stale: 'no successful sync for more than {minutes} minutes (last: {last})',
    parked: '{count} offers are parked: the marketplace did not take them in repeated attempts; they wait for a change in the ERP or `erp-sync retry`',
    never: 'never',
    openedText: 'erp-sync: connection "{connection}" needs attention since {since}: {message} Investigate: {command}',
    closedText: 'erp-sync: connection "{connection}" recovered at {at}; the problem had lasted since {since} ({kind}).',
  },
  tr: {
    webhookUnreadable: 'uyarı webhook adresi gizli bilgi deposundan okunamadı: {reason}',
    failing: 'art arda {count} çalışma başarısız oldu; sonuncusu: {error}',
    credentials: 'kimlik bilgileri reddedildi: {error}',
    guarded: 'bir güvenlik sınırı eşitlemeyi durdurdu: {error}',
    stale: '{minutes} dakikadan uzun süredir başarılı bir eşitleme yok (son: {last})',
    parked: '{count} teklif bekletmede: pazaryeri tekrarlanan denemelerde bunları almadı; ERP\'de bir değişiklik ya da `erp-sync retry` bekliyorlar',
    never: 'hiç',
    openedText: 'erp-sync: "{connection}" bağlantısı {since} tarihinden beri ilgi bekliyor: {message} İncelemek için: {command}',
    closedText: 'erp-sync: "{connection}" bağlantısı {at} itibarıyla düzeldi; sorun {since} tarihinden beri sürüyordu ({kind}).',
  },
});

/**
 * The webhook of connections without their own: the first target's that has
 * one (the offer API's `marketplace` sorts among them by name), else
 * ERP_SYNC_ALERT_WEBHOOK. Read once, when first needed.
 */
function fallbackWebhook(targets: readonly TargetConfig[], secretStore: (kind: SecretStoreKind) => SecretStore): () => Promise<string | undefined> {
  let webhook: Promise<string | undefined> | undefined;
  const read = async () => {
    for (const target of targets) {
      const value = await secretStore(target.secretStore).get(target.name, alertWebhookField.name);
      if (value) return value;
    }
    return process.env.ERP_SYNC_ALERT_WEBHOOK || undefined;
  };
  return () => (webhook ??= read());
}

export function alertSettings(
  connection: ConnectionConfig,
  targets: readonly TargetConfig[],
  secretStore: (kind: SecretStoreKind) => SecretStore,
  fallback = fallbackWebhook(targets, secretStore),
): AlertSettings {
  let webhook: Promise<string | undefined> | undefined;
  const read = async () => {
    const value = (await secretStore(connection.secretStore).get(connection.name, alertWebhookField.name)) ?? (await fallback());
    registerSecret(value);
    return value;
  };
  return { webhook: () => (webhook ??= read()), freshnessMinutes: freshnessMinutes(connection) };
}

/** No successful sync for longer than this opens a `stale` alert; 0 turns the check off. */
function freshnessMinutes(connection: ConnectionConfig): number {
  return readSettingsForView(connectionSettings, connection.settings).freshnessMinutes;
}

/**
 * Called once at the end of every run: opens or closes this connection's
 * alert from the run's outcome, then sends whatever notification is due.
 * Dry runs and interrupted runs neither open nor close anything.
 */
export async function evaluateAlerts(db: Db, summary: RunSummary, settings: AlertSettings): Promise<void> {
  const { connection } = summary;
  if (!summary.dryRun && summary.status !== 'interrupted') {
    const now = new Date().toISOString();
    const open = openAlert(db, connection);
    // Parked offers keep an incident open: the sync works, but something is not reaching the marketplace.
    if (summary.exitCode === ExitCode.ok && summary.parked === 0) {
      if (open) closeAlert(db, open.id, now);
    } else if (open) {
      alertSeen(db, open.id, now);
    } else {
      const problem = problemOf(db, summary);
      if (problem) openIncident(db, connection, problem, now, summary.runId);
    }
  }
  await deliverPending(db, [{ name: connection, settings }]);
}

/**
 * Opens a `stale` alert for every connection without a successful sync in its
 * freshness window (counted from its creation if it never had one), then
 * sends the notifications still due for every connection. Never rejects.
 */
export function checkFreshness(
  db: Db,
  connections: readonly ConnectionConfig[],
  now: Date,
  targets: readonly TargetConfig[],
  secretStore: (kind: SecretStoreKind) => SecretStore,
): Promise<void> {
  const fallback = fallbackWebhook(targets, secretStore);
  const watched = connections.map((c) => ({ name: c.name, createdAt: c.createdAt, settings: alertSettings(c, targets, secretStore, fallback) }));
  for (const connection of watched) {
    const { freshnessMinutes } = connection.settings;
    if (!(freshnessMinutes > 0) || openAlert(db, connection.name)) continue;
    const last = lastSuccessAt(db, connection.name);
    const since = last ?? connection.createdAt;
    if (now.getTime() - Date.parse(since) <= freshnessMinutes * 60_000) continue;
    openIncident(db, connection.name, {
      kind: 'stale',
      since,
      message: m('stale', { minutes: freshnessMinutes, last: last ?? m('never') }),
      hint: undefined,
    }, now.toISOString(), null);
  }
  return deliverPending(db, watched);
}

interface Problem {
  kind: AlertKind;
  since: string;
  message: string;
  hint: string | undefined;
}

/** The run's health (one vocabulary with the web page and status) decides the kind; a failing run opens an alert only after three in a row. */
function problemOf(db: Db, summary: RunSummary): Problem | undefined {
  const error = summary.error?.message ?? summary.error?.code ?? '';
  const hint = summary.error?.hint;
  const health = connectionHealth({ lastFinished: summary, lastSuccessAt: null, freshnessMinutes: 0, parked: summary.parked, now: Date.now() });
  const parked = (): Problem | undefined =>
    summary.parked > 0 ? { kind: 'parked', since: summary.startedAt, message: m('parked', { count: summary.parked }), hint } : undefined;
  switch (health) {
    case 'credentials':
      return { kind: 'credentials', since: summary.startedAt, message: m('credentials', { error }), hint };
    case 'guarded':
      return { kind: 'guarded', since: summary.startedAt, message: m('guarded', { error }), hint };
    case 'parked':
      return parked();
    case 'failing': {
      const recent = recentAttempts(db, summary.connection, FAILED_RUNS_BEFORE_ALERT);
      if (recent.length < FAILED_RUNS_BEFORE_ALERT || recent.some((r) => r.exit_code === ExitCode.ok)) return parked();
      return { kind: 'failing', since: recent[recent.length - 1]!.started_at, message: m('failing', { count: FAILED_RUNS_BEFORE_ALERT, error }), hint };
    }
    default:
      return undefined;
  }
}

function openIncident(db: Db, connection: string, problem: Problem, now: string, runId: number | null): void {
  insertAlert(db, {
    connection, kind: problem.kind, message: problem.message, at: now, runId,
    detail: { since: problem.since, hint: problem.hint, command: commandFor(problem.kind, connection) },
  });
}

function commandFor(kind: AlertKind, connection: string): string {
  switch (kind) {
    case 'failing':
    case 'credentials':
      return `erp-sync logs --failed --connection ${connection}`;
    case 'guarded':
      return `erp-sync run --connection ${connection} --dry-run`;
    case 'parked':
      return `erp-sync logs --failed --code DEAD_LETTER --connection ${connection}`;
    case 'stale':
      return `erp-sync run --connection ${connection}`;
  }
}

function toAlert(row: AlertRecord): Alert {
  const detail = (row.detail ? JSON.parse(row.detail) : {}) as { since?: string; hint?: string; command?: string };
  return {
    id: row.id, connection: row.connection, kind: row.kind, message: row.message,
    since: detail.since ?? row.opened_at, openedAt: row.opened_at, lastSeenAt: row.last_seen_at, closedAt: row.closed_at,
    runId: row.run_id, command: detail.command ?? commandFor(row.kind, row.connection), hint: detail.hint,
    notifiedOpenAt: row.notified_open_at, notifiedCloseAt: row.notified_close_at, notifyError: row.notify_error,
  };
}

/** What a webhook receives: `text` for Slack and Teams, the rest for anything else. */
interface AlertPayload {
  text: string;
  event: 'alert.opened' | 'alert.closed';
  alertId: number;
  connection: string;
  problem: AlertKind;
  message: string;
  since: string;
  openedAt: string;
  closedAt: string | null;
  command: string;
  hint: string | null;
  host: string;
}

function payloadFor(alert: Alert, event: AlertPayload['event']): AlertPayload {
  const text = event === 'alert.opened'
    ? m('openedText', { connection: alert.connection, since: alert.since, message: withStop(alert.message), command: alert.command })
    : m('closedText', { connection: alert.connection, at: alert.closedAt ?? '', since: alert.since, kind: alert.kind });
  return {
    text, event, alertId: alert.id, connection: alert.connection, problem: alert.kind, message: alert.message, since: alert.since,
    openedAt: alert.openedAt, closedAt: alert.closedAt, command: alert.command, hint: alert.hint ?? null, host: hostname(),
  };
}

const withStop = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

// Deliveries within one process run one after another, so a recovery is never
// sent before the opening it follows (both can be due in the same command).
let deliveries: Promise<void> = Promise.resolve();

function deliverPending(db: Db, targets: readonly { name: string; settings: AlertSettings }[]): Promise<void> {
  const next = deliveries.then(async () => {
    for (const target of targets) {
      const due = alertsToNotify(db, target.name);
      if (due.length === 0) continue;
      let webhook: string | undefined;
      try {
        webhook = await target.settings.webhook();
      } catch (error) {
        // Shown by `status` beside the alert; the next command that can read the store sends it.
        noteNotifyError(db, due.map((row) => row.id), m('webhookUnreadable', { reason: errorMessage(error) }));
        continue;
      }
      if (webhook) for (const row of due) await deliver(db, row, webhook);
    }
  }).catch(() => undefined);
  deliveries = next;
  return next;
}

/**
 * Sends one notification under a lease, so two processes (a timer's run and
 * the web page) never send the same one twice. An open alert that closed
 * before its opening was ever sent is not announced at all.
 */
async function deliver(db: Db, row: AlertRecord, webhook: string): Promise<void> {
  const now = Date.now();
  if (!claimNotification(db, row.id, new Date(now).toISOString(), new Date(now + LEASE_MS).toISOString())) return;
  const event = row.closed_at === null ? 'alert.opened' : 'alert.closed';
  let error: string | null = null;
  try {
    await postJson(webhook, payloadFor(toAlert(row), event));
  } catch (cause) {
    error = redact(errorMessage(cause));
  }
  recordNotification(db, row.id, event === 'alert.opened' ? 'opened' : 'closed', error === null ? new Date().toISOString() : null, error);
}

async function postJson(webhook: string, payload: AlertPayload): Promise<void> {
  const url = new URL(webhook);
  // Loaded only when a notification is due: `status` and every other command that checks freshness start without an HTTP stack.
  const { HttpClient } = await import('../http/client.js');
  const http = new HttpClient({
    service: 'alert webhook',
    baseUrl: url.origin,
    retries: 2,
    minDelayMs: 500,
    maxDelayMs: 2000,
    connectTimeoutMs: 5000,
    timeoutMs: 5000,
    maxResponseBytes: 64 * 1024,
    connections: 1,
  });
  try {
    // Slack answers "ok" as plain text: the body is drained, never parsed as JSON.
    const { body } = await http.stream({ method: 'POST', path: url.pathname + url.search, json: payload });
    await process.getBuiltinModule('node:stream/promises').finished(body.resume());
  } finally {
    await http.close();
  }
}
