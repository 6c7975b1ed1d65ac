import type { TargetConfig } from '../config/config.js';
import { ExitCode } from '../errors/index.js';
import { HttpClient } from '../http/client.js';
import { defineMessages } from '../i18n/index.js';
import { marketplaceClient } from '../marketplace/client.js';
import type { TargetAdapter } from '../marketplace/target.js';
import { targetAdapter } from '../marketplace/targets.js';
import { emptyCounters } from '../model/run.js';
import type { PushCounters, StageCounts, TargetSummary } from '../model/run.js';
import type { TargetRules } from '../rules/types.js';
import type { SecretStore, SecretStoreKind } from '../secrets/store.js';
import { readSettings, settingsOwner, targetSettings } from '../settings/schema.js';
import type { TargetSettings } from '../settings/schema.js';
import type { Db } from '../store/db.js';
import { awaitingOffers, parkedOffers } from '../store/delivery.js';
import type { Diff } from '../store/diff.js';
import { EventLog } from '../store/items.js';
import { lastDelivery, recordTarget } from '../store/runs.js';
import { Dispatcher } from './dispatch.js';
import { describeRunFailure } from './failure.js';
import type { Failure } from './failure.js';
import { Pusher } from './push.js';
import type { PushStop } from './push.js';
import { marketplaceSecrets, resolveSecrets } from './secrets.js';
import { shaperFor } from './shape.js';

const m = defineMessages({
  en: {
    unknownKind: 'target "{target}" is of a kind this version does not know ({kind})',
    unknownKindHint: 'Update erp-sync, or remove the target with `erp-sync disconnect {target}`.',
    undelivered: '{failed} offers were not delivered to the marketplace',
    undeliveredNamed: '{failed} offers were not delivered to {target}',
    undeliveredHint: 'They are sent again on the next run; `erp-sync logs --failed` lists them.',
    stopped: 'the run was stopped before every offer was pushed',
    stoppedNamed: 'the run was stopped before every offer was sent to {target}',
    stoppedHint: 'The next run sends the rest.',
    unavailable: 'The marketplace is not taking batches, so pushing stopped for this run ({failed} offers not delivered).',
    unavailableNamed: '{target} is not taking offers, so sending to it stopped for this run ({failed} offers not delivered).',
    unavailableHint: 'Nothing is lost: the next run sends what is left.',
    unavailableNamedHint: 'Nothing is lost: the next run sends what is left. The other marketplaces were not held back.',
  },
  tr: {
    unknownKind: '"{target}" hedefi bu sürümün tanımadığı bir türde ({kind})',
    unknownKindHint: 'erp-sync\'i güncelleyin ya da hedefi `erp-sync disconnect {target}` ile kaldırın.',
    undelivered: '{failed} teklif pazaryerine ulaştırılamadı',
    undeliveredNamed: '{failed} teklif {target} hedefine ulaştırılamadı',
    undeliveredHint: 'Sonraki çalışmada yeniden gönderilirler; `erp-sync logs --failed` hepsini listeler.',
    stopped: 'çalışma, tekliflerin hepsi gönderilmeden durduruldu',
    stoppedNamed: 'çalışma, tekliflerin hepsi {target} hedefine gönderilmeden durduruldu',
    stoppedHint: 'Kalanları sonraki çalışma gönderir.',
    unavailable: 'Pazaryeri paketleri almıyor, bu yüzden bu çalışmada gönderim durduruldu ({failed} teklif ulaştırılamadı).',
    unavailableNamed: '{target} teklif almıyor, bu yüzden bu çalışmada ona gönderim durduruldu ({failed} teklif ulaştırılamadı).',
    unavailableHint: 'Hiçbir şey kaybolmadı: kalanları sonraki çalışma gönderir.',
    unavailableNamedHint: 'Hiçbir şey kaybolmadı: kalanları sonraki çalışma gönderir. Diğer pazaryerleri bekletilmedi.',
  },
});

/** A target ready for a run: its adapter (none for the offer API), settings, secrets and rules. */
export interface TargetPlan {
  config: TargetConfig;
  adapter: TargetAdapter | undefined;
  settings: TargetSettings;
  secrets: Record<string, string>;
  rules: TargetRules | undefined;
}

/** Minutes between deliveries a marketplace asks for, when the target does not set `minIntervalMinutes`. */
const DEFAULT_MIN_INTERVAL: Readonly<Record<string, number>> = { hepsiburada: 20 };

/**
 * Reads a target's settings and secrets before anything is pulled. A target
 * that cannot run (a setting edited by hand, a missing secret, a kind this
 * version does not know) fails on its own; the others go on.
 */
export async function planTarget(
  config: TargetConfig,
  rules: TargetRules | undefined,
  secretStore: (kind: SecretStoreKind) => SecretStore,
  options: { secrets: boolean },
): Promise<{ plan: TargetPlan } | { failure: Failure }> {
  try {
    const adapter = config.kind === 'offer-api' ? undefined : targetAdapter(config.kind);
    if (config.kind !== 'offer-api' && !adapter) {
      return { failure: { code: 'TARGET_UNKNOWN', message: m('unknownKind', { target: config.name, kind: config.kind }), hint: m('unknownKindHint', { target: config.name }), exitCode: ExitCode.config } };
    }
    const settings = readSettings(targetSettings, config.settings, settingsOwner(config));
    const fields = adapter ? adapter.fields : marketplaceSecrets;
    const secrets = options.secrets ? await resolveSecrets(config.name, fields, secretStore(config.secretStore)) : {};
    return { plan: { config, adapter, settings, secrets, rules } };
  } catch (error) {
    return { failure: describeRunFailure(error) };
  }
}

export interface DeliveryRequest {
  db: Db;
  connection: string;
  runId: number;
  plan: TargetPlan;
  diff: Diff;
  counts: StageCounts;
  resync: boolean;
  /** Vanished offers are withdrawn only after a complete pull. */
  pullComplete: boolean;
  /** Whether the summary names the target in its failure: when there is more than one. */
  nameInErrors: boolean;
  signal?: AbortSignal | undefined;
  lockHeld(): boolean;
  onBatch(target: string, counters: PushCounters): void;
}

/**
 * Delivers this run's difference to one target: the offer API through the
 * Pusher (answered at once, under Idempotency-Keys), Trendyol, Hepsiburada
 * and N11 through the Dispatcher (queued, answered later). Never throws for
 * what a target can meet: its summary says what happened.
 */
export async function deliverToTarget(request: DeliveryRequest): Promise<{ summary: TargetSummary; failure: Failure | undefined }> {
  const { db, connection, runId, plan, diff } = request;
  const { config, adapter, settings } = request.plan;
  const started = Date.now();
  const target = config.name;
  const events = new EventLog(db, connection, runId, target);
  const shaper = shaperFor(config, plan.rules);
  const onBatch = (counters: PushCounters) => request.onBatch(target, counters);
  const common = {
    db, connection, target, runId, events, diff, shaper, signal: request.signal, lockHeld: request.lockHeld, onBatch,
    maxConsecutiveFailures: settings.maxConsecutiveFailures,
  };
  let counters: PushCounters = emptyCounters();
  let stop: PushStop | undefined;
  let traffic = { requests: 0, bytesSent: 0 };
  let skipped = false;
  try {
    // The offer API answers each batch at once; the marketplaces answer later, through the dispatcher.
    let deliverer: Pusher | Dispatcher;
    let transport: { readonly stats: { requests: number; bytesSent: number }; close(): Promise<void> };
    if (!adapter) {
      const client = marketplaceClient(config, plan.secrets.token!);
      transport = client;
      deliverer = new Pusher({ ...common, client, batchSize: settings.batchSize, maxAttempts: settings.maxAttempts });
    } else {
      const http = new HttpClient({
        service: `${adapter.name} (${target})`,
        baseUrl: config.baseUrl || adapter.defaultBaseUrl,
        rateLimit: settings.rateLimit ?? adapter.rateLimit,
        retries: settings.retries,
        minDelayMs: settings.retryMinDelayMs,
        timeoutMs: settings.timeoutMs,
        connections: 2,
        ca: settings.caFile,
        connectTarget: settingsOwner(config).target,
      });
      transport = http;
      const interval = settings.minIntervalMinutes ?? DEFAULT_MIN_INTERVAL[adapter.kind] ?? 0;
      const last = lastDelivery(db, connection, target);
      skipped = interval > 0 && last !== undefined && Date.now() - Date.parse(last) < interval * 60_000;
      deliverer = new Dispatcher({
        ...common, adapter, session: adapter.open({ target, settings: config.settings, secrets: plan.secrets, http }),
        batchSize: Math.min(settings.batchSize, adapter.maxBatch), resultWaitMs: settings.resultWaitSeconds * 1000, submit: !skipped,
      });
    }
    try {
      stop = await deliverer.push(request.resync, request.pullComplete);
    } finally {
      counters = deliverer.counters;
      traffic = transport.stats;
      await transport.close();
    }
  } catch (error) {
    return finish(request, started, counters, traffic, skipped, describeRunFailure(error));
  }
  return finish(request, started, counters, traffic, skipped, failureOf(request, stop, counters));
}

/** What stopped a target, in words that name it when the run has more than one. */
function failureOf(request: DeliveryRequest, stop: PushStop | undefined, counters: PushCounters): Failure | undefined {
  const target = request.plan.config.name;
  const named = request.nameInErrors;
  const vars = { target, failed: counters.failed };
  if (stop?.reason === 'interrupted') return { code: 'INTERRUPTED', message: m(named ? 'stoppedNamed' : 'stopped', vars), hint: m('stoppedHint'), exitCode: ExitCode.tempFail };
  if (stop) {
    const failure = describeRunFailure(stop.error);
    if (stop.reason !== 'unavailable') return failure;
    return {
      ...failure, code: 'MARKETPLACE_UNAVAILABLE', message: `${failure.message} ${m(named ? 'unavailableNamed' : 'unavailable', vars)}`,
      hint: m(named ? 'unavailableNamedHint' : 'unavailableHint'),
    };
  }
  if (counters.failed > 0) return { code: 'UNDELIVERED', message: m(named ? 'undeliveredNamed' : 'undelivered', vars), hint: m('undeliveredHint'), exitCode: ExitCode.tempFail };
  return undefined;
}

function finish(
  request: DeliveryRequest,
  started: number,
  counters: PushCounters,
  traffic: { requests: number; bytesSent: number },
  skipped: boolean,
  failure: Failure | undefined,
): { summary: TargetSummary; failure: Failure | undefined } {
  const { db, connection, plan, diff } = request;
  const target = plan.config.name;
  const named = failure && request.nameInErrors && !failure.message.includes(target) ? { ...failure, message: `${target}: ${failure.message}` } : failure;
  const summary: TargetSummary = {
    target, kind: plan.config.kind, ...counters,
    status: named ? (named.code === 'INTERRUPTED' ? 'interrupted' : counters.pushed > 0 || named.code === 'UNDELIVERED' ? 'partial' : 'failed') : skipped ? 'skipped' : 'succeeded',
    new: diff.counts.new, changed: diff.counts.changed, unchanged: diff.counts.unchanged,
    vanished: request.pullComplete ? diff.counts.vanished : 0,
    awaiting: awaitingOffers(db, connection, target),
    parked: parkedOffers(db, connection, target),
    requests: traffic.requests, bytes: traffic.bytesSent, durationMs: Date.now() - started,
    error: named ? { code: named.code, message: named.message, hint: named.hint } : null,
  };
  recordTarget(db, request.runId, summary);
  return { summary, failure: named };
}

/** A target that could not run at all, for the run's record. */
export function failedTarget(config: TargetConfig, failure: Failure, nameInErrors: boolean): { summary: TargetSummary; failure: Failure } {
  const named = nameInErrors && !failure.message.includes(config.name) ? { ...failure, message: `${config.name}: ${failure.message}` } : failure;
  return {
    failure: named,
    summary: {
      target: config.name, kind: config.kind, ...emptyCounters(), status: 'failed', new: 0, changed: 0, vanished: 0, unchanged: 0,
      awaiting: 0, parked: 0, requests: 0, bytes: 0, durationMs: 0, error: { code: named.code, message: named.message, hint: named.hint },
    },
  };
}
