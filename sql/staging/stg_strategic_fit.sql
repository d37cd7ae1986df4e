-- stg_strategic_fit: strategic-fit scores per subscriber or per segment.
-- grain: one row per score as extracted (a subscriber's own score, or a segment's).
-- inputs: raw_strategic_fit; the staged subscribers' ids (cvm_known_subscriber, the subscriber rule)
-- rejects: subscriber_id_or_segment_missing, score_missing, score_invalid (not a number
--   in [0, 1]), unknown_subscriber (only when a subscriber_id is given).
-- columns:
--   subscriber_id  Utf8     the subscriber scored; null for a segment's score
--   segment        Utf8     the segment scored; used when the subscriber has no own score
--   score          Float64  strategic fit in [0, 1]
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record (never msisdn)
        named_struct(
            'subscriber_id', r.subscriber_id,
            'segment', r.segment,
            'score', r.score
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        r.segment,
        r.score AS score_text,
        TRY_CAST(r.score AS DOUBLE) AS score,
        cvm_known_subscriber(r.subscriber_id) AS subscriber_known
    FROM raw_strategic_fit AS r
),

judged AS (
    SELECT
        _file,
        _row,
        _raw,
        _as_read,
        CASE
            WHEN _parse_error IS NOT NULL THEN _parse_error
            WHEN subscriber_id IS NULL AND segment IS NULL THEN 'subscriber_id_or_segment_missing'
            WHEN score_text IS NULL THEN 'score_missing'
            WHEN score IS NULL OR NOT (score BETWEEN 0 AND 1) THEN 'score_invalid'
            WHEN subscriber_id IS NOT NULL AND NOT subscriber_known THEN 'unknown_subscriber'
        END AS _reject_rule,
        '' AS _warnings,
        subscriber_id,
        segment,
        score
    FROM typed
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
