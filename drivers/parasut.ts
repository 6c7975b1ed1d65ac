import { DriverError } from '../src/driver/contract.js';
import type { Driver, DriverContext, ProductCandidate } from '../src/driver/contract.js';
import { decimalField } from '../src/driver/decimal.js';
import { paginateByPageNumber } from '../src/driver/paginate.js';
import type { NumberedPage } from '../src/driver/paginate.js';
import { TokenSession } from '../src/driver/token-session.js';
import { HttpError } from '../src/http/errors.js';
import { defineMessages } from '../src/i18n/index.js';
import { asObject, booleanSetting, pageSizeField, priceIncludesVatField, priceIncludesVatSetting, trimmedText } from '../src/driver/settings.js';

/**
 * Paraşüt API v4 (docs/erp-apis.md §1): OAuth2 password grant, JSON:API product
 * pages under the company's path. Paraşüt rotates refresh tokens: every
 * grant returns a new one and retires the old, so the newest is written back
 * to the secret store and tried first on the next run, before the password.
 */

const redirectUri = 'urn:ietf:wg:oauth:2.0:oob';

/** The largest page Paraşüt serves (docs/erp-apis.md §1): a larger `page[size]` is not honoured. */
const maxPageSize = 25;

const m = defineMessages({
  en: {
    companyNotNumber: 'the Paraşüt company number must be a whole number, not "{value}"',
    companyNotSet: 'the Paraşüt company number (Firma numarası) is not set',
    companyHint: 'Set it with `erp-sync connect {connection}`; it is the number after uygulama.parasut.com/ once you are logged in.',
    badPageSize: 'the Paraşüt page size must be a positive whole number, not "{value}"',
    pageSizeCapped: 'the pageSize setting {value} is more than Paraşüt serves a page; {max} is used',
    refreshNotSaved: 'could not save Paraşüt\'s new refresh token ({reason}); the next run will log in with the password',
    missing: 'the {connection} connection has no {missing} for Paraşüt',
    clientId: 'client ID',
    clientSecret: 'client secret',
    email: 'e-mail address',
    password: 'password',
    connectAgain: 'Run `erp-sync connect {connection}` again.',
    loginWithoutToken: 'Paraşüt answered the login without an access token',
    checkThem: 'Check them, then run `erp-sync connect {connection}` again.',
    clientRejected: 'Paraşüt did not accept the client ID and client secret (wrong client ID or client secret)',
    passwordRejected: 'Paraşüt did not accept the e-mail address {username} with this password (wrong e-mail or password)',
    unknownCompany: 'unknown company id {companyId}: Paraşüt has no company with this number for this account (Firma numarası)',
    unknownCompanyHint: 'The company number is the number after uygulama.parasut.com/ once you are logged in.',
    noProductList: 'Paraşüt sent product page {page} without a product list (no JSON:API "data" array)',
  },
  tr: {
    companyNotNumber: 'Paraşüt firma numarası tam sayı olmalı; "{value}" geçerli değil',
    companyNotSet: 'Paraşüt firma numarası girilmemiş',
    companyHint: 'Firma numarasını `erp-sync connect {connection}` ile girin; giriş yaptıktan sonra adres çubuğunda uygulama.parasut.com/ sonrasındaki sayıdır.',
    badPageSize: 'Paraşüt sayfa boyutu (pageSize) pozitif bir tam sayı olmalı; "{value}" geçerli değil',
    pageSizeCapped: 'pageSize ayarındaki {value}, Paraşüt’ün bir sayfada gönderdiğinden fazla; {max} kullanılıyor',
    refreshNotSaved: 'Paraşüt’ün verdiği yeni yenileme anahtarı (refresh token) kaydedilemedi ({reason}); bir sonraki çalışmada şifreyle giriş yapılacak',
    missing: '{connection} bağlantısında Paraşüt için şu bilgiler eksik: {missing}',
    clientId: 'istemci kimliği (Client ID)',
    clientSecret: 'istemci gizli anahtarı (Client Secret)',
    email: 'e-posta adresi',
    password: 'şifre',
    connectAgain: '`erp-sync connect {connection}` komutunu yeniden çalıştırın.',
    loginWithoutToken: 'Paraşüt giriş isteğine access token içermeyen bir yanıt verdi',
    checkThem: 'Bilgileri kontrol edin, ardından `erp-sync connect {connection}` komutunu yeniden çalıştırın.',
    clientRejected: 'Paraşüt istemci kimliğini (Client ID) ve istemci gizli anahtarını (Client Secret) kabul etmedi (Client ID ya da Client Secret yanlış)',
    passwordRejected: 'Paraşüt {username} e-posta adresini bu şifreyle kabul etmedi (e-posta ya da şifre yanlış)',
    unknownCompany: 'bilinmeyen firma numarası {companyId}: bu hesapta Paraşüt’te bu numarayla kayıtlı bir firma yok',
    unknownCompanyHint: 'Firma numarası, giriş yaptıktan sonra adres çubuğunda uygulama.parasut.com/ sonrasındaki sayıdır.',
    noProductList: 'Paraşüt {page}. ürün sayfasını ürün listesi olmadan gönderdi (JSON:API "data" dizisi yok)',
  },
});

interface Grant {
  access: string;
  refresh: string | undefined;
}

export const parasut = {
  id: 'parasut',
  name: 'Paraşüt',
  defaultBaseUrl: 'https://api.parasut.com',
  // Official: "Dakikada 60 adet istek gönderebilirsiniz" (60 a minute); one SDK
  // says 10 per 10 s. 10/10s keeps to both: never more than 60 in any minute,
  // and no burst of 60 in the first second.
  rateLimit: { requests: 10, perMs: 10_000 },
  // The limit is the company's: two connections to one company share it.
  account: ['companyId'],
  fields: [
    {
      name: 'companyId',
      label: 'Company number',
      labelTr: 'Firma numarası',
      secret: false,
      required: true,
      kind: 'integer',
      help: { en: 'The number after uygulama.parasut.com/ in the address bar once you are logged in.', tr: 'Giriş yaptıktan sonra adres çubuğunda uygulama.parasut.com/ sonrasındaki sayı.' },
    },
    { name: 'clientId', label: 'Client ID', labelTr: 'İstemci kimliği (Client ID)', secret: false, required: true, kind: 'text', help: { en: 'Issued by Paraşüt support (destek@parasut.com).', tr: 'Paraşüt destek ekibi verir (destek@parasut.com).' } },
    { name: 'clientSecret', label: 'Client secret', labelTr: 'İstemci gizli anahtarı (Client Secret)', secret: true, required: true, kind: 'text' },
    { name: 'username', label: 'E-mail address', labelTr: 'E-posta adresi', secret: false, required: true, kind: 'email', help: { en: 'The e-mail address you log in to Paraşüt with.', tr: 'Paraşüt’e giriş yaptığınız e-posta adresi.' } },
    { name: 'password', label: 'Password', labelTr: 'Şifre', secret: true, required: true, kind: 'text' },
    {
      name: 'refreshToken',
      label: 'Refresh token (kept by erp-sync)',
      labelTr: 'Yenileme anahtarı (erp-sync saklar)',
      secret: true,
      required: false,
      managed: true,
      kind: 'text',
      help: { en: 'Written by erp-sync after each login, because Paraşüt issues a new one every time; leave empty.', tr: 'Paraşüt her girişte yenisini verdiği için erp-sync her girişten sonra kendisi yazar; boş bırakın.' },
    },
    pageSizeField(maxPageSize),
    priceIncludesVatField({
      en: 'Paraşüt does not document whether list_price includes VAT; say which it is in your account.',
      tr: 'Paraşüt list_price fiyatının KDV dahil olup olmadığını belgelemiyor; hesabınızda hangisiyse onu seçin.',
    }),
    { name: 'rateLimit', label: 'Rate limit', labelTr: 'İstek sınırı', secret: false, required: false, kind: 'text', default: '10/10s', help: { en: 'Requests per window, e.g. 10/10s or 60/1m.', tr: 'Zaman aralığı başına istek sayısı, ör. 10/10s ya da 60/1m.' } },
  ],

  async testConnection(ctx) {
    priceIncludesVatSetting(ctx);
    const companyId = companyIdOf(ctx);
    const session = parasutSession(ctx);
    await session.call((token) => fetchProductPage(ctx, token, companyId, 1, 1));
  },

  async *pullPages(ctx) {
    priceIncludesVatSetting(ctx);
    const companyId = companyIdOf(ctx);
    const pageSize = pageSizeOf(ctx);
    const session = parasutSession(ctx);
    yield* paginateByPageNumber({
      fetchPage: (page) => session.call((token) => fetchProductPage(ctx, token, companyId, page, pageSize)),
      concurrency: ctx.concurrency,
      pageSize,
      warn: ctx.warn,
    });
  },

  mapRecord(record, ctx) {
    const resource = asObject(record);
    const a = asObject(resource.attributes);
    const candidate: ProductCandidate = {
      barcode: trimmedText(a.barcode),
      sku: trimmedText(a.code),
      name: trimmedText(a.name),
      price: decimalField(a.list_price, 'plain'),
      currency: trimmedText(a.currency),
      vatRate: decimalField(a.vat_rate, 'plain'),
      priceIncludesVat: booleanSetting(ctx.settings, 'priceIncludesVat', null),
      stock: decimalField(a.stock_count, 'plain'),
      active: a.archived !== true,
    };
    return [candidate];
  },
} satisfies Driver;

function companyIdOf(ctx: DriverContext): string {
  const value = (ctx.settings.companyId ?? '').trim();
  if (!/^\d+$/.test(value)) {
    throw new DriverError('CONFIGURATION', value ? m('companyNotNumber', { value }) : m('companyNotSet'), {
      hint: m('companyHint', { connection: ctx.connection }),
    });
  }
  return value;
}

function pageSizeOf(ctx: DriverContext): number {
  const raw = ctx.settings.pageSize;
  if (raw === undefined || raw === '') return maxPageSize;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1) {
    throw new DriverError('CONFIGURATION', m('badPageSize', { value: raw }));
  }
  if (size > maxPageSize) {
    // Paraşüt sends no more than 25 a page whatever is asked: a pull expecting more would take a full page for the last one.
    ctx.warn(m('pageSizeCapped', { value: size, max: maxPageSize }));
    return maxPageSize;
  }
  return size;
}

function parasutSession(ctx: DriverContext): TokenSession {
  let refreshToken = ctx.secrets.refreshToken || undefined;

  const adopt = async (grant: Grant): Promise<string> => {
    if (grant.refresh !== undefined && grant.refresh !== refreshToken) {
      refreshToken = grant.refresh;
      try {
        await ctx.saveSecret('refreshToken', grant.refresh);
      } catch (error) {
        // Not fatal: the next run logs in with the password instead.
        ctx.warn(m('refreshNotSaved', { reason: error instanceof Error ? error.message : String(error) }));
      }
    }
    return grant.access;
  };

  const passwordGrant = async (): Promise<string> => {
    const { clientId, username } = ctx.settings;
    const { clientSecret, password } = ctx.secrets;
    const missing = [!clientId && m('clientId'), !clientSecret && m('clientSecret'), !username && m('email'), !password && m('password')].filter(Boolean);
    if (missing.length > 0) {
      throw new DriverError('CONFIGURATION', m('missing', { connection: ctx.connection, missing: missing.join(', ') }), {
        hint: m('connectAgain', { connection: ctx.connection }),
      });
    }
    try {
      return await adopt(
        await requestGrant(ctx, { grant_type: 'password', client_id: clientId!, client_secret: clientSecret!, username: username!, password: password!, redirect_uri: redirectUri }),
      );
    } catch (error) {
      throw credentialsError(ctx, error, username!);
    }
  };

  // A stored or rotated refresh token comes first; once Paraşüt refuses it
  // (revoked, already used by a run that crashed before saving) only the password helps.
  const renew = async (): Promise<string> => {
    if (refreshToken !== undefined) {
      const { clientId = '' } = ctx.settings;
      const { clientSecret = '' } = ctx.secrets;
      try {
        return await adopt(await requestGrant(ctx, { grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken }));
      } catch (error) {
        if (!(error instanceof HttpError && (error.status === 400 || error.status === 401))) throw error;
        refreshToken = undefined;
      }
    }
    return passwordGrant();
  };

  return new TokenSession(renew, renew);
}

async function requestGrant(ctx: DriverContext, form: Record<string, string>): Promise<Grant> {
  const response = await ctx.http.request<unknown>({ method: 'POST', path: '/oauth/token', form });
  const body = asObject(response.data);
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new DriverError('MALFORMED_RESPONSE', m('loginWithoutToken'));
  }
  return { access: body.access_token, refresh: typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : undefined };
}

function credentialsError(ctx: DriverContext, error: unknown, username: string): unknown {
  if (!(error instanceof HttpError) || (error.status !== 400 && error.status !== 401)) return error;
  const hint = m('checkThem', { connection: ctx.connection });
  if (oauthErrorCode(error) === 'invalid_client') {
    return new DriverError('CREDENTIALS_REJECTED', m('clientRejected'), { hint, cause: error });
  }
  return new DriverError('CREDENTIALS_REJECTED', m('passwordRejected', { username }), { hint, cause: error });
}

function oauthErrorCode(error: HttpError): string | undefined {
  try {
    const code = asObject(JSON.parse(error.body ?? '')).error;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

async function fetchProductPage(ctx: DriverContext, token: string, companyId: string, page: number, size: number): Promise<NumberedPage> {
  let data: unknown;
  try {
    const response = await ctx.http.request<unknown>({
      path: `/v4/${companyId}/products`,
      query: { 'page[number]': page, 'page[size]': size },
      headers: { authorization: `Bearer ${token}` },
    });
    data = response.data;
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) {
      throw new DriverError('CONFIGURATION', m('unknownCompany', { companyId }), {
        hint: m('unknownCompanyHint'),
        cause: error,
      });
    }
    throw error;
  }
  const body = asObject(data);
  if (!Array.isArray(body.data)) {
    throw new DriverError('MALFORMED_RESPONSE', m('noProductList', { page: String(page) }));
  }
  const meta = asObject(body.meta);
  return { records: body.data, totalPages: count(meta.total_pages), totalRecords: count(meta.total_count) };
}

function count(value: unknown): number | undefined {
  const n = typeof value === 'string' && value !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

