import { setImmediate } from 'node:timers/promises';
import type { Driver } from '../driver/contract.js';
import { createDriverContext, parseRateLimit } from '../driver/context.js';
import type { ConnectionConfig, MarketplaceConfig } from '../config/config.js';
import { MARKETPLACE } from '../config/config.js';
import { paths } from '../config/home.js';
import { ExitCode } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { MarketplaceClient } from '../marketplace/client.js';
import type { Offer } from '../marketplace/types.js';
import { productPipeline } from '../rules/apply.js';
import type { ProductPipeline } from '../rules/apply.js';
import { loadRules } from '../rules/store.js';
import { redact } from '../secrets/redact.js';
import type { SecretStore, SecretStoreKind } from '../secrets/store.js';
import type { Db } from '../store/db.js';
import { nowIso } from '../store/db.js';
import { pruneAfterRun } from '../store/retention.js';
import { alertSettings, evaluateAlerts } from './alerts.js';
import type { RunCounts } from './counts.js';
import { Diff } from './diff.js';
import type { DiffCounts } from './diff.js';
import { EventLog } from './events.js';
import { describeRunFailure } from './failure.js';
import type { Failure } from './failure.js';
import { LockHeldError, acquireLock } from './lock.js';
import { Pusher } from './push.js';
import type { PushCounters, PushStop } from './push.js';
import { marketplaceSecrets, resolveSecrets } from './secrets.js';
import { HeapKeeper } from './heap.js';
import { Stager } from './stage.js';
import type { StagedItem } from './stage.js';
import type { Validated } from './validate.js';

const m = defineMessages({
  en: {
    lockedHint: 'Nothing to do: the other run is syncing this connection.',
    noMarketplace: 'no marketplace is connected',
    noMarketplaceHint: 'Run `erp-sync connect marketplace --base-url URL` and set ERP_SYNC_MARKETPLACE_TOKEN.',
    massVanish: '{vanished} of {live} offers ({percent}%) are missing from the ERP\'s catalog, more than the {allowed}% allowed in one run; nothing was pushed',
    massVanishHint: 'If the products really were removed, run again with --allow-mass-vanish; otherwise check the ERP (an empty export, a changed filter).',
    undelivered: '{failed} offers were not delivered to the marketplace',
    undeliveredHint: 'They are sent again on the next run; `erp-sync logs --failed` lists them.',
    stopped: 'the run was stopped before every offer was pushed',
    stoppedHint: 'The next run sends the rest.',
    unavailable: 'Several batches in a row failed, so pushing stopped for this run ({failed} offers not delivered).',
    unavailableHint: 'Nothing is lost: the next run sends what is left.',
  },
  tr: {
    lockedHint: 'Yapılacak bir şey yok: diğer çalışma bu bağlantıyı senkronize ediyor.',
    noMarketplace: 'bağlı bir pazaryeri yok',
    noMarketplaceHint: '`erp-sync connect marketplace --base-url URL` komutunu çalıştırın ve ERP_SYNC_MARKETPLACE_TOKEN değişkenini tanımlayın.',
    massVanish: '{live} tekliften {vanished} tanesi (%{percent}) ERP kataloğunda yok; bu, bir çalışmada izin verilen %{allowed} sınırından fazla; hiçbir şey gönderilmedi',
    massVanishHint: 'Ürünler gerçekten kaldırıldıysa --allow-mass-vanish ile yeniden çalıştırın; değilse ERP\'yi kontrol edin (boş bir dışa aktarım, değişmiş bir filtre).',
    undelivered: '{failed} teklif pazaryerine ulaştırılamadı',
    undeliveredHint: 'Sonraki çalışmada yeniden gönderilirler; `erp-sync logs --failed` hepsini listeler.',
    stopped: 'çalışma, tekliflerin hepsi gönderilmeden durduruldu',
    stoppedHint: 'Kalanları sonraki çalışma gönderir.',
    unavailable: 'Art arda birkaç paket başarısız oldu, bu yüzden bu çalışmada gönderim durduruldu ({failed} teklif ulaştırılamadı).',
    unavailableHint: 'Hiçbir şey kaybolmadı: kalanları sonraki çalışma gönderir.',
  },
});

export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'guarded' | 'interrupted' | 'locked';

export interface RunSummary extends RunCounts {
  runId: number | null;
  connection: string;
  driver: string;
  status: RunStatus;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Time spent pulling and staging, and pushing (outbox replay included). */
  pullMs: number;
  pushMs: number;
  pullComplete: boolean;
  exitCode: ExitCode;
  error: { code: string; message: string; hint: string | undefined } | null;
  /** Peak resident memory of the process so far, in MB: memory stays flat as the catalog grows. */
  peakRssMb: number;
  /** With --dry-run: the first offers that would be pushed. */
  wouldPush?: (Offer & { kind: string })[];
}

export type RunProgress =
  | { phase: 'pull'; pages: number; products: number }
  | { phase: 'diff'; counts: DiffCounts; toPush: number }
  | { phase: 'push'; counters: PushCounters };

export interface RunSettings {
  /** Offers per marketplace request (the API allows at most 1000). */
  batchSize: number;
  /** Percent of live offers that may vanish in one run before the safety guard stops it. */
  massVanishPercent: number;
  maxConsecutiveFailures: number;
}

export interface RunRequest {
  db: Db;
  home: string;
  connection: ConnectionConfig;
  driver: Driver;
  marketplace: MarketplaceConfig | undefined;
  secretStore(kind: SecretStoreKind): SecretStore;
  dryRun?: boolean;
  resync?: boolean;
  allowMassVanish?: boolean;
  concurrency?: number | undefined;
  signal?: AbortSignal;
  onProgress?(progress: RunProgress): void;
  onWarning?(message: string): void;
}

export const DRY_RUN_SAMPLE = 20;

export function runSettings(connection: ConnectionConfig, marketplace: MarketplaceConfig | undefined): RunSettings {
  const number = (value: string | undefined, fallback: number) => (value === undefined || value === '' ? fallback : Number(value));
  return {
    batchSize: Math.min(1000, Math.max(1, number(marketplace?.settings.batchSize, 500))),
    massVanishPercent: number(connection.settings.massVanishPercent, 20),
    maxConsecutiveFailures: Math.max(1, number(marketplace?.settings.maxConsecutiveFailures, 3)),
  };
}

/**
 * One run for one connection: lock, pull and stage, diff, guard, push,
 * record. Never throws for anything a run can meet (an unreachable ERP,
 * rejected credentials, a failing marketplace): the summary says what
 * happened and which exit code it deserves.
 */
export async function runConnection(request: RunRequest): Promise<RunSummary> {
  const { db, connection, driver } = request;
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const summary: RunSummary = {
    runId: null, connection: connection.name, driver: driver.id, status: 'succeeded', dryRun: !!request.dryRun,
    startedAt, finishedAt: startedAt, durationMs: 0, pullMs: 0, pushMs: 0, pullComplete: false,
    pulled: 0, invalid: 0, new: 0, changed: 0, vanished: 0, unchanged: 0,
    pushed: 0, created: 0, updated: 0, pendingApproval: 0, rejected: 0, failed: 0,
    exitCode: ExitCode.ok, error: null, peakRssMb: 0,
  };

  let lock;
  try {
    lock = acquireLock(paths.locks(request.home), connection.name);
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    return finishWithoutRun(summary, 'locked', {
      code: 'LOCKED', message: error.message, hint: m('lockedHint'), exitCode: ExitCode.tempFail,
    });
  }

  try {
    // Any run still marked running holds no lock any more: it was killed.
    db.prepare(`UPDATE runs SET status = 'interrupted', error_code = 'INTERRUPTED', error_message = 'the process ended before the run finished', finished_at = ? WHERE connection = ? AND status = 'running'`)
      .run(nowIso(), connection.name);
    const runId = Number(
      db.prepare(`INSERT INTO runs (connection, driver, status, dry_run, resync, started_at, pid) VALUES (?, ?, 'running', ?, ?, ?, ?)`)
        .run(connection.name, driver.id, request.dryRun ? 1 : 0, request.resync ? 1 : 0, startedAt, process.pid).lastInsertRowid,
    );
    summary.runId = runId;
    const failure = await execute(request, summary, runId);
    const finished = finish(db, summary, started, failure);
    await evaluateAlerts(db, finished, alertSettings(connection, request.marketplace, request.secretStore));
    pruneAfterRun(db, connection.name, connection.settings);
    return finished;
  } finally {
    lock.release();
  }
}

async function execute(request: RunRequest, summary: RunSummary, runId: number): Promise<Failure | undefined> {
  const { db, connection, driver } = request;
  const settings = runSettings(connection, request.marketplace);
  const events = new EventLog(db, connection.name, runId);

  // Everything a run needs is checked before a single page is pulled.
  let secrets: Record<string, string>;
  let token: string | undefined;
  let products: ProductPipeline;
  try {
    // The connection's rules, compiled once: mapping, scope, price and stock act before staging, so the content hash covers the offer as pushed.
    products = productPipeline(driver, loadRules(request.home, connection.name));
    secrets = await resolveSecrets(connection.name, driver.fields, request.secretStore(connection.secretStore));
    if (!request.dryRun) {
      if (!request.marketplace) {
        return {
          code: 'MARKETPLACE_NOT_CONNECTED', message: m('noMarketplace'), hint: m('noMarketplaceHint'), exitCode: ExitCode.config,
        };
      }
      const store = request.secretStore(request.marketplace.secretStore);
      token = (await resolveSecrets(MARKETPLACE, marketplaceSecrets, store)).token;
    }
  } catch (error) {
    return describeRunFailure(error);
  }

  const ctx = createDriverContext({
    driver,
    connection: connection.name,
    baseUrl: connection.baseUrl,
    settings: connection.settings,
    secrets,
    concurrency: request.concurrency,
    signal: request.signal ?? new AbortController().signal,
    saveSecret: (field, value) => request.secretStore(connection.secretStore).set(connection.name, field, value),
    warn: (message) => request.onWarning?.(redact(message)),
  });

  // Pull: page by page into staging, one transaction per page.
  const stager = new Stager(db, connection.name, events);
  let pullFailure: Failure | undefined;
  let pages = 0;
  const pullStarted = Date.now();
  const heap = new HeapKeeper();
  try {
    for await (const page of driver.pullPages(ctx)) {
      // Staging is synchronous. First give the event loop a turn: the HTTP
      // client writes the request that this page's arrival started on the next
      // turn (undici checks a reused socket first), and other answers get read.
      await setImmediate();
      const validated: StagedItem[] = [];
      for (const record of page.records) {
        let items: Validated[];
        try {
          items = products(record, ctx);
        } catch (error) {
          stager.addUnreadable(record, error);
          continue;
        }
        // The record rides along on the item itself: no copy per product.
        for (const item of items) validated.push(Object.assign(item, { record }));
      }
      stager.addPage(validated);
      heap.check();
      pages++;
      request.onProgress?.({ phase: 'pull', pages, products: stager.pulled });
    }
    summary.pullComplete = true;
    stager.dropUnseen();
  } catch (error) {
    pullFailure = describeRunFailure(error);
  } finally {
    await ctx.close();
  }
  summary.pullMs = Date.now() - pullStarted;
  summary.pulled = stager.pulled;
  summary.invalid = stager.invalid;
  db.prepare(`UPDATE runs SET pulled = ?, invalid = ?, pull_complete = ?, erp_requests = ? WHERE id = ?`)
    .run(summary.pulled, summary.invalid, summary.pullComplete ? 1 : 0, ctx.http.stats.requests, runId);

  // Diff: counted while staging; vanished only counts after a complete pull.
  const diff = new Diff(db, connection.name, stager.counts);
  const { counts } = diff;
  const vanished = summary.pullComplete ? counts.vanished : 0;
  Object.assign(summary, { new: counts.new, changed: counts.changed, unchanged: counts.unchanged, vanished });
  const toPush = (request.resync ? counts.new + counts.changed + counts.unchanged : counts.new + counts.changed) + vanished;
  request.onProgress?.({ phase: 'diff', counts, toPush });

  if (vanished > 0 && !request.allowMassVanish && vanished * 100 > counts.live * settings.massVanishPercent) {
    return {
      code: 'MASS_VANISH',
      message: m('massVanish', { vanished, live: counts.live, percent: Math.round((vanished * 100) / counts.live), allowed: String(settings.massVanishPercent) }),
      hint: m('massVanishHint'),
      exitCode: ExitCode.safety,
    };
  }

  if (request.dryRun) {
    summary.wouldPush = sample(diff, !!request.resync, summary.pullComplete);
    return pullFailure;
  }

  const client = new MarketplaceClient({
    baseUrl: request.marketplace!.baseUrl,
    token: token!,
    retries: optionalNumber(request.marketplace!.settings.retries),
    retryMinDelayMs: optionalNumber(request.marketplace!.settings.retryMinDelayMs),
    timeoutMs: optionalNumber(request.marketplace!.settings.timeoutMs),
    rateLimit: request.marketplace!.settings.rateLimit ? parseRateLimit(request.marketplace!.settings.rateLimit) : undefined,
    // No abort signal: a stop request lets the batch in flight finish and be recorded.
  });
  const pusher = new Pusher({
    db, connection: connection.name, runId, client, events, diff,
    batchSize: settings.batchSize,
    maxConsecutiveFailures: settings.maxConsecutiveFailures,
    signal: request.signal,
    onBatch: (counters) => {
      db.prepare(`UPDATE runs SET pushed = ?, created = ?, updated = ?, pending_approval = ?, rejected = ?, failed = ? WHERE id = ?`)
        .run(counters.pushed, counters.created, counters.updated, counters.pendingApproval, counters.rejected, counters.failed, runId);
      request.onProgress?.({ phase: 'push', counters });
    },
  });
  let stop: PushStop | undefined;
  const pushStarted = Date.now();
  try {
    stop = (await pusher.replayOutbox()) ?? (await pusher.pushDiff(!!request.resync, summary.pullComplete));
  } finally {
    Object.assign(summary, pusher.counters);
    summary.pushMs = Date.now() - pushStarted;
    db.prepare(`UPDATE runs SET push_requests = ?, push_bytes = ? WHERE id = ?`).run(client.stats.requests, client.stats.bytesSent, runId);
    await client.close();
  }

  if (pullFailure) return pullFailure;
  if (stop) return describeStop(stop, pusher.counters.failed);
  if (pusher.counters.failed > 0) {
    return {
      code: 'UNDELIVERED',
      message: m('undelivered', { failed: pusher.counters.failed }),
      hint: m('undeliveredHint'),
      exitCode: ExitCode.tempFail,
    };
  }
  return undefined;
}

function describeStop(stop: PushStop, failed: number): Failure {
  if (stop.reason === 'interrupted') {
    return { code: 'INTERRUPTED', message: m('stopped'), hint: m('stoppedHint'), exitCode: ExitCode.tempFail };
  }
  const failure = describeRunFailure(stop.error);
  if (stop.reason === 'unavailable') {
    return {
      ...failure,
      code: 'MARKETPLACE_UNAVAILABLE',
      message: `${failure.message} ${m('unavailable', { failed })}`,
      hint: m('unavailableHint'),
    };
  }
  return failure;
}

function sample(diff: Diff, resync: boolean, includeVanished: boolean): (Offer & { kind: string })[] {
  const changed = diff.changedAfter('', DRY_RUN_SAMPLE, resync).map((r) => ({
    kind: resync ? 'resync' : r.prev_hash ? 'changed' : 'new',
    barcode: r.barcode, sku: r.sku, name: r.name, price: r.price, currency: r.currency, vatRate: Number(r.vat_rate),
    priceIncludesVat: r.price_includes_vat === 1, stock: r.stock, active: r.active === 1,
  }));
  const vanished = includeVanished
    ? diff.vanishedAfter('', DRY_RUN_SAMPLE - changed.length).map((r) => ({
        kind: 'vanished', barcode: r.barcode, sku: r.sku, name: r.name, price: r.price, currency: r.currency,
        vatRate: Number(r.vat_rate), priceIncludesVat: r.price_includes_vat === 1, stock: 0, active: false,
      }))
    : [];
  return [...changed, ...vanished];
}

function finish(db: Db, summary: RunSummary, started: number, failure: Failure | undefined): RunSummary {
  summary.finishedAt = nowIso();
  summary.durationMs = Date.now() - started;
  summary.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  if (failure) {
    summary.exitCode = failure.exitCode;
    summary.error = { code: failure.code, message: redact(failure.message), hint: failure.hint };
    summary.status =
      failure.exitCode === ExitCode.safety ? 'guarded'
      : failure.code === 'INTERRUPTED' ? 'interrupted'
      : summary.pushed > 0 || failure.code === 'UNDELIVERED' ? 'partial'
      : 'failed';
  }
  db.prepare(
    `UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, pulled = ?, invalid = ?, new = ?, changed = ?, vanished = ?, unchanged = ?,
       pushed = ?, created = ?, updated = ?, pending_approval = ?, rejected = ?, failed = ?, exit_code = ?, error_code = ?, error_message = ?
     WHERE id = ?`,
  ).run(
    summary.status, summary.finishedAt, summary.durationMs, summary.pulled, summary.invalid, summary.new, summary.changed, summary.vanished,
    summary.unchanged, summary.pushed, summary.created, summary.updated, summary.pendingApproval, summary.rejected, summary.failed,
    summary.exitCode, summary.error?.code ?? null, summary.error?.message ?? null, summary.runId,
  );
  return summary;
}

function finishWithoutRun(summary: RunSummary, status: RunStatus, failure: Failure): RunSummary {
  summary.status = status;
  summary.exitCode = failure.exitCode;
  summary.error = { code: failure.code, message: failure.message, hint: failure.hint };
  return summary;
}

function optionalNumber(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}
