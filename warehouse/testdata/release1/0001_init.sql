-- loyaltybridge schema v1: every table of CONTRACT.md.
-- Runs on ClickHouse 18.16 and on current releases: no DateTime64, Map,
-- JSON, Bool, CODEC, TTL or skipping indexes. Entity tables are
-- ReplacingMergeTree(ver): re-loading a record never duplicates it after
-- FINAL; the row with the highest ver (load time in ns) wins.
-- Statements are separated by a line ending in ';'. {db} is the database.

CREATE TABLE IF NOT EXISTS {db}.members (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    member_id String,
    name String,
    mobile String,
    email String,
    gender String,
    birthday String COMMENT 'YYYY-MM-DD text: Date cannot hold dates before 1970',
    level_id String,
    level_name String,
    level_priority Nullable(Int32) COMMENT 'from the level object; the only level data of the old bare-number format',
    point Int64,
    balance Nullable(Decimal(18, 2)),
    date_join Nullable(DateTime),
    last_updated Nullable(DateTime),
    custom_attrs String COMMENT 'JSON object of c_* and other non-standard keys',
    member_code String,
    customer_id String,
    date_created Nullable(DateTime),
    raw String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, member_id);

CREATE TABLE IF NOT EXISTS {db}.member_identities (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    member_id String,
    type String,
    value String,
    name String,
    raw String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, type, value);

CREATE TABLE IF NOT EXISTS {db}.points_ledger (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    entry_id String,
    member_id String,
    delta Int64 COMMENT 'signed: negative for a decrease',
    pattern String COMMENT 'vendor pattern with its direction, e.g. decr:2',
    pattern_name String,
    old_point Nullable(Int64),
    new_point Nullable(Int64),
    occurred_at Nullable(DateTime),
    remark String,
    entry_type String,
    external_id String,
    raw String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, member_id, entry_id);

CREATE TABLE IF NOT EXISTS {db}.experience_ledger (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    entry_id String,
    member_id String,
    delta Int64,
    old_exp Nullable(Int64),
    new_exp Nullable(Int64),
    occurred_at Nullable(DateTime),
    exp_type String,
    remark String,
    external_id String,
    raw String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, member_id, entry_id);

CREATE TABLE IF NOT EXISTS {db}.coupons (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    coupon_id String,
    name String,
    coupon_type String,
    valid_type String,
    start_date String,
    end_date String,
    raw String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, coupon_id);

CREATE TABLE IF NOT EXISTS {db}.member_coupons (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    coupon_code String,
    member_id String,
    coupon_id String,
    coupon_name String,
    status LowCardinality(String) COMMENT 'not_started, unused, used, expired, frozen, invalid, deleted, refunded, gifting, unknown',
    vendor_status String,
    starts_at Nullable(DateTime),
    ends_at Nullable(DateTime),
    drawn_at Nullable(DateTime),
    redeemed_at Nullable(DateTime),
    start_date String,
    end_date String,
    uuid String,
    raw String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, coupon_code);

CREATE TABLE IF NOT EXISTS {db}.levels (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    level_id String,
    name String,
    priority Int32,
    raw String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, level_id);

CREATE TABLE IF NOT EXISTS {db}.outbound_writes (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    write_id String,
    kind LowCardinality(String),
    idempotency_key String,
    state LowCardinality(String) COMMENT 'pending, succeeded, failed, dead',
    attempts UInt32,
    last_error String,
    request String,
    response String,
    created_at DateTime,
    updated_at DateTime
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, write_id);

CREATE TABLE IF NOT EXISTS {db}.sync_runs (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    run_id String,
    stream LowCardinality(String),
    mode LowCardinality(String),
    started_at DateTime,
    finished_at Nullable(DateTime),
    status LowCardinality(String) COMMENT 'running, succeeded, failed',
    pages UInt64,
    rows UInt64,
    requests UInt64,
    items UInt64,
    total UInt64,
    error String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, stream, run_id);

CREATE TABLE IF NOT EXISTS {db}.checkpoints (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    stream LowCardinality(String),
    partition String COMMENT '"" = committed incremental cursor; "run" = position of the run in progress',
    cursor String,
    run_id String,
    mode String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, stream, partition);

-- Internal: the (last_updated, point) of each member when a per-member
-- stream last read it. An incremental pass re-reads only the members whose
-- row in `members` differs from this snapshot (or who have none).
CREATE TABLE IF NOT EXISTS {db}.member_sync_state (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    stream LowCardinality(String),
    member_id String,
    last_updated Nullable(DateTime),
    point Int64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, stream, member_id);
