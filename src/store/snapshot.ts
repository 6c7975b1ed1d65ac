import type { Db } from './db.js';

/** The snapshot: what each target acknowledged, one row per offer, with the hash of what it holds. */

/**
 * A snapshot row the marketplace may hold as a live offer: anything but an
 * acknowledged withdrawal (stock 0 and inactive) or an offer it does not
 * list. An unconfirmed row (its hash a marker from `~`, after every content
 * hash) may hold anything, so it counts as live: a product that vanishes is
 * withdrawn whatever it last was.
 */
export const liveOffer = (p: string) =>
  `(${p}.hash >= '~' OR (${p}.status <> 'not_listed' AND NOT (${p}.active = 0 AND ${p}.stock = 0)))`;

/** How many offers a target may hold live for a connection; without a target, the most any one target holds. */
export function liveOffers(db: Db, connection: string, target?: string): number {
  return target === undefined
    ? ((db.prepare(`SELECT max(n) FROM (SELECT count(*) AS n FROM snapshot p WHERE p.connection = ? AND ${liveOffer('p')} GROUP BY p.target) AS per_target`)
        .pluck().get(connection) as number | null) ?? 0)
    : (db.prepare(`SELECT count(*) FROM snapshot p WHERE p.connection = ? AND p.target = ? AND ${liveOffer('p')}`).pluck().get(connection, target) as number);
}

/**
 * Marks a snapshot row unconfirmed (the marketplace may hold anything):
 * never a content hash (base64url), and sorted after all of them, which is
 * how {@link liveOffer} knows it.
 */
export function unconfirmedMarker(token: string): string {
  return `~${token}`;
}
