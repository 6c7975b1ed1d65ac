import { hasValidCheckDigit } from '../model/barcode.js';

/**
 * The sandbox ERP's catalog: N sellable items generated on demand from their
 * index, so a catalog of a million costs no memory. Items come in blocks of
 * ten: seven stand alone and three are the S/M/L variants of one product, so
 * every page shows both shapes.
 */
export interface SandboxItem {
  index: number;
  sku: string;
  barcode: string;
  name: string;
  brand: string;
  category: string;
  /** Decimal string, KDV included. */
  price: string;
  currency: string;
  vatRate: number;
  stock: number;
  active: boolean;
  /** Set on variants: S, M or L. */
  size?: string;
}

export type ItemPatch = Partial<Record<keyof Omit<SandboxItem, 'index'>, unknown>>;

export interface VariantRecord {
  sku: unknown;
  barcode: unknown;
  name: unknown;
  size: unknown;
  price: unknown;
  stock: unknown;
}

export interface ProductRecord {
  id: string;
  sku: unknown;
  name: unknown;
  brand: unknown;
  category: unknown;
  currency: unknown;
  vatRate: unknown;
  priceIncludesVat: boolean;
  active: unknown;
  barcode?: unknown;
  price?: unknown;
  stock?: unknown;
  variants?: VariantRecord[];
}

const adjectives = ['Şık', 'Günlük', 'Işıltılı', 'Doğal', 'Yumuşak', 'Klasik', 'Çizgili', 'Pamuklu', 'İnce', 'Özel', 'Dayanıklı', 'Ağır'];
const nouns = ['Tişört', 'Çaydanlık', 'Gömlek', 'Havlu', 'Çanta', 'Eşarp', 'Ayakkabı', 'Kupa', 'Yastık', 'Şemsiye', 'Kazak', 'Güneş Gözlüğü', 'Iğdır Kayısısı', 'Örtü'];
const colours = ['Kırmızı', 'Lacivert', 'Yeşil', 'Siyah', 'Beyaz', 'Gök Mavisi', 'Mürdüm', 'Füme', 'Açık Gri', 'Çivit'];
const brands = ['Anadolu', 'Boğaziçi', 'Ege Tekstil', 'Çınar', 'Güneş', 'Işık', 'Öztürk', 'Şahin'];
const categories = ['Giyim', 'Ev & Yaşam', 'Mutfak', 'Aksesuar', 'Gıda'];
const vatRates = [20, 20, 20, 10, 1];
const sizes = ['S', 'M', 'L'];

/** A small deterministic PRNG (mulberry32): the same seed always gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An EAN-13 in Turkey's 869 prefix with a correct check digit. */
export function barcodeFor(index: number): string {
  const body = `869${String(index).padStart(9, '0')}`;
  for (let digit = 0; digit <= 9; digit++) {
    if (hasValidCheckDigit(body + digit)) return body + digit;
  }
  throw new Error('unreachable: one check digit always fits');
}

export interface CatalogState {
  size: number;
  versions: [number, number][];
  patches: [number, ItemPatch | null][];
  changeRound: number;
}

export class SandboxCatalog {
  #size: number;
  readonly #versions = new Map<number, number>();
  readonly #patches = new Map<number, ItemPatch | null>();
  #changeRound = 0;
  #generation = 0;

  constructor(size: number) {
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  /** Grows or shrinks the catalog (new items at the end; shrinking makes the tail vanish). */
  resize(size: number): void {
    this.#size = size;
    this.#generation++;
  }

  /** How many records (products, variant groups counting once) there are. */
  get recordCount(): number {
    const blocks = Math.floor(this.#size / 10);
    return blocks * 8 + (this.#size % 10);
  }

  /** Bumped by every change, so a server can cache what it generated until the catalog changes. */
  get generation(): number {
    return this.#generation;
  }

  /** Records with at least one item left: what a pull should receive in total. */
  get presentRecordCount(): number {
    const removedPerRecord = new Map<number, number>();
    for (const [index, patch] of this.#patches) {
      if (patch !== null || index >= this.#size) continue;
      const record = this.recordOf(index);
      removedPerRecord.set(record, (removedPerRecord.get(record) ?? 0) + 1);
    }
    let gone = 0;
    for (const [record, removed] of removedPerRecord) if (removed === this.itemsOfRecord(record).length) gone++;
    return this.recordCount - gone;
  }

  recordOf(index: number): number {
    const fullBlocks = Math.floor(this.#size / 10);
    if (index >= fullBlocks * 10) return fullBlocks * 8 + (index - fullBlocks * 10);
    const j = index % 10;
    return Math.floor(index / 10) * 8 + Math.min(j, 7);
  }

  /** Item indices of record r. */
  itemsOfRecord(r: number): number[] {
    const fullBlocks = Math.floor(this.#size / 10);
    if (r >= fullBlocks * 8) return [fullBlocks * 10 + (r - fullBlocks * 8)];
    const block = Math.floor(r / 8);
    const j = r % 8;
    return j < 7 ? [block * 10 + j] : [block * 10 + 7, block * 10 + 8, block * 10 + 9];
  }

  /** The item as the ERP holds it now, or undefined if it was removed. */
  item(index: number): SandboxItem | undefined {
    const patch = this.#patches.get(index);
    if (patch === null) return undefined;
    const base = this.#baseItem(index);
    return patch ? ({ ...base, ...patch } as SandboxItem) : base;
  }

  /**
   * Changes price and stock of `percent`% of the items (exactly, rounded to a
   * whole item), chosen among those not patched or removed by hand, so every
   * change is one the marketplace should receive.
   */
  change(percent: number): number[] {
    const present = [...this.#indices()].filter((i) => !this.#patches.has(i));
    const count = Math.round((present.length * percent) / 100);
    const rand = seededRandom(0x5eed + ++this.#changeRound);
    for (let i = present.length - 1; i > 0 && present.length - i <= count; i--) {
      const j = Math.floor(rand() * (i + 1));
      [present[i], present[j]] = [present[j]!, present[i]!];
    }
    const changed = present.slice(present.length - count);
    for (const index of changed) this.#versions.set(index, (this.#versions.get(index) ?? 0) + 1);
    this.#generation++;
    return changed.sort((a, b) => a - b);
  }

  /** Overrides fields of one item as the ERP would send them (any type: tests send bad values). */
  patch(index: number, patch: ItemPatch): void {
    const current = this.#patches.get(index);
    this.#patches.set(index, { ...(current ?? {}), ...patch });
    this.#generation++;
  }

  /** Removes an item from the ERP (it vanishes). */
  remove(index: number): void {
    this.#patches.set(index, null);
    this.#generation++;
  }

  /** Undoes patches and removals of one item. */
  restore(index: number): void {
    this.#patches.delete(index);
    this.#generation++;
  }

  /** Everything that sets this catalog apart from a new one of its size: what the demo keeps between its runs. */
  state(): CatalogState {
    return { size: this.#size, versions: [...this.#versions], patches: [...this.#patches], changeRound: this.#changeRound };
  }

  static fromState(state: CatalogState): SandboxCatalog {
    const catalog = new SandboxCatalog(state.size);
    for (const [index, version] of state.versions) catalog.#versions.set(index, version);
    for (const [index, patch] of state.patches) catalog.#patches.set(index, patch);
    catalog.#changeRound = state.changeRound;
    return catalog;
  }

  /** The records of one page, in the ERP's wire shape. */
  records(fromRecord: number, count: number): ProductRecord[] {
    const out: ProductRecord[] = [];
    const end = Math.min(this.recordCount, fromRecord + count);
    for (let r = fromRecord; r < end; r++) {
      const items = this.itemsOfRecord(r);
      const present = items.map((i) => this.item(i)).filter((i): i is SandboxItem => i !== undefined);
      const head = present[0] ?? this.#baseItem(items[0]!);
      const record: ProductRecord = {
        id: `P${String(items[0]).padStart(8, '0')}`,
        sku: items.length > 1 ? head.sku.replace(/-[SML]$/, '') : head.sku,
        name: items.length > 1 ? String(head.name).replace(/ - [SML]$/, '') : head.name,
        brand: head.brand,
        category: head.category,
        currency: head.currency,
        vatRate: head.vatRate,
        priceIncludesVat: true,
        active: head.active,
      };
      if (items.length > 1) {
        record.variants = present.map((v) => ({ sku: v.sku, barcode: v.barcode, name: v.name, size: v.size, price: v.price, stock: v.stock }));
      } else if (present.length === 1) {
        Object.assign(record, { barcode: head.barcode, price: head.price, stock: head.stock });
      } else {
        continue;
      }
      out.push(record);
    }
    return out;
  }

  *#indices(): Generator<number> {
    for (let i = 0; i < this.#size; i++) yield i;
  }

  #baseItem(index: number): SandboxItem {
    const groupStart = index % 10 >= 7 && index < Math.floor(this.#size / 10) * 10 ? index - (index % 10) + 7 : index;
    const rand = seededRandom(groupStart * 2654435761);
    const name = `${pick(rand, brands)} ${pick(rand, adjectives)} ${pick(rand, colours)} ${pick(rand, nouns)}`;
    const category = pick(rand, categories);
    const vatRate = pick(rand, vatRates);
    const brand = name.split(' ')[0]!;
    const version = this.#versions.get(index) ?? 0;
    const ownRand = seededRandom(index * 40503 + 17);
    const lira = 10 + Math.floor(ownRand() * 4990);
    const kurus = ownRand() < 0.5 ? 90 : 99;
    const priceKurus = lira * 100 + kurus + version * 150;
    const stock = (Math.floor(ownRand() * 200) + version * 7) % 250;
    const isVariant = groupStart !== index || (index % 10 === 7 && index < Math.floor(this.#size / 10) * 10);
    const size = isVariant ? sizes[index - groupStart] : undefined;
    const sku = `SKU-${String(groupStart).padStart(7, '0')}${size ? `-${size}` : ''}`;
    return {
      index,
      sku,
      barcode: barcodeFor(index),
      name: size ? `${name} - ${size}` : name,
      brand,
      category,
      price: `${Math.floor(priceKurus / 100)}.${String(priceKurus % 100).padStart(2, '0')}`,
      currency: 'TRY',
      vatRate,
      stock,
      active: true,
      ...(size ? { size } : {}),
    };
  }
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}
