import Big from 'big.js';
import { DriverError } from '../src/driver/contract.js';
import type { Driver, DriverContext, MapContext, ProductCandidate } from '../src/driver/contract.js';
import { decimalField, isZeroDecimal } from '../src/driver/decimal.js';
import { paginateByPageNumber } from '../src/driver/paginate.js';
import type { NumberedPage } from '../src/driver/paginate.js';
import { TokenSession } from '../src/driver/token-session.js';
import { HttpError } from '../src/http/errors.js';
import { defineMessages } from '../src/i18n/index.js';
import { asObject, booleanSetting, isObject, priceIncludesVatField, priceIncludesVatSetting, trimmedText } from '../src/driver/settings.js';

/**
 * Entegra (entegrabilisim apiv2). No official document is public; this
 * follows the clients summarized in docs/erp-apis.md §2 and accepts every
 * variant they disagree on: `productList` or `porductList`, a login answered
 * 200 or 201, `totalProduct` as a number or a string, or missing altogether.
 */

const m = defineMessages({
  en: {
    noPassword: 'the {connection} connection has no password for Entegra',
    noEmail: 'the {connection} connection has no e-mail address for Entegra',
    connectAgain: 'Run `erp-sync connect {connection}` again.',
    rejected: 'Entegra did not accept the e-mail address {email} with this password (wrong e-mail or password)',
    rejectedHint: 'Check them by logging in to Entegra, then run `erp-sync connect {connection}` again.',
    loginWithoutToken: 'Entegra answered the login without an access token',
    refreshWithoutToken: 'Entegra answered the token refresh without an access token',
    noProductList: 'Entegra sent product page {page} without a product list (neither productList nor porductList)',
    badTotal: 'Entegra sent a product count that is not a number: {value}',
  },
  tr: {
    noPassword: '{connection} bağlantısında Entegra için şifre yok',
    noEmail: '{connection} bağlantısında Entegra için e-posta adresi yok',
    connectAgain: '`erp-sync connect {connection}` komutunu yeniden çalıştırın.',
    rejected: 'Entegra {email} e-posta adresini bu şifreyle kabul etmedi (e-posta ya da şifre yanlış)',
    rejectedHint: 'Entegra’ya giriş yaparak bilgileri kontrol edin, ardından `erp-sync connect {connection}` komutunu yeniden çalıştırın.',
    loginWithoutToken: 'Entegra giriş isteğine access token içermeyen bir yanıt verdi',
    refreshWithoutToken: 'Entegra token yenileme isteğine access token içermeyen bir yanıt verdi',
    noProductList: 'Entegra {page}. ürün sayfasını ürün listesi olmadan gönderdi (ne productList ne de porductList var)',
    badTotal: 'Entegra sayı olmayan bir ürün sayısı gönderdi: {value}',
  },
});

const priceFields = ['price1', 'price2', 'price3', 'price4', 'price5', 'price6', 'price7', 'price8'] as const;

interface Tokens {
  access: string;
  refresh: string | undefined;
}

export const entegra = {
  id: 'entegra',
  name: 'Entegra',
  defaultBaseUrl: 'https://apiv2.entegrabilisim.com',
  // Not published; the one client that states a limit assumes 7200 an hour.
  rateLimit: { requests: 7200, perMs: 3_600_000 },
  account: ['email'],
  fields: [
    { name: 'email', label: 'E-mail address', labelTr: 'E-posta adresi', secret: false, required: true, kind: 'email', help: { en: 'The e-mail address you log in to Entegra with.', tr: 'Entegra’ya giriş yaptığınız e-posta adresi.' } },
    { name: 'password', label: 'Password', labelTr: 'Şifre', secret: true, required: true, kind: 'text' },
    {
      name: 'priceField',
      label: 'Price slot to sell at',
      labelTr: 'Satış fiyatı alanı',
      secret: false,
      required: false,
      kind: 'choice',
      choices: priceFields,
      default: 'price1',
      help: { en: 'Which of Entegra\'s eight prices (price1 … price8) is the sale price.', tr: 'Entegra’daki sekiz fiyattan (price1 … price8) hangisinin satış fiyatı olduğu.' },
    },
    priceIncludesVatField({
      en: 'Entegra does not document whether its prices include VAT; one client notes that price1 is without it.',
      tr: 'Entegra fiyatların KDV dahil olup olmadığını belgelemiyor; bir istemci price1 fiyatının KDV hariç olduğunu not ediyor.',
    }),
    { name: 'rateLimit', label: 'Rate limit', labelTr: 'İstek sınırı', secret: false, required: false, kind: 'text', default: '7200/1h', help: { en: 'Requests per window, e.g. 7200/1h.', tr: 'Zaman aralığı başına istek sayısı, ör. 7200/1h.' } },
  ],

  async testConnection(ctx) {
    priceIncludesVatSetting(ctx);
    const session = entegraSession(ctx);
    await session.call((token) => fetchProductPage(ctx, token, 1));
  },

  async *pullPages(ctx) {
    priceIncludesVatSetting(ctx);
    const session = entegraSession(ctx);
    yield* paginateByPageNumber({
      fetchPage: (page) => session.call((token) => fetchProductPage(ctx, token, page)),
      concurrency: ctx.concurrency,
      warn: ctx.warn,
    });
  },

  mapRecord(record, ctx) {
    const product = asObject(record);
    const slot = chosenPrice(ctx);
    const base: ProductCandidate = {
      name: trimmedText(product.name),
      currency: trimmedText(product.currencyType),
      vatRate: decimalField(product.kdv_id),
      priceIncludesVat: booleanSetting(ctx.settings, 'priceIncludesVat', null),
      active: trimmedText(product.status) === '1',
      brand: trimmedText(product.brand),
      category: trimmedText(product.group),
    };
    const variants = Array.isArray(product.variatios) ? product.variatios.map(asObject) : [];
    // A product with variants is the model, not something a buyer can pick:
    // each variant is the offer, with its own barcode and stock. The parent is
    // an offer only when it has no variants.
    if (variants.length === 0) {
      return [{ ...base, barcode: trimmedText(product.barcode), sku: trimmedText(product.productCode), price: decimalField(product[slot]), stock: decimalField(product.quantity) }];
    }
    return variants.map((variant) => {
      const spec = Array.isArray(variant.variationSpec) ? variant.variationSpec.map(asObject).map((s) => trimmedText(s.value)).filter(Boolean) : [];
      return {
        ...base,
        name: spec.length > 0 && base.name ? `${base.name} (${spec.join(', ')})` : base.name,
        barcode: trimmedText(variant.barcode),
        sku: trimmedText(variant.productCode) || trimmedText(product.productCode),
        price: variantPrice(product, variant, slot),
        stock: decimalField(variant.quantity),
      };
    });
  },
} satisfies Driver;

function chosenPrice(ctx: MapContext): (typeof priceFields)[number] {
  const field = ctx.settings.priceField ?? 'price1';
  return (priceFields as readonly string[]).includes(field) ? (field as (typeof priceFields)[number]) : 'price1';
}

/**
 * A variant's price (docs/erp-apis.md §2): its own price slot when it has one;
 * otherwise the product's price in that slot adjusted by the variant's
 * `price`, which public clients pair with `price_prefix` ('+' or '-', '+'
 * when absent) as a difference from the product's price. The difference is
 * never the price itself. Anything unreadable is handed on for the validator
 * to report.
 */
function variantPrice(product: Record<string, unknown>, variant: Record<string, unknown>, slot: (typeof priceFields)[number]): string | number | null {
  const own = decimalField(variant[slot]);
  if (own !== null && !isZeroDecimal(own)) return own;
  const price = decimalField(product[slot]);
  const difference = decimalField(variant.price);
  if (difference === null || isZeroDecimal(difference)) return price;
  if (!isPlain(price)) return price;
  if (!isPlain(difference)) return difference;
  const adjusted = trimmedText(variant.price_prefix) === '-' ? new Big(price).minus(difference) : new Big(price).plus(difference);
  return adjusted.toFixed();
}

const isPlain = (value: string | number | null): value is string => typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value);

function entegraSession(ctx: DriverContext): TokenSession {
  let refresh: string | undefined;
  const remember = (tokens: Tokens) => {
    refresh = tokens.refresh ?? refresh;
    return tokens.access;
  };
  const login = async () => remember(await obtainTokens(ctx));
  return new TokenSession(login, async () => {
    if (refresh === undefined) return login();
    try {
      return remember(await refreshTokens(ctx, refresh));
    } catch (error) {
      // A refresh token lives about a month; once it is gone only a new login helps.
      if (error instanceof HttpError && (error.status === 400 || error.status === 401)) return login();
      throw error;
    }
  });
}

async function obtainTokens(ctx: DriverContext): Promise<Tokens> {
  const email = ctx.settings.email;
  const password = ctx.secrets.password;
  if (!email || !password) {
    throw new DriverError('CONFIGURATION', m(email ? 'noPassword' : 'noEmail', { connection: ctx.connection }), {
      hint: m('connectAgain', { connection: ctx.connection }),
    });
  }
  try {
    const response = await ctx.http.request<unknown>({ method: 'POST', path: '/api/user/token/obtain/', json: { email, password } });
    return readTokens(response.data, 'loginWithoutToken');
  } catch (error) {
    if (error instanceof HttpError && (error.status === 400 || error.status === 401)) {
      throw new DriverError('CREDENTIALS_REJECTED', m('rejected', { email }), {
        hint: m('rejectedHint', { connection: ctx.connection }),
        cause: error,
      });
    }
    throw error;
  }
}

async function refreshTokens(ctx: DriverContext, refresh: string): Promise<Tokens> {
  const response = await ctx.http.request<unknown>({ method: 'POST', path: '/api/user/token/refresh/', json: { refresh } });
  return readTokens(response.data, 'refreshWithoutToken');
}

/** `missing` names the message for an answer without an access token: to the login, or to a refresh. */
function readTokens(data: unknown, missing: 'loginWithoutToken' | 'refreshWithoutToken'): Tokens {
  const body = asObject(data);
  if (typeof body.access !== 'string' || body.access === '') {
    throw new DriverError('MALFORMED_RESPONSE', m(missing));
  }
  return { access: body.access, refresh: typeof body.refresh === 'string' && body.refresh !== '' ? body.refresh : undefined };
}

/**
 * One page of products. Past the first page, an answer that says there is no
 * such page ends the catalog (docs/erp-apis.md §2): Django REST framework's
 * 404 `{"detail": "Invalid page."}`, or an answer with no product list and
 * nothing else in it. An answer with other content and no list is unreadable.
 */
async function fetchProductPage(ctx: DriverContext, token: string, page: number): Promise<NumberedPage> {
  let data: unknown;
  try {
    ({ data } = await ctx.http.request<unknown>({ path: `/product/page=${page}/`, headers: { authorization: `JWT ${token}` } }));
  } catch (error) {
    if (page > 1 && error instanceof HttpError && error.status === 404) return { records: [] };
    throw error;
  }
  const body = asObject(data);
  const total = body.totalProduct === undefined || body.totalProduct === null || body.totalProduct === '' ? undefined : Number(body.totalProduct);
  if (total !== undefined && !(Number.isInteger(total) && total >= 0)) {
    throw new DriverError('MALFORMED_RESPONSE', m('badTotal', { value: JSON.stringify(body.totalProduct) }));
  }
  // Several clients read the misspelled key; the documented one is productList.
  const list = body.productList ?? body.porductList;
  if (Array.isArray(list)) return { records: list, totalRecords: total };
  if (page > 1 && isObject(data) && Object.keys(body).every((key) => key === 'detail' || key === 'totalProduct')) return { records: [], totalRecords: total };
  throw new DriverError('MALFORMED_RESPONSE', m('noProductList', { page: String(page) }));
}

