import { TokenBook, barcodeFor, pageOf, startFake, turkishName } from './common.js';
import type { FakeErp, FakeKnobs, FakeReply } from './common.js';
import type { ConnectionMistake, ContractConnection } from '../support/driver-contract.js';

/**
 * A fake Paraşüt API v4 (docs/erp-apis.md §1): OAuth2 password and
 * refresh-token grants at `/oauth/token` (form-encoded), refresh tokens that
 * rotate (each one works once), `Authorization: Bearer`, and JSON:API
 * product pages at `/v4/{companyId}/products` with `page[number]`,
 * `page[size]` (default 15, at most 25) and `meta.total_count` /
 * `meta.total_pages`.
 */
export interface ParasutKnobs extends FakeKnobs {
  companyId?: number;
  clientId?: string;
  clientSecret?: string;
  username?: string;
  password?: string;
  currency?: 'TRL' | 'TRY' | 'USD';
  /** Send decimals as JSON strings ("100.0"), as Rails serializers often do. */
  decimalsAsStrings?: boolean;
  /** Serve these product resources (a fixture's `data`) instead of generated ones. */
  catalog?: readonly Record<string, unknown>[];
}

export interface ParasutFake extends FakeErp {
  readonly companyId: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string;
  readonly password: string;
  /** The refresh token that works now (each refresh retires the one used). */
  readonly currentRefreshToken: string | undefined;
  /** Hands out a refresh token without a login, as a previous run would have left one. */
  mintRefreshToken(): string;
}

const redirectUri = 'urn:ietf:wg:oauth:2.0:oob';

/** A connection this fake accepts (list prices KDV hariç), or one wrong in the way `mistake` says. */
export function parasutConnection(fake: ParasutFake, mistake?: ConnectionMistake, secrets: Record<string, string> = {}): ContractConnection {
  return {
    settings: {
      companyId: mistake === 'unknown-tenant' ? '999999' : String(fake.companyId),
      clientId: fake.clientId,
      username: fake.username,
      pageSize: '10',
      priceIncludesVat: 'false',
    },
    secrets: { clientSecret: fake.clientSecret, password: mistake === 'wrong-credentials' ? 'yanlış-şifre' : fake.password, ...secrets },
  };
}

export function parasutCatalog(knobs: ParasutKnobs): { products: Array<Record<string, unknown>>; expectedBarcodes: string[] } {
  const products: Array<Record<string, unknown>> = [];
  const expectedBarcodes: string[] = [];
  const count = knobs.products ?? 25;
  const money = (value: number) => (knobs.decimalsAsStrings ? value.toFixed(1) : value);
  for (let i = 0; i < count; i++) {
    let barcode: string | null = barcodeFor(i);
    if (knobs.duplicateBarcode && i === 1) barcode = barcodeFor(0);
    if (knobs.missingBarcode && i === 2) barcode = null;
    const price = 100 + i + 0.5;
    products.push({
      id: String(5000 + i),
      type: 'products',
      attributes: {
        code: `PRS-${i + 1}`,
        name: turkishName(i),
        barcode,
        gtip: null,
        vat_rate: money(i % 4 === 3 ? 10 : 20),
        unit: 'Adet',
        archived: i % 6 === 5,
        list_price: money(price),
        currency: knobs.currency ?? 'TRL',
        list_price_in_trl: money(price),
        buying_price: money(60),
        buying_currency: 'TRL',
        inventory_tracking: true,
        initial_stock_count: money(0),
        stock_count: money(i % 5 === 4 ? 0 : 2 + i),
        created_at: '2026-01-05T09:00:00.000+03:00',
        updated_at: '2026-11-01T10:00:00.000+03:00',
      },
      relationships: { category: { data: null } },
    });
    expectedBarcodes.push(barcode ?? '');
  }
  return { products, expectedBarcodes };
}

export async function startParasutFake(knobs: ParasutKnobs = {}): Promise<ParasutFake> {
  const companyId = knobs.companyId ?? 115;
  const clientId = knobs.clientId ?? 'istemci-kimligi';
  const clientSecret = knobs.clientSecret ?? 'istemci-gizli-anahtar';
  const username = knobs.username ?? 'muhasebe@örnek.com.tr';
  const password = knobs.password ?? 'Çok-Gizli-Şifre-7';
  const { products, expectedBarcodes } = knobs.catalog
    ? { products: [...knobs.catalog], expectedBarcodes: knobs.catalog.map((p) => String((p.attributes as Record<string, unknown>).barcode ?? '')) }
    : parasutCatalog(knobs);
  const tokens = new TokenBook(knobs.tokenExpiresAfter);
  let currentRefresh: string | undefined;

  const mintRefreshToken = () => {
    currentRefresh = `yenile-${tokens.issued + 1}-${Math.random().toString(36).slice(2)}`;
    return currentRefresh;
  };
  const issue = (): FakeReply => {
    const refresh = mintRefreshToken();
    return {
      status: 200,
      json: { access_token: tokens.issue('erisim'), token_type: 'bearer', expires_in: 7200, refresh_token: refresh, created_at: Math.floor(Date.now() / 1000) },
    };
  };
  const oauthError = (status: number, error: string, description: string): FakeReply => ({ status, json: { error, error_description: description } });

  const grant = (body: string): FakeReply => {
    const form = new URLSearchParams(body);
    if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
      return oauthError(401, 'invalid_client', 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.');
    }
    switch (form.get('grant_type')) {
      case 'password':
        if (form.get('redirect_uri') !== redirectUri) return oauthError(400, 'invalid_request', 'redirect_uri is missing or wrong.');
        if (form.get('username') !== username || form.get('password') !== password) {
          return oauthError(400, 'invalid_grant', 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.');
        }
        return issue();
      case 'refresh_token':
        if (!currentRefresh || form.get('refresh_token') !== currentRefresh) {
          return oauthError(400, 'invalid_grant', 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.');
        }
        return issue();
      default:
        return oauthError(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server.');
    }
  };

  const productPage = (url: URL): FakeReply => {
    const page = Number(url.searchParams.get('page[number]') ?? '1');
    const asked = Number(url.searchParams.get('page[size]') ?? '15');
    const size = Math.min(asked, 25);
    if (!(Number.isInteger(page) && page >= 1 && Number.isInteger(asked) && asked >= 1)) {
      return { status: 400, json: { errors: [{ title: 'Geçersiz parametre', detail: 'page[number] ve page[size] pozitif tam sayı olmalı' }] } };
    }
    const totalPages = Math.ceil(products.length / size);
    const served = knobs.underDeliver && page === totalPages ? [] : pageOf(products, page, size);
    return {
      status: 200,
      json: {
        data: served,
        meta: { current_page: page, total_pages: totalPages, total_count: products.length, per_page: size },
      },
    };
  };

  const fake = await startFake({
    knobs,
    expectedBarcodes,
    route: ({ method, url, headers, body }) => {
      if (method === 'POST' && url.pathname === '/oauth/token') return { kind: 'auth', reply: () => grant(body) };
      const path = method === 'GET' ? /^\/v4\/([^/]+)\/products$/.exec(url.pathname) : null;
      if (!path) return undefined;
      return {
        kind: 'catalog',
        reply: () => {
          const auth = /^Bearer (.+)$/i.exec(headers.authorization ?? '');
          if (!tokens.use(auth?.[1])) return { status: 401, json: { errors: [{ title: 'Unauthorized', detail: 'Yetkisiz erişim' }] } };
          if (path[1] !== String(companyId)) return { status: 404, json: { errors: [{ title: 'Not Found', detail: 'Kayıt bulunamadı' }] } };
          return productPage(url);
        },
      };
    },
  });

  return {
    baseUrl: fake.baseUrl,
    requests: fake.requests,
    expectedBarcodes: fake.expectedBarcodes,
    close: fake.close,
    companyId,
    clientId,
    clientSecret,
    username,
    password,
    get currentRefreshToken() {
      return currentRefresh;
    },
    mintRefreshToken,
  };
}
