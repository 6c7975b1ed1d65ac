/**
 * Our codes for what a marketplace target did with one item, or why it was
 * not sent, shared by the Trendyol, Hepsiburada and N11 adapters. The same in
 * both languages; {@link targetCodeCatalog} explains each for the CLI and the
 * web page. A projection problem or warning carries one in
 * `ItemProblem.code`, a rejected item in `ItemOutcome.code`; an item that is
 * `not_listed` is NOT_LISTED.
 */
export const TargetCode = {
  /** Not sent: the marketplace sells in Turkish lira only and the offer is priced in another currency. */
  CURRENCY_NOT_SUPPORTED: 'CURRENCY_NOT_SUPPORTED',
  /** Not sent: the marketplace finds offers by stock code and the product has none. */
  SKU_MISSING: 'SKU_MISSING',
  /** Sent after a change: the ERP's price excludes KDV and the marketplace takes it included. */
  PRICE_VAT_ADDED: 'PRICE_VAT_ADDED',
  /** Sent after a change: the stock was above the most the marketplace takes, which was sent instead. */
  STOCK_CLAMPED: 'STOCK_CLAMPED',
  /** The marketplace has no listing for the product: it must be created (and approved) there first. */
  NOT_LISTED: 'NOT_LISTED',
  /** Hepsiburada refused the price as outside the band it allows for the product. */
  PRICE_LOCKED: 'PRICE_LOCKED',
  /** The marketplace refused a list price (the struck-through price) below the sale price. */
  LIST_PRICE_BELOW_SALE: 'LIST_PRICE_BELOW_SALE',
  /** The marketplace refused the item for a reason of its own, given in its words. */
  MARKETPLACE_REJECTED: 'MARKETPLACE_REJECTED',
} as const;
export type TargetCode = (typeof TargetCode)[keyof typeof TargetCode];

/**
 * What each code means for the merchant, in each language: the shape of
 * `codeCatalog` in src/report/labels.ts, which can take these in as they are.
 */
export const targetCodeCatalog: { en: Record<TargetCode, string>; tr: Record<TargetCode, string> } = {
  en: {
    CURRENCY_NOT_SUPPORTED: 'The marketplace sells in Turkish lira (TRY) only and this product is priced in another currency; it is not sent.',
    SKU_MISSING: 'The marketplace finds offers by stock code (SKU) and this product has none in the ERP; it is not sent until it has one.',
    PRICE_VAT_ADDED: 'The ERP\'s price excludes VAT (KDV) and the marketplace takes prices with KDV included: the price with KDV added was sent.',
    STOCK_CLAMPED: 'The stock was above the most the marketplace takes for one product; that most was sent instead.',
    NOT_LISTED: 'The product is not listed on the marketplace: create it there (and wait for its approval) first; erp-sync only updates price and stock.',
    PRICE_LOCKED: 'The marketplace refused the price as outside the band it allows for this product.',
    LIST_PRICE_BELOW_SALE: 'The marketplace refused a list price (the struck-through price) below the sale price.',
    MARKETPLACE_REJECTED: 'The marketplace refused the update; its own words say why.',
  },
  tr: {
    CURRENCY_NOT_SUPPORTED: 'Pazaryeri yalnızca Türk lirasıyla (TRY) satış yapıyor ve bu ürünün fiyatı başka bir para biriminde; gönderilmedi.',
    SKU_MISSING: 'Pazaryeri teklifleri stok koduyla buluyor ve bu ürünün ERP’de stok kodu yok; stok kodu verilene kadar gönderilmez.',
    PRICE_VAT_ADDED: 'ERP’deki fiyat KDV hariç, pazaryeri ise KDV dahil fiyat alıyor: KDV eklenmiş fiyat gönderildi.',
    STOCK_CLAMPED: 'Stok, pazaryerinin bir ürün için aldığı en yüksek miktarın üzerindeydi; bunun yerine o miktar gönderildi.',
    NOT_LISTED: 'Ürün pazaryerinde listelenmemiş: önce orada oluşturun (ve onaylanmasını bekleyin); erp-sync yalnızca fiyat ve stok günceller.',
    PRICE_LOCKED: 'Pazaryeri fiyatı, bu ürün için izin verdiği aralığın dışında bulup reddetti.',
    LIST_PRICE_BELOW_SALE: 'Pazaryeri, satış fiyatından düşük bir liste fiyatını (üstü çizili fiyat) reddetti.',
    MARKETPLACE_REJECTED: 'Pazaryeri güncellemeyi reddetti; nedeni kendi ifadesinde yazıyor.',
  },
};
