import type { Lang } from '../i18n/index.js';
import { webCatalog, webMessage } from './messages.js';
import type { WebMessageKey } from './messages.js';

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Failed or pending items shown at once; the pager's buttons move by this many. */
export const ITEMS_PAGE = 200;

/** For text and quoted attribute values; everything the server puts in HTML goes through it. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => entities[c]!);
}

/** JSON inside a data block: "<" escaped so no value can close the element. */
const jsonForHtml = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function head(lang: Lang, title: string, extra = ''): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
${extra}</head>`;
}

function languageSwitch(lang: Lang): string {
  const link = (to: Lang, label: string) =>
    `<a href="?lang=${to}" lang="${to}" hreflang="${to}"${to === lang ? ' aria-current="true"' : ''}>${label}</a>`;
  return `<nav class="lang" aria-label="${escapeHtml(webMessage('languageNav', {}, lang))}">${link('tr', 'Türkçe')} ${link('en', 'English')}</nav>`;
}

/**
 * The page: fixed text rendered here, data filled in by app.js from the JSON
 * API. The message catalog travels as a JSON data block, which a strict
 * Content-Security-Policy allows because it is never executed.
 */
export function dashboardPage(lang: Lang, csrfToken: string): string {
  const m = (key: WebMessageKey, vars: Record<string, string | number> = {}) => escapeHtml(webMessage(key, vars, lang));
  const th = (...keys: WebMessageKey[]) => keys.map((k) => `<th scope="col">${m(k)}</th>`).join('');
  return `${head(lang, webMessage('title', {}, lang), `<meta name="csrf-token" content="${escapeHtml(csrfToken)}">
<script type="application/json" id="messages">${jsonForHtml(webCatalog(lang))}</script>
<script type="module" src="/app.js"></script>
`)}
<body>
<a class="skip" href="#main">${m('skip')}</a>
<header class="top">
<h1><svg class="logo" aria-hidden="true" viewBox="0 0 24 24"><path d="M4 7h13l-3-3M20 17H7l3 3" /></svg>${m('title')}</h1>
${languageSwitch(lang)}
</header>
<main id="main">
<section aria-labelledby="connections-h">
<h2 id="connections-h">${m('connections')}</h2>
<div id="cards" class="cards"></div>
</section>
<section aria-labelledby="chart-h">
<h2 id="chart-h">${m('chart', { days: 14 })}</h2>
<div id="chart" class="chart"></div>
</section>
<section aria-labelledby="runs-h">
<h2 id="runs-h">${m('runs')}</h2>
<div class="table-wrap" role="region" aria-labelledby="runs-h" tabindex="0">
<table id="runs">
<thead><tr>${th('colRun', 'colConnection', 'colStarted', 'colStatus', 'colDuration', 'colPulled', 'colPushed', 'colCreated', 'colUpdated', 'colPending', 'colRejected', 'colFailed', 'colInvalid', 'colTargets')}</tr></thead>
<tbody></tbody>
</table>
</div>
<section id="run-events" class="run-events" aria-labelledby="run-events-h" hidden>
<div class="run-events-head"><h3 id="run-events-h" tabindex="-1"></h3><button type="button" id="run-events-close">${m('closeEvents')}</button></div>
<form id="run-events-filter" class="filters" hidden><label>${m('filterTarget')}<select name="target"><option value="">${m('all')}</option></select></label></form>
<p id="run-events-count"></p>
<div class="table-wrap" role="region" aria-labelledby="run-events-h" tabindex="0">
<table id="run-events-table" class="stack">
<thead><tr>${th('colWhen', 'colTarget', 'colBarcode', 'colSku', 'colName', 'colStage', 'colOutcome', 'colCode', 'colMessage')}</tr></thead>
<tbody></tbody>
</table>
</div>
</section>
</section>
<section aria-labelledby="items-h">
<h2 id="items-h">${m('items')}</h2>
<div role="tablist" class="tabs" aria-labelledby="items-h">
<button type="button" role="tab" id="tab-failed" aria-controls="items-panel" aria-selected="true" data-kind="failed">${m('tabFailed')}</button>
<button type="button" role="tab" id="tab-pending" aria-controls="items-panel" aria-selected="false" tabindex="-1" data-kind="pending">${m('tabPending')}</button>
</div>
<div id="items-panel" role="tabpanel" aria-labelledby="tab-failed">
<form id="filters" class="filters" role="search">
<label class="grow">${m('search')}<input type="search" name="q" autocomplete="off"></label>
<label>${m('filterConnection')}<select name="connection"><option value="">${m('all')}</option></select></label>
<label id="target-filter" hidden>${m('filterTarget')}<select name="target"><option value="">${m('all')}</option></select></label>
<label id="code-filter">${m('filterCode')}<select name="code"><option value="">${m('all')}</option></select></label>
<label>${m('filterSince')}<input type="date" name="since"></label>
<a id="csv" class="button" href="/api/events?failed=1&amp;format=csv" download>${m('downloadCsv')}</a>
</form>
<div class="items-bar">
<p id="items-count" aria-live="polite"></p>
<nav class="pager" aria-label="${m('pager')}" id="items-pager" data-page-size="${ITEMS_PAGE}" hidden>
<button type="button" id="items-previous">${m('previousPage', { size: ITEMS_PAGE })}</button>
<button type="button" id="items-next">${m('nextPage', { size: ITEMS_PAGE })}</button>
</nav>
</div>
<div class="table-wrap" role="region" aria-labelledby="items-h" tabindex="0">
<table id="items-failed" class="stack">
<thead><tr>${th('colConnection', 'colTarget', 'colBarcode', 'colSku', 'colName', 'colOutcome', 'colCode', 'colMessage', 'colWhen')}</tr></thead>
<tbody></tbody>
</table>
<table id="items-pending" class="stack" hidden>
<thead><tr>${th('colConnection', 'colTarget', 'colBarcode', 'colSku', 'colName', 'colPrice', 'colStock', 'colSince')}</tr></thead>
<tbody></tbody>
</table>
</div>
</div>
</section>
</main>
</body>
</html>
`;
}

/** Asked for when the page is served on a network address and the browser has no session yet. */
export function loginPage(lang: Lang, csrfToken: string, rejected: boolean): string {
  const m = (key: WebMessageKey) => escapeHtml(webMessage(key, {}, lang));
  return `${head(lang, webMessage('loginTitle', {}, lang))}
<body>
<header class="top"><h1>${m('title')}</h1>${languageSwitch(lang)}</header>
<main id="main" class="login">
<h2>${m('loginTitle')}</h2>
<p>${m('loginHelp')}</p>
${rejected ? `<p class="error" role="alert">${m('loginRejected')}</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}">
<label>${m('loginToken')}<input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">${m('loginSubmit')}</button>
</form>
</main>
</body>
</html>
`;
}

/** The language asked for by the switch (?lang=), then the cookie it set, then Accept-Language. */
export function pickLanguage(query: string | null, cookie: string | undefined, acceptLanguage: string | undefined): Lang {
  for (const value of [query, cookie]) if (value === 'tr' || value === 'en') return value;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.split('-')[0]!, q: q === undefined ? 1 : Number(q) };
    })
    .filter((entry) => (entry.tag === 'tr' || entry.tag === 'en') && entry.q > 0)
    .sort((a, b) => b.q - a.q);
  return ranked[0]?.tag === 'tr' ? 'tr' : 'en';
}
