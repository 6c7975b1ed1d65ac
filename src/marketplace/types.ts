/** The marketplace offer API, as documented in docs/offer-api.openapi.yaml. */
export interface Offer {
  barcode: string;
  sku: string;
  name: string;
  /** Decimal string with two fraction digits: "1249.90". */
  price: string;
  currency: string;
  /** Percent, e.g. 20. */
  vatRate: number;
  priceIncludesVat: boolean;
  stock: number;
  active: boolean;
}

export type OfferStatus = 'created' | 'updated' | 'unchanged' | 'pending_approval' | 'rejected';

export interface OfferResult {
  barcode: string;
  status: OfferStatus;
  offerId?: string;
  error?: { code: string; message: string };
}

export interface BatchRequest {
  offers: Offer[];
}

export interface BatchResponse {
  results: OfferResult[];
}

export interface StoredOffer extends Offer {
  offerId: string;
  status: 'active' | 'pending_approval' | 'rejected';
  updatedAt: string;
}

export interface OfferPage {
  offers: StoredOffer[];
  page: number;
  pageSize: number;
  total: number;
}

export const offerStatuses: readonly OfferStatus[] = ['created', 'updated', 'unchanged', 'pending_approval', 'rejected'];
