-- Pushed events (issue 13): DM Hub webhooks received by `serve` at
-- POST /v1/webhooks/{source}. One row per event and version:
--   ver 1   the event as received, inserted before the HTTP 200 (durable
--           before acknowledged); processed_at NULL, outcome '';
--   ver > 1 (the processing time in ns) the same event once the worker
--           handled it: processed_at and outcome set (applied,
--           unknown_type, invalid, not_found).
-- The key is (source, event_id): event_id is the payload's own event id
-- when it has one, else "sha256:" and the SHA-256 of the compacted payload,
-- so a redelivered event (the vendor retries about every 30 minutes, up to
-- 3 times) is one row after FINAL, and a redelivery that arrives after
-- processing (ver 1 again) never hides the processed version.
-- Secrets never land here: payload is the vendor's body, without headers.
CREATE TABLE IF NOT EXISTS {db}.webhook_events (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    event_id String,
    event_type LowCardinality(String),
    member_id String,
    coupon_code String,
    coupon_id String,
    payload String,
    received_at DateTime,
    processed_at Nullable(DateTime),
    outcome LowCardinality(String),
    error String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, event_id);

-- One row per event, its newest version (CONTRACT.md: <table>_latest).
CREATE VIEW IF NOT EXISTS {db}.webhook_events_latest AS SELECT * FROM {db}.webhook_events FINAL;
