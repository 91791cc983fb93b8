-- A vendor record that could not be decoded or stored: the run went on
-- without it (CONTRACT.md). record_key is the vendor's id when the record
-- has one, else "sha256:" and the hex digest of raw, so a replayed task
-- stores the same rejection once after FINAL.
CREATE TABLE IF NOT EXISTS {db}.rejected_records (
    source LowCardinality(String),
    synced_at DateTime,
    ver UInt64,
    stream LowCardinality(String),
    record_key String,
    raw String,
    error String
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (source, stream, record_key);
