import cliProgress from 'cli-progress';
import type { Driver } from '../driver/contract.js';
import type { RunProgress, RunSummary } from '../model/run.js';
import { defineMessages, formatNumber } from '../i18n/index.js';
import { logJson, logMode } from './log-format.js';

const m = defineMessages({
  en: {
    start: '{connection}: pulling products from {driver}',
    pulled: '{connection}: {products} products pulled ({pages} pages, {rate}/s)',
    diff: '{connection}: {new} new, {changed} changed, {vanished} vanished, {unchanged} unchanged; {toPush} to push',
    pushed: '{connection}: {done} of {total} offers pushed ({rate}/s)',
    pullBar: 'pull {connection} | {products} products | {pages} pages | {rate}/s',
    pushBar: 'push {connection} |{bar}| {value}/{total} offers | {rate}/s | ETA {eta_formatted}',
    finished: '{connection}: run {status}',
  },
  tr: {
    start: '{connection}: ürünler {driver} üzerinden getiriliyor',
    pulled: '{connection}: {products} ürün getirildi ({pages} sayfa, saniyede {rate})',
    diff: '{connection}: {new} yeni, {changed} değişen, {vanished} kaybolan, {unchanged} değişmeyen; gönderilecek {toPush}',
    pushed: '{connection}: {total} tekliften {done} tanesi gönderildi (saniyede {rate})',
    pullBar: 'getir {connection} | {products} ürün | {pages} sayfa | saniyede {rate}',
    pushBar: 'gönder {connection} |{bar}| {value}/{total} teklif | saniyede {rate} | kalan {eta_formatted}',
    finished: '{connection}: çalışma {status}',
  },
});

/** In plain mode, a pull line every this many pages and a push line every this many batches. */
const PLAIN_EVERY = 10;

/** Reports one connection's run while it happens. */
export interface RunReporter {
  onProgress(progress: RunProgress): void;
  /** Stops any bar so the summary prints below it. */
  finish(summary: RunSummary): void;
}

/**
 * Progress bars on a terminal; a few plain lines (start, every tenth page or
 * batch, the diff) without one, as cron and journald want; JSON lines under
 * `--log-format json`; nothing under `--quiet`.
 */
export function createRunReporter(connection: string, driver: Pick<Driver, 'id' | 'name'>, stream: NodeJS.WriteStream = process.stderr): RunReporter {
  const mode = logMode();
  if (mode.quiet) return { onProgress: () => undefined, finish: () => undefined };
  if (mode.json) {
    return lineReporter(connection, driver, (event, key, vars, fields) => logJson('info', event, m(key, vars, 'en'), fields), (summary) => {
      const { wouldPush: _sample, ...fields } = summary;
      logJson(summary.error ? 'error' : 'info', 'run.finish', m('finished', { connection, status: summary.status }, 'en'), fields);
    });
  }
  if (!stream.isTTY) return lineReporter(connection, driver, (_event, key, vars) => stream.write(`${m(key, vars)}\n`), () => undefined);

  const started = Date.now();
  let pushStarted = 0;
  const bars = new cliProgress.MultiBar(
    { stream, hideCursor: true, clearOnComplete: false, fps: 10, etaBuffer: 20, formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? formatNumber(Number(v)) : String(v)) },
    cliProgress.Presets.shades_classic,
  );
  const pullBar = bars.create(0, 0, { connection, products: formatNumber(0), pages: 0, rate: 0 }, { format: m('pullBar') });
  let pushBar: cliProgress.SingleBar | undefined;
  return {
    onProgress(progress) {
      if (progress.phase === 'pull') {
        pullBar.update({ products: formatNumber(progress.products), pages: progress.pages, rate: rate(progress.products, started) });
      } else if (progress.phase === 'diff') {
        pushStarted = Date.now();
        if (progress.toPush > 0) pushBar = bars.create(progress.toPush, 0, { connection, rate: 0 }, { format: m('pushBar') });
      } else if (pushBar) {
        const done = progress.counters.pushed + progress.counters.failed;
        pushBar.setTotal(Math.max(done, pushBar.getTotal()));
        pushBar.update(done, { rate: rate(done, pushStarted) });
      }
    },
    finish() {
      bars.stop();
    },
  };
}

type LineKey = 'start' | 'pulled' | 'diff' | 'pushed';
/** One progress line: its event name for JSON, its message, and the fields a JSON line carries. */
type Say = (event: string, key: LineKey, vars: Record<string, string | number>, fields: Record<string, unknown>) => void;

/**
 * The start, a pull line every tenth page and once the pull ends, the diff,
 * and a push line every tenth batch: as plain lines for cron and journald, or
 * as JSON lines, depending on `say`.
 */
function lineReporter(connection: string, driver: Pick<Driver, 'id' | 'name'>, say: Say, finish: (summary: RunSummary) => void): RunReporter {
  const started = Date.now();
  let pushStarted = 0;
  let pull = { pages: 0, products: 0 };
  let toPush = 0;
  let batches = 0;
  say('run.start', 'start', { connection, driver: driver.name }, { connection, driver: driver.id });
  const pulled = () =>
    say('run.pull', 'pulled', { connection, products: pull.products, pages: pull.pages, rate: rate(pull.products, started) }, { connection, pages: pull.pages, products: pull.products });
  return {
    onProgress(progress) {
      if (progress.phase === 'pull') {
        pull = progress;
        if (progress.pages % PLAIN_EVERY === 0) pulled();
      } else if (progress.phase === 'diff') {
        pushStarted = Date.now();
        toPush = progress.toPush;
        if (pull.pages % PLAIN_EVERY !== 0) pulled();
        say('run.diff', 'diff', { connection, ...progress.counts, toPush }, { connection, ...progress.counts, toPush });
      } else if (++batches % PLAIN_EVERY === 0) {
        const done = progress.counters.pushed + progress.counters.failed;
        say('run.push', 'pushed', { connection, done, total: Math.max(done, toPush), rate: rate(done, pushStarted) }, { connection, toPush, ...progress.counters });
      }
    },
    finish,
  };
}

/** Items per second since `since`, formatted for the language. */
function rate(count: number, since: number): string {
  return formatNumber(Math.round(count / Math.max(0.001, (Date.now() - since) / 1000)));
}
