/** The snapshot: what the marketplace acknowledged, one row per offer, with the content hash of what it holds. */

/**
 * A snapshot row the marketplace may hold as a live offer: anything but an
 * acknowledged withdrawal (stock 0 and inactive). An unconfirmed row (its
 * hash a marker from `~`, after every content hash) may hold anything, so it
 * counts as live: a product that vanishes is withdrawn whatever it last was.
 */
export const liveOffer = (p: string) => `(${p}.hash >= '~' OR NOT (${p}.active = 0 AND ${p}.stock = 0))`;

/**
 * Marks a snapshot row unconfirmed (the marketplace may hold anything):
 * never a content hash (base64url), and sorted after all of them, which is
 * how {@link liveOffer} knows it.
 */
export function unconfirmedMarker(token: string): string {
  return `~${token}`;
}
