import { TokenBook, barcodeFor, pageOf, startFake, turkishName } from './common.js';
import type { FakeErp, FakeKnobs, FakeReply } from './common.js';
import type { ConnectionMistake, ContractConnection } from '../support/driver-contract.js';

/**
 * A fake Entegra apiv2 (docs/erp-apis.md §2): JWT login and refresh,
 * `Authorization: JWT <access>`, products by path page `/product/page={n}/`
 * with a server-fixed page size, `totalProduct`, every product value a
 * string, variants under `variatios` with their own `price1`…`price8` and a
 * `price` that is a difference from the product's. A page past the last one
 * answers as Django REST framework's paginator does: 404 `Invalid page.`.
 */
export interface EntegraKnobs extends FakeKnobs {
  email?: string;
  password?: string;
  /** Products per page, fixed by the server (unknown in reality). */
  pageSize?: number;
  /** The list key: clients disagree whether the server misspells it. */
  listKey?: 'productList' | 'porductList';
  currency?: 'TRL' | 'TL' | 'TRY';
  /** Status of a successful login: the yii2 client expects 201. */
  loginStatus?: 200 | 201;
  /** How a wrong e-mail or password is answered (simplejwt: 401, drf-jwt: 400). */
  wrongLoginStatus?: 400 | 401;
  /** The refresh endpoint rejects every refresh token, so only a new login helps. */
  rejectRefresh?: boolean;
  /** `totalProduct` as a string, like every other value. */
  totalAsString?: boolean;
  /** Leave `totalProduct` out, so only the page past the last one ends the catalog. */
  omitTotal?: boolean;
  /** How the page past the last one answers: DRF's 404 (default), an empty list, or an answer with no list at all. */
  pastEnd?: '404' | 'empty' | 'noList';
  /** Serve these products (a fixture) instead of generated ones. */
  catalog?: readonly Record<string, unknown>[];
}

export interface EntegraFake extends FakeErp {
  readonly email: string;
  readonly password: string;
  readonly pageSize: number;
  /** Access tokens issued so far (logins and refreshes). */
  readonly tokensIssued: number;
}

interface EntegraVariant {
  id: string;
  productCode: string;
  barcode: string;
  gtin: string;
  quantity: string;
  /** A difference from the product's price, paired with price_prefix. */
  price: string;
  price_prefix: string;
  price1: string;
  price2: string;
  variationSpec: Array<{ name: string; value: string }>;
}

const colours = ['Kırmızı', 'Yeşil', 'Gümüş Gri'];
const sizes = ['S', 'M', 'L'];

export function entegraCatalog(knobs: EntegraKnobs): { products: Array<Record<string, unknown>>; expectedBarcodes: string[] } {
  const products: Array<Record<string, unknown>> = [];
  const expectedBarcodes: string[] = [];
  const count = knobs.products ?? 25;
  for (let i = 0; i < count; i++) {
    let barcode = barcodeFor(i);
    if (knobs.duplicateBarcode && i === 1) barcode = barcodeFor(0);
    if (knobs.missingBarcode && i === 2) barcode = '';
    const variatios: EntegraVariant[] = [];
    if (knobs.variants && i % 3 === 0) {
      // The first variant sells at the product's price, the second at a difference from it, the third at its own price1.
      for (let v = 1; v <= 2 + (i % 2); v++) {
        variatios.push({
          id: String(10_000 + i * 10 + v),
          productCode: `ENT-${i + 1}-${v}`,
          barcode: barcodeFor(i, v),
          gtin: '',
          quantity: String(v * 2),
          price: v === 2 ? '10.0000' : '0.0000',
          price_prefix: '+',
          price1: v === 3 ? `${150 + i}.50` : '0.0000',
          price2: '0.0000',
          variationSpec: [
            { name: 'Renk', value: colours[v % colours.length]! },
            { name: 'Beden', value: sizes[v % sizes.length]! },
          ],
        });
      }
    }
    products.push({
      id: String(1000 + i),
      productCode: `ENT-${i + 1}`,
      name: turkishName(i),
      barcode,
      gtin: '',
      status: i % 7 === 6 ? '0' : '1',
      brand: 'Özdemir Tekstil',
      group: String(40 + (i % 4)),
      quantity: String(i % 5 === 4 ? 0 : 3 + i),
      quantity2: '0',
      currencyType: knobs.currency ?? 'TRL',
      kdv_id: i % 4 === 3 ? '10' : '20',
      price1: `${100 + i}.90`,
      price2: `${120 + i}.00`,
      price3: `${90 + i}.25`,
      price8: `${200 + i}.00`,
      buying_price: `${60 + i}.00`,
      date_change: '2026-11-01 10:00:00',
      variatios,
      pictures: [{ picture: `https://cdn.example.invalid/${i}.jpg` }],
    });
    if (variatios.length > 0) expectedBarcodes.push(...variatios.map((v) => v.barcode));
    else expectedBarcodes.push(barcode);
  }
  return { products, expectedBarcodes };
}

export async function startEntegraFake(knobs: EntegraKnobs = {}): Promise<EntegraFake> {
  const email = knobs.email ?? 'magaza@örnek.com.tr';
  const password = knobs.password ?? 'Gizli-Şifre-42';
  const pageSize = knobs.pageSize ?? 10;
  const listKey = knobs.listKey ?? 'productList';
  const { products, expectedBarcodes } = knobs.catalog ? fixtureCatalog(knobs.catalog) : entegraCatalog(knobs);
  const tokens = new TokenBook(knobs.tokenExpiresAfter);
  const refreshTokens = new Set<string>();

  const issue = (status: number): FakeReply => {
    const refresh = `refresh-${tokens.issued + 1}-${Math.random().toString(36).slice(2)}`;
    refreshTokens.add(refresh);
    return { status, json: { access: tokens.issue('jwt'), refresh } };
  };

  const productPage = (page: number): FakeReply => {
    const served = knobs.underDeliver ? products.slice(0, Math.floor((products.length - 1) / pageSize) * pageSize) : products;
    const total = knobs.totalAsString ? String(products.length) : products.length;
    const totalField = knobs.omitTotal ? {} : { totalProduct: total };
    if (page > 1 && (page - 1) * pageSize >= products.length) {
      switch (knobs.pastEnd ?? '404') {
        case '404':
          return { status: 404, json: { detail: 'Invalid page.' } };
        case 'empty':
          return { status: 200, json: { ...totalField, [listKey]: [] } };
        case 'noList':
          return { status: 200, json: totalField };
      }
    }
    return { status: 200, json: { ...totalField, [listKey]: pageOf(served, page, pageSize) } };
  };

  const fake = await startFake({
    knobs,
    expectedBarcodes,
    route: ({ method, url, headers, body }) => {
      if (method === 'POST' && url.pathname === '/api/user/token/obtain/') {
        return {
          kind: 'auth',
          reply: () => {
            const creds = parseJson(body);
            if (creds?.email !== email || creds?.password !== password) {
              return knobs.wrongLoginStatus === 400
                ? { status: 400, json: { non_field_errors: ['Unable to log in with provided credentials.'] } }
                : { status: 401, json: { detail: 'No active account found with the given credentials' } };
            }
            return issue(knobs.loginStatus ?? 201);
          },
        };
      }
      if (method === 'POST' && url.pathname === '/api/user/token/refresh/') {
        return {
          kind: 'auth',
          reply: () => {
            const refresh = parseJson(body)?.refresh;
            if (knobs.rejectRefresh || typeof refresh !== 'string' || !refreshTokens.has(refresh)) {
              return { status: 401, json: { detail: 'Token is invalid or expired', code: 'token_not_valid' } };
            }
            return issue(200);
          },
        };
      }
      const page = method === 'GET' ? /^\/product\/page=(\d+)\/$/.exec(url.pathname) : null;
      if (page) {
        return {
          kind: 'catalog',
          reply: () => {
            const auth = /^JWT (.+)$/.exec(headers.authorization ?? '');
            if (!tokens.use(auth?.[1])) return { status: 401, json: { detail: 'Signature has expired.' } };
            return productPage(Number(page[1]));
          },
        };
      }
      return undefined;
    },
  });

  return {
    baseUrl: fake.baseUrl,
    requests: fake.requests,
    expectedBarcodes: fake.expectedBarcodes,
    close: fake.close,
    email,
    password,
    pageSize,
    get tokensIssued() {
      return tokens.issued;
    },
  };
}

/** A fixture's products, with one expected offer per variant, or per product without variants. */
/** A connection this fake accepts (prices KDV hariç), or one wrong in the way `mistake` says. */
export function entegraConnection(fake: EntegraFake, mistake?: ConnectionMistake): ContractConnection {
  return {
    settings: { email: fake.email, priceIncludesVat: 'false' },
    secrets: { password: mistake === 'wrong-credentials' ? 'yanlış-şifre' : fake.password },
  };
}

function fixtureCatalog(catalog: readonly Record<string, unknown>[]): { products: Array<Record<string, unknown>>; expectedBarcodes: string[] } {
  const expectedBarcodes = catalog.flatMap((product) => {
    const variants = Array.isArray(product.variatios) ? (product.variatios as Array<Record<string, unknown>>) : [];
    return variants.length > 0 ? variants.map((v) => String(v.barcode ?? '')) : [String(product.barcode ?? '')];
  });
  return { products: [...catalog], expectedBarcodes };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
