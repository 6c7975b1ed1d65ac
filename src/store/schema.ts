/**
 * The database schema, as numbered migrations applied in order inside one
 * transaction each. Never edit a shipped migration: add the next one.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    connection TEXT NOT NULL,
    driver TEXT NOT NULL,
    status TEXT NOT NULL,
    dry_run INTEGER NOT NULL DEFAULT 0,
    resync INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    pull_complete INTEGER NOT NULL DEFAULT 0,
    pulled INTEGER NOT NULL DEFAULT 0,
    invalid INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    vanished INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    pushed INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    pending_approval INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    erp_requests INTEGER NOT NULL DEFAULT 0,
    push_requests INTEGER NOT NULL DEFAULT 0,
    push_bytes INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    error_code TEXT,
    error_message TEXT,
    pid INTEGER
  );
  CREATE INDEX runs_by_connection ON runs (connection, id);

  -- The latest pull of each connection: replaced by every run, read by the diff.
  CREATE TABLE staging (
    connection TEXT NOT NULL,
    barcode TEXT NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    price TEXT,
    currency TEXT,
    vat_rate TEXT,
    price_includes_vat INTEGER,
    stock INTEGER,
    active INTEGER,
    hash TEXT,
    valid INTEGER NOT NULL,
    error_code TEXT,
    PRIMARY KEY (connection, barcode)
  ) WITHOUT ROWID;

  -- What the marketplace has acknowledged, per offer: the content hash and its answer.
  CREATE TABLE snapshot (
    connection TEXT NOT NULL,
    barcode TEXT NOT NULL,
    hash TEXT NOT NULL,
    status TEXT NOT NULL,
    offer_id TEXT,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    price TEXT NOT NULL,
    currency TEXT NOT NULL,
    vat_rate TEXT NOT NULL,
    price_includes_vat INTEGER NOT NULL,
    stock INTEGER NOT NULL,
    active INTEGER NOT NULL,
    error_code TEXT,
    error_message TEXT,
    acked_at TEXT NOT NULL,
    run_id INTEGER,
    PRIMARY KEY (connection, barcode)
  ) WITHOUT ROWID;

  -- Batches written before they are sent and deleted in the transaction that
  -- records their answer: a crash between the two replays the same batch,
  -- with the same Idempotency-Key, on the next run.
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    connection TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    offers INTEGER NOT NULL,
    body TEXT NOT NULL,
    kinds TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
  );
  CREATE INDEX outbox_by_connection ON outbox (connection, id);

  -- Item events: every acknowledgement, failure, invalid product and warning.
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    connection TEXT NOT NULL,
    at TEXT NOT NULL,
    barcode TEXT,
    sku TEXT,
    name TEXT,
    stage TEXT NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT,
    message TEXT,
    detail TEXT
  );
  CREATE INDEX events_by_run ON events (run_id);
  CREATE INDEX events_by_item ON events (connection, barcode, id);

  -- The latest outcome of each item, so a problem that persists is logged once
  -- and "still failing" is one lookup.
  CREATE TABLE item_state (
    connection TEXT NOT NULL,
    item TEXT NOT NULL,
    barcode TEXT,
    sku TEXT,
    name TEXT,
    outcome TEXT NOT NULL,
    code TEXT,
    message TEXT,
    run_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (connection, item)
  ) WITHOUT ROWID;
  `,
  `
  -- The ERP's record as it arrived, for \`explain\` (rules and normalization are recomputed from
  -- it); written when the product's content changes, so an unchanged rerun does not rewrite it.
  -- A table of its own keeps staging's rows small, so the per-product lookups of a run stay in cache.
  CREATE TABLE staging_raw (
    connection TEXT NOT NULL,
    barcode TEXT NOT NULL,
    raw TEXT NOT NULL,
    PRIMARY KEY (connection, barcode)
  ) WITHOUT ROWID;
  -- The latest warning of an item, apart from its outcome: a warning (a rounded price) must not
  -- hide that the offer was rejected, and a warning that persists is logged once.
  ALTER TABLE item_state ADD COLUMN warning TEXT;
  -- Item events by time, for logs --since.
  CREATE INDEX events_by_at ON events (at);

  -- One row per incident (failing runs, rejected credentials, a safety stop, no recent sync),
  -- open until the connection recovers; webhooks are sent once on open and once on close.
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    connection TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    closed_at TEXT,
    run_id INTEGER,
    notified_open_at TEXT,
    notified_close_at TEXT,
    detail TEXT
  );
  CREATE INDEX alerts_by_connection ON alerts (connection, closed_at);
  `,
  `
  -- Webhook delivery of alerts: a lease so two processes (a timer's run and the web page)
  -- never send the same notification twice, and what the last attempt met.
  ALTER TABLE alerts ADD COLUMN notify_lease_until TEXT;
  ALTER TABLE alerts ADD COLUMN notify_attempts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE alerts ADD COLUMN notify_error TEXT;
  `,
  `
  -- The offers of each batch in the outbox, one row each: the content it carries and the
  -- acknowledged state it replaces. A replay checks every offer against what is newer for the
  -- same barcode before anything is sent, and the diff leaves out barcodes still in a batch.
  CREATE TABLE outbox_items (
    outbox_id INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    connection TEXT NOT NULL,
    barcode TEXT NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    previous TEXT,
    PRIMARY KEY (outbox_id, position)
  ) WITHOUT ROWID;
  CREATE INDEX outbox_items_by_barcode ON outbox_items (connection, barcode);
  INSERT INTO outbox_items (outbox_id, position, connection, barcode, kind, hash, previous)
    SELECT o.id, b.key, o.connection, json_extract(b.value, '$.barcode'), json_extract(k.value, '$.kind'),
           json_extract(k.value, '$.hash'), json_extract(k.value, '$.previous')
      FROM outbox o, json_each(o.body, '$.offers') b, json_each(o.kinds) k
     WHERE k.key = b.key;
  ALTER TABLE outbox DROP COLUMN kinds;

  -- Offers the marketplace failed to take when they stood alone (or left out of its answer),
  -- counted across runs for the content that failed: a change in the ERP starts the count over.
  -- Parked after the marketplace's maxAttempts: a dead letter, sent again when it changes or
  -- when \`erp-sync retry\` asks. Deleted by the offer's next acknowledgement.
  CREATE TABLE delivery_failures (
    connection TEXT NOT NULL,
    barcode TEXT NOT NULL,
    hash TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    code TEXT,
    message TEXT,
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    parked_at TEXT,
    run_id INTEGER,
    PRIMARY KEY (connection, barcode)
  ) WITHOUT ROWID;

  -- Dead letters at the end of each run, and what the run warned about (non-UTF-8 bytes, a short pull).
  ALTER TABLE runs ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE runs ADD COLUMN warnings TEXT;
  `,
  `
  -- Targets: every marketplace an ERP connection feeds keeps its own snapshot (what that
  -- marketplace acknowledged), outbox, delivery failures and item states. What was there before
  -- belongs to the offer API, the first target, named "marketplace": nothing is sent again.
  -- \`base\` is the content hash of the staged product an acknowledged offer was made from; \`hash\`
  -- is the hash of what this marketplace received (its own fields, after its own rules).
  CREATE TABLE snapshot_by_target (
    connection TEXT NOT NULL,
    target TEXT NOT NULL,
    barcode TEXT NOT NULL,
    base TEXT,
    hash TEXT NOT NULL,
    status TEXT NOT NULL,
    offer_id TEXT,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    price TEXT NOT NULL,
    currency TEXT NOT NULL,
    vat_rate TEXT NOT NULL,
    price_includes_vat INTEGER NOT NULL,
    stock INTEGER NOT NULL,
    active INTEGER NOT NULL,
    error_code TEXT,
    error_message TEXT,
    acked_at TEXT NOT NULL,
    run_id INTEGER,
    PRIMARY KEY (connection, target, barcode)
  ) WITHOUT ROWID;
  INSERT INTO snapshot_by_target
    SELECT connection, 'marketplace', barcode, hash, hash, status, offer_id, sku, name, price, currency, vat_rate, price_includes_vat,
           stock, active, error_code, error_message, acked_at, run_id
      FROM snapshot;
  DROP TABLE snapshot;
  ALTER TABLE snapshot_by_target RENAME TO snapshot;

  -- An asynchronous marketplace answers a submission with an id (\`ticket\`) and the per-item
  -- results later. \`submitted_at\` is written before the request leaves: a batch with it and no
  -- ticket may have been queued, and is settled by reading the marketplace's values.
  ALTER TABLE outbox ADD COLUMN target TEXT NOT NULL DEFAULT 'marketplace';
  ALTER TABLE outbox ADD COLUMN submitted_at TEXT;
  ALTER TABLE outbox ADD COLUMN ticket TEXT;
  DROP INDEX outbox_by_connection;
  CREATE INDEX outbox_by_target ON outbox (connection, target, id);
  ALTER TABLE outbox_items ADD COLUMN target TEXT NOT NULL DEFAULT 'marketplace';
  ALTER TABLE outbox_items ADD COLUMN base TEXT;
  UPDATE outbox_items SET base = hash WHERE kind <> 'vanished';
  DROP INDEX outbox_items_by_barcode;
  CREATE INDEX outbox_items_by_barcode ON outbox_items (connection, target, barcode);

  CREATE TABLE delivery_failures_by_target (
    connection TEXT NOT NULL,
    target TEXT NOT NULL,
    barcode TEXT NOT NULL,
    hash TEXT NOT NULL,
    base TEXT,
    attempts INTEGER NOT NULL,
    code TEXT,
    message TEXT,
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    parked_at TEXT,
    run_id INTEGER,
    PRIMARY KEY (connection, target, barcode)
  ) WITHOUT ROWID;
  INSERT INTO delivery_failures_by_target
    SELECT connection, 'marketplace', f.barcode, f.hash,
           CASE WHEN EXISTS (SELECT 1 FROM snapshot p WHERE p.connection = f.connection AND p.barcode = f.barcode AND p.active = 0 AND p.stock = 0)
                 OR NOT EXISTS (SELECT 1 FROM staging s WHERE s.connection = f.connection AND s.barcode = f.barcode) THEN NULL ELSE f.hash END,
           attempts, code, message, first_failed_at, last_failed_at, parked_at, run_id
      FROM delivery_failures f;
  DROP TABLE delivery_failures;
  ALTER TABLE delivery_failures_by_target RENAME TO delivery_failures;

  -- Item events and states of a delivery name their target; those of the pull ('') do not.
  ALTER TABLE events ADD COLUMN target TEXT NOT NULL DEFAULT '';
  UPDATE events SET target = 'marketplace' WHERE stage = 'push';
  CREATE TABLE item_state_by_target (
    connection TEXT NOT NULL,
    target TEXT NOT NULL,
    item TEXT NOT NULL,
    barcode TEXT,
    sku TEXT,
    name TEXT,
    outcome TEXT NOT NULL,
    code TEXT,
    message TEXT,
    run_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    warning TEXT,
    PRIMARY KEY (connection, target, item)
  ) WITHOUT ROWID;
  INSERT INTO item_state_by_target
    SELECT connection, CASE WHEN outcome IN ('invalid', 'warning') THEN '' ELSE 'marketplace' END, item, barcode, sku, name, outcome, code,
           message, run_id, at, CASE WHEN outcome = 'warning' THEN warning END
      FROM item_state;
  INSERT INTO item_state_by_target
    SELECT connection, '', item, barcode, sku, name, 'warning', NULL, NULL, run_id, at, warning
      FROM item_state WHERE warning IS NOT NULL AND outcome NOT IN ('invalid', 'warning');
  DROP TABLE item_state;
  ALTER TABLE item_state_by_target RENAME TO item_state;
  CREATE INDEX item_state_by_item ON item_state (connection, item);

  -- What each run did for each target, beside the run's sums.
  CREATE TABLE run_targets (
    run_id INTEGER NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    new INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    vanished INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    submitted INTEGER NOT NULL DEFAULT 0,
    pushed INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    pending_approval INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    not_listed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    awaiting INTEGER NOT NULL DEFAULT 0,
    parked INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER,
    error_code TEXT,
    error_message TEXT,
    PRIMARY KEY (run_id, target)
  ) WITHOUT ROWID;
  ALTER TABLE runs ADD COLUMN not_listed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE runs ADD COLUMN awaiting INTEGER NOT NULL DEFAULT 0;

  -- Each target's rules, as last applied: a change makes every offer of the target due for comparison.
  CREATE TABLE target_rules (
    connection TEXT NOT NULL,
    target TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (connection, target)
  ) WITHOUT ROWID;
  `,
  `
  -- What status and the web page count: the few problems and unanswered offers among a catalog's
  -- offers, read from these alone (each holds every column its count reads) instead of every offer.
  CREATE INDEX item_state_problems ON item_state (connection, outcome, target, barcode)
    WHERE outcome IN ('failed', 'rejected', 'not_listed', 'invalid');
  CREATE INDEX snapshot_pending_approval ON snapshot (connection, status, target) WHERE status = 'pending_approval';
  CREATE INDEX snapshot_not_listed ON snapshot (connection, status, target) WHERE status = 'not_listed';
  `,
];
