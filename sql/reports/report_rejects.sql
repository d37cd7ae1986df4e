-- report_rejects: rejected input rows of snapshot T by source and rule, the most frequent first.
-- grain: one row per source and rule with a rejected row.
-- inputs: rejects (published); $as_of = T
-- columns:
--   source  Utf8   the input source
--   rule    Utf8   the rule the rows broke
--   n       Int64  rows rejected
SELECT source, rule, count(*) AS n
FROM rejects
WHERE snapshot_date = $as_of
GROUP BY 1, 2
ORDER BY 3 DESC, 1, 2
