import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredOffer } from '../marketplace/types.js';
import { SandboxCatalog } from './catalog.js';
import type { CatalogState } from './catalog.js';
import { SandboxErp } from './erp.js';
import { SandboxMarketplace } from './marketplace.js';

/** What the demo keeps in its home between `erp-sync demo` and `demo --serve`: the ERP's catalog and the marketplace's offers. */
interface WorldFile {
  version: 1;
  catalog: CatalogState;
  offers: StoredOffer[];
}

const FILE = 'sandbox-world.json';

/**
 * The demo's sandbox ERP and marketplace, with their data kept in a file in
 * the demo's home, so the world a first sync made is there for the commands
 * the demo suggests and for `demo --serve`.
 */
export class DemoWorld {
  readonly erp: SandboxErp;
  readonly marketplace: SandboxMarketplace;
  readonly #path: string;

  private constructor(home: string, keys: { erp: string; marketplace: string }, catalog: SandboxCatalog, offers: StoredOffer[]) {
    this.#path = join(home, FILE);
    this.erp = new SandboxErp({ products: catalog.size, catalog, apiKey: keys.erp, maxPageSize: 1000 });
    // One barcode in forty is not in the marketplace's master catalog yet: those wait for approval.
    this.marketplace = new SandboxMarketplace({ token: keys.marketplace, inMasterCatalog: (barcode) => Number(barcode.slice(3, 12)) % 40 !== 39 }).restore(offers);
  }

  /** A new world of `products` with the flaws a real catalog has. */
  static create(home: string, keys: { erp: string; marketplace: string }, products: number): DemoWorld {
    const world = new DemoWorld(home, keys, new SandboxCatalog(products), []);
    addFlaws(world.erp.catalog);
    return world;
  }

  /** The world kept in `home`, or undefined when there is none (or it cannot be read: the demo then starts over). */
  static load(home: string, keys: { erp: string; marketplace: string }): DemoWorld | undefined {
    let file: WorldFile;
    try {
      file = JSON.parse(readFileSync(join(home, FILE), 'utf8')) as WorldFile;
    } catch {
      return undefined;
    }
    if (file.version !== 1) return undefined;
    return new DemoWorld(home, keys, SandboxCatalog.fromState(file.catalog), file.offers);
  }

  /** A product the ERP sends with a flaw (a price typed as text), for the demo to point at; none in a catalog too small for flaws. */
  get flawedBarcode(): string | undefined {
    return this.erp.catalog.size >= FLAWED_SIZE ? this.erp.catalog.item(PRICE_AS_TEXT)?.barcode : undefined;
  }

  async start(): Promise<this> {
    await Promise.all([this.erp.start(), this.marketplace.start()]);
    return this;
  }

  /** Writes the world whole, through a temporary file, so a kill never leaves half of it. */
  save(): void {
    const file: WorldFile = { version: 1, catalog: this.erp.catalog.state(), offers: [...this.marketplace.offers.values()] };
    writeFileSync(`${this.#path}.tmp`, JSON.stringify(file));
    renameSync(`${this.#path}.tmp`, this.#path);
  }

  async close(): Promise<void> {
    await Promise.all([this.erp.close(), this.marketplace.close()]);
  }
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
