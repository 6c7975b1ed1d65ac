import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ExitCode, UserError } from '../../errors/index.js';
import { defineMessages } from '../../i18n/index.js';
import { describeRules } from '../../rules/describe.js';
import { RulesError, hasRules, parseRulesText } from '../../rules/parse.js';
import { readRulesDraft, readRulesText, removeRules, rulesDraftPath, rulesPath, saveRulesDraft, saveRulesText } from '../../rules/store.js';
import { requireConnection } from '../connections.js';
import { openContext } from '../context.js';
import type { CliContext } from '../context.js';
import { createOutput } from '../output.js';
import type { Output } from '../output.js';

const m = defineMessages({
  en: {
    badAction: '"{action}" is not something rules can do',
    yourEdit: 'your edit of {connection}\'s rules',
    badActionHint: 'Use show, set [FILE] or edit.',
    editorFailed: 'the editor ({editor}) exited with {status}; the rules were not changed',
    editorFailedHint: 'Set EDITOR to an editor that waits until you close the file, e.g. EDITOR=nano.',
    unreadable: 'cannot read {file}: {reason}',
    none: '{connection} has no rules: every product is pushed as the ERP sends it.',
    header: 'Rules of {connection} ({file}):',
    saved: 'Saved the rules of {connection}.',
    removed: 'Removed the rules of {connection}: products are pushed as the ERP sends them.',
    unchanged: 'No change: the rules of {connection} stay as they were.',
    next: 'See what the next run would push: erp-sync run --connection {connection} --dry-run',
    draft: 'Your edit is kept in {file}; `erp-sync rules {connection} edit` opens it again.',
  },
  tr: {
    badAction: '"{action}" rules komutunun yapabileceği bir şey değil',
    yourEdit: '{connection} kurallarında yaptığınız düzenleme',
    badActionHint: 'show, set [DOSYA] ya da edit kullanın.',
    editorFailed: 'düzenleyici ({editor}) {status} ile çıktı; kurallar değiştirilmedi',
    editorFailedHint: 'EDITOR değişkenine, dosyayı kapatana kadar bekleyen bir düzenleyici verin, ör. EDITOR=nano.',
    unreadable: '{file} okunamıyor: {reason}',
    none: '{connection} için kural yok: her ürün ERP’den geldiği gibi gönderilir.',
    header: '{connection} kuralları ({file}):',
    saved: '{connection} kuralları kaydedildi.',
    removed: '{connection} kuralları kaldırıldı: ürünler ERP’den geldiği gibi gönderilir.',
    unchanged: 'Değişiklik yok: {connection} kuralları olduğu gibi kaldı.',
    next: 'Sonraki senkronizasyonda ne gönderileceğini görün: erp-sync run --connection {connection} --dry-run',
    draft: 'Düzenlemeniz {file} dosyasında duruyor; `erp-sync rules {connection} edit` onu yeniden açar.',
  },
});

export interface RulesOptions {
  json?: boolean;
}

/** An empty rules file with every rule shown, commented out, as a starting point for `edit`. */
const template = `# Rules for {connection}: YAML or JSON. Remove the # of the lines you need.
# Nothing here is active until you do; see the README section "Rules".
# Quote a path with [] inside [ ] or { }: ["variants[].price", price].
#
# mapping:                      # where each offer field comes from in the ERP record
#   price: { from: ["variants[].list_price", price5], transform: [decimalComma] }
#   sku: { from: code, transform: [trim, upper], required: true }
#   currency: { default: TRY }
#   stock:
#     from: ["variants[].stocks", stocks]
#     perWarehouse: { warehouse: [warehouse.id, warehouse], quantity: stock }
# price:
#   vat: include                # include | exclude: the marketplace price with or without KDV
#   markup: 18                  # percent; or margin: 25 (below 100)
#   add: 5                      # a fixed amount after markup or margin
#   round: "0.90"               # none | whole | 0.90 | 0.99 | 0.05
#   roundMode: nearest          # nearest | up | down
#   min: 20                     # outside min..max the offer is held back and reported
#   max: 50000
#   overrides: { SKU-0001: 149.90 }   # SKU or barcode: this exact price, whatever the rules say
# stock:
#   warehouses: [1, Merkez]     # count only these (needs mapping.stock.perWarehouse)
#   reserve: 2                  # keep 2 back
#   zeroBelow: 3                # publish 0 when fewer than 3 would be left
#   cap: 100                    # never publish more than 100
# scope:
#   include: { brand: [Anadolu, "Ege*"] }
#   exclude: { sku: ["OUTLET-*"] }
#   activeOnly: true
`;

/** `erp-sync rules <connection> [show|set|edit] [file]`: every rule is validated before anything is saved. */
export async function rulesCommand(connection: string, action: string | undefined, file: string | undefined, options: RulesOptions): Promise<ExitCode> {
  const out = createOutput(!!options.json);
  const ctx = openContext();
  try {
    requireConnection(ctx.config, connection);
    switch (action ?? 'show') {
      case 'show':
        show(ctx, connection, out);
        return ExitCode.ok;
      case 'set':
        store(ctx, connection, file === undefined || file === '-' ? readFileSync(0, 'utf8') : readInput(file), file ?? 'stdin', out);
        return ExitCode.ok;
      case 'edit':
        edit(ctx, connection, out);
        return ExitCode.ok;
      default:
        throw new UserError(m('badAction', { action: String(action) }), { code: 'BAD_ACTION', exitCode: ExitCode.usage, hint: m('badActionHint') });
    }
  } finally {
    ctx.close();
  }
}

function show(ctx: CliContext, connection: string, out: Output): void {
  const file = rulesPath(ctx.home, connection);
  const text = readRulesText(ctx.home, connection);
  const rules = text === undefined ? undefined : parseRulesText(text, file);
  if (out.json) {
    out.document({ connection, file, rules: text === undefined ? null : (parseYaml(text, { schema: 'failsafe' }) ?? null) });
    return;
  }
  if (!rules || !hasRules(rules)) {
    out.line(m('none', { connection }));
    return;
  }
  out.line(m('header', { connection, file }));
  for (const line of describeRules(rules)) out.line(`  ${line}`);
  out.line();
  out.line(text!.trimEnd());
}

/** Validates, then saves the text as written; an empty document removes the rules. */
function store(ctx: CliContext, connection: string, text: string, source: string, out: Output): void {
  const rules = parseRulesText(text, source);
  if (!hasRules(rules)) {
    removeRules(ctx.home, connection);
    out.line(m('removed', { connection }));
    return;
  }
  saveRulesText(ctx.home, connection, text);
  if (out.json) out.document({ connection, file: rulesPath(ctx.home, connection), rules: parseYaml(text, { schema: 'failsafe' }) });
  out.line(m('saved', { connection }));
  for (const line of describeRules(rules)) out.line(`  ${line}`);
  out.line(m('next', { connection }));
}

/**
 * Opens $VISUAL or $EDITOR on a copy of the rules (a draft left by an edit
 * that did not validate, else the current rules, else a commented template).
 * Invalid rules are not saved; the edit is kept as a draft so no work is lost.
 */
function edit(ctx: CliContext, connection: string, out: Output): void {
  const draft = readRulesDraft(ctx.home, connection);
  const current = readRulesText(ctx.home, connection);
  const initial = draft ?? current ?? template.replace('{connection}', connection);
  const directory = mkdtempSync(join(tmpdir(), 'erp-sync-rules-'));
  const file = join(directory, `${connection}.yaml`);
  try {
    writeFileSync(file, initial, { mode: 0o600 });
    const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
    // Through a shell, so EDITOR="code --wait" works as it does for git.
    const result = spawnSync(`${editor} "${file}"`, { shell: true, stdio: 'inherit' });
    if (result.status !== 0) {
      throw new UserError(m('editorFailed', { editor, status: String(result.status ?? result.signal) }), {
        code: 'EDITOR_FAILED', exitCode: ExitCode.usage, hint: m('editorFailedHint'),
      });
    }
    const edited = readFileSync(file, 'utf8');
    if (draft === undefined && edited === (current ?? initial)) {
      out.line(m('unchanged', { connection }));
      return;
    }
    try {
      store(ctx, connection, edited, file, out);
    } catch (error) {
      if (error instanceof RulesError) {
        saveRulesDraft(ctx.home, connection, edited);
        throw new RulesError(m('yourEdit', { connection }), error.problems, m('draft', { file: rulesDraftPath(ctx.home, connection), connection }));
      }
      throw error;
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function readInput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(m('unreadable', { file, reason: (error as Error).message }), { code: 'UNREADABLE_FILE', exitCode: ExitCode.usage });
  }
}
