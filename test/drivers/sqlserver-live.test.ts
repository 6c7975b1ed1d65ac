import { randomBytes } from 'node:crypto';
import mssql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../../src/driver/contract.js';
import { drivers } from '../../drivers/index.js';
import { logoCatalog, startLogoSqlFake } from '../fakes/logo.js';
import type { LogoTables } from '../fakes/logo.js';
import { mikroCatalog, startMikroSqlFake } from '../fakes/mikro.js';
import type { MikroTables } from '../fakes/mikro.js';
import { netsisCatalog, startNetsisSqlFake } from '../fakes/netsis.js';
import type { NetsisTables } from '../fakes/netsis.js';
import type { SqlFake } from '../fakes/sql.js';
import { contractContext, pullAll } from '../support/driver-contract.js';

/**
 * Opt-in: every on-premise driver against a real SQL Server, where one is at
 * hand (none runs on the machines this is developed on). Set
 * ERP_SYNC_TEST_MSSQL to the connection string of a login that may create
 * databases and logins, e.g.
 *
 *   ERP_SYNC_TEST_MSSQL='Server=localhost,1433;User Id=sa;Password=...;TrustServerCertificate=true' npx vitest run test/drivers/sqlserver-live.test.ts
 *
 * For each ERP it creates a scratch database (Turkish_CI_AS) holding the fake
 * ERP's generated tables, and Mikro's functions; a SQL login with exactly the
 * grants docs/onprem.md lists; then runs the driver through mssql as that
 * login, and checks it reads the same offers, in the same order, as from the
 * fake (so the fakes sort and compare as SQL Server does), and that the
 * login may not write. Everything is dropped at the end.
 */

const connectionString = process.env.ERP_SYNC_TEST_MSSQL;
if (!connectionString) {
  process.stderr.write('skipped: the tests against a real SQL Server (set ERP_SYNC_TEST_MSSQL to a connection string; see test/drivers/sqlserver-live.test.ts)\n');
}

type Column = [name: string, type: string];

interface Scratch {
  driver: string;
  /** The tables to create, with the rows to put in. */
  tables: Array<{ name: string; columns: Column[]; rows: ReadonlyArray<Record<string, unknown>> }>;
  /** Statements run after the tables: functions. */
  extra?: string[];
  /** The grants docs/onprem.md gives the erp-sync login. */
  grants: string[];
  /** A table the login must not be able to write. */
  writeProbe: string;
  settings: Record<string, string>;
  fake(): SqlFake;
}

const suffix = randomBytes(4).toString('hex');
const login = `erp_sync_test_${suffix}`;
const password = `Ey1!${randomBytes(12).toString('hex')}`;

function logoScratch(now: string): Scratch {
  const { tables } = logoCatalog({ products: 47, duplicateBarcode: true, missingBarcode: true });
  const served: LogoTables = { ...tables, now };
  const price: Column[] = [
    ['LOGICALREF', 'INT'], ['CARDREF', 'INT'], ['PTYPE', 'SMALLINT'], ['CODE', 'NVARCHAR(25)'], ['PRICE', 'FLOAT'], ['CURRENCY', 'SMALLINT'], ['INCVAT', 'SMALLINT'], ['UOMREF', 'INT'],
    ['BEGDATE', 'DATETIME'], ['ENDDATE', 'DATETIME'], ['PRIORITY', 'INT'], ['CLIENTCODE', 'NVARCHAR(25)'], ['CLSPECODE', 'NVARCHAR(25)'], ['ACTIVE', 'SMALLINT'],
  ];
  const objects = ['L_CAPIFIRM', 'L_CAPIPERIOD', 'L_CAPIWHOUSE', 'L_CURRENCYLIST', 'LG_001_ITEMS', 'LG_001_UNITSETL', 'LG_001_UNITBARCODE', 'LG_001_PRCLIST', 'LG_001_01_GNTOTST'];
  return {
    driver: 'logo',
    tables: [
      { name: 'L_CAPIFIRM', columns: [['NR', 'SMALLINT']], rows: tables.firms },
      { name: 'L_CAPIPERIOD', columns: [['FIRMNR', 'SMALLINT'], ['NR', 'SMALLINT']], rows: tables.periods },
      { name: 'L_CAPIWHOUSE', columns: [['FIRMNR', 'SMALLINT'], ['NR', 'SMALLINT'], ['NAME', 'NVARCHAR(51)']], rows: tables.warehouses },
      { name: 'L_CURRENCYLIST', columns: [['FIRMNR', 'SMALLINT'], ['CURTYPE', 'SMALLINT'], ['CURCODE', 'NVARCHAR(5)']], rows: tables.currencies },
      {
        name: 'LG_001_ITEMS',
        columns: [['LOGICALREF', 'INT PRIMARY KEY'], ['CODE', 'NVARCHAR(25)'], ['NAME', 'NVARCHAR(51)'], ['ACTIVE', 'SMALLINT'], ['CARDTYPE', 'SMALLINT'], ['VAT', 'FLOAT'], ['SELLVAT', 'FLOAT'], ['STGRPCODE', 'NVARCHAR(25)'], ['UNITSETREF', 'INT']],
        rows: tables.items,
      },
      { name: 'LG_001_UNITSETL', columns: [['LOGICALREF', 'INT'], ['UNITSETREF', 'INT'], ['MAINUNIT', 'SMALLINT'], ['CODE', 'NVARCHAR(11)']], rows: tables.unitLines },
      { name: 'LG_001_UNITBARCODE', columns: [['ITEMREF', 'INT'], ['UNITLINEREF', 'INT'], ['LINENR', 'INT'], ['BARCODE', 'NVARCHAR(51)']], rows: tables.barcodes },
      { name: 'LG_001_PRCLIST', columns: price, rows: tables.prices.map((p) => ({ ...p, BEGDATE: date(p.BEGDATE), ENDDATE: date(p.ENDDATE) })) },
      { name: 'LG_001_01_GNTOTST', columns: [['STOCKREF', 'INT'], ['INVENNO', 'SMALLINT'], ['ONHAND', 'FLOAT']], rows: tables.totals },
    ],
    grants: objects.map((o) => `GRANT SELECT ON dbo.${o} TO [${login}]`),
    writeProbe: "UPDATE dbo.LG_001_ITEMS SET NAME = N'x'",
    settings: { firm: '1', period: '1', pageSize: '10' },
    fake: () => startLogoSqlFake({ tables: served }),
  };
}

function netsisScratch(): Scratch {
  const { tables } = netsisCatalog({ products: 47, duplicateBarcode: true, missingBarcode: true });
  const served: NetsisTables = tables;
  return {
    driver: 'netsis',
    tables: [
      {
        name: 'TBLSTSABIT',
        columns: [
          ['STOK_KODU', 'VARCHAR(35) PRIMARY KEY'], ['STOK_ADI', 'VARCHAR(100)'], ['GRUP_KODU', 'VARCHAR(8)'], ['SATIS_FIAT1', 'FLOAT'], ['SATIS_FIAT2', 'FLOAT'], ['SATIS_FIAT3', 'FLOAT'],
          ['SATIS_FIAT4', 'FLOAT'], ['KDV_ORANI', 'FLOAT'], ['BARKOD1', 'VARCHAR(35)'], ['BARKOD2', 'VARCHAR(35)'], ['BARKOD3', 'VARCHAR(35)'], ['KILIT', 'CHAR(1)'], ['SATISKILIT', 'CHAR(1)'],
        ],
        rows: tables.cards,
      },
      { name: 'TBLSTOKBAR', columns: [['STOK_KODU', 'VARCHAR(35)'], ['BARKOD', 'VARCHAR(35)']], rows: tables.extraBarcodes ?? [] },
      { name: 'TBLSTOKPH', columns: [['STOK_KODU', 'VARCHAR(35)'], ['SUBE_KODU', 'SMALLINT'], ['DEPO_KODU', 'SMALLINT'], ['TOP_GIRIS_MIK', 'FLOAT'], ['TOP_CIKIS_MIK', 'FLOAT']], rows: tables.stock },
    ],
    grants: ['TBLSTSABIT', 'TBLSTOKBAR', 'TBLSTOKPH'].map((o) => `GRANT SELECT ON dbo.${o} TO [${login}]`),
    writeProbe: "DELETE FROM dbo.TBLSTOKPH WHERE STOK_KODU = 'x'",
    settings: { priceIncludesVat: 'true', pageSize: '10' },
    fake: () => startNetsisSqlFake({ tables: served }),
  };
}

function mikroScratch(version: 15 | 16): Scratch {
  const { tables } = mikroCatalog({ products: 47, version, duplicateBarcode: true, missingBarcode: true });
  const served: MikroTables = tables;
  const key: Column = version === 15 ? ['sto_RECno', 'INT PRIMARY KEY'] : ['sto_Guid', 'UNIQUEIDENTIFIER PRIMARY KEY'];
  const barKey: Column = version === 15 ? ['bar_RECno', 'INT'] : ['bar_Guid', 'UNIQUEIDENTIFIER'];
  const objects = ['STOKLAR', 'BARKOD_TANIMLARI', 'STOK_SATIS_FIYAT_LISTELERI', 'STOK_SATIS_FIYAT_LISTE_TANIMLARI', 'DEPOLAR'];
  const functions = ['fn_VergiYuzde', 'fn_EldekiMiktar', 'fn_DepodakiMiktar'];
  return {
    driver: 'mikro',
    tables: [
      {
        name: 'STOKLAR',
        columns: [
          key, ['sto_kod', 'NVARCHAR(25)'], ['sto_isim', 'NVARCHAR(127)'], ['sto_pasif_fl', 'BIT'], ['sto_iptal', 'BIT'], ['sto_satis_dursun', 'TINYINT'],
          ['sto_anagrup_kod', 'NVARCHAR(25)'], ['sto_marka_kodu', 'NVARCHAR(25)'], ['sto_perakende_vergi', 'TINYINT'], ['sto_toptan_vergi', 'TINYINT'],
        ],
        rows: tables.cards.map(({ key: k, ...card }) => ({ ...card, [key[0]]: k })),
      },
      {
        name: 'BARKOD_TANIMLARI',
        columns: [barKey, ['bar_stokkodu', 'NVARCHAR(25)'], ['bar_kodu', 'NVARCHAR(50)'], ['bar_birimpntr', 'TINYINT'], ['bar_master', 'BIT'], ['bar_renkpntr', 'TINYINT'], ['bar_bedenpntr', 'TINYINT'], ['bar_iptal', 'BIT']],
        rows: tables.barcodes.map(({ key: k, ...barcode }) => ({ ...barcode, [barKey[0]]: k })),
      },
      {
        name: 'STOK_SATIS_FIYAT_LISTELERI',
        columns: [
          ['sfiyat_stokkod', 'NVARCHAR(25)'], ['sfiyat_listesirano', 'INT'], ['sfiyat_deposirano', 'INT'], ['sfiyat_odemeplan', 'INT'], ['sfiyat_iptal', 'BIT'], ['sfiyat_fiyati', 'FLOAT'],
          ['sfiyat_doviz', 'TINYINT'], ['sfiyat_lastup_date', 'DATETIME'],
        ],
        rows: tables.prices.map((p) => ({ ...p, sfiyat_lastup_date: date(p.sfiyat_lastup_date) })),
      },
      { name: 'STOK_SATIS_FIYAT_LISTE_TANIMLARI', columns: [['sfl_sirano', 'INT'], ['sfl_aciklama', 'NVARCHAR(50)'], ['sfl_kdvdahil', 'BIT']], rows: tables.lists },
      { name: 'DEPOLAR', columns: [['dep_no', 'INT']], rows: tables.depots },
      // What Mikro's functions read here: a stand-in for its tax table and stock movements.
      { name: 'ERP_SYNC_TEST_VERGI', columns: [['ptr', 'TINYINT'], ['yuzde', 'FLOAT']], rows: Object.entries(tables.vatPercents).map(([ptr, yuzde]) => ({ ptr: Number(ptr), yuzde })) },
      { name: 'ERP_SYNC_TEST_ELDE', columns: [['sto_kod', 'NVARCHAR(25)'], ['depo', 'INT'], ['miktar', 'FLOAT']], rows: tables.onHand.map((h) => ({ sto_kod: h.sto_kod, depo: h.depot, miktar: h.quantity })) },
    ],
    extra: [
      'CREATE FUNCTION dbo.fn_VergiYuzde(@ptr TINYINT) RETURNS FLOAT AS BEGIN RETURN ISNULL((SELECT yuzde FROM dbo.ERP_SYNC_TEST_VERGI WHERE ptr = @ptr), 0) END',
      'CREATE FUNCTION dbo.fn_EldekiMiktar(@kod NVARCHAR(25)) RETURNS FLOAT AS BEGIN RETURN ISNULL((SELECT SUM(miktar) FROM dbo.ERP_SYNC_TEST_ELDE WHERE sto_kod = @kod), 0) END',
      'CREATE FUNCTION dbo.fn_DepodakiMiktar(@kod NVARCHAR(25), @depo INT, @tarih DATETIME) RETURNS FLOAT AS BEGIN RETURN ISNULL((SELECT SUM(miktar) FROM dbo.ERP_SYNC_TEST_ELDE WHERE sto_kod = @kod AND depo = @depo), 0) END',
    ],
    grants: [...objects.map((o) => `GRANT SELECT ON dbo.${o} TO [${login}]`), ...functions.map((f) => `GRANT EXECUTE ON dbo.${f} TO [${login}]`)],
    writeProbe: "UPDATE dbo.STOKLAR SET sto_isim = N'x'",
    settings: { pageSize: '10' },
    fake: () => startMikroSqlFake({ tables: served }),
  };
}

/** An ISO instant of the ERP's wall clock as a Date mssql stores as that wall clock (useUTC). */
function date(value: string | null): Date | null {
  return value === null ? null : new Date(value);
}

describe.runIf(connectionString)('every on-premise driver against a real SQL Server', { timeout: 300_000 }, () => {
  let admin: mssql.ConnectionPool;
  let target: { server: string; port?: number; options?: { instanceName?: string; encrypt?: boolean; trustServerCertificate?: boolean } };
  const databases: string[] = [];
  let now = '';

  beforeAll(async () => {
    admin = new mssql.ConnectionPool(connectionString!);
    target = mssql.ConnectionPool.parseConnectionString(connectionString!) as typeof target;
    await admin.connect();
    const clock = await admin.request().query<{ NOW_: Date }>('SELECT GETDATE() AS NOW_');
    now = clock.recordset[0]!.NOW_.toISOString();
    await admin.request().query(`CREATE LOGIN [${login}] WITH PASSWORD = N'${password}', CHECK_POLICY = OFF`);
  });

  afterAll(async () => {
    for (const database of databases) {
      await admin.request().query(`IF DB_ID(N'${database}') IS NOT NULL BEGIN ALTER DATABASE [${database}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [${database}] END`);
    }
    await admin.request().query(`IF SUSER_ID(N'${login}') IS NOT NULL DROP LOGIN [${login}]`);
    await admin.close();
  });

  /** Creates the scratch database, its tables and rows, the functions and the erp-sync user with its grants. */
  async function create(name: string, scratch: Scratch): Promise<void> {
    databases.push(name);
    await admin.request().query(`CREATE DATABASE [${name}] COLLATE Turkish_CI_AS`);
    const inDb = (statement: string) => admin.request().query(`USE [${name}]; EXEC(N'${statement.replace(/'/g, "''")}')`);
    for (const table of scratch.tables) {
      await inDb(`CREATE TABLE dbo.${table.name} (${table.columns.map(([column, type]) => `${column} ${type}${/PRIMARY KEY/.test(type) ? '' : ' NULL'}`).join(', ')})`);
      for (const row of table.rows) {
        const request = admin.request();
        table.columns.forEach(([column], i) => request.input(`p${i}`, row[column] ?? null));
        await request.query(`USE [${name}]; INSERT INTO dbo.${table.name} (${table.columns.map(([c]) => c).join(', ')}) VALUES (${table.columns.map((_, i) => `@p${i}`).join(', ')})`);
      }
    }
    for (const statement of scratch.extra ?? []) await inDb(statement);
    await inDb(`CREATE USER [${login}] FOR LOGIN [${login}]`);
    for (const grant of scratch.grants) await inDb(grant);
  }

  async function read(driver: Driver, settings: Record<string, string>, secret: string, fake?: SqlFake) {
    const ctx = contractContext(driver, '', { settings: { ...settings, retries: '0' }, secrets: { password: secret } }, {}, fake?.connector);
    try {
      await driver.testConnection(ctx);
      const { candidates } = await pullAll(driver, ctx);
      return { candidates, warnings: ctx.warnings };
    } finally {
      await ctx.close();
    }
  }

  const cases: Array<[string, () => Scratch]> = [
    ['logo', () => logoScratch(now)],
    ['netsis', () => netsisScratch()],
    ['mikro v15', () => mikroScratch(15)],
    ['mikro v16', () => mikroScratch(16)],
  ];

  it.each(cases)('%s: the same offers in the same order as from the fake, through the grants docs/onprem.md lists, and no write', async (label, make) => {
    const scratch = make();
    const database = `erp_sync_test_${suffix}_${label.replace(/\W+/g, '_')}`;
    await create(database, scratch);
    const driver = drivers.get(scratch.driver)!;
    const server = {
      server: target.server, ...(target.port ? { port: String(target.port) } : {}), ...(target.options?.instanceName ? { instance: target.options.instanceName } : {}),
      encrypt: String(target.options?.encrypt ?? true), trustServerCertificate: String(target.options?.trustServerCertificate ?? false), database, user: login,
    };
    const real = await read(driver, { ...server, ...scratch.settings }, password);
    const fake = scratch.fake();
    const faked = await read(driver, { ...server, ...scratch.settings, database: fake.login.database, user: fake.login.user }, fake.login.password, fake);
    expect(real.candidates.length).toBeGreaterThan(40);
    expect(real.candidates).toEqual(faked.candidates);

    const asErpSync = new mssql.ConnectionPool({ ...target, database, user: login, password } as mssql.config);
    await asErpSync.connect();
    try {
      await expect(asErpSync.request().query(scratch.writeProbe)).rejects.toMatchObject({ number: 229 });
    } finally {
      await asErpSync.close();
    }
  });
});
