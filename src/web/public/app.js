// The erp-sync page. Plain ES module, no build step. Everything that comes
// from the ERP or the database is put on the page as text (textContent,
// setAttribute), never as HTML, so a product name with markup stays text.

const messages = JSON.parse(document.getElementById('messages').textContent);
const lang = document.documentElement.lang === 'tr' ? 'tr' : 'en';
const locale = lang === 'tr' ? 'tr-TR' : 'en-GB';
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

const numberFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const moneyFormat = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const dateTimeFormat = new Intl.DateTimeFormat(locale, { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const shortDateFormat = new Intl.DateTimeFormat(locale, { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' });
const relativeFormat = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });

const CHART_DAYS = 14;
const FAST_POLL_MS = 1500;
const SLOW_POLL_MS = 10000;

function msg(key, vars = {}) {
  const template = messages[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in vars)) return whole;
    const value = vars[name];
    return typeof value === 'number' ? numberFormat.format(value) : String(value);
  });
}

/** Builds an element; strings among the children become text nodes. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

const exactTime = (iso) => dateTimeFormat.format(new Date(iso)).replace(',', '');

function relativeTime(iso, now) {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return relativeFormat.format(seconds, 'second');
  if (abs < 3600) return relativeFormat.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relativeFormat.format(Math.round(seconds / 3600), 'hour');
  return relativeFormat.format(Math.round(seconds / 86400), 'day');
}

function age(ms) {
  const [value, unit] = ms < 3600000 ? [Math.round(ms / 60000), 'minute'] : ms < 172800000 ? [Math.round(ms / 3600000), 'hour'] : [Math.round(ms / 86400000), 'day'];
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
}

/** A relative time with the exact one on hover, and in the text for screen readers. */
function timeElement(iso, now) {
  const exact = exactTime(iso);
  return el('time', { datetime: iso, title: exact }, relativeTime(iso, now), el('span', { class: 'visually-hidden' }, ` (${exact})`));
}

const duration = (ms) => (ms == null ? '–' : `${numberFormat.format(Math.round(ms / 100) / 10)} ${lang === 'tr' ? 'sn' : 's'}`);

function money(price, currency) {
  const amount = Number(price);
  if (!Number.isFinite(amount)) return price;
  return `${moneyFormat.format(amount)} ${currency === 'TRY' ? '₺' : currency}`;
}

const statusText = (status) => (messages[`status.${status}`] ? msg(`status.${status}`) : status);
const outcomeText = (outcome) => (messages[`outcome.${outcome}`] ? msg(`outcome.${outcome}`) : outcome);
const stageText = (stage) => (messages[`stage.${stage}`] ? msg(`stage.${stage}`) : stage);
const failedOf = (run) => run.invalid + run.rejected + run.failed;

async function getJson(url, init) {
  const response = await fetch(url, { credentials: 'same-origin', ...init });
  const body = await response.json().catch(() => ({}));
  return { response, body };
}

// ---------------------------------------------------------------- cards

const cardsRoot = document.getElementById('cards');
const cards = new Map();
let connections = [];

const COUNTS = [
  ['pulled', 'colPulled'],
  ['pushed', 'colPushed'],
  ['created', 'colCreated'],
  ['updated', 'colUpdated'],
  ['pendingApproval', 'colPending'],
  ['rejected', 'colRejected'],
  ['failed', 'colFailed'],
  ['invalid', 'colInvalid'],
];

function createCard(connection, index) {
  const headingId = `card-${index}-h`;
  const counts = new Map(COUNTS.map(([key]) => [key, el('dd', { 'data-count': key }, '–')]));
  const card = {
    root: null,
    erp: el('p', { class: 'erp' }),
    health: el('span', { class: 'health-text' }),
    error: el('p', { class: 'error-line' }),
    running: el('p', { class: 'running', hidden: true }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), msg('running')),
    lastSync: el('span', { class: 'last-sync-value' }),
    lastRun: el('p', { class: 'last-run' }),
    counts,
    items: el('p', { class: 'item-links' }),
    targets: el('div', { class: 'target-list' }),
    alerts: el('ul'),
    alertsBox: null,
    button: el('button', { type: 'button', class: 'sync' }, msg('syncNow')),
    notice: el('p', { class: 'card-notice', role: 'status' }),
    queued: false,
  };
  card.alertsBox = el('div', { class: 'alerts', hidden: true }, el('h4', {}, msg('alerts')), card.alerts);
  card.button.addEventListener('click', () => syncNow(connection.name, card));
  card.root = el(
    'article',
    { class: 'card', 'aria-labelledby': headingId, 'data-connection': connection.name },
    el('div', { class: 'card-head' }, erpIcon(), el('div', {}, el('h3', { id: headingId }, connection.name), card.erp)),
    el('p', { class: 'health' }, el('span', { class: 'dot', 'aria-hidden': 'true' }), card.health),
    card.error,
    card.running,
    el('p', { class: 'last-sync' }, `${msg('lastSync')}: `, card.lastSync),
    card.lastRun,
    el('dl', { class: 'counts' }, COUNTS.map(([key, label]) => el('div', {}, el('dt', {}, msg(label)), counts.get(key)))),
    card.items,
    el('section', { class: 'targets', 'aria-labelledby': `${headingId}-targets` }, el('h4', { id: `${headingId}-targets` }, msg('marketplaces')), card.targets),
    card.alertsBox,
    el('div', { class: 'actions' }, card.button),
    card.notice,
  );
  return card;
}

/** A neutral ERP icon (a stack of records): no vendor logo. */
function erpIcon() {
  return svg(
    'svg',
    { class: 'erp-icon', viewBox: '0 0 24 24', 'aria-hidden': 'true' },
    svg('ellipse', { cx: 12, cy: 6, rx: 7, ry: 3 }),
    svg('path', { d: 'M5 6v6c0 1.7 3.1 3 7 3s7-1.3 7-3V6M5 12v6c0 1.7 3.1 3 7 3s7-1.3 7-3v-6' }),
  );
}

function healthText(connection, now) {
  switch (connection.health) {
    case 'healthy':
      return msg('healthHealthy');
    case 'stale':
      return msg('healthStale', { age: connection.lastSuccessAt ? age(now - Date.parse(connection.lastSuccessAt)) : '–' });
    case 'failing':
      return msg('healthFailing', { since: connection.failingSince ? exactTime(connection.failingSince) : '–' });
    case 'credentials':
      return msg('healthCredentials');
    case 'guarded':
      return msg('healthGuarded');
    case 'parked':
      return msg('healthParked', { count: connection.parked });
    default:
      return msg('healthNever');
  }
}

function updateCard(card, connection, now) {
  card.root.className = `card health-${connection.health}`;
  card.erp.textContent = connection.erp;
  card.health.textContent = healthText(connection, now);
  card.error.textContent = connection.error?.message ? `${connection.error.code ?? ''}: ${connection.error.message}` : '';
  card.error.hidden = !connection.error?.message;
  card.running.hidden = !connection.running;
  card.lastSync.replaceChildren(connection.lastSuccessAt ? timeElement(connection.lastSuccessAt, now) : msg('lastSyncNever'));
  const run = connection.lastRun;
  card.lastRun.textContent = run ? msg('lastRun', { id: run.id, status: statusText(run.status) }) : '';
  for (const [key, dd] of card.counts) dd.textContent = run ? numberFormat.format(run[key]) : '–';
  const links = [];
  if (connection.failingItems > 0) links.push(msg('failingItems', { count: connection.failingItems }));
  if (connection.pendingApproval > 0) links.push(msg('pendingItems', { count: connection.pendingApproval }));
  if (connection.parked > 0) links.push(msg('parkedItems', { count: connection.parked }));
  card.items.textContent = links.join(' · ');
  // With one target the card's own counts are that target's: its block leaves them out.
  card.targets.replaceChildren(...connection.targets.map((target) => targetBlock(target, connection.targets.length > 1, now)));
  card.alerts.replaceChildren(...connection.alerts.map((alert) => el('li', {}, timeElement(alert.openedAt, now), ` ${alert.message}`)));
  card.alertsBox.hidden = connection.alerts.length === 0;
  card.button.disabled = connection.running;
  if (!connection.running && card.queued) {
    card.queued = false;
    card.notice.textContent = '';
  }
}

const TARGET_COUNTS = [
  ['pushed', 'colPushed'],
  ['rejected', 'colRejected'],
  ['notListed', 'colNotListed'],
  ['failed', 'colFailed'],
  ['awaiting', 'colAwaiting'],
];

const TARGET_HEALTH = {
  healthy: () => msg('targetHealthy'),
  stale: (target, now) => msg('targetStale', { age: target.lastDeliveryAt ? age(now - Date.parse(target.lastDeliveryAt)) : '–' }),
  failing: () => msg('targetFailing'),
  credentials: () => msg('targetCredentials'),
  parked: (target) => msg('healthParked', { count: target.parked }),
  never: () => msg('targetNever'),
};

/** The marketplace's name as merchants know it: `Trendyol`; the offer API in the page's language. */
const marketplaceName = (target) => target.marketplace ?? msg('offerApi');

/** What a target's open problems and waits are, in one line; nothing when there are none. */
function targetItems(target) {
  return [
    [target.failingItems, 'failingItems'],
    [target.notListed, 'notListedItems'],
    [target.parked, 'parkedItems'],
    [target.awaiting, 'awaitingItems'],
    [target.pendingApproval, 'pendingItems'],
  ].flatMap(([count, key]) => (count > 0 ? [msg(key, { count })] : [])).join(' · ');
}

/** One marketplace target of a connection: its health, last delivery, its part of the last run and what waits. */
function targetBlock(target, withCounts, now) {
  const title = marketplaceName(target);
  const run = target.lastRun;
  return el(
    'section',
    { class: `target state-${target.health}`, 'data-target': target.name, 'aria-label': `${title} (${target.name})` },
    el(
      'p',
      { class: 'target-head' },
      el('span', { class: 'dot', 'aria-hidden': 'true' }),
      el('span', { class: 'target-title' }, title),
      title.toLocaleLowerCase(locale) === target.name.toLocaleLowerCase(locale) ? null : el('span', { class: 'target-name' }, target.name),
    ),
    el('p', { class: 'target-health' }, (TARGET_HEALTH[target.health] ?? TARGET_HEALTH.never)(target, now)),
    target.error?.message ? el('p', { class: 'error-line' }, `${target.error.code ?? ''}: ${target.error.message}`) : null,
    el('p', { class: 'last-delivery' }, `${msg('lastDelivery')}: `, target.lastDeliveryAt ? timeElement(target.lastDeliveryAt, now) : msg('lastSyncNever')),
    run ? el('p', { class: 'target-run' }, msg('targetLastRun', { id: run.runId, status: statusText(run.status) })) : null,
    withCounts
      ? el('dl', { class: 'counts' }, TARGET_COUNTS.map(([key, label]) => el('div', {}, el('dt', {}, msg(label)), el('dd', { 'data-target-count': key }, run ? numberFormat.format(run[key]) : '–'))))
      : null,
    el('p', { class: 'target-items' }, targetItems(target)),
  );
}

async function syncNow(name, card) {
  card.button.disabled = true;
  try {
    const { response, body } = await getJson(`/api/connections/${encodeURIComponent(name)}/sync`, {
      method: 'POST',
      headers: { 'x-csrf-token': csrfToken },
    });
    card.notice.textContent = body.message ?? msg('requestFailed', { message: body.error ?? response.status });
    card.queued = response.status === 202 || response.status === 409;
    if (!card.queued) card.button.disabled = false;
  } catch (error) {
    card.notice.textContent = msg('requestFailed', { message: error.message });
    card.button.disabled = false;
  }
  schedulePoll(0);
}

// ---------------------------------------------------------------- status polling

let pollTimer;
let lastSeen = '';

function schedulePoll(delay) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(refreshStatus, delay);
}

async function refreshStatus() {
  let busy = false;
  try {
    const { response, body } = await getJson('/api/status');
    if (!response.ok) throw new Error(body.error ?? response.status);
    const now = Date.parse(body.now);
    connections = body.connections;
    if (connections.length === 0) cardsRoot.replaceChildren(el('p', {}, msg('noConnections')));
    connections.forEach((connection, index) => {
      let card = cards.get(connection.name);
      if (!card) {
        if (cards.size === 0) cardsRoot.replaceChildren();
        card = createCard(connection, index);
        cards.set(connection.name, card);
        cardsRoot.append(card.root);
      }
      updateCard(card, connection, now);
    });
    fillConnectionFilter();
    fillTargetFilter();
    busy = connections.some((c) => c.running) || [...cards.values()].some((c) => c.queued);
    // A run that started or ended changes the history, the chart and the item lists.
    const seen = JSON.stringify(connections.map((c) => [c.name, c.running, c.lastRun?.id, c.lastRun?.status]));
    if (seen !== lastSeen) {
      lastSeen = seen;
      refreshRuns();
      refreshItems(itemsOffset);
    }
  } finally {
    schedulePoll(busy ? FAST_POLL_MS : SLOW_POLL_MS);
  }
}

// ---------------------------------------------------------------- run history and chart

const runsBody = document.querySelector('#runs tbody');
const chartRoot = document.getElementById('chart');

async function refreshRuns() {
  const { response, body } = await getJson(`/api/runs?days=${CHART_DAYS}&limit=200`);
  if (!response.ok) return;
  const runs = body.runs;
  const now = Date.now();
  runsBody.replaceChildren(
    ...(runs.length === 0
      ? [el('tr', {}, el('td', { colspan: 14 }, msg('runsEmpty')))]
      : runs.slice(0, 50).map((run) =>
          el(
            'tr',
            {},
            el('td', {}, el('button', { type: 'button', class: 'link', 'aria-label': msg('showItems', { id: run.id }), onclick: () => openRunEvents(run.id) }, `#${run.id}`)),
            el('td', {}, run.connection),
            el('td', {}, timeElement(run.startedAt, now)),
            el('td', {}, el('span', { class: `badge status-${run.status}` }, statusText(run.status))),
            el('td', { class: 'num' }, duration(run.durationMs)),
            ...['pulled', 'pushed', 'created', 'updated', 'pendingApproval', 'rejected', 'failed', 'invalid'].map((key) => el('td', { class: 'num' }, numberFormat.format(run[key]))),
            el('td', {}, runTargets(run)),
          ),
        )),
  );
  drawChart(runs.filter((run) => run.status !== 'running').reverse());
}

const RUN_TARGET_COUNTS = [
  ['rejected', 'countRejected'],
  ['notListed', 'countNotListed'],
  ['failed', 'countFailed'],
  ['awaiting', 'countAwaiting'],
];

/** What each target did in a run, a line each: pushed always, the rest when there were any. */
function runTargets(run) {
  return el(
    'ul',
    { class: 'run-targets' },
    run.targets.map((t) => {
      const parts =
        t.status === 'skipped'
          ? [statusText('skipped')]
          : [msg('countPushed', { count: t.pushed }), ...RUN_TARGET_COUNTS.flatMap(([key, label]) => (t[key] > 0 ? [msg(label, { count: t[key] })] : []))];
      return el('li', { 'data-target': t.target }, el('strong', {}, t.target), `: ${parts.join(' · ')}`);
    }),
  );
}

let chartRuns = [];
let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => drawChart(chartRuns), 150);
});

/** Drawn at the container's own width, so labels keep their size on a phone. */
function drawChart(runs) {
  chartRuns = runs;
  if (runs.length === 0) {
    chartRoot.replaceChildren(el('p', {}, msg('chartEmpty', { days: CHART_DAYS })));
    return;
  }
  const width = Math.max(240, Math.round(chartRoot.clientWidth - 24));
  const shown = runs.slice(-Math.floor(width / 10));
  const height = 170;
  const top = 14;
  const bottom = 20;
  const max = Math.max(1, ...shown.map((r) => Math.max(r.pushed, failedOf(r))));
  const left = 36;
  const slot = (width - left) / shown.length;
  const bar = Math.max(1, Math.min(20, slot * 0.3));
  const scale = (value) => ((height - top - bottom) * value) / max;
  const totals = shown.reduce((t, r) => ({ pushed: t.pushed + r.pushed, failed: t.failed + failedOf(r) }), { pushed: 0, failed: 0 });
  const titleId = 'chart-title';
  const groups = shown.map((run, i) => {
    const x = left + i * slot + slot / 2;
    const pushedHeight = scale(run.pushed);
    const failedHeight = scale(failedOf(run));
    return svg(
      'g',
      { class: 'bar-group' },
      svg('title', {}, msg('chartBar', { connection: run.connection, id: run.id, time: exactTime(run.startedAt), pushed: run.pushed, failed: failedOf(run) })),
      svg('rect', { class: 'bar-pushed', x: x - bar - 1, y: height - bottom - pushedHeight, width: bar, height: pushedHeight }),
      svg('rect', { class: 'bar-failed', x: x + 1, y: height - bottom - failedHeight, width: bar, height: failedHeight }),
    );
  });
  const first = shown[0];
  const last = shown.at(-1);
  chartRoot.replaceChildren(
    svg(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': titleId, class: 'chart-svg' },
      svg('title', { id: titleId }, msg('chartSummary', { runs: shown.length, pushed: totals.pushed, failed: totals.failed })),
      svg('line', { class: 'axis', x1: left, x2: width, y1: height - bottom, y2: height - bottom }),
      svg('line', { class: 'axis', x1: left, x2: left, y1: top, y2: height - bottom }),
      svg('text', { class: 'axis-label', x: left - 4, y: top + 4, 'text-anchor': 'end' }, numberFormat.format(max)),
      svg('text', { class: 'axis-label', x: left - 4, y: height - bottom, 'text-anchor': 'end' }, '0'),
      svg('text', { class: 'axis-label', x: left, y: height - 4 }, shortDateFormat.format(new Date(first.startedAt))),
      svg('text', { class: 'axis-label', x: width - 2, y: height - 5, 'text-anchor': 'end' }, shortDateFormat.format(new Date(last.startedAt))),
      ...groups,
    ),
    el(
      'p',
      { class: 'legend' },
      el('span', { class: 'swatch swatch-pushed', 'aria-hidden': 'true' }),
      msg('legendPushed'),
      ' ',
      el('span', { class: 'swatch swatch-failed', 'aria-hidden': 'true' }),
      msg('legendFailed'),
    ),
    el('p', { class: 'visually-hidden' }, msg('chartSummary', { runs: shown.length, pushed: totals.pushed, failed: totals.failed })),
  );
}

const eventsSection = document.getElementById('run-events');
const eventsHeading = document.getElementById('run-events-h');
const eventsCount = document.getElementById('run-events-count');
const eventsBody = document.querySelector('#run-events-table tbody');
const eventsFilter = document.getElementById('run-events-filter');
let eventsRun;
document.getElementById('run-events-close').addEventListener('click', () => {
  eventsSection.hidden = true;
});
eventsFilter.addEventListener('input', () => openRunEvents(eventsRun, false));
eventsFilter.addEventListener('submit', (event) => event.preventDefault());

/** The target an item or event concerns; '' (what the pull found) concerns every one. */
const targetText = (target) => target || msg('everyTarget');

/** Shows a run's item events, only the chosen target's (and the pull's) when one is chosen. */
async function openRunEvents(id, focus = true) {
  if (id !== eventsRun) eventsFilter.elements.target.value = '';
  eventsRun = id;
  const params = new URLSearchParams({ limit: '500' });
  const target = eventsFilter.elements.target.value;
  if (target) params.set('target', target);
  const { response, body } = await getJson(`/api/runs/${id}/events?${params}`);
  if (!response.ok || id !== eventsRun) return;
  const now = Date.now();
  fillSelect(eventsFilter.elements.target, body.run.targets.map((t) => t.target));
  eventsFilter.hidden = body.run.targets.length < 2;
  eventsHeading.textContent = msg('runEvents', { id });
  eventsCount.textContent = msg('runEventsCount', { shown: body.events.length, total: body.total });
  fillTable(
    eventsBody,
    body.events.length === 0
      ? [el('tr', {}, el('td', { colspan: 9 }, msg('itemsEmpty')))]
      : body.events.map((e) =>
          el(
            'tr',
            {},
            el('td', {}, timeElement(e.at, now)),
            el('td', {}, targetText(e.target)),
            el('td', { class: 'mono' }, e.barcode ?? ''),
            el('td', { class: 'mono' }, e.sku ?? ''),
            el('td', {}, e.name ?? ''),
            el('td', {}, stageText(e.stage)),
            el('td', {}, el('span', { class: `badge outcome-${e.outcome}` }, outcomeText(e.outcome))),
            el('td', { class: 'mono' }, e.code ?? ''),
            el('td', {}, e.message ?? ''),
          ),
        ),
  );
  eventsSection.hidden = false;
  if (focus) eventsHeading.focus();
}

// ---------------------------------------------------------------- failed and pending items

const filters = document.getElementById('filters');
const tabs = [...document.querySelectorAll('[role="tab"]')];
const panel = document.getElementById('items-panel');
const itemsCount = document.getElementById('items-count');
const csvLink = document.getElementById('csv');
const codeFilter = document.getElementById('code-filter');
const tables = { failed: document.getElementById('items-failed'), pending: document.getElementById('items-pending') };
const pager = document.getElementById('items-pager');
const previousPage = document.getElementById('items-previous');
const nextPage = document.getElementById('items-next');
const pageSize = Number(pager.dataset.pageSize);
let kind = 'failed';
let itemsRequest = 0;
let itemsOffset = 0;

function itemParams() {
  const form = new FormData(filters);
  const params = new URLSearchParams({ [kind]: '1' });
  const q = String(form.get('q') ?? '').trim();
  if (q) params.set('q', q);
  const connection = form.get('connection');
  if (connection) params.set('connection', connection);
  const target = form.get('target');
  if (target) params.set('target', target);
  const code = form.get('code');
  if (code && kind === 'failed') params.set('code', code);
  const since = form.get('since');
  // The date picker's day starts at local midnight, not UTC's.
  if (since) params.set('since', new Date(`${since}T00:00`).toISOString());
  return params;
}

/** Shows the items from `offset` on; a change of filter or tab starts again from the first page. */
async function refreshItems(offset = 0) {
  const request = ++itemsRequest;
  const params = itemParams();
  const csvParams = new URLSearchParams(params);
  csvParams.set('format', 'csv');
  csvLink.href = `/api/events?${csvParams}`;
  params.set('limit', String(pageSize));
  params.set('offset', String(offset));
  const { response, body } = await getJson(`/api/events?${params}`);
  if (request !== itemsRequest || !response.ok) return;
  const now = Date.now();
  if (kind === 'failed') fillCodeFilter(body.codes);
  // A page past the end (items went through since) falls back to the last one.
  if (body.items.length === 0 && offset > 0 && body.total > 0) return refreshItems(Math.floor((body.total - 1) / pageSize) * pageSize);
  itemsOffset = offset;
  itemsCount.textContent =
    body.total > pageSize
      ? msg('itemsRange', { from: offset + 1, to: offset + body.items.length, total: body.total })
      : msg('itemsCount', { shown: body.items.length, total: body.total });
  pager.hidden = body.total <= pageSize;
  previousPage.disabled = offset === 0;
  nextPage.disabled = offset + body.items.length >= body.total;
  const columns = kind === 'failed' ? 9 : 8;
  const rows =
    body.items.length === 0
      ? [el('tr', {}, el('td', { colspan: columns }, msg('itemsEmpty')))]
      : body.items.map((item) =>
          kind === 'failed'
            ? el(
                'tr',
                {},
                el('td', {}, item.connection),
                el('td', {}, targetText(item.target)),
                el('td', { class: 'mono' }, item.barcode ?? ''),
                el('td', { class: 'mono' }, item.sku ?? ''),
                el('td', {}, item.name ?? ''),
                el('td', {}, el('span', { class: `badge outcome-${item.outcome}` }, outcomeText(item.outcome))),
                el('td', { class: 'mono' }, item.code ?? ''),
                el('td', {}, item.message ?? ''),
                el('td', {}, timeElement(item.at, now)),
              )
            : el(
                'tr',
                {},
                el('td', {}, item.connection),
                el('td', {}, item.target),
                el('td', { class: 'mono' }, item.barcode),
                el('td', { class: 'mono' }, item.sku),
                el('td', {}, item.name),
                el('td', { class: 'num' }, money(item.price, item.currency)),
                el('td', { class: 'num' }, numberFormat.format(item.stock)),
                el('td', {}, timeElement(item.since, now)),
              ),
        );
  fillTable(tables[kind].querySelector('tbody'), rows);
}

/** Fills a table body; each cell is labelled with its column's heading for the stacked phone layout. */
function fillTable(tbody, rows) {
  const headings = [...tbody.closest('table').querySelectorAll('thead th')].map((th) => th.textContent);
  for (const row of rows) {
    [...row.cells].forEach((cell, i) => {
      if (cell.colSpan === 1) cell.dataset.label = headings[i];
    });
  }
  tbody.replaceChildren(...rows);
}

function fillSelect(select, values) {
  const current = select.value;
  select.replaceChildren(select.options[0], ...values.map((value) => el('option', { value }, value)));
  select.value = values.includes(current) ? current : '';
}

const fillCodeFilter = (codes) => fillSelect(filters.elements.code, codes);
const fillConnectionFilter = () => fillSelect(filters.elements.connection, connections.map((c) => c.name));
const targetFilter = document.getElementById('target-filter');

/** The target filter lists every target of every connection; it shows once there is more than one to choose from. */
function fillTargetFilter() {
  const names = [...new Set(connections.flatMap((c) => c.targets.map((t) => t.name)))].sort();
  fillSelect(filters.elements.target, names);
  targetFilter.hidden = names.length < 2;
}

let searchTimer;
filters.addEventListener('input', (event) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => refreshItems(), event.target.name === 'q' ? 250 : 0);
});
filters.addEventListener('submit', (event) => {
  event.preventDefault();
  clearTimeout(searchTimer);
  refreshItems();
});
previousPage.addEventListener('click', () => refreshItems(Math.max(0, itemsOffset - pageSize)));
nextPage.addEventListener('click', () => refreshItems(itemsOffset + pageSize));

function selectTab(tab, focus) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute('aria-selected', String(selected));
    other.tabIndex = selected ? 0 : -1;
  }
  kind = tab.dataset.kind;
  panel.setAttribute('aria-labelledby', tab.id);
  tables.failed.hidden = kind !== 'failed';
  tables.pending.hidden = kind !== 'pending';
  codeFilter.hidden = kind !== 'failed';
  if (focus) tab.focus();
  refreshItems();
}

for (const tab of tabs) {
  tab.addEventListener('click', () => selectTab(tab, false));
  tab.addEventListener('keydown', (event) => {
    const index = tabs.indexOf(tab);
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length], true);
  });
}

refreshStatus();
