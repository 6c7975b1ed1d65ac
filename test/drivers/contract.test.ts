import { describe, expect, it } from 'vitest';
import { drivers } from '../../drivers/index.js';
import type { Driver } from '../../src/driver/contract.js';
import { describeDriverContract } from '../support/driver-contract.js';
import { bizimhesapConnection, startBizimhesapFake } from '../fakes/bizimhesap.js';
import { csvConnection, startCsvFake } from '../fakes/csv.js';
import { demoConnection, startDemoFake } from '../fakes/demo.js';
import { entegraConnection, startEntegraFake } from '../fakes/entegra.js';
import { logoRestConnection, logoSqlConnection, startLogoRestFake, startLogoSqlFake } from '../fakes/logo.js';
import { mikroConnection, startMikroSqlFake } from '../fakes/mikro.js';
import { netsisRestConnection, netsisSqlConnection, startNetsisRestFake, startNetsisSqlFake } from '../fakes/netsis.js';
import { parasutConnection, startParasutFake } from '../fakes/parasut.js';
import { sentosConnection, startSentosFake } from '../fakes/sentos.js';

/**
 * The contract suite for every driver in the registry, each against its fake
 * ERP. A driver registered without a setup here fails the first test.
 */
const contracts: Record<string, (driver: Driver) => void> = {
  entegra: (driver) =>
    describeDriverContract({
      driver,
      startFake: startEntegraFake,
      connection: entegraConnection,
      multiPageCatalog: 55,
      supports: { variants: true, tokens: true, paging: true, totals: true },
    }),
  parasut: (driver) =>
    describeDriverContract({
      driver,
      startFake: startParasutFake,
      connection: (fake, mistake) => parasutConnection(fake, mistake),
      multiPageCatalog: 55,
      supports: { tokens: true, paging: true, totals: true, unknownTenant: true },
    }),
  sentos: (driver) =>
    describeDriverContract({
      driver,
      startFake: startSentosFake,
      connection: (_fake, mistake) => sentosConnection(mistake),
      multiPageCatalog: 47,
      supports: { variants: true, paging: true, totals: true },
    }),
  // With a warehouse set, a pull is two catalog requests (that warehouse's
  // inventory, then the product list), so the contract's faults that start at
  // the second request land on the streamed product list.
  bizimhesap: (driver) =>
    describeDriverContract({
      driver,
      startFake: startBizimhesapFake,
      connection: (_fake, mistake) => bizimhesapConnection({ warehouseId: 'w-1' }, mistake),
      multiPageCatalog: 47,
      supports: {},
    }),
  // Logo, Netsis and Mikro read the ERP's SQL Server through a fake executor; the two with a REST service run the suite again through it.
  logo: (driver) => {
    describeDriverContract({
      driver,
      label: 'SQL access',
      source: 'sql',
      startFake: startLogoSqlFake,
      connection: (fake, mistake) => logoSqlConnection(fake, mistake),
      multiPageCatalog: 47,
      supports: { paging: true, unknownTenant: true },
    });
    describeDriverContract({
      driver,
      label: 'REST access',
      source: 'http',
      startFake: startLogoRestFake,
      connection: (fake, mistake) => logoRestConnection(fake, mistake),
      multiPageCatalog: 47,
      supports: { tokens: true, paging: true, unknownTenant: true },
    });
  },
  // This Netsis keeps its names in a Western code page (Ð for Ğ...): the names are Turkish only with fixTurkish.
  netsis: (driver) => {
    describeDriverContract({
      driver,
      label: 'SQL access',
      source: 'sql',
      startFake: (knobs) => startNetsisSqlFake({ ...knobs, westernCodePage: true }),
      connection: (fake, mistake) => netsisSqlConnection(fake, mistake, { fixTurkish: 'true' }),
      multiPageCatalog: 47,
      supports: { paging: true, unknownTenant: true },
    });
    describeDriverContract({
      driver,
      label: 'NetOpenX access',
      source: 'http',
      startFake: startNetsisRestFake,
      connection: (fake, mistake) => netsisRestConnection(fake, mistake),
      multiPageCatalog: 47,
      supports: { tokens: true, paging: true, totals: true },
    });
  },
  // Mikro v15 keys its rows by an integer, v16 by a GUID SQL Server sorts its own way: the suite runs against both.
  mikro: (driver) => {
    for (const version of [15, 16] as const) {
      describeDriverContract({
        driver,
        label: `Mikro v${version}`,
        source: 'sql',
        startFake: (knobs) => startMikroSqlFake({ ...knobs, version }),
        connection: (fake, mistake) => mikroConnection(fake, mistake),
        multiPageCatalog: 47,
        supports: { paging: true, unknownTenant: true },
      });
    }
  },
  csv: (driver) =>
    describeDriverContract({
      driver,
      startFake: startCsvFake,
      connection: (fake) => csvConnection(fake),
      multiPageCatalog: 1234,
      supports: { paging: true },
    }),
  demo: (driver) =>
    describeDriverContract({
      driver,
      startFake: startDemoFake,
      connection: demoConnection,
      multiPageCatalog: 47,
      supports: { variants: true, paging: true, totals: true },
    }),
};

describe('the driver registry', () => {
  it('runs the contract suite for every driver it holds', () => {
    expect(Object.keys(contracts).sort()).toEqual([...drivers.keys()].sort());
  });
});

for (const driver of drivers.values()) contracts[driver.id]?.(driver);
