import type { en } from './en.js';

/** Türkçe iletiler: terimler ../shared/glossary-tr.md ile aynı. */
export const tr: Record<keyof typeof en, string> = {
  'error.prefix': 'Hata',
  'error.try': 'Deneyin',
  'error.bug': 'Bu, erp-sync içinde bir hatadır. Lütfen `erp-sync --version` çıktısı ve yukarıdaki iletiyle bildirin.',
  'run.header': '{connection} ({driver}): {status} ({duration})',
  'run.pulled': 'ERP’den {pulled} ürün alındı{incomplete}',
  'run.pulledIncomplete': ' (alım tamamlanmadı)',
  'run.invalid': '{invalid} ürün geçersiz, gönderilmedi: `erp-sync logs --failed` ile bakın',
  'run.diff': 'yeni {new} · değişen {changed} · kaybolan {vanished} · değişmeyen {unchanged}',
  'run.pushed': '{pushed} teklif gönderildi: {created} oluşturuldu, {updated} güncellendi, {pendingApproval} onay bekliyor, {rejected} reddedildi',
  'run.nothingToPush': 'değişiklik yok: hiçbir teklif gönderilmedi',
  'run.failed': '{failed} teklif iletilemedi: bir sonraki senkronizasyonda yeniden gönderilecek',
  'run.dryRun': 'deneme: {count} teklif gönderilecekti; hiçbir şey gönderilmedi ve kaydedilmedi',
  'run.dryRunSample': 'ilk {count}:',
  'run.stopping': '{signal} alındı: gönderilmekte olan paket bitince duruluyor (hemen durdurmak için tekrar gönderin)',
  'demo.badProducts': '--products 1 ile 10.000.000 arasında bir tam sayı olmalı',
  'demo.badChangePercent': '--change-percent 0 ile 100 arasında olmalı',
  'demo.intro': 'erp-sync demo: {products} ürünlü bir deneme ERP’si ve deneme pazaryeri, ikisi de 127.0.0.1 üzerinde. Hesap ve internet gerekmez.',
  'demo.first': '1. senkronizasyon: ilk aktarım, bütün ürünler yeni',
  'demo.change': 'ERP’de kataloğun %{percent} kadarı değiştiriliyor ({count} ürünün fiyatı ve stoku değişiyor)…',
  'demo.second': '2. senkronizasyon: yalnızca değişenler gönderiliyor',
  'demo.memory': 'senkronizasyon sürecinin en yüksek bellek kullanımı: {mb} MB',
  'connect.saved': '"{name}" bağlantısı kaydedildi ({driver}). Gizli bilgiler şuradan okunur: {store}.',
  'connect.marketplaceSaved': 'Pazaryeri {url} olarak kaydedildi. Token şuradan okunur: {store}.',
  'connect.envHint': 'ortam değişkenleri {vars}',
};
