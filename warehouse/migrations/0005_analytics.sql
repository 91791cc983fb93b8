-- h10-analysts (issue 12): the freshness view and reconcile_runs.
-- Valid on ClickHouse 18.16 and on current releases: one JOIN per SELECT
-- (18.16 has no multiple joins), no CTEs, no window functions; every
-- statement runs through the same ON CLUSTER rewrite as the others.

-- One row per `loyaltybridge reconcile` check: a run (run_id) checks one
-- or more streams of a source; checked is how many comparisons the stream
-- made (lists, members), drifted how many disagreed, detail the drift per
-- list or member as a JSON array of {"key","check","warehouse","vendor"}.
-- A plain MergeTree: every run is kept, one row per (run, stream).
CREATE TABLE IF NOT EXISTS {db}.reconcile_runs (
    source LowCardinality(String),
    synced_at DateTime,
    run_id String,
    stream LowCardinality(String),
    started_at DateTime,
    finished_at DateTime,
    sample UInt64 COMMENT 'members sampled (0: every member)',
    checked UInt64,
    drifted UInt64,
    status LowCardinality(String) COMMENT 'ok, drift, skipped, failed',
    detail String COMMENT 'JSON array of {key, check, warehouse, vendor}',
    error String
) ENGINE = MergeTree
ORDER BY (source, stream, started_at, run_id);

-- Per source and stream (every stream that has run at least once): the
-- last successful run, the newest record time of the stream's table
-- (docs/analytics.md says which column), the lag (now - newest record
-- time, seconds; NULL when the stream's records carry no vendor time),
-- and the rejected records stored since the last successful run started.
CREATE VIEW IF NOT EXISTS {db}.freshness AS
SELECT
    source,
    stream,
    last_success_at,
    last_success_run,
    last_run_at,
    last_run_status,
    newest_record_at,
    newest_record_column,
    newest_synced_at,
    if(isNull(newest_record_at), CAST(NULL AS Nullable(Int64)), toInt64(now()) - toInt64(assumeNotNull(newest_record_at))) AS lag_seconds,
    rejected_since_success
FROM
(
    SELECT
        source, stream, last_success_at, last_success_run, last_run_at, last_run_status, last_success_started,
        newest_record_at, newest_record_column, newest_synced_at
    FROM
    (
        SELECT
            source,
            stream,
            if(countIf(status = 'succeeded') = 0, CAST(NULL AS Nullable(DateTime)), maxIf(assumeNotNull(finished_at), status = 'succeeded')) AS last_success_at,
            argMaxIf(run_id, started_at, status = 'succeeded') AS last_success_run,
            maxIf(started_at, status = 'succeeded') AS last_success_started,
            max(started_at) AS last_run_at,
            argMax(status, started_at) AS last_run_status
        FROM {db}.sync_runs FINAL
        GROUP BY source, stream
    )
    ANY LEFT JOIN
    (
        SELECT source, stream, max(t) AS newest_record_at, any(col) AS newest_record_column, max(s) AS newest_synced_at
        FROM
        (
            SELECT source, 'members' AS stream, last_updated AS t, 'members.last_updated' AS col, synced_at AS s FROM {db}.members WHERE is_deleted = 0
            UNION ALL
            SELECT source, 'identities' AS stream, CAST(NULL AS Nullable(DateTime)) AS t, '' AS col, synced_at AS s FROM {db}.member_identities WHERE is_deleted = 0
            UNION ALL
            SELECT source, 'points' AS stream, occurred_at AS t, 'points_ledger.occurred_at' AS col, synced_at AS s FROM {db}.points_ledger
            UNION ALL
            SELECT source, 'experience' AS stream, occurred_at AS t, 'experience_ledger.occurred_at' AS col, synced_at AS s FROM {db}.experience_ledger
            UNION ALL
            SELECT source, 'coupons' AS stream, CAST(NULL AS Nullable(DateTime)) AS t, '' AS col, synced_at AS s FROM {db}.coupons
            UNION ALL
            SELECT source, 'member_coupons' AS stream, if(isNull(redeemed_at) OR redeemed_at < drawn_at, drawn_at, redeemed_at) AS t, 'member_coupons.drawn_at/redeemed_at' AS col, synced_at AS s FROM {db}.member_coupons WHERE is_deleted = 0
            UNION ALL
            SELECT source, 'levels' AS stream, CAST(NULL AS Nullable(DateTime)) AS t, '' AS col, synced_at AS s FROM {db}.levels
        )
        GROUP BY source, stream
    ) USING (source, stream)
)
ANY LEFT JOIN
(
    SELECT source, stream, countIf(synced_at >= last_success_started) AS rejected_since_success
    FROM
    (
        SELECT source, stream, synced_at FROM {db}.rejected_records FINAL
    )
    ANY LEFT JOIN
    (
        SELECT source, stream, maxIf(started_at, status = 'succeeded') AS last_success_started
        FROM {db}.sync_runs FINAL
        GROUP BY source, stream
    ) USING (source, stream)
    GROUP BY source, stream
) USING (source, stream);
