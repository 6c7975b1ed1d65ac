import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { findDriver } from '../../drivers/index.js';
import { failedCsv, pendingCsv } from '../report/csv.js';
import type { ConnectionCatalog } from '../config/config.js';
import type { Lang } from '../i18n/index.js';
import { redact } from '../secrets/redact.js';
import type { Db } from '../store/db.js';
import {
  connectionStatus, countFailedItems, countItemEvents, failedItems, failingSince, getRun, itemEvents, pendingItems, recentRuns, targetRuns,
} from '../store/queries.js';
import { allPages, itemPage } from './data.js';
import type { ItemKind, ItemQuery } from './data.js';
import { webMessage } from './messages.js';
import { prometheusText } from './metrics.js';
import { ITEMS_PAGE, dashboardPage, loginPage, pickLanguage } from './page.js';
import {
  SESSION_COOKIE, Sessions, bearerToken, isLoopbackAddress, isLoopbackHostHeader, originMatchesHost, readCookies, sameSecret,
  securityHeaders, sessionCookie,
} from './security.js';
import { connectionView, healthReport } from './status.js';
import type { ConnectionView } from './status.js';
import type { RunControl } from './sync.js';

export interface WebServerOptions {
  db: Db;
  /** The connections shown: config.json's, or a hosted tenant's. */
  config: ConnectionCatalog;
  /**
   * Required from clients that are not on this machine; undefined when the
   * server listens on loopback only, where nobody else can connect.
   */
  accessToken: string | undefined;
  /** How "sync now" starts a run and how a running one is seen (`agentRuns`, or hosted mode's queue). */
  runs: RunControl;
  /** Directory of app.js, style.css and favicon.svg. */
  assets: URL;
  log(line: string): void;
}

export interface WebServer {
  server: Server;
  /** Stops runs started from the page, then closes the server. */
  close(): Promise<void>;
}

const CHART_DAYS = 14;
const LANG_COOKIE = 'erp_sync_lang';
const MAX_LIMIT = 1000;

const assetTypes: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The agent's own web page and JSON API on node:http. Routing is a switch
 * over a handful of fixed paths: clearer than a router for this few.
 */
export function createWebServer(options: WebServerOptions): WebServer {
  const { db, config } = options;
  // Read once at start: a missing asset fails `serve` at once, not the first visitor.
  const assets = new Map(Object.entries(assetTypes).map(([name, type]) => [`/${name}`, { type, body: readFileSync(new URL(name, options.assets)) }]));
  const sessions = new Sessions();
  const { runs } = options;

  function views(now = Date.now()): ConnectionView[] {
    const configs = config.connections();
    const targets = config.targets();
    const targetsOf = (name: string) => config.targetsOf(configs.find((c) => c.name === name)!, targets);
    const statuses = connectionStatus(db, configs.map((c) => c.name), targetsOf);
    return configs.map((connection, i) => {
      const status = statuses[i]!;
      return connectionView({
        config: connection,
        erp: findDriver(connection.driver)?.name ?? connection.driver,
        status,
        failingSince: failingSince(db, connection.name, status.lastSuccess?.id),
        running: runs.isRunning(connection.name),
        targetFailing: (target) => countFailedItems(db, { connection: connection.name, target, delivery: true, outcomes: ['rejected', 'failed'] }),
        now,
      });
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value);
    const url = new URL(req.url ?? '/', 'http://erp-sync.invalid');
    const method = req.method ?? 'GET';
    // Loopback only: nobody else can connect, so no token, but the Host header must name this machine.
    // On a network address everyone needs the token, this machine too: a reverse proxy on it would
    // otherwise let the whole network in.
    const local = options.accessToken === undefined;
    if (local && !isLoopbackAddress(req.socket.remoteAddress)) throw new HttpProblem(403, 'only this machine may connect');
    if (local && !isLoopbackHostHeader(req.headers.host)) {
      throw new HttpProblem(403, 'this Host header is not allowed: open the page at http://127.0.0.1 (or localhost) and its port');
    }

    const asset = assets.get(url.pathname);
    if (asset && method === 'GET') {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' }).end(asset.body);
      return;
    }

    const cookies = readCookies(req);
    const lang = pickLanguage(url.searchParams.get('lang'), cookies.get(LANG_COOKIE), req.headers['accept-language']);
    const session = cookies.get(SESSION_COOKIE);
    const signedIn = sessions.isValid(session);
    // Scripts (Prometheus, a probe) may send the token as a bearer token, but only to read.
    const bearer = method === 'GET' && options.accessToken !== undefined && sameSecret(bearerToken(req) ?? '', options.accessToken);
    const csrfScope = local ? 'local' : signedIn ? session! : 'login';

    if (url.pathname === '/' && url.searchParams.has('lang')) {
      res.setHeader('set-cookie', `${LANG_COOKIE}=${lang}; Path=/; SameSite=Strict; Max-Age=31536000`);
    }
    if (url.pathname === '/login' && method === 'POST') {
      await login(req, res, lang, csrfScope);
      return;
    }
    if (!local && !signedIn && !bearer) {
      if (url.pathname === '/' && method === 'GET') {
        html(res, 401, loginPage(lang, sessions.csrfToken('login'), false));
        return;
      }
      throw new HttpProblem(401, 'sign in with the access token first');
    }
    if (method === 'POST' && (!originMatchesHost(req) || !sessions.checkCsrf(csrfScope, header(req, 'x-csrf-token')))) {
      throw new HttpProblem(403, 'missing or wrong CSRF token: reload the page');
    }

    const path = url.pathname;
    const runEvents = /^\/api\/runs\/(\d+)\/events$/.exec(path);
    const sync = /^\/api\/connections\/([^/]+)\/sync$/.exec(path);
    if (method === 'POST' && sync) {
      await syncNow(res, decodePathSegment(sync[1]!), lang);
      return;
    }
    if (method !== 'GET') throw new HttpProblem(405, `${method} is not allowed here`);
    if (runEvents) {
      runEventsOf(res, Number(runEvents[1]), url.searchParams);
      return;
    }
    switch (path) {
      case '/':
        html(res, 200, dashboardPage(lang, sessions.csrfToken(csrfScope)));
        return;
      case '/api/status':
        json(res, 200, { now: new Date().toISOString(), connections: views() });
        return;
      case '/api/runs': {
        const days = boundedInt(url.searchParams.get('days'), CHART_DAYS, 366);
        const since = new Date(Date.now() - days * 86_400_000).toISOString();
        const runs = recentRuns(db, { since, limit: boundedInt(url.searchParams.get('limit'), 200, MAX_LIMIT) });
        const targets = targetRuns(db, runs.map((r) => r.id));
        json(res, 200, { runs: runs.map((run) => ({ ...run, targets: targets.get(run.id) ?? [] })) });
        return;
      }
      case '/api/events':
        items(res, url.searchParams);
        return;
      case '/healthz': {
        const report = healthReport(views());
        text(res, report.healthy ? 200 : 503, `${report.healthy ? 'ok' : 'unhealthy'}\n${report.lines.join('\n')}\n`);
        return;
      }
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' }).end(prometheusText(views()));
        return;
      default:
        throw new HttpProblem(404, 'not found');
    }
  }

  async function login(req: IncomingMessage, res: ServerResponse, lang: Lang, csrfScope: string): Promise<void> {
    if (options.accessToken === undefined) throw new HttpProblem(404, 'not found');
    const form = new URLSearchParams(await readBody(req, 4096));
    if (!originMatchesHost(req) || !sessions.checkCsrf(csrfScope, form.get('csrf') ?? undefined)) {
      throw new HttpProblem(403, 'missing or wrong CSRF token: reload the page');
    }
    if (!sameSecret(form.get('token') ?? '', options.accessToken)) {
      html(res, 401, loginPage(lang, sessions.csrfToken('login'), true));
      return;
    }
    res.writeHead(303, { location: '/', 'set-cookie': sessionCookie(sessions.create()), 'cache-control': 'no-store' }).end();
  }

  async function syncNow(res: ServerResponse, connection: string, lang: Lang): Promise<void> {
    if (!config.connection(connection)) throw new HttpProblem(404, `there is no connection named "${connection}"`);
    if ((await runs.start(connection)) === 'already') {
      json(res, 409, { queued: false, message: webMessage('alreadyRunning', {}, lang) });
      return;
    }
    json(res, 202, { queued: true, message: webMessage('queued', {}, lang) });
  }

  function runEventsOf(res: ServerResponse, id: number, params: URLSearchParams): void {
    const run = getRun(db, id);
    if (!run) throw new HttpProblem(404, `there is no run #${id}`);
    const limit = boundedInt(params.get('limit'), 200, MAX_LIMIT);
    const offset = boundedInt(params.get('offset'), 0, Number.MAX_SAFE_INTEGER);
    const filter = { runId: id, target: params.get('target') || undefined };
    json(res, 200, {
      run: { ...run, targets: targetRuns(db, [id]).get(id) ?? [] },
      total: countItemEvents(db, filter),
      events: itemEvents(db, { ...filter, limit, offset }),
    });
  }

  function items(res: ServerResponse, params: URLSearchParams): void {
    const kind: ItemKind | undefined = params.get('failed') === '1' ? 'failed' : params.get('pending') === '1' ? 'pending' : undefined;
    if (!kind) throw new HttpProblem(400, 'ask for failed=1 or pending=1');
    const since = params.get('since') || undefined;
    if (since !== undefined && Number.isNaN(Date.parse(since))) throw new HttpProblem(400, 'since must be a date or an ISO timestamp');
    const query: ItemQuery = {
      connection: params.get('connection') || undefined,
      target: params.get('target') || undefined,
      search: params.get('q') || undefined,
      code: kind === 'failed' ? params.get('code') || undefined : undefined,
      since: since && new Date(since).toISOString(),
    };
    if (params.get('format') === 'csv') {
      csv(res, kind, kind === 'failed' ? failedCsv(allPages((f) => failedItems(db, f), query)) : pendingCsv(allPages((f) => pendingItems(db, f), query)));
      return;
    }
    const page = itemPage(db, kind, query, boundedInt(params.get('limit'), ITEMS_PAGE, MAX_LIMIT), boundedInt(params.get('offset'), 0, Number.MAX_SAFE_INTEGER));
    json(res, 200, page);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpProblem) {
        if (!res.headersSent) json(res, error.status, { error: error.message });
        return;
      }
      options.log(`web: ${redact(error instanceof Error ? (error.stack ?? error.message) : String(error))}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error: see the erp-sync serve output' });
      else res.destroy();
    });
  });

  return {
    server,
    async close() {
      await runs.stop();
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** The same columns as `erp-sync logs --failed --csv` and `--pending --csv`. */
function csv(res: ServerResponse, kind: ItemKind, text: string): void {
  const day = new Date().toISOString().slice(0, 10);
  res
    .writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="erp-sync-${kind}-${day}.csv"`,
      'cache-control': 'no-store',
    })
    .end(text);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpProblem(404, 'not found');
  }
}

function boundedInt(value: string | null, fallback: number, max: number): number {
  if (value === null || !/^\d+$/.test(value)) return fallback;
  return Math.min(max, Number(value));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > limit) throw new HttpProblem(413, 'request too large');
  }
  return body;
}
