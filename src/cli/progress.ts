import cliProgress from 'cli-progress';
import type { RunProgress, RunSummary } from '../engine/run.js';
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
export function createRunReporter(connection: string, driver: string, stream: NodeJS.WriteStream = process.stderr): RunReporter {
  const mode = logMode();
  if (mode.quiet) return { onProgress: () => undefined, finish: () => undefined };
  const started = Date.now();
  let pushStarted = 0;
  const rate = (count: number, since: number) => formatNumber(Math.round(count / Math.max(0.001, (Date.now() - since) / 1000)));

  if (mode.json) {
    logJson('info', 'run.start', m('start', { connection, driver }, 'en'), { connection, driver });
    let batches = 0;
    let toPush = 0;
    return {
      onProgress(progress) {
        if (progress.phase === 'pull' && progress.pages % PLAIN_EVERY === 0) {
          logJson('info', 'run.pull', m('pulled', { connection, products: progress.products, pages: progress.pages, rate: rate(progress.products, started) }, 'en'), { connection, pages: progress.pages, products: progress.products });
        } else if (progress.phase === 'diff') {
          pushStarted = Date.now();
          toPush = progress.toPush;
          logJson('info', 'run.diff', m('diff', { connection, ...progress.counts, toPush: progress.toPush }, 'en'), { connection, ...progress.counts, toPush: progress.toPush });
        } else if (progress.phase === 'push' && ++batches % PLAIN_EVERY === 0) {
          const done = progress.counters.pushed + progress.counters.failed;
          logJson('info', 'run.push', m('pushed', { connection, done, total: Math.max(done, toPush), rate: rate(done, pushStarted) }, 'en'), { connection, toPush, ...progress.counters });
        }
      },
      finish(summary) {
        const { wouldPush: _sample, ...fields } = summary;
        logJson(summary.error ? 'error' : 'info', 'run.finish', m('finished', { connection, status: summary.status }, 'en'), fields);
      },
    };
  }

  if (!stream.isTTY) {
    const line = (text: string) => stream.write(`${text}\n`);
    line(m('start', { connection, driver }));
    let pull = { pages: 0, products: 0 };
    let toPush = 0;
    let batches = 0;
    return {
      onProgress(progress) {
        if (progress.phase === 'pull') {
          pull = progress;
          if (progress.pages % PLAIN_EVERY === 0) line(m('pulled', { connection, products: progress.products, pages: progress.pages, rate: rate(progress.products, started) }));
        } else if (progress.phase === 'diff') {
          pushStarted = Date.now();
          toPush = progress.toPush;
          if (pull.pages % PLAIN_EVERY !== 0) line(m('pulled', { connection, products: pull.products, pages: pull.pages, rate: rate(pull.products, started) }));
          line(m('diff', { connection, ...progress.counts, toPush }));
        } else if (++batches % PLAIN_EVERY === 0) {
          const done = progress.counters.pushed + progress.counters.failed;
          line(m('pushed', { connection, done, total: Math.max(done, toPush), rate: rate(done, pushStarted) }));
        }
      },
      finish: () => undefined,
    };
  }

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
