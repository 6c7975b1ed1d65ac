/** The accounts the sandbox marketplaces are started with in tests, and the settings and secrets that reach them. */
export const trendyolAccount = { sellerId: '104729', apiKey: 'ty-key-7Hq2Lw9', apiSecret: 'ty-secret-Xp4Rk8Zm' };
export const hepsiburadaAccount = { merchantId: '3f95e71f-c39e-4266-9eb4-c154807e87f7', serviceKey: 'Hb9sK2xQ7pLm', userAgent: 'magaza_dev' };
export const n11Account = { appKey: 'n11-key-5Tg8Wq2', appSecret: 'n11-secret-Vb3Nc6Yh' };

export const trendyolConnection = { settings: { sellerId: trendyolAccount.sellerId }, secrets: { apiKey: trendyolAccount.apiKey, apiSecret: trendyolAccount.apiSecret } };
export const hepsiburadaConnection = {
  settings: { merchantId: hepsiburadaAccount.merchantId, userAgent: hepsiburadaAccount.userAgent },
  secrets: { serviceKey: hepsiburadaAccount.serviceKey },
};
export const n11Connection = { settings: {}, secrets: { appKey: n11Account.appKey, appSecret: n11Account.appSecret } };
