-- campaigns: whom each campaign contacts this run, in the order to contact them.
-- grain: one row per subscriber in a campaign; a subscriber is in at most one campaign per snapshot.
-- partitioning: snapshot_date=T, campaign=NAME
-- inputs: campaign_selection, campaign_assigned, stg_optouts
-- params: $channel, $cap
-- The run evaluates this once per campaign of the job, in the job's priority order:
-- campaign_selection is that campaign's selection over customer_value (a file in sql/campaigns/
-- or the job's rule), campaign_assigned the subscribers taken by the campaigns before it.
-- A subscriber who opted out of the campaign's channel, or of every channel (no channel), is
-- left out whatever the opt-out's since date: the list is used after the run, and an opt-out
-- holds from the day it is known. Then the first $cap by rank are kept.
-- columns:
--   subscriber_id   Utf8              the subscriber
--   rank            Int64             1 = contact first: by score, then value_at_stake, descending, then subscriber_id
--   score           Float64           the campaign's ranking score (see its selection)
--   value_at_stake  Decimal128(18,4)  the money the contact is about (see its selection)
--   reason          Utf8              why this subscriber, in words
--   channel         Utf8              the contact channel
WITH opted_out AS (
    SELECT DISTINCT o.subscriber_id
    FROM stg_optouts AS o
    WHERE o.channel IS NULL OR o.channel IN ('all', '*') OR o.channel = CAST($channel AS VARCHAR)
),

selected AS (
    -- a hand-written selection may list a subscriber twice: keep its best row
    SELECT
        s.subscriber_id,
        s.score,
        s.value_at_stake,
        s.reason,
        ROW_NUMBER() OVER (
            PARTITION BY s.subscriber_id ORDER BY s.score DESC NULLS LAST, s.value_at_stake DESC NULLS LAST
        ) AS copy
    FROM campaign_selection AS s
    WHERE s.subscriber_id IS NOT NULL
        AND s.subscriber_id NOT IN (SELECT subscriber_id FROM opted_out)
        AND s.subscriber_id NOT IN (SELECT subscriber_id FROM campaign_assigned)
),

ranked AS (
    SELECT
        subscriber_id,
        ROW_NUMBER() OVER (ORDER BY score DESC NULLS LAST, value_at_stake DESC NULLS LAST, subscriber_id)
            AS position,
        score,
        value_at_stake,
        reason
    FROM selected
    WHERE copy = 1
)

SELECT
    r.subscriber_id,
    CAST(r.position AS BIGINT) AS rank,
    r.score,
    r.value_at_stake,
    r.reason,
    arrow_cast(CAST($channel AS VARCHAR), 'Utf8') AS channel
FROM ranked AS r
WHERE r.position <= CAST($cap AS BIGINT)
ORDER BY r.position
