import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { retryOffers } from '../../store/delivery.js';
import type { RetryResult } from '../../store/delivery.js';
import { requireConnectionOrHistory, requireTargetOrHistory } from '../connections.js';
import { openContext } from '../context.js';
import { createOutput } from '../output.js';

export interface RetryOptions {
  connection?: string;
  target?: string;
  barcode?: string[];
  all?: boolean;
  json?: boolean;
}

const m = defineMessages({
  en: {
    scope: 'say which offers to send again: --connection NAME, --target NAME, --barcode BARCODE (repeatable), or --all',
    scopeHint: 'The offers waiting for this are listed by: erp-sync logs --failed --code DEAD_LETTER',
    allWithOthers: '--all sends again every parked, rejected or not listed offer of every connection; leave out --connection, --target and --barcode, or --all',
    nothing: 'No parked, rejected or not listed offer matches: nothing to send again.',
    done: '{parked} parked and {rejected} rejected or not listed offers will be sent again by the next run.',
    now: 'Send them now: erp-sync run{connection}',
  },
  tr: {
    scope: 'hangi tekliflerin yeniden gönderileceğini belirtin: --connection AD, --target AD, --barcode BARKOD (birden çok verilebilir) ya da --all',
    scopeHint: 'Bunu bekleyen teklifleri listelemek için: erp-sync logs --failed --code DEAD_LETTER',
    allWithOthers: '--all her bağlantının bekletilen, reddedilen ya da listede olmayan bütün tekliflerini yeniden gönderir; --connection, --target ve --barcode ya da --all verin, ikisini birden değil',
    nothing: 'Eşleşen bekletilen, reddedilen ya da listede olmayan teklif yok: yeniden gönderilecek bir şey yok.',
    done: '{parked} bekletilen ve {rejected} reddedilen ya da listede olmayan teklif sonraki çalışmada yeniden gönderilecek.',
    now: 'Hemen göndermek için: erp-sync run{connection}',
  },
});

/** `erp-sync retry`: parked (dead letter), rejected and not listed offers are sent again by the next run. */
export async function retryCommand(options: RetryOptions): Promise<ExitCode> {
  const barcodes = options.barcode ?? [];
  if (options.all && (options.connection !== undefined || options.target !== undefined || barcodes.length > 0)) {
    throw new UserError(m('allWithOthers'), { code: 'USAGE', exitCode: ExitCode.usage });
  }
  if (!options.all && options.connection === undefined && options.target === undefined && barcodes.length === 0) {
    throw new UserError(m('scope'), { code: 'USAGE', exitCode: ExitCode.usage, hint: m('scopeHint') });
  }
  const out = createOutput(!!options.json);
  const ctx = openContext();
  let result: RetryResult;
  try {
    const db = ctx.db();
    if (options.connection !== undefined) requireConnectionOrHistory(ctx.config, db, options.connection);
    if (options.target !== undefined) requireTargetOrHistory(ctx.config, db, options.target);
    result = retryOffers(db, { connection: options.connection, target: options.target, barcodes });
  } finally {
    ctx.close();
  }
  if (out.json) {
    out.document(result);
  } else if (result.parked.length + result.rejected.length === 0) {
    out.line(m('nothing'));
  } else {
    out.line(m('done', { parked: result.parked.length, rejected: result.rejected.length }));
    const connections = new Set([...result.parked, ...result.rejected].map((r) => r.connection));
    out.line(m('now', { connection: connections.size === 1 ? ` --connection ${[...connections][0]}` : '' }));
  }
  return ExitCode.ok;
}
