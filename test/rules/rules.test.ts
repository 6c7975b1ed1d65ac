import { describe, expect, it } from 'vitest';
import { demo } from '../../drivers/demo.js';
import type { Driver, ProductCandidate } from '../../src/driver/contract.js';
import { validateCandidate } from '../../src/engine/validate.js';
import { setLanguage } from '../../src/i18n/index.js';
import type { Validated } from '../../src/model/validated.js';
import { productPipeline, recordExplainer } from '../../src/engine/pipeline.js';
import { RulesError, parseRules, parseRulesText } from '../../src/rules/parse.js';

const ctx = { settings: {} };

/** A driver whose mapRecord hands the record's `candidates` (or the record itself) to the engine. */
const passthrough: Driver = {
  ...demo,
  mapRecord: (record) => {
    const r = record as { candidates?: ProductCandidate[] };
    return r.candidates ?? [record as ProductCandidate];
  },
};

const base: ProductCandidate = { barcode: '8690000000012', sku: 'SKU-1', name: 'Çaydanlık', price: '99.90', currency: 'TRY', vatRate: 20, priceIncludesVat: true, stock: 10, active: true, brand: 'Anadolu', category: 'Mutfak' };

function run(rules: unknown, record: unknown, driver: Driver = passthrough): Validated[] {
  return productPipeline(driver, parseRules(rules, 'test'))(record, ctx);
}

function pushed(rules: unknown, candidate: Partial<ProductCandidate> = {}) {
  const [result] = run(rules, { ...base, ...candidate });
  if (!result?.ok) throw new Error(`not pushed: ${JSON.stringify(result)}`);
  return result.product;
}

function problem(rules: unknown, candidate: Partial<ProductCandidate> = {}) {
  const [result] = run(rules, { ...base, ...candidate });
  if (!result || result.ok) throw new Error(`expected an invalid product, got ${JSON.stringify(result)}`);
  return result.issue;
}

function rulesErrorOf(rules: unknown, source = 'test'): RulesError {
  try {
    parseRules(rules, source);
  } catch (error) {
    if (error instanceof RulesError) return error;
    throw error;
  }
  throw new Error('the rules were accepted');
}

const problemsOf = (rules: unknown): readonly string[] => rulesErrorOf(rules).problems;

describe('price rules', () => {
  it('marks up 99.90 by 18% and rounds to .90 the same way everywhere', () => {
    expect(pushed({ price: { markup: '18', round: '0.90' } }).price).toBe('117.90');
    expect(pushed({ price: { markup: 18 } }).price).toBe('117.88'); // 117.882, half up
    // 0.1 + 0.2 territory: binary floats would say 0.30000000000000004.
    expect(pushed({ price: { add: '0.2' } }, { price: '0.10' }).price).toBe('0.30');
  });

  it('divides by 1 − margin and refuses a margin of 100% or more', () => {
    expect(pushed({ price: { margin: 25 } }, { price: '75.00' }).price).toBe('100.00');
    expect(problemsOf({ price: { margin: 100 } })[0]).toMatch(/^price\.margin: 100% is not a margin between 0 and 100/);
    expect(problemsOf({ price: { margin: '120' } })[0]).toMatch(/^price\.margin/);
  });

  it('adds a fixed amount after the markup', () => {
    expect(pushed({ price: { markup: 10, add: 5 } }, { price: '100' }).price).toBe('115.00');
  });

  it('converts between prices with and without KDV, and flags the offer accordingly', () => {
    const net = pushed({ price: { vat: 'include' } }, { price: '100.00', priceIncludesVat: false, vatRate: 20 });
    expect(net).toMatchObject({ price: '120.00', priceIncludesVat: true });
    const gross = pushed({ price: { vat: 'exclude' } }, { price: '120.00', priceIncludesVat: true, vatRate: 20 });
    expect(gross).toMatchObject({ price: '100.00', priceIncludesVat: false });
    expect(pushed({ price: { vat: 'include' } }, { price: '120.00', priceIncludesVat: true })).toMatchObject({ price: '120.00', priceIncludesVat: true });
    // KDV first, then the markup: 100 net → 110 gross at 10% → 121 with 10% markup.
    expect(pushed({ price: { vat: 'include', markup: 10 } }, { price: '100', priceIncludesVat: false, vatRate: 10 }).price).toBe('121.00');
  });

  it('rounds to whole, .99 and 0.05, nearest by default, up or down on request', () => {
    expect(pushed({ price: { round: 'whole' } }, { price: '117.50' }).price).toBe('118.00');
    expect(pushed({ price: { round: 'whole', roundMode: 'down' } }, { price: '117.99' }).price).toBe('117.00');
    expect(pushed({ price: { round: '0.99' } }, { price: '117.20' }).price).toBe('116.99');
    expect(pushed({ price: { round: '0.99', roundMode: 'up' } }, { price: '117.20' }).price).toBe('117.99');
    expect(pushed({ price: { round: 0.9, roundMode: 'up' } }, { price: '117.91' }).price).toBe('118.90');
    expect(pushed({ price: { round: '0.05' } }, { price: '10.02' }).price).toBe('10.00');
    expect(pushed({ price: { round: '0.05' } }, { price: '10.03' }).price).toBe('10.05');
  });

  it('holds back a price outside min..max with PRICE_OUT_OF_RANGE', () => {
    const low = problem({ price: { markup: 18, min: 150 } });
    expect(low.code).toBe('PRICE_OUT_OF_RANGE');
    expect(low.message).toBe('the price after rules, 117.88 (from 99.90), is below price.min 150.00; the offer is held back');
    expect(problem({ price: { max: '50' } }).message).toMatch(/above price\.max 50\.00/);
    expect(problem({ price: { round: 'whole', roundMode: 'down' } }, { price: '0.50' }).message).toMatch(/not above zero/);
    expect(pushed({ price: { min: '99.90', max: '99.90' } }).price).toBe('99.90');
  });

  it('lets a per-SKU (or barcode) override win over every other price rule', () => {
    const rules = { price: { markup: 50, round: 'whole', min: 500, overrides: { 'SKU-1': '149.90', '8690000000029': '12.5' } } };
    expect(pushed(rules).price).toBe('149.90');
    expect(pushed(rules, { sku: 'OTHER', barcode: '8690000000029' }).price).toBe('12.50');
    expect(problem(rules, { sku: 'OTHER' }).code).toBe('PRICE_OUT_OF_RANGE');
  });
});

describe('stock rules', () => {
  it('keeps a reserve back, publishes 0 under a threshold, and caps', () => {
    const rules = { stock: { reserve: 2, zeroBelow: 3, cap: 100 } };
    expect(pushed(rules, { stock: 10 }).stock).toBe(8);
    expect(pushed(rules, { stock: 4 }).stock).toBe(0); // 2 left, under 3
    expect(pushed(rules, { stock: 5 }).stock).toBe(3);
    expect(pushed(rules, { stock: 1 }).stock).toBe(0);
    expect(pushed(rules, { stock: 500 }).stock).toBe(100);
  });

  it('adds up only the warehouses that count, from rows or from a map', () => {
    const rules = {
      mapping: { stock: { from: ['stocks', 'depots'], perWarehouse: { warehouse: ['warehouse.name', 'warehouse'], quantity: 'qty' } } },
      stock: { warehouses: ['1', 'IĞDIR'] },
    };
    const rows = [{ warehouse: 1, qty: '5' }, { warehouse: { id: 9, name: 'Iğdır' }, qty: 2.5 }, { warehouse: 3, qty: 100 }];
    expect(pushed(rules, { stocks: rows } as never).stock).toBe(7); // 7.5, floored by the validator
    expect(pushed(rules, { depots: { '1': 4, ığdır: '6', '2': 50 } } as never).stock).toBe(10);
    const all = { mapping: rules.mapping };
    expect(pushed(all, { stocks: rows } as never).stock).toBe(107);
    // A quantity that is not a number is reported, not silently summed away.
    expect(problem(rules, { stocks: [{ warehouse: 1, qty: 'çok' }] } as never).code).toBe('STOCK_NOT_A_NUMBER');
  });
});

describe('mapping', () => {
  const record = {
    candidates: undefined,
    code: '  abc-12 ',
    name: 'Fincan',
    price5: '1.249,90',
    kurus: 24990,
    attributes: { list_price: '12,5' },
    currency: 'TL',
    kdv: '',
    stock: 3,
    brand: 'ipek',
  };

  it('reads fields by path with transforms and defaults, overriding the driver', () => {
    const rules = {
      mapping: {
        sku: { from: 'code', transform: ['trim', 'upper'] },
        price: { from: 'price5', transform: ['decimalComma'] },
        vatRate: { from: 'kdv', default: '10' },
        brand: { from: 'brand', transform: 'upper' },
      },
    };
    const product = pushed(rules, record as never);
    expect(product).toMatchObject({ sku: 'ABC-12', price: '1249.90', vatRate: '10', currency: 'TRY' });
    const [evaluation] = recordExplainer(passthrough, parseRules(rules, 'test'))(record, ctx);
    expect(evaluation!.candidate.brand).toBe('İPEK'); // Turkish upper case: i → İ
    expect(pushed({ mapping: { price: { from: 'kurus', transform: [{ multiply: '0.01' }] } } }, record as never).price).toBe('249.90');
    expect(pushed({ mapping: { price: 'attributes.list_price' } }, record as never).price).toBe('12.50');
  });

  it('falls through a list of paths; an empty mapped field stays empty rather than taking the driver value', () => {
    expect(pushed({ mapping: { price: { from: ['price9', 'attributes.list_price'], transform: 'decimalComma' } } }, record as never).price).toBe('12.50');
    expect(problem({ mapping: { price: 'price9' } }, record as never).code).toBe('PRICE_MISSING');
  });

  it('reports a required field the record lacks, and a path that holds a list', () => {
    const missing = problem({ mapping: { sku: { from: ['erpCode', 'code2'], required: true } } }, record as never);
    expect(missing).toEqual({ code: 'MAPPED_FIELD_MISSING', message: 'mapping.sku is required, but the ERP record has no value at erpCode, code2' });
    expect(problem({ mapping: { name: 'attributes' } }, record as never)).toMatchObject({ code: 'MAPPED_FIELD_INVALID' });
    expect(problem({ mapping: { price: { from: 'name', transform: [{ multiply: 2 }] } } }, record as never).message).toMatch(/cannot multiply "Fincan"/);
  });

  it('addresses the candidate’s own variant with [] and the parent otherwise', () => {
    const variantRecord = {
      sku: 'P1', name: 'Tişört', brand: 'Anadolu', category: 'Giyim', currency: 'TRY', vatRate: 20, active: true, list: '200',
      variants: [
        { sku: 'P1-S', barcode: '8690000000012', price: '100', stock: 1, price5: '110' },
        { sku: 'P1-M', barcode: '8690000000029', price: '100', stock: 2 },
      ],
    };
    const products = run({ mapping: { price: ['variants[].price5', 'list'] } }, variantRecord, demo);
    expect(products.map((p) => (p.ok ? [p.product.sku, p.product.price] : p.issue.code))).toEqual([['P1-S', '110.00'], ['P1-M', '200.00']]);
  });
});

describe('scope', () => {
  it('includes by brand pattern (Turkish case-insensitive), excludes by SKU, category or barcode pattern, and by active flag', () => {
    const rules = { scope: { include: { brand: ['anadolu', 'Ege*'] }, exclude: { sku: ['OUTLET-*'], category: ['gıda'], barcode: ['869000000002?'] }, activeOnly: true } };
    expect(run(rules, base)).toHaveLength(1);
    expect(run(rules, { ...base, brand: 'Ege Tekstil' })).toHaveLength(1);
    expect(run(rules, { ...base, brand: 'Çınar' })).toEqual([]);
    expect(run(rules, { ...base, sku: 'OUTLET-9' })).toEqual([]);
    // Turkish folding: GIDA is gıda, while Gida (dotted i) is another word.
    expect(run(rules, { ...base, category: 'GIDA' })).toEqual([]);
    expect(run(rules, { ...base, category: 'Gida' })).toHaveLength(1);
    expect(run(rules, { ...base, barcode: '8690000000029' })).toEqual([]);
    expect(run(rules, { ...base, active: false })).toEqual([]);
  });

  it('never reports an out-of-scope product as invalid', () => {
    expect(run({ scope: { exclude: { brand: ['Anadolu'] } } }, { ...base, price: 'on iki lira' })).toEqual([]);
    const [evaluation] = recordExplainer(passthrough, parseRules({ scope: { include: { category: ['Giyim'] } } }, 'test'))(base, ctx);
    expect(evaluation!.outOfScope).toBe('category "mutfak" is not in scope.include.category');
    expect(evaluation!.staged).toBeUndefined();
  });
});

describe('rules together', () => {
  it('maps, scopes, prices and stocks a variant record in one pass', () => {
    const rules = parseRulesText(
      `
mapping:
  price:
    from:
      - variants[].list
      - price
    transform: decimalComma
price: { markup: 18, round: "0.90", min: 100 }
stock: { reserve: 1, cap: 5 }
scope: { exclude: { sku: ["*-L"] } }
`,
      'test',
    );
    const record = {
      sku: 'P1', name: 'Kazak', currency: 'TRY', vatRate: 20, active: true,
      variants: [
        { sku: 'P1-S', barcode: '8690000000012', price: '1', list: '99,90', stock: 3 },
        { sku: 'P1-M', barcode: '8690000000029', price: '1', list: '49,90', stock: 30 },
        { sku: 'P1-L', barcode: '8690000000036', price: '1', list: '99,90', stock: 30 },
      ],
    };
    const products = productPipeline(demo, rules)(record, ctx);
    expect(products.map((p) => (p.ok ? { sku: p.product.sku, price: p.product.price, stock: p.product.stock } : { sku: p.sku, code: p.issue.code }))).toEqual([
      { sku: 'P1-S', price: '117.90', stock: 2 },
      { sku: 'P1-M', code: 'PRICE_OUT_OF_RANGE' }, // 58.88 → 58.90, under 100
    ]);
  });

  it('without rules is exactly the driver and the validator', () => {
    const record = { candidates: [base, { ...base, barcode: '8690000000029', price: 'x' }] };
    expect(productPipeline(passthrough, parseRulesText('', 'test'))(record, ctx)).toEqual(record.candidates.map((c) => validateCandidate(c)));
    expect(productPipeline(passthrough, parseRulesText('stock: { reserve: 0 }', 'test'))(record, ctx)).toEqual(record.candidates.map((c) => validateCandidate(c)));
  });
});

describe('validating rules', () => {
  it('lists every problem, each naming the rule', () => {
    const problems = problemsOf({
      price: { markup: 'abc', margin: 10, round: '0.95', min: 50, max: 10, prices: 1 },
      stock: { reserve: -1, warehouses: ['1'] },
      scope: { include: { brand: [] } },
      mapping: { price: { from: 'variants[].x[]' }, colour: 'c', stock: { transform: 'trim' } },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'price.prices: unknown rule; price takes vat, markup, margin, add, round, roundMode, min, max, overrides',
        'price.markup: "abc" is not a number',
        'price.round: "0.95" must be one of none, whole, 0.90, 0.99, 0.05',
        'price.min: 50.00 is above price.max 10.00; no price could pass',
        'stock.reserve: "-1" is not a whole number of units (0 or more)',
        'stock.warehouses: needs mapping.stock.perWarehouse, which says where the per-warehouse quantities are in the ERP record',
        'scope.include.brand: the list of patterns is empty',
        'mapping.price.from: "variants[].x[]" has more than one [] (a candidate has one variant)',
        'mapping.colour: unknown rule; mapping takes barcode, sku, name, price, currency, vatRate, stock, brand, category',
        'mapping.stock: needs "from" (a path in the ERP record) or "default" (a fixed value)',
      ]),
    );
    expect(problemsOf({ price: { markup: 10, margin: 10 } })).toEqual(['price: markup and margin are two ways to say the same thing; keep one']);
  });

  it('refuses unreadable YAML and names the source', () => {
    expect(() => parseRulesText('price: [markup', 'rules.yaml')).toThrow(/^the rules in rules\.yaml are not valid:\n {2}- not readable as YAML or JSON/);
  });

  it('reads JSON as well as YAML, keeping decimals and leading zeros as written', () => {
    const rules = parseRulesText('{ "price": { "overrides": { "0012345": 99.90 }, "markup": 18.5 } }', 'rules.json');
    expect(rules.price?.overrides.get('0012345')).toBe('99.90');
    expect(rules.price?.markup?.toFixed()).toBe('18.5');
  });
});

describe('validating rules in Turkish', () => {
  it('names every problem in Turkish, keeping the rule paths and the values a person types', () => {
    setLanguage('tr');
    const rulesError = rulesErrorOf({ price: { markup: -100, round: '0.95', prices: 1 }, colour: 'red' }, 'kurallar.yaml');
    expect(rulesError).toBeInstanceOf(RulesError);
    expect(rulesError.problems).toEqual([
      'colour: bilinmeyen kural; geçerli kurallar: mapping, price, stock, scope, targets',
      'price.prices: bilinmeyen kural; price altında şunlar olabilir: vat, markup, margin, add, round, roundMode, min, max, overrides',
      "price.markup: %-100 her fiyatı sıfır ya da negatif yapar; markup -100'den büyük olmalı",
      'price.round: "0.95" olamaz; şunlardan biri olmalı: none, whole, 0.90, 0.99, 0.05',
    ]);
    expect(rulesError.message).toBe(
      'kurallar.yaml içindeki kurallar geçerli değil:\n'
      + rulesError.problems.map((p) => `  - ${p}`).join('\n'),
    );
    expect(rulesError.hint).toBe('Yukarıda listelenen kuralları düzeltin; hiçbir şey değiştirilmedi. README\'deki "Rules" bölümü her kuralı bir örnekle gösterir.');
  });

  it('says the other problems in Turkish too, with Turkish numbers only where it writes them', () => {
    setLanguage('tr');
    const problems = problemsOf({
      price: { vat: 'yes', markup: 10, margin: 10, min: '0.001', roundMode: 'sideways' },
      stock: { reserve: 'many', warehouses: [] },
      scope: { include: { brand: [] }, activeOnly: 'maybe' },
      mapping: { price: { from: ['variants[].x[]', '', 'a..b'] }, stock: [{}] },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'price.vat: "yes" olamaz; "include" (fiyatlar KDV dahil gönderilir) ya da "exclude" (fiyatlar KDV hariç gönderilir) yazın',
        'price: markup ve margin aynı şeyi iki farklı yoldan söyler; birini bırakın',
        "price.min: 0.001 geçerli bir fiyat değil (0'dan büyük, 10.000.000'dan küçük, en fazla iki ondalık basamak)",
        'price.roundMode: "sideways" olamaz; nearest, up ya da down olmalı',
        'price.roundMode: price.round olmadan hiçbir etkisi yok',
        'stock.reserve: "many" geçerli bir adet değil (0 ya da daha büyük bir tam sayı olmalı)',
        'stock.warehouses: liste boş, bu yüzden hiçbir stok sayılmaz; tüm depoların sayılması için bu kuralı kaldırın',
        'stock.warehouses: mapping.stock.perWarehouse gerekli; depo bazında stok miktarlarının ERP kaydında nerede olduğunu o belirtir',
        'scope.include.brand: kalıp listesi boş',
        'scope.activeOnly: "maybe" olamaz; true ya da false olmalı',
        'mapping.price.from[0]: "variants[].x[]" içinde birden fazla [] var (bir aday tek bir varyanttır)',
        'mapping.price.from[1]: yol boş',
        'mapping.price.from[2]: "a..b" geçerli bir yol değil; price5, attributes.list_price ya da variants[].price gibi yazın',
        'mapping.stock.from[0]: bir ayar grubu bir yol değil',
      ]),
    );
    expect(problemsOf([])).toEqual(['kurallar: ayar grubu (anahtar: değer) olmalı, bir liste değil']);
  });

  it('keeps the hint a caller gives, and the English messages once the language is back', () => {
    setLanguage('tr');
    expect(new RulesError('x.yaml', ['p'], 'kendi ipucu').hint).toBe('kendi ipucu');
    expect(() => parseRulesText('price: [markup', 'rules.yaml')).toThrow(/^rules\.yaml içindeki kurallar geçerli değil:\n {2}- YAML ya da JSON olarak okunamıyor: /);
    setLanguage('en');
    expect(problemsOf({ price: { markup: -100 } })).toEqual(['price.markup: -100% would make every price zero or negative; a markup must be above -100']);
  });
});
