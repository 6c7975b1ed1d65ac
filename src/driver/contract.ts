import type { HttpClient } from '../http/client.js';
import type { SqlServerConfig, SqlSession } from './sql.js';

/**
 * The contract between the engine and an ERP driver.
 *
 * A driver is one file in drivers/ exporting one object that `satisfies Driver`.
 * It knows the ERP's API and nothing else: it never touches SQLite, the
 * marketplace or the terminal. The engine gives it a context (settings,
 * secrets, an HTTP client bound to the ERP's base URL with rate limiting and
 * retries, a way to open a read-only session on the ERP's SQL Server) and
 * consumes its pages.
 */
export interface Driver {
  /** Stable identifier used on the command line and in the config: `entegra`. */
  readonly id: string;
  /** Display name: `Entegra`, `Paraşüt`. */
  readonly name: string;
  /** Every credential and setting the driver needs. `baseUrl` is always implied. */
  readonly fields: readonly FieldSpec[];
  /** The vendor's public API address; connections may override it (on-premise, tests). */
  readonly defaultBaseUrl?: string;
  /**
   * True for drivers that need no base URL: they read a local file (csv) or
   * the ERP's SQL Server, whose address is among their own fields (logo,
   * netsis, mikro). A driver whose REST access is one mode among others
   * declares its own `baseUrl` field for that mode.
   */
  readonly local?: boolean;
  /** The ERP's documented rate limit, used unless the connection sets `rateLimit`. */
  readonly rateLimit?: RateLimit;
  /**
   * The non-secret fields that name the account the ERP counts requests
   * against at its address (Paraşüt's `companyId`, Entegra's `email`); empty
   * when the address alone names it (Sentos gives every tenant its own). In
   * hosted mode, every connection to the same account shares one rate limit
   * across the fleet. Without it, each connection keeps its own.
   */
  readonly account?: readonly string[];
  /** Default number of pages fetched at once, where the driver can fetch pages in parallel. */
  readonly defaultConcurrency?: number;
  /**
   * Checks that the ERP answers and accepts the credentials. Throws a
   * `DriverError` whose message a merchant understands ("wrong password",
   * "unknown company id").
   */
  testConnection(ctx: DriverContext): Promise<void>;
  /**
   * Yields the catalog page by page as raw ERP records. Returning normally
   * means the pull is complete; throwing means it is not, and the engine then
   * marks nothing as vanished.
   */
  pullPages(ctx: DriverContext): AsyncIterable<RawPage>;
  /**
   * Maps one raw record (variants included) to zero or more product
   * candidates. Pure: no I/O. Values stay as the ERP sent them where the
   * engine's validator can read them (decimal strings, numbers, `TRL`).
   */
  mapRecord(record: unknown, ctx: MapContext): ProductCandidate[];
}

/** A field's one line of help, English and Turkish. */
export interface FieldHelp {
  readonly en: string;
  readonly tr: string;
}

export interface FieldSpec {
  readonly name: string;
  /** English label, shown in prompts and `erp-sync drivers`. */
  readonly label: string;
  /** Turkish label. */
  readonly labelTr: string;
  readonly secret: boolean;
  readonly required: boolean;
  /**
   * Kept by erp-sync itself, never asked for: a refresh token the ERP rotates
   * (Paraşüt) is read from and written back to the secret store.
   */
  readonly managed?: boolean;
  /** False for an optional extra that the terminal prompts leave out: it is given with --secret-file or the environment. */
  readonly prompted?: boolean;
  /** What a valid value looks like, for prompts and validation. */
  readonly kind?: 'text' | 'url' | 'email' | 'integer' | 'path' | 'choice';
  readonly choices?: readonly string[];
  readonly default?: string;
  /** One line of help, in each language the prompts speak. */
  readonly help?: FieldHelp;
  /**
   * Asked for only when another field has this value (`accessMode` is
   * `rest`): the prompts leave it out otherwise. Such a field is not
   * `required`; the driver names it when the mode it belongs to lacks it.
   */
  readonly onlyWhen?: { readonly field: string; readonly equals: string };
}

export interface RateLimit {
  /** At most this many requests ... */
  readonly requests: number;
  /** ... in any window of this many milliseconds. */
  readonly perMs: number;
}

export interface MapContext {
  /** Non-secret settings of the connection, as strings (from `--set field=value`). */
  readonly settings: Readonly<Record<string, string>>;
}

export interface DriverContext extends MapContext {
  /** The connection's name, for messages. */
  readonly connection: string;
  /** The resolved base URL (override or `defaultBaseUrl`); empty for a local driver that has none. */
  readonly baseUrl: string;
  /** Secret values, read from the connection's secret store at run time. */
  readonly secrets: Readonly<Record<string, string>>;
  /** HTTP client bound to `baseUrl`: keep-alive, rate limit, retries for transient failures. */
  readonly http: HttpClient;
  /**
   * Opens a read-only session on the ERP's SQL Server, with the connection's
   * retries and its timeout (`timeoutMs`) as the statement timeout. The
   * session is closed with the context. Tests give a fake executor instead
   * of mssql (see `createDriverContext`).
   */
  openSql(config: Omit<SqlServerConfig, 'timeoutMs'>, options?: { missingObjectHint?(object: string): string | undefined }): SqlSession;
  /** Pages fetched at once where the driver knows the page count. */
  readonly concurrency: number;
  readonly signal: AbortSignal;
  /** Writes back a secret the ERP rotated (Paraşüt's refresh token) to the same store. */
  saveSecret(field: string, value: string): Promise<void>;
  /** A non-fatal observation about the pull ("ERP reported 120 products but sent 118"). */
  warn(message: string): void;
}

export interface RawPage {
  /** Raw ERP records, each handed to `mapRecord`. */
  readonly records: readonly unknown[];
}

/**
 * What a driver hands the engine for one sellable item. The engine validates
 * and normalizes it (see src/engine/validate.ts); drivers should not reject
 * anything themselves, so every problem is reported the same way.
 */
export interface ProductCandidate {
  barcode?: string | number | null;
  sku?: string | number | null;
  name?: string | null;
  /** A decimal string in plain notation (`"1249.90"`) or a JSON number. Never do arithmetic on it in a driver. */
  price?: string | number | null;
  /** As the ERP spells it: `TRY`, `TRL`, `TL`, `USD`... */
  currency?: string | null;
  /** Percent: `20`, `"10"`. */
  vatRate?: string | number | null;
  priceIncludesVat?: boolean | null;
  stock?: string | number | null;
  active?: boolean | null;
  /** Brand and category, for scope rules and support. */
  brand?: string | null;
  category?: string | null;
}

/** A failure the merchant can act on: wrong password, unknown company, malformed answer. */
export class DriverError extends Error {
  readonly code: DriverErrorCode;
  readonly hint: string | undefined;
  constructor(code: DriverErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'DriverError';
    this.code = code;
    this.hint = options.hint;
  }
}

export type DriverErrorCode =
  /** The ERP rejected the credentials. */
  | 'CREDENTIALS_REJECTED'
  /** A setting is missing or wrong (unknown company id, unknown warehouse). */
  | 'CONFIGURATION'
  /** The ERP answered something the driver cannot read. */
  | 'MALFORMED_RESPONSE'
  /** The ERP said the catalog has N items but the pages held fewer. */
  | 'INCOMPLETE_PULL'
  /**
   * The ERP could not be reached or did not answer in time, where no HTTP
   * status says so (a database): worth another try, now or at the next run.
   */
  | 'UNAVAILABLE';
