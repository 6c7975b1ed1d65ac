import type { PgDatabase } from '../store/pg.js';
import { deleteSealed, readSealed, writeSealed } from '../store/tenants.js';
import type { Envelope } from './envelope.js';
import { registerSecret } from './redact.js';
import type { SecretStore } from './store.js';

/**
 * Hosted mode's secret store: one tenant's secrets, each sealed on its own
 * (`envelope.ts`) in PostgreSQL, on that tenant's session. Values are opened
 * only when a run or a connection test reads them, and are registered for
 * redaction as they are.
 */
export class DatabaseSecretStore implements SecretStore {
  readonly kind = 'database' as const;
  readonly #db: PgDatabase;
  readonly #envelope: Envelope;

  constructor(db: PgDatabase, envelope: Envelope) {
    this.#db = db;
    this.#envelope = envelope;
  }

  /** The master key new values are sealed under. */
  get keyId(): string {
    return this.#envelope.keyId;
  }

  async get(owner: string, field: string): Promise<string | undefined> {
    const sealed = readSealed(this.#db, owner, field);
    if (!sealed) return undefined;
    const value = await this.#envelope.open(sealed, { tenant: this.#db.tenant, owner, field });
    registerSecret(value);
    return value;
  }

  async set(owner: string, field: string, value: string): Promise<void> {
    registerSecret(value);
    writeSealed(this.#db, owner, field, await this.#envelope.seal(value, { tenant: this.#db.tenant, owner, field }));
  }

  async delete(owner: string, field: string): Promise<void> {
    deleteSealed(this.#db, owner, field);
  }

  async unavailableReason(): Promise<string | undefined> {
    return undefined;
  }
}
