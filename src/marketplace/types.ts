import type { Offer } from '../model/product.js';

/** The marketplace offer API, as documented in docs/offer-api.openapi.yaml. */
export type { Offer } from '../model/product.js';

export type OfferStatus = 'created' | 'updated' | 'unchanged' | 'pending_approval' | 'rejected';

export interface OfferResult {
  barcode: string;
  status: OfferStatus;
  offerId?: string;
  error?: { code: string; message: string };
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
