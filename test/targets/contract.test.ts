import { describe, expect, it } from 'vitest';
import { setLanguage } from '../../src/i18n/index.js';
import { TargetCode, targetCodeCatalog } from '../../src/marketplace/codes.js';
import { hepsiburada } from '../../src/marketplace/hepsiburada.js';
import { n11 } from '../../src/marketplace/n11.js';
import type { TargetAdapter } from '../../src/marketplace/target.js';
import { targetAdapter, targetAdapters } from '../../src/marketplace/targets.js';
import { trendyol } from '../../src/marketplace/trendyol.js';
import { SandboxHepsiburada } from '../../src/sandbox/hepsiburada.js';
import { SandboxN11 } from '../../src/sandbox/n11.js';
import { SandboxTrendyol } from '../../src/sandbox/trendyol.js';
import { hepsiburadaAccount, hepsiburadaConnection, n11Account, n11Connection, trendyolAccount, trendyolConnection } from '../support/target-accounts.js';
import { describeTargetContract, offer } from '../support/target-contract.js';

/**
 * The contract suite for every marketplace target in the registry, each
 * against its sandbox. An adapter registered without a setup here fails the
 * first test.
 */

const contracts: Record<string, (adapter: TargetAdapter) => void> = {
  trendyol: (adapter) =>
    describeTargetContract({
      adapter,
      startFake: (options) => new SandboxTrendyol({ ...trendyolAccount, ...options }).start(),
      connection: (mistake) => (mistake ? { ...trendyolConnection, secrets: { ...trendyolConnection.secrets, apiSecret: 'ty-secret-wrong-9' } } : trendyolConnection),
      sent: (item) => ({ stock: Number(item.fields.quantity), price: String(item.fields.salePrice) }),
      writeEndpoints: ['price-and-inventory'],
    }),
  hepsiburada: (adapter) =>
    describeTargetContract({
      adapter,
      startFake: (options) => new SandboxHepsiburada({ ...hepsiburadaAccount, ...options }).start(),
      connection: (mistake) => (mistake ? { ...hepsiburadaConnection, secrets: { serviceKey: 'Wr0ngKey1234' } } : hepsiburadaConnection),
      sent: (item) => ({ stock: Number(item.fields.availableStock), price: String(item.fields.price) }),
      writeEndpoints: ['price-uploads', 'stock-uploads'],
    }),
  n11: (adapter) =>
    describeTargetContract({
      adapter,
      startFake: (options) => new SandboxN11({ ...n11Account, ...options }).start(),
      connection: (mistake) => (mistake ? { ...n11Connection, secrets: { ...n11Connection.secrets, appSecret: 'n11-secret-wrong' } } : n11Connection),
      sent: (item) => ({ stock: Number(item.fields.quantity), price: String(item.fields.salePrice) }),
      writeEndpoints: ['price-stock-update'],
    }),
};

describe('the target registry', () => {
  it('runs the contract suite for every target adapter it holds', () => {
    expect(Object.keys(contracts).sort()).toEqual(targetAdapters.map((adapter) => adapter.kind).sort());
  });

  it('finds each adapter by its kind, and none for a kind it does not know', () => {
    expect(targetAdapters.map((adapter) => targetAdapter(adapter.kind))).toEqual([trendyol, hepsiburada, n11]);
    expect(targetAdapter('amazon')).toBeUndefined();
    expect(new Set(targetAdapters.map((adapter) => adapter.kind)).size).toBe(targetAdapters.length);
  });
});

describe('target codes and messages', () => {
  it('explains every code in English and in Turkish', () => {
    for (const lang of ['en', 'tr'] as const) {
      expect(Object.keys(targetCodeCatalog[lang]).sort()).toEqual(Object.values(TargetCode).sort());
      for (const text of Object.values(targetCodeCatalog[lang])) expect(text.trim()).not.toBe('');
    }
  });

  it('speaks Turkish to a Turkish merchant: KDV, and money as 1.200,00 ₺', () => {
    setLanguage('tr');
    for (const adapter of targetAdapters) {
      const projection = adapter.project(offer(1, { price: '1000.00', vatRate: 20, priceIncludesVat: false }), {});
      expect(projection.ok && projection.warnings[0]?.message, adapter.kind).toContain('KDV');
      expect(projection.ok && projection.warnings[0]?.message, adapter.kind).toContain('1.200,00 ₺');
      const dollars = adapter.project(offer(1, { currency: 'USD' }), {});
      expect(!dollars.ok && dollars.problem.message, adapter.kind).toContain('Türk lirası');
    }
  });
});

for (const adapter of targetAdapters) contracts[adapter.kind]?.(adapter);
