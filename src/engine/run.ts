import { setImmediate } from 'node:timers/promises';
import type { Driver } from '../driver/contract.js';
import { connectionSettings, marketplaceSettings, readSettings, settingsOwner } from '../settings/schema.js';
import type { ConnectionSettings, MarketplaceSettings } from '../settings/schema.js';
import type { ConnectionConfig, MarketplaceConfig } from '../config/config.js';
import { MARKETPLACE } from '../config/config.js';
import { paths } from '../config/home.js';
import { ExitCode } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import { marketplaceClient } from '../marketplace/client.js';
import type { Offer } from '../marketplace/types.js';
import { productPipeline } from './pipeline.js';
import type { ProductPipeline } from './pipeline.js';
import { loadRules } from '../rules/store.js';
import { redact } from '../secrets/redact.js';
import type { SecretStore, SecretStoreKind } from '../secrets/store.js';
import type { Db } from '../store/db.js';
import { nowIso } from '../store/db.js';
import { pruneAfterRun } from '../store/retention.js';
import { alertSettings, evaluateAlerts } from './alerts.js';
import type { RunProgress, RunStatus, RunSummary } from '../model/run.js';
import { toOffer, withdrawn } from '../model/product.js';
import { Diff } from '../store/diff.js';
import { liveOffers, parkedOffers } from '../store/delivery.js';
import { finishRun, lastCompletePull, pushRecorder, recordPull, recordPushTraffic, startRun } from '../store/runs.js';
import { EventLog } from '../store/items.js';
import { describeRunFailure } from './failure.js';
import type { Failure } from './failure.js';
import { LockHeldError, acquireLock } from '../lock/lock.js';
import { Pusher } from './push.js';
import type { PushStop } from './push.js';
import { marketplaceSecrets, resolveSecrets } from './secrets.js';
import { openPull } from './pull.js';
import { HeapKeeper } from './heap.js';
import { Stager } from './stage.js';
import type { StagedItem } from './stage.js';
import type { Validated } from '../model/validated.js';

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
    unavailable: 'The marketplace is not taking batches, so pushing stopped for this run ({failed} offers not delivered).',
    unavailableHint: 'Nothing is lost: the next run sends what is left.',
    deadline: 'the run reached its time limit of {minutes} minutes (runTimeoutMinutes) and stopped cleanly',
    deadlineHint: 'What it did is recorded and the next run goes on from there. If runs need longer, raise it: erp-sync connect {driver} --name {connection} --set runTimeoutMinutes=N',
    lockLost: 'another process took this run\'s lock over (this one was paused too long, or the lock file was removed), so it stopped',
    lockLostHint: 'Nothing is lost: the other run, or the next one, goes on. If this machine sleeps or is suspended during runs, keep it awake.',
    runaway: 'the ERP sent more than {limit} products ({reason}) and the pull was stopped; nothing was pushed',
    runawayGrowth: 'far more than the {last} of the last complete pull; maxPullGrowthPercent is {percent}',
    runawayFirst: 'the most a first pull takes',
    runawayHint: 'If the catalog really grew that much, raise the limit: erp-sync connect {driver} --name {connection} --set {setting}=N. Otherwise the ERP is sending pages over and over; tell its vendor.',
    samePage: 'the ERP sent the same page twice in a row (after {pages} pages); the pull was stopped so that nothing is counted twice',
    samePageHint: 'The ERP may be ignoring the page number. The next run tries again; if it persists, send this to the ERP vendor.',
    notUtf8: '{count} characters of the ERP\'s answers were not valid UTF-8 and were read as "\uFFFD"; products with such names or codes may look wrong on the marketplace. Check the encoding the ERP sends (it should be UTF-8).',
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
    unavailable: 'Pazaryeri paketleri almıyor, bu yüzden bu çalışmada gönderim durduruldu ({failed} teklif ulaştırılamadı).',
    unavailableHint: 'Hiçbir şey kaybolmadı: kalanları sonraki çalışma gönderir.',
    deadline: 'çalışma {minutes} dakikalık süre sınırına (runTimeoutMinutes) ulaştı ve düzgünce durdu',
    deadlineHint: 'Yaptıkları kaydedildi; sonraki çalışma oradan devam eder. Çalışmalar daha uzun sürmeliyse sınırı artırın: erp-sync connect {driver} --name {connection} --set runTimeoutMinutes=N',
    lockLost: 'bu çalışmanın kilidini başka bir işlem devraldı (bu işlem çok uzun süre duraklatıldı ya da kilit dosyası silindi), bu yüzden durdu',
    lockLostHint: 'Hiçbir şey kaybolmadı: diğer çalışma ya da bir sonraki devam eder. Bu makine çalışmalar sırasında uykuya geçiyorsa uyanık kalmasını sağlayın.',
    runaway: 'ERP {limit} üründen fazlasını gönderdi ({reason}); ürün alımı durduruldu, hiçbir şey gönderilmedi',
    runawayGrowth: 'son tam alımdaki {last} ürünün çok üstünde; maxPullGrowthPercent {percent}',
    runawayFirst: 'ilk alımda izin verilen en fazla ürün sayısı',
    runawayHint: 'Katalog gerçekten bu kadar büyüdüyse sınırı artırın: erp-sync connect {driver} --name {connection} --set {setting}=N. Büyümediyse ERP aynı sayfaları tekrar tekrar gönderiyor; ERP firmasına bildirin.',
    samePage: 'ERP aynı sayfayı art arda iki kez gönderdi ({pages} sayfadan sonra); hiçbir şey iki kez sayılmasın diye ürün alımı durduruldu',
    samePageHint: 'ERP sayfa numarasını dikkate almıyor olabilir. Sonraki çalışma yeniden dener; sürerse bunu ERP firmasına gönderin.',
    notUtf8: 'ERP yanıtlarındaki {count} karakter geçerli UTF-8 değildi ve "\uFFFD" olarak okundu; bu adlara veya kodlara sahip ürünler pazaryerinde bozuk görünebilir. ERP\'nin gönderdiği karakter kodlamasını kontrol edin (UTF-8 olmalı).',
  },
});

/** What a run reads of the connection's and the marketplace's settings. */
export interface RunSettings {
  connection: ConnectionSettings;
  marketplace: MarketplaceSettings;
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

function runSettings(connection: ConnectionConfig, marketplace: MarketplaceConfig | undefined): RunSettings {
  return {
    connection: readSettings(connectionSettings, connection.settings, settingsOwner(connection)),
    marketplace: readSettings(marketplaceSettings, marketplace?.settings ?? {}, settingsOwner(undefined)),
  };
}

/** The longest a timer can wait (about 24.8 days): a longer time limit is as good as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A pull this much larger than the last complete one is an ERP sending pages over and over, not a catalog. */
const PULL_GROWTH_FLOOR = 1000;

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
    exitCode: ExitCode.ok, error: null, peakRssMb: 0, parked: 0, warnings: [],
  };

  // A setting the schema refuses (config.json edited by hand) fails the run, recorded like any other failure.
  let settings: RunSettings | undefined;
  let refused: Failure | undefined;
  try {
    settings = runSettings(connection, request.marketplace);
  } catch (error) {
    refused = describeRunFailure(error);
  }
  // The run stops like on a signal (Ctrl-C, systemctl stop) at its time limit, or when its lock was taken over.
  const lockLost = new AbortController();
  const deadline = new AbortController();
  const minutes = settings?.connection.runTimeoutMinutes ?? 0;
  const timer = minutes > 0 ? setTimeout(() => deadline.abort(), Math.min(minutes * 60_000, MAX_TIMER_MS)).unref() : undefined;
  const signal = AbortSignal.any([lockLost.signal, deadline.signal, ...(request.signal ? [request.signal] : [])]);
  let lock;
  try {
    lock = acquireLock(paths.locks(request.home), connection.name, { onLost: () => lockLost.abort() });
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    return finishWithoutRun(summary, 'locked', {
      code: 'LOCKED', message: error.message, hint: m('lockedHint'), exitCode: ExitCode.tempFail,
    });
  }

  try {
    const runId = startRun(db, { connection: connection.name, driver: driver.id, dryRun: !!request.dryRun, resync: !!request.resync, startedAt, at: nowIso() });
    summary.runId = runId;
    const failure = refused ?? (await execute({ ...request, signal }, settings!, summary, runId, () => lock.held()));
    const stopped: Failure | undefined = deadline.signal.aborted ? timedOut(request, minutes)
      : lockLost.signal.aborted ? { code: 'LOCK_LOST', message: m('lockLost'), hint: m('lockLostHint'), exitCode: ExitCode.tempFail }
      : undefined;
    const finished = finish(db, summary, started, stopped ?? failure);
    await evaluateAlerts(db, finished, alertSettings(connection, request.marketplace, request.secretStore));
    pruneAfterRun(db, connection.name, connection.settings);
    return finished;
  } finally {
    clearTimeout(timer);
    lock.release();
  }
}

function timedOut(request: RunRequest, minutes: number): Failure {
  const names = { driver: request.driver.id, connection: request.connection.name };
  return {
    code: 'RUN_TIMEOUT',
    message: m('deadline', { minutes: String(minutes) }),
    hint: m('deadlineHint', names),
    exitCode: ExitCode.tempFail,
  };
}

async function execute(request: RunRequest, settings: RunSettings, summary: RunSummary, runId: number, lockHeld: () => boolean): Promise<Failure | undefined> {
  const { db, connection, driver } = request;
  const events = new EventLog(db, connection.name, runId);

  // Everything a run needs is checked before a single page is pulled.
  let ctx: Awaited<ReturnType<typeof openPull>>;
  let token: string | undefined;
  let products: ProductPipeline;
  try {
    // The connection's rules, compiled once: mapping, scope, price and stock act before staging, so the content hash covers the offer as pushed.
    products = productPipeline(driver, loadRules(request.home, connection.name));
    ctx = await openPull({
      connection, driver, secrets: request.secretStore(connection.secretStore), concurrency: request.concurrency, signal: request.signal,
      warn: (message) => warn(summary, request, message),
    });
  } catch (error) {
    return describeRunFailure(error);
  }
  if (!request.dryRun) {
    try {
      if (!request.marketplace) {
        await ctx.close();
        return { code: 'MARKETPLACE_NOT_CONNECTED', message: m('noMarketplace'), hint: m('noMarketplaceHint'), exitCode: ExitCode.config };
      }
      token = (await resolveSecrets(MARKETPLACE, marketplaceSecrets, request.secretStore(request.marketplace.secretStore))).token;
    } catch (error) {
      await ctx.close();
      return describeRunFailure(error);
    }
  }

  // Pull: page by page into staging, one transaction per page.
  const stager = new Stager(db, connection.name, events);
  let pullFailure: Failure | undefined;
  let pages = 0;
  const pullStarted = Date.now();
  const heap = new HeapKeeper();
  const limit = pullLimit(db, connection.name, settings.connection);
  let previousPage: string | undefined;
  try {
    for await (const page of driver.pullPages(ctx)) {
      // Staging is synchronous. First give the event loop a turn: the HTTP
      // client writes the request that this page's arrival started on the next
      // turn (undici checks a reused socket first), and other answers get read.
      await setImmediate();
      const print = pageFingerprint(page.records);
      if (print !== undefined && print === previousPage) {
        pullFailure = { code: 'ERP_SAME_PAGE', message: m('samePage', { pages }), hint: m('samePageHint'), exitCode: ExitCode.tempFail };
        break;
      }
      previousPage = print;
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
      if (stager.pulled > limit.products) {
        summary.pulled = stager.pulled;
        return runaway(request, limit);
      }
    }
    if (!pullFailure) {
      summary.pullComplete = true;
      stager.dropUnseen();
    }
  } catch (error) {
    pullFailure = describeRunFailure(error);
  } finally {
    await ctx.close();
    if (ctx.http.stats.invalidUtf8 > 0) warn(summary, request, m('notUtf8', { count: ctx.http.stats.invalidUtf8 }));
  }
  summary.pullMs = Date.now() - pullStarted;
  summary.pulled = stager.pulled;
  summary.invalid = stager.invalid;
  recordPull(db, runId, { pulled: summary.pulled, invalid: summary.invalid, complete: summary.pullComplete, requests: ctx.http.stats.requests });

  // Diff: counted while staging; vanished only counts after a complete pull.
  const diff = new Diff(db, connection.name, stager.counts, runId);
  const { counts } = diff;
  const vanished = summary.pullComplete ? counts.vanished : 0;
  Object.assign(summary, { new: counts.new, changed: counts.changed, unchanged: counts.unchanged, vanished });
  const toPush = (request.resync ? counts.new + counts.changed + counts.unchanged : counts.new + counts.changed) + vanished;
  request.onProgress?.({ phase: 'diff', counts, toPush });

  if (vanished > 0 && !request.allowMassVanish && vanished * 100 > counts.live * settings.connection.massVanishPercent) {
    return {
      code: 'MASS_VANISH',
      message: m('massVanish', { vanished, live: counts.live, percent: Math.round((vanished * 100) / counts.live), allowed: String(settings.connection.massVanishPercent) }),
      hint: m('massVanishHint'),
      exitCode: ExitCode.safety,
    };
  }

  if (request.dryRun) {
    summary.wouldPush = sample(diff, !!request.resync, summary.pullComplete);
    return pullFailure;
  }

  // No abort signal: a stop request lets the batch in flight finish and be recorded.
  const client = marketplaceClient(request.marketplace!, token!);
  const recordPush = pushRecorder(db, runId);
  const pusher = new Pusher({
    db, connection: connection.name, runId, client, events, diff,
    batchSize: settings.marketplace.batchSize,
    maxConsecutiveFailures: settings.marketplace.maxConsecutiveFailures,
    maxAttempts: settings.marketplace.maxAttempts,
    signal: request.signal,
    lockHeld,
    onBatch: (counters) => {
      recordPush(counters);
      request.onProgress?.({ phase: 'push', counters });
    },
  });
  let stop: PushStop | undefined;
  const pushStarted = Date.now();
  try {
    stop = await pusher.push(!!request.resync, summary.pullComplete);
  } finally {
    Object.assign(summary, pusher.counters);
    summary.pushMs = Date.now() - pushStarted;
    recordPushTraffic(db, runId, client.stats);
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
  const changed = (['fresh', 'quarantined'] as const)
    .flatMap((walk) => diff.changedAfter('', DRY_RUN_SAMPLE, { all: resync, walk }))
    .slice(0, DRY_RUN_SAMPLE)
    .map((r) => ({ kind: resync ? 'resync' : r.prev_hash ? 'changed' : 'new', ...toOffer(r) }));
  const vanished = includeVanished
    ? diff.vanishedAfter('', DRY_RUN_SAMPLE - changed.length).map((r) => ({ kind: 'vanished', ...withdrawn(r) }))
    : [];
  return [...changed, ...vanished];
}

/** A non-fatal observation: shown at once, and kept with the run. */
function warn(summary: RunSummary, request: RunRequest, message: string): void {
  const clean = redact(message);
  summary.warnings.push(clean);
  request.onWarning?.(clean);
}

interface PullLimit {
  products: number;
  growthPercent: number;
  /** The last complete pull's size, when there was one. */
  last: number | undefined;
  setting: 'maxPullGrowthPercent' | 'maxProducts';
}

/** How many products a pull may bring before it counts as a runaway ERP: measured against the last complete pull. */
function pullLimit(db: Db, connection: string, settings: ConnectionSettings): PullLimit {
  // A dry run, or one a guard stopped (an empty export), is no measure of the catalog; the offers the marketplace holds are.
  const pulled = lastCompletePull(db, connection);
  const live = liveOffers(db, connection);
  const last = pulled === undefined && live === 0 ? undefined : Math.max(pulled ?? 0, live);
  const growthPercent = settings.maxPullGrowthPercent;
  if (last === undefined) return { products: settings.maxProducts, growthPercent, last, setting: 'maxProducts' };
  const growth = Math.ceil((last * growthPercent) / 100);
  return { products: last + Math.max(growth, PULL_GROWTH_FLOOR), growthPercent, last, setting: 'maxPullGrowthPercent' };
}

function runaway(request: RunRequest, limit: PullLimit): Failure {
  const names = { driver: request.driver.id, connection: request.connection.name };
  const reason = limit.last === undefined
    ? m('runawayFirst')
    : m('runawayGrowth', { percent: String(limit.growthPercent), last: limit.last });
  return {
    code: 'PULL_RUNAWAY',
    message: m('runaway', { limit: limit.products, reason }),
    hint: m('runawayHint', { ...names, setting: limit.setting }),
    exitCode: ExitCode.safety,
  };
}

/** A page told apart from the next without serializing it all: its size and its first and last records. */
function pageFingerprint(records: readonly unknown[]): string | undefined {
  if (records.length === 0) return undefined;
  try {
    return `${records.length}|${JSON.stringify(records[0])}|${JSON.stringify(records[records.length - 1])}`;
  } catch {
    // A record JSON cannot write (nested too deeply) is reported by staging; the check just skips this page.
    return undefined;
  }
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
  summary.parked = parkedOffers(db, summary.connection);
  finishRun(db, summary);
  return summary;
}

function finishWithoutRun(summary: RunSummary, status: RunStatus, failure: Failure): RunSummary {
  summary.status = status;
  summary.exitCode = failure.exitCode;
  summary.error = { code: failure.code, message: failure.message, hint: failure.hint };
  return summary;
}

