-- report_screening_trend: the fraud screening over the published snapshots up to T: lines at watch
--   and suspect on each night.
-- grain: one row per published snapshot of the screening table up to T, oldest first.
-- inputs: screening (published, every snapshot); $as_of = T
-- columns:
--   snapshot  Utf8View  the snapshot date, YYYY-MM-DD
--   watch     Int64     lines in service at that snapshot at screening level watch
--   suspect   Int64     lines at screening level suspect
--   lines     Int64     lines screened
WITH counted AS (
    SELECT
        snapshot_date,
        count(*) FILTER (WHERE screening_level = 'watch') AS watch,
        count(*) FILTER (WHERE screening_level = 'suspect') AS suspect,
        count(*) AS lines
    FROM screening
    WHERE snapshot_date <= $as_of
    GROUP BY snapshot_date
)

SELECT
    CAST(snapshot_date AS VARCHAR) AS snapshot,
    watch,
    suspect,
    lines
FROM counted
ORDER BY snapshot_date
