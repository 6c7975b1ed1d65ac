import type { ConnectionCatalog, ConnectionConfig, TargetConfig } from '../config/config.js';
import { targetsFed } from '../config/config.js';
import type { Sealed } from '../secrets/envelope.js';
import { nowIso } from './db.js';
import { migratePg } from './pg.js';
import { isolated } from './pg-schema.js';
import type { PgDatabase } from './pg.js';

/**
 * Hosted mode's own tables in PostgreSQL (schema part `hosted`): the
 * tenants, each tenant's connections and marketplace targets (the same
 * shapes as config.json's), their rules, and their secrets sealed by
 * `secrets/envelope.ts`. The tenant is the first column of every key and
 * defaults to the session's (`erp_sync.tenant`); row-level security shows
 * and accepts only the session's tenant's rows, as on the engine's tables.
 */
const hostedMigrations: readonly string[] = [
  `
  CREATE TABLE hosted_tenants (
    tenant text PRIMARY KEY DEFAULT current_setting('erp_sync.tenant'),
    name text NOT NULL,
    created_at text NOT NULL
  );

  -- A tenant's ERP connections and marketplace targets, in one namespace as in config.json.
  CREATE TABLE hosted_configs (
    tenant text NOT NULL DEFAULT current_setting('erp_sync.tenant') REFERENCES hosted_tenants (tenant) ON DELETE CASCADE,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('connection', 'target')),
    config jsonb NOT NULL,
    rules text,
    updated_at text NOT NULL,
    PRIMARY KEY (tenant, name)
  );

  -- One secret field of one connection or target: AES-256-GCM, never the value itself.
  CREATE TABLE hosted_secrets (
    tenant text NOT NULL DEFAULT current_setting('erp_sync.tenant') REFERENCES hosted_tenants (tenant) ON DELETE CASCADE,
    owner text NOT NULL,
    field text NOT NULL,
    key_id text NOT NULL,
    iv text NOT NULL,
    ciphertext text NOT NULL,
    tag text NOT NULL,
    updated_at text NOT NULL,
    PRIMARY KEY (tenant, owner, field)
  );

  ${isolated('hosted_tenants')}
  ${isolated('hosted_configs')}
  ${isolated('hosted_secrets')}
  `,
];

/** Brings hosted mode's tables up to date (migratePg: once a process, safe for several at once). */
export function migrateHosted(db: PgDatabase): void {
  migratePg(db, 'hosted', hostedMigrations);
}

export interface TenantRow {
  tenant: string;
  name: string;
  createdAt: string;
}

/** Adds the session's tenant, or renames it; true when it is new. */
export function saveTenant(db: PgDatabase, name: string): boolean {
  const row = db
    .prepare(
      `INSERT INTO hosted_tenants (name, created_at) VALUES (?, ?)
       ON CONFLICT (tenant) DO UPDATE SET name = excluded.name
       RETURNING (xmax = 0) AS inserted`,
    )
    .get(name, nowIso()) as { inserted: number };
  return row.inserted === 1;
}

/** The session's tenant, if it was added. */
export function tenantRow(db: PgDatabase): TenantRow | undefined {
  return db.prepare(`SELECT tenant, name, created_at AS "createdAt" FROM hosted_tenants`).get() as TenantRow | undefined;
}

type Role = 'connection' | 'target';

/**
 * A tenant's connections and targets, read anew on every call like
 * config.json: a worker sees what `hosted connect` saved a moment ago.
 */
export class TenantConfig implements ConnectionCatalog {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  get tenant(): string {
    return this.#db.tenant;
  }

  connections(): ConnectionConfig[] {
    return this.#all('connection') as ConnectionConfig[];
  }

  connection(name: string): ConnectionConfig | undefined {
    return this.#one('connection', name) as ConnectionConfig | undefined;
  }

  targets(): TargetConfig[] {
    return this.#all('target') as TargetConfig[];
  }

  target(name: string): TargetConfig | undefined {
    return this.#one('target', name) as TargetConfig | undefined;
  }

  targetsOf(connection: ConnectionConfig, all: readonly TargetConfig[] = this.targets()): TargetConfig[] {
    return targetsFed(connection, all);
  }

  saveConnection(config: ConnectionConfig): void {
    this.#save('connection', config.name, config);
  }

  saveTarget(config: TargetConfig): void {
    this.#save('target', config.name, config);
  }

  /** The connection's rules as written (YAML or JSON), if it has any. */
  rulesText(name: string): string | undefined {
    const text = this.#db.prepare(`SELECT rules FROM hosted_configs WHERE name = ? AND role = 'connection'`).pluck().get(name) as string | null | undefined;
    return text ?? undefined;
  }

  #all(role: Role): unknown[] {
    return this.#db.prepare(`SELECT config FROM hosted_configs WHERE role = ? ORDER BY name`).pluck().all(role);
  }

  #one(role: Role, name: string): unknown {
    return this.#db.prepare(`SELECT config FROM hosted_configs WHERE role = ? AND name = ?`).pluck().get(role, name);
  }

  #save(role: Role, name: string, config: ConnectionConfig | TargetConfig): void {
    this.#db
      .prepare(
        `INSERT INTO hosted_configs (name, role, config, updated_at) VALUES (?, ?, ?::jsonb, ?)
         ON CONFLICT (tenant, name) DO UPDATE SET role = excluded.role, config = excluded.config, updated_at = excluded.updated_at`,
      )
      .run(name, role, JSON.stringify(config), nowIso());
  }
}

/** One secret field as sealed, or undefined when it is not set. */
export function readSealed(db: PgDatabase, owner: string, field: string): Sealed | undefined {
  return db
    .prepare(`SELECT key_id AS "keyId", iv, ciphertext, tag FROM hosted_secrets WHERE owner = ? AND field = ?`)
    .get(owner, field) as Sealed | undefined;
}

export function writeSealed(db: PgDatabase, owner: string, field: string, sealed: Sealed): void {
  db.prepare(
    `INSERT INTO hosted_secrets (owner, field, key_id, iv, ciphertext, tag, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant, owner, field) DO UPDATE SET key_id = excluded.key_id, iv = excluded.iv, ciphertext = excluded.ciphertext,
       tag = excluded.tag, updated_at = excluded.updated_at`,
  ).run(owner, field, sealed.keyId, sealed.iv, sealed.ciphertext, sealed.tag, nowIso());
}

export function deleteSealed(db: PgDatabase, owner: string, field: string): void {
  db.prepare(`DELETE FROM hosted_secrets WHERE owner = ? AND field = ?`).run(owner, field);
}

/** A round trip to the database, for a worker's /healthz. */
export function databaseAnswers(db: PgDatabase): boolean {
  return db.prepare(`SELECT 1`).pluck().get() === 1;
}
