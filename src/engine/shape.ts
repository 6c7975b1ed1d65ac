import { hash as digest } from 'node:crypto';
import type { Offer } from '../model/product.js';
import { contentHash, toOffer, withdrawn } from '../model/product.js';
import type { ItemProblem, TargetAdapter, TargetItem } from '../marketplace/target.js';
import type { Diff, StagedOfferRow, VanishedRow } from '../store/diff.js';
import { unconfirmedMarker } from '../store/snapshot.js';
import type { DeliveryStore, WaitingOffer } from '../store/delivery.js';
import type { EventLog } from '../store/items.js';
import { nowIso } from '../store/db.js';
import type { PushCounters } from '../model/run.js';
import { compileTargetRules } from '../rules/compile.js';
import type { CompiledTargetRules } from '../rules/compile.js';
import type { TargetConfig } from '../config/config.js';
import type { TargetRules } from '../rules/types.js';
import { targetAdapter } from '../marketplace/targets.js';

/** What travels with each offer of a batch, beside the offer itself. */
export interface OfferMeta {
  kind: WaitingOffer['kind'];
  /** The hash of what this target receives: what its snapshot records once it is acknowledged. */
  hash: string;
  /** The staged content the offer was made from; none for a withdrawal. */
  base: string | null;
  /** The snapshot hash it replaces: a replay sends the offer only while the snapshot still holds it. */
  previous: string | null;
}

/** An offer due to a target: the offer after the target's rules, how it travels, and the marketplace's item for an asynchronous target. */
export interface Due {
  offer: Offer;
  meta: OfferMeta;
  item: TargetItem | undefined;
  warnings: readonly ItemProblem[];
}

/**
 * What a changed product means for one target: an offer to send; nothing to
 * send, because what the target receives did not change (`same`); or an
 * offer the target cannot take, refused here before anything is sent.
 */
export type Shaped =
  | { readonly to: 'send'; readonly due: Due }
  | { readonly to: 'keep'; readonly offer: Offer; readonly hash: string; readonly base: string }
  | { readonly to: 'refuse'; readonly offer: Offer; readonly problem: ItemProblem; readonly hash: string; readonly base: string | null };

/**
 * Turns what the diff found into what one target gets: the target's own
 * price and stock rules on top of the connection's, then the marketplace's
 * shape (Trendyol takes price and stock by barcode, Hepsiburada by
 * merchantSku). The hash of that shape is what the target's snapshot
 * compares, so a change the target never sees sends nothing.
 */
export class Shaper {
  readonly #adapter: TargetAdapter | undefined;
  readonly #settings: Readonly<Record<string, string>>;
  readonly #rules: CompiledTargetRules | undefined;

  constructor(options: { adapter: TargetAdapter | undefined; settings: Readonly<Record<string, string>>; rules: CompiledTargetRules | undefined }) {
    this.#adapter = options.adapter;
    this.#settings = options.settings;
    this.#rules = options.rules;
  }

  /** A new or changed product (any, with `all`), from its staged row. */
  changed(row: StagedOfferRow, all: boolean): Shaped {
    const offer = toOffer(row);
    const ruled = this.#rules ? this.#rules(offer) : { ok: true as const, offer };
    if (!ruled.ok) return { to: 'refuse', offer, problem: ruled.problem, hash: refusedHash(ruled.problem), base: row.hash };
    const kind = all ? 'resync' : row.prev_hash !== null ? 'changed' : 'new';
    const shaped = this.#shape(ruled.offer, { kind, base: row.hash, previous: row.prev_hash });
    if (shaped.to === 'refuse') return { ...shaped, base: row.hash };
    // Only what this target receives counts: an unchanged shape is kept, not sent (never for --resync, which sends everything).
    if (!all && shaped.due.meta.hash === row.prev_hash) return { to: 'keep', offer: shaped.due.offer, hash: shaped.due.meta.hash, base: row.hash };
    return shaped;
  }

  /** What this target would receive for an offer, for `preview`: the offer after its rules and the marketplace's item, or why it would refuse it. */
  preview(offer: Offer): { ok: true; offer: Offer; item: TargetItem | undefined; warnings: readonly ItemProblem[] } | { ok: false; problem: ItemProblem } {
    const ruled = this.#rules ? this.#rules(offer) : { ok: true as const, offer };
    if (!ruled.ok) return { ok: false, problem: ruled.problem };
    const shaped = this.#shape(ruled.offer, { kind: 'new', base: null, previous: null });
    return shaped.to === 'refuse' ? { ok: false, problem: shaped.problem } : { ok: true, offer: shaped.due.offer, item: shaped.due.item, warnings: shaped.due.warnings };
  }

  /** A product no longer in the ERP: the offer the target holds, withdrawn (its rules applied when it was sent). */
  vanished(row: VanishedRow): Shaped {
    return this.#shape(withdrawn(row), { kind: 'vanished', base: null, previous: row.hash });
  }

  #shape(offer: Offer, meta: Omit<OfferMeta, 'hash'>): Exclude<Shaped, { to: 'keep' }> {
    if (!this.#adapter) return { to: 'send', due: { offer, meta: { ...meta, hash: contentHash(offer) }, item: undefined, warnings: [] } };
    const projection = this.#adapter.project(offer, this.#settings);
    if (!projection.ok) return { to: 'refuse', offer, problem: projection.problem, hash: refusedHash(projection.problem), base: meta.base };
    return { to: 'send', due: { offer, meta: { ...meta, hash: itemHash(projection.item) }, item: projection.item, warnings: projection.warnings } };
  }
}

/**
 * The marketplace may hold an offer or what it replaced: the snapshot stops
 * claiming either, and the diff is told, so the current offer is due again
 * (in this run when the push is still ahead). `tag` keeps the marker unique.
 */
export function unconfirm(to: { store: DeliveryStore; diff: Diff }, offer: Offer, previous: string | null, tag: string, runId: number): void {
  to.store.unconfirm(offer, previous, unconfirmedMarker(tag), nowIso(), runId);
  to.diff.markUnconfirmed();
}

/** The shaper of a configured target: its adapter (none for the offer API), its settings and its rules. */
export function shaperFor(config: Pick<TargetConfig, 'kind' | 'settings'>, rules: TargetRules | undefined): Shaper {
  return new Shaper({ adapter: config.kind === 'offer-api' ? undefined : targetAdapter(config.kind), settings: config.settings, rules: compileTargetRules(rules) });
}

/** The hash of an item as a marketplace receives it: its key and its fields, in the adapter's order. */
export function itemHash(item: TargetItem): string {
  return digest('sha1', `${item.key}\u001f${JSON.stringify(item.fields)}`, 'base64url').slice(0, 22);
}

/**
 * What the snapshot records for an offer refused before it was sent: never a
 * content hash (those are base64url), and before `~`, so it is not taken for
 * an unconfirmed row. The product is looked at again when it changes.
 */
function refusedHash(problem: ItemProblem): string {
  return `!${problem.code}`;
}

/**
 * Settles what a walk found that needs no request, in one transaction:
 * unchanged shapes take their new base, refused offers are recorded as
 * rejected with why (logged once, sent again when they change or `retry`
 * asks). Returns the offers to send.
 */
export function dueOffers(shaped: readonly Shaped[], to: { store: DeliveryStore; events: EventLog; runId: number; counters: PushCounters }): Due[] {
  const due: Due[] = [];
  to.store.transaction(() => {
    const at = nowIso();
    for (const s of shaped) {
      if (s.to === 'send') due.push(s.due);
      else if (s.to === 'keep') to.store.rebase(s.offer, { hash: s.hash, base: s.base });
      else {
        const { offer, problem } = s;
        to.store.acknowledge(offer, { hash: s.hash, base: s.base }, { status: 'rejected', offerId: undefined, error: problem }, at, to.runId);
        to.events.recordIfChanged({ barcode: offer.barcode, sku: offer.sku, name: offer.name, stage: 'push', outcome: 'rejected', code: problem.code, message: problem.message });
        to.counters.rejected++;
      }
    }
  });
  return due;
}
