-- stg_responses: what came of each contact a campaign made (the contact centre's or the channel's log),
--   typed and checked; times in UTC.
-- grain: one row per contact attempt as extracted.
-- inputs: raw_responses; the staged subscribers' ids (cvm_known_subscriber, the subscriber rule)
-- params: $timestamp_format, $timezone
-- rejects: subscriber_id_missing, campaign_missing, contacted_at_missing, contacted_at_invalid,
--   outcome_missing, outcome_invalid, unknown_subscriber.
-- A response to a campaign cvm did not list (another team's, or one since renamed) is kept: it matches
-- no wave and campaign_effect leaves it out.
-- columns:
--   subscriber_id  Utf8                the subscriber contacted
--   campaign       Utf8                the campaign, as the job names it
--   contacted_at   Timestamp(us,UTC)  when the contact was made (or attempted)
--   outcome        Utf8                no_answer (not reached), reached (reached, no decision), accepted (took
--                                      the offer), declined (refused it)
--   channel        Utf8                the channel used (call, sms, email, ...); null when not given
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record (never msisdn)
        named_struct(
            'subscriber_id', r.subscriber_id,
            'campaign', r.campaign,
            'contacted_at', r.contacted_at,
            'outcome', r.outcome,
            'channel', r.channel
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        r.campaign,
        r.contacted_at AS contacted_at_text,
        cvm_to_timestamp(r.contacted_at, CAST($timestamp_format AS VARCHAR), CAST($timezone AS VARCHAR))
            AS contacted_at,
        lower(r.outcome) AS outcome,
        lower(r.channel) AS channel,
        cvm_known_subscriber(r.subscriber_id) AS subscriber_known
    FROM raw_responses AS r
),

judged AS (
    SELECT
        _file,
        _row,
        _raw,
        _as_read,
        CASE
            WHEN _parse_error IS NOT NULL THEN _parse_error
            WHEN subscriber_id IS NULL THEN 'subscriber_id_missing'
            WHEN campaign IS NULL THEN 'campaign_missing'
            WHEN contacted_at_text IS NULL THEN 'contacted_at_missing'
            WHEN contacted_at IS NULL THEN 'contacted_at_invalid'
            WHEN outcome IS NULL THEN 'outcome_missing'
            WHEN outcome NOT IN ('no_answer', 'reached', 'accepted', 'declined') THEN 'outcome_invalid'
            WHEN NOT subscriber_known THEN 'unknown_subscriber'
        END AS _reject_rule,
        '' AS _warnings,
        subscriber_id,
        campaign,
        contacted_at,
        outcome,
        channel
    FROM typed
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
