import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { pipeline } from 'node:stream';
import { parser } from 'stream-json';
import Assembler from 'stream-json/assembler.js';
import { DriverError } from '../src/driver/contract.js';
import type { Driver, DriverContext, MapContext, ProductCandidate } from '../src/driver/contract.js';
import { decimalField, isZeroDecimal } from '../src/driver/decimal.js';
import { HttpError, classifyNetworkError, describeFailure } from '../src/http/errors.js';
import { defineMessages } from '../src/i18n/index.js';
import { booleanSetting, identifier, isObject, priceIncludesVatField, priceIncludesVatSetting, scalarText } from '../src/driver/settings.js';

const m = defineMessages({
  en: {
    brokenOff: '{reason} after {count} products; the pull is treated as incomplete',
    downloadingAgain: '{reason} after {count} products; downloading the catalog again',
    noToken: 'connection "{connection}" has no Bizimhesap API token',
    noTokenHint: 'Connect again and enter the API token from Bizimhesap.',
    tokenUnsendable: 'the Bizimhesap API token contains characters that cannot be sent (only letters A-Z, digits and punctuation can)',
    keyUnsendable: 'the Bizimhesap Key header setting contains characters that cannot be sent (only letters A-Z, digits and punctuation can)',
    userAgentUnsendable: 'the Bizimhesap userAgent setting contains characters that cannot be sent (only printable ASCII can)',
    copyTokenAgain: 'Copy the API token again from Bizimhesap and reconnect.',
    fixKey: 'Set the key Bizimhesap gave you with `erp-sync connect {connection} --set key=...`, or leave it unset for the documented public key.',
    fixUserAgent: 'Set another with `erp-sync connect {connection} --set userAgent="..."`.',
    firewall: "{service}: the firewall in front of Bizimhesap (Cloudflare) refused erp-sync's requests (HTTP 403, error 1010: it does not accept this User-Agent)",
    firewallHint: 'Set a User-Agent it accepts with `erp-sync connect {connection} --set userAgent="..."`; the default is the one working clients send.',
    variantStockUnknown: 'the inventory of warehouse {warehouse} lists {count} products under an id shared by several rows, and erp-sync could not tell which line is which row by its title; those rows have no stock this run',
    tokenRejected: '{service}: Bizimhesap rejected the API token (HTTP 401).',
    tokenRejectedSaying: '{service}: Bizimhesap rejected the API token ({message})',
    refused: '{service}: Bizimhesap refused {path}: {why}',
    noReason: 'no reason given',
    checkWarehouse: 'Check the warehouseId setting against the warehouses listed in Bizimhesap.',
    noProductList: '{service}: the answer to {path} is not what Bizimhesap sends (no product list in it)',
    noDataList: '{service}: the answer to {path} is not what Bizimhesap sends (no data list in it)',
    changedOnResume: '{service}: the catalog changed while it was downloaded again; the pull is treated as incomplete',
    cutOff: '{service}: the catalog from {host} was cut off or is not valid JSON',
    endedEarly: '{service}: the catalog from {host} ended early',
    shrankOnResume: '{service}: the catalog shrank to {count} products while it was downloaded again; the pull is treated as incomplete',
  },
  tr: {
    brokenOff: '{reason} ({count} ürün alındıktan sonra); ürün alımı eksik sayılıyor',
    downloadingAgain: '{reason} ({count} ürün alındıktan sonra); katalog yeniden indiriliyor',
    noToken: '"{connection}" bağlantısında Bizimhesap API anahtarı yok',
    noTokenHint: 'Yeniden bağlanın ve Bizimhesap’taki API anahtarını girin.',
    tokenUnsendable: 'Bizimhesap API anahtarında gönderilemeyen karakterler var (yalnızca A-Z harfleri, rakamlar ve noktalama işaretleri gönderilebilir)',
    keyUnsendable: 'Bizimhesap Key başlığı ayarında gönderilemeyen karakterler var (yalnızca A-Z harfleri, rakamlar ve noktalama işaretleri gönderilebilir)',
    userAgentUnsendable: 'Bizimhesap userAgent ayarında gönderilemeyen karakterler var (yalnızca yazdırılabilir ASCII karakterler gönderilebilir)',
    copyTokenAgain: 'API anahtarını Bizimhesap’tan tekrar kopyalayıp yeniden bağlanın.',
    fixKey: 'Bizimhesap’ın verdiği anahtarı `erp-sync connect {connection} --set key=...` ile girin ya da belgelenen ortak anahtar için boş bırakın.',
    fixUserAgent: 'Başka bir değeri `erp-sync connect {connection} --set userAgent="..."` ile girin.',
    firewall: '{service}: Bizimhesap’ın önündeki güvenlik duvarı (Cloudflare) erp-sync’in isteklerini reddetti (HTTP 403, hata 1010: bu User-Agent değerini kabul etmiyor)',
    firewallHint: 'Kabul ettiği bir User-Agent değerini `erp-sync connect {connection} --set userAgent="..."` ile girin; varsayılan, çalışan istemcilerin gönderdiği değerdir.',
    variantStockUnknown: '{warehouse} deposunun stok listesinde birden çok satırın paylaştığı bir kimlikle {count} ürün var ve erp-sync hangi stok satırının hangi ürün satırına ait olduğunu başlığından çıkaramadı; bu satırların bu çalışmada stoku yok',
    tokenRejected: '{service}: Bizimhesap API anahtarını reddetti (HTTP 401).',
    tokenRejectedSaying: '{service}: Bizimhesap API anahtarını reddetti ({message})',
    refused: '{service}: Bizimhesap {path} isteğini reddetti: {why}',
    noReason: 'neden belirtilmedi',
    checkWarehouse: 'warehouseId ayarını Bizimhesap’ta listelenen depolarla karşılaştırıp kontrol edin.',
    noProductList: '{service}: {path} yanıtı Bizimhesap’ın gönderdiği biçimde değil (içinde ürün listesi yok)',
    noDataList: '{service}: {path} yanıtı Bizimhesap’ın gönderdiği biçimde değil (içinde data listesi yok)',
    changedOnResume: '{service}: katalog yeniden indirilirken değişti; ürün alımı eksik sayılıyor',
    cutOff: '{service}: {host} adresinden gelen katalog yarıda kesildi ya da geçerli JSON değil',
    endedEarly: '{service}: {host} adresinden gelen katalog erken sona erdi',
    shrankOnResume: '{service}: katalog yeniden indirilirken {count} ürüne düştü; ürün alımı eksik sayılıyor',
  },
});

/** Records per page handed to the engine while the catalog is still arriving. */
const pageSize = 500;

/**
 * Times the catalog download is started again after the stream broke off
 * (connection dropped, answer cut short), skipping what was already delivered.
 */
const streamResumes = 2;

/**
 * The Key header that Bizimhesap's documentation prints for every B2B
 * client, and that public clients running against live accounts send beside
 * the firm's token (docs/erp-apis.md §4). It is public, not a secret.
 */
export const publicKey = 'BZMHB2B724018943908D0B82491F203F';

/**
 * The User-Agent a public client running against live accounts sends: it
 * reports that Cloudflare in front of Bizimhesap refuses other clients'
 * User-Agents with error 1010 (docs/erp-apis.md §4).
 */
export const browserUserAgent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/**
 * Bizimhesap B2B (docs/erp-apis.md §4): the firm's token and a Key header,
 * and the whole catalog in one answer of `GET /products`, which is parsed as
 * it arrives so that a catalog of any size is never held in memory at once.
 * Variants are rows of their own that share their product's `id`.
 *
 * A record is a row as Bizimhesap sends it; with a `warehouseId` setting the
 * driver adds `warehouseQty`, that warehouse's quantity for the row.
 */
export const bizimhesap = {
  id: 'bizimhesap',
  name: 'Bizimhesap',
  defaultBaseUrl: 'https://bizimhesap.com/api/b2b',
  fields: [
    {
      name: 'token',
      label: 'API token',
      labelTr: 'API anahtarı (token)',
      secret: true,
      required: true,
      help: { en: 'The firm’s API token from Bizimhesap’s settings (B2B / API).', tr: 'Firmanın API anahtarı; Bizimhesap ayarlarında (B2B / API) bulunur.' },
    },
    {
      name: 'key',
      label: 'Key header',
      labelTr: 'Key başlığı',
      secret: false,
      required: false,
      default: publicKey,
      help: {
        en: 'Sent as the Key header beside the token. The default is the public key Bizimhesap’s documentation gives every client; change it only if Bizimhesap gave your firm another.',
        tr: 'Anahtarın yanında Key başlığında gönderilir. Varsayılan, Bizimhesap belgelerinin her istemciye verdiği ortak anahtardır; yalnızca Bizimhesap firmanıza başka bir anahtar verdiyse değiştirin.',
      },
    },
    {
      name: 'userAgent',
      label: 'User-Agent',
      labelTr: 'User-Agent',
      secret: false,
      required: false,
      default: browserUserAgent,
      help: {
        en: 'The User-Agent header; the firewall in front of Bizimhesap refuses some. The default is what working clients send.',
        tr: 'User-Agent başlığı; Bizimhesap’ın önündeki güvenlik duvarı bazılarını reddediyor. Varsayılan, çalışan istemcilerin gönderdiği değerdir.',
      },
    },
    {
      name: 'warehouseId',
      label: 'Warehouse',
      labelTr: 'Depo',
      secret: false,
      required: false,
      help: { en: 'Take stock from this warehouse (its id); by default each row’s own quantity is used.', tr: 'Stok bu depodan alınır (depo kimliği); boş bırakılırsa her satırın kendi miktarı kullanılır.' },
    },
    priceIncludesVatField({ en: 'Bizimhesap does not document whether its prices include VAT.', tr: 'Bizimhesap fiyatların KDV dahil olup olmadığını belgelemiyor.' }),
  ],
  // No rate limit is documented, and a pull is at most two requests.

  async testConnection(ctx) {
    priceIncludesVatSetting(ctx);
    const settings = readSettings(ctx.settings);
    const warehouses = await getJson(ctx, '/warehouses', 'MALFORMED_RESPONSE');
    if (!isObject(warehouses.data) || !Array.isArray(warehouses.data.warehouses)) {
      throw unreadable(ctx, '/warehouses');
    }
    if (settings.warehouseId !== undefined) await fetchInventory(ctx, settings.warehouseId);
  },

  async *pullPages(ctx) {
    priceIncludesVatSetting(ctx);
    const settings = readSettings(ctx.settings);
    const inventory = settings.warehouseId === undefined ? undefined : new WarehouseStock(await fetchInventory(ctx, settings.warehouseId));
    const delivered = new Delivered();
    for (let attempt = 0; ; attempt++) {
      try {
        yield* streamCatalog(ctx, delivered, inventory);
        if (inventory && inventory.unmatched > 0) ctx.warn(m('variantStockUnknown', { warehouse: settings.warehouseId!, count: inventory.unmatched }));
        return;
      } catch (error) {
        if (!(error instanceof StreamBroken)) throw error;
        if (attempt >= streamResumes) {
          throw new DriverError('INCOMPLETE_PULL', m('brokenOff', { reason: error.message, count: delivered.count }), { cause: error.cause });
        }
        ctx.warn(m('downloadingAgain', { reason: error.message, count: delivered.count }));
      }
    }
  },

  mapRecord(record, ctx) {
    if (!isObject(record)) return [];
    const variant = scalarText(record.variant);
    const title = scalarText(record.title);
    return [
      {
        barcode: identifier(record.barcode),
        sku: identifier(record.code),
        name: title !== null && variant && !title.includes(variant) ? `${title} - ${variant}` : title,
        price: decimalField(hasOwnPrice(record.variantPrice) ? record.variantPrice : record.price),
        currency: scalarText(record.currency),
        vatRate: decimalField(record.tax),
        priceIncludesVat: booleanSetting(ctx.settings, 'priceIncludesVat', null),
        stock: decimalField(record.warehouseQty === undefined ? record.quantity : record.warehouseQty),
        active: flag(record.isActive),
        brand: scalarText(record.brand),
        category: scalarText(record.category),
      } satisfies ProductCandidate,
    ];
  },
} satisfies Driver;

function readSettings(settings: MapContext['settings']): { warehouseId: string | undefined } {
  const warehouseId = settings.warehouseId?.trim();
  return { warehouseId: warehouseId ? warehouseId : undefined };
}

/** `variantPrice` of 0, "0" or "" (or none) means the row sells at the product's `price`. */
function hasOwnPrice(variantPrice: unknown): boolean {
  return variantPrice !== undefined && variantPrice !== null && variantPrice !== '' && !isZeroDecimal(variantPrice);
}

function headers(ctx: DriverContext): Record<string, string> {
  const token = ctx.secrets.token?.trim();
  if (!token) {
    throw new DriverError('CONFIGURATION', m('noToken', { connection: ctx.connection }), { hint: m('noTokenHint') });
  }
  // Connections made before the Key header had its own setting sent their firm id in it.
  const key = ctx.settings.key?.trim() || ctx.settings.firmId?.trim() || publicKey;
  const userAgent = ctx.settings.userAgent?.trim() || browserUserAgent;
  // Header values are ASCII: a token pasted with a Turkish letter or a stray
  // character in it could not even be sent, so say so instead of trying.
  const checks = [
    [token, /^[\x21-\x7e]+$/, 'tokenUnsendable', m('copyTokenAgain')],
    [key, /^[\x21-\x7e]+$/, 'keyUnsendable', m('fixKey', { connection: ctx.connection })],
    [userAgent, /^[\x20-\x7e]+$/, 'userAgentUnsendable', m('fixUserAgent', { connection: ctx.connection })],
  ] as const;
  for (const [value, sendable, message, hint] of checks) {
    if (!sendable.test(value)) throw new DriverError('CONFIGURATION', m(message), { hint });
  }
  return { token, key, 'user-agent': userAgent };
}

/**
 * Bizimhesap answers a bad token with HTTP 401 and `{"Message":"Token is
 * invalid."}`; Cloudflare in front of it answers a User-Agent it refuses
 * with 403 and error 1010.
 */
function refusal(ctx: DriverContext, error: unknown): unknown {
  if (!(error instanceof HttpError)) return error;
  if (error.status === 401) {
    return new DriverError('CREDENTIALS_REJECTED', m('tokenRejected', { service: error.service }), { hint: m('copyTokenAgain'), cause: error });
  }
  if (error.status === 403 && /\b1010\b/.test(error.body ?? '')) {
    return new DriverError('CONFIGURATION', m('firewall', { service: error.service }), { hint: m('firewallHint', { connection: ctx.connection }), cause: error });
  }
  return error;
}

/** GETs a small JSON answer and checks its `resultCode`; `failure` is the code for `resultCode: 0`. */
async function getJson(ctx: DriverContext, path: string, failure: 'MALFORMED_RESPONSE' | 'CONFIGURATION'): Promise<Record<string, unknown>> {
  let data: unknown;
  try {
    ({ data } = await ctx.http.request({ path, headers: headers(ctx) }));
  } catch (error) {
    throw refusal(ctx, error);
  }
  if (!isObject(data)) throw unreadable(ctx, path);
  const error = apiError(ctx, path, data, failure);
  if (error) throw error;
  return data;
}

/** A warehouse's inventory lines, by product id: a product with variants has a line per variant row, all under its id. */
async function fetchInventory(ctx: DriverContext, warehouseId: string): Promise<Map<string, InventoryLine[]>> {
  const path = `/inventory/${encodeURIComponent(warehouseId)}`;
  const answer = await getJson(ctx, path, 'CONFIGURATION');
  if (!isObject(answer.data) || !Array.isArray(answer.data.inventory)) throw unreadable(ctx, path);
  const lines = new Map<string, InventoryLine[]>();
  for (const item of answer.data.inventory) {
    if (!isObject(item) || item.id === undefined || item.id === null) continue;
    const key = productKey(item.id);
    lines.set(key, [...(lines.get(key) ?? []), { title: scalarText(item.title) ?? '', qty: item.qty }]);
  }
  return lines;
}

interface InventoryLine {
  title: string;
  qty: unknown;
}

/**
 * Finds a row's quantity in a warehouse's inventory. Lines carry only the
 * product's id, which its variant rows share, and a title (UNCERTAIN,
 * docs/erp-apis.md §4: the product's title followed by the variant's text),
 * so a row whose id has several lines is matched by title, compared without
 * case, spaces or punctuation ("Gömlek L-KIRMIZI" is the row titled "Gömlek"
 * of the variant "L-KIRMIZI"). A row the
 * warehouse does not list has none there; a row that cannot be told apart
 * (no line or several lines could be its) gets no stock rather than another
 * row's, and `unmatched` counts it for one warning.
 */
class WarehouseStock {
  readonly #lines: Map<string, InventoryLine[]>;
  unmatched = 0;

  constructor(lines: Map<string, InventoryLine[]>) {
    this.#lines = lines;
  }

  add(record: unknown): unknown {
    if (!isObject(record)) return record;
    return { ...record, warehouseQty: this.#quantity(record) };
  }

  #quantity(record: Record<string, unknown>): unknown {
    const lines = this.#lines.get(productKey(record.id)) ?? [];
    const variant = fold(scalarText(record.variant) ?? '');
    if (lines.length === 0) return 0;
    if (lines.length === 1 && variant === '') return lines[0]!.qty;
    const title = fold(scalarText(record.title) ?? '');
    const texts = lines.map((line) => fold(line.title));
    const matches = lines.filter((_, i) => texts[i] === title + variant);
    if (matches.length === 1) return matches[0]!.qty;
    // Every line names a variant and none is this one's: the warehouse holds other variants, not this.
    if (matches.length === 0 && variant !== '' && texts.every((text) => text !== title)) return 0;
    this.unmatched++;
    return null;
  }
}

/** A title without case (Turkish rules), spaces and punctuation: "Gömlek L-KIRMIZI" → "gömleklkırmızı". */
function fold(text: string): string {
  return text.toLocaleLowerCase('tr').replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * `{resultCode: 0, errorText}` is Bizimhesap's error answer; `{Message}` is
 * what it sends for a bad token.
 */
function apiError(ctx: DriverContext, path: string, answer: Record<string, unknown>, failure: 'MALFORMED_RESPONSE' | 'CONFIGURATION'): DriverError | undefined {
  if (answer.resultCode === 0 || answer.resultCode === '0' || answer.resultCode === false) {
    const why = scalarText(answer.errorText)?.trim() || m('noReason');
    return new DriverError(failure, m('refused', { service: ctx.http.service, path, why }), {
      hint: failure === 'CONFIGURATION' ? m('checkWarehouse') : undefined,
    });
  }
  if (answer.resultCode === undefined && typeof answer.Message === 'string') {
    return new DriverError('CREDENTIALS_REJECTED', m('tokenRejectedSaying', { service: ctx.http.service, message: answer.Message }), {
      hint: m('copyTokenAgain'),
    });
  }
  return undefined;
}

function unreadable(ctx: DriverContext, path: string): DriverError {
  return new DriverError('MALFORMED_RESPONSE', m(path === '/products' ? 'noProductList' : 'noDataList', { service: ctx.http.service, path }));
}

/** The stream broke off in a way a new download may not repeat. */
class StreamBroken extends Error {}

/**
 * Which records were handed to the engine, as a running digest of their ids:
 * a resumed download skips that many and checks it skipped the same ones.
 */
class Delivered {
  count = 0;
  readonly #digest: Hash = createHash('sha256');

  add(records: readonly unknown[]): void {
    for (const record of records) this.#digest.update(`${recordKey(record)}\n`);
    this.count += records.length;
  }

  digest(): string {
    return this.#digest.copy().digest('hex');
  }
}

async function* streamCatalog(ctx: DriverContext, delivered: Delivered, inventory: WarehouseStock | undefined): AsyncGenerator<{ records: unknown[] }> {
  let response;
  try {
    response = await ctx.http.stream({ path: '/products', headers: headers(ctx) });
  } catch (error) {
    throw refusal(ctx, error);
  }
  const url = ctx.http.url('/products').href;
  const tokens = parser.asStream({ streamValues: false });
  pipeline(response.body, tokens, () => undefined);
  // Numbers stay strings: prices and quantities reach the engine exactly as written.
  const assembler = new Assembler({ numberAsString: true });
  const skip = delivered.count;
  const skipped = new Delivered();
  let batch: unknown[] = [];
  let sawProducts = false;

  const take = (records: unknown[]): unknown[] => {
    const fresh: unknown[] = [];
    for (const record of records) {
      if (skipped.count < skip) {
        skipped.add([record]);
        if (skipped.count === skip && skipped.digest() !== delivered.digest()) {
          throw new DriverError('INCOMPLETE_PULL', m('changedOnResume', { service: ctx.http.service }));
        }
        continue;
      }
      fresh.push(inventory ? inventory.add(record) : record);
    }
    return fresh;
  };

  try {
    for await (const token of tokens) {
      assembler.consume(token);
      const stack = assembler.stack;
      if (stack.length === 4 && stack[1] === 'data' && stack[3] === 'products' && Array.isArray(assembler.current)) {
        if (!sawProducts) {
          // Everything before the product list has arrived: an error answer
          // is known now, before any product is handed on.
          const root = stack[0];
          const error = isObject(root) ? apiError(ctx, '/products', root, 'MALFORMED_RESPONSE') : undefined;
          if (error) throw error;
          sawProducts = true;
        }
        if (assembler.current.length > 0) batch.push(...take(assembler.current.splice(0)));
        if (batch.length >= pageSize) {
          const page = batch;
          batch = [];
          delivered.add(page);
          yield { records: page };
        }
      }
    }
  } catch (error) {
    if (error instanceof DriverError) throw error;
    const kind = classifyNetworkError(error);
    throw new StreamBroken(
      kind ? describeFailure(ctx.http.service, kind, url).replace(/\.$/, '') : m('cutOff', { service: ctx.http.service, host: new URL(url).host }),
      { cause: error },
    );
  }

  const root = assembler.current;
  if (!assembler.done) throw new StreamBroken(m('endedEarly', { service: ctx.http.service, host: new URL(url).host }));
  if (!isObject(root)) throw unreadable(ctx, '/products');
  const error = apiError(ctx, '/products', root, 'MALFORMED_RESPONSE');
  if (error) throw error;
  if (!sawProducts || !isObject(root.data) || !Array.isArray(root.data.products)) throw unreadable(ctx, '/products');
  if (skipped.count < skip) {
    throw new DriverError('INCOMPLETE_PULL', m('shrankOnResume', { service: ctx.http.service, count: skipped.count }));
  }
  if (batch.length > 0) {
    delivered.add(batch);
    yield { records: batch };
  }
}

function recordKey(record: unknown): string {
  return isObject(record) ? JSON.stringify([record.id ?? null, record.code ?? null, record.barcode ?? null]) : JSON.stringify(record);
}

/** Product ids are GUIDs; the inventory may write them in another case. */
function productKey(id: unknown): string {
  return String(id).trim().toLowerCase();
}

function flag(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1' || value === 'true') return true;
  if (value === 0 || value === '0' || value === 'false') return false;
  return null;
}



