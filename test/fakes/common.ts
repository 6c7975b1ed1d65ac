import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Shared machinery for the fake ERP servers in test/fakes/: a node:http server
 * on 127.0.0.1 (port 0) that records every request with its arrival time and
 * answer, and injects the faults every ERP can suffer on its catalog requests.
 * Each fake supplies only its routes and its documented payload shapes.
 */

/** Knobs every fake understands; a fake adds its own ERP-specific ones. */
export interface FakeKnobs {
  /** Products in the catalog (parents, before variants are counted). */
  products?: number;
  /** Give some products variants, where the ERP has them. */
  variants?: boolean;
  /** Two products share one barcode. */
  duplicateBarcode?: boolean;
  /** One product has no barcode at all. */
  missingBarcode?: boolean;
  /** Token ERPs: the first access token stops working after this many catalog requests. */
  tokenExpiresAfter?: number;
  /** Faults injected into catalog requests, in the order they arrive. */
  faults?: readonly Fault[];
  /** The ERP reports the whole catalog's size but its last page comes back empty. */
  underDeliver?: boolean;
}

/**
 * A fault answered instead of the catalog page for catalog requests number
 * `from` .. `from + times - 1` (counted from 1, in arrival order).
 * `times: Infinity` makes a storm that outlasts every retry.
 */
export type Fault = { from: number; times: number } & (
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Waits this long before answering (normally, if the client is still there). */
  | { kind: 'hang'; ms: number }
  /** Sends the first half of the page's JSON, then ends the response. */
  | { kind: 'truncate' }
  /** Valid JSON of the wrong shape: no product list in it. */
  | { kind: 'malformed' }
);

export interface RecordedRequest {
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Arrival time in milliseconds (Date.now()). */
  at: number;
  kind: RouteKind;
  /** The status answered; undefined while a hung request is still pending or was abandoned. */
  status?: number;
  /** The fault injected into this request, if any. */
  fault?: Fault['kind'];
}

/** `auth`: logins and refreshes. `catalog`: product pages (where faults apply). */
export type RouteKind = 'auth' | 'catalog' | 'other';

/** What every fake exposes to tests and to the driver contract suite. */
export interface FakeErp {
  readonly baseUrl: string;
  /** Every request received, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** One entry per offer the catalog holds: its barcode, or '' for an offer without one. */
  readonly expectedBarcodes: readonly string[];
  close(): Promise<void>;
}

export interface FakeReply {
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
}

export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeRoute {
  kind: RouteKind;
  /** Builds the normal answer; called after fault injection decided to let the request through. */
  reply(): FakeReply;
}

/**
 * Starts a fake. `route` classifies a request and says how to answer it;
 * returning undefined answers 404.
 */
export async function startFake(options: {
  knobs: FakeKnobs;
  route(req: FakeRequest): FakeRoute | undefined;
  expectedBarcodes: readonly string[];
}): Promise<FakeErp> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let catalogCount = 0;

  const send = (res: ServerResponse, record: RecordedRequest, reply: FakeReply, truncate = false) => {
    if (res.destroyed) return;
    record.status = reply.status;
    const text = reply.json === undefined ? '' : JSON.stringify(reply.json);
    const body = truncate ? text.slice(0, Math.floor(text.length / 2)) : text;
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const fakeReq: FakeRequest = { method: req.method ?? 'GET', url, headers: req.headers, body };
    const route = options.route(fakeReq);
    const record: RecordedRequest = {
      method: fakeReq.method,
      url: req.url ?? '/',
      headers: req.headers,
      body,
      at: Date.now(),
      kind: route?.kind ?? 'other',
    };
    requests.push(record);
    if (!route) return send(res, record, { status: 404, json: { message: 'Sayfa bulunamadı' } });
    if (route.kind !== 'catalog') return send(res, record, route.reply());

    const n = ++catalogCount;
    const fault = options.knobs.faults?.find((f) => n >= f.from && n < f.from + f.times);
    if (!fault) return send(res, record, route.reply());
    record.fault = fault.kind;
    switch (fault.kind) {
      case 'status':
        return send(res, record, {
          status: fault.status,
          json: { message: `Geçici hata (${fault.status})` },
          ...(fault.retryAfter !== undefined ? { headers: { 'retry-after': fault.retryAfter } } : {}),
        });
      case 'hang': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(res, record, route.reply());
        }, fault.ms);
        timers.add(timer);
        return;
      }
      case 'truncate':
        return send(res, record, route.reply(), true);
      case 'malformed':
        return send(res, record, { status: 200, json: { durum: 'bakım', mesaj: 'Sistem bakımda, lütfen daha sonra deneyin' } });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    expectedBarcodes: options.expectedBarcodes,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Tracks which access tokens a token ERP has issued and whether each still
 * works: the first one stops after `tokenExpiresAfter` catalog requests, the
 * way a token that expires in the middle of a run does.
 */
export class TokenBook {
  readonly #valid = new Map<string, number>();
  #issued = 0;
  readonly #expiresAfter: number | undefined;

  constructor(expiresAfter: number | undefined) {
    this.#expiresAfter = expiresAfter;
  }

  get issued(): number {
    return this.#issued;
  }

  issue(prefix: string): string {
    this.#issued++;
    const token = `${prefix}-${this.#issued}-${Math.random().toString(36).slice(2, 10)}`;
    this.#valid.set(token, this.#issued === 1 && this.#expiresAfter !== undefined ? this.#expiresAfter : Infinity);
    return token;
  }

  /** Spends one use of the token on a catalog request; false when it is unknown or used up. */
  use(token: string | undefined): boolean {
    const left = token === undefined ? undefined : this.#valid.get(token);
    if (left === undefined || left <= 0) return false;
    this.#valid.set(token!, left - 1);
    return true;
  }
}

/** Turkish product names, so every catalog exercises ç ğ ı İ ö ş ü. */
const nouns = ['Çaydanlık', 'Güğüm', 'Işıklı Ayna', 'İpek Şal', 'Örgü Kazak', 'Şemsiye', 'Ütü Masası', 'Kırmızı Çanta'];
const adjectives = ['Büyük', 'Küçük', 'Özel Seri', 'Şık', 'Gümüş', 'Doğal', 'İnce', 'Işıltılı'];

export function turkishName(i: number): string {
  return `${adjectives[i % adjectives.length]} ${nouns[Math.floor(i / adjectives.length) % nouns.length]} ${i + 1}`;
}

/** An EAN-13 with a right check digit, unique per (product, variant). */
export function barcodeFor(product: number, variant = 0): string {
  const body = `869${String(product + 1).padStart(6, '0')}${String(variant).padStart(2, '0')}0`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += Number(body[body.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return body + ((10 - (sum % 10)) % 10);
}

/** The page of `items` numbered `page` (from 1) with `size` items per page. */
export function pageOf<T>(items: readonly T[], page: number, size: number): T[] {
  return items.slice((page - 1) * size, page * size);
}

/** A fixture under test/fakes/fixtures: an answer written by us in the shape the ERP's reference describes. */
export function fixturePath(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

/** A JSON fixture ({@link fixturePath}), parsed. */
export function jsonFixture<T>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as T;
}
