import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredOffer } from '../marketplace/types.js';
import { SandboxCatalog } from './catalog.js';
import type { CatalogState } from './catalog.js';
import { SandboxErp } from './erp.js';
import { SandboxMarketplace } from './marketplace.js';
import { SandboxTrendyol } from './trendyol.js';
import type { TrendyolVariant } from './trendyol.js';

/** What the demo keeps in its home between `erp-sync demo` and `demo --serve`: the ERP's catalog and what each marketplace holds. */
interface WorldFile {
  /** 1: the offer API alone, before the demo delivered to Trendyol. */
  version: 2;
  catalog: CatalogState;
  offers: StoredOffer[];
  trendyol: TrendyolVariant[];
}

const FILE = 'sandbox-world.json';
const VERSION = 2;

/** The fixed credentials the demo's sandboxes accept (`DEMO_KEYS`). */
export interface DemoKeys {
  erp: string;
  marketplace: string;
  trendyol: { sellerId: string; apiKey: string; apiSecret: string };
}

/** A world kept in the demo's home; `outdated` when an earlier erp-sync wrote it, in a shape this one does not read. */
export type KeptWorld = { state: 'kept'; world: DemoWorld } | { state: 'none' } | { state: 'outdated' };

/** The part of a barcode the sandbox catalog numbers its items by. */
const itemIndex = (barcode: string) => Number(barcode.slice(3, 12));

/**
 * The demo's sandbox ERP, marketplace (the offer API) and Trendyol, with
 * their data kept in a file in the demo's home, so the world a first sync
 * made is there for the commands the demo suggests and for `demo --serve`.
 */
export class DemoWorld {
  readonly erp: SandboxErp;
  readonly marketplace: SandboxMarketplace;
  readonly trendyol: SandboxTrendyol;
  readonly #path: string;

  private constructor(home: string, keys: DemoKeys, catalog: SandboxCatalog, offers: StoredOffer[], listings: TrendyolVariant[]) {
    this.#path = join(home, FILE);
    this.erp = new SandboxErp({ products: catalog.size, catalog, apiKey: keys.erp, maxPageSize: 1000 });
    // One barcode in forty is not in the marketplace's master catalog yet: those wait for approval.
    this.marketplace = new SandboxMarketplace({ token: keys.marketplace, inMasterCatalog: (barcode) => itemIndex(barcode) % 40 !== 39 }).restore(offers);
    // One barcode in fifty was never created on Trendyol: those come back not listed. Results show at the first poll.
    this.trendyol = new SandboxTrendyol({ ...keys.trendyol, pendingPolls: 0, listed: (barcode) => !notOnTrendyol(barcode) }).restore(listings);
  }

  /** A new world of `products` with the flaws a real catalog has. */
  static create(home: string, keys: DemoKeys, products: number): DemoWorld {
    const world = new DemoWorld(home, keys, new SandboxCatalog(products), [], []);
    addFlaws(world.erp.catalog);
    return world;
  }

  /** The world kept in `home`: none when there is no file or it cannot be read (the demo then starts over). */
  static load(home: string, keys: DemoKeys): KeptWorld {
    let file: WorldFile;
    try {
      file = JSON.parse(readFileSync(join(home, FILE), 'utf8')) as WorldFile;
    } catch {
      return { state: 'none' };
    }
    if (file.version !== VERSION) return { state: 'outdated' };
    return { state: 'kept', world: new DemoWorld(home, keys, SandboxCatalog.fromState(file.catalog), file.offers, file.trendyol) };
  }

  /** Moves whenever a sandbox marketplace applies something: what `demo --serve` watches to save the world. */
  get applications(): number {
    return this.marketplace.stats.offersApplied + this.trendyol.stats.applications;
  }

  /** A product the ERP sends with a flaw (a price typed as text), for the demo to point at; none in a catalog too small for flaws. */
  get flawedBarcode(): string | undefined {
    return this.erp.catalog.size >= FLAWED_SIZE ? this.erp.catalog.item(PRICE_AS_TEXT)?.barcode : undefined;
  }

  async start(): Promise<this> {
    await Promise.all([this.erp.start(), this.marketplace.start(), this.trendyol.start()]);
    return this;
  }

  /** Writes the world whole, through a temporary file, so a kill never leaves half of it. */
  save(): void {
    const file: WorldFile = { version: VERSION, catalog: this.erp.catalog.state(), offers: [...this.marketplace.offers.values()], trendyol: [...this.trendyol.catalog.values()] };
    writeFileSync(`${this.#path}.tmp`, JSON.stringify(file));
    renameSync(`${this.#path}.tmp`, this.#path);
  }

  async close(): Promise<void> {
    await Promise.all([this.erp.close(), this.marketplace.close(), this.trendyol.close()]);
  }
}

/** Whether a barcode of the demo's catalog is one never created on Trendyol (a different set from the offer API's unapproved ones). */
export function notOnTrendyol(barcode: string): boolean {
  return itemIndex(barcode) % 50 === 7;
}

/**
 * A real catalog is never clean: one barcode with a wrong check digit, one
 * price typed as text, and one stock the marketplace refuses, so the demo
 * shows how each is reported while everything else goes through.
 */
const FLAWED_SIZE = 50;
const PRICE_AS_TEXT = 23;

function addFlaws(catalog: SandboxCatalog): void {
  if (catalog.size < FLAWED_SIZE) return;
  const wrongCheckDigit = catalog.item(11)!.barcode;
  catalog.patch(11, { barcode: wrongCheckDigit.slice(0, 12) + String((Number(wrongCheckDigit[12]) + 1) % 10) });
  catalog.patch(PRICE_AS_TEXT, { price: 'yok' });
  catalog.patch(42, { stock: 25_000 });
}
