-- Outbound writes (issue 10): the append-only log of every write's
-- transitions. One row per transition; ver is the write's transition number
-- (1 = accepted), monotonic per write and independent of the clock.
-- Each row is a full snapshot, so the latest row of a write (argMax by ver)
-- is its state. order_no and seq (the intake order: nanoseconds since the
-- epoch at intake) serve the per-order ordering; maybe_applied is 1 once
-- an attempt may have reached the vendor without a definite answer.
CREATE TABLE IF NOT EXISTS {db}.outbound_events (
    source LowCardinality(String),
    synced_at DateTime,
    write_id String,
    ver UInt64,
    event LowCardinality(String),
    kind LowCardinality(String),
    idempotency_key String,
    order_no String,
    seq UInt64,
    state LowCardinality(String),
    attempts UInt32,
    maybe_applied UInt8,
    next_at DateTime,
    last_error String,
    request String,
    response String,
    created_at DateTime,
    updated_at DateTime
) ENGINE = MergeTree
ORDER BY (source, write_id, ver);

-- outbound_writes (0001) is the latest state of each write: every event
-- row lands there too, in the same INSERT, and ReplacingMergeTree(ver)
-- keeps the newest.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.outbound_writes_from_events TO {db}.outbound_writes AS
SELECT source, synced_at, ver, write_id, kind, idempotency_key, state, attempts, last_error, request, response,
       created_at, updated_at
FROM {db}.outbound_events;

-- The writes of each order in intake order (the accepted event of every
-- write that has an orderNo), for the per-order ordering checks.
CREATE TABLE IF NOT EXISTS {db}.outbound_orders (
    source LowCardinality(String),
    synced_at DateTime,
    order_no String,
    seq UInt64,
    write_id String,
    kind LowCardinality(String)
) ENGINE = ReplacingMergeTree
ORDER BY (source, order_no, seq, write_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.outbound_orders_from_events TO {db}.outbound_orders AS
SELECT source, synced_at, order_no, seq, write_id, kind
FROM {db}.outbound_events
WHERE event = 'accepted' AND order_no != '';
