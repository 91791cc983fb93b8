-- h3-data: deletions, the pattern number, O(N) key listing, *_latest views.
-- Upgrades a database of the previous release in place. ClickHouse 18.16
-- has no ADD COLUMN IF NOT EXISTS: the migrate runner treats exception
-- code 44 (15 on current releases: "column already exists") as done, so every statement here may
-- run again.

-- 1 when a complete full scan of the list no longer saw the row (a newer
-- version, a tombstone, is inserted; a row that reappears is loaded again
-- with is_deleted = 0 and a newer ver). docs/normalization.md §9.
ALTER TABLE {db}.members ADD COLUMN is_deleted UInt8 DEFAULT 0;
ALTER TABLE {db}.member_coupons ADD COLUMN is_deleted UInt8 DEFAULT 0;
ALTER TABLE {db}.member_identities ADD COLUMN is_deleted UInt8 DEFAULT 0;

-- points_ledger.pattern is the vendor's pattern number; the direction is
-- the sign of delta. The previous release wrote "incr:2" / "decr:2"
-- (DM Hub), "incr:<sub_type>" / "decr:<sub_type>" / "type:<t>[:<sub_type>]"
-- (zvcms): strip the prefix in place (a mutation; it runs in the
-- background and matches nothing once done).
ALTER TABLE {db}.points_ledger UPDATE pattern = replaceRegexpOne(pattern, '^(incr|decr|type:[^:]*)(:|$)', '') WHERE match(pattern, '^(incr|decr|type:[^:]*)(:|$)');

-- Internal: a numbered snapshot of a key list (member_keys from a source
-- or a query, members to read), so a pass pages it by (snap, n) ranges:
-- O(N) ClickHouse work per run instead of a DISTINCT over the whole
-- members table per batch. One partition per snapshot, dropped when the
-- pass ends (or when older than two days).
CREATE TABLE IF NOT EXISTS {db}.key_snapshots (
    snap String,
    n UInt64,
    k String,
    a Nullable(DateTime) COMMENT 'members snapshot: last_updated',
    b Int64 COMMENT 'members snapshot: point',
    created DateTime
) ENGINE = MergeTree
PARTITION BY snap
ORDER BY (snap, n)
SETTINGS index_granularity = 64;

-- One row per key, the newest version, deleted rows left out (CONTRACT.md).
-- is_deleted is tested outside FINAL: a condition moved to PREWHERE would
-- drop a tombstone before the merge and revive the version it replaced.
CREATE VIEW IF NOT EXISTS {db}.members_latest AS SELECT * FROM (SELECT * FROM {db}.members FINAL) WHERE is_deleted = 0;
CREATE VIEW IF NOT EXISTS {db}.member_coupons_latest AS SELECT * FROM (SELECT * FROM {db}.member_coupons FINAL) WHERE is_deleted = 0;
CREATE VIEW IF NOT EXISTS {db}.member_identities_latest AS SELECT * FROM (SELECT * FROM {db}.member_identities FINAL) WHERE is_deleted = 0;
CREATE VIEW IF NOT EXISTS {db}.points_ledger_latest AS SELECT * FROM {db}.points_ledger FINAL;
CREATE VIEW IF NOT EXISTS {db}.experience_ledger_latest AS SELECT * FROM {db}.experience_ledger FINAL;
CREATE VIEW IF NOT EXISTS {db}.coupons_latest AS SELECT * FROM {db}.coupons FINAL;
CREATE VIEW IF NOT EXISTS {db}.levels_latest AS SELECT * FROM {db}.levels FINAL;
