import { defineMessages } from '../i18n/index.js';

/** An item's outcome in each language; the web page shows the same words. */
export const outcomeCatalog = {
  en: {
    invalid: 'invalid',
    warning: 'warning',
    created: 'created',
    updated: 'updated',
    unchanged: 'unchanged',
    pending_approval: 'pending approval',
    rejected: 'rejected',
    not_listed: 'not listed',
    failed: 'failed',
  },
  tr: {
    invalid: 'geçersiz',
    warning: 'uyarı',
    created: 'oluşturuldu',
    updated: 'güncellendi',
    unchanged: 'değişmedi',
    pending_approval: 'onay bekliyor',
    rejected: 'reddedildi',
    not_listed: 'listelenmemiş',
    failed: 'başarısız',
  },
};
const outcomes = defineMessages(outcomeCatalog);

const stages = defineMessages({
  en: { pull: 'pull', validate: 'validate', push: 'push' },
  tr: { pull: 'getirme', validate: 'kontrol', push: 'gönderme' },
});

/** What an outcome means for the merchant, when no code says more. */
const meanings = defineMessages({
  en: {
    invalid: "The ERP's data for this product cannot be used; it is not sent until it is fixed in the ERP.",
    warning: 'Sent, after a small correction.',
    created: 'The offer was created on the marketplace.',
    updated: 'The offer was updated on the marketplace.',
    unchanged: 'Nothing changed.',
    pending_approval: "The marketplace accepted the offer but holds it for approval: the barcode is not in its catalog yet.",
    rejected: 'The marketplace refused the offer. It is sent again only after the product changes in the ERP.',
    not_listed: 'The marketplace has no product with this barcode; erp-sync only updates price and stock. It is sent again when the product changes in the ERP or on erp-sync retry.',
    failed: 'Not delivered to the marketplace. It is sent again on the next run.',
  },
  tr: {
    invalid: 'Bu ürünün ERP verisi kullanılamıyor; ERP’de düzeltilene kadar gönderilmez.',
    warning: 'Küçük bir düzeltmeyle gönderildi.',
    created: 'Teklif pazaryerinde oluşturuldu.',
    updated: 'Teklif pazaryerinde güncellendi.',
    unchanged: 'Değişiklik yok.',
    pending_approval: 'Pazaryeri teklifi aldı ama onay bekletiyor: barkod henüz kataloğunda yok.',
    rejected: 'Pazaryeri teklifi reddetti. Ürün ERP’de değişince yeniden gönderilir.',
    not_listed: 'Pazaryerinde bu barkodla bir ürün yok; erp-sync yalnızca fiyat ve stok günceller. Ürün ERP’de değişince ya da erp-sync retry verilince yeniden gönderilir.',
    failed: 'Pazaryerine iletilemedi. Bir sonraki çalışmada yeniden gönderilir.',
  },
});

const codeCatalog = {
  en: {
    BARCODE_MISSING: 'The product has no barcode in the ERP.',
    BARCODE_INVALID: 'The barcode has characters the marketplace does not accept, or is too long.',
    BARCODE_SCIENTIFIC_NOTATION: 'Excel turned the barcode into a number in scientific notation (8,69E+12) and lost its digits: format the barcode column as text and export again.',
    BARCODE_CHECK_DIGIT: 'The barcode looks like a GTIN but its last (check) digit is wrong: probably mistyped.',
    BARCODE_DUPLICATE: 'Two products in the ERP share this barcode; neither is sent until it is unique.',
    NAME_MISSING: 'The product has no name in the ERP.',
    PRICE_MISSING: 'The product has no price in the ERP.',
    PRICE_NOT_A_NUMBER: 'The price in the ERP is not a number.',
    PRICE_NEGATIVE: 'The price in the ERP is negative.',
    PRICE_ABSURD: 'The price in the ERP is zero or implausibly high.',
    STOCK_MISSING: 'The product has no stock quantity in the ERP.',
    STOCK_NOT_A_NUMBER: 'The stock quantity in the ERP is not a number.',
    CURRENCY_MISSING: 'The product has no currency in the ERP.',
    CURRENCY_UNKNOWN: 'The currency in the ERP is not a known currency code.',
    VAT_MISSING: 'The product has no VAT (KDV) rate in the ERP.',
    VAT_INVALID: 'The VAT (KDV) rate in the ERP is not a percentage between 0 and 100.',
    RECORD_UNREADABLE: 'The ERP sent a record erp-sync could not read.',
    STOCK_NEGATIVE_CLAMPED: 'The stock was negative in the ERP; 0 was sent.',
    STOCK_FRACTION_FLOORED: 'The stock was not a whole number; it was rounded down.',
    PRICE_ROUNDED: 'The price had more than two decimals; it was rounded.',
    VANISHED: 'The product is no longer in the ERP: its offer was set to stock 0 and inactive.',
    NO_ANSWER: 'The marketplace answered without a result for this offer; it is sent again.',
    PRICE_TOO_HIGH: 'The marketplace refused the price as too high.',
    STOCK_TOO_HIGH: 'The marketplace refused the stock quantity as too high.',
    INVALID_NAME: 'The marketplace refused the product name (empty or too long).',
    REJECTED_BY_POLICY: "The marketplace's rules do not allow this product.",
    DEAD_LETTER: 'The marketplace did not take this offer in repeated attempts; it waits for a change in the ERP or `erp-sync retry`.',
    ANSWER_UNREADABLE: 'The marketplace answered the batch unreadably; the offer is sent again under a new key.',
  },
  tr: {
    BARCODE_MISSING: 'Ürünün ERP’de barkodu yok.',
    BARCODE_INVALID: 'Barkodda pazaryerinin kabul etmediği karakterler var ya da çok uzun.',
    BARCODE_SCIENTIFIC_NOTATION: 'Excel barkodu bilimsel gösterimli bir sayıya (8,69E+12) çevirip hanelerini kaybetti: barkod sütununu metin olarak biçimlendirip yeniden dışa aktarın.',
    BARCODE_CHECK_DIGIT: 'Barkod GTIN’e benziyor ama son (kontrol) hanesi yanlış: büyük olasılıkla yanlış yazılmış.',
    BARCODE_DUPLICATE: 'ERP’de iki ürün aynı barkodu kullanıyor; barkod tekil olana kadar ikisi de gönderilmez.',
    NAME_MISSING: 'Ürünün ERP’de adı yok.',
    PRICE_MISSING: 'Ürünün ERP’de fiyatı yok.',
    PRICE_NOT_A_NUMBER: 'ERP’deki fiyat bir sayı değil.',
    PRICE_NEGATIVE: 'ERP’deki fiyat eksi.',
    PRICE_ABSURD: 'ERP’deki fiyat sıfır ya da inanılmayacak kadar yüksek.',
    STOCK_MISSING: 'Ürünün ERP’de stok miktarı yok.',
    STOCK_NOT_A_NUMBER: 'ERP’deki stok miktarı bir sayı değil.',
    CURRENCY_MISSING: 'Ürünün ERP’de para birimi yok.',
    CURRENCY_UNKNOWN: 'ERP’deki para birimi bilinen bir kod değil.',
    VAT_MISSING: 'Ürünün ERP’de KDV oranı yok.',
    VAT_INVALID: 'ERP’deki KDV oranı 0 ile 100 arasında bir yüzde değil.',
    RECORD_UNREADABLE: 'ERP, erp-sync’in okuyamadığı bir kayıt gönderdi.',
    STOCK_NEGATIVE_CLAMPED: 'ERP’de stok eksiydi; 0 gönderildi.',
    STOCK_FRACTION_FLOORED: 'Stok tam sayı değildi; aşağı yuvarlandı.',
    PRICE_ROUNDED: 'Fiyatta ikiden fazla ondalık vardı; yuvarlandı.',
    VANISHED: 'Ürün artık ERP’de yok: teklifi stok 0 ve pasif yapıldı.',
    NO_ANSWER: 'Pazaryeri bu teklif için sonuç döndürmedi; yeniden gönderilir.',
    PRICE_TOO_HIGH: 'Pazaryeri fiyatı çok yüksek bulup reddetti.',
    STOCK_TOO_HIGH: 'Pazaryeri stok miktarını çok yüksek bulup reddetti.',
    INVALID_NAME: 'Pazaryeri ürün adını reddetti (boş ya da çok uzun).',
    REJECTED_BY_POLICY: 'Pazaryerinin kuralları bu ürüne izin vermiyor.',
    DEAD_LETTER: 'Pazaryeri bu teklifi tekrarlanan denemelerde almadı; ERP’de bir değişiklik ya da `erp-sync retry` bekliyor.',
    ANSWER_UNREADABLE: 'Pazaryerinin pakete yanıtı okunamadı; teklif yeni bir anahtarla yeniden gönderilir.',
  },
};
const codes = defineMessages(codeCatalog);

type OutcomeKey = keyof typeof outcomeCatalog.en;
type CodeKey = keyof typeof codeCatalog.en;
const OUTCOME_KEYS = new Set<string>(Object.keys(outcomeCatalog.en));
const CODE_KEYS = new Set<string>(Object.keys(codeCatalog.en));

/** The outcome's name in the current language. */
export function outcomeLabel(outcome: string): string {
  return OUTCOME_KEYS.has(outcome) ? outcomes(outcome as OutcomeKey) : outcome;
}

export function stageLabel(stage: string): string {
  return stage === 'pull' || stage === 'validate' || stage === 'push' ? stages(stage) : stage;
}

/**
 * One sentence a merchant understands: what the code means if it is a known
 * one, else what the outcome means (HTTP and network failures are explained
 * by their outcome; their specifics are in the stored message).
 */
export function plainMessage(outcome: string, code: string | null): string {
  if (code && CODE_KEYS.has(code)) return codes(code as CodeKey);
  return OUTCOME_KEYS.has(outcome) ? meanings(outcome as OutcomeKey) : '';
}

/** A run's status in each language; the web page shows the same words, so a run reads alike wherever it is seen. */
export const runStatusCatalog = {
  en: {
    running: 'running', succeeded: 'synced', partial: 'partly synced', failed: 'failed', guarded: 'stopped by the safety guard',
    interrupted: 'interrupted', locked: 'skipped (another run is in progress)',
  },
  tr: {
    running: 'sürüyor', succeeded: 'senkronize edildi', partial: 'kısmen senkronize edildi', failed: 'başarısız', guarded: 'güvenlik kontrolü durdurdu',
    interrupted: 'yarıda kesildi', locked: 'atlandı (başka bir senkronizasyon sürüyor)',
  },
};
const runStatus = defineMessages(runStatusCatalog);

/** A run's status in the current language. */
export const statusLabel = (status: string) => (Object.hasOwn(runStatusCatalog.en, status) ? runStatus(status as keyof typeof runStatusCatalog.en) : status);
