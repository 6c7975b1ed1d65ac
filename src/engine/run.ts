import { setImmediate } from 'node:timers/promises';
import type { Driver } from '../driver/contract.js';
import { connectionSettings, readSettings, settingsOwner } from '../settings/schema.js';
import type { ConnectionSettings } from '../settings/schema.js';
import type { ConnectionConfig, TargetConfig } from '../config/config.js';
import { paths } from '../config/home.js';
import { ExitCode } from '../errors/index.js';
import { defineMessages } from '../i18n/index.js';
import type { Offer } from '../marketplace/types.js';
import { productPipeline } from './pipeline.js';
import type { ProductPipeline } from './pipeline.js';
import { loadRules } from '../rules/store.js';
import type { Rules } from '../rules/types.js';
import { redact } from '../secrets/redact.js';
import type { SecretStore, SecretStoreKind } from '../secrets/store.js';
import type { Db } from '../store/db.js';
import { nowIso } from '../store/db.js';
import { pruneAfterRun } from '../store/retention.js';
import { alertSettings, evaluateAlerts } from './alerts.js';
import { emptyCounters } from '../model/run.js';
import type { PushCounters, RunProgress, RunStatus, RunSummary, TargetSummary } from '../model/run.js';
import { Diff } from '../store/diff.js';
import { parkedOffers } from '../store/delivery.js';
import { liveOffers } from '../store/snapshot.js';
import { applyTargetRules, finishRun, lastCompletePull, pushRecorder, recordPull, recordPushTraffic, recordTarget, startRun } from '../store/runs.js';
import { EventLog } from '../store/items.js';
import { describeRunFailure } from './failure.js';
import type { Failure } from './failure.js';
import { LockHeldError, acquireLock } from '../lock/lock.js';
import type { RunLock } from '../lock/lock.js';
import type { ErpAccount } from '../driver/context.js';
import type { SharedLimit } from '../http/limiter.js';
import { deliverToTarget, failedTarget, planTarget } from './deliver.js';
import type { TargetPlan } from './deliver.js';
import { shaperFor } from './shape.js';
import { openPull } from './pull.js';
import { HeapKeeper } from './heap.js';
import { Stager } from './stage.js';
import type { StagedItem } from './stage.js';
import type { Validated } from '../model/validated.js';

const m = defineMessages({
  en: {
    lockedHint: 'Nothing to do: the other run is syncing this connection.',
    noMarketplace: 'no marketplace is connected for connection "{connection}"',
    noMarketplaceHint: 'Connect one: `erp-sync connect trendyol`, `erp-sync connect hepsiburada`, `erp-sync connect n11`, or `erp-sync connect marketplace --base-url URL` for the offer API.',
    massVanish: '{vanished} of {live} offers ({percent}%) are missing from the ERP\'s catalog, more than the {allowed}% allowed in one run; nothing was pushed',
    massVanishHint: 'If the products really were removed, run again with --allow-mass-vanish; otherwise check the ERP (an empty export, a changed filter).',
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
    noMarketplace: '"{connection}" bağlantısı için bağlı bir pazaryeri yok',
    noMarketplaceHint: 'Bir pazaryeri bağlayın: `erp-sync connect trendyol`, `erp-sync connect hepsiburada`, `erp-sync connect n11` ya da teklif API\'si için `erp-sync connect marketplace --base-url URL`.',
    massVanish: '{live} tekliften {vanished} tanesi (%{percent}) ERP kataloğunda yok; bu, bir çalışmada izin verilen %{allowed} sınırından fazla; hiçbir şey gönderilmedi',
    massVanishHint: 'Ürünler gerçekten kaldırıldıysa --allow-mass-vanish ile yeniden çalıştırın; değilse ERP\'yi kontrol edin (boş bir dışa aktarım, değişmiş bir filtre).',
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

export interface RunRequest {
  db: Db;
  home: string;
  connection: ConnectionConfig;
  driver: Driver;
  /** The marketplaces this connection feeds. */
  targets: readonly TargetConfig[];
  secretStore(kind: SecretStoreKind): SecretStore;
  dryRun?: boolean;
  resync?: boolean;
  allowMassVanish?: boolean;
  concurrency?: number | undefined;
  signal?: AbortSignal;
  onProgress?(progress: RunProgress): void;
  onWarning?(message: string): void;
  /**
   * Takes the connection's run lock, throwing LockHeldError while another run
   * holds it; `onLost` is called if the lock is taken away mid-run, and the
   * run then stops as on a signal. By default the file lock under the home
   * (one machine); hosted mode gives a lock in PostgreSQL, held fleet-wide.
   */
  lock?(connection: string, options: { onLost(): void }): RunLock;
  /** The connection's rules; by default its rules file under the home. A throw fails the run like a bad rules file. */
  rules?(): Rules;
  /** A rate limit the ERP account shares beyond this process (hosted mode's fleet), on top of the run's own. */
  sharedLimit?(account: ErpAccount): SharedLimit | undefined;
}

export const DRY_RUN_SAMPLE = 20;


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
    ...emptyCounters(),
    exitCode: ExitCode.ok, error: null, peakRssMb: 0, parked: 0, warnings: [], awaiting: 0, targets: [],
  };

  // A setting the schema refuses (config.json edited by hand) fails the run, recorded like any other failure.
  let settings: ConnectionSettings | undefined;
  let refused: Failure | undefined;
  try {
    settings = readSettings(connectionSettings, connection.settings, settingsOwner(connection));
  } catch (error) {
    refused = describeRunFailure(error);
  }
  // The run stops like on a signal (Ctrl-C, systemctl stop) at its time limit, or when its lock was taken over.
  const lockLost = new AbortController();
  const deadline = new AbortController();
  const minutes = settings?.runTimeoutMinutes ?? 0;
  const timer = minutes > 0 ? setTimeout(() => deadline.abort(), Math.min(minutes * 60_000, MAX_TIMER_MS)).unref() : undefined;
  const signal = AbortSignal.any([lockLost.signal, deadline.signal, ...(request.signal ? [request.signal] : [])]);
  let lock: RunLock;
  try {
    const onLost = () => lockLost.abort();
    lock = request.lock ? request.lock(connection.name, { onLost }) : acquireLock(paths.locks(request.home), connection.name, { onLost });
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
    await evaluateAlerts(db, finished, alertSettings(connection, request.targets, request.secretStore));
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

async function execute(request: RunRequest, settings: ConnectionSettings, summary: RunSummary, runId: number, lockHeld: () => boolean): Promise<Failure | undefined> {
  const { db, connection, driver } = request;
  const events = new EventLog(db, connection.name, runId);

  // Everything a run needs is checked before a single page is pulled.
  let ctx: Awaited<ReturnType<typeof openPull>>;
  let products: ProductPipeline;
  let rules: Rules;
  try {
    // The connection's rules, compiled once: mapping, scope, price and stock act before staging, so the content hash covers the offer as pushed.
    rules = request.rules ? request.rules() : loadRules(request.home, connection.name);
    products = productPipeline(driver, rules);
    ctx = await openPull({
      connection, driver, secrets: request.secretStore(connection.secretStore), concurrency: request.concurrency, signal: request.signal,
      warn: (message) => warn(summary, request, message), sharedLimit: request.sharedLimit,
    });
  } catch (error) {
    return describeRunFailure(error);
  }

  // Each target's settings and secrets: one that cannot run fails on its own, and the others go on.
  const nameInErrors = request.targets.length > 1;
  const plans: TargetPlan[] = [];
  const unplanned: { summary: TargetSummary; failure: Failure }[] = [];
  for (const config of request.targets) {
    const plan = await planTarget(config, rules.targets[config.name], request.secretStore, { secrets: !request.dryRun });
    if ('plan' in plan) plans.push(plan.plan);
    else unplanned.push(failedTarget(config, plan.failure, nameInErrors));
  }
  for (const { summary: target } of unplanned) recordTarget(db, runId, target);
  if (!request.dryRun && plans.length === 0) {
    await ctx.close();
    summary.targets = unplanned.map((u) => u.summary);
    return unplanned[0]?.failure ?? { code: 'MARKETPLACE_NOT_CONNECTED', message: m('noMarketplace', { connection: connection.name }), hint: m('noMarketplaceHint'), exitCode: ExitCode.config };
  }
  // A target whose rules changed compares every offer again; only those whose shape changed are sent.
  if (!request.dryRun) for (const plan of plans) applyTargetRules(db, connection.name, plan.config.name, plan.rules?.fingerprint ?? '');

  // Pull: page by page into staging, one transaction per page. Without a target (a dry run), every product counts as new.
  const staged = plans.length > 0 ? plans.map((p) => p.config.name) : [''];
  const stager = new Stager(db, connection.name, events, staged);
  let pullFailure: Failure | undefined;
  let pages = 0;
  const pullStarted = Date.now();
  const heap = new HeapKeeper();
  const limit = pullLimit(db, connection.name, settings);
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

  // Diff, per target: counted while staging; vanished only counts after a complete pull.
  const diffs = staged.map((target, i) => new Diff(db, { connection: connection.name, target }, stager.counts[i]!, runId));
  const vanishedOf = (diff: Diff) => (summary.pullComplete ? diff.counts.vanished : 0);
  for (const diff of diffs) {
    const { counts } = diff;
    summary.new += counts.new;
    summary.changed += counts.changed;
    summary.unchanged += counts.unchanged;
    summary.vanished += vanishedOf(diff);
  }
  const toPush = diffs.reduce((n, d) => n + (request.resync ? d.counts.new + d.counts.changed + d.counts.unchanged : d.counts.new + d.counts.changed) + vanishedOf(d), 0);
  request.onProgress?.({ phase: 'diff', counts: diffs[0]!.counts, toPush });

  // The guard looks at the target that would lose the largest share of its live offers.
  const worst = diffs.reduce((a, b) => (vanishedOf(b) * Math.max(a.counts.live, 1) > vanishedOf(a) * Math.max(b.counts.live, 1) ? b : a));
  const vanished = vanishedOf(worst);
  const { live } = worst.counts;
  if (vanished > 0 && !request.allowMassVanish && vanished * 100 > live * settings.massVanishPercent) {
    return {
      code: 'MASS_VANISH',
      message: m('massVanish', { vanished, live, percent: Math.round((vanished * 100) / live), allowed: String(settings.massVanishPercent) }),
      hint: m('massVanishHint'),
      exitCode: ExitCode.safety,
    };
  }

  if (request.dryRun) {
    summary.wouldPush = plans.length > 0
      ? plans.flatMap((plan, i) => sample(diffs[i]!, plan, !!request.resync, summary.pullComplete))
      : sample(diffs[0]!, undefined, !!request.resync, summary.pullComplete);
    return pullFailure;
  }

  // Every target at once: a marketplace that is slow or down holds back only itself.
  const recordPush = pushRecorder(db, runId);
  const progress = new Map<string, PushCounters>();
  const pushStarted = Date.now();
  const delivered = await Promise.all(
    plans.map((plan, i) =>
      deliverToTarget({
        db, connection: connection.name, runId, plan, diff: diffs[i]!, counts: stager.counts[i]!, resync: !!request.resync,
        pullComplete: summary.pullComplete, nameInErrors, signal: request.signal, lockHeld,
        onBatch: (target, counters) => {
          progress.set(target, counters);
          recordPush(addUp([...progress.values()]));
          request.onProgress?.({ phase: 'push', target, counters });
        },
      }),
    ),
  );
  summary.pushMs = Date.now() - pushStarted;
  const results = [...delivered, ...unplanned];
  const order = new Map(request.targets.map((t, i) => [t.name, i]));
  summary.targets = results.map((r) => r.summary).sort((a, b) => order.get(a.target)! - order.get(b.target)!);
  Object.assign(summary, addUp(summary.targets));
  summary.awaiting = summary.targets.reduce((n, t) => n + t.awaiting, 0);
  recordPushTraffic(db, runId, { requests: summary.targets.reduce((n, t) => n + t.requests, 0), bytesSent: summary.targets.reduce((n, t) => n + t.bytes, 0) });

  if (pullFailure) return pullFailure;
  const failures = results.flatMap((r) => (r.failure ? [r.failure] : []));
  if (failures.length <= 1) return failures[0];
  // Several targets failed: the first one's code and exit status, every one's words.
  return { ...failures[0]!, message: failures.map((f) => f.message).join(' ') };
}

function addUp(counters: readonly PushCounters[]): PushCounters {
  const sum = emptyCounters();
  for (const c of counters) for (const key of Object.keys(sum) as (keyof PushCounters)[]) sum[key] += c[key];
  return sum;
}

/** The first offers a dry run would send to a target, after its rules. */
function sample(diff: Diff, plan: TargetPlan | undefined, resync: boolean, includeVanished: boolean): (Offer & { kind: string; target?: string })[] {
  const shaper = shaperFor({ kind: 'offer-api', settings: {} }, plan?.rules);
  const target = plan ? { target: plan.config.name } : {};
  const changed = (['fresh', 'quarantined'] as const)
    .flatMap((walk) => diff.changedAfter('', DRY_RUN_SAMPLE, { all: resync, walk }))
    .slice(0, DRY_RUN_SAMPLE)
    .flatMap((row) => {
      const shaped = shaper.changed(row, resync);
      return shaped.to === 'send' ? [{ kind: shaped.due.meta.kind, ...target, ...shaped.due.offer }] : [];
    });
  const vanished = includeVanished
    ? diff.vanishedAfter('', DRY_RUN_SAMPLE - changed.length).flatMap((row) => {
        const shaped = shaper.vanished(row);
        return shaped.to === 'send' ? [{ kind: 'vanished', ...target, ...shaped.due.offer }] : [];
      })
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

